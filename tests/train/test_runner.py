"""The training engine: leakage-safe CV, leaderboard, auto mode budget, reproducibility."""

import time

import numpy as np
import pandas as pd
import pytest

from core import catalogue
from core.errors import Cancelled, TabwrightError
from core.recipe import ModelChoice, Recipe, Validation
from core.run import CancelToken
from core.train._runner import train
from tests.explore.wide_tables import wide_frame


@pytest.fixture(scope="module")
def titanic(datasets_dir):
    return pd.read_csv(datasets_dir / "titanic.csv")


@pytest.fixture(scope="module")
def housing(datasets_dir):
    return pd.read_csv(datasets_dir / "california_housing.csv").sample(3000, random_state=0)


def roles_of(frame):
    return {c: "numeric" if frame[c].dtype.kind in "if" else "categorical" for c in frame}


def rows_seen_by_cross_validation(monkeypatch) -> set:
    """The index labels of every row a cross-validation fit or score touches, as it runs."""
    import core.train._runner as t

    seen_rows: set = set()
    original = t._fit_predict_fold

    def spy(pipeline, X, y, train_idx, valid_idx, **kw):
        seen_rows.update(X.index[train_idx])
        seen_rows.update(X.index[valid_idx])
        return original(pipeline, X, y, train_idx, valid_idx, **kw)

    monkeypatch.setattr(t, "_fit_predict_fold", spy)
    return seen_rows


def fast(target, **kw):
    return Recipe(target=target, auto=False, models=[ModelChoice("logistic_regression")], **kw)


def test_leaderboard_has_baseline_and_spread(titanic):
    seen = []
    result = train(titanic, fast("survived"), inferred_roles=roles_of(titanic),
                   progress=lambda p: seen.append(p))
    board = result.leaderboard
    assert {r["model"] for r in board} == {"dummy", "logistic_regression"}
    dummy = next(r for r in board if r["model"] == "dummy")
    assert dummy["roc_auc"] == pytest.approx(0.5)
    assert board[0]["model"] == "logistic_regression" and board[0]["roc_auc"] > 0.8
    assert board[0]["roc_auc_std"] > 0
    # the baseline is reported first, before any real model
    first_rows = [p.leaderboard for p in seen if p.leaderboard]
    assert first_rows[0][0]["model"] == "dummy"
    assert seen[-1].fraction == 1.0
    assert result.task == "binary" and result.metric == "roc_auc"
    assert result.n_test == 179 and result.n_train == 712
    assert result.evaluation["metrics"]["roc_auc"] > 0.8


def test_same_recipe_data_seed_gives_identical_predictions(titanic):
    recipe = Recipe(target="survived", auto=False,
                    models=[ModelChoice("hist_gradient_boosting"), ModelChoice("random_forest")])
    a = train(titanic, recipe, inferred_roles=roles_of(titanic))
    b = train(titanic, recipe, inferred_roles=roles_of(titanic))
    np.testing.assert_array_equal(a.pipeline.predict_proba(titanic), b.pipeline.predict_proba(titanic))


def test_resolved_recipe_reproduces_an_auto_model(titanic):
    auto = train(titanic, Recipe(target="survived", time_budget=8), inferred_roles=roles_of(titanic))
    assert auto.recipe.auto is False and auto.recipe.models
    again = train(titanic, auto.recipe, inferred_roles=roles_of(titanic))
    np.testing.assert_allclose(auto.pipeline.predict_proba(titanic),
                               again.pipeline.predict_proba(titanic))


def test_auto_mode_keeps_to_its_budget(housing):
    started = time.monotonic()
    result = train(housing, Recipe(target="median_house_value", time_budget=10),
                   inferred_roles=roles_of(housing))
    elapsed = time.monotonic() - started
    assert elapsed <= 11.0, elapsed
    assert result.task == "regression" and result.metric == "rmse"
    models = {r["model"] for r in result.leaderboard}
    assert {"dummy", "ridge", "hist_gradient_boosting"} <= models
    best = result.leaderboard[0]
    dummy = next(r for r in result.leaderboard if r["model"] == "dummy")
    assert best["rmse"] < 0.6 * dummy["rmse"]


def test_test_split_is_untouched_by_model_selection(titanic, monkeypatch):
    """Cross-validation only ever sees training rows; the test rows are scored once."""
    seen_rows = rows_seen_by_cross_validation(monkeypatch)
    result = train(titanic, fast("survived"), inferred_roles=roles_of(titanic))
    assert seen_rows == set(result.X_train.index)
    assert not seen_rows & set(result.X_test.index)


