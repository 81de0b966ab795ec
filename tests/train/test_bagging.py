"""Bagging: each tree model delivered as the mean of fold copies (core.estimators' fold bags,
recipe.bagging, and what the run, the fast path, explanations and exports make of it)."""

from __future__ import annotations

import io
import json

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.tree import DecisionTreeClassifier

from core.deliver import model_files
from core.deliver._fastpredict import compile_model, same_outputs
from core.errors import TabwrightError
from core.estimators import BAG_FOLDS, FoldBagClassifier, FoldBagRegressor
from core.evaluate import explain_for
from core.recipe import ModelChoice, Recipe
from core.train._runner import train

MODELS = [ModelChoice("logistic_regression"),
          ModelChoice("hist_gradient_boosting", {"max_iter": 40})]


@pytest.fixture(scope="module")
def titanic(datasets_dir):
    return pd.read_csv(datasets_dir / "titanic.csv")


@pytest.fixture(scope="module")
def bagged(titanic):
    """An averaging ensemble of a linear model and boosting, bagged and finalized."""
    recipe = Recipe(target="survived", auto=False, models=MODELS, ensemble=True,
                    bagging=True, finalize="on")
    return train(titanic, recipe)


def _proba(model, X):
    return np.ascontiguousarray(model.predict_proba(X))


# --------------------------------------------------------------------------- the fold bags


def test_a_bag_fits_one_copy_per_fold_each_on_different_rows_and_averages_them():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = np.where(X["a"] + rng.normal(scale=0.5, size=200) > 0, "yes", "no")
    bag = FoldBagClassifier(DecisionTreeClassifier(random_state=0), seed=3).fit(X, y)
    assert len(bag.estimators_) == BAG_FOLDS and list(bag.classes_) == ["no", "yes"]
    trees = bag.estimators_
    assert all(t.tree_.n_node_samples[0] == 160 for t in trees)  # 4/5 of 200 rows each
    assert not all(np.array_equal(trees[0].predict_proba(X), t.predict_proba(X)) for t in trees)
    mean = np.mean([t.predict_proba(X) for t in trees], axis=0)
    assert np.allclose(bag.predict_proba(X), mean)
    assert list(bag.predict(X)) == list(bag.classes_[mean.argmax(axis=1)])
    assert list(bag.feature_names_in_) == ["a", "b"]
    again = clone(bag).fit(X, y)  # the folds follow the seed: a refit is the same bag
    assert _proba(again, X).tobytes() == _proba(bag, X).tobytes()


def test_a_class_rarer_than_the_folds_is_learned_by_every_copy():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=60)})
    y = np.array(["a"] * 30 + ["b"] * 27 + ["rare"] * 3)
    bag = FoldBagClassifier(DecisionTreeClassifier(random_state=0)).fit(X, y)
    assert all(list(copy.classes_) == ["a", "b", "rare"] for copy in bag.estimators_)
    assert bag.predict_proba(X).shape == (60, 3)


def test_a_regression_bag_is_the_mean_of_its_copies():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 3))
    y = X[:, 0] * 2 + rng.normal(size=150)
    bag = FoldBagRegressor(HistGradientBoostingRegressor(max_iter=30), folds=3).fit(X, y)
    assert len(bag.estimators_) == 3
    assert np.allclose(bag.predict(X), np.mean([c.predict(X) for c in bag.estimators_], axis=0))
    assert np.corrcoef(bag.predict(X), y)[0, 1] > 0.8


def test_skops_loads_a_bag_with_tabwrights_estimators_trusted():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 2))
    bag = FoldBagClassifier(DecisionTreeClassifier(random_state=0)).fit(X, X[:, 0] > 0)
    blob = sio.dumps(bag)
    untrusted = sio.get_untrusted_types(data=blob)
    assert [t for t in untrusted if t.startswith("core.")] == ["core.estimators.FoldBagClassifier"]
    restored = sio.loads(blob, trusted=untrusted)
    assert _proba(restored, X).tobytes() == _proba(bag, X).tobytes()


