"""Performance before the labels arrive: confidence-based performance estimation (CBPE).

A classifier that says "80% yes" should be right about 80% of the time on such rows. If its
probabilities are *calibrated*, every row's probabilities are the chance of each true label,
so the expected confusion matrix follows from the probabilities alone, and with it the
expected accuracy, precision, recall, F1 and ROC-AUC. This is NannyML's CBPE
(``nannyml/performance_estimation/confidence_based``), written here for all time windows at
once with ``np.bincount``:

- accuracy: the mean probability of the predicted class (the chance each prediction is right);
- binary precision, recall and F1 at the model's own decision (its threshold is already in
  the logged prediction): expected TP = sum of p over rows predicted positive, FP = sum of
  1 - p over them, FN = sum of p over rows predicted negative;
- ROC-AUC: at every threshold the expected true and false positives are the sums of p and of
  1 - p above it, and the area under that expected ROC curve is the estimate (multiclass: the
  macro average of one-vs-rest areas, as :func:`core.metrics.score` computes ROC-AUC).
  The thresholds are a fine grid on the log-odds of the score (:data:`SCORE_BINS` steps
  between odds of 1:160,000 and 160,000:1, so as fine near 0.001 as near 0.5); rows in one
  step count as tied, which moves the estimate by far less than its uncertainty and costs one
  pass over the rows instead of a sort.

Uncertainty. If the probabilities are right, each row's true label is a random draw with those
probabilities, so the realised metric scatters around the estimate. Its standard error is
computed from that model, per window: exactly for accuracy (a sum of independent Bernoulli
correctness indicators: variance = sum of q(1 - q) / n^2, q the probability of the predicted
class) and precision, and by the delta method for recall, F1 and ROC-AUC (ROC-AUC through its
Mann-Whitney form with tie-averaged ranks; the multiclass macro average takes the mean of the
per-class errors, an upper bound as the classes' errors are correlated). The interval is the
estimate +/- 1.96 standard errors. It does not cover what the estimate assumes:

- the probabilities are calibrated on the new data (check the calibration curve), and
- there is no concept drift: the relation between inputs and the right answer is unchanged.
  CBPE sees the inputs move, never the answers, so only labels can show that the model has
  become wrong for rows it is sure about.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SCORE_BINS = 4096
"""Steps of the log-odds grid of the estimated ROC curve (fewer when there are many windows)."""
MAX_LOG_ODDS = 12.0
"""The grid spans log-odds -12 to 12; scores beyond share the end steps."""
MAX_CELLS = 1_000_000
"""Most window × step cells per table, which bounds the memory of many (hourly) windows."""
Z_95 = 1.96
"""Standard errors either side of an estimate for its 95% interval."""
ESTIMABLE = {"binary": ("accuracy", "roc_auc", "precision", "recall", "f1"),
             "multiclass": ("accuracy", "roc_auc")}
"""The metrics CBPE estimates, per task."""


@dataclass(frozen=True)
class Estimate:
    """One estimated metric for every window: value and standard error (NaN when unknown)."""

    value: np.ndarray
    se: np.ndarray

    @property
    def low(self) -> np.ndarray:
        """Lower end of the 95% interval (at least 0)."""
        return np.clip(self.value - Z_95 * self.se, 0.0, 1.0)

    @property
    def high(self) -> np.ndarray:
        """Upper end of the 95% interval (at most 1)."""
        return np.clip(self.value + Z_95 * self.se, 0.0, 1.0)


def estimate_performance(proba: Sequence[np.ndarray], predicted: np.ndarray, windows: np.ndarray,
                         n_windows: int, *, task: str) -> dict[str, Estimate]:
    """Estimated performance per window from the model's own probabilities (CBPE).

    Parameters
    ----------
    proba : sequence of arrays
        One probability array per class, in the model card's class order (binary: the second
        class is the positive one).
    predicted : ndarray of int
        Each row's predicted class, as a position in the class order (-1: unknown, left out).
    windows : ndarray of int
        Each row's window number; rows numbered ``n_windows`` or more are left out.
    n_windows : int
        How many windows.
    task : {"binary", "multiclass"}

    Returns
    -------
    dict
        ``{metric: Estimate}`` for every metric in ``ESTIMABLE[task]``.

    Examples
    --------
    >>> p = np.array([0.9, 0.8, 0.3, 0.6])
    >>> est = estimate_performance([1 - p, p], np.array([1, 1, 0, 1]), np.zeros(4, int), 1,
    ...                            task="binary")
    >>> round(float(est["accuracy"].value[0]), 3)   # (0.9 + 0.8 + 0.7 + 0.6) / 4
    0.75
    """
    columns = [np.asarray(p, dtype=float) for p in proba]
    keep = (predicted >= 0) & (windows < n_windows)
    for p in columns:
        keep &= np.isfinite(p)
    if not keep.all():
        columns = [p[keep] for p in columns]
        predicted, windows = predicted[keep], windows[keep]
    windows = windows.astype(np.int64)
    n = np.bincount(windows, minlength=n_windows).astype(float)
    chance_right = np.zeros(len(predicted))
    for k, p in enumerate(columns):
        chosen = predicted == k
        chance_right[chosen] = p[chosen]
    out = {"accuracy": _mean_of_bernoullis(chance_right, windows, n, n_windows)}
    if task == "binary":
        out.update(_binary_counts(columns[1], predicted == 1, windows, n_windows))
        out["roc_auc"] = expected_roc_auc(columns[1], windows, n_windows)
    else:
        per_class = [expected_roc_auc(p, windows, n_windows) for p in columns]
        out["roc_auc"] = Estimate(np.mean([e.value for e in per_class], axis=0),
                                  np.mean([e.se for e in per_class], axis=0))
    return out


def _mean_of_bernoullis(q: np.ndarray, windows: np.ndarray, n: np.ndarray, n_windows: int
                        ) -> Estimate:
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.bincount(windows, q, minlength=n_windows) / n
        se = np.sqrt(np.bincount(windows, q * (1 - q), minlength=n_windows)) / n
    return Estimate(value, se)


def _binary_counts(p: np.ndarray, positive: np.ndarray, windows: np.ndarray, n_windows: int
                   ) -> dict[str, Estimate]:
    def total(weights: np.ndarray) -> np.ndarray:
        return np.bincount(windows, weights, minlength=n_windows)

    v = p * (1 - p)
    n_pos = total(positive.astype(float))
    tp, fn = total(np.where(positive, p, 0.0)), total(np.where(positive, 0.0, p))
    var_tp, var_fn = total(np.where(positive, v, 0.0)), total(np.where(positive, 0.0, v))
    with np.errstate(invalid="ignore", divide="ignore"):
        # Precision: the predicted positives are fixed, only which of them are right varies.
        precision = Estimate(tp / n_pos, np.sqrt(var_tp) / n_pos)
        # Recall = TP / (TP + FN) and F1 = 2 TP / (n_pos + TP + FN): TP and FN are independent
        # sums of Bernoulli draws; delta method on both.
        actual_pos = tp + fn
        recall = Estimate(tp / actual_pos,
                          np.sqrt(fn**2 * var_tp + tp**2 * var_fn) / actual_pos**2)
        d = n_pos + tp + fn
        f1 = Estimate(2 * tp / d,
                      np.sqrt((2 * (n_pos + fn)) ** 2 * var_tp + (2 * tp) ** 2 * var_fn) / d**2)
    return {"precision": precision, "recall": recall, "f1": f1}


def expected_roc_auc(p: np.ndarray, windows: np.ndarray, n_windows: int) -> Estimate:
    """Expected ROC-AUC per window of a score that is also the chance of the positive label.

    See the module's notes: the area under the expected ROC curve, and the delta-method
    standard error of the Mann-Whitney statistic when each label is a Bernoulli draw.
    """
    n_bins = int(np.clip(MAX_CELLS // max(n_windows, 1), 256, SCORE_BINS))
    cells = windows * n_bins + _score_steps(p, n_bins)
    size = n_windows * n_bins

    def table(weights: np.ndarray | None) -> np.ndarray:
        return np.bincount(cells, weights, minlength=size)[:size].reshape(n_windows, n_bins)

    pos, neg, var, count = table(p), table(1 - p), table(p * (1 - p)), table(None).astype(float)
    # Bins run from low to high score: a positive in bin b outranks the negatives below b and
    # ties (half) with those in b, which is the trapezoid under the expected ROC curve.
    neg_below = np.cumsum(neg, axis=1) - neg
    n1, n0 = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = ((pos * neg_below).sum(axis=1) + 0.5 * (pos * neg).sum(axis=1)) / (n1 * n0)
        se = _auc_standard_error(pos, var, count, n1)
    undefined = (n1 <= 0) | (n0 <= 0) | (count.sum(axis=1) < 2)
    value[undefined], se[undefined] = np.nan, np.nan
    return Estimate(value, se)


def _auc_standard_error(pos: np.ndarray, var: np.ndarray, count: np.ndarray, n1: np.ndarray
                        ) -> np.ndarray:
    """Delta method on AUC = (S - N1 (N1 + 1) / 2) / (N1 (n - N1)), S the positives' rank sum.

    Ranks are centred (S' = sum of y (r - c), c = (n + 1) / 2) so the terms stay small; with
    labels drawn independently, Var S' = sum r'^2 p(1-p), Var N1 = sum p(1-p) and
    Cov(S', N1) = sum r' p(1-p).
    """
    n = count.sum(axis=1)
    rank = np.cumsum(count, axis=1) - count + (count + 1) / 2  # tie-averaged rank of each bin
    centred = rank - ((n + 1) / 2)[:, None]
    s = (centred * pos).sum(axis=1)
    var_s, var_n1 = (centred**2 * var).sum(axis=1), var.sum(axis=1)
    cov = (centred * var).sum(axis=1)
    d = n1 * (n - n1)
    u = s + (n + 1) / 2 * n1 - n1 * (n1 + 1) / 2
    grad_s = 1 / d
    grad_n1 = ((n + 1) / 2 - (n1 + 0.5)) / d - u * (n - 2 * n1) / d**2
    variance = grad_s**2 * var_s + grad_n1**2 * var_n1 + 2 * grad_s * grad_n1 * cov
    return np.sqrt(np.clip(variance, 0.0, None))


def _score_steps(p: np.ndarray, n_bins: int) -> np.ndarray:
    """Each score's step on the log-odds grid (ascending with the score)."""
    with np.errstate(divide="ignore"):
        log_odds = np.log(p) - np.log1p(-p)
    position = (np.clip(log_odds, -MAX_LOG_ODDS, MAX_LOG_ODDS) + MAX_LOG_ODDS) / (2 * MAX_LOG_ODDS)
    return np.minimum((position * n_bins).astype(np.int64), n_bins - 1)
