"""The prediction log: every prediction a server or a batch made, and the feedback that followed.

One folder per project, ``<workspace>/logs/<project>/``, shared by every process that predicts
for that project (servers, ``tabwright predict --log``) and read by monitoring:

``journal-<uniq>.jsonl``
    The request path's append-only journal, one JSON line per request, written with a single
    ``os.write`` on an ``O_APPEND`` descriptor *before* the response is sent. The line is then
    in the kernel, so it survives the process being killed (not a power cut: no fsync, which
    would cost milliseconds per request). Each journal belongs to one live
    :class:`PredictionLog`, which holds an ``flock`` on it for as long as it writes there.
``sealed-<stamp>-<uniq>.jsonl``
    A journal closed for conversion (an atomic rename). A background thread seals the journal
    every ``SEAL_SECONDS`` (sooner past ``SEAL_LINES`` lines) and converts sealed journals to
``pred-<stamp>-<uniq>.parquet``
    Segments: the rows, columnar. A segment's name follows from its sealed journal's name, and
    it is written to a temporary file and renamed, so converting again after a crash finds the
    segment and only deletes the journal: nothing is lost and nothing counted twice. Batch
    predictions (:meth:`PredictionLog.record_frame`) write a segment directly. Small segments
    are merged (``-m`` segments list their sources in their metadata, and readers skip a
    source still on disk after a crash).
``feedback-<stamp>-<uniq>.parquet``
    The true outcomes sent later (:meth:`PredictionLog.add_feedback`), stored the same way.

Opening the log converts what a killed process left behind: journals nobody holds a lock on,
and sealed journals. Retention deletes the oldest segments past :func:`core.settings.log_max_days`
and :func:`core.settings.log_max_bytes`.

Logging must never fail a prediction: a full disk, a read-only folder or a locked file is
caught, counted and kept as the last error; :meth:`PredictionLog.health` reports it and a
warning is logged (once a minute at most).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import math
import os
import random
import re
import secrets
import threading
import time
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core import settings
from core.errors import TabwrightError

SEAL_SECONDS = 2.0
"""How often the background thread turns the journal into a Parquet segment."""
SEAL_LINES = 20_000
"""... or sooner, once the journal has this many lines."""
RETENTION_SECONDS = 60.0
"""How often the background thread applies retention (it also runs on open)."""
MERGE_SEGMENTS = 16
"""Small segments that trigger a merge, so a day of serving is a few files, not 40,000."""
SMALL_ROWS = 200_000
"""A segment with fewer rows than this is small."""
MERGED_ROWS = 1_000_000
"""Most rows one merge gathers."""
STALE_TMP_SECONDS = 3600.0
"""A temporary file this old was left by a killed process and is deleted."""
WARN_EVERY_SECONDS = 60.0
"""At most one warning this often about a failing log."""
INPUT_MODES = ("full", "hashed", "none")
MAX_EXAMPLES = 5

log = logging.getLogger("tabwright.log")

_TIME = pa.timestamp("ns", tz="UTC")
_TEXT = pd.StringDtype("pyarrow")
_SEGMENT = re.compile(r"^(pred|feedback)-(\d{20})-([A-Za-z0-9_-]+)\.parquet$")
_SEALED = re.compile(r"^sealed-(\d{20})-([A-Za-z0-9_-]+)\.jsonl$")
_JOURNAL = re.compile(r"^journal-([A-Za-z0-9_-]+)\.jsonl$")
_SOURCES_KEY = b"tabwright.sources"
_UNIQUE_TEXT = ("request_id", "input_hash")
"""Text columns with a value per row: read as pyarrow-backed strings (1M Python strings take a
second to make), the others as dictionaries, which become shared Python strings fast."""
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]+")
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


# --------------------------------------------------------------------------- identity


def model_identity(card: dict[str, Any], model_bytes: bytes | None = None) -> tuple[str, str]:
    """The project and run id a model's predictions are logged under.

    Parameters
    ----------
    card : dict
        The model card. Its ``"project"`` (default ``"default"``) names the log folder, made
        safe for a file name (``[A-Za-z0-9_.-]``); its ``"run_id"`` tags every row.
    model_bytes : bytes, optional
        The bytes of ``model.joblib``: a card without a run id gets ``"bundle-"`` and the first
        12 hex digits of their SHA-256 (of the card's JSON when they are not given).

    Returns
    -------
    project, run_id : str

    Examples
    --------
    >>> model_identity({"project": "Titanic survival", "run_id": "20250101-120000-abcdef"})
    ('Titanic_survival', '20250101-120000-abcdef')
    >>> model_identity({"task": "binary"}, b"model bytes")
    ('default', 'bundle-9cb7487000bc')
    """
    project = safe_name(str(card.get("project") or "default"))
    run_id = card.get("run_id")
    if not run_id:
        payload = model_bytes if model_bytes is not None else orjson.dumps(
            card, option=orjson.OPT_SORT_KEYS, default=str)
        run_id = "bundle-" + hashlib.sha256(payload).hexdigest()[:12]
    return project, str(run_id)


def safe_name(name: str) -> str:
    """``name`` with every run of characters outside ``[A-Za-z0-9_.-]`` made one ``_``."""
    return _NAME_UNSAFE.sub("_", name).lstrip(".")[:100] or "default"


def log_folder(project: str, *, workspace: str | Path | None = None) -> Path:
    """``<workspace>/logs/<project>/``: where a project's predictions are logged."""
    root = Path(workspace) if workspace is not None else settings.workspace()
    return root / "logs" / safe_name(project)


def request_id(header: str | None = None) -> str:
    """A request's id: the client's ``X-Request-ID`` made safe (``[A-Za-z0-9_.:-]``, at most
    64 characters), or a new random (version 4) UUID in hex."""
    if header:
        cleaned = _ID_UNSAFE.sub("", header)[:64]
        if cleaned:
            return cleaned
    # uuid.uuid4() reads os.urandom for every id (a system call, ~3 µs on the request path);
    # ids need to be unique, not secret, so 122 bits from a generator seeded from os.urandom.
    return f"{_random.getrandbits(128) & _UUID4_MASK | _UUID4_BITS:032x}"


_random = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(32)))
_UUID4_MASK = ~(0xF000 << 64 | 0xC000 << 48) & (1 << 128) - 1
_UUID4_BITS = 0x4000 << 64 | 0x8000 << 48  # version 4, RFC 4122 variant


