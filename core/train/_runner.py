"""The train stage: split, cross-validate, tune, ensemble or stack, refit, evaluate once.

The test split is cut first and used exactly once, at the very end. Everything before that
(model comparison, tuning, ensembling, threshold tuning) uses cross-validation on the training
part, and every fold fits the whole pipeline (preparation included) on its own rows only.

Long work reports :class:`Progress` through a callback and stops at the next fit boundary when
a :class:`CancelToken` is cancelled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np
import optuna
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from core import catalogue, metrics, settings
from core.errors import Cancelled, TabwrightError
from core.estimators import BAG_FOLDS
from core.evaluate import evaluate_classifier, evaluate_regressor
from core.evaluate._costs import cheapest_threshold, threshold_counts
from core.formatting import format_number
from core.ingest import (
    describe_label_variants,
    detect_task,
    infer_roles,
    label_variants,
)
from core.prepare import (
    build_pipeline,
    estimate_encoded_features,
    plan_features,
    resolve_precision,
)
from core.recipe import ModelChoice, Recipe, Stacking
from core.run import (
    CancelToken,
    Progress,
    ProgressCallback,
    TrainResult,
    fingerprint,
)
from core.settings import Limits
from core.settings import current as current_limits
from core.train._cluster import train_clustering
from core.train._final import (
    final_model,
    finalize,
    should_finalize,
    stack_passthrough,
)
from core.train._memory import give_back_memory, mb_words
from core.train._split import (
    AUTO_SEARCH_ROWS,
    AUTO_VALIDATION_ROWS,
    check_target,
    clean_rows,
    fold_indices,
    make_cv,
    outlier_row_mask,
    split_train_test,
)
from core.train._stacking import (
    cross_fitted,
    fit_from_out_of_fold,
    meta_fold_ids,
    meta_model,
)

FEW_TEST_ROWS = 30
"""Test sets smaller than this get a note: each row moves the scores by over 3%."""

# Greedy ensemble selection: how many of the best distinct configurations it draws from, and
# at most how many draws (with replacement) it makes.
ENSEMBLE_POOL = 10
ENSEMBLE_ROUNDS = 25
# Auto mode keeps time to refit the best configuration of this many model families.
ENSEMBLE_RESERVE = 4
# Greedy rounds drawn to foresee the ensemble's members when the search is about to end
# (most members join in the first rounds; each round scores every pooled candidate).
PROVISIONAL_ROUNDS = 10
# The search ends after this many trials in a row were skipped because they would not fit in
# the time left (a skipped trial costs nothing; the sampler then proposes another).
NO_TIME_STOP = 8
# A model family whose best portfolio score is further than this share of the best model's
# gain over the baseline behind the best is not searched (see _Runner._promising).
FAR_BEHIND = 0.5


@dataclass
class Candidate:
    """One evaluated configuration: a leaderboard row plus its out-of-fold predictions."""

    model: str
    params: dict[str, Any]
    scores: dict[str, list[float]]
    fit_seconds: float
    oof: np.ndarray | None
    has_proba: bool = True
    note: str = ""
    status: str = "ok"
    members: list[tuple["Candidate", float]] | None = None
    stacking: Stacking | None = None

    @property
    def name(self) -> str:
        if self.stacking is not None:
            return "stacking"
        if self.members:
            return "ensemble"
        return self.model

    def mean(self, metric: str) -> float:
        values = [v for v in self.scores.get(metric, []) if not math.isnan(v)]
        return float(np.mean(values)) if values else float("nan")

    def std(self, metric: str) -> float:
        values = [v for v in self.scores.get(metric, []) if not math.isnan(v)]
        return float(np.std(values)) if values else float("nan")

    def row(self, metrics: tuple[str, ...]) -> dict[str, Any]:
        if self.stacking is not None:
            label = ("Stacking of " + ", ".join(catalogue.get(c.model).label for c, _ in self.members)
                     + " (a linear model on their out-of-fold predictions"
                     + (", and the inputs)" if self.stacking.passthrough else ")"))
        elif self.members:
            label = "Ensemble of " + ", ".join(f"{catalogue.get(c.model).label} ×{w:g}"
                                               for c, w in self.members)
        else:
            label = catalogue.get(self.model).label
        row: dict[str, Any] = {"model": self.name, "label": label, "params": _python_scalars(self.params),
                               "fit_seconds": round(self.fit_seconds, 3), "status": self.status,
                               "note": self.note}
        for metric in metrics:
            mean, std = self.mean(metric), self.std(metric)
            row[metric] = None if math.isnan(mean) else round(mean, 6)
            row[f"{metric}_std"] = None if math.isnan(std) else round(std, 6)
        return row


# ---- public entry point -----------------------------------------------------------------

class TrainWork:
    """``train(frame, recipe, **options)`` as the work of a :class:`core.train._jobs.TrainingJob`.

    Two things make a big training lighter in a worker process:

    - the frame is handed over to ``train``, not kept: the worker's copy is then released
      after the train/test split, so the worker holds the split rows, not the table as well;
    - the result's train and test rows travel back as row numbers (``pack``, in the worker)
      and are taken from the server's own frame (``restore``): same values, same dtypes,
      without pickling, piping and unpickling a second table.

    Row numbers are the frame's labels, so packing needs the default ``RangeIndex`` (what
    :func:`core.ingest._read.read_table` gives); with any other index the rows travel as before.
    """

    def __init__(self, frame: pd.DataFrame, recipe: Recipe, **options: Any) -> None:
        self.frame: pd.DataFrame | None = frame
        self.recipe = recipe
        self.options = options
        index = frame.index
        self.by_number = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1

    def __call__(self, *, progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None) -> Any:
        # In a holder: a call with ``**options`` keeps its positional arguments in a tuple
        # until it returns, which would keep the table alive through the whole training.
        return train(_HandedOver(self._hand_over()), self.recipe, progress=progress,
                     cancel=cancel, **self.options)

    def _hand_over(self) -> pd.DataFrame:
        frame, self.frame = self.frame, None
        if frame is None:
            raise RuntimeError("this training work has already run")
        return frame

    def pack(self, result: TrainResult) -> TrainResult | _PackedResult:
        """In the worker: the result with its train and test rows as row numbers."""
        if not self.by_number or not isinstance(result, TrainResult):
            return result
        fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
        rows = {}
        for name in ("X_train", "X_test", "y_train", "y_test"):
            part = fields[name]
            if isinstance(part, (pd.DataFrame, pd.Series)):
                columns = list(part.columns) if isinstance(part, pd.DataFrame) else part.name
                rows[name] = _Rows(part.index.to_numpy(), columns)
                fields[name] = None
        return _PackedResult(fields, rows)

    def restore(self, result: TrainResult | _PackedResult) -> TrainResult:
        """In the server: the packed rows taken from the server's own frame."""
        frame, self.frame = self.frame, None  # the job is over: keep no reference to the data
        if not isinstance(result, _PackedResult):
            return result
        if frame is None:
            raise RuntimeError("a packed training result needs the frame it was trained on")
        return TrainResult(**(result.fields | {name: rows.take(frame)
                                               for name, rows in result.rows.items()}))


@dataclass
class _PackedResult:
    """A :class:`TrainResult` on its way back from a worker: its fields, with the train and
    test rows as :class:`_Rows` (row numbers) instead of frames."""

    fields: dict[str, Any]
    rows: dict[str, _Rows]


class _HandedOver:
    """A frame passed to :func:`train` for it to own: ``take`` gives it once, keeping no
    reference, so ``train`` can free the table after the split (measured on 1M × 30: the
    worker then held 230 MB less through the search and the refit)."""

    __slots__ = ("frame",)

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame: pd.DataFrame | None = frame

    def take(self) -> pd.DataFrame:
        frame, self.frame = self.frame, None
        if frame is None:
            raise RuntimeError("this frame was already handed over")
        return frame


@dataclass
class _Rows:
    """Rows of the frame by number, and the column (a Series) or columns (a DataFrame)."""

    numbers: np.ndarray
    columns: Any

    def take(self, frame: pd.DataFrame) -> pd.DataFrame | pd.Series:
        if isinstance(self.columns, list):
            return frame.iloc[self.numbers, [frame.columns.get_loc(c) for c in self.columns]]
        return frame.iloc[self.numbers, frame.columns.get_loc(self.columns)]


