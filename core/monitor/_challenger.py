"""Champion vs challenger: retrain the production model's recipe on new data, keep the better one.

:func:`challenge` trains a *challenger* with the champion's own recipe on new labelled data,
holding back the most recent rows, then scores both models on exactly those rows with the
champion's metric. A paired bootstrap over the rows says whether the difference is beyond
noise. The challenger wins when it is better by at least a margin *and* beyond noise.

:func:`retrain` wraps it for a scheduler (``tabwright retrain``) and the Use page: it records
the challenger in the run history, promotes it when it wins, and returns an exit code.
Promoting by hand, with a person's reason, is :meth:`core.deliver._history.RunStore.promote`.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.deliver._bundle import load_bundle
from core.deliver._history import RunStore, is_run_id, project_name
from core.deliver._predict import _align_labels
from core.deliver._schema import validate_input
from core.errors import TabwrightError
from core.formatting import json_safe
from core.metrics import greater_is_better, metric_label, score
from core.recipe import Recipe
from core.run import CancelToken, Progress, ProgressCallback, TrainResult, fingerprint
from core.train import train
from core.train._runner import _class_scores

BOOTSTRAP_RESAMPLES = 1_000
"""Paired resamples of the scored rows behind the 95% interval of the difference."""
BOOTSTRAP_SEED = 0
"""The resamples are the same on every run, so the same data gives the same decision."""
MIN_SCORED_ROWS = 50
"""At least this many recent rows are scored (when the data has twice as many)."""
MIN_LABELLED_ROWS = 40
"""Fewer labelled rows cannot train a challenger and score it."""
EXIT_PROMOTED = 0
""":func:`retrain`'s exit code when the challenger won (and was promoted, unless asked not to)."""
EXIT_KEPT = 4
""":func:`retrain`'s exit code when the champion stays: not a failure, nothing changed."""
_TRAINING_SHARE = 0.9  # of the progress bar; scoring and the bootstrap take the rest


@dataclass
class Challenge:
    """The outcome of :func:`challenge`: both scores on the same recent rows, and a decision.

    Attributes
    ----------
    metric : str
        The champion's metric (see :mod:`core.metrics`).
    champion_score, challenger_score : float
        Each model's score on the held-out recent rows (NaN when it cannot be computed).
    difference : float
        ``challenger_score - champion_score``, in the metric's units (for an error metric a
        negative difference means the challenger is better).
    interval : tuple of float
        The 95% paired-bootstrap interval of the difference.
    beyond_noise : bool
        Whether the interval excludes 0 (on either side).
    margin : float
        How much better (in the metric's units) the challenger had to be.
    decision : str
        "promote" (the challenger won) or "keep" (the champion stays).
    reason : str
        What the numbers mean, in plain words.
    rows_scored, rows_trained : int
        Recent rows both models were scored on; rows the challenger was given to train on.
    held_out : str
        Which rows were scored, in words ("the 120 most recent rows by 'date' (from 2024-03-02)").
    notices : list of str
        What checking the recent rows against the champion's input schema found.
    challenger : TrainResult
        The challenger itself (left out of :meth:`to_dict`).
    """

    metric: str
    champion_score: float
    challenger_score: float
    difference: float
    interval: tuple[float, float]
    beyond_noise: bool
    margin: float
    decision: str
    reason: str
    rows_scored: int
    rows_trained: int
    held_out: str
    notices: list[str]
    challenger: TrainResult = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the challenger model, as JSON-safe data (NaN becomes None)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "challenger"}
        out["metric_label"] = metric_label(self.metric)
        out["greater_is_better"] = greater_is_better(self.metric)
        return json_safe(out)

    def numbers(self) -> str:
        """The comparison in one line: "ROC-AUC 0.861 vs 0.842 (+0.019, 95% CI +0.004…+0.034)"."""
        fmt = _formatter(self.champion_score, self.challenger_score)
        low, high = self.interval
        return (f"{metric_label(self.metric)} {fmt(self.challenger_score)} vs {fmt(self.champion_score)} "
                f"({fmt(self.difference, True)}, 95% CI {fmt(low, True)}…{fmt(high, True)})")


