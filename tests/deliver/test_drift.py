"""Tests for core.deliver._drift: baselines in the model card, PSI, and the drift verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.deliver._drift import (
    OTHER,
    PSI_DRIFT,
    PSI_WATCH,
    baseline_stats,
    check_drift,
    drift_figure,
    psi,
)
from core.deliver._export import model_card
from core.recipe import ModelChoice, Recipe
from core.train._runner import train

ROLES = {"x": "numeric", "z": "numeric", "colour": "categorical"}


def _frame(n: int = 400, seed: int = 0, *, shift: float = 0.0, colours=("red", "green", "blue")
           ) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(loc=shift, size=n), "z": rng.normal(size=n),
                          "colour": rng.choice(list(colours), n)})
    frame["y"] = np.where(frame["x"] + 0.5 * rng.normal(size=n) > 0, "yes", "no")
    return frame


@pytest.fixture(scope="module")
def trained():
    result = train(_frame(), Recipe(target="y", auto=False,
                                    models=[ModelChoice("logistic_regression")]),
                   inferred_roles=ROLES)
    return result, model_card(result, data_name="tiny.csv")


# --------------------------------------------------------------------------- PSI


def test_psi_of_identical_distributions_is_zero():
    shares = np.array([0.1, 0.2, 0.3, 0.4])
    assert psi(shares, shares) == pytest.approx(0.0, abs=1e-12)
    assert psi(shares, shares * 7) == pytest.approx(0.0, abs=1e-12)  # counts or shares alike


def test_psi_grows_with_the_shift():
    expected = np.full(10, 0.1)
    slight = np.array([0.12, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.08])
    shifted = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.2, 0.2, 0.2, 0.3])
    assert 0 < psi(expected, slight) < PSI_WATCH
    assert psi(expected, shifted) > PSI_DRIFT
    assert psi(expected, shifted) == pytest.approx(psi(shifted, expected))  # symmetric
    # a formula check: sum((a - e) * ln(a / e))
    a, e = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    assert psi(e, a) == pytest.approx(0.25 * np.log(2) + (-0.25) * np.log(0.5 / 0.75))


def test_empty_bins_are_floored_not_infinite():
    assert np.isfinite(psi(np.array([0.5, 0.5]), np.array([1.0, 0.0])))


# --------------------------------------------------------------------------- baselines


def test_baseline_stats_bins_numbers_in_deciles_and_counts_levels():
    frame = _frame(1000)
    stats = baseline_stats(frame[["x", "colour"]], ROLES, y=frame["y"], task="binary")
    assert stats["rows"] == 1000
    x = stats["features"]["x"]
    assert x["kind"] == "numeric" and len(x["edges"]) == 9 and len(x["shares"]) == 10
    assert sum(x["shares"]) == pytest.approx(1.0)
    assert all(s == pytest.approx(0.1, abs=0.01) for s in x["shares"])
    assert x["mean"] == pytest.approx(frame["x"].mean())
    colour = stats["features"]["colour"]
    assert colour["kind"] == "categorical" and set(colour["levels"]) == {"red", "green", "blue"}
    assert sum(colour["levels"].values()) == pytest.approx(1.0)
    assert stats["target"]["kind"] == "categorical" and set(stats["target"]["levels"]) == {"yes", "no"}
    assert "target" not in baseline_stats(frame[["x"]], ROLES)


def test_many_levels_are_summarised_as_other():
    frame = pd.DataFrame({"id": [f"v{i % 80}" for i in range(800)]})
    levels = baseline_stats(frame, {"id": "categorical"})["features"]["id"]["levels"]
    assert len(levels) == 51 and levels[OTHER] == pytest.approx(30 / 80)


# --------------------------------------------------------------------------- check_drift


def test_the_model_card_carries_the_baseline(trained):
    result, card = trained
    assert set(card["baseline"]["features"]) == set(result.X_train.columns) == {"x", "z", "colour"}
    assert card["baseline"]["rows"] == result.n_train


def test_new_data_like_the_training_data_does_not_drift(trained):
    _, card = trained
    drift = check_drift(card, _frame(2000, seed=1))
    assert drift["verdict"] == "no drift" and drift["drifted"] == [] and drift["watch"] == []
    assert all(r["psi"] < PSI_WATCH for r in drift["features"])
    assert drift["explanation"].startswith("No drift")


def test_a_shifted_column_is_flagged(trained):
    _, card = trained
    drift = check_drift(card, _frame(2000, seed=2, shift=2.0))
    by_name = {r["feature"]: r for r in drift["features"]}
    assert by_name["x"]["status"] == "drift" and by_name["x"]["psi"] > PSI_DRIFT
    assert by_name["x"]["p_value"] < 0.01 and by_name["x"]["mean_now"] > 1.5
    assert by_name["z"]["status"] == "stable" and by_name["colour"]["status"] == "stable"
    assert drift["drifted"] == ["x"]
    assert drift["features"][0]["feature"] == "x"  # largest PSI first
    assert drift["share_drifted"] == pytest.approx(1 / 3)
    assert drift["verdict"] == "retrain" and "1 of 3 features drifted" in drift["explanation"]


def test_a_shifted_category_and_new_levels_are_flagged(trained):
    _, card = trained
    drift = check_drift(card, _frame(2000, seed=3, colours=("red", "purple")))
    colour = next(r for r in drift["features"] if r["feature"] == "colour")
    assert colour["status"] == "drift" and colour["test"] == "chi-squared"
    assert colour["new_levels"] == ["purple"]


def test_a_missing_column_means_retrain(trained):
    _, card = trained
    drift = check_drift(card, _frame(500, seed=4).drop(columns=["z"]))
    assert drift["missing_columns"] == ["z"]
    assert drift["verdict"] == "retrain" and "1 feature(s) are missing" in drift["explanation"]


def test_with_the_model_and_the_target_performance_is_compared(trained):
    result, card = trained
    same = check_drift(card, _frame(1000, seed=5), model=result.pipeline)
    assert "target_drift" in same and same["performance"]["rows"] == 1000
    change = same["performance_change"]
    assert change["metric"] == "roc_auc" and change["then"] == card["test_metrics"]["roc_auc"]
    assert change["now"] == pytest.approx(same["performance"]["metrics"]["roc_auc"])
    # the relation flips: the model is now wrong, which only the performance shows
    flipped = _frame(1000, seed=6)
    flipped["y"] = flipped["y"].map({"yes": "no", "no": "yes"})
    worse = check_drift(card, flipped, model=result.pipeline)
    assert worse["drifted"] == [] and worse["performance_change"]["change"] < -0.5
    assert worse["verdict"] == "retrain" and "roc_auc fell from" in worse["explanation"]


def test_drift_figure_draws_one_bar_per_feature_with_a_psi(trained):
    _, card = trained
    drift = check_drift(card, _frame(500, seed=7, shift=2.0).drop(columns=["z"]))
    fig = drift_figure(drift)
    assert list(fig.data[0].y) == ["x", "colour"]  # 'z' is missing: no PSI, no bar
    assert fig.data[0].x[0] == pytest.approx(drift["features"][0]["psi"])
    assert drift_figure({}) is None and drift_figure({"features": []}) is None


# --------------------------------------------------------------------------- the model's output


def _many(n: int, seed: int, *, shift: str | None = None) -> pd.DataFrame:
    """Ten inputs; the outcome depends on 'x' alone."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"n{i}": rng.normal(size=n) for i in range(9)})
    frame["x"] = rng.normal(size=n)
    if shift:
        frame[shift] += 3.0
    frame["y"] = np.where(frame["x"] + 0.3 * rng.normal(size=n) > 0, "yes", "no")
    return frame