def test_threshold_tuning_and_class_weights(datasets_dir):
    bank = pd.read_csv(datasets_dir / "bank_marketing.csv").sample(4000, random_state=1)
    recipe = fast("y", metric="f1")
    recipe.imbalance.tune_threshold = True
    recipe.imbalance.class_weight = "balanced"
    result = train(bank, recipe, inferred_roles=roles_of(bank))
    assert result.threshold is not None and result.threshold != 0.5
    assert result.recipe.imbalance.threshold == pytest.approx(result.threshold)
    assert result.evaluation["threshold"] == pytest.approx(result.threshold)
    assert any("threshold tuned" in n for n in result.notes)


def test_multiclass_with_rare_classes(datasets_dir):
    soy = pd.read_csv(datasets_dir / "soybean.csv")
    result = train(soy, fast("Class"), inferred_roles={c: "categorical" for c in soy})
    assert result.task == "multiclass" and len(result.classes) == 19
    assert result.leaderboard[0]["accuracy"] > 0.8
    assert "reduced" in result.cv_description or "stratified" in result.cv_description


def test_group_and_time_splits(datasets_dir):
    life = pd.read_csv(datasets_dir / "life_expectancy.csv")
    recipe = Recipe(target="life_expectancy", auto=False, models=[ModelChoice("ridge")])
    recipe.split.group_column = "Country"
    grouped = train(life, recipe, inferred_roles=roles_of(life))
    countries = life["Country"]
    assert not set(countries[grouped.X_train.index]) & set(countries[grouped.X_test.index])
    assert "group" in grouped.cv_description
    recipe = Recipe(target="life_expectancy", auto=False, models=[ModelChoice("ridge")])
    recipe.split.time_column = "Year"
    timed = train(life.assign(Year=pd.to_datetime(life.Year, format="%Y")), recipe,
                  inferred_roles=roles_of(life))
    years = life["Year"]
    assert years[timed.X_train.index].max() <= years[timed.X_test.index].min()


def test_cancel_keeps_best_so_far_or_raises(titanic):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        train(titanic, fast("survived"), inferred_roles=roles_of(titanic), cancel=token)

    token = CancelToken()

    def cancel_after_first(p):
        if p.leaderboard and any(r["model"] == "logistic_regression" for r in p.leaderboard):
            token.cancel()

    recipe = Recipe(target="survived", auto=False,
                    models=[ModelChoice("logistic_regression"), ModelChoice("random_forest")])
    result = train(titanic, recipe, inferred_roles=roles_of(titanic), cancel=token,
                   progress=cancel_after_first)
    assert result.cancelled
    assert "random_forest" not in {r["model"] for r in result.leaderboard}


def test_bad_targets_are_clear_errors(titanic):
    one_class = titanic.assign(survived=1)
    with pytest.raises(TabwrightError, match="one value only"):
        train(one_class, fast("survived"), inferred_roles=roles_of(titanic))
    with pytest.raises(TabwrightError, match="not a column"):
        train(titanic, fast("survivd"), inferred_roles=roles_of(titanic))
    tiny = titanic.head(6)
    with pytest.raises(TabwrightError, match="at least 10"):
        train(tiny, fast("survived"), inferred_roles=roles_of(titanic))


def test_failed_model_is_a_row_not_a_crash(titanic):
    result = train(titanic, Recipe(target="survived", auto=False,
                                   models=[ModelChoice("logistic_regression", {"C": -1.0}),
                                           ModelChoice("decision_tree")]),
                   inferred_roles=roles_of(titanic))
    failed = [r for r in result.leaderboard if r["status"] == "failed"]
    assert failed and failed[0]["model"] == "logistic_regression" and "C" in failed[0]["note"]
    assert result.best == "decision_tree"


def test_interpretable_brief_limits_the_models(titanic):
    recipe = Recipe(target="survived", time_budget=6)
    recipe.brief.interpretable = True
    result = train(titanic, recipe, inferred_roles=roles_of(titanic))
    from core import catalogue

    for row in result.leaderboard:
        if row["model"] != "ensemble":
            assert catalogue.get(row["model"]).interpretable


def test_clustering_without_target(housing):
    features = housing.drop(columns=["median_house_value"]).head(800)
    result = train(features, Recipe(task="clustering"), inferred_roles=roles_of(features))
    assert result.task == "clustering"
    assert result.leaderboard[0]["silhouette"] > 0.2
    assert len(result.pipeline.predict(features.head(5))) == 5


