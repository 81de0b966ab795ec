"""Cost-aware thresholds: counts agree with scikit-learn, the choice is the brute-force cheapest
on the validation folds' predictions, and the exported model applies it."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_classification
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import FixedThresholdClassifier

import core.train._runner as runner_module
from core.errors import TabwrightError
from core.evaluate._costs import (
    cheapest_threshold,
    cost_curve,
    cost_summary,
    expected_cost,
    threshold_counts,
)
from core.evaluate.figures import cost_curve_figure
from core.recipe import Costs, ModelChoice, Recipe
from core.train._runner import train


def brute_force_cost(y, score, threshold, costs: Costs) -> float:
    """Expected cost per 1,000 decisions at one threshold, counted row by row."""
    total = 0.0
    for truth, s in zip(y, score):
        flagged = s >= threshold
        if flagged and truth:
            total -= costs.tp_gain
        elif flagged:
            total += costs.fp_cost
        elif truth:
            total += costs.fn_cost
    return 1000 * total / len(y)


def brute_force_cheapest(y, score, costs: Costs) -> tuple[float, float]:
    """Every distinct score and 1.0 tried; the cheapest, a tie going to the one nearest 0.5."""
    candidates = sorted(set(float(s) for s in score) | {1.0})
    priced = [(brute_force_cost(y, score, t, costs), abs(t - 0.5), t) for t in candidates]
    cost, _, threshold = min(priced, key=lambda p: (round(p[0], 9), p[1]))
    return threshold, cost


def small_frame(n=400, seed=0) -> pd.DataFrame:
    X, y = make_classification(n_samples=n, n_features=5, n_informative=3, weights=[0.8],
                               flip_y=0.05, random_state=seed)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    frame["target"] = np.where(y == 1, "yes", "no")
    return frame


def recipe_with(costs: Costs | None = None, **changes) -> Recipe:
    recipe = Recipe(target="target", task="binary", auto=False,
                    models=[ModelChoice("logistic_regression")], **changes)
    if costs is not None:
        recipe.imbalance.costs = costs
    return recipe


# --------------------------------------------------------------------------- counting and choosing


def test_counts_at_every_threshold_agree_with_sklearn():
    rng = np.random.default_rng(1)
    y = rng.choice(["a", "b"], size=60)
    score = rng.random(60).round(2)  # ties between rows, as tree leaves give
    counts = threshold_counts(y, score, "b")
    assert counts["thresholds"] == sorted(set(score.tolist()) | {1.0})
    assert counts["rows"] == 60
    for i, t in enumerate(counts["thresholds"]):
        pred = np.where(score >= t, "b", "a")
        tn, fp, fn, tp = confusion_matrix(y, pred, labels=["a", "b"]).ravel()
        assert (counts["tp"][i], counts["fp"][i], counts["fn"][i], counts["tn"][i]) == (tp, fp, fn, tn)


@settings(max_examples=80, deadline=None)
@given(data=st.data(), n=st.integers(2, 40),
       fp=st.sampled_from([0, 1, 2.5, 10]), fn=st.sampled_from([0, 1, 7, 100]),
       gain=st.sampled_from([0, 3]))
def test_the_chosen_threshold_is_the_brute_force_minimum(data, n, fp, fn, gain):
    costs = Costs(fp_cost=fp, fn_cost=fn, tp_gain=gain)
    if not costs.stated:
        return
    y = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    score = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.7, 0.9, 1.0]),
                                        min_size=n, max_size=n)))
    threshold, cost = cheapest_threshold(threshold_counts(y, score, True), costs)
    expected_threshold, expected_cost_ = brute_force_cheapest(y, score, costs)
    assert threshold == expected_threshold
    assert cost == pytest.approx(expected_cost_)
    # and no threshold anywhere in [0, 1] does better
    assert all(brute_force_cost(y, score, t, costs) >= cost - 1e-9 for t in np.linspace(0, 1, 201))


def test_costs_move_the_threshold_the_way_a_person_expects():
    y = np.array([0] * 80 + [1] * 20)
    score = np.r_[np.linspace(0.0, 0.6, 80), np.linspace(0.3, 0.95, 20)]
    counts = threshold_counts(y, score, 1)
    missing_is_costly, _ = cheapest_threshold(counts, Costs(fp_cost=1, fn_cost=50))
    alarms_are_costly, _ = cheapest_threshold(counts, Costs(fp_cost=50, fn_cost=1))
    assert missing_is_costly == pytest.approx(0.3)  # the lowest threshold that finds every positive
    assert alarms_are_costly > 0.6  # above every negative: no false alarm at all
    # when the surest row is a false alarm dearer than every miss, flag no row at all
    mixed = threshold_counts([1, 0, 1, 0], [0.2, 0.9, 0.5, 0.6], 1)
    assert cheapest_threshold(mixed, Costs(fp_cost=1000, fn_cost=1)) == (1.0, pytest.approx(500.0))


def test_curve_is_per_thousand_decisions_and_a_gain_is_a_negative_cost():
    counts = threshold_counts([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1], 1)
    curve = cost_curve(counts, Costs(fp_cost=2, fn_cost=3, tp_gain=10))
    at = dict(zip(curve["thresholds"], curve["cost_per_1000"]))
    assert at[0.8] == pytest.approx(-5000.0)  # two finds, no mistakes: 2 × −10 over 4 rows
    assert at[1.0] == pytest.approx(1500.0)  # both positives missed: 2 × 3 over 4 rows
    assert (curve["threshold"], curve["cost"]) == (0.8, pytest.approx(-5000.0))
    assert expected_cost([1, 1, 0, 0], [1, 0, 1, 0], 1, Costs(fp_cost=2, fn_cost=3, tp_gain=10)) \
        == pytest.approx(1000 * (2 + 3 - 10) / 4)


def test_a_large_validation_keeps_at_most_the_candidate_limit():
    rng = np.random.default_rng(0)
    counts = threshold_counts(rng.random(50_000) < 0.1, rng.random(50_000), True)
    assert len(counts["thresholds"]) <= 400 and counts["thresholds"][-1] == 1.0
    assert counts["rows"] == 50_000


def test_all_zero_costs_are_refused():
    counts = threshold_counts([0, 1], [0.2, 0.7], 1)
    with pytest.raises(TabwrightError, match="At least one cost or gain must be above 0"):
        cost_curve(counts, Costs())


# --------------------------------------------------------------------------- training applies it


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return small_frame()


@pytest.fixture(scope="module")
def costly_misses(frame):
    """A run told that a missed positive costs 20 times a false alarm, with the validation
    predictions it chose the threshold on."""
    seen: dict = {}
    original = runner_module.threshold_counts

    def spy(y, score, positive, **kw):
        seen.update(y=np.asarray(y), score=np.asarray(score), positive=positive)
        return original(y, score, positive, **kw)

    runner_module.threshold_counts = spy
    try:
        result = train(frame, recipe_with(Costs(fp_cost=1, fn_cost=20)))
    finally:
        runner_module.threshold_counts = original
    return result, seen


def test_training_chooses_the_cheapest_threshold_on_the_out_of_fold_predictions(costly_misses, frame):
    result, seen = costly_misses
    # the validation folds' predictions of the training rows, not the test rows
    assert len(seen["y"]) == result.n_train and seen["positive"] == "yes"
    expected, _ = brute_force_cheapest(seen["y"] == "yes", seen["score"], Costs(1, 20))
    assert result.threshold == pytest.approx(expected)
    assert result.threshold < 0.5  # misses are dear: flag more rows
    assert any("chosen for your costs on validation folds" in n for n in result.notes)


def test_the_recipe_records_the_costs_and_the_threshold_and_the_export_applies_it(costly_misses, frame):
    result, _ = costly_misses
    assert result.recipe.imbalance.costs == Costs(fp_cost=1, fn_cost=20)
    assert result.recipe.imbalance.threshold == pytest.approx(result.threshold)
    assert Recipe.from_json(result.recipe.to_json()) == result.recipe
    model = result.pipeline
    assert isinstance(model, FixedThresholdClassifier) and model.threshold == result.threshold
    proba = model.predict_proba(frame)[:, list(model.classes_).index("yes")]
    np.testing.assert_array_equal(model.predict(frame) == "yes", proba >= result.threshold)
    # retraining the resolved recipe keeps the threshold (it is fixed now) and the costs
    again = train(frame, result.recipe)
    assert again.threshold == pytest.approx(result.threshold)


def test_every_binary_run_keeps_its_validation_counts_as_json(frame):
    result = train(frame, recipe_with())
    counts = result.evaluation["validation_threshold_counts"]
    assert counts["rows"] == result.n_train
    assert result.threshold == 0.5 and not isinstance(result.pipeline, FixedThresholdClassifier)
    json.dumps(result.evaluation, allow_nan=False)


# --------------------------------------------------------------------------- the summary


def test_summary_prices_the_chosen_threshold_and_the_default_on_the_test_rows(frame):
    result = train(frame, recipe_with())
    costs = Costs(fp_cost=1, fn_cost=20)
    summary = cost_summary(result, costs)
    json.dumps(summary, allow_nan=False)
    chosen, _ = cheapest_threshold(result.evaluation["validation_threshold_counts"], costs)
    assert summary["chosen_threshold"] == chosen and summary["applied"] is False
    proba = result.pipeline.predict_proba(result.X_test)[:, 1]
    y = result.y_test.to_numpy()
    assert summary["test"]["at_chosen"] == pytest.approx(
        expected_cost(y, np.where(proba >= chosen, "yes", "no"), "yes", costs))
    assert summary["test"]["at_default"] == pytest.approx(
        expected_cost(y, result.pipeline.predict(result.X_test), "yes", costs))
    assert summary["test"]["at_model"] == summary["test"]["at_default"]
    assert summary["test"]["rows"] == result.n_test
    assert len(summary["test"]["cost_per_1000"]) == len(summary["validation"]["thresholds"])
    assert f"cheapest threshold on the validation folds is {chosen:.3g}" in summary["sentence"]


def test_summary_of_the_run_trained_with_the_costs_says_they_are_applied(costly_misses):
    result, _ = costly_misses
    summary = cost_summary(result, Costs(fp_cost=1, fn_cost=20))
    assert summary["applied"] is True
    assert summary["model_threshold"] == summary["chosen_threshold"] == pytest.approx(result.threshold)
    assert summary["test"]["at_model"] == summary["test"]["at_chosen"]
    assert cost_summary(result, Costs(fp_cost=3, fn_cost=20))["applied"] is False


def test_a_run_without_validation_counts_still_prices_the_test_rows(costly_misses):
    result, _ = costly_misses
    older = dataclasses.replace(result, evaluation={
        k: v for k, v in result.evaluation.items() if k != "validation_threshold_counts"})
    summary = cost_summary(older, Costs(fp_cost=1, fn_cost=20))
    assert summary["chosen_threshold"] is None and summary["validation"] is None
    assert summary["test"]["at_model"] is not None and "train again" in summary["sentence"]


def test_summary_refuses_a_regression():
    frame = small_frame()
    frame["target"] = frame["x0"] * 3 + frame["x1"]
    result = train(frame, Recipe(target="target", task="regression", auto=False,
                                 models=[ModelChoice("ridge")]))
    assert "validation_threshold_counts" not in result.evaluation
    with pytest.raises(TabwrightError, match="two-class models, got a regression task"):
        cost_summary(result, Costs(fp_cost=1, fn_cost=1))


def test_the_cost_figure_marks_the_chosen_threshold_on_the_validation_curve(costly_misses):
    result, _ = costly_misses
    summary = cost_summary(result, Costs(fp_cost=1, fn_cost=20))
    fig = cost_curve_figure(summary)
    traces = {t.name: t for t in fig.data}
    chosen = traces[f"chosen threshold {summary['chosen_threshold']:.3g}"]
    assert list(chosen.x) == [summary["chosen_threshold"]]
    assert list(chosen.y) == [min(summary["validation"]["cost_per_1000"])]
    assert list(traces["test rows"].y) == summary["test"]["cost_per_1000"]
    assert cost_curve_figure(None) is None
