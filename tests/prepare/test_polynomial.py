"""Degree-2 polynomial features: squares and pairwise products of chosen numeric columns,
fitted inside the pipeline, as recipe data."""

import numpy as np
import pandas as pd
import pytest

from core.errors import TabwrightError
from core.prepare._pipeline import (
    build_pipeline,
    build_preprocessor,
    estimate_encoded_features,
    plan_features,
)
from core.recipe import ModelChoice, Recipe
from core.train._runner import train

ROLES = {"a": "numeric", "b": "numeric", "c": "numeric", "cat": "categorical"}


@pytest.fixture
def frame():
    rng = np.random.default_rng(1)
    n = 400
    a, b, c = rng.normal(2, 3, n), rng.normal(-1, 0.5, n), rng.normal(size=n)
    a[::17] = np.nan
    return pd.DataFrame({"a": a, "b": b, "c": c, "cat": rng.choice(["x", "y"], n),
                         "y": (np.nan_to_num(a) - 2) ** 2 + 4 * b * c + rng.normal(0, 0.3, n)})


def recipe_with(polynomial, **features):
    r = Recipe(target="y", task="regression")
    r.features.polynomial = list(polynomial)
    for key, value in features.items():
        setattr(r.features, key, value)
    return r


def test_polynomial_adds_squares_and_products_of_the_scaled_columns(frame):
    r = recipe_with(["a", "b"])
    plan = plan_features(frame, r, ROLES)
    prep, _ = build_preprocessor(plan, r, task="regression")
    out = prep.fit_transform(frame[plan.features], frame["y"])
    names = [str(n) for n in prep.get_feature_names_out()]
    poly = [n for n in names if n.startswith("polynomial__")]
    assert poly == ["polynomial__a", "polynomial__b", "polynomial__a^2", "polynomial__a b",
                    "polynomial__b^2"]
    # a and b are not also passed on as plain numbers; c is
    assert not any(n.endswith("__a") or n.endswith("__b") for n in names if not n.startswith("polynomial"))
    assert any(n.endswith("__c") for n in names)
    col = {n: out[:, i] for i, n in enumerate(names)}
    a = frame["a"].fillna(frame["a"].median())
    scaled_a = (a - a.mean()) / a.std(ddof=0)
    scaled_b = (frame["b"] - frame["b"].mean()) / frame["b"].std(ddof=0)
    np.testing.assert_allclose(col["polynomial__a"], scaled_a)
    np.testing.assert_allclose(col["polynomial__a^2"], scaled_a ** 2)
    np.testing.assert_allclose(col["polynomial__a b"], scaled_a * scaled_b)
    np.testing.assert_allclose(col["polynomial__b^2"], scaled_b ** 2)


def test_a_single_polynomial_column_gets_its_square(frame):
    r = recipe_with(["c"])
    plan = plan_features(frame, r, ROLES)
    prep, _ = build_preprocessor(plan, r, task="regression")
    prep.fit(frame[plan.features], frame["y"])
    assert [str(n) for n in prep.get_feature_names_out() if str(n).startswith("polynomial")] == \
        ["polynomial__c", "polynomial__c^2"]


def test_polynomial_is_fitted_on_the_training_rows_only(frame):
    r = recipe_with(["a", "b"])
    plan = plan_features(frame, r, ROLES)
    pipe = build_pipeline(plan, r, "ridge", task="regression")
    train_rows = frame.iloc[:200]
    pipe.fit(train_rows[plan.features], train_rows["y"])
    branch = pipe.named_steps["prep"].named_transformers_["polynomial"]
    a = train_rows["a"]
    assert branch.named_steps["impute"].statistics_[0] == pytest.approx(a.median())
    np.testing.assert_allclose(branch.named_steps["scale"].mean_,
                               [a.fillna(a.median()).mean(), train_rows["b"].mean()])


def test_polynomial_features_let_a_linear_model_learn_a_curve(frame):
    base = Recipe(target="y", task="regression", auto=False, models=[ModelChoice("ridge")])
    with_poly = base.copy()
    with_poly.features.polynomial = ["a", "b", "c"]
    plain = train(frame, base, inferred_roles=ROLES)
    curved = train(frame, with_poly, inferred_roles=ROLES)
    assert curved.evaluation["metrics"]["r2"] > 0.95 > plain.evaluation["metrics"]["r2"]
    assert curved.recipe.features.polynomial == ["a", "b", "c"]


def test_encoded_feature_estimate_counts_squares_and_products(frame):
    plain = plan_features(frame, recipe_with([]), ROLES)
    three = recipe_with(["a", "b", "c"])
    assert estimate_encoded_features(plan_features(frame, three, ROLES), three) == \
        estimate_encoded_features(plain, recipe_with([])) + 6  # 3 squares + 3 products
    # interactions add the products only
    pairs = recipe_with([], interactions=["a", "b", "c"])
    assert estimate_encoded_features(plan_features(frame, pairs, ROLES), pairs) == \
        estimate_encoded_features(plain, recipe_with([])) + 3


def test_polynomial_round_trips_and_reads_as_before_when_empty():
    assert "polynomial" not in Recipe(target="y").to_dict()["features"]
    r = recipe_with(["a", "b"])
    assert r.to_dict()["features"]["polynomial"] == ["a", "b"]
    assert Recipe.from_json(r.to_json()) == r


@pytest.mark.parametrize("features, fragment", [
    (dict(polynomial=["a", "b"], interactions=["b", "c"]),
     "in interactions or polynomial, not both, got 'b' in both"),
    (dict(polynomial="a"), "polynomial must be a list of column names"),
    (dict(polynomial=["a", 3]), "polynomial must be a list of column names"),
])
def test_bad_polynomial_choices_are_refused(features, fragment):
    r = Recipe(target="y", task="regression")
    for key, value in features.items():
        setattr(r.features, key, value)
    with pytest.raises(TabwrightError, match=fragment):
        r.validate()


def test_an_unknown_polynomial_column_is_named_with_suggestions(frame):
    r = recipe_with(["aa"])
    with pytest.raises(TabwrightError, match="polynomial column 'aa'") as err:
        r.validate(list(frame.columns))
    assert "'a'" in err.value.hint