def test_dask_cluster_gives_the_same_scores(titanic):
    distributed = pytest.importorskip("distributed")
    recipe = fast("survived")
    local = train(titanic, recipe, inferred_roles=roles_of(titanic))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        remote = train(titanic, recipe, inferred_roles=roles_of(titanic),
                       dask_scheduler=cluster.scheduler_address)
    assert remote.leaderboard[0]["roc_auc"] == pytest.approx(local.leaderboard[0]["roc_auc"])


def test_auto_portfolio_starts_with_baselines_and_keeps_to_the_brief():
    from core import catalogue

    for task in ("binary", "multiclass", "regression"):
        portfolio = catalogue.auto_portfolio(task, n_rows=1000)
        assert [m for m, _ in portfolio[:3]] == ["dummy", catalogue.default_models(task)[1],
                                                 "hist_gradient_boosting"]
        kinds = {m for m, _ in portfolio}
        assert {"extra_trees", "random_forest"} <= kinds
        for model, params in portfolio:  # every configuration builds
            catalogue.get(model).make(task, params)
    small = dict(catalogue.auto_portfolio("binary", n_rows=1000)[4:5])
    large = dict(catalogue.auto_portfolio("binary", n_rows=100_000)[4:5])
    assert large["extra_trees"]["n_estimators"] < small["extra_trees"]["n_estimators"]
    readable = catalogue.auto_portfolio("binary", n_rows=1000, interpretable=True)
    assert all(catalogue.get(m).interpretable for m, _ in readable)


def test_auto_mode_on_few_folds_still_tunes_a_threshold_and_reproduces(titanic, monkeypatch):
    """Large data is scored on a subset of the folds; every later step copes with that."""
    import core.train._runner as t

    monkeypatch.setattr(t, "AUTO_VALIDATION_ROWS", 250)
    recipe = Recipe(target="survived", time_budget=8, metric="f1")
    recipe.imbalance.tune_threshold = True
    result = train(titanic, recipe, inferred_roles=roles_of(titanic))
    assert any("2 of the cross-validation folds" in n for n in result.notes)
    assert 0.0 < result.threshold < 1.0
    assert result.recipe.imbalance.threshold == pytest.approx(result.threshold)
    again = train(titanic, result.recipe, inferred_roles=roles_of(titanic))
    np.testing.assert_allclose(result.pipeline.predict_proba(titanic),
                               again.pipeline.predict_proba(titanic))


def test_auto_mode_page_names_every_setting_with_its_value():
    from pathlib import Path

    import core.train._runner as t

    page = (Path(__file__).resolve().parents[2] / "docs" / "auto-mode.md").read_text()
    for name in ("AUTO_VALIDATION_ROWS", "ENSEMBLE_POOL", "ENSEMBLE_ROUNDS", "ENSEMBLE_RESERVE",
                 "PROVISIONAL_ROUNDS", "NO_TIME_STOP"):
        value = getattr(t, name)
        assert f"`{name}` ({value:,})" in page, name


def test_auto_mode_on_large_data_searches_a_sample_and_refits_on_every_row(monkeypatch):
    """Above AUTO_SEARCH_ROWS training rows, models are compared on a stratified sample; the
    winner is refitted on all training rows when the budget allows, and the notes say so."""
    import core.train._runner as t

    monkeypatch.setattr(t, "AUTO_SEARCH_ROWS", 1_500)
    rng = np.random.default_rng(0)
    n = 5_000
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                          "c": rng.choice(["x", "y", "z"], n)})
    frame["target"] = np.where(frame["a"] + 0.5 * rng.normal(size=n) > 0, "yes", "no")
    seen_rows = rows_seen_by_cross_validation(monkeypatch)
    result = train(frame, Recipe(target="target", time_budget=30), inferred_roles=roles_of(frame))
    assert len(seen_rows) == 1_500 and seen_rows <= set(result.X_train.index)
    notes = " ".join(result.notes)
    assert "1,500-row sample of the 4,000 training rows (stratified by class)" in notes
    assert "refitted on all 4,000 training rows" in notes
    assert result.leaderboard[0]["roc_auc"] > 0.8