# --------------------------------------------------------------------------- when a run bags


def test_bagging_is_a_recipe_choice_that_is_checked_and_saved_only_when_on():
    assert "bagging" not in Recipe(target="y").to_dict()
    data = Recipe(target="y", bagging=True).to_dict()
    assert data["bagging"] is True and Recipe.from_dict(data).bagging is True
    with pytest.raises(TabwrightError, match="bagging must be true or false"):
        Recipe(target="y", bagging="on").validate()


def test_a_run_without_bagging_fits_each_model_once(titanic):
    result = train(titanic, Recipe(target="survived", auto=False, models=MODELS[1:]))
    assert type(result.pipeline).__name__ == "Pipeline" and "prep" in result.pipeline.named_steps
    assert not any(n.startswith("Bagged") for n in result.notes)


# --------------------------------------------------------------------------- a bagged run


def test_a_bagged_run_bags_its_tree_model_and_fits_its_linear_model_once(bagged):
    for model in (bagged.pipeline, bagged.delivered):
        members = dict(model.steps[-1][1].named_estimators_)
        linear, boosting = members["m0_logistic_regression"], members["m1_hist_gradient_boosting"]
        assert type(linear).__name__ == "Pipeline"
        assert isinstance(boosting, FoldBagClassifier) and len(boosting.estimators_) == BAG_FOLDS
    assert bagged.recipe.bagging is True
    assert any(n.startswith("Bagged: Gradient boosting") for n in bagged.notes)


def test_the_resolved_recipe_replays_the_bagged_model_exactly(bagged, titanic):
    again = train(titanic, bagged.recipe)
    assert _proba(again.delivered, titanic).tobytes() == _proba(bagged.delivered, titanic).tobytes()
    assert again.evaluation["metrics"] == bagged.evaluation["metrics"]


def test_the_fast_path_gives_a_bagged_model_s_numbers_bit_for_bit(bagged, titanic):
    X = titanic.drop(columns=["survived"]).head(300)
    fast = compile_model(bagged.delivered)
    assert fast is not None
    assert same_outputs(fast.predict_proba(X), bagged.delivered.predict_proba(X))
    assert same_outputs(fast.predict(X), bagged.delivered.predict(X))


def test_an_explanation_of_a_bagged_model_adds_up_to_its_prediction(bagged):
    row = bagged.X_test.iloc[[0]]
    out = explain_for(bagged, row)
    total = out["expected_value"] + sum(c["contribution"] for c in out["contributions"])
    assert total == pytest.approx(bagged.pipeline.predict_proba(row)[0, 1], abs=1e-6)


def test_a_single_bagged_regressor_explains_and_compiles(datasets_dir):
    frame = pd.read_csv(datasets_dir / "life_expectancy.csv").head(400)
    result = train(frame, Recipe(target="life_expectancy", auto=False, bagging=True,
                                 models=[ModelChoice("hist_gradient_boosting", {"max_iter": 30})]))
    bag = result.pipeline.steps[-1][1]
    assert isinstance(bag, FoldBagRegressor)
    X = result.X_test
    fast = compile_model(result.pipeline)
    assert fast is not None and same_outputs(fast.predict(X), result.pipeline.predict(X))
    out = explain_for(result, X.iloc[[0]])
    total = out["expected_value"] + sum(c["contribution"] for c in out["contributions"])
    assert total == pytest.approx(float(result.pipeline.predict(X.iloc[[0]])[0]), rel=1e-6)


def test_the_bundle_says_which_models_are_bagged(bagged):
    files = model_files(bagged, data_name="titanic.csv", skops=False)
    shipped = joblib.load(io.BytesIO(files["model.joblib"]))
    X = bagged.X_test
    assert _proba(shipped, X).tobytes() == _proba(bagged.delivered, X).tobytes()
    card = json.loads(files["model.json"])
    assert card["model"]["bagged"] == ["Gradient boosting (histogram)"]
    assert card["model"]["bag_folds"] == BAG_FOLDS
    assert json.loads(files["recipe.json"])["bagging"] is True