@dataclass
class _Predictions:
    """One model's predictions on the scored rows, ready for :func:`core.metrics.score`."""

    y: np.ndarray
    values: np.ndarray
    task: str
    classes: np.ndarray | None = None
    has_proba: bool = True
    threshold: float | None = None

    def score(self, metric: str, rows: np.ndarray | None = None) -> float:
        pick = slice(None) if rows is None else rows
        return score(metric, self.y[pick], self.values[pick], task=self.task, classes=self.classes,
                     has_proba=self.has_proba, threshold=self.threshold)


def challenge(champion_model: Any, champion_card: dict[str, Any], frame: pd.DataFrame, *,
              margin: float = 0.0, recent: float = 0.2, progress: ProgressCallback | None = None,
              cancel: CancelToken | None = None, started: float | None = None) -> Challenge:
    """Train a challenger with the champion's recipe on new data and compare them fairly.

    The most recent ``recent`` share of the labelled rows (at least :data:`MIN_SCORED_ROWS`
    when the data has twice as many) is held back: the latest by the recipe's time column when
    it has one (rows with no readable time count as oldest), else the last rows of the file.
    The challenger trains on the rest with :func:`core.train.train`; then both models are scored
    on the held-back rows with the champion's metric, and a paired bootstrap
    (:data:`BOOTSTRAP_RESAMPLES` resamples of those rows, fixed seed) gives a 95% interval of
    challenger − champion.

    Parameters
    ----------
    champion_model : estimator
        The fitted champion (as :func:`core.deliver._bundle.load_bundle` returns it).
    champion_card : dict
        Its model card: the recipe, task, metric, classes, threshold and input schema.
    frame : DataFrame
        New data with the target filled in (rows without it are left out).
    margin : float, default=0.0
        How much better the challenger must be, in the metric's units and direction
        (0.01 of ROC-AUC; 500 of RMSE means 500 lower).
    recent : float, default=0.2
        The share of the newest rows held back for scoring, between 0 and 1.
    progress, cancel, started
        As for :func:`core.train.train`; training fills the first 90% of the progress.

    Returns
    -------
    Challenge
        ``decision`` is "promote" when the challenger is better by at least ``margin`` and
        the interval excludes 0 on the better side; otherwise "keep". A cancelled training
        always keeps the champion.

    Raises
    ------
    TabwrightError
        A clustering champion, a missing target or time column, too few labelled rows, or
        recent rows with classes a model never saw.
    """
    started = time.monotonic() if started is None else started
    report = progress or (lambda p: None)
    if not _is_number(margin) or margin < 0:
        raise TabwrightError(f"`margin` must be a number of at least 0, got {margin!r}.",
                             "Use 0 to promote any challenger that is better beyond noise, or the "
                             "gain a change of model must be worth, e.g. 0.01.")
    if not _is_number(recent) or not 0 < recent < 1:
        raise TabwrightError(f"`recent` must be a number between 0 and 1 (both excluded), got {recent!r}.",
                             "Use a share such as 0.2 (the newest fifth of the rows).")
    recipe, task, metric = _champion_recipe(champion_card)
    target = recipe.target
    if target not in frame.columns:
        raise TabwrightError(f"The new data has no target column {target!r} to train and score on.",
                             "Add the true outcomes in that column.")
    labelled = frame[frame[target].notna()]
    older, newer, held_out = _hold_out_recent(labelled, recipe, recent)
    if task != "regression":  # before training: the champion's classes are known already
        _check_classes(newer[target], champion_card.get("classes"), "champion")

    def scaled(p: Progress) -> None:
        report(dataclasses.replace(p, fraction=_TRAINING_SHARE * p.fraction))

    challenger = train(older, recipe, progress=scaled, cancel=cancel, started=started)
    report(Progress(_TRAINING_SHARE, f"Scoring the champion and the challenger on {len(newer):,} recent rows"))
    X, notices = validate_input(newer.drop(columns=[target]), champion_card["input_schema"])
    champion = _predict(champion_model, X, newer[target], task=task, classes=champion_card.get("classes"),
                        threshold=champion_card.get("threshold"), who="champion")
    challenger_predictions = _predict(challenger.pipeline, newer[list(challenger.X_train.columns)],
                                      newer[target], task=task, classes=challenger.classes,
                                      threshold=challenger.threshold, who="challenger")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # single-class resamples: their scores are NaN and left out
        champion_score = champion.score(metric)
        challenger_score = challenger_predictions.score(metric)
        interval = _paired_bootstrap(champion, challenger_predictions, metric, cancel)
    difference = challenger_score - champion_score
    low, high = interval
    beyond_noise = bool(low > 0 or high < 0)  # False when NaN
    gain = difference if greater_is_better(metric) else -difference
    better_beyond = bool(low > 0) if greater_is_better(metric) else bool(high < 0)
    wins = not challenger.cancelled and better_beyond and gain >= margin
    outcome = Challenge(
        metric=metric, champion_score=champion_score, challenger_score=challenger_score,
        difference=difference, interval=interval, beyond_noise=beyond_noise, margin=float(margin),
        decision="promote" if wins else "keep", reason="", rows_scored=len(newer),
        rows_trained=len(older), held_out=held_out, notices=notices, challenger=challenger)
    outcome.reason = _reason(outcome, gain=gain, cancelled=challenger.cancelled)
    if (champion_card.get("training_data") or {}).get("fingerprint") == fingerprint(frame):
        seen = ("The champion was trained on this very data (the same fingerprint): it is scored "
                "on rows it has seen, which favours it; compare on rows that came in after it "
                "was trained.")
        outcome.notices.append(seen)
        outcome.reason += " " + seen
    report(Progress(1.0, "Challenger won" if wins else "Champion kept"))
    return outcome


