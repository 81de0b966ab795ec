"""Tests for core.train._plan: what a run will do before it starts (models, split, cost)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import catalogue
from core.errors import TabwrightError
from core.project import Project, load_data, set_target
from core.recipe import ModelChoice, Recipe
from core.settings import Limits
from core.train._plan import auto_first_models, training_plan
from tests.explore.wide_tables import wide_frame


@pytest.fixture(scope="module")
def titanic(sample_dir) -> Project:
    return set_target(load_data(Project(), str(sample_dir / "titanic.csv"), name="titanic.csv"),
                      "survived")


# --------------------------------------------------------------------------- moved from
# tests/evaluate/test_experiment.py (same assertions)


def test_plan_lists_chosen_models_with_baseline_first_and_the_split(titanic):
    recipe = titanic.recipe.copy()
    recipe.auto = False
    recipe.models = [ModelChoice("logistic_regression"), ModelChoice("random_forest")]
    plan = training_plan(titanic.frame, recipe)
    assert [m["name"] for m in plan["models"]] == ["dummy", "logistic_regression", "random_forest"]
    assert plan["rows"] == 891
    assert plan["test_rows"] == 179 and plan["train_rows"] == 712
    assert plan["validation"] == "5-fold stratified cross-validation"
    assert plan["folds"] == 5
    assert not plan["auto"] and plan["budget"] is None
    assert 1 <= plan["estimate_seconds"] < 60


def test_plan_in_auto_mode_is_bounded_by_the_budget(titanic):
    recipe = titanic.recipe.copy()
    recipe.auto, recipe.time_budget = True, 42
    plan = training_plan(titanic.frame, recipe)
    assert plan["auto"] and plan["budget"] == 42 and plan["estimate_seconds"] == 42
    assert "42 s" in plan["search"]
    assert [m["name"] for m in plan["models"]][:3] == ["dummy", "logistic_regression",
                                                       "hist_gradient_boosting"]


def test_plan_says_what_is_skipped_or_sampled_on_large_data_and_why():
    rng = np.random.default_rng(0)
    n = 80_000
    frame = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n)})
    recipe = Recipe(target="y", task="regression", auto=False,
                    models=[ModelChoice("knn"), ModelChoice("svr"), ModelChoice("ridge")])
    plan = training_plan(frame, recipe)
    by_name = {m["name"]: m for m in plan["models"]}
    assert by_name["knn"]["treatment"] == "skipped" and "50,000" in by_name["knn"]["why"]
    assert by_name["svr"]["treatment"] == "sampled" and "20,000-row samples" in by_name["svr"]["why"]
    assert by_name["ridge"]["treatment"] == "run"


def test_plan_skips_black_boxes_when_interpretability_is_required(titanic):
    recipe = titanic.recipe.copy()
    recipe.auto = False
    recipe.models = [ModelChoice("hist_gradient_boosting"), ModelChoice("decision_tree")]
    recipe.brief.interpretable = True
    by_name = {m["name"]: m for m in training_plan(titanic.frame, recipe)["models"]}
    assert by_name["hist_gradient_boosting"]["treatment"] == "skipped"
    assert by_name["hist_gradient_boosting"]["why"] == "interpretability is required"
    assert by_name["decision_tree"]["treatment"] == "run"


def test_plan_for_clustering_has_no_test_set():
    frame = pd.DataFrame({"a": range(50), "b": [i % 7 for i in range(50)]})
    plan = training_plan(frame, Recipe(task="clustering"))
    assert plan["task"] == "clustering" and plan["test_rows"] == 0
    assert "kmeans" in [m["name"] for m in plan["models"]]


# --------------------------------------------------------------------------- more of the plan


def _small(n: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=n), "y": np.where(np.arange(n) % 2, "a", "b")})


def test_plan_notes_missing_targets_duplicates_and_ensembles():
    frame = _small().astype({"y": object})
    frame.loc[:9, "y"] = None
    recipe = Recipe(target="y", task="binary", auto=False,
                    models=[ModelChoice("logistic_regression")], drop_duplicate_rows=True,
                    ensemble=True)
    plan = training_plan(frame, recipe)
    assert plan["rows"] == 90 and plan["test_rows"] == 18 and plan["train_rows"] == 72
    assert "10 rows have no target value and are left out." in plan["notes"]
    assert "Duplicate rows are dropped before the split." in plan["notes"]
    assert any("averaged into one ensemble" in note for note in plan["notes"])


def test_plan_without_chosen_models_uses_the_defaults_and_describes_the_search():
    recipe = Recipe(target="y", task="binary", auto=False)
    recipe.search.method, recipe.search.trials, recipe.search.time_budget = "random", 7, 30
    plan = training_plan(_small(), recipe)
    assert [m["name"] for m in plan["models"]] == catalogue.default_models("binary")
    assert plan["search"] == "Random search: up to 7 settings per model within 30 s in total."
    assert plan["estimate_seconds"] <= 35
    for model in plan["models"]:
        assert model["label"] == catalogue.get(model["name"]).label


def test_plan_warns_when_the_estimate_passes_the_server_limit():
    recipe = Recipe(target="y", task="binary", auto=False, models=[ModelChoice("random_forest")])
    recipe.search.method, recipe.search.trials = "grid", 50
    plan = training_plan(_small(5_000), recipe, limits=Limits(max_training_seconds=5))
    assert plan["estimate_seconds"] > 5
    assert "This may hit the server's 5 s training limit." in plan["notes"]


def test_plan_for_leave_one_out_counts_a_fit_per_row():
    recipe = Recipe(target="y", task="binary", auto=False,
                    models=[ModelChoice("logistic_regression")])
    recipe.validation.scheme = "loo"
    plan = training_plan(_small(50), recipe)
    assert plan["folds"] == plan["train_rows"] == 40
    assert plan["validation"] == "leave-one-out (40 fits)"


def test_plan_of_a_single_class_target_cannot_cross_validate():
    plan = training_plan(_small().assign(y="a"), Recipe(target="y", task="binary", auto=False))
    assert plan["folds"] == 0 and "single class" in plan["validation"]


def test_plan_refuses_a_target_that_is_not_a_column():
    with pytest.raises(TabwrightError, match="'nope' is not a column"):
        training_plan(_small(), Recipe(target="nope"))


# --------------------------------------------------------------------------- auto_first_models


def test_auto_first_models_are_the_portfolios_models_once_each_in_order():
    for task in ("binary", "multiclass", "regression"):
        names = auto_first_models(task)
        portfolio = [m for m, _ in catalogue.auto_portfolio(task, n_rows=1_000)]
        assert names == list(dict.fromkeys(portfolio))
        assert len(names) == len(set(names))
        assert names[:3] == ["dummy", catalogue.default_models(task)[1], "hist_gradient_boosting"]
    assert auto_first_models("binary") == ["dummy", "logistic_regression", "hist_gradient_boosting",
                                           "extra_trees", "catboost", "random_forest"]
    # Above CATBOOST_AUTO_ROWS the portfolio leaves CatBoost out, and so does the plan.
    assert "catboost" not in auto_first_models("binary", n_rows=catalogue.CATBOOST_AUTO_ROWS + 1)


def test_auto_first_models_keep_to_an_interpretable_brief():
    names = auto_first_models("regression", interpretable=True)
    assert names == ["dummy", "ridge", "decision_tree"]
    assert all(catalogue.get(name).interpretable for name in names)


def test_plan_without_a_task_uses_the_task_its_target_implies():
    """As train() does: a three-class target is planned as multiclass, with its default metric."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=90), "y": np.repeat(["a", "b", "c"], 30)})
    plan = training_plan(frame, Recipe(target="y", models=[ModelChoice("logistic_regression")]))
    assert plan["task"] == "multiclass" and plan["metric"] == "accuracy"


# --------------------------------------------------------------------------- wide tables


def test_a_wide_plan_says_why_it_chooses_penalised_and_selective_models():
    frame, _ = wide_frame(rows=120, columns=600, task="regression")
    plan = training_plan(frame, Recipe(target="y", task="regression", time_budget=20))
    assert [m["name"] for m in plan["models"]] == ["dummy", "lasso", "ridge", "elastic_net",
                                                   "hist_gradient_boosting", "extra_trees",
                                                   "random_forest"]
    wide = [n for n in plan["notes"] if n.startswith("Wide table")]
    assert wide == [catalogue.wide_reason(plan["train_rows"], 600)]
    assert "k-NN, kernel SVMs and neural networks are not tried" in wide[0]
    narrow = training_plan(frame.iloc[:, -40:], Recipe(target="y", task="regression"))
    assert not [n for n in narrow["notes"] if n.startswith("Wide table")]
    dropped = Recipe(target="y", task="regression", drop=list(frame.columns[:560]))
    assert not [n for n in training_plan(frame, dropped)["notes"] if n.startswith("Wide table")]