def test_refit_rows_shrink_to_keep_a_small_budget():
    """When refitting on every row would overrun the budget, auto mode refits on fewer rows
    (never fewer than the search sample) and says which budget would use them all."""
    from core.train._runner import Candidate, _Runner

    X = pd.DataFrame({"a": np.arange(1_000.0)})
    y = pd.Series(np.arange(1_000) % 2)
    full_X = pd.DataFrame({"a": np.arange(100_000.0)})
    folds = [(np.arange(800), np.arange(800, 1_000))]
    runner = _Runner(plan=None, recipe=Recipe(target="t"), task="binary", metric="roc_auc",
                     classes=np.array([0, 1]), X=X, y=y, folds=folds, cancel=CancelToken(),
                     report=lambda p: None, started=time.monotonic(), notes=[],
                     dask_scheduler=None, full_X=full_X, full_y=pd.Series(np.arange(100_000) % 2))
    cand = Candidate("logistic_regression", {}, {"roc_auc": [0.9]}, fit_seconds=0.08, oof=None)
    # 0.08 s per 800 rows, × 1.5 margin: 0.00015 s per row → 15 s for 100,000 rows.
    assert runner._refit_rows([cand], None) == 100_000
    assert runner._refit_rows([cand], 30.0) == 100_000
    assert runner._refit_rows([cand], 6.0) == pytest.approx(40_000, abs=1)
    assert runner._refit_rows([cand], 0.01) == 1_000


def test_finalize_is_judged_on_the_refit_just_measured():
    """Whether the finalize fits in the budget is the final refit's measured time scaled to
    every row (and a tenth), not the cross-validation's fit times with their margin: a fit that
    ran slow under load no longer cancels a finalize that fits, nor lets one through that does not."""
    from core.train._runner import _Runner

    X = pd.DataFrame({"a": np.arange(1_000.0)})
    y = pd.Series(np.arange(1_000) % 2)
    runner = _Runner(plan=None, recipe=Recipe(target="t", auto=True, time_budget=60),
                     task="binary", metric="roc_auc", classes=np.array([0, 1]), X=X, y=y,
                     folds=[(np.arange(800), np.arange(800, 1_000))], cancel=CancelToken(),
                     report=lambda p: None, started=time.monotonic(), notes=[],
                     dask_scheduler=None)
    runner.all_rows = 1_250
    runner.deadline = time.monotonic() + 12.0

    def affordable(seconds, rows):
        runner.refit_cost = (seconds, rows)  # as refit measures it
        return runner.finalize_affordable()

    # 8 s on 1,000 rows → 1.1 × 10 s on 1,250: 11 s, inside the 12 s left
    assert affordable(8.0, 1_000)
    # 10 s on 1,000 rows → 13.75 s: past the deadline
    assert not affordable(10.0, 1_000)
    # a refit on a sample of the rows scales up to every row: 4 s on 500 rows → 11 s
    assert affordable(4.0, 500)
    assert not affordable(5.0, 500)


def test_auto_precision_on_a_big_matrix_fits_float32_and_the_recipe_reproduces_it(
        sample_dir, monkeypatch):
    import core.prepare._pipeline

    frame = pd.read_csv(sample_dir / "titanic.csv")
    monkeypatch.setattr(core.prepare._pipeline, "FLOAT32_ABOVE", 1_000)  # titanic counts as big here
    recipe = Recipe(target="survived", auto=False, ensemble=True,
                    models=[ModelChoice("logistic_regression"), ModelChoice("random_forest")])
    result = train(frame, recipe)
    assert recipe.preparation.precision == "auto"  # the caller's recipe is not changed
    assert result.recipe.preparation.precision == "float32"
    assert any("32-bit numbers" in note and "Prepare" in note for note in result.notes)
    members = result.pipeline.named_steps["model"].named_estimators_
    assert members["m0_logistic_regression"].named_steps["model"].coef_.dtype == np.float32
    assert members["m1_random_forest"].named_steps["prep"].transform(
        result.X_test.head()).dtype == np.float64
    monkeypatch.setattr(core.prepare._pipeline, "FLOAT32_ABOVE", 10**12)  # "auto" would now say float64
    again = train(frame, result.recipe)
    assert np.array_equal(again.pipeline.predict_proba(result.X_test),
                          result.pipeline.predict_proba(result.X_test))
    assert not any("32-bit numbers" in note for note in again.notes)