def row_ids(request: str, n: int) -> list[str]:
    """The id of each record of a request: the request id itself for one record, else
    ``"<request id>.<i>"``."""
    return [request] if n == 1 else [f"{request}.{i}" for i in range(n)]


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class _Columns:
    """What the model card says about the columns a log stores."""

    kind: str | None  # "label", "number", "cluster"; None: inferred from the values
    class_keys: tuple[str, ...]
    inputs: tuple[str, ...]  # the input columns, in schema order (empty: from the records)
    numeric: frozenset[str]
    text: frozenset[str]  # columns whose values arrive as text

    @classmethod
    def from_card(cls, card: dict[str, Any] | None) -> "_Columns":
        card = card or {}
        task = card.get("task")
        kind = {"binary": "label", "multiclass": "label", "regression": "number",
                "clustering": "cluster"}.get(task)
        columns = (card.get("input_schema") or {}).get("columns") or []
        return cls(kind=kind, class_keys=tuple(str(c) for c in card.get("classes") or []),
                   inputs=tuple(c["name"] for c in columns),
                   numeric=frozenset(c["name"] for c in columns if c.get("role") == "numeric"),
                   text=frozenset(c["name"] for c in columns if c.get("role") != "numeric"
                                  and c.get("dtype") in ("object", "string", "str", "category")))

    def is_numeric(self, name: str, values: Sequence[Any]) -> bool:
        if self.inputs:
            return name in self.numeric
        return all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
                   for v in values)


def _canonical(value: Any, numeric: bool) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if numeric:
        try:
            return float(value)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def _record_hash(record: dict[str, Any], names: Iterable[str], numeric: Callable[[str], bool]) -> str:
    """SHA-256 of the record's canonical JSON: its input columns only, keys sorted, numbers as
    floats, everything else as text, missing as null (so a served and a batch row agree)."""
    canonical = {name: _canonical(record.get(name), numeric(name)) for name in names}
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _canonical_column(s: pd.Series, numeric: bool) -> list[Any]:
    """A column's values as :func:`_canonical` makes them, vectorised."""
    if numeric:
        array = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        values, missing = array.tolist(), np.isnan(array)
    else:
        text = s.astype("string")
        values, missing = text.tolist(), text.isna().to_numpy()
    if missing.any():
        values = [None if m else v for v, m in zip(values, missing)]
    return values


def _prediction_array(values: list[Any], kind: str | None) -> pa.Array:
    if kind is None:
        kind = ("number" if any(isinstance(v, float) for v in values) else
                "cluster" if all(isinstance(v, int) and not isinstance(v, bool) for v in values)
                else "label")
    if kind == "label":
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())
    if kind == "cluster":
        return pa.array(values, type=pa.int64())
    return pa.array(values, type=pa.float64())


def _concat(tables: list[pa.Table]) -> pa.Table:
    """Tables with different columns as one; a column whose types disagree becomes text."""
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        types: dict[str, set] = {}
        for table in tables:
            for field in table.schema:
                types.setdefault(field.name, set()).add(field.type)
        mixed = {name for name, kinds in types.items() if len(kinds) > 1}
        fixed = []
        for table in tables:
            for name in mixed & set(table.column_names):
                i = table.column_names.index(name)
                table = table.set_column(i, name, pc.cast(table[name], pa.string()))
            fixed.append(table)
        return pa.concat_tables(fixed, promote_options="permissive")


def _timestamp(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value, unit="s") if isinstance(value, (int, float)) else pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@dataclass(frozen=True)
class _Segment:
    path: Path
    rows: int
    bytes: int
    oldest: int  # ns since the epoch
    newest: int
    sources: frozenset[str]


# --------------------------------------------------------------------------- the log


