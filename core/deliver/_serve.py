"""A REST server for one trained model: ``POST /predict``, ``POST /feedback``, ``GET /health``,
``GET /metrics``, ``GET /schema``.

The request body is ``{"records": [{column: value, ...}, ...]}``. Its fields and types come
from the model card's input schema, so the OpenAPI docs at ``/docs`` list every column with
its role, type, range or levels; a missing column or a wrong type is a 422 that names it.
Predictions are the same values :func:`core.deliver._predict.predict_table` gives (same schema check,
same notices, same model calls).

Speed (one row: ~1 ms of server CPU for a logistic regression, down from ~25 ms; ~5 ms for
an auto-mode ensemble of two forests, boosting and a linear model, down from ~110 ms):

- The schema check runs in plain Python over the records (:class:`core.deliver._schema.RecordCheck`,
  the same notices and errors as :func:`core.deliver._schema.validate_input`).
- The model runs through its compiled fast path (:mod:`core.deliver._fastpredict`): column branches
  as exact numpy stand-ins, forests tree by tree, histogram boosting without its second
  encoder pass, an ensemble's identical transforms once; each stand-in is checked bit for
  bit at start-up. Classifiers make one ``predict_proba`` call, as ``predict_table`` does.
- Requests that arrive while the model is busy are predicted together in the next call
  (no timer, no added delay for a lone request); each request still gets its own
  predictions and its own notices. Small batches of a fast model run in the event loop,
  others in a worker thread (:class:`_Batcher`).
- A well-formed JSON body is validated by pydantic-core in one step, skipping FastAPI's
  per-request machinery (:class:`_FastPredict`); uvloop, httptools and orjson do the rest.

Same numbers: predictions and probabilities are bit for bit those of ``predict_table`` on the
same rows (tests check many rows, with missing values, for classifiers and regressors). A
row's probabilities can differ in the last bit (~1e-16) between a call on that row alone
and a call on a batch that holds it, as they do for ``predict_table`` itself: NumPy's matrix
product sums in a different order for different row counts.

Every response to ``POST /predict`` carries a ``request_id`` (the client's ``X-Request-ID``
header, made safe, or a new uuid4) and ``ids``, one per record (the request id for one record,
``<request id>.<i>`` for several). With a :class:`core.deliver._log.PredictionLog` each request
is journaled before its response is sent, and ``POST /feedback`` takes the true outcomes of
those ids later. ``GET /metrics`` is Prometheus text from the app's own registry: requests by
endpoint and status, latency, the predicted classes or values, rows predicted, log errors and
the input drift (PSI) of the last ``DRIFT_RECORDS`` records against the card's baseline, which a
background thread computes every ``DRIFT_SECONDS``; the request path only appends to a queue.

:func:`run_production` serves a project's production run (:class:`core.deliver._history.RunStore`)
and follows promotions: a new production run is loaded, self-checked and warmed up in a
background thread, then swapped in between requests; requests already running finish on the
model they started with.

Loading: :func:`run_server` loads a bundle with :func:`core.deliver._bundle.load_bundle` — joblib,
which runs code while loading — so serve only bundles you wrote yourself.
"""


import asyncio
import bisect
import collections
import gc
import logging
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Awaitable, Callable, Optional

import numpy as np
import pandas as pd
import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
)
from sklearn.model_selection import FixedThresholdClassifier
from starlette.routing import Route

from core.deliver._bundle import load_bundle
from core.deliver._drift import _compare
from core.deliver._fastpredict import FastModel, checked, same_outputs
from core.deliver._history import RunStore
from core.deliver._log import PredictionLog, model_identity, request_id, row_ids
from core.deliver._schema import RecordCheck
from core.errors import TabwrightError
from core.metrics import binary_labels

try:
    import orjson
except ImportError:  # pragma: no cover — a dependency; plain json works too
    orjson = None

MAX_RECORDS = 100_000
"""Most records in one ``POST /predict`` request."""
BATCH_ROWS = 5_000
"""Requests with more rows than this are predicted on their own, never batched with others."""
INLINE_ROWS = 64
"""Batches up to this many rows may run in the event loop (see :class:`_Batcher`)."""
INLINE_CPU_MS = 20.0
"""... and only while the model's recent batches took less CPU than this, in milliseconds."""
LEVELS_IN_DOCS = 20
_GATHER_YIELDS = 1
"""Event-loop turns a batch waits before it starts, so requests already read but not yet
submitted join it (at 20 clients: ~20% fewer model calls and CPU per request; ~10 µs)."""

COUNT_SECONDS = 1.0
"""How often a background thread counts what was predicted (and ``/metrics``, when read)."""
DRIFT_SECONDS = 30.0
"""How often the input drift on ``/metrics`` is computed, in a background thread."""
DRIFT_RECORDS = 10_000
"""The last records served that the drift is computed over."""
DRIFT_MIN_RECORDS = 50
"""Fewer records than this give no drift figure yet."""
POLL_SECONDS = 2.0
"""How often :func:`run_production` asks the run history which run is in production."""
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ENDPOINTS = ("/predict", "/feedback", "/health", "/metrics", "/schema")
"""Paths counted by name on ``/metrics``; any other is counted as ``other``."""
_STARTED = "tabwright.started"
"""The scope key holding a request's arrival time (``time.perf_counter``)."""