def test_auto_mode_on_a_wide_table_tries_wide_models_and_beats_a_plain_logistic_regression():
    frame, _ = wide_frame(rows=200, columns=1_500)
    started = time.monotonic()
    auto = train(frame, Recipe(target="y", time_budget=10), inferred_roles=roles_of(frame),
                 started=started - 1.0)  # a second already spent reading counts against it
    assert time.monotonic() - started <= 10 * 1.1 - 1.0
    assert catalogue.wide_reason(160, 1_500) in auto.notes
    tried = {row["model"] for row in auto.leaderboard}
    assert tried <= {"dummy", "logistic_regression", "hist_gradient_boosting", "extra_trees",
                     "random_forest", "ensemble", "stacking"}
    l1 = [r for r in auto.leaderboard if r["params"].get("penalty") == "l1"]
    assert l1 and all(r["params"]["solver"] == "liblinear" for r in l1)
    kept = [r for r in auto.leaderboard if catalogue.KEEP_FEATURES in r["params"]]
    assert kept  # some candidates chose their inputs inside each fold
    plain = train(frame, Recipe(target="y", auto=False, models=[ModelChoice("logistic_regression")]),
                  inferred_roles=roles_of(frame))
    assert auto.evaluation["metrics"]["roc_auc"] > plain.evaluation["metrics"]["roc_auc"]
    assert auto.pipeline.predict(frame.drop(columns="y").head(3)).shape == (3,)


def test_auto_mode_does_not_search_a_model_family_far_behind_the_best():
    """A target a straight line cannot follow: ridge closes little of boosting's gain over
    the baseline, so the search spends its trials on the models that can."""
    rng = np.random.default_rng(4)
    n = 500
    frame = pd.DataFrame({"a": rng.uniform(-3, 3, n), "b": rng.uniform(-3, 3, n)})
    frame["y"] = 10 * np.sin(2 * frame["a"]) * np.cos(2 * frame["b"]) + rng.normal(0, 0.3, n)
    portfolio = catalogue.auto_portfolio("regression", n_rows=400, n_features=2)
    # the portfolio, then 3 trials of the search
    result = train(frame, Recipe(target="y", task="regression", max_trials=len(portfolio) + 3,
                                 time_budget=300, finalize="off"))
    assert any(n.startswith("Ridge regression was not searched further") for n in result.notes)
    searched = [r["model"] for r in result.leaderboard if r["note"] == "auto search"]
    assert len(searched) == 3 and "ridge" not in searched


def test_auto_mode_bends_a_linear_model_with_splines_where_an_input_acts_on_a_curve():
    """A U-shaped effect and a straight one: the portfolio's ridge on splines follows both,
    and the resolved recipe rebuilds it with its splines step."""
    rng = np.random.default_rng(7)
    n = 400
    frame = pd.DataFrame({"a": rng.uniform(-3, 3, n), "b": rng.normal(size=n)})
    frame["y"] = frame["a"] ** 2 + 2 * frame["b"] + rng.normal(0, 0.3, n)
    portfolio = catalogue.auto_portfolio("regression", n_rows=320, n_features=2)
    assert ("ridge", {catalogue.SPLINES: 5}) in portfolio
    result = train(frame, Recipe(target="y", task="regression", max_trials=len(portfolio),
                                 finalize="off"))
    ridges = {bool(r["params"].get(catalogue.SPLINES)): r["rmse"] for r in result.leaderboard
              if r["model"] == "ridge" and not r["params"].get("alpha")}
    assert ridges[True] < 0.3 * ridges[False]  # the curve, which a straight line misses
    assert any(c.name == "ridge" and c.params.get(catalogue.SPLINES) == 5
               for c in result.recipe.models)  # alone or in the ensemble
    again = train(frame, result.recipe)
    assert np.array_equal(again.pipeline.predict(result.X_test), result.pipeline.predict(result.X_test))