def train(frame: pd.DataFrame, recipe: Recipe, *, inferred_roles: dict[str, str] | None = None,
          progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
          limits: Limits | None = None, threads: int | None = None,
          dask_scheduler: str | None = None, started: float | None = None,
          reserve_after: float = 0.0) -> TrainResult:
    """Train, compare and evaluate models as the recipe says.

    Parameters
    ----------
    frame : DataFrame
        The loaded data (features and target).
    recipe : Recipe
        The user's choices. ``task=None`` is inferred from the target.
    inferred_roles : dict, optional
        Column → role from the profile; computed when omitted.
    progress : callable, optional
        Called with a :class:`Progress` after every evaluated configuration.
    cancel : CancelToken, optional
        When cancelled, training stops after the current fit; the best model so far is kept
        if there is one (``result.cancelled`` is True), else :class:`Cancelled` is raised.
    limits : Limits, optional
    threads : int, optional
        Threads for numerical libraries (OpenMP/BLAS). Default ``TABWRIGHT_THREADS`` or 1:
        on a small shared machine one thread per training is fastest (HistGradientBoosting
        ran 10× slower with two threads while other work competed for the cores).
    dask_scheduler : str, optional
        Address of a Dask scheduler; cross-validation fits then run on that cluster.
        Defaults to the ``TABWRIGHT_DASK_SCHEDULER`` environment variable (the app's setting).
    started : float, optional
        ``time.monotonic()`` when the run's clock started (default: now). A caller that read
        the data for this run alone (the command line) passes when it started reading, so auto
        mode's budget covers reading too: a 5,000-column file takes seconds to read.
    reserve_after : float, optional
        Seconds of the budget the caller needs after training (the command line writes the
        bundle: reports, model files): auto mode plans to end that much earlier.

    Returns
    -------
    TrainResult
    """
    started = time.monotonic() if started is None else started
    if isinstance(frame, _HandedOver):
        frame = frame.take()
    limits = limits or current_limits()
    dask_scheduler = dask_scheduler or settings.dask_scheduler()
    cancel = cancel or CancelToken()
    report = progress or (lambda p: None)
    original = recipe.copy()
    recipe = recipe.copy()
    recipe.validate(list(frame.columns))
    if recipe.time_budget > limits.max_training_seconds:
        raise TabwrightError(
            f"The time budget must be at most {limits.max_training_seconds} s, got {recipe.time_budget:g} s.",
            "Lower the budget, or raise TABWRIGHT_MAX_TRAINING_SECONDS.",
        )
    if recipe.task == "clustering" or (recipe.task is None and not recipe.target):
        return train_clustering(frame, recipe, inferred_roles=inferred_roles, progress=report,
                                cancel=cancel, limits=limits, started=started, original=original)
    notes: list[str] = []
    frame_fingerprint = fingerprint(frame)
    columns = list(frame.columns)
    data = clean_rows(frame, recipe, notes)
    y_all = data[recipe.target]
    if recipe.task is None:
        guess = detect_task(y_all)
        recipe.task = guess.task
        notes.append(f"Task: {guess.task} — {guess.reason}")
    task = recipe.task
    if task in ("binary", "multiclass") and (variants := label_variants(pd.unique(y_all.dropna()))):
        notes.append(describe_label_variants(recipe.target, variants) + " If they mean the same, "
                     "write them one way in the data and train again.")
    metric = recipe.effective_metric
    recipe.metric = metric
    recipe.validate(columns)
    if inferred_roles is None:
        inferred_roles = {c.name: c.role for c in infer_roles(data.drop(columns=[recipe.target]))}
    plan = plan_features(data, recipe, inferred_roles)
    for column, why in plan.dropped.items():
        notes.append(f"Left out {column!r}: {why}.")
    n_features = estimate_encoded_features(plan, recipe)
    if n_features > limits.max_encoded_features:
        raise TabwrightError(
            f"The prepared data would have about {n_features:,} model inputs; the limit is "
            f"{limits.max_encoded_features:,}.",
            "Lower the one-hot level cap, use target encoding for many-level columns, drop text "
            "columns, or raise TABWRIGHT_MAX_ENCODED_FEATURES.",
        )
    y_all = check_target(y_all, task)
    _check_poisson(recipe, y_all)
    classes = np.sort(y_all.unique()) if task != "regression" else None
    X_train, X_test, y_train, y_test, split_note = split_train_test(data, plan, recipe, task)
    notes.append(split_note)
    if len(X_test) < FEW_TEST_ROWS:
        notes.append(f"The test set has only {len(X_test):,} rows: one row more or less right "
                     f"moves its scores by {1 / max(len(X_test), 1):.0%}, so read them as rough; "
                     "the cross-validation scores, over every training row, are steadier.")
    if X_train.shape[1] >= catalogue.MANY_FEATURES:
        # A copy holds each dtype's columns in one block, as read they are one block each: on
        # 5,000 columns every fit spent 0.3 s and every prediction 0.2 s gathering them.
        X_train, X_test = X_train.copy(), X_test.copy()
    precision = resolve_precision(plan, recipe, len(X_train))
    takes_float32 = recipe.auto or any(catalogue.get(m.name).float32 for m in recipe.models)
    if recipe.preparation.precision == "auto" and precision == "float32" and takes_float32:
        notes.append(
            f"Linear and neural models get their inputs as 32-bit numbers: {len(X_train):,} rows "
            f"× up to {n_features:,} prepared columns take about "
            f"{mb_words(len(X_train) * n_features * 4 / 2**20)} instead of "
            f"{mb_words(len(X_train) * n_features * 8 / 2**20)}. The precision setting on the Prepare "
            "page changes it.")
    recipe.preparation.precision = precision
    X_search, y_search = X_train, y_train
    if recipe.auto and len(X_train) > AUTO_SEARCH_ROWS:
        X_search, y_search = _sample(X_train, y_train, AUTO_SEARCH_ROWS, task, recipe.seed)
        X_search, y_search = X_search.sort_index(), y_search.sort_index()
        notes.append(f"Auto mode compared models on a {AUTO_SEARCH_ROWS:,}-row sample of the "
                     f"{len(X_train):,} training rows{' (stratified by class)' if task != 'regression' else ''}, "
                     "so more of them fit in the budget; the chosen model is refitted on the "
                     "training rows afterwards.")
    cv, cv_description = make_cv(recipe, task, y_search, n_rows=len(X_search))
    folds = list(fold_indices(cv, X_search, y_search, data, recipe))
    # From here on only the split rows are used. In a worker process (TrainWork) this was the
    # only reference to the table: letting it go frees its memory for the fits.
    del frame, data, y_all
    give_back_memory()
    threads = threads or settings.threads()
    runner = _Runner(plan=plan, recipe=recipe, task=task, metric=metric, classes=classes,
                     X=X_search, y=y_search, folds=folds, cancel=cancel, report=report,
                     started=started, notes=notes, dask_scheduler=dask_scheduler,
                     full_X=X_train, full_y=y_train)
    runner.all_rows = len(X_train) + len(X_test)
    # Poisson loss needs y >= 0 in every fit, the finalize on every row included
    runner.nonnegative = task == "regression" and bool(
        min(y_train.min(), y_test.min() if len(y_test) else 0) >= 0)
    runner.finalize_planned = should_finalize(recipe, auto=recipe.auto, rows=runner.all_rows)
    with threadpool_limits(limits=threads), warnings.catch_warnings(), _cluster(dask_scheduler):
        warnings.simplefilter("ignore")
        cancelled = False
        try:
            if recipe.auto:
                runner.run_auto(max(recipe.time_budget - reserve_after, 0.5 * recipe.time_budget))
            else:
                runner.run_chosen()
        except Cancelled:
            cancelled = True
            if not runner.usable():
                raise
        best = runner.choose_best()
        runner.report_progress(0.92, "Refitting the best model on all training rows")
        give_back_memory()  # before the run's biggest allocation
        threshold = runner.tune_threshold(best)
        pipeline = runner.refit(best, threshold)
        train_score = runner.train_score(pipeline, best)

    if task == "regression":
        evaluation = evaluate_regressor(pipeline, X_test, y_test)
    else:
        evaluation = evaluate_classifier(pipeline, X_test, y_test, threshold=threshold,
                                         positive_label=classes[1] if task == "binary" else None)
        if runner.threshold_counts is not None:
            evaluation["validation_threshold_counts"] = runner.threshold_counts
    resolved = runner.resolved_recipe(best, threshold)
    board = runner.leaderboard()
    result = TrainResult(
        recipe=resolved, original_recipe=original, task=task, metric=metric, plan=plan,
        classes=None if classes is None else [_scalar(c) for c in classes],
        leaderboard=board, best=best.name, pipeline=pipeline, threshold=threshold,
        evaluation=evaluation, notes=notes, n_train=len(X_train), n_test=len(X_test),
        seconds=time.monotonic() - started, fingerprint=frame_fingerprint,
        X_test=X_test, y_test=y_test, X_train=X_train, y_train=y_train,
        cv_description=cv_description, train_score=train_score,
        noise_note=runner.noise_note(), cancelled=cancelled,
        validation_predictions=None if best.oof is None else best.oof[runner._covered],
        validation_proba=best.has_proba,
    )
    if runner.finalize_planned and not cancelled:
        if runner.finalize_affordable():
            runner.report_progress(0.96, "Refitting the chosen model on every row (finalize)")
            result = finalize(result, threads=threads)
            result.seconds = time.monotonic() - started
        else:
            notes.append("The model was not refitted on every row: that would overrun the time "
                         "budget. Refit it on the Export page, or train with finalize on.")
    report(Progress(1.0, "Done", best=board[0] if board else None, leaderboard=board))
    return result