logger = logging.getLogger("tabwright.serve")


# --------------------------------------------------------------------------- request models


def _field_type(column: dict[str, Any]) -> Any:
    role, dtype = column["role"], column["dtype"]
    if role == "numeric":
        return Optional[Annotated[float, Field(allow_inf_nan=False)]]
    if dtype == "bool":
        return Optional[bool]
    if dtype.startswith("int"):
        return Optional[int]
    if dtype.startswith("float"):
        return Optional[float]
    return Optional[str]


def _field_description(column: dict[str, Any]) -> str:
    text = f"{column['role']} ({column['dtype']})"
    if column.get("min") is not None and column.get("max") is not None:
        text += f", seen in training from {column['min']:,.4g} to {column['max']:,.4g}"
    if column.get("levels"):
        levels = column["levels"][:LEVELS_IN_DOCS]
        text += ", levels: " + ", ".join(levels)
        if column.get("n_levels", 0) > len(levels):
            text += f" … ({column['n_levels']:,} in all)"
    if column.get("missing_fraction"):
        text += f"; {column['missing_fraction']:.0%} missing in training (null is allowed)"
    return text


def _example(column: dict[str, Any]) -> Any:
    if column.get("levels"):
        return column["levels"][0]
    if column.get("min") is not None and column.get("max") is not None:
        middle = (column["min"] + column["max"]) / 2
        return round(middle) if column.get("integer") else round(middle, 3)
    return None


def request_model(schema: dict[str, Any]) -> type[BaseModel]:
    """The pydantic model of ``{"records": [...]}`` built from a model card's input schema.

    Every input column is a required field (``null`` allowed: the pipeline fills missing
    values); column names that are not Python identifiers are aliases, so any name works.
    Extra fields are allowed and reported as ignored, as :func:`core.deliver._schema.validate_input`
    does.
    """
    fields: dict[str, Any] = {}
    for i, column in enumerate(schema["columns"]):
        fields[f"f{i}"] = (_field_type(column), Field(
            ..., alias=column["name"], description=_field_description(column),
            examples=[_example(column)]))
    record = create_model("Record", __config__=ConfigDict(extra="allow", populate_by_name=False),
                          **fields)
    return create_model("PredictRequest", records=(list[record], Field(
        ..., min_length=1, max_length=MAX_RECORDS,
        description="Rows to predict, one object per row with the model's input columns.")))


class PredictResponse(BaseModel):
    """What ``POST /predict`` returns (documented; the server writes it directly)."""

    model_config = ConfigDict(extra="forbid")
    predictions: list[Any] = Field(description="One prediction per record, in order.")
    probabilities: Optional[list[dict[str, float]]] = Field(
        None, description="Classifiers: per record, the probability of each class.")
    notices: list[str] = Field(description="What the input check found (ignored columns, "
                                           "unseen categories, values outside the training range).")
    request_id: str = Field(description="This request's id: the X-Request-ID header sent (made "
                                        "safe) or a new one.")
    ids: list[str] = Field(description="One id per record, for POST /feedback: the request id "
                                       "for one record, '<request id>.<i>' for several.")


class FeedbackItem(BaseModel):
    """One true outcome: the id a prediction came with, and what really happened."""

    id: str = Field(description="An id from a /predict response's ids.")
    actual: Any = Field(description="The true value: a number for regression, a class for a "
                                    "classifier.")


class FeedbackRequest(BaseModel):
    """What ``POST /feedback`` takes."""

    feedback: list[FeedbackItem] = Field(..., min_length=1, max_length=MAX_RECORDS)


class FeedbackResponse(BaseModel):
    """What ``POST /feedback`` returns: how many rows were kept, and why the others were not."""

    rows: int
    accepted: int
    unknown: int = Field(description="Ids not in the prediction log.")
    invalid: int = Field(description="Values the model's task cannot have.")
    duplicate: int = Field(description="Ids given twice, in this request or before.")
    messages: list[str] = Field(description="What was wrong, with examples.")


# --------------------------------------------------------------------------- predicting


