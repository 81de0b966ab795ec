"""Tests for core.monitor._performance: feedback joined to predictions, scores per window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from core.metrics import score
from core.monitor._performance import (
    MIN_SCORED,
    join_feedback,
    rank_auc,
    request_starts,
    score_windows,
    true_values,
)


def _join(log: pd.DataFrame, feedback: pd.DataFrame | None, in_period=None):
    in_period = np.ones(len(log), dtype=bool) if in_period is None else in_period
    return join_feedback(log["request_id"], in_period, feedback)


def test_a_request_is_consecutive_rows_of_one_time_and_latency():
    t = pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:00", "2024-01-01 10:00",
                        "2024-01-01 10:01", "2024-01-01 10:01"], utc=True)
    latency = np.array([5.0, 5.0, 7.0, 7.0, 7.0])
    assert request_starts(t.asi8, latency).tolist() == [True, False, True, True, False]
    assert request_starts(t.asi8, None).tolist() == [1, 0, 0, 1, 0]


@pytest.mark.parametrize("dtype", [object, "string[pyarrow]", "string[python]"])
def test_outcomes_join_their_records_by_id(dtype):
    log = pd.DataFrame({"request_id": pd.Series(["a", "b.0", "b.1", "c", "dup", "dup"],
                                                dtype=dtype)})
    feedback = pd.DataFrame({"request_id": ["b.1", "zz", "a", "dup"],
                             "actual": ["yes", "no", "no", "no"],
                             "received": pd.to_datetime(["2024-01-01"] * 4, utc=True)})
    labels = _join(log, feedback)
    assert sorted(zip(labels.rows.tolist(), labels.actual.tolist())) == [(0, "no"), (2, "yes")]
    assert labels.unmatched == 1  # "zz"
    assert labels.ambiguous == 1  # "dup" names two rows: not guessed


def test_the_latest_outcome_of_a_record_counts_and_missing_outcomes_are_ignored():
    log = pd.DataFrame({"request_id": ["a", "b"]})
    feedback = pd.DataFrame({"request_id": ["a", "a", "b"], "actual": ["late", "early", None],
                             "received": pd.to_datetime(["2024-01-03", "2024-01-01", "2024-01-02"],
                                                        utc=True)})
    labels = _join(log, feedback)
    assert labels.rows.tolist() == [0] and labels.actual.tolist() == ["late"]


def test_rows_outside_the_period_are_not_labelled():
    log = pd.DataFrame({"request_id": ["a", "b", "c"]})
    feedback = pd.DataFrame({"request_id": ["a", "b", "c"], "actual": [1.0, 2.0, 3.0]})
    labels = _join(log, feedback, np.array([True, False, True]))
    assert labels.rows.tolist() == [0, 2] and labels.unmatched == 1


def test_numeric_request_ids_match_their_text():
    log = pd.DataFrame({"request_id": [101, 102]})
    feedback = pd.DataFrame({"request_id": ["102"], "actual": [3.5]})
    assert _join(log, feedback).rows.tolist() == [1]
    mixed = pd.DataFrame({"request_id": pd.Series(["x", 7], dtype=object)})
    assert _join(mixed, pd.DataFrame({"request_id": [7], "actual": [1.0]})).rows.tolist() == [1]


def test_no_feedback_gives_no_labels():
    log = pd.DataFrame({"request_id": ["a"]})
    assert len(_join(log, None).rows) == 0
    assert len(_join(log, pd.DataFrame(columns=["request_id", "actual", "received"])).rows) == 0


def test_true_values_map_labels_to_class_positions():
    codes = true_values(pd.Series(["no", "yes", "maybe", None], dtype=object), "binary",
                        ["no", "yes"])
    assert codes.tolist() == [0, 1, -1, -1]
    assert true_values(pd.Series([1.0, 0.0]), "binary", ["0", "1"]).tolist() == [1, 0]
    assert true_values(pd.Series(["2.5", "x"], dtype=object), "regression", []).tolist()[0] == 2.5


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
@pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")
@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true:UserWarning")
@pytest.mark.parametrize("task,k", [("binary", 2), ("multiclass", 3)])
@pytest.mark.parametrize("threshold", [None, 0.3])
def test_window_scores_are_core_metrics_scores(task, k, threshold):
    rng = np.random.default_rng(0)
    n, n_windows = 2500, 6
    proba = np.round(rng.dirichlet(np.ones(k), n), 2)  # rounded: many ties
    proba /= proba.sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(proba, axis=1)).sum(axis=1)
    windows = rng.integers(0, 4, n)
    windows[:3], windows[3] = 4, 5  # a window of 3 rows, and one of a single row (not scored)
    y[windows == 2] = 0  # one class only: ROC-AUC undefined there
    metrics = ["accuracy", "roc_auc", "balanced_accuracy", "log_loss"]
    t = threshold if task == "binary" else None
    counts, scores = score_windows(metrics, y, proba, windows, n_windows, task=task, n_classes=k,
                                   threshold=t)
    assert counts.tolist() == np.bincount(windows, minlength=n_windows).tolist()
    for m in metrics:
        expected = [score(m, y[windows == w], proba[windows == w], task=task,
                          classes=np.arange(k), threshold=t)
                    if counts[w] >= MIN_SCORED else np.nan for w in range(n_windows)]
        assert np.allclose(scores[m], expected, equal_nan=True, rtol=1e-12), m
    assert np.isnan(scores["roc_auc"][2]) and not np.isnan(scores["accuracy"][2])
    assert np.isnan(scores["accuracy"][5]) and not np.isnan(scores["accuracy"][4])


def test_regression_window_scores_are_core_metrics_scores():
    rng = np.random.default_rng(1)
    y, pred = rng.normal(size=900), rng.normal(size=900)
    windows = np.repeat([0, 1, 2], 300)
    _, scores = score_windows(["rmse", "mae", "r2"], y, pred, windows, 3, task="regression")
    for m in ("rmse", "mae", "r2"):
        expected = [score(m, y[windows == w], pred[windows == w], task="regression")
                    for w in range(3)]
        assert np.allclose(scores[m], expected, rtol=1e-12), m


def test_without_probabilities_only_label_metrics_are_scored():
    y = np.array([0, 1, 1, 0, 1])
    one_hot = np.eye(2)[[0, 1, 0, 0, 1]]
    _, scores = score_windows(["roc_auc", "accuracy"], y, one_hot, np.zeros(5, dtype=np.int64), 1,
                              task="binary", n_classes=2, has_proba=False)
    assert list(scores) == ["accuracy"] and scores["accuracy"][0] == pytest.approx(0.8)


def test_rank_auc_handles_ties_like_scikit_learn():
    values = np.array([0.1, 0.4, 0.4, 0.4, 0.8, 0.8, 0.2])
    positive = np.array([0, 1, 0, 1, 1, 0, 0], dtype=bool)
    auc = rank_auc(values, positive, np.zeros(7, dtype=np.int64), 1)
    assert auc[0] == pytest.approx(roc_auc_score(positive, values))
