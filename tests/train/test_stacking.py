"""Stacking: a linear meta-model on out-of-fold predictions, scored and exported without leakage."""

import ast
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import (
    RandomForestClassifier,
    StackingClassifier,
    StackingRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import (
    FixedThresholdClassifier,
    StratifiedKFold,
    check_cv,
    cross_val_predict,
)
from sklearn.preprocessing import LabelEncoder
from sklearn.tree import DecisionTreeRegressor

from core.deliver._fastpredict import compile_model, verified
from core.deliver._script import render_training_script
from core.errors import TabwrightError
from core.ingest._read import read_table
from core.recipe import ModelChoice, Recipe, Stacking, Validation
from core.train import _runner, _stacking, training_plan
from core.train._runner import train
from core.train._stacking import (
    StackedClassifier,
    StackedRegressor,
    cross_fitted,
    meta_fold_ids,
    stack_inputs,
)

CHEAP = [ModelChoice("logistic_regression"), ModelChoice("decision_tree")]


@pytest.fixture(scope="module")
def titanic(datasets_dir):
    return pd.read_csv(datasets_dir / "titanic.csv")


@pytest.fixture(scope="module")
def soybean(datasets_dir):
    return pd.read_csv(datasets_dir / "soybean.csv")


@pytest.fixture(scope="module")
def housing(datasets_dir):
    return pd.read_csv(datasets_dir / "california_housing.csv").sample(1500, random_state=0)


def stacked(target, models=CHEAP, **kw):
    return Recipe(target=target, auto=False, models=list(models), ensemble=True,
                  stacking=Stacking(**kw))


def roles_of(frame):
    return {c: "numeric" if frame[c].dtype.kind in "if" else "categorical" for c in frame}


# --------------------------------------------------------------------------- the estimator


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_fit_out_of_fold_is_scikit_learns_fit_given_the_same_out_of_fold_predictions(task):
    """The fast fit sets exactly what StackingClassifier.fit / StackingRegressor.fit set."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 4))
    if task == "regression":
        y = X[:, 0] * 3 + X[:, 1] ** 2 + rng.normal(size=240)
        members = [("ridge", Ridge()), ("tree", DecisionTreeRegressor(max_depth=4, random_state=0))]
        ours, theirs = (StackedRegressor(members, final_estimator=Ridge(positive=True), cv=4),
                        StackingRegressor(members, final_estimator=Ridge(positive=True), cv=4))
        method, encoded = "predict", y
    else:
        k = 2 if task == "binary" else 3
        y = np.array(["no", "yes", "maybe"])[:k][(X[:, 0] + X[:, 1] > 0).astype(int) + (
            (X[:, 2] > 1) & (k == 3))]
        members = [("lr", LogisticRegression()), ("rf", RandomForestClassifier(20, random_state=0))]
        ours = StackedClassifier(members, final_estimator=LogisticRegression(), cv=4,
                                 stack_method="predict_proba")
        theirs = StackingClassifier(members, final_estimator=LogisticRegression(), cv=4,
                                    stack_method="predict_proba")
        method, encoded = "predict_proba", LabelEncoder().fit_transform(y)
    cv = check_cv(4, encoded, classifier=task != "regression")
    oof = [cross_val_predict(clone(m), X, encoded, cv=cv, method=method) for _, m in members]
    ours.fit_out_of_fold(X, y, oof, X, y)
    theirs.fit(X, y)
    np.testing.assert_allclose(ours.final_estimator_.coef_, theirs.final_estimator_.coef_)
    if task == "regression":
        np.testing.assert_allclose(ours.predict(X), theirs.predict(X))
    else:
        np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X))
        assert list(ours.predict(X)) == list(theirs.predict(X))
        np.testing.assert_allclose(ours.transform(X), stack_inputs(
            [m.predict_proba(X) for m in ours.estimators_], task))


def test_fit_out_of_fold_refuses_predictions_that_do_not_match_its_models():
    X, y = np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2
    model = StackedClassifier([("a", LogisticRegression()), ("b", LogisticRegression())])
    with pytest.raises(ValueError, match="one array of 20"):
        model.fit_out_of_fold(X, y, [np.zeros((20, 2))], X, y)


def test_meta_fold_ids_follow_the_fold_that_made_each_prediction():
    folds = [(np.array([2, 3, 4, 5]), np.array([0, 1])), (np.array([0, 1, 4, 5]), np.array([2, 3])),
             (np.array([0, 1, 2, 3]), np.array([4, 5]))]
    assert meta_fold_ids(folds, 6, np.arange(6)).tolist() == [0, 0, 1, 1, 2, 2]
    # repeated cross-validation: a row belongs to the last repeat's fold that holds it
    again = folds + [(np.array([1, 2, 3, 4]), np.array([0, 5]))]
    assert meta_fold_ids(again, 6, np.arange(6)).tolist() == [3, 0, 1, 1, 2, 3]
    # leave-one-out: 40 one-row folds gathered into META_FOLDS neighbouring groups
    loo = [(np.delete(np.arange(40), i), np.array([i])) for i in range(40)]
    ids = meta_fold_ids(loo, 40, np.arange(40))
    assert len(np.unique(ids)) == _stacking.META_FOLDS and np.all(np.diff(ids) >= 0)


class _RowSpy(RegressorMixin, BaseEstimator):
    """A meta-model that remembers the rows it learnt from (their ids are its input) and
    fails if it is asked to predict one of them."""

    def fit(self, X, y):
        self.rows_ = set(np.asarray(X)[:, 0].astype(int))
        return self

    def predict(self, X):
        asked = set(np.asarray(X)[:, 0].astype(int))
        assert not asked & self.rows_, "the meta-model predicts rows it learnt from"
        _RowSpy.predicted.update(asked)
        return np.zeros(len(X))


def test_cross_fitted_meta_models_never_predict_rows_they_learnt_from():
    rows = np.arange(50)
    folds = [(np.setdiff1d(rows, valid), valid) for valid in np.array_split(rows, 5)]
    _RowSpy.predicted = set()
    out = cross_fitted(_RowSpy(), [rows.astype(float)], rows * 1.0,
                       meta_fold_ids(folds, 50, rows), "regression")
    assert _RowSpy.predicted == set(rows) and np.all(out == 0)


# --------------------------------------------------------------------------- training


def test_a_stack_on_a_noise_target_scores_at_chance_although_a_member_memorises(titanic):
    """Were the meta-model fitted on in-sample predictions, it would trust the deep tree,
    which is perfect on its own training rows, and score far above chance."""
    frame = titanic.copy()
    frame["noise"] = np.random.default_rng(3).integers(0, 2, len(frame))
    frame = frame.drop(columns=["survived"])
    memoriser = ModelChoice("decision_tree", {"max_depth": 40, "min_samples_leaf": 1})
    result = train(frame, stacked("noise", [ModelChoice("logistic_regression"), memoriser]),
                   inferred_roles=roles_of(frame))
    row = next(r for r in result.leaderboard if r["model"] == "stacking")
    assert abs(row["roc_auc"] - 0.5) < 0.06, row


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_a_chosen_stack_trains_predicts_and_reproduces(kind, titanic, soybean, housing, monkeypatch):
    frame, target = {"binary": (titanic, "survived"), "multiclass": (soybean, "Class"),
                     "regression": (housing, "median_house_value")}[kind]
    models = CHEAP if kind != "regression" else [ModelChoice("ridge"), ModelChoice("decision_tree")]
    recipe = stacked(target, models)

    def refit_from_scratch(*args, **kwargs):
        raise AssertionError("the refit must reuse the out-of-fold predictions")

    # The runner never runs scikit-learn's own fit, which would fit every model k more times.
    monkeypatch.setattr(StackedClassifier, "fit", refit_from_scratch)
    monkeypatch.setattr(StackedRegressor, "fit", refit_from_scratch)
    result = train(frame, recipe, inferred_roles=roles_of(frame))
    monkeypatch.undo()

    assert result.best == "stacking" and result.task == kind
    assert any(r["model"] == "stacking" and r["label"].startswith("Stacking of ")
               for r in result.leaderboard)
    assert result.recipe.stacking == Stacking() and result.recipe.ensemble
    assert [m.name for m in result.recipe.models] == [m.name for m in models]
    stack = result.pipeline.steps[-1][1]
    assert isinstance(stack, StackedRegressor if kind == "regression" else StackedClassifier)
    # The exported model is the meta-model on the refitted members' predictions.
    X = result.X_test
    method = "predict" if kind == "regression" else "predict_proba"
    inputs = stack_inputs([getattr(m, method)(X) for m in stack.estimators_], kind)
    np.testing.assert_allclose(getattr(result.pipeline, method)(X),
                               getattr(stack.final_estimator_, method)(inputs))
    assert result.evaluation["metrics"]  # scored once on the test rows
    again = train(frame, result.recipe, inferred_roles=roles_of(frame))
    np.testing.assert_allclose(getattr(again.pipeline, method)(X), getattr(result.pipeline, method)(X))


def test_the_exported_meta_model_learnt_from_the_cross_validations_predictions(titanic):
    result = train(titanic, stacked("survived"), inferred_roles=roles_of(titanic))
    stack = result.pipeline.steps[-1][1]
    X, y = result.X_train, result.y_train
    # The run's folds (5-fold stratified, seed 0) and its members, unfitted.
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    oof = [cross_val_predict(clone(member), X, y, cv=folds, method="predict_proba")
           for _, member in stack.estimators]
    encoded = LabelEncoder().fit_transform(y)
    expected = clone(stack.final_estimator).fit(stack_inputs(oof, "binary"), encoded)
    np.testing.assert_allclose(stack.final_estimator_.coef_, expected.coef_, rtol=1e-6)
    # What fitting it on the refitted members' own (in-sample) predictions would have given:
    in_sample = clone(stack.final_estimator).fit(stack.transform(X), encoded)
    assert not np.allclose(in_sample.coef_, stack.final_estimator_.coef_, rtol=0.05)


def test_passthrough_hands_the_prepared_inputs_to_the_meta_model(titanic):
    result = train(titanic, stacked("survived", passthrough=True), inferred_roles=roles_of(titanic))
    stack = result.pipeline.steps[-1][1]
    assert stack.passthrough and result.recipe.stacking == Stacking(passthrough=True)
    meta = stack.final_estimator_
    assert meta.named_steps["model"].coef_.shape[1] > len(CHEAP)  # the members' and the inputs'
    X = result.X_test
    reordered = X[X.columns[::-1]].assign(extra="ignored")
    np.testing.assert_allclose(result.pipeline.predict_proba(reordered), result.pipeline.predict_proba(X))
    assert result.pipeline.predict_proba(X).shape == (len(X), 2)


def test_a_tuned_threshold_wraps_the_stack_and_a_clone_fits_from_scratch(titanic):
    recipe = stacked("survived")
    recipe.imbalance.threshold = 0.3
    result = train(titanic, recipe, inferred_roles=roles_of(titanic))
    model = result.pipeline
    assert isinstance(model, FixedThresholdClassifier) and model.threshold == 0.3
    proba = model.predict_proba(result.X_test)[:, 1]
    assert list(model.predict(result.X_test)) == list(np.where(proba >= 0.3, 1, 0))
    # A learning curve clones the model: scikit-learn's own fit makes its folds itself.
    fresh = clone(model).fit(result.X_train, result.y_train)
    assert roc_auc_score(result.y_test, fresh.predict_proba(result.X_test)[:, 1]) > 0.8


def test_the_fast_path_falls_back_to_the_stack_itself(titanic):
    result = train(titanic, stacked("survived"), inferred_roles=roles_of(titanic))
    assert compile_model(result.pipeline) is None
    sample = result.X_test.head(16)
    assert verified(result.pipeline, sample, "predict_proba") is result.pipeline


# --------------------------------------------------------------------------- auto mode


def test_auto_mode_offers_a_stack_and_keeps_it_only_when_it_wins(titanic, monkeypatch):
    # Whether the stack's refit fits in the time left depends on the machine's load; this test
    # is about what auto mode does with a stack, so every refit counts as affordable.
    monkeypatch.setattr(_runner._Runner, "_refit_seconds", lambda self, candidate: 0.0)
    result = train(titanic, Recipe(target="survived", time_budget=12), inferred_roles=roles_of(titanic))
    board = result.leaderboard
    stack = next(r for r in board if r["model"] == "stacking")
    assert stack["label"].startswith("Stacking of ") and stack["status"] == "ok"
    ranked = [r for r in board if r["roc_auc"] is not None]
    assert result.best == ranked[0]["model"]
    ensemble = [r for r in board if r["model"] == "ensemble"]
    if result.best == "stacking":
        assert all(stack["roc_auc"] > r["roc_auc"] for r in ensemble)
        assert result.recipe.stacking is not None
    else:
        assert result.recipe.stacking is None
    again = train(titanic, result.recipe, inferred_roles=roles_of(titanic))
    np.testing.assert_allclose(result.pipeline.predict_proba(titanic),
                               again.pipeline.predict_proba(titanic))


def test_auto_mode_stacks_only_when_every_fold_is_scored(titanic, monkeypatch):
    monkeypatch.setattr(_runner, "AUTO_VALIDATION_ROWS", 250)
    result = train(titanic, Recipe(target="survived", time_budget=8), inferred_roles=roles_of(titanic))
    assert any("2 of the cross-validation folds" in n for n in result.notes)
    assert all(r["model"] != "stacking" for r in result.leaderboard)


# --------------------------------------------------------------------------- the recipe


def test_stacking_round_trips_and_reads_as_before_when_unset():
    plain = Recipe(target="y", task="binary")
    assert "stacking" not in plain.to_dict()
    r = Recipe(target="y", task="binary", auto=False, models=CHEAP, ensemble=True,
               stacking=Stacking(passthrough=True))
    assert r.to_dict()["stacking"] == {"passthrough": True}
    assert Recipe.from_json(r.to_json()) == r
    assert Recipe.from_dict(plain.to_dict() | {"stacking": None}) == plain


@pytest.mark.parametrize("change, fragment", [
    (dict(ensemble=False), "needs the ensemble on"),
    (dict(validation=Validation(scheme="timeseries")), "time-ordered validation"),
    (dict(stacking=Stacking(passthrough="yes")), "stacking.passthrough must be true or false"),
])
def test_a_stack_that_cannot_work_is_refused(change, fragment):
    r = Recipe(target="y", task="binary", auto=False, models=CHEAP, ensemble=True,
               stacking=Stacking())
    for key, value in change.items():
        setattr(r, key, value)
    with pytest.raises(TabwrightError, match=fragment):
        r.validate()
    with pytest.raises(TabwrightError, match="unknown setting"):
        Recipe.from_dict(Recipe(target="y").to_dict() | {"stacking": {"meta": "lr"}})


def test_the_plan_says_the_chosen_models_are_stacked(titanic):
    plan = training_plan(titanic, stacked("survived", passthrough=True))
    assert any("stacked: a logistic regression learns how to combine them from their "
               "out-of-fold predictions and the prepared inputs" in n for n in plan["notes"])
    assert not any("averaged" in n for n in plan["notes"])


def test_the_generated_train_script_rebuilds_a_stack_with_scikit_learn_alone(sample_dir, tmp_path):
    csv = sample_dir / "titanic.csv"
    table = read_table(csv)
    result = train(table.frame, stacked("survived"))
    source = render_training_script(result, data_name="titanic.csv", table=table)
    assert "StackingClassifier(" in source
    imported = {(node.module or "").split(".")[0] for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.ImportFrom)}
    assert "sklearn" in imported and "core" not in imported
    (tmp_path / "train.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "train.py", str(csv)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    out = pd.read_csv(tmp_path / "predictions.csv")
    # scikit-learn's own fit makes its own folds: the same kind of model, close to the same
    ours = roc_auc_score(result.y_test, result.pipeline.predict_proba(result.X_test)[:, 1])
    assert roc_auc_score(out["actual"], out["proba_1"]) == pytest.approx(ours, abs=0.01)