def _check_poisson(recipe: Recipe, y: pd.Series) -> None:
    """Refuse chosen models that all use Poisson loss on a target that has a negative value,
    or is all zero: every fit would fail, and the baseline would be delivered in their place.
    (With another model beside them, they fail as leaderboard rows and it competes; auto
    mode tries Poisson loss only where it suits, see ``catalogue.skewed_target``.)"""
    if recipe.auto or recipe.task != "regression":
        return
    models = [c for c in recipe.models if c.name != "dummy"]
    poisson = [catalogue.get(c.name).label for c in models
               if (c.params or {}).get("loss") == "poisson"]
    if not poisson or len(poisson) < len(models):
        return
    negative = int((y < 0).sum())
    if negative or not (y > 0).any():
        found = (f"{negative:,} negative value{'s' if negative > 1 else ''} (the smallest {format_number(y.min())})"
                 if negative else "only zeros")
        raise TabwrightError(
            f"{poisson[0]} uses Poisson loss, which needs a target that is never negative and "
            f"not all zero; {recipe.target!r} has {found}.",
            "Remove \"loss\": \"poisson\" from its settings in the recipe (squared error is "
            "the default), or train in auto mode, which tries Poisson loss only where it suits.")


# ---- data preparation before any fit ----------------------------------------------------


# ---- fitting and scoring ----------------------------------------------------------------

def _fit_predict_fold(pipeline: Any, X: pd.DataFrame, y: pd.Series, train_idx: np.ndarray,
                      valid_idx: np.ndarray, *, task: str, recipe: Recipe, max_rows: int | None,
                      classes: Any = None) -> tuple[np.ndarray, float, bool]:
    X_fit, y_fit = X.iloc[train_idx], y.iloc[train_idx]
    keep = outlier_row_mask(X_fit, recipe)
    if not keep.all():
        X_fit, y_fit = X_fit[keep], y_fit[keep]
    if max_rows and len(X_fit) > max_rows:
        X_fit, y_fit = _sample(X_fit, y_fit, max_rows, task, recipe.seed)
    started = time.perf_counter()
    pipeline.fit(X_fit, y_fit)
    seconds = time.perf_counter() - started
    X_valid = X.iloc[valid_idx]
    if task == "regression":
        return pipeline.predict(X_valid), seconds, True
    scores, has_proba = _class_scores(pipeline, X_valid, classes)
    return scores, seconds, has_proba


def _class_scores(model: Any, X: pd.DataFrame, classes: Any = None) -> tuple[np.ndarray, bool]:
    """A (rows × classes) matrix: probabilities when the model has them, else decision scores.

    With ``classes`` (every class of the run), a model that never saw some of them (a class
    with a row or two, all in this fold's validation part) gets a column for each: probability
    0, or a decision score below every other.
    """
    has_proba = False
    if hasattr(model, "predict_proba"):
        try:
            scores, has_proba = model.predict_proba(X), True
        except AttributeError:
            pass
    if not has_proba:
        scores = model.decision_function(X)
        if scores.ndim == 1:
            scores = np.column_stack([-scores, scores])
    seen = getattr(model, "classes_", None)
    if classes is None or seen is None or len(seen) == len(classes):
        return scores, has_proba
    column = {c: j for j, c in enumerate(classes)}
    out = np.full((scores.shape[0], len(classes)),
                  0.0 if has_proba else float(np.min(scores, initial=0.0)) - 1.0)
    out[:, [column[c] for c in seen]] = scores
    return out, has_proba


def _round_up(seconds: float) -> int:
    """A budget suggestion: seconds rounded up to a tidy number (10 s, or 60 s past 5 min)."""
    step = 60 if seconds > 300 else 10
    return int(math.ceil(seconds / step) * step)


def _sample(X: pd.DataFrame, y: pd.Series, n: int, task: str, seed: int):
    stratify = y if task != "regression" and y.value_counts().min() >= 2 else None
    X_s, _, y_s, _ = train_test_split(X, y, train_size=n, random_state=seed, stratify=stratify)
    return X_s, y_s


