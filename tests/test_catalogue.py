"""Tests for core.catalogue: every model builds, per-task choices, auto mode's portfolio."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import is_classifier, is_regressor

from core import catalogue
from core.catalogue import (
    CATALOGUE,
    CATBOOST_AUTO_ROWS,
    KEEP_FEATURES,
    MANY_FEATURES,
    ROWS_PER_FEATURE,
    SPLINE_MAX_FEATURES,
    SPLINES,
    WIDE_RATIO,
    auto_portfolio,
    auto_space,
    default_models,
    get,
    is_wide,
    models_for,
    skewed_target,
    wide_reason,
    wide_search_models,
)
from core.errors import TabwrightError

TASKS_OF_KIND = {"classification": ("binary", "multiclass"), "regression": ("regression",),
                 "clustering": ("clustering",)}
CASES = [(spec.name, task) for spec in CATALOGUE for kind in spec.tasks
         for task in TASKS_OF_KIND[kind]]


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    return X, {"binary": (X[:, 0] > 0).astype(int),
               "multiclass": np.digitize(X[:, 0], [-0.5, 0.5]),
               "regression": 2 * X[:, 0] + X[:, 1]}


@pytest.mark.parametrize("name, task", CASES)
def test_every_entry_builds_an_estimator_that_fits(name, task):
    spec = get(name)
    model = spec.make(task, seed=7)
    X, targets = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if task == "clustering":
            labels = model.fit_predict(X)
            assert len(labels) == len(X)
        else:
            assert is_classifier(model) if task != "regression" else is_regressor(model)
            model.fit(X, targets[task])
            predictions = model.predict(X)
            assert len(predictions) == len(X)
            if task != "regression":
                assert set(predictions) <= set(targets[task])
    params = model.get_params()
    if spec.random_state:
        assert params["random_state"] == 7
    if spec.class_weight and task != "regression":
        assert spec.make(task, class_weight="balanced").get_params()["class_weight"] == "balanced"
        assert spec.make(task).get_params()["class_weight"] is None


@pytest.mark.parametrize("name, task", CASES)
def test_grid_and_search_space_values_build(name, task):
    spec = get(name)
    for key, values in spec.grid.items():
        for value in values:
            spec.make(task, {key: value})
    for key, dim in spec.space.items():
        if dim[0] == "choice":
            for value in dim[1]:
                spec.make(task, {key: value})
        else:
            kind, low, high, _ = dim
            assert low < high
            for value in (low, high):
                spec.make(task, {key: int(value) if kind == "int" else value})


def test_params_override_the_defaults():
    model = get("random_forest").make("binary", {"n_estimators": 7, "min_samples_leaf": 3})
    assert model.n_estimators == 7 and model.min_samples_leaf == 3
    assert model.max_features == "sqrt"
    assert get("random_forest").make("regression").max_features == 0.5
    mlp = get("mlp").make("regression", {"width": 8, "layers": 2})
    assert mlp.hidden_layer_sizes == (8, 8)
    l1 = get("logistic_regression").make("binary", {"penalty": "l1"})
    assert l1.l1_ratio == 1.0 and l1.solver == "saga"
    assert get("logistic_regression").make("binary").solver == "lbfgs"


def test_a_model_refuses_a_task_it_does_not_do():
    with pytest.raises(TabwrightError, match="Logistic regression does not do regression") as info:
        get("logistic_regression").make("regression")
    assert "ridge" in info.value.hint
    with pytest.raises(TabwrightError, match="does not do clustering"):
        get("ridge").make("clustering")


def test_get_an_unknown_name_lists_the_known_ones():
    assert get("ridge").label == "Ridge regression"
    with pytest.raises(TabwrightError, match="no model called 'xgboost'") as info:
        get("xgboost")
    assert "hist_gradient_boosting" in info.value.hint and "dummy" in info.value.hint


def test_names_are_unique_and_entries_are_described():
    names = [spec.name for spec in CATALOGUE]
    assert len(names) == len(set(names))
    for spec in CATALOGUE:
        assert spec.label and spec.what and spec.when, spec.name
        assert spec.style in ("linear", "tree"), spec.name
        assert spec.large_data in ("sample", "skip"), spec.name
        if spec.max_rows:
            assert spec.cost, spec.name  # a cap is explained in words


def test_models_for_each_task_start_with_the_baseline():
    for task in ("binary", "multiclass", "regression"):
        models = [spec.name for spec in models_for(task)]
        assert models[0] == "dummy"
        assert {"decision_tree", "random_forest", "hist_gradient_boosting"} <= set(models)
    binary = {spec.name for spec in models_for("binary")}
    assert binary == {spec.name for spec in models_for("multiclass")}
    assert "logistic_regression" in binary and "ridge" not in binary
    regression = {spec.name for spec in models_for("regression")}
    assert "ridge" in regression and "logistic_regression" not in regression
    assert [spec.name for spec in models_for("clustering")] == [
        "kmeans", "agglomerative", "dbscan", "gaussian_mixture"]


def test_default_models_per_task():
    assert default_models("binary") == ["dummy", "logistic_regression", "random_forest",
                                        "hist_gradient_boosting"]
    assert default_models("multiclass") == default_models("binary")
    assert default_models("regression") == ["dummy", "ridge", "random_forest",
                                            "hist_gradient_boosting"]
    assert default_models("clustering") == ["kmeans", "gaussian_mixture"]
    assert default_models("regression", interpretable=True) == ["dummy", "ridge", "decision_tree"]
    for task in ("binary", "regression"):
        assert all(get(m).interpretable for m in default_models(task, interpretable=True))
        runnable = {spec.name for spec in models_for(task)}
        assert set(default_models(task)) <= runnable


def test_auto_portfolio_order_and_size():
    portfolio = auto_portfolio("regression", n_rows=1000)
    assert [m for m, _ in portfolio][:3] == ["dummy", "ridge", "hist_gradient_boosting"]
    assert ("ridge", {"alpha": 10.0}) in portfolio
    assert ("logistic_regression", {"C": 0.1}) in auto_portfolio("binary", n_rows=1000)
    small = [p for m, p in auto_portfolio("binary", n_rows=5_000) if m == "extra_trees"]
    large = [p for m, p in auto_portfolio("binary", n_rows=5_001) if m == "extra_trees"]
    assert {p["n_estimators"] for p in small} == {300} and {p["n_estimators"] for p in large} == {100}
    assert auto_portfolio("multiclass", n_rows=10, interpretable=True) == [
        ("dummy", {}), ("logistic_regression", {}), ("decision_tree", {})]


def test_catboost_joins_the_portfolio_on_small_and_medium_tables_only():
    def has_catboost(task, **shape):
        return "catboost" in [m for m, _ in auto_portfolio(task, **shape)]

    for task in ("binary", "multiclass", "regression"):
        assert has_catboost(task, n_rows=500) and has_catboost(task, n_rows=CATBOOST_AUTO_ROWS)
        assert not has_catboost(task, n_rows=CATBOOST_AUTO_ROWS + 1)
        assert not has_catboost(task, n_rows=2_000, n_features=MANY_FEATURES)
        assert not has_catboost(task, n_rows=300, n_features=5_000)  # wide
        assert not has_catboost(task, n_rows=500, interpretable=True)
    assert ("catboost", {"max_ctr_complexity": 1}) in auto_portfolio("binary", n_rows=800)


def test_auto_space_narrows_the_expensive_settings():
    assert auto_space("logistic_regression")["penalty"] == ("choice", ["l2"])
    assert auto_space("logistic_regression")["C"] == get("logistic_regression").space["C"]
    assert auto_space("random_forest")["n_estimators"][2] <= 300
    assert auto_space("ridge") == {**get("ridge").space, SPLINES: ("choice", [0, 5])}
    assert SPLINES not in get("ridge").space  # a user's own search keeps the model it names
    with pytest.raises(TabwrightError):
        auto_space("nope")


def test_splines_are_a_linear_models_setting_auto_mode_tries_on_narrow_tables():
    for task, linear in (("binary", "logistic_regression"), ("regression", "ridge")):
        assert (linear, {SPLINES: 5}) in auto_portfolio(task, n_rows=800, n_features=8)
        assert (linear, {SPLINES: 5}) in auto_portfolio(task, n_rows=800)
        assert (linear, {SPLINES: 5}) not in auto_portfolio(task, n_rows=5_000,
                                                            n_features=SPLINE_MAX_FEATURES + 1)
        assert auto_space(linear, task=task, n_rows=800, n_features=8)[SPLINES] == ("choice", [0, 5])
        assert SPLINES not in auto_space(linear, task=task, n_rows=5_000,
                                         n_features=SPLINE_MAX_FEATURES + 1)
        assert SPLINES not in auto_space(linear, task=task, n_rows=60, n_features=90)  # wide
        assert SPLINES not in auto_space(linear, task=task, n_rows=800, n_features=8,
                                         interpretable=True)
        assert all(SPLINES not in p for _, p in auto_portfolio(task, n_rows=800, n_features=8,
                                                               interpretable=True))
        assert all(SPLINES not in p for _, p in auto_portfolio(task, n_rows=60, n_features=90))
    # not for several classes: bent once per class, chosen on accuracy, they scored worse
    assert all(SPLINES not in p for _, p in auto_portfolio("multiclass", n_rows=800, n_features=8))
    assert SPLINES not in auto_space("logistic_regression", task="multiclass", n_rows=800,
                                     n_features=8)
    # the estimator itself is the plain linear model: the splines are a pipeline step
    assert get("ridge").make("regression", {SPLINES: 5, "alpha": 2.0}).get_params()["alpha"] == 2.0


def test_poisson_boosting_is_tried_for_counts_and_amounts_only():
    rng = np.random.default_rng(0)
    counts = rng.poisson(rng.gamma(0.5, 4.0, 2_000))  # many zeros, a long right tail
    assert skewed_target(counts)
    assert skewed_target(np.append(counts.astype(float), np.nan))  # gaps are left out
    assert not skewed_target(rng.normal(50, 5, 2_000))  # symmetric
    assert not skewed_target(np.append(counts, -1))  # Poisson loss needs y >= 0
    assert not skewed_target(np.zeros(50)) and not skewed_target([1.0, 3.0])
    poisson = ("hist_gradient_boosting", "poisson")
    found = [(m, p.get("loss")) for m, p in auto_portfolio("regression", n_rows=800, skewed=True)]
    assert poisson in found
    assert poisson not in [(m, p.get("loss")) for m, p in auto_portfolio("regression", n_rows=800)]
    assert all(p.get("loss") is None for _, p in auto_portfolio("binary", n_rows=800, skewed=True))
    assert auto_space("hist_gradient_boosting", task="regression", skewed=True)["loss"] == (
        "choice", ["squared_error", "poisson"])
    assert "loss" not in auto_space("hist_gradient_boosting", task="regression")
    assert "loss" not in auto_space("hist_gradient_boosting", task="binary", skewed=True)
    assert get("hist_gradient_boosting").make("regression", {"loss": "poisson"}).loss == "poisson"


def test_task_kind():
    assert catalogue.task_kind("binary") == catalogue.task_kind("multiclass") == "classification"
    assert catalogue.task_kind("regression") == "regression"
    assert catalogue.task_kind("clustering") == "clustering"


# --------------------------------------------------------------------------- wide tables


def test_a_table_is_wide_from_as_many_feature_columns_as_training_rows():
    assert is_wide(240, 5_000) and is_wide(240, int(WIDE_RATIO * 240))
    assert not is_wide(240, int(WIDE_RATIO * 240) - 1) and not is_wide(240, None)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_a_wide_portfolio_is_penalised_selective_and_every_entry_fits(task):
    rng = np.random.default_rng(0)
    rows, columns = 60, 400
    X = rng.normal(size=(rows, columns))
    y = X[:, 0] * 3 + rng.normal(size=rows)
    if task != "regression":
        y = np.digitize(y, [0.0] if task == "binary" else [-1.0, 1.0])
    portfolio = auto_portfolio(task, n_rows=rows, n_features=columns, target_spread=float(y.std()))
    models = [m for m, _ in portfolio]
    assert models[0] == "dummy"
    assert not {"knn", "svr", "mlp", "linear_svm"} & set(models)
    linear = portfolio[1]
    if task == "regression":
        assert linear == ("lasso", {"alpha": pytest.approx(0.03 * y.std())})
    elif task == "binary":
        assert linear[1] == {"penalty": "l1", "solver": "liblinear", "C": 0.1}
    else:  # liblinear fits two classes only: L2 on the inputs most related to the target
        assert linear[1][KEEP_FEATURES] == max(10, rows // ROWS_PER_FEATURE)
    trees = dict((m, p) for m, p in portfolio if m in ("hist_gradient_boosting", "extra_trees"))
    assert trees["hist_gradient_boosting"][KEEP_FEATURES] == rows
    assert trees["extra_trees"]["max_features"] == "sqrt"
    for model, params in portfolio:  # the estimator ignores the pipeline's setting, and fits
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            get(model).make(task, params).fit(X, y)
    readable = auto_portfolio(task, n_rows=rows, n_features=columns, interpretable=True)
    assert all(get(m).interpretable for m, _ in readable)


def test_many_columns_make_trees_sample_columns_even_with_many_rows():
    narrow = dict(auto_portfolio("regression", n_rows=50_000, n_features=20)[4:5])
    many = auto_portfolio("regression", n_rows=50_000, n_features=MANY_FEATURES)
    assert narrow["extra_trees"]["max_features"] == 0.7
    assert dict(many[4:5])["extra_trees"]["max_features"] == "sqrt"
    assert all(p.get("max_features") == 0.5 for m, p in many if m == "hist_gradient_boosting")


def test_the_wide_search_space_follows_the_wide_portfolio():
    wide = {"n_rows": 240, "n_features": 5_000}
    assert auto_space("lasso", task="regression", target_spread=10.0, **wide)["alpha"] == \
        ("float", pytest.approx(0.03), pytest.approx(3.0), "log")
    binary = auto_space("logistic_regression", task="binary", **wide)
    assert binary["penalty"] == ("choice", ["l1"]) and binary["solver"] == ("choice", ["liblinear"])
    multiclass = auto_space("logistic_regression", task="multiclass", **wide)
    assert multiclass["penalty"] == ("choice", ["l2"]) and multiclass[KEEP_FEATURES][1:3] == (24, 2_000)
    assert auto_space("hist_gradient_boosting", task="binary", **wide)[KEEP_FEATURES][1:3] == (240, 960)
    assert auto_space("ridge", n_rows=240, n_features=20) == auto_space("ridge")
    assert set(wide_search_models("regression")) == {"lasso", "elastic_net", "ridge",
                                                     "hist_gradient_boosting"}
    assert "logistic_regression" in wide_search_models("binary")
    assert "Wide table: 5,000 feature columns for 240 training rows." in wide_reason(240, 5_000)