class _Model:
    """The model calls of :func:`core.deliver._predict.predict_table`, on checked input columns.

    ``predict_table`` calls ``model.predict_proba(X)`` for classifiers (labels follow from
    the probabilities: argmax, or the tuned threshold with ``>=`` for binary) and
    ``model.predict(X)`` otherwise. This does the same calls in the same order, through the
    model's compiled fast path (:func:`core.deliver._fastpredict.compile_model` on checked columns:
    column branches by their stand-ins, forests tree by tree, boosting without its second
    encoder pass, an ensemble's shared transforms once). A self-check at start-up compares
    the fast and the plain call on rows made from the schema; if they differ in any bit it
    drops the estimator stand-ins, and if they still differ it keeps the plain call.
    """

    def __init__(self, model: Any, card: dict[str, Any], names: list[str]) -> None:
        self.model = model
        self.names = names
        self.task = card["task"]
        self.classes = np.asarray(card.get("classes") or [], dtype=object)
        self.threshold = card.get("threshold")
        self.wants_proba = self.task in ("binary", "multiclass") and hasattr(model, "predict_proba")
        inner = model
        if self.wants_proba and isinstance(model, FixedThresholdClassifier):
            inner = getattr(model, "estimator_", model.estimator)
        self.pipeline = inner
        self.fast: FastModel | None = None  # set by self_check

    def frame(self, columns: dict[str, np.ndarray]) -> pd.DataFrame:
        return pd.DataFrame({name: columns[name] for name in self.names})

    def _call(self, method: str, columns: dict[str, np.ndarray], fast: bool) -> np.ndarray:
        if fast and self.fast is not None and (method == "predict_proba"
                                                or self.pipeline is self.model):
            return getattr(self.fast, method)(columns)
        target = self.pipeline if method == "predict_proba" else self.model
        return getattr(target, method)(self.frame(columns))

    def predict(self, columns: dict[str, np.ndarray], *, fast: bool = True
                ) -> tuple[list[Any], np.ndarray | None]:
        """Predictions (JSON-ready) and, for classifiers, the probabilities."""
        proba = None
        if self.wants_proba:
            try:
                proba = self._call("predict_proba", columns, fast)
            except AttributeError:  # e.g. an SVM without probability estimates
                proba = None
        if proba is None:
            return self._call("predict", columns, fast).tolist(), None
        if self.task == "binary":
            labels = binary_labels(proba, self.classes, self.threshold)
        else:
            labels = self.classes[np.argmax(proba, axis=1)]
        # predict_table's column is pd.Series(labels).infer_objects(); its values are these
        # same Python objects (the card's classes), so JSON gets the same values.
        return labels.tolist(), proba

    def _agrees(self, columns: dict[str, np.ndarray]) -> bool:
        try:
            fast = self.predict(columns, fast=True)
            plain = self.predict(columns, fast=False)
        except Exception:  # noqa: BLE001 — any trouble: the plain call
            return False
        return fast[0] == plain[0] and (
            (fast[1] is None and plain[1] is None)
            or (fast[1] is not None and plain[1] is not None and same_outputs(fast[1], plain[1])))

    def self_check(self, columns: dict[str, np.ndarray]) -> None:
        """Use the fast path only if it gives every bit the plain call gives on ``columns``."""
        def agrees(candidate: FastModel) -> bool:
            self.fast = candidate
            return self._agrees(columns)

        self.fast = checked(self.pipeline, agrees, columns=True)


def _probe_records(schema: dict[str, Any], n: int = 8) -> list[dict[str, Any]]:
    """A few rows made from the schema: levels, numbers across the training range, nulls."""
    records = []
    for i in range(n):
        record: dict[str, Any] = {}
        for column in schema["columns"]:
            value: Any = None
            if i % 4 != 3:
                if column.get("levels"):
                    level = column["levels"][i % len(column["levels"])]
                    dtype = column["dtype"]
                    value = (level == "True" if dtype == "bool" else
                             float(level) if dtype.startswith("float") else
                             int(level) if dtype.startswith("int") and level.lstrip("-").isdigit()
                             else level)
                elif column.get("min") is not None and column.get("max") is not None:
                    value = column["min"] + (column["max"] - column["min"]) * i / (n - 1)
            record[column["name"]] = value
        records.append(record)
    return records


class _Predictor:
    """Turns batches of validated records into per-request results."""

    def __init__(self, model: Any, card: dict[str, Any]) -> None:
        self.card = card
        self.schema = card["input_schema"]
        self.check = RecordCheck(self.schema)
        self.model = _Model(model, card, self.check.names)
        self.class_keys = [str(c) for c in card.get("classes") or []]
        records = _probe_records(self.schema)
        try:
            probe, _ = self.check.check(records)
        except Exception:  # noqa: BLE001 — no probe rows: the plain calls
            pass
        else:
            self.model.self_check(probe)
        # Warm up (first calls are slower) and time a one-row batch: see _Batcher.
        self.warm_up_cpu_ms = float("inf")
        for record in records[:3]:
            started = time.thread_time()
            if isinstance(self.predict_many([[record]])[0], Exception):
                break
            self.warm_up_cpu_ms = min(self.warm_up_cpu_ms, (time.thread_time() - started) * 1000)

    def predict_many(self, requests: list[list[dict[str, Any]]]) -> list[dict[str, Any] | Exception]:
        """One model call for all requests; a failing batch is retried request by request."""
        try:
            rows = requests[0] if len(requests) == 1 else [r for request in requests for r in request]
            columns, notices = self.check.check(rows)
            if len(requests) == 1:
                per_request = [notices]
            elif notices:
                # Notices name columns and values; recompute them per request so nobody sees
                # another client's data. Empty batch notices mean every request's are empty.
                per_request = [self.check.check(r)[1] for r in requests]
            else:
                per_request = [[] for _ in requests]
            predictions, proba = self.model.predict(columns)
            proba_rows = proba.tolist() if proba is not None else None
        except Exception as exc:  # noqa: BLE001 — isolate the request that caused it
            if len(requests) == 1:
                return [exc]
            return [self.predict_many([r])[0] for r in requests]
        out: list[dict[str, Any] | Exception] = []
        start = 0
        keys = self.class_keys
        for request, notes in zip(requests, per_request):
            stop = start + len(request)
            body: dict[str, Any] = {"predictions": predictions[start:stop]}
            if proba_rows is not None:
                body["probabilities"] = [dict(zip(keys, row)) for row in proba_rows[start:stop]]
            body["notices"] = notes
            out.append(body)
            start = stop
        return out


