"""Tests for core.train._learning_curve: a run's model refitted on growing shares of its rows."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from core.errors import TabwrightError
from core.project import Project, load_data, set_target
from core.recipe import ModelChoice, Recipe
from core.run import TrainResult
from core.train._learning_curve import learning_curve_for
from core.train._runner import train


@pytest.fixture(scope="module")
def titanic(sample_dir) -> Project:
    return set_target(load_data(Project(), str(sample_dir / "titanic.csv"), name="titanic.csv"),
                      "survived")


@pytest.fixture(scope="module")
def logistic(titanic):
    recipe = titanic.recipe.copy()
    recipe.auto = False
    recipe.models = [ModelChoice("logistic_regression")]
    return train(titanic.frame, recipe, inferred_roles=titanic.effective_roles())


def _tiny(task: str = "binary", *, folds: int = 5) -> TrainResult:
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({"x": rng.normal(size=n), "shop": [f"s{i % 10}" for i in range(n)]})
    frame["y"] = (frame["x"] * 3 + rng.normal(size=n) if task == "regression"
                  else np.where(frame["x"] + 0.5 * rng.normal(size=n) > 0, "yes", "no"))
    recipe = Recipe(target="y", task=task, auto=False,
                    models=[ModelChoice("ridge" if task == "regression" else "logistic_regression")])
    recipe.validation.folds = folds
    return train(frame, recipe, inferred_roles={"x": "numeric", "shop": "categorical"})


def _with(result: TrainResult, **changes) -> TrainResult:
    """The run as if its recipe had said ``split__name=value`` / ``validation__name=value``."""
    recipe = result.recipe.copy()
    for path, value in changes.items():
        part, name = path.split("__")
        setattr(getattr(recipe, part), name, value)
    return dataclasses.replace(result, recipe=recipe)


# moved from tests/evaluate/test_experiment.py (same assertions)
def test_learning_curve_of_a_run(logistic):
    curve = learning_curve_for(logistic)
    assert curve["scoring"] == "roc_auc" and curve["train_sizes"][-1] <= logistic.n_train
    assert curve["verdict"] in ("more data would likely help", "more data is unlikely to help")


def test_the_curve_follows_the_runs_folds_and_metric():
    result = _tiny()
    curve = learning_curve_for(result)
    # 5-fold stratified on the training rows: the largest size is 4/5 of them
    assert curve["train_sizes"][-1] == int(result.n_train * 4 / 5)
    assert curve["train_sizes"] == sorted(curve["train_sizes"]) and len(curve["train_sizes"]) == 5
    assert curve["scoring"] == "roc_auc"
    assert all(0.5 < v <= 1 for v in curve["valid_mean"])
    assert curve["notes"] == []
    fewer = learning_curve_for(_with(result, validation__folds=2))
    assert fewer["train_sizes"][-1] == result.n_train // 2


def test_a_regression_curve_scores_errors_as_negatives():
    curve = learning_curve_for(_tiny("regression", folds=2))
    assert curve["scoring"] == "neg_root_mean_squared_error"
    assert all(v < 0 for v in curve["valid_mean"])


@pytest.mark.parametrize("change", [{"split__group_column": "shop"},
                                    {"split__time_column": "shop"},  # only the setting is read
                                    {"validation__scheme": "loo"}])
def test_group_time_and_loo_schemes_fall_back_to_shuffled_kfold_with_a_note(change):
    result = _with(_tiny(folds=2), **change)
    curve = learning_curve_for(result)
    assert any("uses shuffled k-fold" in note for note in curve["notes"])
    assert curve["train_sizes"][-1] == result.n_train // 2  # min(folds, 5) = 2 folds


def test_a_clustering_run_has_no_learning_curve():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    result = train(frame, Recipe(task="clustering", auto=False,
                                 models=[ModelChoice("kmeans", {"n_clusters": 2})]),
                   inferred_roles={"a": "numeric", "b": "numeric"})
    with pytest.raises(TabwrightError, match="needs a target"):
        learning_curve_for(result)