def retrain(champion: str | Path, frame: pd.DataFrame, *, store: RunStore, data_name: str,
            margin: float = 0.0, promote: bool = True, note: str | None = None, who: str | None = None,
            owner: str = "local", recent: float = 0.2, progress: ProgressCallback | None = None,
            cancel: CancelToken | None = None, started: float | None = None) -> dict[str, Any]:
    """Challenge a champion with new data, record the challenger, and promote it when it wins.

    Parameters
    ----------
    champion : str or Path
        A run id in ``store`` (the owner's run), or a model bundle folder
        (:func:`core.deliver._bundle.load_bundle`; only bundles this workspace signed load).
    frame : DataFrame
        New labelled data.
    store : RunStore
        Where the challenger is recorded, in the champion's project: the champion run's
        project, else the card's ``project``, else :func:`project_name` of the card's data name.
    data_name : str
        The name of the new data (a file name), kept with the challenger run.
    margin, recent, progress, cancel, started
        As for :func:`challenge`.
    promote : bool, default=True
        Whether a winning challenger is promoted; with False it is only recorded, and a person
        promotes it with ``store.promote(run_id, note=...)``.
    note : str, optional
        Put before the numbers in the promotion's note.
    who, owner
        As for :meth:`RunStore.promote`.

    Returns
    -------
    dict
        JSON-safe: ``exit_code``, ``decision``, ``promoted`` (bool), ``project``,
        ``champion_run_id`` (None when unknown), ``challenger_run_id``, ``promotion`` (the log
        entry or None), ``message`` (one line) and ``challenge`` (:meth:`Challenge.to_dict`).

        ``exit_code`` is what a scheduler acts on:

        - 0 (:data:`EXIT_PROMOTED`): the challenger won; it is now the production run (with
          ``promote=False``: it is recorded and would have been promoted);
        - 4 (:data:`EXIT_KEPT`): the champion stays; the challenger is recorded all the same.

        Failures raise :class:`TabwrightError`, which the command line reports with exit code
        2; exit code 3 belongs to ``tabwright monitor`` (drift found).

    Examples
    --------
    >>> outcome = retrain("20240501-120304-a1b2c3", new_rows, store=RunStore(),
    ...                   data_name="claims-june.csv", margin=0.005)  # doctest: +SKIP
    >>> outcome["exit_code"], outcome["message"]  # doctest: +SKIP
    (0, 'Promoted the challenger 20240701-...: ROC-AUC 0.861 vs 0.842 (+0.019, 95% CI ...)')
    """
    model, card, champion_run_id, project = _champion(champion, store=store, owner=owner)
    outcome = challenge(model, card, frame, margin=margin, recent=recent, progress=progress,
                        cancel=cancel, started=started)
    against = f"run {champion_run_id}" if champion_run_id else "the champion"
    challenger_run_id = store.record(
        outcome.challenger, data_name=data_name, owner=owner, project=project,
        hypothesis=f"Challenger to {against}: its recipe retrained on {data_name}. {outcome.reason}")
    promotion = None
    if outcome.decision == "promote" and promote:
        why = f"Challenger won on {outcome.rows_scored:,} recent rows: {outcome.numbers()}"
        promotion = store.promote(challenger_run_id, note=f"{note.strip()} — {why}" if note and note.strip() else why,
                                  who=who, owner=owner)
    if outcome.decision == "promote":
        done = "Promoted" if promotion else "The challenger won; promote it by hand:"
        message = f"{done} challenger {challenger_run_id} for {project!r}: {outcome.numbers()}."
    else:
        message = f"Kept the champion for {project!r}; challenger {challenger_run_id} recorded. {outcome.reason}"
    return json_safe({
        "exit_code": EXIT_PROMOTED if outcome.decision == "promote" else EXIT_KEPT,
        "decision": outcome.decision, "promoted": promotion is not None, "project": project,
        "champion_run_id": champion_run_id, "challenger_run_id": challenger_run_id,
        "promotion": promotion, "message": message, "challenge": outcome.to_dict(),
    })


