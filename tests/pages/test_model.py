"""AppTest of the Model page: target and task, metric advice, validation and the models."""

from __future__ import annotations

import dataclasses

from core.project import update_recipe
from tests.pages.conftest import (
    current,
    open_page,
    page_text,
    titanic,
    with_fake_result,
)

CLUSTER = "(no target: find groups — clustering)"


def _submit(at, label: str) -> None:
    [button] = [b for b in at.button if b.label == label]
    button.click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_without_a_target_it_suggests_one_and_sets_it():
    at = open_page("model", titanic(target=None))
    text = page_text(at)
    assert "Suggested targets" in text
    assert "survived (binary) — Could be the target (binary): its name says 'survived'" in text
    assert at.selectbox(key="model_target").value == "survived"
    assert "Set a target (or choose clustering) to plan the training." in text
    _submit(at, "Set the target")
    project = current(at)
    assert (project.recipe.target, project.recipe.task) == ("survived", "binary")
    assert "survived: binary. Two values (0: 549, 1: 342 rows)" in page_text(at)


def test_the_task_can_be_overridden_and_clustering_chosen():
    at = open_page("model", titanic())
    at.selectbox(key="model_target").select("pclass")
    at.selectbox(key="model_task").select("regression")
    _submit(at, "Set the target")
    assert (current(at).recipe.target, current(at).recipe.task) == ("pclass", "regression")
    assert "You chose regression; the data suggested multiclass." in page_text(at)
    assert at.selectbox(key="model_metric").value == "rmse"
    at.selectbox(key="model_target").select(CLUSTER)
    _submit(at, "Set the target")
    recipe = current(at).recipe
    assert (recipe.target, recipe.task) == (None, "clustering")
    assert at.selectbox(key="model_metric").options == ["Silhouette"]
    picks = sorted(c.label for c in at.checkbox if c.key and c.key.startswith("model_pick_"))
    assert picks == ["Agglomerative clustering", "DBSCAN", "Gaussian mixture", "k-means"]


def test_metric_advice_shows_what_a_model_that_learns_nothing_scores():
    at = open_page("model", titanic())
    text = page_text(at)
    assert "Suggested: ROC-AUC." in text
    assert "A model that learns nothing — always 0 (62% of rows) — would score:" in text
    baseline = at.dataframe[0].value.set_index("Metric")["No-skill score"]
    assert baseline["Accuracy"] == "0.616" and baseline["ROC-AUC"] == "0.500"


def test_the_plan_form_sets_metric_validation_imbalance_models_and_tuning():
    at = open_page("model", with_fake_result(titanic()))
    at.selectbox(key="model_metric").select("average_precision")
    at.slider(key="model_test_size").set_value(0.25)
    at.selectbox(key="model_scheme").select("repeated")
    at.number_input(key="model_folds").set_value(3)
    at.number_input(key="model_repeats").set_value(4)
    at.radio(key="model_class_weight").set_value("balanced")
    at.checkbox(key="model_threshold").check()
    at.radio(key="model_mode").set_value("Choose models myself")
    for name in ("random_forest", "hist_gradient_boosting"):
        at.checkbox(key=f"model_pick_{name}").uncheck()
    at.checkbox(key="model_pick_decision_tree").check()
    at.selectbox(key="model_search").select("optuna")
    at.number_input(key="model_trials").set_value(15)
    at.number_input(key="model_seed").set_value(7)
    _submit(at, "Save the plan")
    project = current(at)
    recipe = project.recipe
    assert recipe.metric == "average_precision"
    assert recipe.split.test_size == 0.25
    assert dataclasses.astuple(recipe.validation) == ("repeated", 3, 4)
    assert (recipe.imbalance.class_weight, recipe.imbalance.tune_threshold) == ("balanced", True)
    assert recipe.auto is False
    assert [m.name for m in recipe.models] == ["dummy", "logistic_regression", "decision_tree"]
    assert (recipe.search.method, recipe.search.trials, recipe.seed) == ("optuna", 15, 7)
    assert project.result is None
    assert "Plan saved. 3 model(s) will be trained." in page_text(at)


def test_choosing_no_model_without_auto_is_refused():
    project = titanic()
    at = open_page("model", project)
    at.radio(key="model_mode").set_value("Choose models myself")
    for name in ("dummy", "logistic_regression", "random_forest", "hist_gradient_boosting"):
        at.checkbox(key=f"model_pick_{name}").uncheck()
    _submit(at, "Save the plan")
    assert "Choose at least one model, or switch on auto mode" in at.error[0].value
    assert current(at) is project


def test_an_interpretable_brief_offers_only_readable_models_and_says_why():
    project = titanic()
    recipe = project.recipe.copy()
    recipe.brief = dataclasses.replace(recipe.brief, interpretable=True)
    at = open_page("model", update_recipe(project, recipe))
    picks = sorted(c.key.removeprefix("model_pick_") for c in at.checkbox
                   if c.key and c.key.startswith("model_pick_"))
    assert picks == ["decision_tree", "dummy", "linear_svm", "logistic_regression"]
    assert "Your brief asks for a model a person can read" in page_text(at)


def test_chosen_models_can_be_stacked_instead_of_averaged():
    at = open_page("model", titanic())
    at.radio(key="model_mode").set_value("Choose models myself")
    at.checkbox(key="model_ensemble").check()
    at.radio(key="model_combine").set_value("stacking")
    _submit(at, "Save the plan")
    recipe = current(at).recipe
    assert recipe.ensemble and recipe.stacking is not None and not recipe.stacking.passthrough
    at.checkbox(key="model_passthrough").check()
    _submit(at, "Save the plan")
    assert current(at).recipe.stacking.passthrough is True
    assert at.checkbox(key="model_passthrough").value is True  # the page shows what is saved
    at.radio(key="model_combine").set_value("averaging")
    _submit(at, "Save the plan")
    assert current(at).recipe.stacking is None


def test_auto_mode_can_be_planned_by_count_and_says_what_each_plan_promises():
    at = open_page("model", titanic())
    assert "same model, to the byte" not in page_text(at)
    at.radio(key="model_plan_by").set_value("count")
    at.number_input(key="model_max_trials").set_value(12)
    at.selectbox(key="model_finalize").set_value("on")
    at.checkbox(key="model_bagging").check()
    _submit(at, "Save the plan")
    recipe = current(at).recipe
    assert recipe.max_trials == 12 and recipe.finalize == "on" and recipe.bagging is True
    assert at.checkbox(key="model_bagging").value is True  # the page shows what is saved
    assert "same model, to the byte, on any machine" in page_text(at)
    at.radio(key="model_plan_by").set_value("clock")
    _submit(at, "Save the plan")
    assert current(at).recipe.max_trials is None
    assert "may try less and choose differently" in page_text(at)
