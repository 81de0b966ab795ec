"""Time and memory estimates measured from pilot fits, before training starts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import core.train._estimate as est
from core.errors import TabwrightError
from core.recipe import ModelChoice, Recipe
from core.train._plan import training_plan


def roles_of(frame, target):
    return {c: "numeric" if frame[c].dtype.kind in "if" else "categorical"
            for c in frame if c != target}


@pytest.fixture(scope="module")
def titanic(datasets_dir):
    return pd.read_csv(datasets_dir / "titanic.csv")


def _estimate(frame, recipe):
    plan = training_plan(frame, recipe)
    return plan, est.estimate_run(frame, recipe, plan, inferred_roles=roles_of(frame, recipe.target))


def test_manual_run_counts_every_fit_of_every_planned_model(titanic):
    recipe = Recipe(target="survived", task="binary", auto=False,
                    models=[ModelChoice("logistic_regression"), ModelChoice("random_forest")])
    plan, estimate = _estimate(titanic, recipe)
    assert [c.name for c in estimate.models] == ["dummy", "logistic_regression", "random_forest"]
    for cost in estimate.models:
        assert cost.fits == plan["folds"] + 1  # five folds and the refit
        assert cost.fit_rows == plan["train_rows"] * 4 // 5
        assert 0 < cost.refit_seconds < cost.seconds
    forest = estimate.models[-1]
    assert forest.seconds > estimate.models[0].seconds  # 100 trees cost more than a baseline
    # both are rounded to 0.1 s, so twice the rounded one may be 0.1 s off
    assert estimate.seconds_high == pytest.approx(2 * estimate.seconds, abs=0.15)
    data_mb = titanic.memory_usage(deep=True).sum() / 2**20
    assert estimate.data_mb == round(data_mb)
    assert estimate.memory_mb >= est.LIBRARIES_MB + 2 * data_mb


def test_a_search_multiplies_the_fits(titanic):
    plain = Recipe(target="survived", task="binary", auto=False,
                   models=[ModelChoice("logistic_regression")])
    searched = plain.copy()
    searched.search.method, searched.search.trials = "random", 4
    _, a = _estimate(titanic, plain)
    _, b = _estimate(titanic, searched)
    assert b.models[1].fits == 4 * 5 + 1 and a.models[1].fits == 5 + 1
    assert b.models[0].fits == a.models[0].fits  # the baseline is never tuned


def test_skipped_models_cost_nothing_and_sampled_ones_use_their_cap():
    rng = np.random.default_rng(0)
    n = 80_000
    frame = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n)})
    recipe = Recipe(target="y", task="regression", auto=False,
                    models=[ModelChoice("knn"), ModelChoice("svr"), ModelChoice("ridge")])
    _, estimate = _estimate(frame, recipe)
    by_name = {c.name: c for c in estimate.models}
    assert "knn" not in by_name  # skipped above 50,000 rows
    assert by_name["svr"].fit_rows == 20_000 and by_name["ridge"].fit_rows == 51_200
    # Quadratic growth: the kernel SVM on 20k rows is estimated far above ridge on 51k.
    assert by_name["svr"].seconds > 5 * by_name["ridge"].seconds


def test_auto_mode_on_large_data_recommends_a_budget_that_uses_every_row():
    rng = np.random.default_rng(1)
    n = 400_000
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(6)})
    frame["c"] = rng.choice(["a", "b", "c", "d"], n)
    frame["t"] = (frame["x0"] + rng.normal(size=n) > 0).astype(int)
    recipe = Recipe(target="t", task="binary", auto=True, time_budget=5)
    plan, estimate = _estimate(frame, recipe)
    assert any("100,000-row sample of the 320,000 training rows" in n for n in plan["notes"])
    assert estimate.seconds == 5
    assert estimate.recommended_budget and estimate.recommended_budget > 5
    assert any("budget is tight for 320,000 training rows" in n for n in estimate.notes)
    # The search runs on the sample: 80,000 rows per fit, on one fold.
    assert {c.fit_rows for c in estimate.models} == {80_000}
    assert {c.fits for c in estimate.models} == {2}
    # Memory: a model too slow to refit on every row in 5 s is refitted on fewer, and
    # holds less than with a budget that affords all of them.
    roomy = est.estimate_run(frame, Recipe(target="t", task="binary", auto=True, time_budget=3600),
                             plan, inferred_roles=roles_of(frame, "t"))
    tight = {c.name: c.memory_mb for c in estimate.models}
    full = {c.name: c.memory_mb for c in roomy.models}
    assert all(tight[name] <= full[name] for name in tight)
    assert any(tight[name] < full[name] for name in tight)


def test_a_run_that_may_not_fit_in_memory_says_what_to_do(titanic, monkeypatch):
    monkeypatch.setattr(est, "available_memory_mb", lambda: 200.0)
    _, estimate = _estimate(titanic, Recipe(target="survived", task="binary", auto=False,
                                            models=[ModelChoice("logistic_regression")]))
    assert any("only 200 MB is free" in n and "fewer models" in n for n in estimate.notes)
    assert estimate.available_mb == 200.0


def test_clustering_has_no_estimate():
    frame = pd.DataFrame({"a": range(50), "b": [i % 7 for i in range(50)]})
    recipe = Recipe(task="clustering")
    with pytest.raises(TabwrightError, match="supervised"):
        est.estimate_run(frame, recipe, training_plan(frame, recipe), inferred_roles={})


def test_describe_says_time_and_memory_in_words(titanic):
    _, estimate = _estimate(titanic, Recipe(target="survived", task="binary", auto=True,
                                            time_budget=30))
    lines = est.describe(estimate)
    assert lines[0].startswith("Time: about 30 s")
    assert lines[1].startswith("Memory: about ")


def test_splines_widen_the_prepared_matrix_the_estimate_counts(titanic):
    """The spline step comes after the preparation and multiplies the inputs that bend: the
    memory estimate counts the wider matrix, not the prepared one before it."""
    plain = Recipe(target="survived", task="binary", auto=False,
                   models=[ModelChoice("logistic_regression")])
    bent = Recipe(target="survived", task="binary", auto=False,
                  models=[ModelChoice("logistic_regression", {"splines": 5})])
    _, a = _estimate(titanic, plain)
    _, b = _estimate(titanic, bent)
    assert b.models[1].inputs > a.models[1].inputs
    assert b.models[1].memory_mb > a.models[1].memory_mb