class PredictionLog:
    """A project's prediction log (see the module's description for how it is stored).

    Parameters
    ----------
    folder : str or Path
        The log folder, created if needed (usually :func:`log_folder`, via :meth:`for_card`).
    inputs : {"full", "hashed", "none"}, default="full"
        What is kept of each record's inputs: every input column, the SHA-256 of the
        record's canonical JSON, or nothing. The mode is stored with every row.
    card : dict, optional
        The model card: the prediction's type (text labels for classifiers, numbers for
        regression, whole numbers for clusters), the class order of the probabilities, and
        the input columns and which are numbers. Without it these follow from the values.
    clock : callable, default=time.time
        Seconds since the epoch, for the rows' times and for retention.
    background : bool, default=True
        Run the thread that seals journals, converts, merges and applies retention. Without
        it that happens on :meth:`flush` and :meth:`close`.
    max_days, max_bytes : float and int, optional
        Retention; default :func:`core.settings.log_max_days` and
        :func:`core.settings.log_max_bytes`.

    Examples
    --------
    >>> log = PredictionLog.for_card(card, inputs="hashed")  # doctest: +SKIP
    >>> log.record(run_id=log.run_id, ids=["a1"], records=[{"age": 30}], predictions=[1],
    ...            probabilities=[{"0": 0.2, "1": 0.8}], latency_ms=1.2)  # doctest: +SKIP
    >>> log.read()[["request_id", "prediction", "proba:1"]]  # doctest: +SKIP
    """

    def __init__(self, folder: str | Path, *, inputs: str = "full",
                 card: dict[str, Any] | None = None, clock: Callable[[], float] = time.time,
                 background: bool = True, max_days: float | None = None,
                 max_bytes: int | None = None) -> None:
        if inputs not in INPUT_MODES:
            raise TabwrightError(f"The logged inputs must be one of {', '.join(INPUT_MODES)}, "
                                 f"got {inputs!r}.",
                                 "Use full (every input column), hashed (a SHA-256 per record) "
                                 "or none.")
        self.folder = Path(folder)
        self.inputs = inputs
        self.clock = clock
        self.columns = _Columns.from_card(card)
        self.project, self.run_id = model_identity(card or {})
        self.max_seconds = (max_days if max_days is not None else settings.log_max_days()) * 86400
        self.max_bytes = max_bytes if max_bytes is not None else settings.log_max_bytes()
        self._write_lock = threading.Lock()  # the journal descriptor and its line count
        self._cycle_lock = threading.Lock()  # one seal/convert/merge/retention pass at a time
        self._fd: int | None = None
        self._journal: Path | None = None
        self._journal_seq = 0
        self._uniq = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._pending = 0
        self._errors = 0
        self._failing = False
        self._last_error: str | None = None
        self._last_warning = -math.inf
        self._segments: dict[str, _Segment] = {}
        self._last_retention = -math.inf
        self._stats: dict[str, Any] = {"rows": 0, "bytes": 0, "oldest": None}
        self._closed = False
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._error("create the log folder", exc)
        self._maintain(retention=True)
        if background:
            self._thread = threading.Thread(target=self._run, name="tabwright-log", daemon=True)
            self._thread.start()

    @classmethod
    def for_card(cls, card: dict[str, Any], *, workspace: str | Path | None = None,
                 model_bytes: bytes | None = None, **kwargs: Any) -> "PredictionLog":
        """The log of the card's project, under ``<workspace>/logs/`` (default
        :func:`core.settings.workspace`); ``model_bytes`` as in :func:`model_identity`."""
        project, run_id = model_identity(card, model_bytes)
        out = cls(log_folder(project, workspace=workspace), card=card, **kwargs)
        out.run_id = run_id
        return out

    # ---- writing: the request path ----------------------------------------------------

    def record(self, *, run_id: str, ids: Sequence[str], records: Sequence[dict[str, Any]],
               predictions: Sequence[Any], probabilities: Sequence[dict[str, float]] | None,
               latency_ms: float) -> None:
        """Journal one request's records and predictions; never raises.

        Parameters
        ----------
        run_id : str
            The run that predicted.
        ids : list of str
            One id per record (:func:`row_ids`).
        records : list of dict
            The records as sent (input column -> value).
        predictions : list
            One prediction per record.
        probabilities : list of dict or None
            Classifiers: per record, class key -> probability.
        latency_ms : float
            The request's time from arrival to result.
        """
        try:
            line = self._line(run_id, ids, records, predictions, probabilities, latency_ms)
            with self._write_lock:
                if self._fd is None:
                    self._open_journal()
                written = os.write(self._fd, line)  # type: ignore[arg-type]
                if written != len(line):
                    raise OSError(f"wrote {written} of {len(line)} bytes (is the disk full?)")
                self._pending += 1
                wake = self._pending >= SEAL_LINES
            self._failing = False
            if wake:
                self._wake.set()
        except Exception as exc:  # noqa: BLE001 — logging never fails a prediction
            self._error("journal a prediction", exc)

    def _line(self, run_id: str, ids: Sequence[str], records: Sequence[dict[str, Any]],
              predictions: Sequence[Any], probabilities: Sequence[dict[str, float]] | None,
              latency_ms: float) -> bytes:
        entry: dict[str, Any] = {"t": self.clock(), "run": run_id, "ids": list(ids),
                                 "ms": float(latency_ms), "mode": self.inputs,
                                 "pred": list(predictions), "proba": probabilities}
        if self.inputs == "full":
            entry["in"] = records
        elif self.inputs == "hashed":
            names = self.columns.inputs or sorted({k for r in records for k in r})
            numeric = self._numeric_lookup(records)
            entry["in"] = [_record_hash(r, names, numeric) for r in records]
        return orjson.dumps(entry, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"

    def _numeric_lookup(self, records: Sequence[dict[str, Any]]) -> Callable[[str], bool]:
        if self.columns.inputs:
            return self.columns.numeric.__contains__
        return lambda name: self.columns.is_numeric(name, [r.get(name) for r in records])

    def _open_journal(self) -> None:
        """A new journal, locked before it gets its name (so nobody takes it for a dead one)."""
        self._journal_seq += 1
        uniq = f"{self._uniq}-{self._journal_seq}"
        temporary = self.folder / f".journal-{uniq}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC,
                     0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            journal = self.folder / f"journal-{uniq}.jsonl"
            os.rename(temporary, journal)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._journal = fd, journal

    # ---- writing: batches and feedback --------------------------------------------------

    def record_frame(self, *, run_id: str, frame: pd.DataFrame, predictions: Any,
                     proba: np.ndarray | None, classes: Sequence[Any] | None,
                     latency_ms: float) -> list[str]:
        """Log a batch prediction as one segment (vectorised); never raises.

        Parameters
        ----------
        run_id : str
            The run that predicted.
        frame : DataFrame
            The rows predicted (their input columns are logged as ``inputs`` says).
        predictions : array-like
            One prediction per row.
        proba : ndarray of shape (n_rows, n_classes) or None
            Classifiers' probabilities, columns in ``classes`` order.
        classes : list or None
            The classes.
        latency_ms : float
            The whole batch's time, stored on every row.

        Returns
        -------
        list of str
            The row ids (``"<request id>.<i>"``, or the request id for one row), in order.
        """
        n = len(frame)
        request = request_id()
        ids = row_ids(request, n)
        try:
            now = self.clock()
            columns: dict[str, pa.Array] = {
                "time": pa.array(np.full(n, int(now * 1e9), dtype="int64")).cast(_TIME),
                "run_id": pa.array(np.full(n, run_id, dtype=object), type=pa.string()),
                "request_id": pa.array(ids, type=pa.string()),
                "latency_ms": pa.array(np.full(n, float(latency_ms))),
                "inputs": pa.array(np.full(n, self.inputs, dtype=object), type=pa.string()),
                "prediction": self._frame_predictions(predictions),
            }
            if proba is not None:
                keys = [str(c) for c in classes or []]
                for i, key in enumerate(keys):
                    columns[f"proba:{key}"] = pa.array(np.asarray(proba[:, i], dtype="float64"))
            columns.update(self._frame_inputs(frame))
            self._write_segment(self.folder / f"pred-{int(now * 1e9):020d}-{self._uniq}-"
                                f"{secrets.token_hex(3)}.parquet", pa.table(columns))
            self._failing = False
        except Exception as exc:  # noqa: BLE001 — logging never fails a prediction
            self._error("log a batch prediction", exc)
        return ids

    def _frame_predictions(self, predictions: Any) -> pa.Array:
        values = pd.Series(np.asarray(predictions, dtype=object) if not isinstance(
            predictions, pd.Series) else predictions.to_numpy())
        kind = self.columns.kind
        if kind is None:
            kind = ("number" if pd.api.types.is_float_dtype(values.infer_objects()) else
                    "cluster" if pd.api.types.is_integer_dtype(values.infer_objects()) else "label")
        if kind == "label":
            return pa.array(values.astype("string"), type=pa.string())
        if kind == "cluster":
            return pa.array(pd.to_numeric(values).astype("int64"))
        return pa.array(pd.to_numeric(values).astype("float64"))

    def _frame_inputs(self, frame: pd.DataFrame) -> dict[str, pa.Array]:
        if self.inputs == "none":
            return {}
        names = [c for c in (self.columns.inputs or frame.columns) if c in frame.columns]
        numeric = {name: self.columns.is_numeric(name, []) if self.columns.inputs else
                   pd.api.types.is_numeric_dtype(frame[name]) and
                   not pd.api.types.is_bool_dtype(frame[name]) for name in names}
        if self.inputs == "hashed":
            order = sorted(names)
            values = [_canonical_column(frame[name], numeric[name]) for name in order]
            dumps, sha = orjson.dumps, hashlib.sha256
            hashes = [sha(dumps(dict(zip(order, row)))).hexdigest() for row in zip(*values)]
            return {"input_hash": pa.array(hashes, type=pa.string())}
        out = {}
        for name in names:
            if numeric[name]:
                out[f"input:{name}"] = pa.array(pd.to_numeric(frame[name], errors="coerce")
                                                 .astype("float64"))
            else:
                out[f"input:{name}"] = pa.array(frame[name].astype("string"), type=pa.string())
        return out

    def add_feedback(self, ids: Sequence[Any], actuals: Sequence[Any], *, task: str | None = None,
                     classes: Sequence[Any] | None = None) -> dict[str, Any]:
        """Store the true outcomes of logged predictions.

        Parameters
        ----------
        ids : list
            Row ids, as the server or ``tabwright predict --log`` returned them.
        actuals : list
            The true value of each row: a number for regression, one of ``classes`` for a
            classifier.
        task : str, optional
            The model's task; inferred from the logged predictions when not given.
        classes : list, optional
            A classifier's classes; inferred from the logged probabilities when not given.

        Returns
        -------
        dict
            ``rows`` received; ``accepted`` (kept); ``unknown`` (not in the log), ``invalid``
            (a value the task cannot have) and ``duplicate`` (the same id twice in the upload,
            or given before) rows, each with up to five examples in ``messages``.

        Raises
        ------
        TabwrightError
            When ``ids`` and ``actuals`` differ in length, for a clustering model, or when the
            feedback cannot be saved.
        """
        ids, actuals = list(ids), list(actuals)
        if len(ids) != len(actuals):
            raise TabwrightError(f"Feedback needs one true value per id, got {len(ids):,} ids "
                                 f"and {len(actuals):,} values.",
                                 "Send pairs of an id and its true value.")
        logged_task, logged_keys = self._logged_task()
        task = task or logged_task
        keys = {str(c) for c in classes} if classes else set(logged_keys)
        if task == "clustering":
            raise TabwrightError("A clustering model has no true values to compare with.",
                                 "Send feedback for a classifier or a regression model.")
        logged = set(self.read(columns=["request_id"])["request_id"])
        earlier = set(self.read_feedback()["request_id"])
        examples: dict[str, list[str]] = {"unknown": [], "invalid": [], "duplicate": []}
        counts = dict.fromkeys(examples, 0)
        kept_ids: list[str] = []
        kept: list[Any] = []
        seen: set[str] = set()
        for raw_id, raw in zip(ids, actuals):
            rid = _feedback_id(raw_id)
            if rid not in logged:
                problem, example = "unknown", repr(rid)
            else:
                value = _actual(raw, task, keys)
                if value is None:
                    problem, example = "invalid", f"{rid!r}: {raw!r}"
                elif rid in seen or rid in earlier:
                    problem, example = "duplicate", repr(rid)
                else:
                    seen.add(rid)
                    kept_ids.append(rid)
                    kept.append(value)
                    continue
            counts[problem] += 1
            if len(examples[problem]) < MAX_EXAMPLES:
                examples[problem].append(example)
        if kept:
            now = self.clock()
            table = pa.table({
                "request_id": pa.array(kept_ids, type=pa.string()),
                "actual": pa.array(kept, type=pa.float64() if task == "regression" else pa.string()),
                "received": pa.array(np.full(len(kept), int(now * 1e9), dtype="int64")).cast(_TIME),
            })
            try:
                self._write_segment(self.folder / f"feedback-{int(now * 1e9):020d}-{self._uniq}-"
                                    f"{secrets.token_hex(3)}.parquet", table)
            except OSError as exc:
                raise TabwrightError(f"The feedback could not be saved in {str(self.folder)!r}: "
                                     f"{exc.strerror or exc}.",
                                     "Check the workspace folder is writable and not full.") from None
        return {"rows": len(ids), "accepted": len(kept), **counts,
                "messages": _feedback_messages(counts, examples, task, keys)}

    def _logged_task(self) -> tuple[str | None, list[str]]:
        """The task and class keys the logged predictions show (or the card's)."""
        kind = self.columns.kind
        keys = list(self.columns.class_keys)
        if kind is None or not keys:
            with self._cycle_lock:
                segments = self._list("pred")
            for segment in segments:
                try:
                    schema = pq.read_schema(segment.path)
                except OSError:
                    continue
                if kind is None and "prediction" in schema.names:
                    kind = {pa.string(): "label", pa.int64(): "cluster"}.get(
                        schema.field("prediction").type, "number")
                keys = keys or [n[len("proba:"):] for n in schema.names if n.startswith("proba:")]
                break
        task = {"label": "multiclass", "number": "regression", "cluster": "clustering"}.get(kind)
        return task, keys

    def _write_segment(self, path: Path, table: pa.Table) -> None:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(3)}.tmp")
        try:
            repeated = [f.name for f in table.schema
                        if pa.types.is_string(f.type) and f.name not in _UNIQUE_TEXT]
            pq.write_table(table, temporary, use_dictionary=repeated,
                           write_statistics=[c for c in ("time", "received")
                                             if c in table.column_names])
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    # ---- the background work ----------------------------------------------------------

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(SEAL_SECONDS)
            self._wake.clear()
            if self._closed:
                break
            self._maintain(retention=self.clock() - self._last_retention >= RETENTION_SECONDS)

    def flush(self) -> None:
        """Turn everything journaled so far into segments now."""
        self._maintain(retention=False)

    def close(self) -> None:
        """Stop the background thread and flush; later records are journaled and converted
        on the next open."""
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._maintain(retention=False)
        with self._write_lock:
            if self._fd is not None:
                os.close(self._fd)
                if self._journal is not None and self._pending == 0:
                    self._journal.unlink(missing_ok=True)  # empty; else the next open converts it
                self._fd, self._journal = None, None

    def __enter__(self) -> "PredictionLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _maintain(self, *, retention: bool) -> None:
        """Seal, convert, merge and (when asked) apply retention; errors are counted."""
        with self._cycle_lock:
            try:
                self._seal()
                self._adopt_orphans()
                for sealed in sorted(p for p in self._names() if _SEALED.match(p)):
                    self._convert(self.folder / sealed)
                with _FolderLock(self.folder) as locked:
                    if locked:
                        for prefix in ("pred", "feedback"):
                            self._merge(prefix)
                        if retention:
                            self._retain()
                            self._last_retention = self.clock()
                segments = self._list("pred")
                oldest = min((s.oldest for s in segments if s.rows), default=None)
                self._stats = {"rows": sum(s.rows for s in segments),
                               "bytes": sum(s.bytes for s in segments),
                               "oldest": None if oldest is None else
                               pd.Timestamp(oldest, tz="UTC").isoformat()}
            except Exception as exc:  # noqa: BLE001 — the next pass tries again
                self._error("convert, merge or retire segments", exc)

    def _names(self) -> list[str]:
        try:
            return os.listdir(self.folder)
        except FileNotFoundError:
            return []

    def _seal(self) -> None:
        with self._write_lock:
            if self._fd is None or self._pending == 0 or self._journal is None:
                return
            uniq = _JOURNAL.match(self._journal.name).group(1)  # type: ignore[union-attr]
            os.rename(self._journal, self.folder / f"sealed-{self._stamp()}-{uniq}.jsonl")
            os.close(self._fd)  # releases the lock: the sealed file is anybody's to convert
            self._fd, self._journal, self._pending = None, None, 0

    def _stamp(self) -> str:
        return f"{int(self.clock() * 1e9):020d}"

    def _adopt_orphans(self) -> None:
        """Seal journals whose writer is gone (nobody holds their lock), and delete
        temporary files a killed process left."""
        now = time.time()
        for name in self._names():
            path = self.folder / name
            if name.endswith(".tmp"):
                try:
                    if now - path.stat().st_mtime > STALE_TMP_SECONDS:
                        path.unlink()
                except FileNotFoundError:
                    pass
                continue
            match = _JOURNAL.match(name)
            if not match or path == self._journal:
                continue
            with _Locked(path) as fd:
                if fd is not None:
                    os.rename(path, self.folder / f"sealed-{self._stamp()}-{match.group(1)}.jsonl")

    def _convert(self, sealed: Path) -> None:
        """A sealed journal's lines as the segment named after it; then the journal goes."""
        with _Locked(sealed) as fd:
            if fd is None:
                return
            stamp, uniq = _SEALED.match(sealed.name).groups()  # type: ignore[union-attr]
            segment = self.folder / f"pred-{stamp}-{uniq}.parquet"
            if not segment.exists() and segment.name not in self._merged_sources("pred"):
                with os.fdopen(os.dup(fd), "rb") as handle:
                    data = handle.read()
                table = self._lines_table(data, sealed.name)
                if table is not None:
                    self._write_segment(segment, table)
            sealed.unlink()

    def _lines_table(self, data: bytes, name: str) -> pa.Table | None:
        entries = []
        skipped = 0
        for line in data.split(b"\n"):
            if not line:
                continue
            try:
                entries.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                skipped += 1  # a line cut short when its process was killed mid-write
        if skipped:
            log.warning("skipped %d unreadable line(s) in %s", skipped, name)
        if not entries:
            return None
        counts = np.fromiter((len(e["ids"]) for e in entries), dtype=np.int64, count=len(entries))

        def per_row(key: str, dtype: str | None = None) -> np.ndarray:
            return np.repeat(np.asarray([e[key] for e in entries], dtype=dtype), counts)

        def flat(key: str) -> list[Any]:
            return list(chain.from_iterable(e[key] or [None] * n for e, n in zip(entries, counts)))

        modes = per_row("mode", object)
        columns: dict[str, pa.Array] = {
            "time": pa.array((per_row("t", "float64") * 1e9).astype("int64")).cast(_TIME),
            "run_id": pa.array(per_row("run", object), type=pa.string()),
            "request_id": pa.array(flat("ids"), type=pa.string()),
            "latency_ms": pa.array(per_row("ms", "float64")),
            "inputs": pa.array(modes, type=pa.string()),
            "prediction": _prediction_array(flat("pred"), self.columns.kind),
        }
        proba_rows = flat("proba")
        keys = list(self.columns.class_keys) or list(next((r for r in proba_rows if r), {}))
        for key in keys:
            columns[f"proba:{key}"] = pa.array([row.get(key) if row else None for row in proba_rows],
                                               type=pa.float64())
        inputs = [e.get("in") for e in entries]
        full = [e.get("in") if e["mode"] == "full" else None for e in entries]
        if any(full):
            records = list(chain.from_iterable(r or [None] * n for r, n in zip(full, counts)))
            columns.update(self._input_columns(records))
        hashes: list[Any] = []
        if any(e["mode"] == "hashed" for e in entries):
            hashes = list(chain.from_iterable(h if e["mode"] == "hashed" else [None] * n
                                              for e, h, n in zip(entries, inputs, counts)))
        if hashes:
            columns["input_hash"] = pa.array(hashes, type=pa.string())
        return pa.table(columns)

    def _input_columns(self, records: list[dict[str, Any] | None]) -> dict[str, pa.Array]:
        """``input:<column>`` arrays from records (None: a row without inputs)."""
        names = list(self.columns.inputs) or list(dict.fromkeys(
            k for r in records if r for k in r))
        missing = (None,) * len(names)
        try:  # one C-level lookup per record instead of one per value
            get = itemgetter(*names)
            rows = [(get(r) if len(names) > 1 else (get(r),)) if r is not None else missing
                    for r in records]
        except KeyError:  # records without some columns (no card): look each value up
            rows = [tuple(r.get(n) for n in names) if r is not None else missing for r in records]
        out = {}
        for name, values in zip(names, zip(*rows)):
            if self.columns.is_numeric(name, values):
                out[f"input:{name}"] = pa.array(values, type=pa.float64())
                continue
            try:
                if name not in self.columns.text:
                    raise pa.ArrowTypeError("not text")
                out[f"input:{name}"] = pa.array(values, type=pa.string())
            except (pa.ArrowTypeError, pa.ArrowInvalid):  # numbers or booleans as categories
                out[f"input:{name}"] = pa.array([None if v is None else str(v) for v in values],
                                                 type=pa.string())
        return out

    # ---- segments -----------------------------------------------------------------------

    def _info(self, path: Path) -> _Segment:
        info = self._segments.get(path.name)
        if info is None:
            meta = pq.read_metadata(path)
            schema = meta.schema.to_arrow_schema()
            oldest, newest = 0, 0
            time_index = schema.get_field_index("time" if "time" in schema.names else "received")
            lows, highs = [], []
            for g in range(meta.num_row_groups):
                stats = meta.row_group(g).column(time_index).statistics
                if stats is not None and stats.has_min_max:
                    lows.append(pd.Timestamp(stats.min).value)
                    highs.append(pd.Timestamp(stats.max).value)
            if lows:
                oldest, newest = min(lows), max(highs)
            raw = (schema.metadata or {}).get(_SOURCES_KEY)
            sources = frozenset(json.loads(raw)) if raw else frozenset()
            info = _Segment(path, meta.num_rows, path.stat().st_size, oldest, newest, sources)
            self._segments[path.name] = info
        return info

    def _list(self, prefix: str) -> list[_Segment]:
        """The live segments (merged sources left by a crash excluded), oldest first."""
        segments = []
        for name in self._names():
            match = _SEGMENT.match(name)
            if match and match.group(1) == prefix:
                try:
                    segments.append(self._info(self.folder / name))
                except FileNotFoundError:
                    continue  # merged or retired meanwhile
                except (OSError, pa.ArrowException) as exc:
                    self._error(f"read the segment {name}", exc)
        covered = set().union(*(s.sources for s in segments))
        live = [s for s in segments if s.path.name not in covered]
        present = {s.path.name for s in segments}
        for name in [k for k in self._segments if k.startswith(prefix + "-") and k not in present]:
            del self._segments[name]  # deleted by a merge or retention
        return sorted(live, key=lambda s: (s.newest, s.path.name))

    def _merged_sources(self, prefix: str) -> set[str]:
        return set().union(*(s.sources for s in self._list(prefix)))

    def _merge(self, prefix: str) -> None:
        """Merge the oldest small segments into one, when there are many."""
        sealed = {m.group(2) for m in map(_SEALED.match, self._names()) if m}
        segments = self._list(prefix)
        for segment in segments:  # sources a crash left beside their merged segment
            for name in segment.sources:
                (self.folder / name).unlink(missing_ok=True)
        small = [s for s in segments if s.rows < SMALL_ROWS
                 and _SEGMENT.match(s.path.name).group(3) not in sealed]  # type: ignore[union-attr]
        if len(small) < MERGE_SEGMENTS:
            return
        group, rows = [], 0
        for segment in small:
            if group and rows + segment.rows > MERGED_ROWS:
                break
            group.append(segment)
            rows += segment.rows
        table = _concat([pq.read_table(s.path) for s in group])
        names = sorted({s.path.name for s in group} | set().union(*(s.sources for s in group)))
        table = table.replace_schema_metadata({_SOURCES_KEY: json.dumps(names).encode()})
        newest = max(s.newest for s in group)
        merged = self.folder / f"{prefix}-{newest:020d}-m{secrets.token_hex(6)}.parquet"
        self._write_segment(merged, table)
        for segment in group:
            segment.path.unlink(missing_ok=True)

    def _retain(self) -> None:
        """Delete segments older than the age limit, then the oldest past the size limit."""
        cutoff = int((self.clock() - self.max_seconds) * 1e9)
        segments = self._list("pred") + self._list("feedback")
        kept = []
        for segment in segments:
            if segment.newest < cutoff:
                segment.path.unlink(missing_ok=True)
            else:
                kept.append(segment)
        total = sum(s.bytes for s in kept)
        for segment in sorted(kept, key=lambda s: (s.newest, s.path.name)):
            if total <= self.max_bytes:
                break
            segment.path.unlink(missing_ok=True)
            total -= segment.bytes

    # ---- reading ------------------------------------------------------------------------

    def read(self, *, since: Any = None, until: Any = None, run_id: str | None = None,
             columns: Sequence[str] | None = None, categories: bool = False) -> pd.DataFrame:
        """The logged predictions, one row per predicted record, oldest first.

        Parameters
        ----------
        since, until : datetime, str or float (seconds since the epoch), optional
            Rows with ``since <= time < until`` (naive times are UTC).
        run_id : str, optional
            Only this run's rows.
        columns : list of str, optional
            Only these columns (any of those below).
        categories : bool, default=False
            Repeated text (labels, text inputs, run ids) as pandas categories instead of
            object columns: what monitoring reads, twice as fast on a million rows.

        Returns
        -------
        DataFrame
            ``time`` (datetime64[ns, UTC]), ``run_id``, ``request_id``, ``latency_ms``,
            ``prediction`` (text labels, numbers for regression, whole numbers for clusters),
            ``proba:<class>`` for classifiers, ``input:<column>`` where inputs were kept in
            full, ``input_hash`` where hashed; ``attrs["inputs"]`` lists the modes present.
        """
        self.flush()
        filters = []
        if since is not None:
            filters.append(pc.field("time") >= pa.scalar(_timestamp(since).value, _TIME))
        if until is not None:
            filters.append(pc.field("time") < pa.scalar(_timestamp(until).value, _TIME))
        if run_id is not None:
            filters.append(pc.field("run_id") == run_id)
        expression = None
        for f in filters:
            expression = f if expression is None else expression & f
        low = _timestamp(since).value if since is not None else None
        high = _timestamp(until).value if until is not None else None
        needed = ["inputs"] + ["time"] * (since is not None or until is not None) + \
            ["run_id"] * (run_id is not None)
        wanted = None if columns is None else list(dict.fromkeys([*columns, *needed]))
        table = self._read_tables("pred", wanted, expression, low, high)
        if table is None:
            frame = pd.DataFrame({
                "time": pd.Series(dtype="datetime64[ns, UTC]"), "run_id": pd.Series(dtype=object),
                "request_id": pd.Series(dtype=_TEXT), "latency_ms": pd.Series(dtype="float64"),
                "prediction": pd.Series(dtype=object)})
            frame = frame[[c for c in frame.columns if columns is None or c in columns]]
            frame.attrs["inputs"] = []
            return frame
        modes = sorted(m for m in pc.unique(table["inputs"]).to_pylist() if m) \
            if "inputs" in table.column_names else []
        if "inputs" in table.column_names:
            table = table.drop_columns(["inputs"])
        if "time" in table.column_names and len(table) > 1:
            stamps = table["time"].combine_chunks().cast(pa.int64()).to_numpy()
            if (np.diff(stamps) < 0).any():
                table = table.take(pa.array(np.argsort(stamps, kind="stable")))
        frame = _to_pandas(table.select(_column_order(table.column_names)), categories=categories)
        if columns is not None:
            frame = frame[[c for c in columns if c in frame.columns]]
        frame.attrs["inputs"] = modes
        return frame

    def read_feedback(self) -> pd.DataFrame:
        """The feedback received: ``request_id``, ``actual`` (text labels or numbers) and
        ``received`` (datetime64[ns, UTC]), oldest first."""
        table = self._read_tables("feedback", None, None, None, None)
        if table is None:
            return pd.DataFrame({"request_id": pd.Series(dtype=_TEXT),
                                 "actual": pd.Series(dtype=object),
                                 "received": pd.Series(dtype="datetime64[ns, UTC]")})
        return _to_pandas(table.select(["request_id", "actual", "received"]))

    def _read_tables(self, prefix: str, columns: list[str] | None, expression: Any,
                     low: int | None, high: int | None) -> pa.Table | None:
        for attempt in range(5):  # a segment merged away meanwhile: list the folder again
            with self._cycle_lock:  # the segment cache is shared with the background thread
                segments = self._list(prefix)
            try:
                tables = []
                for segment in segments:
                    if segment.rows and ((low is not None and segment.newest < low) or
                                         (high is not None and segment.oldest >= high)):
                        continue
                    schema = pq.read_schema(segment.path)
                    wanted = None if columns is None else [c for c in columns if c in schema.names]
                    if wanted == []:
                        continue
                    repeated = [f.name for f in schema if pa.types.is_string(f.type)
                                and f.name not in _UNIQUE_TEXT and (wanted is None or f.name in wanted)]
                    # The plain file reader: a third less CPU than pq.read_table's dataset
                    # machinery; whole segments outside the times were skipped above.
                    table = pq.ParquetFile(segment.path, read_dictionary=repeated).read(wanted)
                    tables.append(table if expression is None else table.filter(expression))
                return _concat(tables) if tables else None
            except FileNotFoundError:
                if attempt == 4:
                    raise
        return None

    # ---- health ---------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Whether logging works, and what is stored.

        Returns
        -------
        dict
            ``ok`` (False while writes fail), ``errors`` (failures so far: each is a request or
            batch not logged, or a conversion that will be retried), ``last_error``,
            ``pending`` (journaled requests not yet in a segment), ``rows``, ``bytes`` (in
            prediction segments) and ``oldest`` (ISO time of the oldest row, or None), as of
            the last background pass (at most ``SEAL_SECONDS`` old); ``folder`` and ``inputs``.
            It never touches the disk, so a server can answer ``/health`` from it.
        """
        return {"ok": not self._failing, "errors": self._errors, "last_error": self._last_error,
                "pending": self._pending, **self._stats, "folder": str(self.folder),
                "inputs": self.inputs}

    def _error(self, what: str, exc: BaseException) -> None:
        self._errors += 1
        self._failing = True
        self._last_error = f"Could not {what} in {str(self.folder)!r}: {exc}"
        now = time.monotonic()
        if now - self._last_warning >= WARN_EVERY_SECONDS:
            self._last_warning = now
            log.warning("%s (%d error(s) so far; predictions go on)", self._last_error, self._errors)


def _to_pandas(table: pa.Table, *, categories: bool = False) -> pd.DataFrame:
    """Unique text as pyarrow-backed strings; repeated text (read as dictionaries) as object
    columns of shared strings, or kept as pandas categories with ``categories`` (no string per
    row is made: monitoring a million rows reads in half the time); numbers and times as NumPy
    columns."""
    frame = table.to_pandas(split_blocks=True, self_destruct=True,
                            types_mapper={pa.string(): _TEXT}.get)
    if categories:
        return frame
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    return frame


def _column_order(names: list[str]) -> list[str]:
    head = [c for c in ("time", "run_id", "request_id", "latency_ms", "prediction") if c in names]
    proba = [c for c in names if c.startswith("proba:")]
    inputs = [c for c in names if c.startswith("input:")]
    tail = [c for c in names if c == "input_hash"]
    rest = [c for c in names if c not in head + proba + inputs + tail]
    return head + proba + inputs + tail + rest


def _feedback_id(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def _actual(value: Any, task: str | None, keys: set[str]) -> Any:
    """The stored true value (a float for regression, a class key otherwise), or None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if task == "regression":
        if isinstance(value, bool):
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return number if math.isfinite(number) else None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    key = str(value).strip()
    if not key or (keys and key not in keys):
        return None
    return key


