"""Tests for core.monitor._estimate: confidence-based performance estimation (CBPE)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from core.monitor._estimate import (
    ESTIMABLE,
    Estimate,
    estimate_performance,
    expected_roc_auc,
)


def _calibrated_binary(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Scores and outcomes drawn from them: calibrated by construction."""
    p = rng.beta(0.8, 0.8, n)
    return p, rng.random(n) < p


def _nannyml_auc(p: np.ndarray) -> float:
    """NannyML's estimate_roc_auc, written out: the expected ROC curve over sorted scores."""
    order = np.argsort(p)[::-1]
    tps = np.r_[0, np.cumsum(p[order])]
    fps = np.r_[0, np.cumsum(1 - p[order])]
    return float(skm.auc(fps / fps[-1], tps / tps[-1]))


def test_expected_accuracy_is_the_mean_chance_of_the_predicted_class():
    p = np.array([0.9, 0.8, 0.3, 0.6, 0.1])
    predicted = np.array([1, 1, 0, 0, 0])  # the fourth row is predicted against its odds
    est = estimate_performance([1 - p, p], predicted, np.zeros(5, dtype=int), 1, task="binary")
    assert est["accuracy"].value[0] == pytest.approx((0.9 + 0.8 + 0.7 + 0.4 + 0.9) / 5)
    q = np.array([0.9, 0.8, 0.7, 0.4, 0.9])
    assert est["accuracy"].se[0] == pytest.approx(np.sqrt(np.sum(q * (1 - q))) / 5)
    # Precision over the two predicted positives, recall over the expected positives.
    assert est["precision"].value[0] == pytest.approx((0.9 + 0.8) / 2)
    assert est["recall"].value[0] == pytest.approx((0.9 + 0.8) / p.sum())
    assert est["f1"].value[0] == pytest.approx(2 * 1.7 / (2 + p.sum()))


def test_expected_roc_auc_matches_nannymls_expected_roc_curve():
    rng = np.random.default_rng(0)
    for n in (50, 2000):
        p = rng.beta(0.6, 1.5, n)
        est = expected_roc_auc(p, np.zeros(n, dtype=np.int64), 1)
        assert est.value[0] == pytest.approx(_nannyml_auc(p), abs=2e-4)


def test_tied_scores_give_nannymls_value_exactly():
    rng = np.random.default_rng(1)
    p = rng.choice([0.1, 0.3, 0.5, 0.8], 500)
    est = expected_roc_auc(p, np.zeros(500, dtype=np.int64), 1)
    assert est.value[0] == pytest.approx(_nannyml_auc(p), abs=1e-9)


def test_windows_are_estimated_separately():
    rng = np.random.default_rng(2)
    p1, p2 = rng.beta(5, 5, 1000), rng.beta(0.3, 0.3, 1000)  # unsure, then confident
    p = np.concatenate([p1, p2])
    windows = np.repeat([0, 1], 1000)
    est = estimate_performance([1 - p, p], (p >= 0.5).astype(int), windows, 2, task="binary")
    for w, part in enumerate((p1, p2)):
        alone = estimate_performance([1 - part, part], (part >= 0.5).astype(int),
                                     np.zeros(1000, dtype=np.int64), 1, task="binary")
        for metric in ESTIMABLE["binary"]:
            assert est[metric].value[w] == pytest.approx(alone[metric].value[0])
            assert est[metric].se[w] == pytest.approx(alone[metric].se[0])
    assert est["accuracy"].value[1] > est["accuracy"].value[0] + 0.2


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_interval_covers_the_true_value_on_calibrated_probabilities(task):
    """The realised accuracy and ROC-AUC of 200 windows fall inside the 95% intervals about 95%
    of the time, and the standard error matches the realised spread."""
    rng = np.random.default_rng(3)
    n_windows, size = 200, 400
    if task == "binary":
        p = rng.beta(0.8, 0.8, n_windows * size)
        proba = np.column_stack([1 - p, p])
    else:
        proba = rng.dirichlet([0.5, 0.5, 0.5], n_windows * size)
    truth = (rng.random(len(proba))[:, None] > np.cumsum(proba, axis=1)).sum(axis=1)
    predicted = np.argmax(proba, axis=1)
    windows = np.repeat(np.arange(n_windows), size)
    est = estimate_performance(list(proba.T), predicted, windows, n_windows, task=task)
    realised = {"accuracy": [], "roc_auc": []}
    for w in range(n_windows):
        rows = windows == w
        realised["accuracy"].append(np.mean(truth[rows] == predicted[rows]))
        if task == "binary":
            realised["roc_auc"].append(skm.roc_auc_score(truth[rows], proba[rows, 1]))
        else:
            realised["roc_auc"].append(skm.roc_auc_score(truth[rows], proba[rows],
                                                         multi_class="ovr"))
    for metric, values in realised.items():
        e: Estimate = est[metric]
        values = np.asarray(values)
        inside = np.mean((values >= e.low) & (values <= e.high))
        assert inside >= (0.88 if metric == "accuracy" or task == "binary" else 0.93), metric
        assert np.all(e.high - e.low < 0.2)
        errors = (values - e.value) / e.se
        if metric == "accuracy" or task == "binary":
            assert np.std(errors) == pytest.approx(1.0, abs=0.2), metric
        else:  # the macro average's error is an upper bound
            assert np.std(errors) < 1.1


def test_binary_precision_recall_f1_intervals_cover_the_realised_values():
    rng = np.random.default_rng(4)
    n_windows, size = 150, 500
    p = rng.beta(0.7, 1.2, n_windows * size)
    truth = rng.random(len(p)) < p
    predicted = (p >= 0.35).astype(int)  # a tuned threshold: the logged labels carry it
    windows = np.repeat(np.arange(n_windows), size)
    est = estimate_performance([1 - p, p], predicted, windows, n_windows, task="binary")
    for metric, fn in (("precision", skm.precision_score), ("recall", skm.recall_score),
                       ("f1", skm.f1_score)):
        values = np.array([fn(truth[windows == w], predicted[windows == w] == 1)
                           for w in range(n_windows)])
        e = est[metric]
        assert np.mean((values >= e.low) & (values <= e.high)) >= 0.88, metric
        assert np.std((values - e.value) / e.se) == pytest.approx(1.0, abs=0.2), metric


def test_overconfident_probabilities_overestimate_performance():
    """The assumption the report states: CBPE trusts the probabilities. A model whose
    probabilities are sharper than the truth looks better than it is."""
    rng = np.random.default_rng(5)
    true_p = rng.beta(2, 2, 5000)
    truth = rng.random(5000) < true_p
    claimed = 1 / (1 + np.exp(-4 * np.log(true_p / (1 - true_p))))  # overconfident
    predicted = (claimed >= 0.5).astype(int)
    est = estimate_performance([1 - claimed, claimed], predicted, np.zeros(5000, dtype=np.int64),
                               1, task="binary")
    realised = np.mean(truth == predicted)
    assert est["accuracy"].value[0] > realised + 0.1
    assert est["accuracy"].low[0] > realised


def test_rows_without_probabilities_or_known_prediction_and_empty_windows_are_left_out():
    p = np.array([0.9, np.nan, 0.2, 0.7])
    predicted = np.array([1, 1, -1, 1])
    est = estimate_performance([1 - p, p], predicted, np.array([0, 0, 0, 5]), 3, task="binary")
    assert est["accuracy"].value[0] == pytest.approx(0.9)
    assert np.isnan(est["accuracy"].value[1]) and np.isnan(est["roc_auc"].value[2])
    assert np.isnan(est["roc_auc"].value[0])  # one row: no ranking to estimate