def test_auto_mode_tries_poisson_boosting_on_a_count_target_and_says_so():
    """Counts whose level depends on the inputs multiplicatively: the portfolio's Poisson
    boosting is scored, the notes say why, and the resolved recipe replays it exactly."""
    rng = np.random.default_rng(3)
    n = 600
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.uniform(0, 1, n)})
    frame["y"] = rng.poisson(np.exp(0.2 + 1.2 * frame["a"] + frame["b"]))
    portfolio = catalogue.auto_portfolio("regression", n_rows=480, n_features=2, skewed=True)
    result = train(frame, Recipe(target="y", task="regression", max_trials=len(portfolio) + 16,
                                 finalize="off"))
    assert any("Poisson loss" in note for note in result.notes)
    assert any(r["model"] == "hist_gradient_boosting" and r["params"].get("loss") == "poisson"
               for r in result.leaderboard)
    searched = [r["params"] for r in result.leaderboard if r["model"] in ("ridge",
                                                                          "hist_gradient_boosting")]
    assert len(searched) > len(portfolio) // 2  # the search ran too
    # a search choice that leaves the model as it is stays out of its settings (catalogue.SEARCH_OFF)
    assert not any(p.get(catalogue.SPLINES) == 0 or p.get("loss") == "squared_error" for p in searched)
    again = train(frame, result.recipe)
    assert np.array_equal(again.pipeline.predict(result.X_test), result.pipeline.predict(result.X_test))
    plain = train(frame.assign(y=frame["y"] - 1), Recipe(target="y", task="regression",
                                                         max_trials=len(portfolio), finalize="off"))
    assert not any(r["params"].get("loss") == "poisson" for r in plain.leaderboard)  # y < 0 there


def test_auto_mode_ranks_multiclass_accuracy_by_log_loss_and_says_so():
    """Five overlapping classes: auto mode ranks, searches and blends by log loss, and the
    leaderboard and the chosen model follow it; a user's own models keep accuracy's order."""
    rng = np.random.default_rng(6)
    n = 500
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    frame["y"] = pd.qcut(frame["a"] + frame["b"] + rng.normal(size=n), 5,
                         labels=["q1", "q2", "q3", "q4", "q5"]).astype(str)
    result = train(frame, Recipe(target="y", task="multiclass", max_trials=14, finalize="off"))
    assert result.metric == "accuracy"
    assert any("by log loss, not accuracy" in note for note in result.notes)
    board = [r for r in result.leaderboard if r["status"] == "ok"]
    assert [r["log_loss"] for r in board] == sorted(r["log_loss"] for r in board)
    assert result.best == board[0]["model"]
    # the resolved recipe ranks as the run did, so its replay chooses the model over the
    # baseline the same way even where they tie on accuracy
    assert result.recipe.rank_metric == "log_loss" and not result.recipe.auto
    again = train(frame, result.recipe)
    assert again.best == result.best and again.leaderboard[0]["model"] == result.best
    assert np.array_equal(again.pipeline.predict_proba(result.X_test),
                          result.pipeline.predict_proba(result.X_test))
    assert any("As the recipe says" in note for note in again.notes)
    models = [ModelChoice("logistic_regression"), ModelChoice("random_forest", {"n_estimators": 30})]
    own = train(frame, Recipe(target="y", task="multiclass", auto=False, models=models))
    scores = [r["accuracy"] for r in own.leaderboard if r["status"] == "ok"]
    assert scores == sorted(scores, reverse=True)
    assert not any("log loss" in note for note in own.notes)


def test_grouped_folds_that_leave_one_row_of_a_class_still_fit_boosting():
    """Three rows of a class, two in one group: with that group held out, the fold's fit has
    one row of it, which scikit-learn's early stopping cannot split."""
    rng = np.random.default_rng(8)
    n = 240
    frame = pd.DataFrame({"a": rng.normal(size=n), "shop": [f"s{i % 12}" for i in range(n)]})
    frame["y"] = np.where(frame["a"] > 0, "up", "down")
    frame.loc[[0, 12, 1], "y"] = "rare"  # shops s0, s0, s1
    recipe = Recipe(target="y", task="multiclass", auto=False,
                    models=[ModelChoice("hist_gradient_boosting", {"max_iter": 30})])
    recipe.split.group_column = "shop"
    result = train(frame, recipe)
    (boosting,) = [r for r in result.leaderboard if r["model"] == "hist_gradient_boosting"]
    assert boosting["status"] == "ok" and boosting["params"][catalogue.RARE_CLASS_SAFE] is True


def test_no_poisson_loss_when_a_test_row_is_negative_so_the_finalize_can_fit_every_row():
    rng = np.random.default_rng(3)
    n = 300
    frame = pd.DataFrame({"a": rng.normal(size=n), "t": pd.date_range("2024-01-01", periods=n)})
    frame["y"] = rng.poisson(np.exp(0.5 + frame["a"])).astype(float)
    frame.loc[n - 1, "y"] = -3.0  # a refund, among the latest rows: a test row
    recipe = Recipe(target="y", task="regression", max_trials=10, finalize="on")
    recipe.split.time_column = "t"
    result = train(frame, recipe)
    assert result.final_rows == n
    assert not any(r["params"].get("loss") == "poisson" for r in result.leaderboard)
    assert not any("Poisson loss" in note for note in result.notes)


