"""The plan of a run, before it starts: models, validation, rows, what is skipped and why.

:func:`training_plan` is what the Train page and ``tabwright train --plan`` show before any
model is fitted; the measured time and memory come from :mod:`core.train._estimate`.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from core import catalogue
from core.errors import TabwrightError
from core.ingest import detect_task
from core.metrics import default_metric
from core.recipe import Recipe
from core.settings import Limits
from core.settings import current as current_limits
from core.train._cluster import K_RANGE, SAMPLE_ROWS
from core.train._split import AUTO_SEARCH_ROWS, make_cv

# Rough seconds per fit per 1,000 training rows with ~20 model inputs, measured on a small
# 2-core machine; only for the "about N s" shown before training.
_FIT_SECONDS_PER_1K = {
    "dummy": 0.002, "logistic_regression": 0.02, "linear_svm": 0.02, "knn": 0.02,
    "naive_bayes": 0.003, "decision_tree": 0.01, "random_forest": 0.35, "extra_trees": 0.2,
    "hist_gradient_boosting": 0.15, "catboost": 0.6, "mlp": 0.6, "linear_regression": 0.005,
    "ridge": 0.005, "lasso": 0.02, "elastic_net": 0.02, "svr": 0.08, "kmeans": 0.05,
    "agglomerative": 0.2, "dbscan": 0.1, "gaussian_mixture": 0.08,
}


_FIT_OVERHEAD_SECONDS = 0.05


def training_plan(frame: pd.DataFrame, recipe: Recipe, *, limits: Limits | None = None
                  ) -> dict[str, Any]:
    """What a training run of ``recipe`` on ``frame`` will do, before it starts.

    Returns
    -------
    dict
        ``rows`` (usable rows), ``train_rows``, ``test_rows``, ``validation`` (a sentence),
        ``folds``, ``auto`` (bool), ``budget`` (seconds, auto mode), ``search`` (a sentence or
        None), ``models`` (``[{"name", "label", "what", "treatment", "why"}]`` where treatment is
        ``"run"``, ``"sampled"`` or ``"skipped"``), ``notes`` (sentences) and
        ``estimate_seconds`` (rough; the budget in auto mode).
    """
    limits = limits or current_limits()
    task = recipe.task
    notes: list[str] = []
    if task == "clustering" or not recipe.target:
        return _clustering_plan(frame, recipe)
    if recipe.target not in frame.columns:
        raise TabwrightError(f"The target {recipe.target!r} is not a column of the data.",
                             "Choose the target again on the Model page.")
    y = frame[recipe.target].dropna()
    if len(y) < len(frame):
        notes.append(f"{len(frame) - len(y):,} rows have no target value and are left out.")
    if recipe.drop_duplicate_rows:
        notes.append("Duplicate rows are dropped before the split.")
    rows = len(y)
    test_rows = int(math.ceil(rows * recipe.split.test_size))
    train_rows = rows - test_rows
    # A recipe without a task trains with the task its target implies, as train() does.
    task = task or detect_task(y).task
    if task != "regression" and y.nunique() < 2:
        validation, folds = "cannot cross-validate: the target has a single class", 0
    else:
        cv, validation = make_cv(recipe, task, y, n_rows=train_rows)
        folds = int(cv.get_n_splits()) if hasattr(cv, "get_n_splits") and recipe.validation.scheme != "loo" \
            else train_rows
    metric = recipe.metric or default_metric(task)
    if recipe.auto:
        search_rows = min(train_rows, AUTO_SEARCH_ROWS)
        n_features = sum(c != recipe.target and c not in recipe.drop for c in frame.columns)
        names = auto_first_models(task, n_rows=search_rows, n_features=n_features,
                                  interpretable=recipe.brief.interpretable)
        if catalogue.is_wide(search_rows, n_features):
            notes.append(catalogue.wide_reason(search_rows, n_features))
        within = (f"{recipe.max_trials} trials (planned by count: the same model on any "
                  f"machine), capped at {recipe.time_budget:g} s" if recipe.max_trials
                  else f"{recipe.time_budget:g} s")
        search = (f"Auto mode: baselines first, then strong defaults, then an Optuna search across "
                  f"the best model families, then an averaging ensemble and a stack of the "
                  f"best models, kept if they win, all within {within}.")
        if train_rows > AUTO_SEARCH_ROWS:
            notes.append(f"Auto mode compares models on a {AUTO_SEARCH_ROWS:,}-row sample of the "
                         f"{train_rows:,} training rows, then refits the winner on every training "
                         "row the budget allows (the estimate below says how many).")
    else:
        names = [m.name for m in recipe.models] or catalogue.default_models(task)
        if "dummy" not in names:
            names = ["dummy"] + names
        search = None
        if recipe.search.method != "none":
            search = (f"{recipe.search.method.capitalize()} search: up to {recipe.search.trials} "
                      "settings per model")
            if recipe.search.time_budget:
                search += f" within {recipe.search.time_budget:g} s in total"
            search += "."
        if recipe.ensemble and recipe.stacking is not None:
            notes.append("The chosen models are stacked: a "
                         + ("ridge regression with non-negative weights" if task == "regression"
                            else "logistic regression")
                         + " learns how to combine them from their out-of-fold predictions"
                         + (" and the prepared inputs" if recipe.stacking.passthrough else "")
                         + " (their weights are not used).")
        elif recipe.ensemble:
            notes.append("The chosen models are averaged into one ensemble (weighted by their weights).")
    models = []
    estimate = 0.0
    seen = set()
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        spec = catalogue.get(name)
        entry = {"name": name, "label": spec.label, "what": spec.what, "treatment": "run", "why": ""}
        if recipe.brief.interpretable and not spec.interpretable:
            entry |= {"treatment": "skipped", "why": "interpretability is required"}
        elif spec.max_rows and train_rows > spec.max_rows and spec.large_data == "skip":
            entry |= {"treatment": "skipped", "why": f"above {spec.max_rows:,} rows {spec.cost}"}
        elif spec.max_rows and train_rows > spec.max_rows:
            entry |= {"treatment": "sampled",
                      "why": f"fitted on {spec.max_rows:,}-row samples: {spec.cost}"}
        models.append(entry)
        if entry["treatment"] != "skipped" and not recipe.auto:
            fit_rows = min(train_rows, spec.max_rows or train_rows)
            trials = recipe.search.trials if recipe.search.method != "none" and spec.space \
                and name != "dummy" else 1
            estimate += _fit_seconds(name, fit_rows, frame.shape[1]) * (max(folds, 1) + 1) * trials
    if recipe.auto:
        estimate = recipe.time_budget
    elif recipe.search.time_budget:
        estimate = min(estimate, recipe.search.time_budget + 5.0)
    if estimate > limits.max_training_seconds:
        notes.append(f"This may hit the server's {limits.max_training_seconds:,} s training limit.")
    return {
        "task": task, "metric": metric, "rows": rows, "train_rows": train_rows,
        "test_rows": test_rows, "validation": validation, "folds": folds, "auto": recipe.auto,
        "budget": recipe.time_budget if recipe.auto else None, "search": search,
        "models": models, "notes": notes, "estimate_seconds": round(max(estimate, 1.0), 1),
    }


def auto_first_models(task: str, *, n_rows: int = 1_000, n_features: int | None = None,
                      interpretable: bool = False) -> list[str]:
    """The models auto mode cross-validates before its search: its portfolio's, in order
    (a wide table's own, see :func:`core.catalogue.auto_portfolio`)."""
    portfolio = catalogue.auto_portfolio(task, n_rows=n_rows, n_features=n_features,
                                         interpretable=interpretable)
    return list(dict.fromkeys(model for model, _ in portfolio))


def _clustering_plan(frame: pd.DataFrame, recipe: Recipe) -> dict[str, Any]:
    names = [m.name for m in recipe.models] if not recipe.auto and recipe.models else \
        ["kmeans", "gaussian_mixture", "agglomerative", "dbscan"]
    rows = min(len(frame), SAMPLE_ROWS)
    notes = [f"Clusters are compared on a random sample of {SAMPLE_ROWS:,} rows."] \
        if len(frame) > SAMPLE_ROWS else []
    models, estimate = [], 0.0
    for name in names:
        spec = catalogue.get(name)
        models.append({"name": name, "label": spec.label, "what": spec.what, "treatment": "run",
                       "why": "k = 2…10, best silhouette kept" if "n_clusters" in spec.space else ""})
        estimate += _fit_seconds(name, rows, frame.shape[1]) * (len(K_RANGE) if "n_clusters" in spec.space else 1)
    return {"task": "clustering", "metric": "silhouette", "rows": len(frame), "train_rows": rows,
            "test_rows": 0, "validation": "silhouette on the same sample for every candidate",
            "folds": 0, "auto": recipe.auto, "budget": None, "search": None, "models": models,
            "notes": notes, "estimate_seconds": round(max(estimate, 1.0), 1)}


def _fit_seconds(model: str, rows: int, columns: int) -> float:
    per_1k = _FIT_SECONDS_PER_1K.get(model, 0.1)
    width = max(1.0, columns / 20)
    scale = (rows / 1000) ** 2 if model == "svr" else rows / 1000
    return _FIT_OVERHEAD_SECONDS + per_1k * scale * width