@pytest.fixture(scope="module")
def leaning():
    frame = _many(600, 0)
    result = train(frame, Recipe(target="y", auto=False, models=[ModelChoice("logistic_regression")]),
                   inferred_roles={c: "numeric" for c in frame if c != "y"})
    return result, model_card(result, data_name="many.csv")


def test_the_card_keeps_the_distribution_of_the_models_own_output(leaning):
    result, card = leaning
    output = card["baseline"]["prediction"]
    assert output["kind"] == "numeric" and len(output["shares"]) == 10  # deciles of P(yes)
    assert 0.3 < output["mean"] < 0.7


def test_one_drifted_feature_the_model_leans_on_means_retrain(leaning):
    result, card = leaning
    new = _many(1000, 1, shift="x")
    without_model = check_drift(card, new)
    assert without_model["drifted"] == ["x"] and without_model["verdict"] == "watch"
    drift = check_drift(card, new.drop(columns=["y"]), model=result.delivered)
    assert drift["drifted"] == ["x"] and drift["share_drifted"] == pytest.approx(0.1)
    assert drift["prediction_drift"]["psi"] > PSI_DRIFT
    assert drift["verdict"] == "retrain"
    assert "the model's predictions shifted (PSI" in drift["explanation"]
    assert "drifted inputs: 'x'" in drift["explanation"]


def test_a_drifted_feature_the_model_ignores_is_only_watched(leaning):
    result, card = leaning
    drift = check_drift(card, _many(1000, 2, shift="n3").drop(columns=["y"]), model=result.delivered)
    assert drift["drifted"] == ["n3"] and drift["prediction_drift"]["psi"] < PSI_WATCH
    assert drift["verdict"] == "watch" and "the model's predictions hardly moved" in drift["explanation"]
    steady = check_drift(card, _many(1000, 3).drop(columns=["y"]), model=result.delivered)
    assert steady["verdict"] == "no drift" and steady["prediction_drift"]["psi"] < PSI_WATCH


def test_a_card_without_the_output_baseline_still_checks_features(leaning):
    result, card = leaning
    old = {**card, "baseline": {k: v for k, v in card["baseline"].items() if k != "prediction"}}
    drift = check_drift(old, _many(1000, 1, shift="x").drop(columns=["y"]), model=result.delivered)
    assert "prediction_drift" not in drift and drift["verdict"] == "watch"
    assert "predictions may degrade" in drift["explanation"]


@pytest.mark.parametrize("model", ["extra_trees", "random_forest"])
def test_fresh_rows_from_the_same_data_do_not_drift_for_a_forest(model):
    """The card's baseline is the model's output on rows it never saw (out of fold): a forest
    is far surer of its own training rows, and fresh rows read as drift against those."""
    frame = _many(2000, 4)
    result = train(frame.iloc[:1400], Recipe(target="y", auto=False,
                                             models=[ModelChoice(model, {"n_estimators": 60})]),
                   inferred_roles={c: "numeric" for c in frame if c != "y"})
    card = model_card(result, data_name="many.csv")
    assert card["baseline"]["prediction"]["kind"] == "numeric"
    drift = check_drift(card, frame.iloc[1400:].drop(columns=["y"]), model=result.delivered)
    assert drift["prediction_drift"]["psi"] < PSI_WATCH and drift["verdict"] == "no drift"