class _Runner:
    """Holds the state of one training run: candidates, timing, and progress reporting."""

    def __init__(self, *, plan, recipe, task, metric, classes, X, y, folds, cancel, report,
                 started, notes, dask_scheduler, full_X=None, full_y=None):
        self.plan, self.recipe, self.task, self.metric = plan, recipe, task, metric
        self.classes, self.X, self.y, self.folds = classes, X, y, folds
        # The rows the final model is refitted on (all training rows); ``X`` may be a sample.
        self.full_X = X if full_X is None else full_X
        self.full_y = y if full_y is None else full_y
        self.budget: float | None = None
        self.cancel, self.report, self.started, self.notes = cancel, report, started, notes
        self.dask_scheduler = dask_scheduler
        self.candidates: list[Candidate] = []
        self.metrics = metrics.leaderboard_metrics(task)
        if metric not in self.metrics:
            self.metrics = (metric,) + self.metrics
        # What candidates are ranked, searched and blended on: the recipe's rank_metric (a
        # resolved auto recipe's), else in auto mode log loss for multiclass accuracy (see
        # metrics.ranking_metric); a user's own models are ranked on their metric.
        self.rank = metrics.ranking_metric(metric, task, auto=recipe.auto,
                                           chosen=recipe.rank_metric)
        if self.rank not in self.metrics:
            self.metrics = self.metrics + (self.rank,)
        self.y_np = y.to_numpy()
        self.fraction = 0.0
        self.forced: Candidate | None = None
        self.deadline: float | None = None
        # Leave-one-out: one-row folds, scored together (see _fold_scores).
        self.pooled = bool(folds) and all(len(valid) == 1 for _, valid in folds)
        self._set_partition()
        # Whether every fold is scored (auto mode may score fewer on large data).
        self.all_folds = True
        self.threshold_counts: dict[str, Any] | None = None
        # Auto mode planned by count (recipe.max_trials): no choice may depend on the clock,
        # which then only caps the run (see _time_for).
        self.by_count = recipe.auto and recipe.max_trials is not None
        self.capped = False
        # Whether the run will refit on every row at the end: the search leaves time for it.
        self.finalize_planned = False
        self.all_rows = len(self.full_X)
        # The final refit's (seconds, rows), measured by refit: finalize_affordable scales it.
        self.refit_cost: tuple[float, int] = (0.0, len(self.full_X))
        # _provisional_members' answer, and the number of candidates it was computed on.
        self._provisional: tuple[int, list[Candidate]] = (-1, [])
        self.nonnegative = True  # train() says whether the test rows' target is too
        # A class with one row in some fit (a fold's training part, or every training row):
        # boosting's early stopping (a stratified tenth held out) cannot split it; see evaluate.
        self.tiny_class = task in ("binary", "multiclass") and _lone_class(y, folds, self.full_y)
        self._told_tiny = False

    def _set_partition(self) -> None:
        """Repeated cross-validation predicts each row once per repeat. A candidate's
        out-of-fold prediction is then the mean of its repeats' (steadier to rank and blend
        on, as AutoGluon's repeated bagging), and its fold scores are taken on the first
        repeat's folds, which cover every row once (``partition``)."""
        n = len(self.X)
        counts = np.zeros(n, dtype=np.int64)
        self.partition = []
        for fold in self.folds:
            valid = fold[1]
            if self.partition and counts[valid].any():
                break
            self.partition.append(fold)
            counts[valid] += 1
        self.partition = self.partition if len(self.partition) < len(self.folds) else self.folds
        self.repeated = self.partition is not self.folds
        self.repeats_of = np.zeros(n, dtype=np.int64)
        for _, valid in self.folds:
            self.repeats_of[valid] += 1

    # ---- evaluation of one configuration ----
    def evaluate(self, model: str, params: dict[str, Any] | None = None, *, note: str = "") -> Candidate:
        self.cancel.check()
        spec = catalogue.get(model)
        params = dict(params or {})
        if self.tiny_class and model == "hist_gradient_boosting":
            params.setdefault(catalogue.RARE_CLASS_SAFE, True)
            if not self._told_tiny:
                self._told_tiny = True
                self.notes.append(
                    "A class has a single row among the training rows of some fit. Gradient "
                    "boosting's early stopping holds out a tenth of the rows with every class in "
                    "it, which a class of one row cannot join: such rows stay in the training "
                    f"part ({catalogue.RARE_CLASS_SAFE}).")
        max_rows = spec.max_rows if spec.large_data == "sample" else None
        self.report_progress(self.fraction, f"Cross-validating {spec.label}", model)
        pipeline = build_pipeline(self.plan, self.recipe, model, params, task=self.task)
        try:
            results = self._run_folds(pipeline, max_rows)
        except Cancelled:
            raise
        except _OutOfTime:
            cand = Candidate(model, params, {}, 0.0, None, status="stopped",
                             note="stopped: it would not finish within the time budget")
            self.candidates.append(cand)
            return cand
        except Exception as exc:  # a model failing on this data is a leaderboard row, not a crash
            cand = Candidate(model, params, {}, 0.0, None, note=f"failed: {exc}"[:300], status="failed")
            self.candidates.append(cand)
            return cand
        oof = self._empty_oof()
        seconds = 0.0
        has_proba = True
        if self.repeated:  # each row is predicted once per repeat: its prediction is their mean
            oof[self._covered] = 0.0
        for (train_idx, valid_idx), (pred, fit_s, proba) in zip(self.folds, results):
            if self.repeated:
                oof[valid_idx] += pred / self.repeats_of[valid_idx].reshape((-1,) + (1,) * (oof.ndim - 1))
            else:
                oof[valid_idx] = pred
            seconds += fit_s
            has_proba = has_proba and proba
        scores = self._fold_scores(oof, has_proba)
        if max_rows and len(self.X) > max_rows:
            note = (note + " " if note else "") + f"fitted on {max_rows:,}-row samples: {spec.cost}."
        cand = Candidate(model, params, scores, seconds / max(len(self.folds), 1), oof, has_proba, note)
        self.candidates.append(cand)
        self.report_progress(self.fraction, f"{spec.label}: {self.metric} {cand.mean(self.metric):.4f}", model)
        return cand

    def _run_folds(self, pipeline, max_rows):
        kwargs = dict(task=self.task, recipe=self.recipe, max_rows=max_rows, classes=self.classes)
        if self.dask_scheduler:  # train() opened the client and the joblib backend
            return joblib.Parallel(n_jobs=-1)(
                joblib.delayed(_fit_predict_fold)(clone(pipeline), self.X, self.y, tr, va, **kwargs)
                for tr, va in self.folds)
        results = []
        started = time.monotonic()
        for i, (train_idx, valid_idx) in enumerate(self.folds):
            self.cancel.check()
            if i and self.deadline is not None and self._has_real_model():
                if self.by_count:  # the clock only caps: stopped at the deadline, not before
                    if self._cap_reached(self.deadline):
                        raise _OutOfTime()
                else:
                    per_fold = (time.monotonic() - started) / i
                    if per_fold * (len(self.folds) - i) > self._reserve_left(self.deadline):
                        raise _OutOfTime()
            results.append(_fit_predict_fold(clone(pipeline), self.X, self.y, train_idx, valid_idx,
                                             **kwargs))
        return results

    def _empty_oof(self) -> np.ndarray:
        n = len(self.X)
        if self.task == "regression":
            return np.full(n, np.nan)
        return np.full((n, len(self.classes)), np.nan)

    def _score(self, metric, idx, pred, has_proba) -> float:
        return metrics.score(metric, self.y_np[idx], pred, task=self.task, classes=self.classes,
                             has_proba=has_proba)

    def _fold_scores(self, oof: np.ndarray, has_proba: bool) -> dict[str, list[float]]:
        """Every leaderboard metric on each validation fold's out-of-fold predictions.

        Leave-one-out's folds hold one row each, on which ROC-AUC, R² and the like are not
        defined: there the metrics are computed once, on every row's prediction together.
        """
        if self.pooled:
            rows = self._covered
            return {metric: [self._score(metric, rows, oof[rows], has_proba)]
                    for metric in self.metrics}
        return {metric: [self._score(metric, valid_idx, oof[valid_idx], has_proba)
                         for _, valid_idx in self.partition] for metric in self.metrics}

    # ---- strategies ----
    def run_chosen(self) -> None:
        r = self.recipe
        choices = r.models or [ModelChoice(n) for n in catalogue.default_models(r.task)]
        if not any(c.name == "dummy" for c in choices):
            choices = [ModelChoice("dummy")] + list(choices)
        work = [c for c in choices if self._allowed(c.name)]
        self._say_rank("As the recipe says (auto mode chose it), the models were ranked")
        for i, choice in enumerate(work):
            self.fraction = i / len(work) * 0.9
            if r.search.method == "none" or choice.name == "dummy" or not catalogue.get(choice.name).space:
                self.evaluate(choice.name, choice.params)
            else:
                self._search(choice, r.search.method, budget=(r.search.time_budget or r.time_budget)
                             / max(len(work) - 1, 1))
        if r.ensemble and r.stacking is not None:
            self._fixed_stack(work, r.stacking)
        elif r.ensemble:
            self._fixed_ensemble(work)

    def _allowed(self, model: str) -> bool:
        spec = catalogue.get(model)
        if spec.large_data == "skip" and spec.max_rows and len(self.full_X) > spec.max_rows:
            self.notes.append(f"{spec.label} skipped above {spec.max_rows:,} rows: {spec.cost}.")
            return False
        if self.recipe.brief.interpretable and not spec.interpretable:
            self.notes.append(f"{spec.label} left out: interpretability is required.")
            return False
        return True

    def _search(self, choice: ModelChoice, method: str, *, budget: float) -> None:
        """Search ``choice``'s model with ``method`` (the catalogue's grid, or its space for
        random and Optuna search), within ``budget`` seconds and ``search.trials`` settings.

        The settings the user fixed in ``choice.params`` stay fixed: only the others are
        searched, and with none left the model is evaluated once as chosen.
        """
        spec = catalogue.get(choice.name)
        grid = {k: values for k, values in spec.grid.items() if k not in choice.params}
        space = {k: dim for k, dim in spec.space.items() if k not in choice.params}
        if not (grid if method == "grid" else space):
            self.evaluate(choice.name, choice.params)
            return
        rng = np.random.default_rng(self.recipe.seed)
        deadline = time.monotonic() + budget
        if method == "grid":
            keys = list(grid)
            configs = [dict(zip(keys, values)) for values in itertools.product(*grid.values())]
            for params in configs[: self.recipe.search.trials]:
                if time.monotonic() > deadline:
                    break
                self.evaluate(choice.name, {**choice.params, **params}, note="grid search")
            return
        if method == "random":
            for _ in range(self.recipe.search.trials):
                if time.monotonic() > deadline:
                    break
                params = {k: _sample_dimension(dim, rng) for k, dim in space.items()}
                self.evaluate(choice.name, {**choice.params, **params}, note="random search")
            return
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        direction = "maximize" if metrics.greater_is_better(self.metric) else "minimize"
        study = optuna.create_study(direction=direction,
                                    sampler=optuna.samplers.TPESampler(seed=self.recipe.seed))

        def objective(trial):
            params = {k: _suggest(trial, k, dim) for k, dim in space.items()}
            value = self.evaluate(choice.name, {**choice.params, **params}, note="Optuna").mean(self.metric)
            return value if not math.isnan(value) else (-1e18 if direction == "maximize" else 1e18)

        study.optimize(objective, n_trials=self.recipe.search.trials,
                       timeout=max(budget, 1.0), catch=())

    def run_auto(self, budget: float) -> None:
        """Auto mode: a portfolio of known-good configurations, Optuna across models, an
        averaging ensemble, and a stack that is chosen only when it scores better still.

        The whole search keeps within ``budget`` seconds (refit and evaluation included) by
        reserving time for the final refit from the measured fit times.
        """
        deadline = self.started + budget
        self.deadline = deadline
        self.budget = budget
        all_folds = self.all_folds = self._narrow_folds()
        interpretable = self.recipe.brief.interpretable
        shape = self._shape()
        wide = catalogue.is_wide(len(self.X), shape["n_features"])
        if wide:
            self.notes.append(catalogue.wide_reason(len(self.X), shape["n_features"]))
        self._say_rank("Auto mode ranked, tuned and blended the models")
        if shape["skewed"] and not interpretable:
            self.notes.append("The target is never negative and skewed to the right, as counts "
                              "and amounts are: auto mode also tries gradient boosting with "
                              "Poisson loss, which fits the logarithm of the expected value.")
        allowed: dict[str, bool] = {}
        for model, params in catalogue.auto_portfolio(self.task, n_rows=len(self.X),
                                                      interpretable=interpretable, **shape):
            if self.by_count and self._trials_left() <= 0:
                break
            if model not in allowed:
                allowed[model] = self._allowed(model)
            if not allowed[model]:
                continue
            if not self._time_for(model, deadline, params):
                self.notes.append(f"{catalogue.get(model).label} ({_describe(params)}) skipped: "
                                  "not enough time left in the budget.")
                continue
            self.fraction = self._progress_fraction(budget)
            self.evaluate(model, params, note="auto portfolio" if params else "")
        linear = "logistic_regression" if self.task != "regression" else "ridge"
        if interpretable:
            pool = [linear, "decision_tree"]
        elif wide:
            pool = catalogue.wide_search_models(self.task)
            allowed.update((m, self._allowed(m)) for m in pool if m not in allowed)
        elif all_folds:
            pool = ["hist_gradient_boosting", "extra_trees", linear]
        else:
            # A forest's cost grows with trees × features × rows, and on few folds a slow trial
            # has no later fold to be stopped at: on large data forests join only the portfolio.
            pool = ["hist_gradient_boosting", linear]
        pool = [m for m in pool if allowed.get(m, False) and catalogue.get(m).space]
        pool = self._promising(pool)
        self._optuna_across(pool, deadline, budget)
        if len(self._usable()) > 2 and not interpretable:  # a blend of models is not readable
            self._try_ensemble(deadline)
            self._try_stacking(deadline)
        if self.capped:
            self.notes.append(
                f"The time budget ({budget:g} s) ran out after {self._trials_done()} of the "
                f"{self.recipe.max_trials} planned trials, so this run depends on the machine's "
                "speed: raise the budget, or plan fewer trials, for a run that repeats exactly.")

    def _say_rank(self, who: str) -> None:
        """A note when candidates are ranked by another metric than the user's."""
        if self.rank == self.metric:
            return
        self.notes.append(
            f"{who} by {metrics.metric_label(self.rank).lower()}, not "
            f"{metrics.metric_label(self.metric).lower()}, and the leaderboard is in that "
            "order. Accuracy moves by whole rows and counts a 51% and a 99% right answer "
            "alike, so among many candidates it favours the one whose folds happened to "
            "fall its way; log loss scores every probability, and the model that knows "
            "each class's chances best is right most often on new rows.")

    def _promising(self, pool: list[str]) -> list[str]:
        """The search pool without families far behind the best: a model whose best
        portfolio score closes less than ``1 - FAR_BEHIND`` of the best's gain over the
        baseline is not searched (re-tuning a ridge regression with twice boosting's error
        spent a third of a run's trials), though its portfolio candidates may still join an
        ensemble. A family not scored yet stays."""
        usable = self._usable()
        dummy = [c.mean(self.rank) for c in usable if c.model == "dummy"]
        scored = {m: [v for c in usable if c.model == m and not c.members
                      and not math.isnan(v := c.mean(self.rank))] for m in pool}
        if not dummy or not any(scored.values()):
            return pool
        greater = metrics.greater_is_better(self.rank)
        best_of = {m: (max(v) if greater else min(v)) for m, v in scored.items() if v}
        best = max(best_of.values()) if greater else min(best_of.values())
        gain = abs(best - dummy[0])
        if gain <= 0:
            return pool
        kept = [m for m in pool if m not in best_of
                or abs(best - best_of[m]) <= FAR_BEHIND * gain]
        for m in pool:
            if m not in kept:
                closed = 1 - abs(best - best_of[m]) / gain
                measured = ("" if self.rank == self.metric else
                            f" in {metrics.metric_label(self.rank).lower()}")
                how = (f"closed {closed:.0%} of the gap{measured} between the baseline and the "
                       "best model"
                       if closed >= 0 else "scored below the baseline, which ignores every input")
                self.notes.append(f"{catalogue.get(m).label} was not searched further: its best "
                                  f"setting {how}.")
        return kept or pool

    def _trials_done(self) -> int:
        """Configurations evaluated so far (ensembles and stacks not counted)."""
        return sum(1 for c in self.candidates if not c.members)

    def _trials_left(self) -> int:
        return (self.recipe.max_trials or 0) - self._trials_done()

    def _progress_fraction(self, budget: float) -> float:
        if self.by_count:
            return min(0.9, 0.9 * self._trials_done() / max(self.recipe.max_trials or 1, 1))
        return self._elapsed_fraction(budget)
    def _narrow_folds(self) -> bool:
        """On large data, score auto mode's candidates on the fewest folds that still hold
        ``AUTO_VALIDATION_ROWS`` validation rows; return whether every fold is kept.

        A fold of 5,000 rows already ranks models reliably, and five of them cost five fits:
        the time saved buys more configurations. The final model is refitted on every
        training row either way, so this changes which models are tried, not how one is fitted.
        """
        per_fold = len(self.X) / max(len(self.partition), 1)
        keep = max(1, math.ceil(AUTO_VALIDATION_ROWS / per_fold))
        if keep >= len(self.partition):
            return True
        # The last folds: for time-ordered splits they are the ones closest to the future.
        self.folds = self.folds[-keep:]
        self._set_partition()
        self.notes.append(f"Auto mode scored models on {keep} of the cross-validation folds "
                          f"({keep * per_fold:,.0f} validation rows) to try more of them "
                          "within the time budget.")
        return False

    def _shape(self) -> dict[str, Any]:
        """What auto mode's choices depend on besides the rows (see catalogue.auto_portfolio)."""
        return {"n_features": len(self.plan.features),
                "target_spread": float(self.y.std()) if self.task == "regression" else 1.0,
                "skewed": self.task == "regression" and self.nonnegative
                and catalogue.skewed_target(self.y)}

    def _optuna_across(self, pool: list[str], deadline: float, budget: float) -> None:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        shape = self._shape()
        greater = metrics.greater_is_better(self.rank)
        study = optuna.create_study(direction="maximize" if greater else "minimize",
                                    sampler=optuna.samplers.TPESampler(seed=self.recipe.seed,
                                                                       multivariate=True,
                                                                       group=True))
        def objective(trial):
            model = trial.suggest_categorical("model", pool)
            params = {k: _suggest(trial, f"{model}.{k}", dim) for k, dim in
                      catalogue.auto_space(model, task=self.task, n_rows=len(self.X),
                                           interpretable=self.recipe.brief.interpretable,
                                           **shape).items()}
            params = {k: v for k, v in params.items()
                      if k not in catalogue.SEARCH_OFF or catalogue.SEARCH_OFF[k] != v}
            if not self._time_for(model, deadline, params):
                self._no_time += 1
                raise optuna.TrialPruned()
            self._no_time = 0
            self.fraction = self._progress_fraction(budget)
            value = self.evaluate(model, params, note="auto search").mean(self.rank)
            if math.isnan(value):
                return -1e18 if greater else 1e18
            return value

        def stop_when_due(study, trial):
            # The reserve moves as candidates come in (see _reserve_left), so the search runs
            # until it is spent, or until trials keep being skipped for want of time.
            if self.cancel.cancelled or self._reserve_left(deadline) <= 0 \
                    or self._no_time >= NO_TIME_STOP:
                study.stop()

        self._no_time = 0

        if self.by_count:
            def stop_at_cap(study, trial):
                if self.cancel.cancelled or self._cap_reached(deadline):
                    study.stop()

            if self._trials_left() > 0 and pool:
                study.optimize(objective, n_trials=self._trials_left(), callbacks=[stop_at_cap],
                               catch=())
            return
        if self._reserve_left(deadline) > 0:
            study.optimize(objective, timeout=max(deadline - time.monotonic(), 0.0),
                           callbacks=[stop_when_due], catch=())

    def _reserve_left(self, deadline: float) -> float:
        """Seconds left for searching once the final refit and evaluation are paid for.

        The final model is usually an ensemble, so the reserve is at first the summed refit
        time of the best configuration of each of the best ``ENSEMBLE_RESERVE`` model families
        (the ensemble draws on different families). Near the end of the search the
        reserve is also measured against the ensemble as greedy selection would choose it now
        (with the best single model): often a few configurations of one family, cheaper to
        refit than four families, which leaves time for more of the search (unless the
        search ran on a sample of the training rows).
        """
        top = self._family_bests()[:ENSEMBLE_RESERVE]
        left = self._left_after(deadline, top)
        # Not when the search ran on a sample: there a short reserve would cost the final
        # model training rows (see _refit_rows), which matter more than a few more trials.
        if top and not self.by_count and self.budget and left < 0.25 * self.budget \
                and len(self.full_X) <= len(self.X):
            left = max(left, self._left_after(deadline, self._provisional_members()))
        return left

    def _left_after(self, deadline: float, members: list[Candidate]) -> float:
        """Seconds to the deadline once ``members`` are refitted (and finalized) and evaluated."""
        if not members:
            refit = 2.0
        else:
            planned = None if self.budget is None else self.budget / 2
            refit = self._seconds_per_refit_row(members) * self._refit_rows(members, planned)
            if self.finalize_planned:  # a second refit, on the test rows too
                refit += self._seconds_per_refit_row(members) * self.all_rows
        return deadline - time.monotonic() - refit - self._evaluate_seconds()

    def _family_bests(self) -> list[Candidate]:
        """The best configuration of each model family, best family first."""
        ranked = self._ranked(self._usable())
        top: list[Candidate] = []
        for cand in ranked:
            if not cand.members and cand.model != "dummy" and all(cand.model != c.model for c in top):
                top.append(cand)
        return top

    def _provisional_members(self) -> list[Candidate]:
        """The best single configuration and the members greedy selection would draw now,
        with no time limit (cached until a candidate is added)."""
        key = len(self.candidates)
        if self._provisional[0] != key:
            members = self._family_bests()[:1]
            pool = self._ensemble_pool()
            if len(pool) >= 2:
                counts, _ = self._greedy(pool, math.inf, rounds=PROVISIONAL_ROUNDS)
                members += [c for c, n in zip(pool, counts) if n and c is not members[0]]
            self._provisional = (key, members)
        return self._provisional[1]

    def _seconds_per_refit_row(self, members: list[Candidate]) -> float:
        """Expected refit time per training row of these candidates together, with a margin."""
        fold_rows = np.mean([len(train_idx) for train_idx, _ in self.folds])
        return sum(c.fit_seconds * self._copies(c) for c in members) / fold_rows * 1.5

    def _copies(self, cand: Candidate) -> float:
        """Refits of ``cand``'s size its final fit costs: a bagged model's copies each see
        (k-1)/k of the rows."""
        if cand.members or not catalogue.bags(self.recipe.bagging, cand.model):
            return 1.0
        return BAG_FOLDS - 1.0

    def _refit_seconds(self, cand: Candidate) -> float:
        """The expected time to refit one candidate on the planned training rows."""
        return self._seconds_per_refit_row([cand]) * self._refit_rows([cand], None)

    def _refit_rows(self, members: list[Candidate], seconds: float | None) -> int:
        """How many training rows the final refit uses: all of them, unless auto mode searched
        on a sample and refitting on all would take longer than ``seconds``; then as many as
        ``seconds`` afford, never fewer than the search sample."""
        n = len(self.full_X)
        if seconds is None or n <= len(self.X):
            return n
        per_row = self._seconds_per_refit_row(members)
        if per_row <= 0:
            return n
        return int(min(n, max(len(self.X), seconds / per_row)))

    def _evaluate_seconds(self) -> float:
        """Time kept for scoring the final model on the training sample and the test set."""
        n = len(self.full_X)
        return 0.05 * min(n, 100_000) / 1000 + 0.02 * max(n - 100_000, 0) / 1000 + 1.5

    def _has_real_model(self) -> bool:
        """Whether something better than the baseline is on the board (so stopping is safe)."""
        return any(c.model != "dummy" for c in self._usable())

    def _time_for(self, model: str, deadline: float, params: dict[str, Any] | None = None) -> bool:
        """Whether cross-validating ``model`` with ``params`` fits in the time left.

        A configuration seen before costs what it cost; new settings of a known model are
        assumed to cost up to twice its slowest fit (more trees, more rounds), and an unseen
        model twice the slowest fit so far. Erring long keeps the budget when few folds leave
        no second fold to notice an overrun.
        """
        if self.by_count:  # the clock only caps a run planned by count
            return not self._cap_reached(deadline)
        if not self._has_real_model():
            return True
        params = params or {}
        ok = [c for c in self.candidates if c.status == "ok" and c.model != "dummy"]
        same = [c.fit_seconds for c in ok if c.model == model and c.params == params]
        known = [c.fit_seconds for c in ok if c.model == model]
        if same:
            per_fold = max(same)
        elif known:
            per_fold = 2 * max(known)
        else:
            per_fold = 2 * max((c.fit_seconds for c in ok), default=0.5)
        return self._reserve_left(deadline) > per_fold * len(self.folds)

    def _cap_reached(self, deadline: float) -> bool:
        """Planned by count: whether the budget has capped the run (it stays capped)."""
        self.capped = self.capped or time.monotonic() >= deadline
        return self.capped

    def _elapsed_fraction(self, budget: float) -> float:
        return min(0.9, (time.monotonic() - self.started) / budget)

    # ---- choosing ----
    @property
    def _rank_name(self) -> str:
        """The ranking metric as messages name it: its label when it is not the user's
        metric (which they keep seeing by its name, as before)."""
        return self.metric if self.rank == self.metric else metrics.metric_label(self.rank).lower()

    def _ranked(self, candidates: Any) -> list[Candidate]:
        """``candidates`` best first by the ranking metric (those without its score last)."""
        return sorted(candidates, key=self._rank_key, reverse=metrics.greater_is_better(self.rank))

    def _rank_key(self, cand: Candidate) -> float:
        """``cand``'s ranking score for sorting, the worst possible when it has none (a
        model without probabilities has no log loss)."""
        value = cand.mean(self.rank)
        if math.isnan(value):
            return -math.inf if metrics.greater_is_better(self.rank) else math.inf
        return value

    def _usable(self) -> list[Candidate]:
        return [c for c in self.candidates if c.status == "ok" and not math.isnan(c.mean(self.metric))]

    def usable(self) -> bool:
        return bool(self._usable())

    def _best_single(self) -> Candidate | None:
        best = None
        for cand in self._usable():
            if best is None or metrics.is_better(self.rank, cand.mean(self.rank), best.mean(self.rank)):
                best = cand
        return best

    def _try_ensemble(self, deadline: float) -> None:
        """Greedy ensemble selection (Caruana et al., 2004) on out-of-fold predictions.

        Members are drawn with replacement (repeats become weights) from the best
        configurations plus the best of each model family, so a weaker but different model
        (often the linear one) can still join. A member joins only while the refit of all
        members fits in the time left.
        """
        self.report_progress(self.fraction, "Trying an ensemble of the best models")
        pool = self._ensemble_pool()
        if len(pool) < 2:
            return
        counts, total = self._greedy(pool, self._affordable(deadline))
        members = [(c, float(n)) for c, n in zip(pool, counts) if n]
        if len(members) < 2:
            return
        scores = self._fold_scores(total, True)
        fit = sum(c.fit_seconds for c, _ in members)
        ens = Candidate("ensemble", {}, scores, fit, total, True,
                        note="weighted average of the members' predictions", members=members)
        self.candidates.append(ens)

    def _ensemble_pool(self) -> list[Candidate]:
        """The distinct configurations greedy selection draws from: the ``ENSEMBLE_POOL``
        best, then the best of each model family not among them."""
        ranked = self._ranked(c for c in self._usable() if c.model != "dummy" and c.has_proba
                              and not c.members)
        unique: list[Candidate] = []
        for cand in ranked:
            if all(cand.model != u.model or cand.params != u.params for u in unique):
                unique.append(cand)
        pool = unique[:ENSEMBLE_POOL]
        for cand in unique[ENSEMBLE_POOL:]:
            if all(cand.model != c.model for c in pool):
                pool.append(cand)
        return pool

    def _greedy(self, pool: list[Candidate], affordable: float,
                rounds: int = ENSEMBLE_ROUNDS) -> tuple[list[int], np.ndarray | None]:
        """How often greedy selection draws each of ``pool`` (a member joins only while the
        refit of all members takes at most ``affordable`` seconds), and the blend."""
        counts = [0] * len(pool)
        total = None
        best_score = None
        for round_ in range(rounds):
            refit = sum(self._refit_seconds(c) for c, n in zip(pool, counts) if n)
            step_best = None
            for i, cand in enumerate(pool):
                if not counts[i] and refit + self._refit_seconds(cand) > affordable:
                    continue
                blend = cand.oof if total is None else (total * round_ + cand.oof) / (round_ + 1)
                value = self._mean_fold_score(blend)
                if step_best is None or metrics.is_better(self.rank, value, step_best[0]):
                    step_best = (value, i, blend)
            if step_best is None or (best_score is not None
                                     and not metrics.is_better(self.rank, step_best[0], best_score)):
                break
            best_score, i, total = step_best
            counts[i] += 1
        return counts, total

    def finalize_affordable(self) -> bool:
        """Whether refitting the chosen model on every row fits in the budget (always when finalize
        was asked for, and when planned by count). The final refit (``refit_cost``) measured
        the cost on this machine, now, far closer than the cross-validation's fits with their
        margin: the finalize is that, scaled to every row, and a tenth more."""
        if self.recipe.finalize == "on" or self.by_count or self.deadline is None:
            return True
        refit_seconds, refit_rows = self.refit_cost
        seconds = 1.1 * refit_seconds * self.all_rows / max(refit_rows, 1)
        return time.monotonic() + seconds <= self.deadline

    def _affordable(self, deadline: float) -> float:
        """Seconds the final refit of an ensemble or stack may take (any, planned by count)."""
        if self.by_count:
            return math.inf
        return deadline - time.monotonic() - self._evaluate_seconds()

    def _chosen_members(self, choices: list[ModelChoice]) -> list[tuple[Candidate, float]]:
        """The evaluated candidates of the models the user chose for an ensemble, with their
        weights (the baseline only when the user chose it)."""
        members: list[tuple[Candidate, float]] = []
        for choice in choices:
            if choice.name == "dummy" and not any(c.name == "dummy" for c in self.recipe.models):
                continue
            found = [c for c in self._usable() if c.model == choice.name and c.params == choice.params]
            if not found or not found[0].has_proba:
                raise TabwrightError(
                    f"{catalogue.get(choice.name).label} cannot join an ensemble here (it failed "
                    "or gives no probabilities).",
                    "Remove it from the models, or switch the ensemble off.")
            members.append((found[0], choice.weight))
        if len(members) < 2:
            raise TabwrightError("An ensemble needs at least two models, got "
                                 f"{len(members)}.", "Choose more models, or switch the ensemble off.")
        return members

    def _fixed_ensemble(self, choices: list[ModelChoice]) -> None:
        """The ensemble the user (or a resolved recipe) asked for, with its given weights."""
        members = self._chosen_members(choices)
        total_w = sum(w for _, w in members)
        blend = sum(c.oof * w for c, w in members) / total_w
        scores = self._fold_scores(blend, True)
        self.forced = Candidate("ensemble", {}, scores, sum(c.fit_seconds for c, _ in members),
                                blend, True, note="the ensemble you chose", members=members)
        self.candidates.append(self.forced)

    def _try_stacking(self, deadline: float) -> None:
        """Auto mode's stack: the averaging ensemble's members, then the best configuration of
        each other model family by score (at most ``ENSEMBLE_RESERVE`` models, while their
        refit fits in the time left), under a linear meta-model cross-fitted on the folds the
        models were scored on. (On the benchmark tables the ensemble's members stacked
        better than the family bests alone: they were chosen to complement each other.)

        It joins the leaderboard and wins only by scoring better than every other candidate,
        the averaging ensemble included — whose weights were chosen on the very predictions
        it is scored on, so a stack must beat a slightly flattered score. Auto mode stacks
        only when every fold is scored (no sample, no fewer folds: a resolved recipe then
        reproduces the meta-model) and never with time-ordered validation.
        """
        if not self.all_folds or self.recipe.split.time_column \
                or self.recipe.validation.scheme == "timeseries":
            return
        ranked = self._ranked(c for c in self._usable() if not c.members and c.model != "dummy"
                              and c.has_proba)
        ensembles = [c for c in self.candidates if c.members and c.stacking is None]
        chosen = [c for c, _ in ensembles[-1].members] if ensembles else []
        families: list[Candidate] = []
        for cand in ranked:
            if all(cand.model != m.model for m in chosen + families):
                families.append(cand)
        affordable = self._affordable(deadline)
        members: list[Candidate] = []
        for cand in chosen + families:
            if len(members) < ENSEMBLE_RESERVE and \
                    sum(self._refit_seconds(c) for c in [*members, cand]) <= affordable:
                members.append(cand)
        if len(members) < 2:
            return
        self.report_progress(self.fraction, "Trying a stack of the best models")
        self.candidates.append(self._stack(members, self.recipe.stacking or Stacking(),
                                           "a linear model on the members' out-of-fold predictions"))

    def _fixed_stack(self, choices: list[ModelChoice], stacking: Stacking) -> None:
        """The stack the user (or a resolved recipe) asked for, over the chosen models."""
        members = [c for c, _ in self._chosen_members(choices)]
        self.forced = self._stack(members, stacking, "the stack you chose")
        self.candidates.append(self.forced)

    def _stack(self, members: list[Candidate], stacking: Stacking, note: str) -> Candidate:
        """A stacking candidate over ``members``, scored by its cross-fitted meta-model."""
        rows = self._covered
        X_meta = self.X.iloc[rows] if stacking.passthrough else None
        out = cross_fitted(self._meta_model(stacking), [c.oof[rows] for c in members],
                           self.y_np[rows], meta_fold_ids(self.folds, len(self.X), rows),
                           self.task, classes=self.classes, X=X_meta)
        stacked = self._empty_oof()
        stacked[rows] = out
        return Candidate("stacking", {}, self._fold_scores(stacked, True),
                         sum(c.fit_seconds for c in members), stacked, True, note=note,
                         members=[(c, 1.0) for c in members], stacking=stacking)

    def _meta_model(self, stacking: Stacking) -> Any:
        return meta_model(self.task, seed=self.recipe.seed,
                          class_weight=self.recipe.imbalance.class_weight,
                          passthrough=stack_passthrough(self.plan, self.recipe, self.task, stacking))

    def _mean_fold_score(self, oof: np.ndarray) -> float:
        """The metric on all out-of-fold predictions at once (cheap enough to call often)."""
        covered = self._covered
        return self._score(self.rank, covered, oof[covered], True)

    @property
    def _covered(self) -> np.ndarray:
        if not hasattr(self, "_covered_rows"):
            self._covered_rows = np.unique(np.concatenate([v for _, v in self.folds]))
        return self._covered_rows

    def choose_best(self) -> Candidate:
        if self.forced is not None:
            return self.forced
        best = self._best_single()
        if best is None:
            failures = "; ".join(c.note for c in self.candidates if c.status == "failed")[:400]
            raise TabwrightError(f"No model could be trained on this data. {failures}",
                                 "Check the findings on the Explore page (e.g. a target with "
                                 "too few rows per class) and the preparation choices.")
        return best

    def tune_threshold(self, best: Candidate) -> float | None:
        if self.task != "binary":
            return None
        rows = self._covered  # auto mode may have scored on a subset of the folds
        if best.has_proba:  # kept in the result: the Evaluate page prices any costs with them
            self.threshold_counts = threshold_counts(self.y_np[rows], best.oof[rows, 1],
                                                     self.classes[1])
        if self.recipe.imbalance.threshold is not None:
            return self.recipe.imbalance.threshold
        costs = self.recipe.imbalance.costs
        if costs.stated:
            if self.threshold_counts is None:
                self.notes.append("Choosing the threshold from your costs needs probabilities; "
                                  "this model gives scores only, so it keeps its own rule.")
                return None
            threshold, cost = cheapest_threshold(self.threshold_counts, costs)
            self.notes.append(f"Decision threshold chosen for your costs on validation folds: "
                              f"{threshold:.3f} (expected cost {cost:.4g} per 1,000 decisions "
                              "there; 0.5 is the default).")
            return threshold
        if not self.recipe.imbalance.tune_threshold:
            return 0.5 if best.has_proba else None
        if not best.has_proba:
            self.notes.append("Threshold tuning needs probabilities; this model gives scores only.")
            return None
        metric = self.metric if self.metric in ("f1", "balanced_accuracy", "mcc") else "f1"
        threshold, value = metrics.best_threshold(self.y_np[rows], best.oof[rows, 1], self.classes[1],
                                                  metric=metric)
        self.notes.append(f"Decision threshold tuned on validation folds: {threshold:.3f} "
                          f"(best {metric} {value:.3f}; 0.5 is the default).")
        return threshold

    def refit(self, best: Candidate, threshold: float | None) -> Any:
        X, y = self.full_X, self.full_y
        keep = outlier_row_mask(X, self.recipe)
        if not keep.all():
            X, y = X[keep], y[keep]
            self.notes.append(f"Dropped {int((~keep).sum()):,} outlier rows from training (not from testing).")
        if self.deadline is not None and not self.by_count and len(X) > len(self.X):
            members = [c for c, _ in best.members] if best.members else [best]
            left = self.deadline - time.monotonic() - self._evaluate_seconds()
            rows = min(len(X), self._refit_rows(members, max(left, 0.0)))
            if rows < len(X):
                needed = (time.monotonic() - self.started + self._seconds_per_refit_row(members) * len(X)
                          + self._evaluate_seconds())
                self.notes.append(
                    f"The final model was refitted on {rows:,} of the {len(X):,} training rows to "
                    f"keep the {self.budget:g} s budget; a budget of about {_round_up(needed)} s "
                    "would refit it on all of them.")
                X, y = _sample(X, y, rows, self.task, self.recipe.seed)
            else:
                self.notes.append(f"The final model was refitted on all {len(X):,} training rows.")
        chosen = [c for c, _ in best.members] if best.members else [best]
        bagged = sorted({catalogue.get(c.model).label for c in chosen if self._copies(c) > 1})
        if bagged:
            self.notes.append(
                f"Bagged: {', '.join(bagged)} in the final model "
                f"{'is' if len(bagged) == 1 else 'are each'} the mean of {BAG_FOLDS} copies, "
                f"each fitted without a different 1/{BAG_FOLDS} of the {len(X):,} rows: it leans "
                "less on the chance of those rows than one fit on them all.")
        spec_rows = None if best.members else catalogue.get(best.model).max_rows
        if spec_rows and len(X) > spec_rows:
            X, y = _sample(X, y, spec_rows, self.task, self.recipe.seed)
        model = final_model(self.plan, self.recipe, self.task, best.members and
                            [(c.model, c.params, w) for c, w in best.members]
                            or [(best.model, best.params, 1.0)], threshold, stacking=best.stacking)
        started = time.monotonic()
        if best.stacking is None:
            model.fit(X, y)
        else:
            # The meta-model learns from the cross-validation's out-of-fold predictions: no
            # model is fitted again to make them (see core.train._stacking).
            rows = self._covered
            model = fit_from_out_of_fold(model, X, y, [c.oof[rows] for c, _ in best.members],
                                         self.X.iloc[rows], self.y.iloc[rows])
        self.refit_cost = (time.monotonic() - started, len(X))
        return model

    def train_score(self, pipeline: Any, best: Candidate) -> float | None:
        X, y = self.X, self.y
        if len(X) > 20_000:
            X, y = _sample(X, y, 20_000, self.task, self.recipe.seed)
        if self.task == "regression":
            pred = pipeline.predict(X)
            return metrics.score(self.metric, y.to_numpy(), pred, task=self.task)
        matrix, has_proba = _class_scores(pipeline, X, self.classes)
        return metrics.score(self.metric, y.to_numpy(), matrix, task=self.task,
                             classes=self.classes, has_proba=has_proba)

    def resolved_recipe(self, best: Candidate, threshold: float | None) -> Recipe:
        """The recipe that reproduces this exact model without any search."""
        r = self.recipe.copy()
        r.auto = False
        r.search.method = "none"
        if best.members:
            r.models = [ModelChoice(c.model, _python_scalars(c.params), weight=w) for c, w in best.members]
            r.ensemble = True
        else:
            r.models = [ModelChoice(best.model, _python_scalars(best.params))]
            r.ensemble = False
        r.stacking = best.stacking
        # chosen over the baseline by this: a replay chooses between them the same way
        r.rank_metric = self.rank if self.rank != self.metric else None
        if self.task == "binary" and not metrics.is_default_threshold(threshold):
            r.imbalance.threshold = threshold
        r.imbalance.tune_threshold = False
        return r

    # ---- reporting ----
    def leaderboard(self) -> list[dict[str, Any]]:
        usable = self._usable()
        ranked = self._ranked(usable)
        failed = [c for c in self.candidates if c not in usable]
        return [c.row(self.metrics) for c in ranked] + [c.row(self.metrics) for c in failed]

    def noise_note(self) -> str | None:
        board = self._ranked(self._usable())
        if len(board) < 2:
            return None
        a, b = board[0], board[1]
        gap = abs(a.mean(self.rank) - b.mean(self.rank))
        noise = (a.std(self.rank) + b.std(self.rank)) / 2
        if gap < noise:
            first, second = _told_apart(a), _told_apart(b)
            if first == second:  # two settings of one model: told apart by their settings
                first, second = (f"{_told_apart(c)} ({_describe(c.params)})" for c in (a, b))
            if gap < 5e-5:
                return (f"The leader, {first}, and the runner-up, {second}, score the same "
                        f"({self._rank_name} {a.mean(self.rank):.4f}). Prefer the simpler or "
                        "faster one if that matters to you.")
            return (f"The leader, {first}, beats the runner-up, {second}, by {gap:.4f} "
                    f"{self._rank_name}, less than the fold-to-fold spread ({noise:.4f}): within "
                    "noise. Prefer the simpler or faster one if that matters to you.")
        return None

    def report_progress(self, fraction: float, message: str, model: str | None = None) -> None:
        board = self.leaderboard()
        self.report(Progress(fraction, message, model, board[0] if board else None, board))