def test_a_chosen_poisson_model_on_a_negative_target_is_refused_not_replaced_by_the_baseline():
    """A resolved recipe replayed on new data (a challenger) with a refund in it: every fit
    of the Poisson model would fail and the baseline would win. It is refused up front."""
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"a": rng.normal(size=120)})
    frame["y"] = rng.poisson(np.exp(0.5 + frame["a"])).astype(float)
    frame.loc[7, "y"] = -3.0
    recipe = Recipe(target="y", task="regression", auto=False,
                    models=[ModelChoice("hist_gradient_boosting", {"loss": "poisson"})])
    with pytest.raises(TabwrightError, match=r"has 1 negative value \(the smallest -3\)") as caught:
        train(frame, recipe)
    assert "auto mode" in caught.value.hint
    beside = recipe.copy()
    beside.models = [ModelChoice("ridge"), *recipe.models]
    refunds = frame.assign(y=np.where(np.arange(len(frame)) < 30, -1.0, frame["y"]))
    result = train(refunds, beside)  # ridge competes; the Poisson model fails as a row
    assert result.best == "ridge"
    assert [r["status"] for r in result.leaderboard if r["model"] == "hist_gradient_boosting"] \
        == ["failed"]
    frame.loc[7, "y"] = 0.0
    assert train(frame, recipe).best == "hist_gradient_boosting"


def test_classes_with_a_row_or_two_do_not_break_cross_validation():
    """A fold whose training part lacks a class still scores every class: the model's
    probabilities (or decision scores) get a column for it, and the model knows every class."""
    rng = np.random.default_rng(5)
    n = 300
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    frame["y"] = np.where(frame["a"] > 0, "up", "down")
    frame.loc[[3, 4], "y"] = "pair"  # two rows: in one fold both can be held out
    frame.loc[9, "y"] = "solo"  # one row: kept in the training part by the split
    models = [ModelChoice("dummy"), ModelChoice("logistic_regression"), ModelChoice("linear_svm"),
              ModelChoice("hist_gradient_boosting", {"max_iter": 30})]
    result = train(frame, Recipe(target="y", task="multiclass", auto=False, models=models))
    assert {r["model"] for r in result.leaderboard if r.get("status", "ok") == "ok"} >= {
        "dummy", "logistic_regression", "linear_svm", "hist_gradient_boosting"}
    assert all(np.isfinite(r["accuracy"]) for r in result.leaderboard)
    boosting = [r for r in result.leaderboard if r["model"] == "hist_gradient_boosting"]
    assert boosting[0]["params"][catalogue.RARE_CLASS_SAFE] is True  # "solo" cannot be held out
    assert boosting[0]["status"] == "ok"
    assert any("early stopping" in note for note in result.notes)
    assert list(result.pipeline.classes_) == ["down", "pair", "solo", "up"]
    assert result.pipeline.predict_proba(frame.head(3)).shape == (3, 4)
    assert not any("upper/lower case" in note for note in result.notes)
    frame.loc[frame["y"] == "up", "y"] = np.where(np.arange((frame["y"] == "up").sum()) % 2, "up", "Up")
    again = train(frame, Recipe(target="y", task="multiclass", auto=False, models=models[:2]))
    assert any("'Up' and 'up'" in note and "write them one way" in note for note in again.notes)


def test_a_test_set_of_a_few_rows_is_said_to_give_rough_scores():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=40)})
    frame["y"] = frame["a"] + rng.normal(size=40)
    result = train(frame, Recipe(target="y", task="regression", auto=False,
                                 models=[ModelChoice("ridge")]))
    assert any(n.startswith("The test set has only 8 rows") for n in result.notes)


def test_the_noise_note_tells_two_settings_of_one_model_apart():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["y"] = frame["a"] + rng.normal(size=300)
    same = train(frame, Recipe(target="y", task="regression", auto=False, models=[
        ModelChoice("ridge", {"alpha": 1.0}), ModelChoice("ridge", {"alpha": 1.001})]))
    assert same.noise_note.startswith("The leader, Ridge regression (alpha=1.001), and the "
                                      "runner-up, Ridge regression (alpha=1), score the same")
    close = train(frame, Recipe(target="y", task="regression", auto=False, models=[
        ModelChoice("ridge"), ModelChoice("lasso", {"alpha": 0.01})]))
    assert close.noise_note.startswith("The leader, Lasso regression, beats the runner-up, "
                                       "Ridge regression, by ")


