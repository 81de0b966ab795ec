"""Run history: every trained run, its recipe, scores and model bundle, in one sqlite file.

The workspace is ``$TABWRIGHT_WORKSPACE`` (default ``~/.tabwright``): ``runs.sqlite`` holds one
row per run and ``runs/<run_id>/`` the model's files (:func:`core.deliver._bundle.model_files`:
the signed model, its card, recipe and scores; the Export page makes the rest). Each run
belongs to an ``owner``; every read filters by owner, and a run of another owner is reported
exactly like a run that does not exist, so nobody learns that it does.

Each run also belongs to a *project* (by default the data file's name, see :func:`project_name`),
and a project has at most one *production* run: :meth:`RunStore.promote` makes a run the one
that serves predictions, :meth:`RunStore.rollback` returns to the run before it. Every such change
is appended to the ``promotions`` table (never updated, never deleted) in the same transaction as
the change itself, so the log and the production run always agree.

sqlite runs in WAL mode (readers do not block the writer) and every call opens its own
connection, so the store can be shared by Streamlit's many script threads.

Models are loaded with joblib, which runs code: :meth:`RunStore.load_model` only loads bundles
that tabwright itself wrote into the workspace, and checks the path is inside it.
"""

from __future__ import annotations

import getpass
import json
import re
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from core.deliver._bundle import load_bundle, model_files
from core.deliver._card import project_name  # noqa: F401 — the history's default project
from core.errors import TabwrightError
from core.formatting import json_safe
from core.metrics import METRICS, metric_label
from core.recipe import Recipe, diff
from core.run import TrainResult
from core.settings import workspace

DB_NAME = "runs.sqlite"
MAX_TEXT = 10_000
"""Longest hypothesis or note kept, in characters."""
_RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")