# ---- the parts ----------------------------------------------------------------------------

def _champion(champion: str | Path, *, store: RunStore, owner: str
              ) -> tuple[Any, dict[str, Any], str | None, str]:
    """The champion's model, card, run id (when known) and project."""
    if is_run_id(champion) and not Path(champion).exists():
        model, card = store.load_model(champion, owner=owner)
        return model, card, champion, store.get(champion, owner=owner)["project"]
    model, card = load_bundle(champion)
    folder = Path(champion) if Path(champion).is_dir() else Path(champion).parent
    # A bundle in the workspace's runs/ folder is that run's; newer cards also say so.
    run_id = card.get("run_id") or (folder.name if folder.resolve().parent == store.runs_dir.resolve() else None)
    project = card.get("project")
    if is_run_id(run_id):
        try:
            project = store.get(run_id, owner=owner)["project"]
        except TabwrightError:  # another workspace's or owner's run: the card decides
            pass
    else:
        run_id = None
    data_name = (card.get("training_data") or card.get("data") or {}).get("name") or "data.csv"
    return model, card, run_id, project or project_name(data_name)


def _champion_recipe(card: dict[str, Any]) -> tuple[Recipe, str, str]:
    recipe_data = card.get("recipe")
    if recipe_data is None:
        raise TabwrightError("The champion's model card has no recipe to retrain from.",
                             "Use a bundle written by tabwright (its model.json holds the recipe).")
    recipe = Recipe.from_json(recipe_data) if isinstance(recipe_data, str) else Recipe.from_dict(recipe_data)
    task = card.get("task") or recipe.task
    if task not in ("binary", "multiclass", "regression") or not recipe.target:
        raise TabwrightError("A clustering model has no target, so a challenger cannot be scored against it.",
                             "Retrain a clustering model with 'tabwright train' and compare the clusters yourself.")
    return recipe, task, card.get("metric") or recipe.effective_metric