def test_repeated_cross_validation_scores_on_the_mean_of_each_rows_repeats(titanic):
    """Repeated k-fold predicts each row once per repeat: the candidate's out-of-fold
    prediction is their mean, and its fold scores are the first repeat's k folds."""
    from sklearn.model_selection import RepeatedStratifiedKFold

    import core.train._runner as t

    kept = {}
    original = t._Runner.evaluate

    def spy(self, model, params=None, **kw):
        cand = original(self, model, params, **kw)
        kept[model] = (cand, self)
        return cand

    recipe = fast("survived", validation=Validation(scheme="repeated", folds=4, repeats=3))
    try:
        t._Runner.evaluate = spy
        train(titanic, recipe, inferred_roles=roles_of(titanic))
    finally:
        t._Runner.evaluate = original
    cand, runner = kept["logistic_regression"]
    assert len(runner.folds) == 12 and len(runner.partition) == 4 and runner.repeated
    assert len(cand.scores["roc_auc"]) == 4
    cv = RepeatedStratifiedKFold(n_splits=4, n_repeats=3, random_state=recipe.seed)
    expected = np.zeros(len(runner.X))
    for (train_idx, valid_idx), mine in zip(cv.split(runner.X, runner.y), runner.folds):
        np.testing.assert_array_equal(valid_idx, mine[1])
        fitted = t.build_pipeline(runner.plan, runner.recipe, "logistic_regression", {},
                                  task="binary").fit(runner.X.iloc[train_idx], runner.y.iloc[train_idx])
        expected[valid_idx] += fitted.predict_proba(runner.X.iloc[valid_idx])[:, 1] / 3
    np.testing.assert_allclose(cand.oof[:, 1], expected, rtol=1e-9)


def test_near_the_end_the_reserve_is_the_ensemble_greedy_selection_would_choose_now():
    """Four families' refits are reserved at first; when little time is left, the reserve is
    measured against the members greedy selection would draw (here two boosted models, not
    the slow forest that scores worse and adds nothing), which leaves more time to search."""
    from core.train._runner import Candidate, _Runner

    rng = np.random.default_rng(0)
    y = pd.Series(rng.integers(0, 2, 1_000))
    folds = [(np.arange(800), np.arange(800, 1_000))]
    runner = _Runner(plan=None, recipe=Recipe(target="t"), task="binary", metric="roc_auc",
                     classes=np.array([0, 1]), X=pd.DataFrame({"a": np.arange(1_000.0)}), y=y,
                     folds=folds, cancel=CancelToken(), report=lambda p: None,
                     started=time.monotonic(), notes=[], dask_scheduler=None)
    runner.budget = 20.0

    def cand(model, params, fit_seconds, noise):
        p = np.clip(y.to_numpy() * 0.6 + 0.2 + rng.normal(0, noise, 1_000), 0, 1)
        oof = np.full((1_000, 2), np.nan)
        oof[800:] = np.column_stack([1 - p, p])[800:]
        c = Candidate(model, params, {}, fit_seconds, oof)
        c.scores = runner._fold_scores(oof, True)
        return c

    runner.candidates = [cand("hist_gradient_boosting", {"a": 1}, 0.1, 0.2),
                         cand("hist_gradient_boosting", {"a": 2}, 0.1, 0.2),
                         cand("logistic_regression", {}, 0.02, 0.9),
                         cand("extra_trees", {}, 8.0, 1.5)]
    deadline = time.monotonic() + 20.0
    cautious = runner._left_after(deadline, runner._family_bests()[:4])
    members = runner._provisional_members()
    assert {c.model for c in members} == {"hist_gradient_boosting"} and len(members) == 2
    assert cautious < 5 and runner._reserve_left(deadline) > cautious + 2
    # when the search ran on a sample, the cautious reserve stands: it keeps the refit's rows
    runner.full_X = pd.DataFrame({"a": np.arange(2_000.0)})
    assert runner._reserve_left(deadline) == pytest.approx(
        runner._left_after(deadline, runner._family_bests()[:4]), abs=0.05)
    runner.full_X = runner.X
    # far from the end the cautious reserve stands
    assert runner._reserve_left(deadline + 100) == pytest.approx(
        runner._left_after(deadline + 100, runner._family_bests()[:4]), abs=0.05)