@contextlib.contextmanager
def _cluster(address: str | None):
    """Send joblib work to a Dask cluster for the duration of a training (one client)."""
    if not address:
        yield
        return
    try:
        from distributed import Client
    except ImportError:
        raise TabwrightError("The Dask scheduler option needs the 'distributed' package.",
                             "pip install distributed, or run without --dask-scheduler.") from None
    try:
        client = Client(address, timeout=15)
    except (OSError, TimeoutError) as exc:
        raise TabwrightError(f"Cannot reach the Dask scheduler at {address!r}: {exc}.",
                             "Check the address (e.g. tcp://host:8786) and that the scheduler runs.") from None
    with client, joblib.parallel_backend("dask"):
        yield


class _OutOfTime(Exception):
    """A configuration's cross-validation would overrun the time budget."""


def _sample_dimension(dim: tuple, rng: np.random.Generator) -> Any:
    kind = dim[0]
    if kind == "choice":
        return dim[1][int(rng.integers(len(dim[1])))]
    low, high, scale = dim[1], dim[2], dim[3]
    if scale == "log":
        value = float(np.exp(rng.uniform(np.log(low), np.log(high))))
    else:
        value = float(rng.uniform(low, high))
    return int(round(value)) if kind == "int" else value


def _suggest(trial: Any, name: str, dim: tuple) -> Any:
    kind = dim[0]
    if kind == "choice":
        return trial.suggest_categorical(name, dim[1])
    if kind == "int":
        return trial.suggest_int(name, dim[1], dim[2], log=dim[3] == "log")
    return trial.suggest_float(name, dim[1], dim[2], log=dim[3] == "log")


def _lone_class(y: pd.Series, folds: list, full_y: pd.Series) -> bool:
    """Whether some fit holds a single row of a class: among every training row, or in a
    fold's training part (grouped or time-ordered folds can leave one row of several)."""
    if (full_y.value_counts() == 1).any():  # (a categorical target lists unused classes as 0)
        return True
    codes = pd.factorize(y)[0]
    for train, _ in folds:
        fold = codes[train]
        if (np.bincount(fold[fold >= 0]) == 1).any():
            return True
    return False


def _told_apart(candidate: Candidate) -> str:
    """A candidate's model in words: its label, or "an ensemble" / "a stack"."""
    if candidate.stacking is not None:
        return "a stack"
    if candidate.members:
        return "an ensemble"
    return catalogue.get(candidate.model).label


def _describe(params: dict[str, Any]) -> str:
    """Parameters in a note, e.g. ``learning_rate=0.05, max_iter=500``; "defaults" when none."""
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in params.items()) or "defaults"


def _scalar(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _python_scalars(params: dict[str, Any]) -> dict[str, Any]:
    return {k: _scalar(v) for k, v in params.items()}