class _Batcher:
    """Collects requests that arrive while the model is busy into the next model call.

    Before a batch starts, the event loop gets one turn (``_GATHER_YIELDS``): requests it
    has already read join the batch, without a timer.

    A small batch of a fast model (under ``INLINE_ROWS`` rows, and the last batches took
    under ``INLINE_CPU_MS`` of CPU on average) runs in the event loop itself. Handing it to
    a worker thread and back costs ~0.4 ms of CPU, more than a one-row logistic regression,
    and with the GIL the thread mostly waits for the event loop anyway: an auto-mode ensemble
    (~5 ms for 20 rows) served 20 clients with a p50 of 25 ms in a thread and 10 ms inline,
    where the requests that arrive meanwhile queue in the socket and join the next batch.
    Bigger or slower batches run in a worker thread, so one long prediction never stops the
    server from answering ``/health``.
    """

    def __init__(self, predictor: _Predictor) -> None:
        self.predictor = predictor
        self.pending: list[tuple[list[dict[str, Any]], asyncio.Future]] = []
        self.busy = False
        self.task: asyncio.Task | None = None
        self.cpu_ms = predictor.warm_up_cpu_ms

    async def submit(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        if len(records) > BATCH_ROWS:
            result = (await asyncio.to_thread(self.predictor.predict_many, [records]))[0]
        else:
            loop = asyncio.get_running_loop()
            future: asyncio.Future = loop.create_future()
            self.pending.append((records, future))
            if not self.busy:
                self.busy = True
                self.task = loop.create_task(self._drain())  # keep a reference while it runs
            result = await future
        if isinstance(result, Exception):
            raise result
        return result

    def _timed(self, requests: list[list[dict[str, Any]]]) -> list[dict[str, Any] | Exception]:
        started = time.thread_time()
        try:
            return self.predictor.predict_many(requests)
        finally:
            spent = (time.thread_time() - started) * 1000
            self.cpu_ms = 0.8 * self.cpu_ms + 0.2 * spent

    async def _drain(self) -> None:
        try:
            while self.pending:
                for _ in range(_GATHER_YIELDS):
                    await asyncio.sleep(0)
                batch, self.pending = self.pending, []
                requests = [records for records, _ in batch]
                try:
                    if sum(map(len, requests)) <= INLINE_ROWS and self.cpu_ms < INLINE_CPU_MS:
                        results = self._timed(requests)
                    else:
                        results = await asyncio.to_thread(self._timed, requests)
                except Exception as exc:  # noqa: BLE001 — every waiting request gets it
                    results = [exc] * len(batch)
                for (_, future), result in zip(batch, results):
                    if not future.done():
                        future.set_result(result)
        finally:
            self.busy = False


# --------------------------------------------------------------------------- metrics


class _Monitor:
    """The numbers ``GET /metrics`` shows, in the app's own Prometheus registry.

    The request path does the least: a counter and a histogram per request (prometheus-client,
    about a microsecond each) and one append to a queue of what was predicted. A background
    thread counts the queue every ``COUNT_SECONDS`` (and ``/metrics`` when it is read), and
    every ``DRIFT_SECONDS`` computes each feature's PSI over the last ``DRIFT_RECORDS`` records
    served, against the model card's baseline (:func:`core.deliver._drift._compare`, as
    ``tabwright drift`` does).
    """

    def __init__(self, card: dict[str, Any], log: PredictionLog | None) -> None:
        self.card = card
        self.log = log
        self.registry = CollectorRegistry()
        # Requests and latency are plain counts (only the event loop adds to them), shown by
        # collect(): prometheus-client's labelled counter and histogram took ~6 µs a request.
        self.requests: dict[tuple[str, str], int] = {}
        self.latency: dict[str, list] = {}  # endpoint -> [count per bucket..., sum]
        self.rows = Counter("tabwright_rows_predicted", "Records predicted.", registry=self.registry)
        self.drift = Gauge("tabwright_input_drift_psi",
                           f"Population stability index of each input over the last "
                           f"{DRIFT_RECORDS:,} records served, against the training data "
                           "(0.1: watch, 0.25: drift).", ["feature"], registry=self.registry)
        self.registry.register(self)
        self.task = card["task"]
        self.class_keys = [str(c) for c in card.get("classes") or []]
        self.class_counts: dict[str, int] = dict.fromkeys(self.class_keys, 0)
        target = (card.get("baseline") or {}).get("target") or {}
        edges = [float(e) for e in target.get("edges") or []] if target.get("kind") == "numeric" else []
        self.edges = np.asarray(edges or [0.0], dtype=float)
        self.value_counts = np.zeros(len(self.edges) + 1, dtype=np.int64)
        self.value_sum = 0.0
        self.queue: collections.deque = collections.deque()
        self.recent: collections.deque = collections.deque(maxlen=DRIFT_RECORDS)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tabwright-metrics", daemon=True)
        self._thread.start()

    # the request path
    def answered(self, path: str, status: int, seconds: float) -> None:
        endpoint = path if path in ENDPOINTS else "other"
        key = (endpoint, str(status))
        self.requests[key] = self.requests.get(key, 0) + 1
        counts = self.latency.get(endpoint)
        if counts is None:
            counts = self.latency[endpoint] = [0] * (len(LATENCY_BUCKETS) + 1) + [0.0]
        counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        counts[-1] += seconds

    def predicted(self, records: list[dict[str, Any]], predictions: list[Any]) -> None:
        self.queue.append((records, predictions))

    # off the request path
    def count(self) -> None:
        """Count what was predicted since the last call, and keep the latest records."""
        with self._lock:
            while self.queue:
                records, predictions = self.queue.popleft()
                self.rows.inc(len(predictions))
                self.recent.extend(records if len(records) <= DRIFT_RECORDS
                                   else records[-DRIFT_RECORDS:])
                if self.task in ("binary", "multiclass", "clustering"):
                    counts = self.class_counts
                    for value in predictions:
                        key = str(value)
                        counts[key] = counts.get(key, 0) + 1
                else:
                    values = np.asarray(predictions, dtype=float)
                    self.value_counts += np.bincount(np.searchsorted(self.edges, values, side="left"),
                                                     minlength=len(self.edges) + 1)
                    self.value_sum += float(values.sum())

    def measure_drift(self) -> None:
        """Each input's PSI over the latest records, into the drift gauge."""
        self.count()
        with self._lock:
            records = list(self.recent)
        if len(records) < DRIFT_MIN_RECORDS or not (self.card.get("baseline") or {}).get("features"):
            return
        frame = pd.DataFrame.from_records(records)
        for name, base in self.card["baseline"]["features"].items():
            if name in frame.columns:
                value = _compare(base, frame[name])["psi"]
                if value is not None:
                    self.drift.labels(name).set(value)

    def _run(self) -> None:
        last_drift = time.monotonic()
        while not self._stop.wait(COUNT_SECONDS):
            try:
                if time.monotonic() - last_drift >= DRIFT_SECONDS:
                    last_drift = time.monotonic()
                    self.measure_drift()
                else:
                    self.count()
            except Exception:  # noqa: BLE001 — a metric must never stop the server
                logger.exception("counting the predictions or the input drift failed")

    def stop(self) -> None:
        self._stop.set()

    def collect(self) -> Any:
        """prometheus-client's collector protocol: requests, latency, the predictions and the
        log's errors."""
        requests = CounterMetricFamily("tabwright_requests",
                                       "HTTP requests answered, by endpoint and status.",
                                       labels=["endpoint", "status"])
        for (endpoint, status), n in list(self.requests.items()):
            requests.add_metric([endpoint, status], n)
        yield requests
        latency = HistogramMetricFamily("tabwright_request_seconds",
                                        "Time from a request's arrival to its response, in "
                                        "seconds.", labels=["endpoint"])
        for endpoint, counts in list(self.latency.items()):
            cumulative = np.cumsum(counts[:-1])
            latency.add_metric([endpoint], [*((f"{b:g}", float(n)) for b, n in zip(
                LATENCY_BUCKETS, cumulative)), ("+Inf", float(cumulative[-1]))], counts[-1])
        yield latency
        if self.task in ("binary", "multiclass", "clustering"):
            family = CounterMetricFamily(
                "tabwright_predictions", "Predictions served, by predicted "
                + ("cluster." if self.task == "clustering" else "class."), labels=["label"])
            for key, n in list(self.class_counts.items()):
                family.add_metric([key], n)
            yield family
        else:
            cumulative = np.cumsum(self.value_counts)
            buckets = [(f"{edge:.6g}", float(n)) for edge, n in zip(self.edges, cumulative)]
            yield HistogramMetricFamily(
                "tabwright_prediction_value", "Predicted values (buckets: the training target's "
                "deciles).", buckets=[*buckets, ("+Inf", float(cumulative[-1]))],
                sum_value=self.value_sum)
        errors = CounterMetricFamily("tabwright_log_errors",
                                     "Predictions the prediction log failed to store, and other "
                                     "log failures.")
        errors.add_metric([], self.log.health()["errors"] if self.log is not None else 0)
        yield errors

    def exposition(self) -> bytes:
        self.count()
        return generate_latest(self.registry)


class _Observed:
    """ASGI middleware: every HTTP request's arrival time (for the log's latency) and, when
    answered, its endpoint, status and duration on ``/metrics``."""

    def __init__(self, app: Any, monitor: _Monitor) -> None:
        self.app = app
        self.monitor = monitor

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        scope[_STARTED] = started
        status = 500

        async def observed(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            self.monitor.answered(scope["path"], status, time.perf_counter() - started)


# --------------------------------------------------------------------------- the app


def _json(content: Any, status_code: int = 200) -> Response:
    """A JSON response, with orjson when it is installed (~10x faster than ``json``)."""
    if orjson is None:
        return JSONResponse(content, status_code=status_code)
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json")


def _error_lines(errors: list[dict[str, Any]]) -> list[str]:
    lines = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p != "body"]
        where = ""
        for part in loc:
            where += f"[{part}]" if part.isdigit() else (f".{part}" if where else part)
        message = error.get("msg", "invalid")
        if error.get("type") == "missing" and loc:
            message = (f"the column {loc[-1]!r} is required (send null for a missing value)"
                       if loc[0] == "records" and len(loc) > 1 else f"{loc[-1]!r} is required")
        lines.append(f"{where or 'body'}: {message}")
    return lines


class _FastPredict:
    """``POST /predict`` for a well-formed JSON body, without FastAPI's per-request machinery.

    pydantic-core parses and validates the body in one step against the same
    ``PredictRequest`` model (``TypeAdapter.validate_json``); that saves about 0.1 ms of CPU
    per request. Anything else — a body that fails validation, another content type, an
    empty body — goes to the documented FastAPI route unchanged, so errors (422s with their
    messages) are FastAPI's own.
    """

    def __init__(self, model: type[BaseModel], route: APIRoute,
                 answer: Callable[[list[dict[str, Any]], float, str | None], Awaitable[Response]]
                 ) -> None:
        self.adapter = TypeAdapter(model)
        self.route = route
        self.answer = answer

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        body = await request.body()
        parsed = None
        if body and request.headers.get("content-type") == "application/json":
            try:
                parsed = self.adapter.validate_json(body)
            except ValidationError:
                parsed = None
        if parsed is None:
            replayed = False

            async def replay() -> dict[str, Any]:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            _, child = self.route.matches(scope)
            await self.route.handle({**scope, **child}, replay, send)
            return
        response = await self.answer([r.model_dump(by_alias=True) for r in parsed.records],
                                     scope.get(_STARTED) or time.perf_counter(),
                                     request.headers.get("x-request-id"))
        await response(scope, receive, send)


def create_app(model: Any, card: dict[str, Any], *, log: PredictionLog | None = None,
               run_id: str | None = None) -> FastAPI:
    """A FastAPI app serving ``model`` as its model card describes.

    Endpoints: ``POST /predict``, ``POST /feedback``, ``GET /health``, ``GET /metrics``,
    ``GET /schema``; docs at ``/docs``.

    Parameters
    ----------
    model : estimator
        The fitted pipeline.
    card : dict
        Its model card.
    log : PredictionLog, optional
        Where every prediction is journaled (before its response is sent) and feedback kept;
        without it ``POST /feedback`` answers 409.
    run_id : str, optional
        The run served, on every logged row and on ``/health``; default the log's, else
        :func:`core.deliver._log.model_identity`'s.
    """
    labels = ", ".join((card.get("model") or {}).get("labels") or []) or "model"
    target = card.get("target")
    project, own_run_id = model_identity(card)
    run_id = run_id or (log.run_id if log is not None else own_run_id)
    app = FastAPI(
        title=f"tabwright: {labels}",
        description=(f"Predicts {target!r} ({card['task']})." if target else
                     "Assigns rows to clusters.") + " Send rows as JSON records; "
        "every input column is listed under PredictRequest below.",
        version=str(card.get("created", "")),
    )
    PredictRequest = request_model(card["input_schema"])
    batcher = _Batcher(_Predictor(model, card))
    monitor = _Monitor(card, log)
    app.state.batcher = batcher
    app.state.monitor = monitor
    app.state.log = log
    app.state.run_id = run_id
    app.state.inflight = 0
    app.add_middleware(_Observed, monitor=monitor)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        lines = _error_lines(errors)
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
                  for e in errors]
        return JSONResponse(status_code=422, content={"detail": detail, "errors": lines,
                                                      "message": "; ".join(lines[:10])})

    async def answer(records: list[dict[str, Any]], started: float, header: str | None) -> Response:
        try:
            result = await batcher.submit(records)
        except TabwrightError as exc:
            return JSONResponse(status_code=422, content={"detail": exc.message, "hint": exc.hint,
                                                          "errors": [exc.message]})
        except Exception:  # noqa: BLE001 — a bug must not leak data or a traceback
            logger.exception("prediction failed")
            return JSONResponse(status_code=500, content={"detail": "The model failed on these rows."})
        latency_ms = (time.perf_counter() - started) * 1000
        result["request_id"] = rid = request_id(header)
        result["ids"] = ids = row_ids(rid, len(records))
        if log is not None:
            entry = dict(run_id=run_id, ids=ids, records=records, predictions=result["predictions"],
                         probabilities=result.get("probabilities"), latency_ms=latency_ms)
            if len(records) > BATCH_ROWS:  # encoding many records: not in the event loop
                await asyncio.to_thread(log.record, **entry)
            else:
                log.record(**entry)
        monitor.predicted(records, result["predictions"])
        return _json(result)

    @app.post("/predict", responses={200: {"model": PredictResponse}},
              summary="Predict rows", response_description="Predictions in the order sent.")
    async def predict(body: PredictRequest, request: Request) -> Response:  # type: ignore[valid-type]
        return await answer([r.model_dump(by_alias=True) for r in body.records],
                            request.scope.get(_STARTED) or time.perf_counter(),
                            request.headers.get("x-request-id"))

    documented = next(r for r in app.router.routes
                      if isinstance(r, APIRoute) and r.path == "/predict")
    # Listed first, so it answers POST /predict; the documented route stays in the OpenAPI
    # schema and answers whatever the fast one passes on.
    app.router.routes.insert(0, Route("/predict", _FastPredict(PredictRequest, documented, answer),
                                      methods=["POST"], include_in_schema=False))

    @app.post("/feedback", responses={200: {"model": FeedbackResponse}},
              summary="Send the true outcomes of earlier predictions")
    async def feedback(body: FeedbackRequest) -> Response:
        if log is None:
            return JSONResponse(status_code=409, content={
                "detail": "This server keeps no prediction log, so it cannot match feedback "
                          "to predictions.", "hint": "Start it without --no-log."})
        try:
            counts = await asyncio.to_thread(
                log.add_feedback, [item.id for item in body.feedback],
                [item.actual for item in body.feedback], task=card["task"],
                classes=card.get("classes"))
        except TabwrightError as exc:
            return JSONResponse(status_code=422, content={"detail": exc.message, "hint": exc.hint,
                                                          "errors": [exc.message]})
        return _json(counts)

    @app.get("/health", summary="Is the server up, which run does it serve, does logging work")
    async def health() -> dict[str, Any]:
        logged = None
        if log is not None:
            state = log.health()
            logged = {key: state[key] for key in ("ok", "errors", "last_error", "pending", "rows",
                                                  "inputs")}
        return {"status": "ok", "model": labels, "task": card["task"], "target": target,
                "run_id": run_id, "project": project, "log": logged}

    @app.get("/metrics", summary="Prometheus metrics: requests, latency, predictions, drift")
    async def metrics() -> Response:
        return Response(monitor.exposition(), media_type=CONTENT_TYPE_LATEST)

    joins = (card.get("recipe") or {}).get("joins") or []
    schema_body = dict(card["input_schema"])
    if joins:  # a record must carry the joined columns already computed
        schema_body["joined"] = {
            "tables": [j["name"] for j in joins],
            "note": "Some columns are made from related tables joined on a key (see the model "
                    "card's recipe.joins). Send records with those columns already computed, "
                    "or predict files with `tabwright predict MODEL DATA --with NAME=FILE`, "
                    "which joins them as in training."}

    @app.get("/schema", summary="The input columns the model needs")
    async def schema() -> dict[str, Any]:
        return schema_body

    return app


