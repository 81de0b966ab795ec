"""Recipe -> pipeline: the right transformers per role and model style, fitted on train only."""

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, TargetEncoder

from core.errors import TabwrightError
from core.prepare import _pipeline as prepare
from core.prepare._pipeline import (
    build_pipeline,
    estimate_encoded_features,
    plan_features,
    resolve_precision,
    transformed_preview,
)
from core.recipe import ColumnPrep, Recipe
from core.transformers import Float32


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 300
    return pd.DataFrame({
        "num": rng.normal(size=n),
        "num_missing": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
        "cat": rng.choice(["a", "b", "c"], size=n),
        "many": [f"k{i % 120}" for i in range(n)],
        "flag": rng.choice([True, False], size=n),
        "when": pd.date_range("2020-01-01", periods=n, freq="D"),
        "note": rng.choice(["red apple", "green pear", "blue sky"], size=n),
        "id": np.arange(n),
        "y": rng.integers(0, 2, size=n),
    })


ROLES = {"num": "numeric", "num_missing": "numeric", "cat": "categorical", "many": "categorical",
         "flag": "boolean", "when": "datetime", "note": "text", "id": "identifier"}


def test_plan_drops_identifiers_and_says_why(frame):
    plan = plan_features(frame, Recipe(target="y"), ROLES)
    assert "id" not in plan.roles and "identifier" in plan.dropped["id"]
    assert "y" not in plan.roles
    r = Recipe(target="y", drop=["cat"])
    assert plan_features(frame, r, ROLES).dropped["cat"] == "you chose to drop it"


def test_no_features_left_is_a_clear_error(frame):
    with pytest.raises(TabwrightError, match="No feature columns"):
        plan_features(frame[["id", "y"]], Recipe(target="y"), ROLES)


def _encoders(pipe):
    found = []
    for _, branch, cols in pipe.named_steps["prep"].transformers_:
        if hasattr(branch, "named_steps") and "encode" in branch.named_steps:
            found.append((type(branch.named_steps["encode"]), list(cols)))
    return found


def test_linear_style_one_hot_and_many_levels_target_encoded(frame):
    r = Recipe(target="y")
    plan = plan_features(frame, r, ROLES)
    pipe = build_pipeline(plan, r, "logistic_regression", task="binary").fit(frame, frame.y)
    enc = dict((tuple(c), t) for t, c in _encoders(pipe))
    assert enc[("cat",)] is OneHotEncoder
    assert enc[("many",)] is TargetEncoder  # 120 levels > target_encode_above (50)
    assert pipe.predict_proba(frame.head(5)).shape == (5, 2)


def test_tree_style_uses_native_categories_for_gradient_boosting(frame):
    r = Recipe(target="y")
    plan = plan_features(frame, r, ROLES)
    pipe = build_pipeline(plan, r, "hist_gradient_boosting", task="binary")
    model = pipe.named_steps["model"]
    assert model.categorical_features == [0]  # 'cat' ordinal codes come first
    pipe.fit(frame, frame.y)
    assert OrdinalEncoder in [t for t, _ in _encoders(pipe)]


def test_user_encoding_and_order_are_respected(frame):
    r = Recipe(target="y")
    r.preparation.columns["cat"] = ColumnPrep(encode="ordinal", order=["c", "b", "a"])
    plan = plan_features(frame, r, ROLES)
    pipe = build_pipeline(plan, r, "logistic_regression", task="binary").fit(frame, frame.y)
    branch = [b for _, b, c in pipe.named_steps["prep"].transformers_ if list(c) == ["cat"]][0]
    assert list(branch.named_steps["encode"].categories_[0]) == ["c", "b", "a"]


def test_imputer_learns_from_training_rows_only(frame):
    """The fitted median comes from the rows the pipeline was fitted on, not the whole file."""
    r = Recipe(target="y")
    plan = plan_features(frame, r, ROLES)
    train = frame.iloc[:100]
    pipe = build_pipeline(plan, r, "logistic_regression", task="binary").fit(train, train.y)
    branch = [b for n, b, c in pipe.named_steps["prep"].transformers_ if "num_missing" in list(c)][0]
    position = list([c for n, b, c in pipe.named_steps["prep"].transformers_ if "num_missing" in list(c)][0]).index("num_missing")
    assert branch.named_steps["impute"].statistics_[position] == pytest.approx(train.num_missing.median())
    assert train.num_missing.median() != pytest.approx(frame.num_missing.median())


def test_unseen_category_and_missing_values_at_prediction_time(frame):
    r = Recipe(target="y")
    plan = plan_features(frame, r, ROLES)
    for model in ("logistic_regression", "hist_gradient_boosting", "random_forest"):
        pipe = build_pipeline(plan, r, model, task="binary").fit(frame, frame.y)
        new = frame.head(3).copy()
        new.loc[:, "cat"] = "never-seen"
        new.loc[:, "num"] = np.nan
        assert len(pipe.predict(new)) == 3


def test_outliers_bins_interactions_and_selection(frame):
    r = Recipe(target="y")
    r.preparation.columns["num"] = ColumnPrep(outliers="clip_iqr", bins=4)
    r.features.interactions = ["num", "num_missing"]
    r.features.selection = "mutual_info"
    r.features.k = 5
    plan = plan_features(frame, r, ROLES)
    pipe = build_pipeline(plan, r, "logistic_regression", task="binary").fit(frame, frame.y)
    assert "select" in pipe.named_steps
    assert pipe.named_steps["select"].transform(pipe.named_steps["prep"].transform(frame)).shape[1] == 5


