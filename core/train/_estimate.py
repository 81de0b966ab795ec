"""How long a training run will take and how much memory it needs, measured before it starts.

A fixed table of "seconds per 1,000 rows" is wrong by 10× between a laptop and a busy server,
and between 20 numeric columns and 30 mixed ones. So :func:`estimate_run` measures instead:
it fits each planned model's real pipeline (the same preparation, the same settings) on two
small pilot samples of the user's own data, on this machine, and extrapolates from the two
timings — a fixed cost plus a cost per row raised to the model's known growth (linear for most,
squared for kernel SVMs). Memory is counted from the pilot too: the width of the prepared
matrix and the size of the fitted model, scaled to the rows each fit will use, plus the copies
of the data a run holds.

Everything returns plain data; pages draw it and the CLI prints it.
"""

from __future__ import annotations

import math
import pickle
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from core import catalogue
from core.errors import TabwrightError
from core.prepare import build_pipeline, plan_features, resolve_precision
from core.recipe import Recipe
from core.train._memory import available_memory_mb, give_back_memory, mb_words
from core.train._split import AUTO_SEARCH_ROWS, AUTO_VALIDATION_ROWS

PILOT_ROWS = (500, 2_000)
"""Rows of the two pilot fits per model (fewer when the data is smaller)."""
LARGE_PILOT_ROWS = (1_000, 8_000)
"""Pilot rows when fits will use more than ``LARGE_DATA_ROWS``: a longer lever extrapolates better."""
LARGE_DATA_ROWS = 50_000
LIBRARIES_MB = 300.0
"""Memory of a training process before it holds any data (Python, pandas, scikit-learn)."""
SECONDS_PER_MILLION_CELLS = 250e-3
"""Splitting, fingerprinting and evaluating cost about this per million data cells."""

# How a model's fit time grows with the rows: time ∝ rows ** exponent. Trees sort (n log n,
# close to 1.1 over the sizes that matter); kernel SVMs and agglomerative clustering are
# quadratic; everything else here is linear in the rows.
_GROWTH = {"svr": 2.0, "agglomerative": 2.0, "decision_tree": 1.1, "random_forest": 1.1,
           "extra_trees": 1.1}
# Fitted models whose size grows with the rows (trees keep a node per few rows; k-NN keeps
# the data); the others keep a fixed number of coefficients.
_SIZE_GROWS = {"decision_tree", "random_forest", "extra_trees", "knn"}
_FORESTS = {"random_forest", "extra_trees"}


@dataclass
class ModelCost:
    """One planned model: its fits, the rows each uses, and what they cost."""

    name: str
    label: str
    fits: int
    fit_rows: int
    seconds: float
    memory_mb: float
    inputs: int
    refit_seconds: float
    """The part of ``seconds`` that is the final refit on every training row."""