SCHEMA_VERSION = 2
"""``PRAGMA user_version`` of a current file: 0 before projects, 2 with projects and production."""
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        created TEXT NOT NULL,
        data_name TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        task TEXT NOT NULL,
        target TEXT,
        model TEXT NOT NULL,
        model_label TEXT NOT NULL,
        metric TEXT NOT NULL,
        cv_mean REAL,
        cv_std REAL,
        test_metrics TEXT NOT NULL,
        recipe TEXT NOT NULL,
        original_recipe TEXT NOT NULL,
        leaderboard TEXT NOT NULL,
        n_train INTEGER,
        n_test INTEGER,
        threshold REAL,
        duration REAL,
        hypothesis TEXT NOT NULL DEFAULT '',
        note TEXT NOT NULL DEFAULT '',
        bundle_path TEXT NOT NULL,
        previous_run_id TEXT,
        project TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX IF NOT EXISTS runs_by_owner ON runs (owner, created)",
    "CREATE INDEX IF NOT EXISTS runs_by_data ON runs (owner, fingerprint, created)",
    # The log of every promotion, rollback and demotion: rows are only ever added.
    """CREATE TABLE IF NOT EXISTS promotions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        owner TEXT NOT NULL,
        project TEXT NOT NULL,
        time TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('promote', 'rollback', 'demote')),
        run_id TEXT,
        previous_run_id TEXT,
        who TEXT NOT NULL,
        note TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS promotions_by_project ON promotions (owner, project, id)",
    """CREATE TRIGGER IF NOT EXISTS promotions_are_never_changed BEFORE UPDATE ON promotions
       BEGIN SELECT RAISE(ABORT, 'the promotions log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS promotions_are_never_deleted BEFORE DELETE ON promotions
       BEGIN SELECT RAISE(ABORT, 'the promotions log is append-only'); END""",
    # One row per project in production: the primary key makes two production runs impossible,
    # and RunStore.production is a single primary-key lookup (a server polls it).
    """CREATE TABLE IF NOT EXISTS production (
        owner TEXT NOT NULL,
        project TEXT NOT NULL,
        run_id TEXT NOT NULL,
        promotion_id INTEGER NOT NULL REFERENCES promotions (id),
        PRIMARY KEY (owner, project)
    ) WITHOUT ROWID""",
)
# Needs the project column, which files written before projects get by ALTER TABLE first.
_PROJECT_INDEX = "CREATE INDEX IF NOT EXISTS runs_by_project ON runs (owner, project, created)"
_PROJECT = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$")
_LIST_COLUMNS = ("run_id", "created", "data_name", "fingerprint", "task", "target", "model",
                 "model_label", "metric", "cv_mean", "cv_std", "test_metrics", "n_train", "n_test",
                 "duration", "hypothesis", "note", "previous_run_id", "project", "production")
# A run's columns plus whether it is its project's production run.
_RUNS_WITH_PRODUCTION = ("runs AS r LEFT JOIN production AS p ON p.owner = r.owner "
                         "AND p.project = r.project AND p.run_id = r.run_id")
_JSON_COLUMNS = ("test_metrics", "recipe", "original_recipe", "leaderboard")


def _json(value: Any) -> str:
    return json.dumps(json_safe(value), allow_nan=False)


def is_run_id(text: Any) -> bool:
    """Whether ``text`` has the shape of a run id (``20240501-120304-a1b2c3``)."""
    return isinstance(text, str) and bool(_RUN_ID.match(text))


def _text(what: str, value: str) -> str:
    if not isinstance(value, str):
        raise TabwrightError(f"The {what} must be text, got {type(value).__name__}.", "")
    if len(value) > MAX_TEXT:
        raise TabwrightError(f"The {what} must be at most {MAX_TEXT:,} characters, got {len(value):,}.",
                             "Shorten it.")
    return value


def _owner(owner: str) -> str:
    if not isinstance(owner, str) or not owner.strip():
        raise TabwrightError(f"The owner must be a non-empty name, got {owner!r}.",
                             "Pass the signed-in user's name, or 'local'.")
    return owner


def _project(project: str) -> str:
    if not isinstance(project, str) or not _PROJECT.match(project):
        raise TabwrightError(
            "A project name must be 1 to 64 of a-z, 0-9, '-' and '_', starting and ending with "
            f"a letter or digit, got {str(project)[:80]!r}.",
            "Use project_name(file name), e.g. 'titanic-survival' for 'Titanic Survival.csv'.")
    return project


def _who(who: str | None) -> str:
    if who is None:
        try:
            who = getpass.getuser()
        except (KeyError, OSError):  # no login name and no USER variable (a bare container)
            who = ""
        return who.strip()[:200] or "unknown"
    if not isinstance(who, str) or not who.strip():
        raise TabwrightError(f"Who made the change must be a name, got {who!r}.",
                             "Pass the person's name, or leave it out to use your login name.")
    return _text("name of who made the change", who).strip()


def _why(note: str, action: str) -> str:
    note = _text("note", note).strip()
    if not note:
        raise TabwrightError(f"A note saying why is required to {action}, got an empty one.",
                             "Write a few words the next person will need, e.g. "
                             "'better recall on last month's claims'.")
    return note


class RunStore:
    """The run history of a workspace.

    Parameters
    ----------
    path : str or Path, optional
        The sqlite file, or a workspace folder (then ``<folder>/runs.sqlite``). Default:
        ``$TABWRIGHT_WORKSPACE/runs.sqlite`` (``~/.tabwright`` when the variable is unset).
        Bundles go to ``runs/<run_id>/`` beside the file.

    Examples
    --------
    >>> store = RunStore(tmp_path)  # doctest: +SKIP
    >>> run_id = store.record(result, data_name="titanic.csv", hypothesis="age matters")  # doctest: +SKIP
    >>> store.list_runs()[0]["run_id"] == run_id  # doctest: +SKIP
    True
    >>> store.promote(run_id, note="beats the old model on May's claims")["project"]  # doctest: +SKIP
    'titanic'
    >>> store.production("titanic") == run_id  # doctest: +SKIP
    True
    """

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            db = workspace() / DB_NAME
        else:
            path = Path(path).expanduser()
            db = path / DB_NAME if path.is_dir() or not path.suffix else path
        self.db_path = db
        self.workspace = db.parent
        self.runs_dir = self.workspace / "runs"
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as con:
                con.execute("PRAGMA journal_mode=WAL")
                if con.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                    self._upgrade(con)
        except (OSError, sqlite3.Error) as exc:
            raise TabwrightError(f"Cannot open the run history at {str(db)!r}: {exc}.",
                                 "Set TABWRIGHT_WORKSPACE to a folder you can write to.") from None

    @staticmethod
    def _upgrade(con: sqlite3.Connection) -> None:
        """Create the tables, or bring a file written before projects up to date, in place.

        Runs in one write transaction that re-reads the version first, so two processes opening
        the same old file at once upgrade it once. Existing runs get their default project.
        """
        con.execute("BEGIN IMMEDIATE")
        try:
            if con.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                for statement in _SCHEMA:
                    con.execute(statement)
                columns = {row["name"] for row in con.execute("PRAGMA table_info(runs)")}
                if "project" not in columns:
                    con.execute("ALTER TABLE runs ADD COLUMN project TEXT NOT NULL DEFAULT ''")
                unnamed = con.execute("SELECT run_id, data_name FROM runs WHERE project = ''").fetchall()
                con.executemany("UPDATE runs SET project = ? WHERE run_id = ?",
                                [(project_name(row["data_name"]), row["run_id"]) for row in unnamed])
                con.execute(_PROJECT_INDEX)
                con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    # ---- connections ------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA busy_timeout=30000")
        return con

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): concurrent writers queue, never interleave."""
        try:
            with closing(self._connect()) as con:
                con.execute("BEGIN IMMEDIATE")
                try:
                    yield con
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise TabwrightError(f"The {what} could not be saved to the history: {exc}.",
                                 "Check the workspace folder is writable and not full.") from None

    def _rows(self, sql: str, params: tuple) -> Iterator[sqlite3.Row]:
        with closing(self._connect()) as con:
            yield from con.execute(sql, params).fetchall()

    def _row(self, run_id: str, owner: str) -> sqlite3.Row:
        _owner(owner)
        if not is_run_id(run_id):
            raise self._unknown(run_id)
        rows = list(self._rows(f"SELECT r.*, p.run_id IS NOT NULL AS production FROM {_RUNS_WITH_PRODUCTION} "
                               "WHERE r.run_id = ? AND r.owner = ?", (run_id, owner)))
        if not rows:
            raise self._unknown(run_id)
        return rows[0]

    @staticmethod
    def _unknown(run_id: Any) -> TabwrightError:
        # The same words whether the run is missing or someone else's: never reveal which.
        return TabwrightError(f"There is no run {str(run_id)[:40]!r} in your history.",
                              "Pick a run from the list of your runs.")

    @staticmethod
    def _as_dict(row: sqlite3.Row, columns: tuple[str, ...] | None = None) -> dict[str, Any]:
        keys = columns or tuple(row.keys())
        out = {k: row[k] for k in keys}
        for key in _JSON_COLUMNS:
            if key in out and isinstance(out[key], str):
                out[key] = json.loads(out[key])
        if "production" in out:
            out["production"] = bool(out["production"])
        return out

    # ---- writing ----------------------------------------------------------------------
    def record(self, result: TrainResult, *, data_name: str, hypothesis: str = "", owner: str = "local",
               project: str | None = None) -> str:
        """Store a finished run and write its bundle; returns the new run id.

        ``previous_run_id`` is the owner's latest earlier run on the same data (same
        fingerprint), so a run can be compared with the one before it.

        Parameters
        ----------
        result : TrainResult
        data_name : str
            The name of the data the run trained on (a file name).
        hypothesis : str
            What the owner expected this run to show.
        owner : str
        project : str, optional
            The project the run belongs to; default :func:`project_name` of ``data_name``.
            A new run is never in production until it is promoted.
        """

        _owner(owner)
        _text("hypothesis", hypothesis)
        project = project_name(data_name) if project is None else _project(project)
        now = datetime.now(timezone.utc)
        run_id = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        bundle = self.runs_dir / run_id
        files = model_files(result, data_name=data_name, run_id=run_id, project=project, skops=False)
        try:
            bundle.mkdir(parents=True)
            for name, payload in files.items():
                (bundle / name).write_bytes(payload)
        except OSError as exc:
            shutil.rmtree(bundle, ignore_errors=True)
            raise TabwrightError(f"The run could not be saved in {str(self.runs_dir)!r}: "
                                 f"{exc.strerror or exc}.",
                                 "Check the workspace folder is writable and not full.") from None
        metric = result.metric
        best = result.leaderboard[0] if result.leaderboard else {}
        values = {
            "run_id": run_id, "owner": owner, "created": now.isoformat(timespec="microseconds"),
            "data_name": str(data_name), "fingerprint": result.fingerprint, "task": result.task,
            "target": result.recipe.target, "model": result.best,
            "model_label": str(best.get("label") or result.best), "metric": metric,
            "cv_mean": json_safe(best.get(metric)), "cv_std": json_safe(best.get(f"{metric}_std")),
            "test_metrics": _json((result.evaluation or {}).get("metrics", {})),
            "recipe": result.recipe.to_json(indent=None),
            "original_recipe": result.original_recipe.to_json(indent=None),
            "leaderboard": _json(result.leaderboard), "n_train": result.n_train,
            "n_test": result.n_test, "threshold": json_safe(result.threshold),
            "duration": json_safe(float(result.seconds)), "hypothesis": hypothesis, "note": "",
            "bundle_path": str(bundle.relative_to(self.workspace)), "project": project,
        }
        try:
            with self._write("run") as con:
                previous = con.execute(
                    "SELECT run_id FROM runs WHERE owner = ? AND fingerprint = ? "
                    "ORDER BY created DESC, rowid DESC LIMIT 1", (owner, result.fingerprint)).fetchone()
                values["previous_run_id"] = previous["run_id"] if previous else None
                columns = ", ".join(values)
                marks = ", ".join("?" for _ in values)
                con.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", tuple(values.values()))
        except TabwrightError:
            shutil.rmtree(bundle, ignore_errors=True)
            raise
        return run_id

    def set_note(self, run_id: str, text: str, *, owner: str = "local") -> None:
        """Replace the note on one of the owner's runs; an empty note clears it.

        Parameters
        ----------
        run_id : str
        text : str
            What the owner wants to remember about the run (at most :data:`MAX_TEXT`
            characters). Leading and trailing spaces are dropped, so a blank note is no note.
        owner : str

        Raises
        ------
        TabwrightError
            When the owner has no such run, or the note is not text or too long.
        """
        text = _text("note", text).strip()
        self._row(run_id, owner)
        with closing(self._connect()) as con:
            con.execute("UPDATE runs SET note = ? WHERE run_id = ? AND owner = ?", (text, run_id, owner))

    # ---- production -------------------------------------------------------------------
    def promote(self, run_id: str, *, note: str, who: str | None = None,
                owner: str = "local") -> dict[str, Any]:
        """Make one of the owner's runs the production run of its project.

        The run that was in production (if any) stops being it: a project has one production
        run at a time. The change and its log entry are written in one transaction, so two
        people promoting at once end with one production run and both entries in the log.

        Parameters
        ----------
        run_id : str
        note : str
            Why this run should serve predictions now (required, kept in the log).
        who : str, optional
            Who promotes it; default the operating-system user (``"unknown"`` when there is none).
        owner : str

        Returns
        -------
        dict
            The log entry: ``time``, ``action`` ("promote"), ``run_id``, ``previous_run_id``
            (the run in production before, or None), ``who``, ``note`` and ``project``.

        Raises
        ------
        TabwrightError
            When the note is empty, the owner has no such run, or it is in production already.
        """
        _owner(owner)
        note, who = _why(note, "promote a run"), _who(who)
        if not is_run_id(run_id):
            raise self._unknown(run_id)
        with self._write("promotion") as con:
            row = con.execute("SELECT project FROM runs WHERE run_id = ? AND owner = ?",
                              (run_id, owner)).fetchone()
            if row is None:
                raise self._unknown(run_id)
            project = row["project"]
            current = con.execute("SELECT run_id FROM production WHERE owner = ? AND project = ?",
                                  (owner, project)).fetchone()
            if current and current["run_id"] == run_id:
                raise TabwrightError(f"Run {run_id!r} is already in production for {project!r}.",
                                     "Pick another run to promote.")
            return _change(con, owner, project, "promote", run_id, current["run_id"] if current else None,
                           who, note)

    def rollback(self, project: str, *, note: str, who: str | None = None,
                 owner: str = "local") -> dict[str, Any]:
        """Put back the run that was in production before the current one.

        Rollbacks go back step by step: after promoting A, then B, then C, a rollback returns
        to B and a second one to A (see :meth:`rollback_target`). After :meth:`demote` a
        rollback puts the demoted run back.

        Parameters
        ----------
        project : str
        note : str
            Why (required, kept in the log).
        who : str, optional
            Default the operating-system user.
        owner : str

        Returns
        -------
        dict
            The log entry, as :meth:`promote` returns it, with ``action`` "rollback".

        Raises
        ------
        TabwrightError
            When the note is empty or there is no earlier production run to go back to.
        """
        _owner(owner)
        _project(project)
        note, who = _why(note, "roll back"), _who(who)
        with self._write("rollback") as con:
            stack = _replay(self._log(con, owner, project))
            target = _rolled_back(stack)
            if not target:
                raise TabwrightError(f"{project!r} has no earlier production run to roll back to.",
                                     "Promote a run instead.")
            return _change(con, owner, project, "rollback", target[-1], stack[-1], who, note)

    def demote(self, project: str, *, note: str, who: str | None = None,
               owner: str = "local") -> dict[str, Any]:
        """Take the production run of ``project`` out of production, leaving none.

        A later :meth:`rollback` puts it back. Parameters and the returned log entry (with
        ``action`` "demote" and ``run_id`` None) are as for :meth:`rollback`; raises
        :class:`TabwrightError` when the note is empty or nothing is in production.
        """
        _owner(owner)
        _project(project)
        note, who = _why(note, "take a run out of production"), _who(who)
        with self._write("demotion") as con:
            stack = _replay(self._log(con, owner, project))
            if not stack or stack[-1] is None:
                raise TabwrightError(f"{project!r} has no run in production to take out.",
                                     "Nothing to do: predictions are not served from this project.")
            return _change(con, owner, project, "demote", None, stack[-1], who, note)

    @staticmethod
    def _log(con: sqlite3.Connection, owner: str, project: str) -> list[tuple[str, str | None]]:
        return [(row["action"], row["run_id"]) for row in con.execute(
            "SELECT action, run_id FROM promotions WHERE owner = ? AND project = ? ORDER BY id",
            (owner, project))]

    def production(self, project: str, *, owner: str = "local") -> str | None:
        """The run id in production for ``project``, or None (one primary-key lookup)."""
        _owner(owner)
        _project(project)
        rows = list(self._rows("SELECT run_id FROM production WHERE owner = ? AND project = ?",
                               (owner, project)))
        return rows[0]["run_id"] if rows else None

    def serving(self, project: str) -> tuple[str, str] | None:
        """``(run_id, owner)`` of the run a server of ``project`` should serve, or None.

        The app keeps each browser session's runs under its own owner, the command line under
        ``"local"``; a server on this workspace (``tabwright serve --production``) serves the
        project's most recent promotion, whoever made it.
        """
        _project(project)
        rows = list(self._rows("SELECT run_id, owner FROM production WHERE project = ? "
                               "ORDER BY promotion_id DESC LIMIT 1", (project,)))
        return (rows[0]["run_id"], rows[0]["owner"]) if rows else None

    def production_details(self, project: str, *, owner: str = "local") -> dict[str, Any] | None:
        """The production run of ``project`` and the log entry that put it there, or None.

        Returns
        -------
        dict or None
            ``run_id``, ``since`` (ISO time, UTC), ``action`` ("promote" or "rollback"),
            ``who`` and ``note``.
        """
        _owner(owner)
        _project(project)
        rows = list(self._rows(
            "SELECT p.run_id, m.time AS since, m.action, m.who, m.note FROM production AS p "
            "JOIN promotions AS m ON m.id = p.promotion_id WHERE p.owner = ? AND p.project = ?",
            (owner, project)))
        return dict(rows[0]) if rows else None

    def rollback_target(self, project: str, *, owner: str = "local") -> str | None:
        """The run a :meth:`rollback` of ``project`` would put back in production, or None."""
        _owner(owner)
        _project(project)
        with closing(self._connect()) as con:
            target = _rolled_back(_replay(self._log(con, owner, project)))
        return target[-1] if target else None

    def promotions(self, project: str, *, owner: str = "local") -> list[dict[str, Any]]:
        """Every production change of ``project``, newest first.

        Returns
        -------
        list of dict
            ``time`` (ISO, UTC), ``action`` ("promote", "rollback" or "demote"), ``run_id`` (in
            production after the change; None after a demotion), ``previous_run_id`` (before
            it), ``who`` and ``note``.
        """
        _owner(owner)
        _project(project)
        return [dict(row) for row in self._rows(
            "SELECT time, action, run_id, previous_run_id, who, note FROM promotions "
            "WHERE owner = ? AND project = ? ORDER BY id DESC", (owner, project))]

    def projects(self, *, owner: str = "local") -> list[str]:
        """The owner's projects, the one with the newest run first."""
        _owner(owner)
        return [row["project"] for row in self._rows(
            "SELECT project FROM runs WHERE owner = ? GROUP BY project "
            "ORDER BY MAX(created) DESC, project", (owner,))]

    # ---- reading ----------------------------------------------------------------------
    def list_runs(self, *, owner: str = "local") -> list[dict[str, Any]]:
        """The owner's runs, newest first (without recipes and leaderboards; see :meth:`get`).

        Each run has its ``project`` and ``production`` (True for the production run of its
        project).
        """
        _owner(owner)
        columns = ", ".join(f"r.{c}" for c in _LIST_COLUMNS if c != "production")
        sql = (f"SELECT {columns}, p.run_id IS NOT NULL AS production FROM {_RUNS_WITH_PRODUCTION} "
               "WHERE r.owner = ? ORDER BY r.created DESC, r.rowid DESC")
        return [self._as_dict(row, _LIST_COLUMNS) for row in self._rows(sql, (owner,))]

    def get(self, run_id: str, *, owner: str = "local") -> dict[str, Any]:
        """Everything stored about one of the owner's runs (``production`` included)."""
        out = self._as_dict(self._row(run_id, owner))
        out.pop("owner", None)
        return out

    def load_model(self, run_id: str, *, owner: str = "local") -> tuple[Any, dict[str, Any]]:
        """The fitted model and model card of one of the owner's runs.

        Loads only the bundle tabwright wrote into this workspace (joblib runs code while
        loading, so nothing from outside is ever loaded).
        """

        folder = self._bundle(run_id, owner)
        if not (folder / "model.joblib").is_file():
            raise TabwrightError(f"The model files of run {run_id!r} are missing from {str(folder)!r}.",
                                 "Train the model again from its recipe.")
        return load_bundle(folder)

    def card(self, run_id: str, *, owner: str = "local") -> dict[str, Any]:
        """The model card of one of the owner's runs, read as JSON (nothing is unpickled)."""
        path = self._bundle(run_id, owner) / "model.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise TabwrightError(f"The model card of run {run_id!r} is missing or damaged.",
                                 "Train the model again from its recipe.") from None

    def _bundle(self, run_id: str, owner: str) -> Path:
        row = self._row(run_id, owner)
        folder = (self.workspace / row["bundle_path"]).resolve()
        if folder.parent != self.runs_dir.resolve() or folder.name != run_id:
            raise TabwrightError(f"The model of run {run_id!r} is not stored in this workspace.",
                                 "Train the model again; only bundles tabwright wrote are loaded.")
        return folder

    def compare(self, a: str, b: str, *, owner: str = "local") -> dict[str, Any]:
        """What changed from run ``a`` to run ``b``: the recipe, and every shared score.

        Returns
        -------
        dict
            ``a``, ``b`` (run summaries), ``same_data`` (same fingerprint), ``recipe_changes``
            (:func:`core.recipe.diff`: ``[{"path", "old", "new"}]``), ``metrics``
            (``[{"name", "kind": "cv" or "test", "a", "b", "change", "better"}]``, where
            ``better`` says whether ``b`` improved on ``a`` in the metric's direction) and
            ``summary`` (one sentence).
        """
        run_a, run_b = self.get(a, owner=owner), self.get(b, owner=owner)
        changes = diff(Recipe.from_dict(run_a["recipe"]), Recipe.from_dict(run_b["recipe"]))
        metrics = []
        if run_a["metric"] == run_b["metric"]:
            metrics.append(_metric_change(run_a["metric"], "cv", run_a["cv_mean"], run_b["cv_mean"]))
        for name, value in run_a["test_metrics"].items():
            if name in run_b["test_metrics"]:
                metrics.append(_metric_change(name, "test", value, run_b["test_metrics"][name]))
        main = next((m for m in metrics if m["kind"] == "test" and m["name"] == run_b["metric"]), None)
        if main and main["change"] is not None:
            verdict = ("better" if main["better"] else "worse" if main["better"] is False else "the same")
            summary = (f"Test {main['name']} went from {main['a']:.4g} to {main['b']:.4g} "
                       f"({verdict}) with {len(changes)} recipe change(s).")
        else:
            summary = f"{len(changes)} recipe change(s); the runs share no comparable test score."
        if run_a["fingerprint"] != run_b["fingerprint"]:
            summary += " The runs used different data, so scores are not directly comparable."
        keep = ("run_id", "created", "data_name", "model_label", "metric", "cv_mean", "cv_std",
                "hypothesis", "note")
        return {"a": {k: run_a[k] for k in keep}, "b": {k: run_b[k] for k in keep},
                "same_data": run_a["fingerprint"] == run_b["fingerprint"],
                "recipe_changes": changes, "metrics": metrics, "summary": summary}


