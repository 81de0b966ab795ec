"""Every metric tabwright knows, in one registry, and the scores computed from predictions.

A :class:`Metric` carries everything said about a metric anywhere in the product: its label
(and a short one for cards), what it means and where it misleads (``help``), when to choose it
(``when``), its direction, what it needs from a model (labels, scores or probabilities), and
for which tasks it is reported and can be optimised. Pages, the report, the run history, the
recipe's validation and training all read this registry; nothing else lists metrics.

Cross-validation keeps out-of-fold predictions and scores them with :func:`score`, so the
leaderboard, ensembling and threshold tuning all use the same numbers without refitting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.lazy import LazyModule

m = LazyModule("sklearn.metrics")
"""scikit-learn's metrics, imported when first scored: it takes about a second to import, and
the registry (names, labels, directions) is all that ``tabwright monitor`` and the recipe need
to start."""

_CLASSIFICATION = ("binary", "multiclass")


@dataclass(frozen=True)
class Metric:
    """One metric. ``optimise`` lists the tasks it can be chosen for; ``tasks`` those it is
    reported for (a superset)."""

    name: str
    label: str
    greater_is_better: bool
    needs: str  # "label", "score" (probability or decision score) or "proba"
    tasks: tuple[str, ...]
    optimise: tuple[str, ...] = ()
    help: str = ""
    when: str = ""
    short_label: str = ""

    @property
    def card_label(self) -> str:
        """The label on a metric card: the short one where the full one is too long."""
        return self.short_label or self.label


def _metric(name: str, label: str, greater: bool, needs: str, tasks: tuple[str, ...], *,
            optimise: tuple[str, ...] | None = None, short: str = "", help: str, when: str = ""
            ) -> Metric:
    return Metric(name, label, greater, needs, tasks, tasks if optimise is None else optimise,
                  help, when, short)


_B, _M, _C, _R, _K = ("binary",), ("multiclass",), _CLASSIFICATION, ("regression",), ("clustering",)


METRICS: dict[str, Metric] = {x.name: x for x in (
    _metric("roc_auc", "ROC-AUC", True, "score", _C,
            help="Chance that a random positive row gets a higher score than a random negative one (0.5 = guessing). Can look good on heavily imbalanced data where precision is poor.",
            when="You will rank cases (who to call first, which loan to review) and classes are not extremely rare."),
    _metric("average_precision", "PR-AUC (average precision)", True, "score", _B, short="PR-AUC",
            help="Area under the precision-recall curve (compare with the positive rate, which is what guessing scores). Depends strongly on how rare the positive class is.",
            when="The positive class is rare (fraud, failures) and you care about the cases you flag."),
    _metric("accuracy", "Accuracy", True, "label", _C,
            help="Share of rows predicted right. Misleading when one class dominates: predicting the majority class scores high.",
            when="Classes are roughly balanced and every mistake costs the same."),
    _metric("balanced_accuracy", "Balanced accuracy", True, "label", _C,
            help="Average of the recall of each class, so every class counts equally. Still says nothing about how confident or calibrated the predictions are.",
            when="Classes are uneven and every class matters equally."),
    _metric("f1", "F1 (positive class)", True, "label", _B, short="F1",
            help="Harmonic mean of precision and recall for the positive class. Ignores true negatives and depends on the threshold.",
            when="You act on predicted positives and both missed and false alarms cost, about equally."),
    _metric("f1_macro", "F1 (macro)", True, "label", _C,
            help="F1 averaged over classes with equal weight. Good for imbalanced data, but noisy when some classes have few rows.",
            when="Several classes, uneven, and each class matters equally."),
    _metric("f1_weighted", "F1 (weighted)", True, "label", _C,
            help="F1 averaged over classes, weighted by class size. Dominated by the big classes, so it can hide a failing rare class.",
            when="Several classes and the big ones matter most."),
    _metric("precision", "Precision (positive class)", True, "label", _B, short="Precision",
            help="Of the rows predicted positive, the share that really are. Can be high while most positives are missed; read it with recall.",
            when="A false alarm is costly (e.g. blocking a good customer)."),
    _metric("recall", "Recall (positive class)", True, "label", _B, short="Recall",
            help="Of the truly positive rows, the share the model found. Can be high just by predicting positive often; read it with precision.",
            when="Missing a positive is costly (a disease, a fraud, a failing machine)."),
    _metric("log_loss", "Log loss", False, "proba", _C,
            help="How much probability the model put on the true class, lower is better. Punishes confident mistakes hard; one very wrong row can dominate it.",
            when="You will use the probabilities themselves (pricing, risk scores)."),
    _metric("mcc", "Matthews correlation", True, "label", _C, short="MCC",
            help="Matthews correlation between predictions and truth, from -1 to 1 (0 = no better than chance). Robust to imbalance, but hard to read as a share of rows.",
            when="Classes are uneven and you want one number that counts every cell of the confusion matrix."),
    _metric("precision_macro", "Precision (macro)", True, "label", _C, optimise=(),
            help="Precision averaged over classes with equal weight. A tiny class with a few lucky predictions can swing it."),
    _metric("recall_macro", "Recall (macro)", True, "label", _C, optimise=(),
            help="Recall averaged over classes with equal weight (the same as balanced accuracy). Hides which class is being missed; see the per-class table."),
    _metric("precision_weighted", "Precision (weighted)", True, "label", _C, optimise=(),
            help="Precision averaged over classes, weighted by class size. Dominated by the big classes, so it can hide a failing rare class."),
    _metric("recall_weighted", "Recall (weighted)", True, "label", _C, optimise=(),
            help="Recall averaged over classes, weighted by class size; equals accuracy. Misleading when one class dominates."),
    _metric("rmse", "RMSE", False, "label", _R,
            help="Square root of MSE, in the target's units. Weighs large errors more than MAE, so a few outliers can inflate it.",
            when="Big misses are much worse than small ones, in the target's units."),
    _metric("mae", "MAE", False, "label", _R,
            help="Average size of the error, in the target's units. Treats all errors alike, so a few huge misses barely show.",
            when="Every unit of error costs the same; easy to explain."),
    _metric("r2", "R²", True, "label", _R,
            help="Share of the target's variance explained, 1 is perfect and 0 is predicting the average. Can be negative, and a high value can still mean large errors in units.",
            when="You want to compare with simply predicting the average (0) and perfect (1)."),
    _metric("mape", "MAPE", False, "label", _R,
            help="Average error as a fraction of the true value (0.1 = 10%). Explodes for targets near zero and is undefined when a target is zero.",
            when="Errors matter relative to the size of the value (and the target is never near 0)."),
    _metric("median_ae", "Median absolute error", False, "label", _R, short="Median abs. error",
            help="Typical error size: half the rows miss by less than this. Ignores the worst misses entirely.",
            when="You care about the typical case and want to ignore a few wild misses."),
    _metric("mse", "MSE", False, "label", _R, optimise=(),
            help="Average squared error, in squared units. Dominated by the largest errors and hard to read directly; see RMSE."),
    _metric("max_error", "Largest error", False, "label", _R, optimise=(),
            help="The single worst miss, in the target's units. One odd row decides it."),
    _metric("silhouette", "Silhouette", True, "label", _K,
            help="How much closer each row is to its own cluster than to the next one, from -1 to 1. Favours round, evenly sized clusters.",
            when="Finding groups without a target: how well separated they are."),
    _metric("davies_bouldin", "Davies–Bouldin", False, "label", _K, optimise=(),
            help="Average similarity of each cluster to its most similar neighbour, lower is better (0 is best). Favours round, well separated clusters."),
    _metric("calinski_harabasz", "Calinski–Harabasz", True, "label", _K, optimise=(),
            help="Ratio of between-cluster to within-cluster spread, higher is better. Has no fixed scale and tends to grow with the number of clusters."),
)}

# What the leaderboard shows per task, and the metric cards on the Evaluate page (in order).
_LEADERBOARD = {
    "binary": ("roc_auc", "average_precision", "accuracy", "balanced_accuracy", "f1", "log_loss"),
    "multiclass": ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}
_CARDS = {
    "binary": ("roc_auc", "average_precision", "accuracy", "balanced_accuracy", "precision",
               "recall", "f1", "log_loss", "mcc"),
    "multiclass": ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "roc_auc",
                   "log_loss", "mcc"),
    "regression": ("rmse", "mae", "r2", "mape", "median_ae", "max_error"),
    "clustering": ("silhouette", "davies_bouldin", "calinski_harabasz"),
}
# Metrics that depend on where the cut-off between two classes lies.
THRESHOLD_METRICS = ("accuracy", "balanced_accuracy", "f1", "precision", "recall", "mcc")
_DEFAULT = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse",
            "clustering": "silhouette"}
OPTIMISABLE: tuple[str, ...] = tuple(name for name, x in METRICS.items() if x.optimise)
"""Every metric a recipe may name (as its metric or its good-enough bar)."""


def metrics_for(task: str) -> tuple[str, ...]:
    """The metrics a recipe for ``task`` can optimise, in the registry's order."""
    return tuple(name for name, x in METRICS.items() if task in x.optimise)


