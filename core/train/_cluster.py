"""Clustering: groups in data with no target, compared by silhouette.

There is no test set to hold out (nothing to predict), so every candidate is scored on the
same sample of rows. k-means and Gaussian mixtures try k = 2…10 and keep the k with the best
silhouette. Agglomerative clustering and DBSCAN cannot place new rows themselves, so their
exported model is the preparation plus a 1-nearest-neighbour classifier fitted on their
labels: new rows join the cluster of their nearest training row.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import silhouette_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from core import catalogue
from core.errors import Cancelled, TabwrightError
from core.evaluate import evaluate_clustering
from core.ingest import infer_roles
from core.prepare import build_preprocessor, build_reducer, keeps_sparse, plan_features
from core.recipe import ModelChoice, Recipe
from core.run import Progress, TrainResult, fingerprint
from core.settings import Limits

SAMPLE_ROWS = 5_000
K_RANGE = range(2, 11)


def train_clustering(frame: pd.DataFrame, recipe: Recipe, *, inferred_roles: dict[str, str] | None,
                     progress, cancel, limits: Limits, started: float, original: Recipe):
    """Cluster ``frame`` as the recipe says; returns a :class:`core.train._runner.TrainResult`."""

    recipe.task = "clustering"
    recipe.metric = "silhouette"
    recipe.validate(list(frame.columns))
    if inferred_roles is None:
        inferred_roles = {c.name: c.role for c in infer_roles(frame)}
    data = frame.drop_duplicates() if recipe.drop_duplicate_rows else frame
    plan = plan_features(data, recipe, inferred_roles)
    X = data[plan.features]
    notes = [f"Left out {c!r}: {why}." for c, why in plan.dropped.items()]
    sample = X.sample(n=min(SAMPLE_ROWS, len(X)), random_state=recipe.seed)
    if len(sample) < 10:
        raise TabwrightError(f"Clustering needs at least 10 rows, got {len(sample)}.",
                             "Use a larger file.")
    if len(X) > SAMPLE_ROWS:
        notes.append(f"Clusters are compared on a random sample of {SAMPLE_ROWS:,} rows.")
    prep, _ = build_preprocessor(plan, recipe, task="clustering", style="linear",
                                 sparse=keeps_sparse(recipe))
    reducer = build_reducer(recipe)
    front = [("prep", prep)] + ([("reduce", reducer)] if reducer is not None else [])
    names = [c.name for c in recipe.models] if not recipe.auto and recipe.models else \
        ["kmeans", "gaussian_mixture", "agglomerative", "dbscan"]
    board: list[dict[str, Any]] = []
    best: tuple[float, str, dict, np.ndarray] | None = None
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Z = Pipeline(front).fit_transform(sample)
        for i, name in enumerate(names):
            if cancel.cancelled:
                break
            spec = catalogue.get(name)
            given = next((c.params for c in recipe.models if c.name == name), {})
            grid = [dict(given)] if given or name == "dbscan" else [{"n_clusters": k} for k in K_RANGE]
            for params in grid:
                if cancel.cancelled:
                    if best is None:
                        raise Cancelled()
                    break
                t0 = time.perf_counter()
                labels = spec.make("clustering", params, seed=recipe.seed).fit_predict(Z)
                seconds = time.perf_counter() - t0
                n_clusters = len(set(labels) - {-1})
                value = (float(silhouette_score(Z, labels, random_state=recipe.seed))
                         if 2 <= n_clusters < len(Z) else float("nan"))
                row = {"model": name, "label": spec.label, "params": params, "silhouette": value
                       if not np.isnan(value) else None, "silhouette_std": None,
                       "n_clusters": n_clusters, "fit_seconds": round(seconds, 3), "status": "ok",
                       "note": "" if not np.isnan(value) else "fewer than 2 clusters found"}
                board.append(row)
                if not np.isnan(value) and (best is None or value > best[0]):
                    best = (value, name, params, labels)
            progress(Progress((i + 1) / len(names) * 0.9, f"Tried {spec.label}",
                              best=None, leaderboard=_ranked(board)))
    if best is None and cancel.cancelled:
        raise Cancelled()
    if best is None:
        raise TabwrightError("No clustering found at least two groups in this data.",
                             "Try other columns, or DBSCAN with a larger eps.")
    _, name, params, labels = best
    spec = catalogue.get(name)
    if hasattr(spec.make("clustering", params), "predict"):
        pipeline = Pipeline(front + [("model", spec.make("clustering", params, seed=recipe.seed))])
        pipeline.fit(sample)
    else:
        pipeline = Pipeline(front + [("model", KNeighborsClassifier(n_neighbors=1))])
        pipeline.fit(sample, labels)
        notes.append(f"{spec.label} cannot place new rows itself; new rows join the cluster of "
                     "their nearest training row.")

    evaluation = evaluate_clustering(pipeline, sample, labels=pipeline.predict(sample))
    resolved = recipe.copy()
    resolved.auto = False
    resolved.models = [ModelChoice(name, dict(params))]
    ranked = _ranked(board)
    progress(Progress(1.0, "Done", best=ranked[0], leaderboard=ranked))
    return TrainResult(
        recipe=resolved, original_recipe=original, task="clustering", metric="silhouette",
        plan=plan, classes=None, leaderboard=ranked, best=name, pipeline=pipeline, threshold=None,
        evaluation=evaluation, notes=notes, n_train=len(sample), n_test=0,
        seconds=time.monotonic() - started, fingerprint=fingerprint(frame), X_test=sample,
        y_test=None, X_train=sample, y_train=None, cv_description="silhouette on a sample",
        cancelled=cancel.cancelled,
    )


def _ranked(board: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(board, key=lambda r: -1e9 if r["silhouette"] is None else -r["silhouette"])
