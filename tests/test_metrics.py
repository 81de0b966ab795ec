"""Tests for core.metrics: the registry, the scores and the decision threshold."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from core import metrics
from core.metrics import (
    METRICS,
    OPTIMISABLE,
    THRESHOLD_METRICS,
    best_threshold,
    binary_labels,
    card_metrics,
    default_metric,
    is_better,
    is_default_threshold,
    labels_from,
    leaderboard_metrics,
    metric_help,
    metric_label,
    metric_when,
    metrics_for,
    score,
)

TASKS = ("binary", "multiclass", "regression", "clustering")


# --------------------------------------------------------------------------- the registry


@pytest.mark.parametrize("name", list(METRICS))
def test_every_metric_is_fully_described(name):
    metric = METRICS[name]
    assert metric.name == name
    assert metric.label and metric.label.strip() == metric.label
    assert metric.help.endswith("."), f"{name}: help must be a sentence ending with a period"
    assert isinstance(metric.greater_is_better, bool)
    assert metric.needs in ("label", "score", "proba")
    assert metric.tasks and set(metric.tasks) <= set(TASKS)
    assert set(metric.optimise) <= set(metric.tasks)
    if metric.optimise:  # a metric a user may choose says when to choose it
        assert metric.when
    assert metric.card_label == (metric.short_label or metric.label)


def test_directions_of_well_known_metrics():
    assert METRICS["roc_auc"].greater_is_better and METRICS["r2"].greater_is_better
    for lower in ("log_loss", "rmse", "mae", "mse", "mape", "davies_bouldin", "max_error"):
        assert not metrics.greater_is_better(lower)


def test_metrics_for_each_task_in_registry_order():
    assert metrics_for("binary") == ("roc_auc", "average_precision", "accuracy",
                                     "balanced_accuracy", "f1", "f1_macro", "f1_weighted",
                                     "precision", "recall", "log_loss", "mcc")
    assert metrics_for("multiclass") == ("roc_auc", "accuracy", "balanced_accuracy", "f1_macro",
                                         "f1_weighted", "log_loss", "mcc")
    assert metrics_for("regression") == ("rmse", "mae", "r2", "mape", "median_ae")
    assert metrics_for("clustering") == ("silhouette",)
    assert metrics_for("no such task") == ()
    assert set(OPTIMISABLE) == {name for task in TASKS for name in metrics_for(task)}
    # reported-only metrics are never offered
    assert "mse" not in metrics_for("regression") and "precision_macro" not in metrics_for("multiclass")


def test_default_metric_per_task_is_optimisable_for_it():
    assert {task: default_metric(task) for task in TASKS} == {
        "binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse",
        "clustering": "silhouette"}
    for task in TASKS:
        assert default_metric(task) in metrics_for(task)


def test_leaderboard_and_card_metrics_are_registered_for_their_task():
    for task in TASKS:
        for name in leaderboard_metrics(task) + card_metrics(task):
            assert task in METRICS[name].tasks, (task, name)
    assert leaderboard_metrics("clustering") == ()
    assert card_metrics("regression")[0] == "rmse"
    assert card_metrics("unknown") == ()
    assert all(METRICS[name].needs == "label" for name in THRESHOLD_METRICS)


def test_metric_label_help_and_when_fall_back_for_unknown_names():
    assert metric_label("roc_auc") == "ROC-AUC"
    assert metric_label("f1") == "F1 (positive class)"
    assert metric_label("my_custom_score") == "my_custom_score"
    assert metric_help("my_custom_score") == "" and metric_when("my_custom_score") == ""
    assert metric_help("rmse") == METRICS["rmse"].help
    assert metric_when("rmse") == METRICS["rmse"].when
    assert METRICS["average_precision"].card_label == "PR-AUC"


# --------------------------------------------------------------------------- comparing scores


def test_is_better_follows_the_direction():
    assert is_better("roc_auc", 0.9, 0.8) and not is_better("roc_auc", 0.8, 0.9)
    assert is_better("rmse", 1.0, 2.0) and not is_better("rmse", 2.0, 1.0)
    assert not is_better("roc_auc", 0.8, 0.8)  # a tie is not better


def test_is_better_treats_nan_and_none_as_the_worst_score():
    nan = float("nan")
    assert is_better("roc_auc", 0.1, nan) and is_better("rmse", 1e9, nan)
    assert not is_better("roc_auc", nan, 0.1) and not is_better("rmse", nan, 1e9)
    assert not is_better("roc_auc", nan, nan)
    assert is_better("roc_auc", 0.5, None) and not is_better("roc_auc", None, 0.5)


# --------------------------------------------------------------------------- scores


def test_regression_scores_match_scikit_learn():
    y = np.array([3.0, -0.5, 2.0, 7.0, 4.0])
    pred = np.array([2.5, 0.0, 2.0, 8.0, 3.0])
    assert score("rmse", y, pred, task="regression") == pytest.approx(
        math.sqrt(skm.mean_squared_error(y, pred)))
    assert score("mae", y, pred, task="regression") == pytest.approx(skm.mean_absolute_error(y, pred))
    assert score("r2", y, pred, task="regression") == pytest.approx(skm.r2_score(y, pred))
    assert score("median_ae", y, pred, task="regression") == pytest.approx(
        skm.median_absolute_error(y, pred))
    assert score("mape", y, pred, task="regression") == pytest.approx(
        skm.mean_absolute_percentage_error(y, pred))
    # MAPE is undefined when a true value is zero
    assert math.isnan(score("mape", np.array([0.0, 1.0]), np.array([0.1, 1.0]), task="regression"))
    with pytest.raises(KeyError):
        score("accuracy", y, pred, task="regression")


def test_binary_scores_match_scikit_learn():
    classes = np.array(["no", "yes"])
    y = np.array(["no", "no", "yes", "yes", "yes", "no", "yes", "no"])
    p_yes = np.array([0.1, 0.6, 0.7, 0.4, 0.9, 0.2, 0.55, 0.3])
    proba = np.column_stack([1 - p_yes, p_yes])
    labels = np.where(p_yes > 0.5, "yes", "no")
    positive = y == "yes"
    assert score("roc_auc", y, proba, task="binary", classes=classes) == pytest.approx(
        skm.roc_auc_score(positive, p_yes))
    assert score("average_precision", y, proba, task="binary", classes=classes) == pytest.approx(
        skm.average_precision_score(positive, p_yes))
    assert score("accuracy", y, proba, task="binary", classes=classes) == pytest.approx(
        skm.accuracy_score(y, labels))
    assert score("f1", y, proba, task="binary", classes=classes) == pytest.approx(
        skm.f1_score(y, labels, pos_label="yes"))
    assert score("precision", y, proba, task="binary", classes=classes) == pytest.approx(
        skm.precision_score(y, labels, pos_label="yes"))
    assert score("recall", y, proba, task="binary", classes=classes) == pytest.approx(
        skm.recall_score(y, labels, pos_label="yes"))
    assert score("mcc", y, proba, task="binary", classes=classes) == pytest.approx(
        skm.matthews_corrcoef(y, labels))
    assert score("log_loss", y, proba, task="binary", classes=classes) == pytest.approx(
        skm.log_loss(y, proba, labels=classes))
    # log loss needs probabilities; decision scores give NaN
    assert math.isnan(score("log_loss", y, proba, task="binary", classes=classes, has_proba=False))
    # a threshold moves the label-based metrics only
    low = score("recall", y, proba, task="binary", classes=classes, threshold=0.35)
    assert low == pytest.approx(skm.recall_score(y, np.where(p_yes >= 0.35, "yes", "no"),
                                                 pos_label="yes"))
    assert low == 1.0
    assert score("roc_auc", y, proba, task="binary", classes=classes, threshold=0.35) == \
        score("roc_auc", y, proba, task="binary", classes=classes)


def test_multiclass_scores_match_scikit_learn():
    classes = np.array([0, 1, 2])
    y = np.array([0, 1, 2, 2, 1, 0])
    proba = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6],
                      [0.3, 0.4, 0.3], [0.1, 0.8, 0.1], [0.5, 0.4, 0.1]])
    labels = proba.argmax(axis=1)
    assert score("accuracy", y, proba, task="multiclass", classes=classes) == pytest.approx(
        skm.accuracy_score(y, labels))
    assert score("f1_macro", y, proba, task="multiclass", classes=classes) == pytest.approx(
        skm.f1_score(y, labels, average="macro"))
    assert score("balanced_accuracy", y, proba, task="multiclass", classes=classes) == pytest.approx(
        skm.balanced_accuracy_score(y, labels))
    assert score("roc_auc", y, proba, task="multiclass", classes=classes) == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes))
    # one-vs-rest AUC needs probabilities and at least two classes present
    assert math.isnan(score("roc_auc", y, proba, task="multiclass", classes=classes, has_proba=False))
    assert math.isnan(score("roc_auc", np.array([0, 0]), proba[:2], task="multiclass",
                            classes=classes))


def test_log_loss_re_sums_float32_rows():
    proba = np.array([[0.2, 0.8], [0.9, 0.1]], dtype=np.float32) * np.float32(1.0000001)
    expected = skm.log_loss([1, 0], np.array([[0.2, 0.8], [0.9, 0.1]]), labels=[0, 1])
    assert metrics.log_loss(np.array([1, 0]), proba, [0, 1]) == pytest.approx(expected, rel=1e-6)


# --------------------------------------------------------------------------- the threshold


def test_binary_labels_tie_goes_to_the_first_class_at_the_default_threshold():
    classes = np.array(["a", "b"])
    proba = np.array([[0.5, 0.5], [0.4, 0.6], [0.7, 0.3]])
    assert is_default_threshold(None) and is_default_threshold(0.5)
    assert not is_default_threshold(0.4)
    assert list(binary_labels(proba, classes, None)) == ["a", "b", "a"]
    assert list(binary_labels(proba, classes, 0.5)) == ["a", "b", "a"]


def test_binary_labels_use_greater_or_equal_at_another_threshold():
    classes = np.array(["a", "b"])
    proba = np.array([[0.6, 0.4], [0.45, 0.55], [0.7, 0.3]])
    assert list(binary_labels(proba, classes, 0.4)) == ["b", "b", "a"]  # 0.4 >= 0.4
    assert list(binary_labels(proba, classes, 0.6)) == ["a", "a", "a"]  # 0.55 < 0.6


def test_labels_from_takes_the_largest_column_for_multiclass():
    classes = np.array(["x", "y", "z"])
    proba = np.array([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2]])
    assert list(labels_from("multiclass", proba, classes)) == ["z", "x"]
    # the threshold is a binary notion and is ignored for multiclass
    assert list(labels_from("multiclass", proba, classes, threshold=0.1)) == ["z", "x"]
    assert list(labels_from("binary", np.array([[0.7, 0.3]]), np.array([0, 1]), 0.25)) == [1]


def test_best_threshold_finds_the_f1_best_cut_off():
    y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    s = np.array([0.05, 0.1, 0.12, 0.15, 0.2, 0.22, 0.3, 0.35, 0.4, 0.45])
    threshold, value = best_threshold(y, s, 1)
    # every positive scores below 0.5: the best cut lies between the classes
    assert 0.22 < threshold <= 0.3
    assert value == pytest.approx(1.0)
    assert value == pytest.approx(skm.f1_score(y, s >= threshold))


def test_best_threshold_with_overlap_beats_the_default():
    y = np.array(["n", "n", "p", "n", "p", "p", "n", "p"])
    s = np.array([0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.6, 0.7])
    threshold, value = best_threshold(y, s, "p")
    default_f1 = skm.f1_score(y == "p", s >= 0.5)
    assert value > default_f1
    assert value == pytest.approx(skm.f1_score(y == "p", s >= threshold))
    # no candidate threshold does better than the one found
    for t in np.unique(s):
        assert skm.f1_score(y == "p", s >= t) <= value + 1e-12
    mcc_t, mcc = best_threshold(y, s, "p", metric="mcc")
    assert mcc == pytest.approx(skm.matthews_corrcoef(y == "p", s >= mcc_t))


# --------------------------------------------------------------------------- the fast path


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_scores_equal_scikit_learns_on_random_classifications(data):
    """``score`` skips scikit-learn's checks on clean input: the numbers must not move."""
    task = data.draw(st.sampled_from(["binary", "multiclass"]))
    k = 2 if task == "binary" else data.draw(st.integers(3, 5))
    classes = np.array(["a", "b", "c", "d", "e"][:k]) if data.draw(st.booleans()) else np.arange(k)
    n = data.draw(st.integers(1, 40))
    y = classes[data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))]
    # coarse values make ties, which ROC-AUC and average precision must treat as scikit-learn does
    raw = np.array(data.draw(st.lists(st.integers(0, 6), min_size=n * k, max_size=n * k)),
                   dtype=float).reshape(n, k) + 0.01
    proba = raw / raw.sum(axis=1, keepdims=True)
    threshold = data.draw(st.sampled_from([None, 0.3, 0.7])) if task == "binary" else None
    labels = metrics.labels_from(task, proba, classes, threshold)
    names = metrics.card_metrics(task) + metrics.leaderboard_metrics(task)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in set(names):
            fast = score(name, y, proba, task=task, classes=classes, threshold=threshold)
            if name == "roc_auc" and task == "binary":
                expected = skm.roc_auc_score(y == classes[1], proba[:, 1]) \
                    if len(set(y)) == 2 else math.nan
            elif name == "roc_auc":
                # score() re-sums each row to 1 first, as here (it moves ties by an ulp)
                summed = proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-12, None)
                expected = skm.roc_auc_score(y, summed, multi_class="ovr", labels=classes) \
                    if len(set(y)) == k else math.nan
            elif name == "average_precision":
                expected = skm.average_precision_score(y == classes[1], proba[:, 1])
            elif name == "log_loss":
                expected = skm.log_loss(y, proba, labels=classes)
            elif name in ("f1", "precision", "recall"):
                expected = getattr(skm, f"{name}_score")(y, labels, pos_label=classes[1],
                                                         zero_division=0)
            elif name in ("f1_macro", "f1_weighted"):
                expected = skm.f1_score(y, labels, average=name[3:], zero_division=0)
            elif name == "mcc":
                expected = skm.matthews_corrcoef(y, labels)
            else:
                expected = getattr(skm, f"{name}_score")(y, labels)
            assert fast == pytest.approx(expected, abs=1e-12, nan_ok=True), name


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(-5, 5), st.integers(-5, 5)), min_size=1, max_size=30))
def test_regression_scores_equal_scikit_learns_on_random_values(pairs):
    y, pred = (np.array(v, dtype=float) for v in zip(*pairs))
    assert score("rmse", y, pred, task="regression") == pytest.approx(
        math.sqrt(skm.mean_squared_error(y, pred)), abs=1e-12)
    assert score("mae", y, pred, task="regression") == pytest.approx(
        skm.mean_absolute_error(y, pred), abs=1e-12)
    if len(y) > 1:  # scikit-learn's R² is not defined on one row
        assert score("r2", y, pred, task="regression") == pytest.approx(
            skm.r2_score(y, pred), abs=1e-12)


def test_unclean_input_still_goes_to_scikit_learn():
    classes = np.array([0, 1])
    proba = np.array([[0.2, 0.8], [np.nan, np.nan], [0.6, 0.4]])
    # a missing prediction: scikit-learn's rules (ROC-AUC undefined) rather than a guess
    assert math.isnan(score("roc_auc", np.array([1, 0, 0]), proba, task="binary", classes=classes))
    # a true label outside the classes is counted as scikit-learn counts it
    clean = np.array([[0.2, 0.8], [0.7, 0.3], [0.6, 0.4]])
    assert score("accuracy", np.array([1, 2, 0]), clean, task="binary", classes=classes) == \
        pytest.approx(2 / 3)