def _change(con: sqlite3.Connection, owner: str, project: str, action: str, run_id: str | None,
            previous: str | None, who: str, note: str) -> dict[str, Any]:
    """Log one production change and apply it, inside the caller's transaction."""
    time = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    logged = con.execute(
        "INSERT INTO promotions (owner, project, time, action, run_id, previous_run_id, who, note) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (owner, project, time, action, run_id, previous, who, note))
    if run_id is None:
        con.execute("DELETE FROM production WHERE owner = ? AND project = ?", (owner, project))
    else:
        con.execute("INSERT INTO production (owner, project, run_id, promotion_id) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (owner, project) DO UPDATE SET run_id = excluded.run_id, "
                    "promotion_id = excluded.promotion_id", (owner, project, run_id, logged.lastrowid))
    return {"time": time, "action": action, "run_id": run_id, "previous_run_id": previous,
            "who": who, "note": note, "project": project}


def _replay(log: list[tuple[str, str | None]]) -> list[str | None]:
    """The production stack the log leads to: its top is in production now (None: nothing).

    A promotion pushes its run, a demotion pushes None, a rollback pops back to the run below.
    """
    stack: list[str | None] = []
    for action, run_id in log:
        stack = _rolled_back(stack) if action == "rollback" else [*stack, run_id]
    return stack


def _rolled_back(stack: list[str | None]) -> list[str | None]:
    """The stack after a rollback: the current entry gone, and any "nothing in production" under it."""
    rest = stack[:-1]
    while rest and rest[-1] is None:
        rest = rest[:-1]
    return rest


def _metric_change(name: str, kind: str, a: Any, b: Any) -> dict[str, Any]:
    if a is None or b is None:
        return {"name": name, "kind": kind, "a": a, "b": b, "change": None, "better": None}
    change = b - a
    greater = METRICS[name].greater_is_better if name in METRICS else _greater_guess(name)
    better = None if change == 0 or greater is None else (change > 0) == greater
    return {"name": name, "kind": kind, "a": a, "b": b, "change": change, "better": better}


def _greater_guess(name: str) -> bool | None:
    """Direction of test metrics outside the training list (precision_macro, max_error, ...)."""
    lowered = name.lower()
    if any(word in lowered for word in ("error", "loss", "mse", "mae", "davies")):
        return False
    if any(word in lowered for word in ("precision", "recall", "f1", "accuracy", "auc", "r2",
                                        "silhouette", "calinski", "mcc")):
        return True
    return None


# ---- in words, for display ----------------------------------------------------------------
PRODUCTION_BADGE = "🏆 production"
_CHANGE_WORDS = {"promote": "promoted", "rollback": "rolled back", "demote": "taken out"}


def run_time(created: str) -> str:
    """When a run was created, to the second (UTC), as a person reads it.

    >>> run_time("2024-05-01T12:03:04.123456+00:00")
    '2024-05-01 12:03:04'
    """
    return created[:19].replace("T", " ")


def run_label(run: dict[str, Any]) -> str:
    """One line naming a run of :meth:`RunStore.list_runs`: when, the model, its main score.

    The score is the test score of the run's metric, else its cross-validated score.

    >>> run_label({"created": "2024-05-01T12:03:04+00:00", "model_label": "Decision tree",
    ...            "metric": "roc_auc", "test_metrics": {"roc_auc": 0.81234}})
    '2024-05-01 12:03:04 · Decision tree · test roc_auc 0.8123'
    """
    metric = run["metric"]
    test = (run.get("test_metrics") or {}).get(metric)
    score = f"test {metric} {test:.4f}" if test is not None else f"CV {metric} {_score(run.get('cv_mean'))}"
    return f"{run_time(run['created'])} · {_short(run['model_label'])} · {score}"


def run_summary(run: dict[str, Any]) -> str:
    """The model of a run and its cross-validated score, in one line.

    >>> run_summary({"model_label": "Decision tree", "metric": "roc_auc", "cv_mean": 0.8,
    ...              "cv_std": 0.0123})
    'Decision tree — CV roc_auc 0.8000 ± 0.0123'
    """
    spread = f" ± {run['cv_std']:.4f}" if run.get("cv_std") is not None else ""
    return f"{run['model_label']} — CV {run['metric']} {_score(run.get('cv_mean'))}{spread}"


def history_table(runs: list[dict[str, Any]], *, current: str | None = None) -> pd.DataFrame:
    """The runs of :meth:`RunStore.list_runs` as one table, one row per run.

    Parameters
    ----------
    runs : list of dict
    current : str, optional
        The run id of the project's model, marked "◀ current".

    Returns
    -------
    DataFrame
        When (UTC), Production ("🏆 production" for the production run of its project), Model,
        Hypothesis, Note, Test, CV, ± std, Metric, Duration (s), Data.
    """
    rows = []
    for run in runs:
        metric = run["metric"]
        rows.append({
            "When (UTC)": run_time(run["created"]) + ("  ◀ current" if run["run_id"] == current else ""),
            "Production": PRODUCTION_BADGE if run.get("production") else "",
            "Model": _short(run["model_label"]),
            "Hypothesis": run.get("hypothesis") or "",
            "Note": run.get("note") or "",
            "Test": (run.get("test_metrics") or {}).get(metric),
            "CV": run.get("cv_mean"),
            "± std": run.get("cv_std"),
            "Metric": metric_label(metric),
            "Duration (s)": run.get("duration"),
            "Data": f"{run['data_name']} · {run['fingerprint'][:8]}",
        })
    return pd.DataFrame(rows)


def promotions_table(entries: list[dict[str, Any]], runs: list[dict[str, Any]]) -> pd.DataFrame:
    """The production log of :meth:`RunStore.promotions` as a table, newest first.

    Parameters
    ----------
    entries : list of dict
    runs : list of dict
        The owner's runs (:meth:`RunStore.list_runs`), to name each run by :func:`run_label`.

    Returns
    -------
    DataFrame
        When (UTC), Change (promoted, rolled back, taken out), In production (the run after the
        change, "—" for none), Before, Who, Why.
    """
    labels = {run["run_id"]: run_label(run) for run in runs}

    def name(run_id: str | None) -> str:
        return "—" if run_id is None else labels.get(run_id, run_id)

    return pd.DataFrame([{
        "When (UTC)": run_time(e["time"]), "Change": _CHANGE_WORDS[e["action"]],
        "In production": name(e["run_id"]), "Before": name(e["previous_run_id"]),
        "Who": e["who"], "Why": e["note"],
    } for e in entries], columns=["When (UTC)", "Change", "In production", "Before", "Who", "Why"])


def comparison_tables(comparison: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The scores and the recipe changes of :meth:`RunStore.compare`, as two tables.

    Returns
    -------
    scores : DataFrame
        Score (CV or Test, and the metric's label), A, B, Change, and "B is" (better, worse, —).
    changes : DataFrame
        Setting, A, B: each changed recipe setting with its values in words (empty when the
        recipes are the same).
    """
    scores = pd.DataFrame([{
        "Score": f"{'CV' if m['kind'] == 'cv' else 'Test'} {metric_label(m['name'])}",
        "A": m["a"], "B": m["b"], "Change": m["change"],
        "B is": {True: "✅ better", False: "❌ worse", None: "—"}[m["better"]],
    } for m in comparison["metrics"]])
    changes = pd.DataFrame([{"Setting": c["path"], "A": _setting(c["old"]), "B": _setting(c["new"])}
                            for c in comparison["recipe_changes"]], columns=["Setting", "A", "B"])
    return scores, changes


def _short(label: str, limit: int = 40) -> str:
    """A model label that fits a table cell (ensembles list every member)."""
    return label if len(label) <= limit else label[:limit - 1].rstrip(" ,×") + "…"


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _setting(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)
