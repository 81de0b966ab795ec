"""Grid, random and Optuna searches and leave-one-out validation, run end to end from a recipe."""

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import LeaveOneOut, cross_val_predict

from core import catalogue
from core.errors import TabwrightError
from core.recipe import ModelChoice, Recipe, Search, Validation
from core.train import _runner, training_plan
from core.train._runner import train


@pytest.fixture(scope="module")
def titanic(datasets_dir):
    return pd.read_csv(datasets_dir / "titanic.csv")


def roles_of(frame):
    return {c: "numeric" if frame[c].dtype.kind in "if" else "categorical" for c in frame}


def searched(frame, method, models, *, trials, target="survived", **kw):
    recipe = Recipe(target=target, auto=False, models=models, search=Search(method=method, trials=trials),
                    **kw)
    return train(frame, recipe, inferred_roles=roles_of(frame))


def rows_of(result, model):
    return [r for r in result.leaderboard if r["model"] == model]


def test_grid_search_tries_the_grid_in_order_up_to_the_trials(titanic):
    result = searched(titanic, "grid", [ModelChoice("logistic_regression"), ModelChoice("decision_tree")],
                      trials=5)
    lr_grid = catalogue.get("logistic_regression").grid
    expected = [dict(zip(lr_grid, values)) for values in itertools.product(*lr_grid.values())][:5]
    lr = rows_of(result, "logistic_regression")
    assert sorted(map(str, (r["params"] for r in lr))) == sorted(map(str, expected))
    tree = rows_of(result, "decision_tree")  # its grid has 3 settings, fewer than the trials
    assert sorted(r["params"]["max_depth"] for r in tree) == catalogue.get("decision_tree").grid["max_depth"]
    assert all(r["note"] == "grid search" for r in lr + tree)
    best = result.leaderboard[0]
    assert best["model"] != "dummy" and best["roc_auc"] == max(r["roc_auc"] for r in lr + tree)
    assert result.recipe.models == [ModelChoice(best["model"], best["params"])]
    assert result.recipe.search.method == "none"


def test_random_search_samples_the_space_the_number_of_trials_reproducibly(titanic):
    models = [ModelChoice("decision_tree")]
    a = searched(titanic, "random", models, trials=6)
    b = searched(titanic, "random", models, trials=6)
    rows = rows_of(a, "decision_tree")
    assert len(rows) == 6 and all(r["note"] == "random search" for r in rows)
    space = catalogue.get("decision_tree").space
    for r in rows:
        for name, (kind, low, high, _) in space.items():
            assert isinstance(r["params"][name], int) and low <= r["params"][name] <= high
    assert len({str(r["params"]) for r in rows}) > 1
    assert [r["params"] for r in rows] == [r["params"] for r in rows_of(b, "decision_tree")]
    assert a.recipe.models[0].params == a.leaderboard[0]["params"]


def test_optuna_search_runs_the_trials_and_keeps_the_best(titanic):
    result = searched(titanic, "optuna", [ModelChoice("logistic_regression")], trials=5)
    rows = rows_of(result, "logistic_regression")
    assert len(rows) == 5 and all(r["note"] == "Optuna" for r in rows)
    low, high = catalogue.get("logistic_regression").space["C"][1:3]
    assert all(low <= r["params"]["C"] <= high for r in rows)
    assert all(r["params"]["penalty"] in ("l2", "l1", "elasticnet") for r in rows)
    best = max(rows, key=lambda r: r["roc_auc"])
    assert result.recipe.models == [ModelChoice("logistic_regression", best["params"])]


@pytest.mark.parametrize("method", ["grid", "random", "optuna"])
def test_a_search_keeps_the_settings_the_user_fixed(titanic, method):
    fixed = ModelChoice("logistic_regression", {"penalty": "l2"})
    rows = rows_of(searched(titanic, method, [fixed], trials=3), "logistic_regression")
    assert len(rows) == 3 and all(r["params"]["penalty"] == "l2" for r in rows)
    assert len({r["params"]["C"] for r in rows}) == 3


def test_a_search_with_every_setting_fixed_evaluates_the_model_once(titanic):
    fixed = ModelChoice("decision_tree", {"max_depth": 3, "min_samples_leaf": 5})
    rows = rows_of(searched(titanic, "random", [fixed], trials=4), "decision_tree")
    assert [r["params"] for r in rows] == [fixed.params]


def test_a_search_time_budget_stops_early(titanic):
    result = searched(titanic, "random", [ModelChoice("random_forest")], trials=200,
                      time_budget=1.0)
    assert 1 <= len(rows_of(result, "random_forest")) < 200


def test_leave_one_out_fits_once_per_row_and_scores_every_prediction_together(titanic, monkeypatch):
    """ROC-AUC is not defined on one row: leave-one-out is scored on all its predictions."""
    small = titanic[["survived", "pclass", "sex", "age", "fare"]].sample(50, random_state=4)
    fits = []
    original = _runner._fit_predict_fold

    def count(pipeline, X, y, train_idx, valid_idx, **kw):
        fits.append((len(train_idx), len(valid_idx)))
        return original(pipeline, X, y, train_idx, valid_idx, **kw)

    monkeypatch.setattr(_runner, "_fit_predict_fold", count)
    recipe = Recipe(target="survived", auto=False, models=[ModelChoice("logistic_regression")],
                    validation=Validation(scheme="loo"))
    result = train(small, recipe, inferred_roles=roles_of(small))
    n = result.n_train
    assert result.cv_description == f"leave-one-out ({n} fits)"
    assert training_plan(small, recipe)["folds"] == n
    assert len(fits) == 2 * n and set(fits) == {(n - 1, 1)}  # the baseline and the model
    row = rows_of(result, "logistic_regression")[0]
    assert row["roc_auc_std"] == 0.0
    # The same number, computed with scikit-learn's leave-one-out on the same pipeline.
    pipeline = result.pipeline
    proba = cross_val_predict(clone(pipeline), result.X_train, result.y_train, cv=LeaveOneOut(),
                              method="predict_proba")[:, 1]
    assert row["roc_auc"] == pytest.approx(roc_auc_score(result.y_train, proba), abs=1e-6)
    assert row["accuracy"] == pytest.approx(np.mean((proba >= 0.5) == result.y_train), abs=1e-6)


def test_leave_one_out_is_refused_on_many_rows(titanic):
    with pytest.raises(TabwrightError, match="Leave-one-out needs one fit per row"):
        train(titanic, Recipe(target="survived", auto=False, models=[ModelChoice("logistic_regression")],
                              validation=Validation(scheme="loo")), inferred_roles=roles_of(titanic))