@dataclass
class RunEstimate:
    """The estimate shown before training (all numbers measured on this machine)."""

    seconds: float
    """Expected wall time of the whole run (the budget in auto mode)."""
    seconds_high: float
    """A pessimistic bound: the first run on a busy server can take this long."""
    memory_mb: float
    """Expected peak memory of the training."""
    data_mb: float
    available_mb: float | None
    models: list[ModelCost] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    recommended_budget: float | None = None
    """Auto mode: the budget that lets it refit on every training row (None when it already does)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate_run(frame: pd.DataFrame, recipe: Recipe, plan: dict[str, Any], *,
                 inferred_roles: dict[str, str], seed: int = 0) -> RunEstimate:
    """Estimate time and memory of training ``recipe`` on ``frame``.

    Parameters
    ----------
    frame : DataFrame
        The loaded data.
    recipe : Recipe
        The user's choices (target set).
    plan : dict
        :func:`core.evaluate._experiment.training_plan` of the same recipe (rows, folds, models and
        whether each runs, runs on a sample or is skipped).
    inferred_roles : dict
        Column → role from the profile.
    """

    if plan["task"] == "clustering" or not recipe.target:
        raise TabwrightError("Time and memory estimates cover supervised training only.",
                             "Clustering runs on a sample and is quick; just train.")
    data = frame[frame[recipe.target].notna()]
    task = plan["task"]
    train_rows, folds = plan["train_rows"], max(plan["folds"], 1)
    auto = plan["auto"]
    search_rows = min(train_rows, AUTO_SEARCH_ROWS) if auto else train_rows
    fold_rows = int(search_rows * (folds - 1) / folds) if folds > 1 else search_rows
    if auto:  # auto mode scores on as few folds as hold enough validation rows
        folds = min(folds, max(1, math.ceil(AUTO_VALIDATION_ROWS / max(search_rows / folds, 1))))
    run = recipe.copy()
    run.task = task
    run.metric = plan["metric"]
    features = plan_features(data, run, inferred_roles)
    run.preparation.precision = resolve_precision(features, run, train_rows)
    sizes = LARGE_PILOT_ROWS if fold_rows > LARGE_DATA_ROWS else PILOT_ROWS
    pilot = _pilot_rows(data, run.target, task, seed, sizes)
    data_mb = float(frame.memory_usage(deep=True).sum()) / 2**20
    costs: list[ModelCost] = []
    for entry in plan["models"]:
        if entry["treatment"] == "skipped":
            continue
        spec = catalogue.get(entry["name"])
        rows = min(fold_rows, spec.max_rows) if spec.max_rows and entry["treatment"] == "sampled" else fold_rows
        refit_rows = min(train_rows, spec.max_rows) if spec.max_rows and entry["treatment"] == "sampled" \
            else train_rows
        trials = 1
        if not auto and recipe.search.method != "none" and spec.space and spec.name != "dummy":
            trials = recipe.search.trials
        params = _first_params(entry["name"], task, search_rows, len(features.features)) if auto \
            else _chosen_params(recipe, entry["name"])
        fixed, per_row, width, size_per_row, size_fixed = _pilot(features, run, spec, params, task,
                                                                 pilot)
        growth = _GROWTH.get(spec.name, 1.0)

        def seconds_for(n: int) -> float:
            return fixed + per_row * n ** growth

        seconds = seconds_for(rows) * folds * trials + seconds_for(refit_rows)
        held_rows = refit_rows
        if auto and refit_rows > search_rows:
            # Auto mode refits on as many rows as the budget affords (never fewer than it
            # searched on): a model too slow for every row is refitted on fewer.
            per_refit_row = seconds_for(refit_rows) / refit_rows
            affordable = recipe.time_budget / per_refit_row if per_refit_row > 0 else refit_rows
            held_rows = int(min(refit_rows, max(search_rows, affordable)))
        model_mb = (size_fixed + size_per_row * held_rows) / 2**20
        matrix_mb = held_rows * width * _item_bytes(spec, run) / 2**20
        costs.append(ModelCost(spec.name, spec.label, folds * trials + 1, rows, seconds,
                               2 * matrix_mb + model_mb, width, seconds_for(refit_rows)))
    overhead = 1.0 + SECONDS_PER_MILLION_CELLS * frame.size / 1e6
    notes: list[str] = []
    recommended = None
    if auto:
        seconds = float(recipe.time_budget)
        # The least auto mode needs: the baseline and one real model on the search sample,
        # then the refit of one strong model on every training row.
        refit_all = max((c.refit_seconds for c in costs if c.name != "dummy"), default=0.0)
        search_floor = sum(c.seconds - c.refit_seconds for c in costs[:2])
        floor = overhead + search_floor + refit_all
        if floor > seconds:
            recommended = _tidy(floor * 1.5)
            notes.append(f"A {seconds:g} s budget is tight for {train_rows:,} training rows: refitting "
                         f"one strong model on all of them takes about {_words(refit_all)}. Auto mode "
                         f"keeps the budget by refitting on a sample; about {_words(recommended)} "
                         "would use every row.")
        seconds_high = seconds * 1.1
    else:
        seconds = overhead + sum(c.seconds for c in costs)
        if recipe.search.method != "none" and recipe.search.time_budget:
            searched = sum(c.seconds for c in costs if c.name != "dummy")
            seconds = min(seconds, overhead + recipe.search.time_budget + searched / max(folds, 1))
        seconds_high = seconds * 2.0
    memory = LIBRARIES_MB + 2 * data_mb + max((c.memory_mb for c in costs), default=0.0)
    available = available_memory_mb()
    if available is not None and memory > 0.8 * available:
        notes.append(f"The run may need about {mb_words(memory)}, and only {mb_words(available)} is free on "
                     "this server: drop wide or text columns, lower the one-hot level cap, or choose "
                     "fewer models.")

    give_back_memory()  # the pilot fits ran in this (the server's) process
    return RunEstimate(seconds=round(seconds, 1), seconds_high=round(seconds_high, 1),
                       memory_mb=round(memory), data_mb=round(data_mb), available_mb=available,
                       models=costs, notes=notes, recommended_budget=recommended)


def _item_bytes(spec: Any, recipe: Recipe) -> int:
    """Bytes per number of the model's prepared matrix (``float32`` or ``float64``)."""
    return 4 if spec.float32 and recipe.preparation.precision == "float32" else 8


