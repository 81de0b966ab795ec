"""Tests for core.train._cluster: clustering candidates compared by silhouette on one sample."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from core.errors import Cancelled, TabwrightError
from core.recipe import ModelChoice, Recipe
from core.run import CancelToken
from core.settings import Limits
from core.train import _cluster
from core.train._cluster import K_RANGE, train_clustering

ROLES = {"a": "numeric", "b": "numeric"}


def _blobs(n: int = 150, seed: int = 0) -> pd.DataFrame:
    X, _ = make_blobs(n, centers=3, n_features=2, random_state=seed, cluster_std=0.6)
    return pd.DataFrame(X, columns=["a", "b"])


def _cluster_with(frame, *models, progress=None, cancel=None, **recipe_kw):
    recipe = Recipe(task="clustering", auto=False, models=list(models), **recipe_kw)
    return train_clustering(frame, recipe, inferred_roles=ROLES,
                            progress=progress or (lambda p: None), cancel=cancel or CancelToken(),
                            limits=Limits(), started=time.monotonic(), original=recipe.copy())


def test_kmeans_tries_every_k_and_keeps_the_best_silhouette():
    seen = []
    result = _cluster_with(_blobs(), ModelChoice("kmeans"), progress=seen.append)
    assert result.task == "clustering" and result.metric == "silhouette"
    assert len(result.leaderboard) == len(K_RANGE)
    assert sorted(row["n_clusters"] for row in result.leaderboard) == list(K_RANGE)
    scores = [row["silhouette"] for row in result.leaderboard]
    assert scores == sorted(scores, reverse=True)  # ranked, best first
    assert result.leaderboard[0]["params"] == {"n_clusters": 3} and scores[0] > 0.5
    assert result.best == "kmeans"
    assert result.recipe.models == [ModelChoice("kmeans", {"n_clusters": 3})]
    assert result.recipe.auto is False
    assert result.n_test == 0 and result.y_test is None and result.classes is None
    assert [p.fraction for p in seen] == [0.9, 1.0]
    assert seen[-1].best == result.leaderboard[0]


def test_the_exported_model_places_new_rows_in_the_right_group():
    frame = _blobs()
    result = _cluster_with(frame, ModelChoice("kmeans"))
    X, truth = make_blobs(150, centers=3, n_features=2, random_state=0, cluster_std=0.6)
    predicted = result.pipeline.predict(pd.DataFrame(X, columns=["a", "b"]))
    # every true blob maps to exactly one predicted cluster
    assert len(set(zip(truth, predicted))) == 3
    assert result.evaluation["n_clusters"] == 3


def test_models_that_cannot_predict_get_a_nearest_neighbour_stand_in():
    frame = _blobs()
    result = _cluster_with(frame, ModelChoice("agglomerative"))
    assert type(result.pipeline[-1]).__name__ == "KNeighborsClassifier"
    assert any("nearest training row" in note for note in result.notes)
    assert len(set(result.pipeline.predict(frame))) == 3


def test_given_parameters_are_used_as_they_are():
    result = _cluster_with(_blobs(), ModelChoice("kmeans", {"n_clusters": 5}))
    assert len(result.leaderboard) == 1
    assert result.leaderboard[0]["n_clusters"] == 5
    assert result.recipe.models == [ModelChoice("kmeans", {"n_clusters": 5})]


def test_a_large_table_is_clustered_on_a_sample(monkeypatch):
    monkeypatch.setattr(_cluster, "SAMPLE_ROWS", 60)
    result = _cluster_with(_blobs(150), ModelChoice("kmeans", {"n_clusters": 3}))
    assert result.n_train == 60 and len(result.X_train) == 60
    assert "Clusters are compared on a random sample of 60 rows." in result.notes


def test_too_few_rows_are_refused():
    with pytest.raises(TabwrightError, match="at least 10 rows, got 9"):
        _cluster_with(_blobs().head(9), ModelChoice("kmeans"))


def test_no_grouping_found_is_explained():
    with pytest.raises(TabwrightError, match="No clustering found at least two groups"):
        _cluster_with(_blobs(), ModelChoice("dbscan", {"eps": 1e-6}))


def test_cancel_before_any_result_raises_cancelled():
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        _cluster_with(_blobs(), ModelChoice("kmeans"), cancel=token)


def test_cancel_after_a_model_keeps_the_best_so_far():
    token = CancelToken()
    result = _cluster_with(_blobs(), ModelChoice("kmeans"), ModelChoice("gaussian_mixture"),
                           cancel=token, progress=lambda p: token.cancel())
    assert {row["model"] for row in result.leaderboard} == {"kmeans"}
    assert result.best == "kmeans"


def test_a_cancelled_clustering_run_says_it_was_cancelled():
    token = CancelToken()
    result = _cluster_with(_blobs(), ModelChoice("kmeans"), ModelChoice("gaussian_mixture"),
                           cancel=token, progress=lambda p: token.cancel())
    assert result.cancelled