def default_metric(task: str) -> str:
    """The metric tabwright optimises when the user has not chosen one.

    ROC-AUC for binary (it does not reward predicting the majority class), accuracy for
    multiclass, RMSE for regression, silhouette for clustering.
    """
    return _DEFAULT[task]


def ranking_metric(metric: str, task: str, *, auto: bool = True,
                   chosen: str | None = None) -> str:
    """The metric candidates are ranked, searched and blended on, to do best on ``metric``:
    ``chosen`` when given (a recipe's ``rank_metric``), else the rule below in auto mode,
    else ``metric`` itself (a user's own models are ranked by their metric).

    Accuracy over several classes, a few hundred validation rows and hundreds of candidates
    rewards the candidate whose folds happened to fall its way: it moves by whole rows, and a
    probability of 0.51 or 0.99 on the right class counts the same. Log loss scores every
    probability, so it ranks models by how well they know each class's chances; the most
    likely class of the best of them is then right most often. Paired runs on five hard
    multiclass tables: better on most (docs/auto-mode.md). Every other metric is ranked on
    as it is.
    """
    if chosen:
        return chosen
    return "log_loss" if auto and task == "multiclass" and metric == "accuracy" else metric


def leaderboard_metrics(task: str) -> tuple[str, ...]:
    """The cross-validated metrics a leaderboard shows for ``task`` (clustering: none)."""
    return _LEADERBOARD.get(task, ())


