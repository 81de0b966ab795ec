"""Run history: every trained run, its recipe, scores and model bundle, in one sqlite file.

The workspace is ``$TABWRIGHT_WORKSPACE`` (default ``~/.tabwright``): ``runs.sqlite`` holds one
row per run and ``runs/<run_id>/`` the bundle :func:`core.deliver._export.write_bundle` wrote. Each run
belongs to an ``owner``; every read filters by owner, and a run of another owner is reported
exactly like a run that does not exist, so nobody learns that it does.

sqlite runs in WAL mode (readers do not block the writer) and every call opens its own
connection, so the store can be shared by Streamlit's many script threads.

Models are loaded with joblib, which runs code: :meth:`RunStore.load_model` only loads bundles
that tabwright itself wrote into the workspace, and checks the path is inside it.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from core.deliver._export import load_bundle, write_bundle
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

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
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
    previous_run_id TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_owner ON runs (owner, created);
CREATE INDEX IF NOT EXISTS runs_by_data ON runs (owner, fingerprint, created);
"""
_LIST_COLUMNS = ("run_id", "created", "data_name", "fingerprint", "task", "target", "model",
                 "model_label", "metric", "cv_mean", "cv_std", "test_metrics", "n_train", "n_test",
                 "duration", "hypothesis", "note", "previous_run_id")
_JSON_COLUMNS = ("test_metrics", "recipe", "original_recipe", "leaderboard")


def _json(value: Any) -> str:
    return json.dumps(json_safe(value), allow_nan=False)


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
                con.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise TabwrightError(f"Cannot open the run history at {str(db)!r}: {exc}.",
                                 "Set TABWRIGHT_WORKSPACE to a folder you can write to.") from None

    # ---- connections ------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA busy_timeout=30000")
        return con

    def _rows(self, sql: str, params: tuple) -> Iterator[sqlite3.Row]:
        with closing(self._connect()) as con:
            yield from con.execute(sql, params).fetchall()

    def _row(self, run_id: str, owner: str) -> sqlite3.Row:
        _owner(owner)
        if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
            raise self._unknown(run_id)
        rows = list(self._rows("SELECT * FROM runs WHERE run_id = ? AND owner = ?", (run_id, owner)))
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
        return out

    # ---- writing ----------------------------------------------------------------------
    def record(self, result: TrainResult, *, data_name: str, hypothesis: str = "", owner: str = "local") -> str:
        """Store a finished run and write its bundle; returns the new run id.

        ``previous_run_id`` is the owner's latest earlier run on the same data (same
        fingerprint), so a run can be compared with the one before it.
        """

        _owner(owner)
        _text("hypothesis", hypothesis)
        now = datetime.now(timezone.utc)
        run_id = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        bundle = self.runs_dir / run_id
        write_bundle(result, bundle, data_name=data_name)
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
            "bundle_path": str(bundle.relative_to(self.workspace)),
        }
        try:
            with closing(self._connect()) as con:
                con.execute("BEGIN IMMEDIATE")
                try:
                    previous = con.execute(
                        "SELECT run_id FROM runs WHERE owner = ? AND fingerprint = ? "
                        "ORDER BY created DESC, rowid DESC LIMIT 1", (owner, result.fingerprint)).fetchone()
                    values["previous_run_id"] = previous["run_id"] if previous else None
                    columns = ", ".join(values)
                    marks = ", ".join("?" for _ in values)
                    con.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", tuple(values.values()))
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            shutil.rmtree(bundle, ignore_errors=True)
            raise TabwrightError(f"The run could not be saved to the history: {exc}.",
                                 "Check the workspace folder is writable and not full.") from None
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

    # ---- reading ----------------------------------------------------------------------
    def list_runs(self, *, owner: str = "local") -> list[dict[str, Any]]:
        """The owner's runs, newest first (without recipes and leaderboards; see :meth:`get`)."""
        _owner(owner)
        sql = (f"SELECT {', '.join(_LIST_COLUMNS)} FROM runs WHERE owner = ? "
               "ORDER BY created DESC, rowid DESC")
        return [self._as_dict(row, _LIST_COLUMNS) for row in self._rows(sql, (owner,))]

    def get(self, run_id: str, *, owner: str = "local") -> dict[str, Any]:
        """Everything stored about one of the owner's runs."""
        out = self._as_dict(self._row(run_id, owner))
        out.pop("owner", None)
        return out

    def load_model(self, run_id: str, *, owner: str = "local") -> tuple[Any, dict[str, Any]]:
        """The fitted model and model card of one of the owner's runs.

        Loads only the bundle tabwright wrote into this workspace (joblib runs code while
        loading, so nothing from outside is ever loaded).
        """

        row = self._row(run_id, owner)
        folder = (self.workspace / row["bundle_path"]).resolve()
        runs = self.runs_dir.resolve()
        if folder.parent != runs or folder.name != run_id:
            raise TabwrightError(f"The model of run {run_id!r} is not stored in this workspace.",
                                 "Train the model again; only bundles tabwright wrote are loaded.")
        if not (folder / "model.joblib").is_file():
            raise TabwrightError(f"The model files of run {run_id!r} are missing from {str(folder)!r}.",
                                 "Train the model again from its recipe.")
        return load_bundle(folder)

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
        When (UTC), Model, Hypothesis, Note, Test, CV, ± std, Metric, Duration (s), Data.
    """
    rows = []
    for run in runs:
        metric = run["metric"]
        rows.append({
            "When (UTC)": run_time(run["created"]) + ("  ◀ current" if run["run_id"] == current else ""),
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
