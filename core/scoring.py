"""Scores from predictions: one place that knows every metric's direction and needs.

Cross-validation keeps out-of-fold predictions and scores them here, so that the leaderboard,
ensembling and threshold tuning all use the same numbers without refitting anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics as m


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    greater_is_better: bool
    needs: str  # "label", "score" (probability or decision score) or "proba"


METRICS: dict[str, Metric] = {x.name: x for x in (
    Metric("roc_auc", "ROC-AUC", True, "score"),
    Metric("average_precision", "PR-AUC (average precision)", True, "score"),
    Metric("accuracy", "Accuracy", True, "label"),
    Metric("balanced_accuracy", "Balanced accuracy", True, "label"),
    Metric("f1", "F1 (positive class)", True, "label"),
    Metric("f1_macro", "F1 (macro)", True, "label"),
    Metric("f1_weighted", "F1 (weighted)", True, "label"),
    Metric("precision", "Precision (positive class)", True, "label"),
    Metric("recall", "Recall (positive class)", True, "label"),
    Metric("log_loss", "Log loss", False, "proba"),
    Metric("mcc", "Matthews correlation", True, "label"),
    Metric("rmse", "RMSE", False, "label"),
    Metric("mae", "MAE", False, "label"),
    Metric("r2", "R²", True, "label"),
    Metric("mape", "MAPE", False, "label"),
    Metric("median_ae", "Median absolute error", False, "label"),
    Metric("silhouette", "Silhouette", True, "label"),
)}

LEADERBOARD_METRICS = {
    "binary": ("roc_auc", "average_precision", "accuracy", "balanced_accuracy", "f1", "log_loss"),
    "multiclass": ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}


def is_better(metric: str, a: float, b: float) -> bool:
    """Whether score ``a`` beats score ``b`` for ``metric``."""
    if b is None or np.isnan(b):
        return a is not None and not np.isnan(a)
    if a is None or np.isnan(a):
        return False
    return a > b if METRICS[metric].greater_is_better else a < b


DEFAULT_THRESHOLD = 0.5


def is_default_threshold(threshold: float | None) -> bool:
    """No threshold, or the default 0.5: the model's own ``predict`` decides (no
    ``FixedThresholdClassifier`` is exported for it)."""
    return threshold is None or abs(threshold - DEFAULT_THRESHOLD) <= 1e-12


def binary_labels(proba: np.ndarray, classes: np.ndarray, threshold: float | None) -> np.ndarray:
    """Labels of a binary probability matrix, exactly as the exported model predicts them.

    At the default threshold the model's own rule: the larger probability, a tie going to
    the first class (``predict``'s ``argmax``; a 50/50 tree leaf is such a tie). At any other
    threshold, positive when ``proba[:, 1] >= threshold``, as the exported
    ``FixedThresholdClassifier`` does.
    """
    if is_default_threshold(threshold):
        return classes[np.argmax(proba, axis=1)]
    return classes[(proba[:, 1] >= threshold).astype(int)]


def labels_from(task: str, proba: np.ndarray, classes: np.ndarray,
                threshold: float | None = None) -> np.ndarray:
    """Class labels from a probability (or score) matrix; ``threshold`` applies to binary."""
    if task == "binary" and proba.ndim == 2:
        return binary_labels(proba, classes, threshold)
    return classes[np.argmax(proba, axis=1)]


def log_loss(y_true: np.ndarray, proba: np.ndarray, classes: Any) -> float:
    """Log loss of a probability matrix, each row re-summed to 1 in ``float64``.

    A model fitted on ``float32`` inputs gives ``float32`` probabilities whose rows sum to 1
    within ~1e-7, which scikit-learn's ``log_loss`` warns about; re-summing moves the loss
    by as little.
    """
    p = np.clip(np.asarray(proba, dtype=np.float64), 1e-15, 1)
    return float(m.log_loss(y_true, p / p.sum(axis=1, keepdims=True), labels=classes))


def score(metric: str, y_true: np.ndarray, prediction: np.ndarray, *, task: str,
          classes: np.ndarray | None = None, has_proba: bool = True,
          threshold: float | None = None) -> float:
    """Score one metric.

    ``prediction`` is the value column for regression, and for classification a matrix with
    one column per class: probabilities when ``has_proba``, decision scores otherwise.
    Returns NaN when the metric cannot be computed (e.g. log loss without probabilities).
    """
    y_true = np.asarray(y_true)
    if task == "regression":
        pred = np.asarray(prediction, dtype=float)
        y = y_true.astype(float)
        if metric == "rmse":
            return float(np.sqrt(m.mean_squared_error(y, pred)))
        if metric == "mae":
            return float(m.mean_absolute_error(y, pred))
        if metric == "r2":
            return float(m.r2_score(y, pred))
        if metric == "mape":
            return float("nan") if np.any(y == 0) else float(m.mean_absolute_percentage_error(y, pred))
        if metric == "median_ae":
            return float(m.median_absolute_error(y, pred))
        raise KeyError(metric)
    assert classes is not None
    matrix = np.asarray(prediction, dtype=float)
    labels = labels_from(task, matrix, classes, threshold)
    binary = task == "binary"
    try:
        if metric == "roc_auc":
            if binary:
                return float(m.roc_auc_score(y_true == classes[1], matrix[:, 1]))
            if not has_proba:
                return float("nan")
            present = np.isin(classes, y_true)
            if present.sum() < 2:
                return float("nan")
            p = matrix / np.clip(matrix.sum(axis=1, keepdims=True), 1e-12, None)
            return float(m.roc_auc_score(y_true, p, multi_class="ovr", labels=classes))
        if metric == "average_precision":
            return float(m.average_precision_score(y_true == classes[1], matrix[:, 1]))
        if metric == "log_loss":
            if not has_proba:
                return float("nan")
            return log_loss(y_true, matrix, classes)
    except ValueError:
        return float("nan")
    if metric == "accuracy":
        return float(m.accuracy_score(y_true, labels))
    if metric == "balanced_accuracy":
        return float(m.balanced_accuracy_score(y_true, labels))
    if metric == "f1":
        return float(m.f1_score(y_true, labels, pos_label=classes[1], zero_division=0))
    if metric == "f1_macro":
        return float(m.f1_score(y_true, labels, average="macro", zero_division=0))
    if metric == "f1_weighted":
        return float(m.f1_score(y_true, labels, average="weighted", zero_division=0))
    if metric == "precision":
        return float(m.precision_score(y_true, labels, pos_label=classes[1], zero_division=0))
    if metric == "recall":
        return float(m.recall_score(y_true, labels, pos_label=classes[1], zero_division=0))
    if metric == "mcc":
        return float(m.matthews_corrcoef(y_true, labels))
    raise KeyError(metric)


def best_threshold(y_true: np.ndarray, positive_score: np.ndarray, positive_label, *,
                   metric: str = "f1") -> tuple[float, float]:
    """The decision threshold that maximises ``metric`` on validation predictions.

    Returns ``(threshold, score at that threshold)``. Candidates are the distinct score
    quantiles (at most 200), so the search is fast on large data.
    """
    y = np.asarray(y_true) == positive_label
    s = np.asarray(positive_score, dtype=float)
    candidates = np.unique(np.quantile(s, np.linspace(0.01, 0.99, 199)))
    best = (0.5, -np.inf)
    for t in candidates:
        pred = s >= t
        if metric == "balanced_accuracy":
            value = m.balanced_accuracy_score(y, pred)
        elif metric == "mcc":
            value = m.matthews_corrcoef(y, pred)
        else:
            value = m.f1_score(y, pred, zero_division=0)
        if value > best[1]:
            best = (float(t), float(value))
    return best