def test_preview_and_feature_estimate(frame):
    r = Recipe(target="y")
    plan = plan_features(frame, r, ROLES)
    preview = transformed_preview(frame, plan, r, task="binary", y=frame.y, rows=4)
    assert len(preview) == 4
    assert any(c.endswith("cat_a") for c in preview.columns)
    assert estimate_encoded_features(plan, r) >= preview.shape[1] - 300  # text capped at 300 terms


def test_text_numbers_given_the_numeric_role_are_parsed(frame):
    data = frame.assign(price=["$1,2%d0.50" % (i % 10) for i in range(len(frame))])
    r = Recipe(target="y", roles={"price": "numeric"})
    plan = plan_features(data, r, ROLES | {"price": "categorical"})
    assert plan.text_numbers == ["price"]
    pipe = build_pipeline(plan, r, "ridge", task="regression").fit(data, data.num)
    prep = pipe.named_steps["prep"]
    branch = [b for _, b, c in prep.transformers_ if list(c) == ["price"]][0]
    parsed = branch.named_steps["parse"].transform(data[["price"]].head(2))
    assert parsed[:, 0].tolist() == [1200.5, 1210.5]


def test_float32_precision_casts_every_branch_for_linear_models_only(frame):
    r = Recipe(target="y")
    r.preparation.precision = "float32"
    r.preparation.columns["num"] = ColumnPrep(bins=4)
    plan = plan_features(frame, r, ROLES)
    X = frame.drop(columns="y")
    pipe = build_pipeline(plan, r, "logistic_regression", task="binary").fit(X, frame.y)
    for name, branch, _ in pipe.named_steps["prep"].transformers_:
        if name.startswith("text"):  # TF-IDF output is float32 already
            assert "float32" not in branch.named_steps
        elif name != "remainder":
            assert isinstance(branch.steps[-1][1], Float32), name
    out = pipe.named_steps["prep"].transform(X)
    assert out.dtype == np.float32 and pipe.named_steps["model"].coef_.dtype == np.float32
    # the same numbers as the float64 preparation, rounded once at the end
    r64 = Recipe.from_dict({**r.to_dict(), "preparation": {**r.to_dict()["preparation"],
                                                           "precision": "float64"}})
    pipe64 = build_pipeline(plan, r64, "logistic_regression", task="binary").fit(X, frame.y)
    wide = pipe64.named_steps["prep"].transform(X)
    assert wide.dtype == np.float64 and np.array_equal(out, wide.astype(np.float32))
    assert list(pipe.named_steps["prep"].get_feature_names_out()) == \
        list(pipe64.named_steps["prep"].get_feature_names_out())
    # trees and models that would copy to float64 anyway keep float64 inputs
    for model in ("hist_gradient_boosting", "random_forest", "linear_svm", "naive_bayes"):
        tree = build_pipeline(plan, r, model, task="binary").fit(X, frame.y)
        assert tree.named_steps["prep"].transform(X.head()).dtype == np.float64, model


def test_auto_precision_is_float32_only_for_big_prepared_matrices(frame, monkeypatch):
    r = Recipe(target="y")
    plan = plan_features(frame, r, ROLES)
    width = estimate_encoded_features(plan, r)
    assert resolve_precision(plan, r, 1_000) == "float64"
    monkeypatch.setattr(prepare, "FLOAT32_ABOVE", 1_000 * width - 1)
    assert resolve_precision(plan, r, 1_000) == "float32"
    r.preparation.precision = "float64"  # a user's choice is kept
    assert resolve_precision(plan, r, 1_000) == "float64"


def test_splines_fill_every_gap_first_even_for_a_model_that_takes_missing_values(frame):
    plan = plan_features(frame, Recipe(target="y"), ROLES)
    for model in ("logistic_regression", "hist_gradient_boosting"):
        pipe = build_pipeline(plan, Recipe(target="y"), model, {"splines": 4}, task="binary")
        assert [name for name, _ in pipe.steps] == ["prep", "splines", "model"]
        pipe.fit(frame, frame.y)  # num_missing has gaps: imputed before the splines
        assert pipe.predict_proba(frame.head(5)).shape == (5, 2)
        assert "num_missing" in [str(n).split("__")[-1] for n in pipe[:-1].get_feature_names_out()]


@pytest.mark.parametrize("bad", [1, 2, 2.5, -5, "five", True])
def test_a_splines_setting_that_is_not_a_number_of_knots_is_a_clear_error(frame, bad):
    plan = plan_features(frame, Recipe(target="y"), ROLES)
    with pytest.raises(TabwrightError, match="whole number of knots, 3 or more") as info:
        build_pipeline(plan, Recipe(target="y"), "ridge", {"splines": bad}, task="regression")
    assert "Set splines to 5" in info.value.hint
    for none in (0, None, False):
        pipe = build_pipeline(plan, Recipe(target="y"), "ridge", {"splines": none}, task="regression")
        assert "splines" not in pipe.named_steps
