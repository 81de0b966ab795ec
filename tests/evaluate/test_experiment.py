"""Tests for core.evaluate._experiment: the good-enough bar, next steps and the readable model."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from core.errors import TabwrightError
from core.evaluate import _experiment as ex
from core.project import Project, load_data, set_target
from core.recipe import Brief, ModelChoice, Recipe
from core.train._runner import train


@pytest.fixture(scope="module")
def titanic(sample_dir) -> Project:
    return set_target(load_data(Project(), str(sample_dir / "titanic.csv"), name="titanic.csv"),
                      "survived")


def _train(project: Project, *models: str, **changes) -> object:
    recipe = project.recipe.copy()
    recipe.auto = False
    recipe.models = [ModelChoice(m) for m in models]
    for path, value in changes.items():
        part, _, name = path.partition("__")
        setattr(getattr(recipe, part) if name else recipe, name or part, value)
    return train(project.frame, recipe, inferred_roles=project.effective_roles())


@pytest.fixture(scope="module")
def logistic(titanic):
    return _train(titanic, "logistic_regression")


@pytest.fixture(scope="module")
def tree(titanic):
    return _train(titanic, "decision_tree")


def _brief(metric: str | None, value: float | None, **kw) -> Brief:
    return Brief(bar_metric=metric, bar_value=value, **kw)


# --------------------------------------------------------------------------- the bar


def test_bar_met_and_not_met_with_numbers(logistic):
    recall = logistic.evaluation["metrics"]["recall"]
    met = ex.bar_verdict(_brief("recall", round(recall - 0.1, 2)), logistic)
    assert met["status"] == "met" and met["margin"] == pytest.approx(recall - round(recall - 0.1, 2))
    assert met["sentence"].startswith(f"Recall (positive class) {recall:.3g} on the test set; your bar is ≥ ")
    assert ": met" in met["sentence"]
    missed = ex.bar_verdict(_brief("recall", 0.95), logistic)
    assert missed["status"] == "not met" and missed["margin"] < 0
    assert "your bar is ≥ 0.95: not met" in missed["sentence"]


def test_bar_for_a_lower_is_better_metric(logistic):
    loss = logistic.evaluation["metrics"]["log_loss"]
    met = ex.bar_verdict(_brief("log_loss", loss + 0.05), logistic)
    assert met["status"] == "met" and not met["greater_is_better"]
    assert "≤" in met["sentence"]
    assert ex.bar_verdict(_brief("log_loss", loss - 0.05), logistic)["status"] == "not met"


def test_no_bar_and_unmeasured_metric(logistic):
    none = ex.bar_verdict(Brief(), logistic)
    assert none["status"] == "no bar" and none["metric"] == "roc_auc"
    assert "No good-enough bar is set" in none["sentence"]
    unknown = ex.bar_verdict(_brief("rmse", 1.0), logistic)
    assert unknown["status"] == "unknown" and "not measured" in unknown["sentence"]


def test_improvement_against_the_previous_run_uses_cv_noise(logistic):
    auc = logistic.evaluation["metrics"]["roc_auc"]
    noise = logistic.leaderboard[0]["roc_auc_std"]
    better = ex.bar_verdict(_brief("roc_auc", 0.8), logistic,
                            previous={"run_id": "a", "test_metrics": {"roc_auc": auc - 3 * noise}})
    assert better["improvement"]["change"] == pytest.approx(3 * noise)
    assert "improved by" in better["improvement"]["sentence"]
    assert f"± {noise:.3g}" in better["improvement"]["sentence"]
    same = ex.bar_verdict(_brief("roc_auc", 0.8), logistic,
                          previous={"run_id": "a", "test_metrics": {"roc_auc": auc - noise / 2}})
    assert same["improvement"]["within_noise"] and "within noise" in same["improvement"]["sentence"]
    worse = ex.bar_verdict(Brief(), logistic, previous={"test_metrics": {"roc_auc": auc + 0.2}})
    assert "got worse by" in worse["improvement"]["sentence"]
    assert ex.bar_verdict(Brief(), logistic, previous={"test_metrics": {}})["improvement"] is None


# --------------------------------------------------------------------------- what next


def _fake(**kw) -> SimpleNamespace:
    recipe = kw.pop("recipe", Recipe(target="y", task="binary", auto=False,
                                     models=[ModelChoice("hist_gradient_boosting")]))
    base = dict(task="binary", metric="accuracy", train_score=0.8, original_recipe=recipe,
                recipe=recipe, y_train=pd.Series([0, 1] * 50),
                leaderboard=[{"model": "hist_gradient_boosting", "status": "ok", "accuracy": 0.78,
                              "accuracy_std": 0.01}],
                evaluation={"metrics": {"accuracy": 0.77}})
    return SimpleNamespace(**(base | kw))


def test_met_bar_suggests_moving_on(logistic):
    verdict = ex.bar_verdict(_brief("roc_auc", 0.5), logistic)
    suggestions = ex.suggest_next(logistic, verdict)
    assert {"kind": "page", "page": "export"} in [s["action"] for s in suggestions]
    assert any(s["action"] and s["action"].get("change") == "tune" for s in suggestions)


def test_overfitting_suggests_regularisation_and_more_data():
    result = _fake(train_score=1.0)
    verdict = {"status": "not met"}
    titles = [s["title"] for s in ex.suggest_next(result, verdict)]
    assert titles[:2] == ["Regularise more", "Get more data"]
    action = ex.suggest_next(result, verdict)[0]["action"]
    assert action == {"kind": "recipe", "change": "regularise", "label": "Use stronger regularisation"}


def test_underfitting_suggests_another_model_family_and_features():
    recipe = Recipe(target="y", task="binary", auto=False, models=[ModelChoice("logistic_regression")])
    result = _fake(recipe=recipe, train_score=0.6,
                   leaderboard=[{"model": "logistic_regression", "status": "ok", "accuracy": 0.6,
                                 "accuracy_std": 0.01}])
    suggestions = ex.suggest_next(result, {"status": "not met"})
    assert suggestions[0]["action"]["change"] == "add_hist_gradient_boosting"
    assert "Add features" in [s["title"] for s in suggestions]


def test_rising_learning_curve_suggests_more_data():
    curve = {"verdict": "more data would likely help", "explanation": "Still rising."}
    suggestions = ex.suggest_next(_fake(), {"status": "not met"}, learning_curve=curve)
    assert {"title": "Get more data", "why": "Still rising.", "action": None} in suggestions


def test_imbalance_suggests_class_weights_and_threshold_tuning():
    result = _fake(y_train=pd.Series([0] * 90 + [1] * 10))
    changes = [s["action"]["change"] for s in ex.suggest_next(result, {"status": "not met"})
               if s["action"]]
    assert "class_weight" in changes and "tune_threshold" in changes
    weighted = Recipe(target="y", task="binary", auto=False,
                      models=[ModelChoice("hist_gradient_boosting")])
    weighted.imbalance.class_weight = "balanced"
    weighted.imbalance.tune_threshold = True
    result = _fake(recipe=weighted, y_train=pd.Series([0] * 90 + [1] * 10))
    changes = [s["action"]["change"] for s in ex.suggest_next(result, {"status": "not met"})
               if s["action"]]
    assert "class_weight" not in changes and "tune_threshold" not in changes


@pytest.mark.parametrize("change, check", [
    ("class_weight", lambda r: r.imbalance.class_weight == "balanced"),
    ("tune_threshold", lambda r: r.imbalance.tune_threshold and r.imbalance.threshold is None),
    ("add_hist_gradient_boosting", lambda r: [m.name for m in r.models][-1] == "hist_gradient_boosting"),
    ("regularise", lambda r: r.models[0].params == {"C": 0.1}),
    ("tune", lambda r: r.search.method == "optuna"),
    ("more_time", lambda r: r.time_budget == 120),
])
def test_apply_next_step_changes_only_a_copy(change, check):
    recipe = Recipe(target="y", task="binary", auto=False, models=[ModelChoice("logistic_regression")])
    before = recipe.copy()
    changed = ex.apply_next_step(recipe, change)
    assert check(changed)
    assert recipe == before


def test_apply_next_step_refuses_unknown_and_pointless_changes():
    with pytest.raises(TabwrightError, match="Unknown next step"):
        ex.apply_next_step(Recipe(), "magic")
    with pytest.raises(TabwrightError, match="already tries gradient boosting"):
        ex.apply_next_step(Recipe(auto=True), "add_hist_gradient_boosting")


# --------------------------------------------------------------------------- constraints


def test_latency_is_measured_per_row_and_judged(logistic):
    ms = ex.measure_latency(logistic.pipeline, logistic.X_test, rows=20)
    assert 0 < ms < 1000
    assert ex.latency_verdict(ms, ms * 2)["status"] == "met"
    slow = ex.latency_verdict(ms, ms / 2)
    assert slow["status"] == "not met" and "your limit is" in slow["sentence"]
    assert ex.latency_verdict(ms, None)["status"] == "no limit"
    with pytest.raises(TabwrightError):
        ex.measure_latency(logistic.pipeline, logistic.X_test.iloc[:0])


# --------------------------------------------------------------------------- the model itself


def test_coefficients_are_the_largest_by_magnitude_with_readable_names(logistic):
    table = ex.model_coefficients(logistic.pipeline)
    assert list(table.columns) == ["feature", "coefficient"]
    assert len(table) == 20
    magnitudes = table["coefficient"].abs().to_numpy()
    assert (np.diff(magnitudes) <= 0).all()
    assert not any("__" in name for name in table["feature"])
    everything = ex.model_coefficients(logistic.pipeline, top=1000)
    assert "age" in set(everything["feature"])
    assert ex.readable_model(logistic.pipeline)["kind"] == "coefficients"


def test_tree_is_shown_as_text_through_a_threshold_wrapper(titanic):
    result = _train(titanic, "decision_tree", imbalance__tune_threshold=True)
    assert type(result.pipeline).__name__ == "FixedThresholdClassifier"
    text = ex.tree_text(result.pipeline)
    assert "|---" in text and "class:" in text
    assert ex.readable_model(result.pipeline)["kind"] == "tree"
    assert ex.model_coefficients(result.pipeline) is None


def test_black_box_model_is_not_readable():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X = pd.DataFrame({"a": range(20), "b": range(20, 40)})
    model = Pipeline([("prep", StandardScaler()),
                      ("model", RandomForestClassifier(n_estimators=3, random_state=0))])
    model.fit(X, [0, 1] * 10)
    readable = ex.readable_model(model)
    assert readable["kind"] is None and "cannot be read directly" in readable["sentence"]


# --------------------------------------------------------------------------- diagnostics


def test_scorer_names_follow_the_metric_and_positive_class(logistic):
    assert ex.scorer_name(logistic) == "roc_auc"
    assert ex.scorer_name(dataclasses.replace(logistic, metric="log_loss")) == "neg_log_loss"
    assert ex.scorer_name(dataclasses.replace(logistic, metric="f1")) == "f1"
    assert ex.scorer_name(dataclasses.replace(logistic, metric="f1", classes=[1, 2])) == "balanced_accuracy"
    assert ex.scorer_name(dataclasses.replace(logistic, task="multiclass")) == "roc_auc_ovr"
    assert ex.scorer_name(dataclasses.replace(logistic, task="regression", metric="rmse")) == \
        "neg_root_mean_squared_error"


def test_fit_diagnosis_and_importance(logistic):
    diagnosis = ex.fit_diagnosis(logistic)
    assert diagnosis["verdict"] in ("good fit", "overfitting", "underfitting")
    assert diagnosis["train_score"] == pytest.approx(logistic.train_score)
    rows = ex.importance_for(logistic)
    assert {r["feature"] for r in rows} == set(logistic.X_test.columns)


def test_a_bar_on_a_threshold_metric_suggests_tuning_the_threshold(logistic):
    verdict = ex.bar_verdict(_brief("recall", 0.95), logistic)
    suggestions = ex.suggest_next(logistic, verdict)
    tune = [s for s in suggestions if s["title"] == "Tune the decision threshold"]
    assert tune and tune[0]["action"]["change"] == "tune_threshold"
    assert "Recall (positive class) depends on the cut-off" in tune[0]["why"]
    auc = ex.suggest_next(logistic, ex.bar_verdict(_brief("roc_auc", 0.99), logistic))
    assert "Tune the decision threshold" not in [s["title"] for s in auc]