def _hold_out_recent(labelled: pd.DataFrame, recipe: Recipe, recent: float
                     ) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The older rows (to train on), the most recent rows (to score on), and which they are."""
    n = len(labelled)
    if n < MIN_LABELLED_ROWS:
        raise TabwrightError(
            f"A challenger needs at least {MIN_LABELLED_ROWS} rows with a known {recipe.target!r}, got {n}.",
            "Collect more labelled rows, then retrain.")
    n_recent = min(max(math.ceil(n * recent), MIN_SCORED_ROWS), n // 2)
    column = recipe.split.time_column
    if not column:
        return (labelled.iloc[:n - n_recent], labelled.iloc[n - n_recent:],
                f"the last {n_recent:,} rows of the file")
    if column not in labelled.columns:
        raise TabwrightError(
            f"The champion's recipe orders rows by the time column {column!r}, which the new data lacks.",
            "Add that column, so the most recent rows can be held back for scoring.")
    times = pd.to_datetime(labelled[column], errors="coerce", format="mixed").reset_index(drop=True)
    order = times.sort_values(na_position="first", kind="stable").index.to_numpy()
    older, newer = np.sort(order[:n - n_recent]), np.sort(order[n - n_recent:])
    start = times.iloc[newer].min()
    since = "" if pd.isna(start) else f" (from {start:%Y-%m-%d}{'' if start == start.normalize() else f' {start:%H:%M}'})"
    return (labelled.iloc[older], labelled.iloc[newer],
            f"the {n_recent:,} most recent rows by {column!r}{since}")


def _predict(model: Any, X: pd.DataFrame, y: pd.Series, *, task: str, classes: list[Any] | None,
             threshold: float | None, who: str) -> _Predictions:
    if task == "regression":
        return _Predictions(y.to_numpy(dtype=float), np.asarray(model.predict(X), dtype=float), task)
    classes = _check_classes(y, classes, who)
    matrix, has_proba = _class_scores(model, X)
    as_objects = any(isinstance(c, str) for c in classes)
    return _Predictions(_align_labels(y, classes).to_numpy(), np.asarray(matrix, dtype=float), task,
                        np.asarray(classes, dtype=object if as_objects else None), has_proba, threshold)


def _check_classes(y: pd.Series, classes: list[Any] | None, who: str) -> list[Any]:
    classes = list(classes or [])
    unseen = sorted(set(y.astype(str)) - {str(c) for c in classes})
    if unseen:
        raise TabwrightError(
            f"The most recent rows have classes the {who} never saw: {', '.join(map(repr, unseen[:5]))}.",
            "Hold back fewer rows (a smaller recent share), or collect rows of that class for training.")
    return classes


def _paired_bootstrap(champion: _Predictions, challenger: _Predictions, metric: str,
                      cancel: CancelToken | None) -> tuple[float, float]:
    """The 95% interval of challenger − champion over resamples of the same rows."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    n = len(champion.y)
    differences = np.full(BOOTSTRAP_RESAMPLES, np.nan)
    for i in range(BOOTSTRAP_RESAMPLES):
        if cancel is not None and i % 100 == 0:
            cancel.check()
        rows = rng.integers(0, n, n)
        differences[i] = challenger.score(metric, rows) - champion.score(metric, rows)
    scored = differences[np.isfinite(differences)]
    if len(scored) < BOOTSTRAP_RESAMPLES // 2:
        return float("nan"), float("nan")
    low, high = np.percentile(scored, [2.5, 97.5])
    return float(low), float(high)


def _reason(c: Challenge, *, gain: float, cancelled: bool) -> str:
    label = metric_label(c.metric)
    if cancelled:
        return ("Training the challenger was cancelled before it finished, so it is not a fair "
                "challenger: the champion stays.")
    if not (math.isfinite(c.champion_score) and math.isfinite(c.challenger_score)):
        return (f"{label} could not be computed for both models on {c.held_out} (for instance a "
                "single class there), so they cannot be compared: the champion stays.")
    fmt = _formatter(c.champion_score, c.challenger_score)
    direction = "higher" if greater_is_better(c.metric) else "lower"
    scores = (f"On {c.held_out}, the challenger scored {label} {fmt(c.challenger_score)} and the "
              f"champion {fmt(c.champion_score)} ({direction} is better).")
    low, high = c.interval
    if not (math.isfinite(low) and math.isfinite(high)):
        return (f"{scores} Too few resamples of these rows could be scored to tell noise from a "
                "real difference, so the champion stays.")
    ci = f"95% interval {fmt(low, True)}…{fmt(high, True)}"
    if not c.beyond_noise:
        return (f"{scores} The difference of {fmt(c.difference, True)} is within noise (the {ci} "
                "includes 0): these rows cannot tell the models apart, so the champion stays.")
    if gain < 0:
        return (f"{scores} The challenger is worse by {fmt(-gain)}, beyond noise ({ci}): the "
                "champion stays.")
    if gain < c.margin:
        return (f"{scores} The challenger is better by {fmt(gain)}, beyond noise ({ci}), but less "
                f"than the required margin of {fmt(c.margin)}: the champion stays.")
    cleared = f", and clears the margin of {fmt(c.margin)}" if c.margin else ""
    return (f"{scores} The challenger is better by {fmt(gain)}, beyond noise ({ci} excludes 0)"
            f"{cleared}: promote the challenger.")


def _formatter(*scale: float):
    """A number format with as many decimals as the size of these scores deserves."""
    size = max((abs(v) for v in scale if math.isfinite(v)), default=0.0)
    decimals = 3 if size < 10 else 1 if size < 1_000 else 0

    def fmt(value: float, signed: bool = False) -> str:
        if not math.isfinite(value):
            return "n/a"
        return f"{value:{'+' if signed else ''},.{decimals}f}"

    return fmt


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