def _pilot_rows(data: pd.DataFrame, target: str, task: str, seed: int,
                sizes: tuple[int, int]) -> list[pd.DataFrame]:
    """Two nested random samples of the labelled rows (the smaller within the larger)."""
    n = len(data)
    big = data.sample(n=min(n, sizes[1]), random_state=seed) if n > sizes[1] else data
    # A copy holds each dtype's columns in one block: a wide table's 5,000 columns, one block
    # each as read, made every pilot fit spend a second gathering them (training copies too).
    big = big.copy()
    small = big.iloc[: min(len(big), sizes[0])]
    if task != "regression":  # every class present in both, so the fit does not fail
        for part in (small, big):
            if part[target].nunique() < 2:
                raise TabwrightError("The target has a single class in a sample of the data.",
                                     "Check the target on the Model page.")
    return [small, big]


def _pilot(features, recipe: Recipe, spec, params: dict[str, Any], task: str,
           samples: list[pd.DataFrame]) -> tuple[float, float, int, float, float]:
    """Fit the model's pipeline on the two samples; return the fixed and per-row seconds, the
    prepared width, and the model's bytes per row and fixed bytes."""
    timings, sizes, width = [], [], 1
    # Forests: time and size grow with the number of trees, so the pilot grows a tenth of them.
    trees = params.get("n_estimators", 100) if spec.name in _FORESTS else None
    scale = 1.0
    if trees:
        pilot_trees = max(10, trees // 10)
        params, scale = {**params, "n_estimators": pilot_trees}, trees / pilot_trees
    for sample in samples:
        X, y = sample[features.features], sample[recipe.target]
        pipeline = build_pipeline(features, recipe, spec.name, params, task=task)
        with threadpool_limits(limits=1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            started = time.perf_counter()
            try:
                # The preparation once, the model with a tenth of a forest's trees (scaled up).
                prepared = pipeline[:-1].fit_transform(X, y)
                prepared_at = time.perf_counter()
                pipeline[-1].fit(prepared, y)
            except Exception:  # noqa: BLE001 — a model failing on a tiny sample still runs later
                timings.append(time.perf_counter() - started)
                sizes.append(0)
                continue
            timings.append(prepared_at - started + (time.perf_counter() - prepared_at) * scale)
        try:
            # The prepared matrix: the widest a fit holds. Selection and reduction come after
            # the preparation and narrow it; splines come after it and widen it.
            width = X.shape[1]
            if len(pipeline.steps) > 1:
                head = X.head(2)
                width = max(int(pipeline[:i].transform(head).shape[1])
                            for i in range(1, len(pipeline.steps)))
        except Exception:  # noqa: BLE001
            width = X.shape[1]
        sizes.append(len(pickle.dumps(pipeline[-1], protocol=pickle.HIGHEST_PROTOCOL)))
    (n1, n2), (t1, t2) = [len(s) for s in samples], timings
    sizes = [b * scale for b in sizes]
    growth = _GROWTH.get(spec.name, 1.0)
    if n2 > n1:
        per_row = max((t2 - t1) / (n2 ** growth - n1 ** growth), t2 / n2 ** growth * 0.25)
        fixed = max(t1 - per_row * n1 ** growth, 0.0)
    else:
        per_row, fixed = t2 / max(n2 ** growth, 1), 0.0
    if spec.name in _SIZE_GROWS and n2 > 0:
        size_per_row, size_fixed = sizes[-1] / n2, 0.0
    else:
        size_per_row, size_fixed = 0.0, float(max(sizes))
    return fixed, per_row, width, size_per_row, size_fixed


def _first_params(model: str, task: str, n_rows: int, n_features: int) -> dict[str, Any]:
    for name, params in catalogue.auto_portfolio(task, n_rows=n_rows, n_features=n_features):
        if name == model:
            return dict(params)
    return {}


def _chosen_params(recipe: Recipe, model: str) -> dict[str, Any]:
    for choice in recipe.models:
        if choice.name == model:
            return dict(choice.params)
    return {}


def _tidy(seconds: float) -> float:
    step = 60 if seconds > 300 else 10
    return float(math.ceil(seconds / step) * step)


def _words(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{seconds / 60:.0f} min"


def describe(estimate: RunEstimate) -> list[str]:
    """The estimate in sentences (for the CLI and the report)."""
    lines = [f"Time: about {_words(estimate.seconds)} (up to {_words(estimate.seconds_high)} on a busy server).",
             f"Memory: about {mb_words(estimate.memory_mb)} at peak (the data takes {mb_words(estimate.data_mb)})."]
    return lines + estimate.notes


__all__ = ["ModelCost", "RunEstimate", "available_memory_mb", "describe", "estimate_run"]