def card_metrics(task: str) -> tuple[str, ...]:
    """The test metrics shown as cards for ``task``, in order."""
    return _CARDS.get(task, ())


def metric_label(name: str) -> str:
    """The metric's label, or its name when it is not a registered metric."""
    return METRICS[name].label if name in METRICS else name


def metric_help(name: str) -> str:
    """What the metric means and where it misleads ("" when unknown)."""
    return METRICS[name].help if name in METRICS else ""


def metric_when(name: str) -> str:
    """When to choose the metric, one line ("" when unknown)."""
    return METRICS[name].when if name in METRICS else ""


def greater_is_better(name: str) -> bool:
    """Whether larger values are better for ``name`` (errors and losses: no)."""
    return METRICS[name].greater_is_better


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
    return float(m.log_loss(y_true, _resummed(proba), labels=classes))


def _resummed(proba: np.ndarray) -> np.ndarray:
    """Probabilities in ``float64``, clipped away from 0 and each row re-summed to 1."""
    p = np.clip(np.asarray(proba, dtype=np.float64), 1e-15, 1)
    return p / p.sum(axis=1, keepdims=True)


def score(metric: str, y_true: np.ndarray, prediction: np.ndarray, *, task: str,
          classes: np.ndarray | None = None, has_proba: bool = True,
          threshold: float | None = None) -> float:
    """Score one metric.

    ``prediction`` is the value column for regression, and for classification a matrix with
    one column per class: probabilities when ``has_proba``, decision scores otherwise.
    Returns NaN when the metric cannot be computed (e.g. log loss without probabilities).
    """
    y_true = np.asarray(y_true)
    fast = _fast_score(metric, y_true, prediction, task=task, classes=classes,
                       has_proba=has_proba, threshold=threshold)
    if fast is not None:
        return fast
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


# ---- the same scores without scikit-learn's input checks --------------------------------
# Cross-validation scores every leaderboard metric on every fold of every candidate, and
# greedy ensemble selection scores hundreds of blends: with scikit-learn's checks
# (``type_of_target`` and the like, ~4 ms a call) that was a fifth of a 30 s auto run on an
# 872-row table. These compute the same numbers from a confusion matrix or a ranking, for
# clean input (finite predictions, every true label among ``classes``); anything else goes
# to scikit-learn. tests/test_metrics.py checks them against scikit-learn on random input.

_LABEL_METRICS = {"accuracy", "balanced_accuracy", "f1", "f1_macro", "f1_weighted",
                  "precision", "recall", "mcc"}