def run_server(model_path: str | Path, *, host: str = "127.0.0.1", port: int = 8000,
               trust: bool = False, log: bool = True, log_inputs: str = "full") -> None:
    """Serve a bundle this machine wrote (``tabwright train --out DIR``) until stopped.

    With ``log`` (the default) every prediction is journaled in the project's
    :class:`core.deliver._log.PredictionLog` under the workspace, keeping ``log_inputs``
    ("full", "hashed" or "none") of each record.

    uvicorn picks uvloop and httptools when they are installed (they are dependencies):
    about 40% less server CPU per request than asyncio with h11.

    Everything loaded so far (libraries, the model) lives as long as the server, so it is
    moved out of the garbage collector's sight (``gc.freeze``): a full collection over it
    paused every request in flight for ~100 ms every few thousand requests (the p99 at 20
    clients), and now takes well under a millisecond.
    """
    model, card = load_bundle(model_path, trust=trust)
    folder = Path(model_path) if Path(model_path).is_dir() else Path(model_path).parent
    prediction_log = None
    if log:
        model_file = Path(model_path) if Path(model_path).is_file() else folder / "model.joblib"
        prediction_log = PredictionLog.for_card(card, model_bytes=model_file.read_bytes(),
                                                inputs=log_inputs)
    app = create_app(model, card, log=prediction_log)
    try:
        _serve(app, host=host, port=port)
    finally:
        _retire(app)