def _feedback_messages(counts: dict[str, int], examples: dict[str, list[str]], task: str | None,
                       keys: set[str]) -> list[str]:
    out = []
    if counts["unknown"]:
        out.append(f"{counts['unknown']:,} id(s) are not in the prediction log, e.g. "
                   f"{', '.join(examples['unknown'])}: send the ids the predictions came with "
                   "(they may also be older than the log keeps).")
    if counts["invalid"]:
        want = ("a number" if task == "regression" else
                "one of the classes " + ", ".join(sorted(keys)) if keys else "a class label")
        out.append(f"{counts['invalid']:,} value(s) are not valid true values, e.g. "
                   f"{'; '.join(examples['invalid'])}: each must be {want}.")
    if counts["duplicate"]:
        out.append(f"{counts['duplicate']:,} id(s) were given twice, in this upload or before, "
                   f"e.g. {', '.join(examples['duplicate'])}: the first value is kept.")
    return out


class _Locked:
    """An exclusive, non-blocking ``flock`` on a file that still has its name; the context's
    value is the descriptor, or None when another live process holds it or it is gone."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def __enter__(self) -> int | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.stat(self.path).st_ino != os.fstat(fd).st_ino:
                raise FileNotFoundError(self.path)
        except (BlockingIOError, FileNotFoundError):
            os.close(fd)
            return None
        self.fd = fd
        return fd

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)


class _FolderLock:
    """The folder's maintenance lock (merging, retention): one process at a time; the
    context's value says whether this one has it."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / ".maintenance.lock"
        self.fd: int | None = None

    def __enter__(self) -> bool:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)