def _fast_score(metric: str, y_true: np.ndarray, prediction: np.ndarray, *, task: str,
                classes: np.ndarray | None, has_proba: bool, threshold: float | None
                ) -> float | None:
    """``score`` computed directly, or None where scikit-learn should compute it."""
    if task == "regression":
        if y_true.dtype.kind not in "biuf" or not len(y_true):
            return None
        y, pred = y_true.astype(float), np.asarray(prediction, dtype=float)
        if y.shape != pred.shape or not (np.isfinite(y).all() and np.isfinite(pred).all()):
            return None
        error = y - pred
        if metric == "rmse":
            return float(np.sqrt(np.mean(error ** 2)))
        if metric == "mae":
            return float(np.mean(np.abs(error)))
        if metric == "r2":
            total = float(np.sum((y - y.mean()) ** 2))
            residual = float(np.sum(error ** 2))
            if total == 0:
                return 1.0 if residual == 0 else 0.0
            return 1.0 - residual / total
        return None
    if classes is None or task not in _CLASSIFICATION:
        return None
    matrix = np.asarray(prediction, dtype=float)
    k = len(classes)
    if matrix.ndim != 2 or matrix.shape != (len(y_true), k) or not len(y_true) \
            or not np.isfinite(matrix).all():
        return None
    truth = _codes(y_true, np.asarray(classes))
    if truth is None:
        return None
    if metric in _LABEL_METRICS:
        if metric in ("f1", "precision", "recall") and task != "binary":
            return None
        if task == "binary" and not is_default_threshold(threshold):
            predicted = (matrix[:, 1] >= threshold).astype(np.int64)
        else:
            predicted = np.argmax(matrix, axis=1)
        counts = np.bincount(truth * k + predicted, minlength=k * k).reshape(k, k)
        return _from_confusion(metric, counts)
    if metric == "roc_auc":
        if task == "binary":
            return _binary_auc(truth == 1, matrix[:, 1])
        if not has_proba:
            return float("nan")
        if np.bincount(truth, minlength=k).min() == 0:  # a class missing: AUC undefined
            return float("nan")
        p = matrix / np.clip(matrix.sum(axis=1, keepdims=True), 1e-12, None)
        return float(np.mean([_binary_auc(truth == c, p[:, c]) for c in range(k)]))
    if metric == "average_precision" and task == "binary":
        return _average_precision(truth == 1, matrix[:, 1])
    if metric == "log_loss":
        if not has_proba:
            return float("nan")
        eps = np.finfo(np.float64).eps  # scikit-learn's own clipping, after the re-summing
        p = np.clip(_resummed(matrix), eps, 1 - eps)
        return float(-np.mean(np.log(p[np.arange(len(truth)), truth])))
    return None


def _codes(y_true: np.ndarray, classes: np.ndarray) -> np.ndarray | None:
    """Each true label's position in ``classes``, or None if one is not among them."""
    try:
        order = np.argsort(classes, kind="stable")
        ordered = classes[order]
        at = np.clip(np.searchsorted(ordered, y_true), 0, len(classes) - 1)
        if not np.array_equal(ordered[at], y_true):
            return None
    except TypeError:  # labels of mixed types that do not sort
        return None
    return order[at].astype(np.int64)


def _from_confusion(metric: str, counts: np.ndarray) -> float:
    """A label metric from the confusion matrix (rows: true class, columns: predicted)."""
    n = counts.sum()
    diagonal = np.diag(counts).astype(float)
    true_sum, predicted_sum = counts.sum(axis=1), counts.sum(axis=0)
    if metric == "accuracy":
        return float(diagonal.sum() / n)
    if metric == "balanced_accuracy":  # mean recall over the classes present
        present = true_sum > 0
        return float(np.mean(diagonal[present] / true_sum[present]))
    if metric == "mcc":
        t, p = true_sum.astype(float), predicted_sum.astype(float)
        cov_tp = diagonal.sum() * n - t @ p
        cov_pp, cov_tt = n * n - p @ p, n * n - t @ t
        if cov_pp * cov_tt == 0:
            return 0.0
        return float(cov_tp / np.sqrt(cov_tt * cov_pp))
    # precision, recall and F1 per class, 0 where undefined (zero_division=0)
    tp = diagonal
    fp, fn = predicted_sum - tp, true_sum - tp
    f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp), where=(2 * tp + fp + fn) > 0)
    if metric == "f1":
        return float(f1[1])
    if metric == "precision":
        return float(tp[1] / (tp[1] + fp[1])) if tp[1] + fp[1] else 0.0
    if metric == "recall":
        return float(tp[1] / (tp[1] + fn[1])) if tp[1] + fn[1] else 0.0
    seen = (true_sum + predicted_sum) > 0  # scikit-learn averages over the labels seen
    if metric == "f1_macro":
        return float(np.mean(f1[seen]))
    return float(np.sum(f1 * true_sum) / true_sum.sum())  # f1_weighted


def _binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC as the Mann-Whitney statistic (ties count a half): the trapezoidal area."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    # average ranks, tied scores sharing theirs (scipy's rankdata costs ~3 ms a call)
    order = np.argsort(score, kind="mergesort")
    ordered = score[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    starts = np.flatnonzero(first)
    sizes = np.diff(np.r_[starts, len(score)])
    ranks = np.empty(len(score))
    ranks[order] = (starts + (sizes + 1) / 2)[np.cumsum(first) - 1]
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _average_precision(positive: np.ndarray, score: np.ndarray) -> float | None:
    """Average precision: precision at each distinct threshold, weighted by recall's step."""
    n_pos = int(positive.sum())
    if n_pos == 0:
        return None  # scikit-learn's own warning and convention
    order = np.argsort(score, kind="mergesort")[::-1]
    s, hit = score[order], positive[order]
    ends = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(hit)[ends]
    precision = tps / (ends + 1)
    recall_step = np.diff(np.r_[0, tps]) / n_pos
    return float(np.sum(recall_step * precision))


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