def _serve(app: Any, *, host: str, port: int) -> None:
    sock = listening_socket(host, port)
    shown = f"[{host}]" if ":" in host else host
    print(f"Serving on http://{shown}:{sock.getsockname()[1]} (API docs at /docs); "
          "Ctrl+C stops.", file=sys.stderr, flush=True)
    gc.collect()
    gc.freeze()
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` for the server, or a clear error: a port out of
    range, a host this machine cannot listen on, or a port another program holds.

    Raises
    ------
    TabwrightError
    """
    if not 1 <= port <= 65_535:
        raise TabwrightError(f"The port must be between 1 and 65535, got {port}.",
                             "For example --port 8000.")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError):
        raise TabwrightError(f"{host!r} is not an address this machine can listen on.",
                             "Use 127.0.0.1 (this machine only) or 0.0.0.0 (every network "
                             "interface).") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise TabwrightError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.",
                             "Choose another --port (is another server running on it?) or "
                             "another --host.") from None
    return sock


def _retire(app: FastAPI) -> None:
    """Stop an app's background work and turn its journal into segments."""
    app.state.monitor.stop()
    if app.state.log is not None:
        app.state.log.close()


# --------------------------------------------------------------------------- production


class _Swappable:
    """An ASGI app that passes each request to the current app, which can be replaced.

    :meth:`swap` runs in the event loop (the watcher thread asks for it with
    ``call_soon_threadsafe``), between requests: later requests go to the new app, requests
    already inside the old one finish there, and the old app is retired when its last one is
    done.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.loop = asyncio.get_running_loop()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        app = self.app
        app.state.inflight += 1
        try:
            await app(scope, receive, send)
        finally:
            app.state.inflight -= 1
            if app is not self.app and app.state.inflight == 0:
                await asyncio.to_thread(_retire, app)

    def swap(self, app: FastAPI) -> None:
        old, self.app = self.app, app
        if old.state.inflight == 0:
            self.loop.run_in_executor(None, _retire, old)  # type: ignore[union-attr]


def _in_production(store: RunStore, project: str, owner: str | None) -> tuple[str, str] | None:
    """``(run_id, owner)`` of the run to serve: the owner's production run, or with no owner
    the project's latest promotion by anyone (the app's sessions and the command line)."""
    if owner is None:
        return store.serving(project)
    run_id = store.production(project, owner=owner)
    return None if run_id is None else (run_id, owner)


def _production_app(store: RunStore, project: str, run_id: str, *, log: bool, log_inputs: str,
                    owner: str) -> FastAPI:
    """The app of one production run: loaded, self-checked and warmed up (seconds of work)."""
    model, card = store.load_model(run_id, owner=owner)
    card = {**card, "run_id": run_id, "project": project}
    prediction_log = PredictionLog.for_card(card, inputs=log_inputs) if log else None
    return create_app(model, card, log=prediction_log, run_id=run_id)


class _ProductionWatcher:
    """Asks the run history every ``poll_seconds`` which run is in production, and swaps a
    new one in (built in this thread, off the event loop)."""

    def __init__(self, server: _Swappable, store: RunStore, project: str, *, poll_seconds: float,
                 **options: Any) -> None:
        self.server = server
        self.store = store
        self.project = project
        self.poll_seconds = poll_seconds
        self.options = options
        self.failed: set[str] = set()
        self.requested: str | None = None
        self.warned_none = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tabwright-production", daemon=True)

    def start(self) -> "_ProductionWatcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.check()

    def check(self) -> None:
        """Swap in the production run if it changed (failures are logged; the old run stays)."""
        served = self.requested or self.server.app.state.run_id
        try:
            found = _in_production(self.store, self.project, self.options["owner"])
        except Exception:  # noqa: BLE001 — the history may be busy: ask again next time
            logger.exception("could not read the production run of %r", self.project)
            return
        current, owner = found if found is not None else (None, None)
        if current is None:
            if not self.warned_none:
                logger.warning("project %r has no production run any more; still serving %s",
                               self.project, served)
            self.warned_none = True
            return
        self.warned_none = False
        if current == served or current in self.failed or self.server.loop is None:
            return
        try:
            app = _production_app(self.store, self.project, current,
                                  **{**self.options, "owner": owner})
        except Exception:  # noqa: BLE001 — keep serving the run that works
            logger.exception("could not load run %s of %r; still serving %s", current,
                             self.project, served)
            self.failed.add(current)
            return
        self.requested = current  # the event loop swaps it in at its next turn
        self.server.loop.call_soon_threadsafe(self.server.swap, app)
        logger.warning("now serving run %s of %r (was %s)", current, self.project, served)
        gc.freeze()  # the new model lives as long as it serves, like the first one


def run_production(project: str, *, host: str = "127.0.0.1", port: int = 8000, log: bool = True,
                   log_inputs: str = "full", poll_seconds: float = POLL_SECONDS,
                   owner: str | None = None) -> None:
    """Serve the production run of ``project`` until stopped, following promotions.

    A background thread asks :meth:`core.deliver._history.RunStore.production` every
    ``poll_seconds``; when another run is promoted (or a rollback brings one back) it loads
    that run's bundle, self-checks and warms it up off the event loop, then swaps it in
    without dropping a request. ``GET /health`` names the run served. With no ``owner`` the
    project's latest promotion is served, whoever made it (a browser session of the app or the
    command line); with one, only that owner's production run.

    Raises
    ------
    TabwrightError
        When the project has no run in production.
    """
    store = RunStore()
    found = _in_production(store, project, owner)
    if found is None:
        known = store.projects(owner=owner or "local")
        raise TabwrightError(
            f"The project {project!r} has no run in production.",
            "Promote one of its runs on the Runs page first, then start the server again"
            + (f" (projects with runs: {', '.join(known[:10])})." if known else "."))
    run_id, run_owner = found
    options = {"log": log, "log_inputs": log_inputs, "owner": owner}
    server = _Swappable(_production_app(store, project, run_id, **{**options, "owner": run_owner}))
    watcher = _ProductionWatcher(server, store, project, poll_seconds=poll_seconds,
                                 **options).start()
    try:
        _serve(server, host=host, port=port)
    finally:
        watcher.stop()
        _retire(server.app)
