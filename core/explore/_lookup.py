"""The one-feature lookup score: how well one feature alone predicts the target.

A feature's values become levels (:func:`level_codes`: numbers cut into quantile bins,
categories kept, missing as a level of its own). Each level then predicts the target's average
in the other cross-validation folds, shrunk toward a prior (an m-estimate) so that a level seen
a few times does not memorise its rows, and :func:`lookup_score` scores those predictions.

Two checks ask this question with different settings: the leakage finding
(:mod:`core.explore._findings`: fine bins, a light pull toward the shares of every row, balanced
accuracy for many classes, because its thresholds were calibrated on those) and the
ability-to-learn check (:mod:`core.explore._signal`: coarse bins, a firmer pull toward the
training folds only, AUC for every classification).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from core.ingest._roles import is_numeric

Prior = Literal["train folds", "all rows"]
MulticlassScore = Literal["auc", "balanced accuracy"]


def as_numbers(series: pd.Series) -> np.ndarray | None:
    """The column as float64 (dates as nanoseconds, missing as NaN), or None if not numeric."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = series.to_numpy(dtype="datetime64[ns]")
        return np.where(np.isnat(stamps), np.nan, stamps.view("int64").astype("float64"))
    if is_numeric(series.dtype):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    return None


def level_codes(series: pd.Series, *, max_bins: int, max_levels: int | None = None,
                bin_numbers: bool = True) -> np.ndarray:
    """Integer codes 0..L−1 for the levels of one feature, missing values as a level of their own.

    Parameters
    ----------
    series : pandas.Series
        The feature.
    max_bins : int
        Numbers (and dates) with more distinct values than this are cut into at most this
        many quantile bins; with fewer, each value is a level.
    max_levels : int, optional
        Only the most frequent this many levels are kept; the rest are pooled into one.
    bin_numbers : bool, default=True
        False treats numbers as categories (for a column whose role is categorical).

    Returns
    -------
    numpy.ndarray
        One integer code per row.

    Examples
    --------
    >>> level_codes(pd.Series(["a", "b", None, "a"]), max_bins=16).tolist()
    [0, 1, 2, 0]
    """
    numbers = as_numbers(series)
    if numbers is not None and bin_numbers:
        present = numbers[~np.isnan(numbers)]
        if np.unique(present).size > max_bins:
            edges = np.unique(np.quantile(present, np.linspace(0, 1, max_bins + 1)[1:-1]))
            codes = np.searchsorted(edges, numbers, side="right")
            return np.where(np.isnan(numbers), edges.size + 1, codes)
    codes, levels = pd.factorize(series)
    if max_levels is not None and levels.size > max_levels:
        counts = np.bincount(codes[codes >= 0], minlength=levels.size)
        top = np.argsort(-counts, kind="stable")[:max_levels]
        remap = np.full(levels.size, max_levels)
        remap[top] = np.arange(max_levels)
        codes = np.where(codes < 0, -1, remap[np.maximum(codes, 0)])
    missing_code = int(codes.max()) + 1 if codes.size else 0
    return np.where(codes < 0, missing_code, codes)


def lookup_score(codes: np.ndarray, y: np.ndarray, folds: np.ndarray, task: str, *,
                 smoothing: float, prior: Prior = "train folds",
                 multiclass: MulticlassScore = "auc") -> float:
    """Cross-validated score of predicting ``y`` from one feature's per-level lookup table.

    Each row is predicted from the other folds' rows of its level: their class shares
    (classification) or mean (regression), shrunk toward the prior with the weight of
    ``smoothing`` rows. A level unseen in the other folds gets the prior.

    Parameters
    ----------
    codes : numpy.ndarray
        The feature's :func:`level_codes`.
    y : numpy.ndarray
        Class codes 0..K−1 (classification) or numbers (regression), one per row.
    folds : numpy.ndarray
        The fold of each row, 0..F−1.
    task : {"binary", "multiclass", "regression"}
    smoothing : float
        How many rows' worth of weight the prior gets in each level's prediction.
    prior : {"train folds", "all rows"}, default="train folds"
        What each level is shrunk toward: the class shares (or mean) of the training folds,
        or of every row (held-out ones included).
    multiclass : {"auc", "balanced accuracy"}, default="auc"
        The score for more than two classes: the macro one-vs-rest ROC-AUC, or the balanced
        accuracy of the most likely class.

    Returns
    -------
    float
        ROC-AUC of the positive class (binary), the ``multiclass`` score, or R² (regression;
        0 when the target is constant).

    Examples
    --------
    >>> codes = np.array([0, 1] * 30)
    >>> lookup_score(codes, codes.copy(), np.arange(60) % 3, "binary", smoothing=10.0)
    1.0
    """
    n_folds, n_levels = int(folds.max()) + 1, int(codes.max()) + 1
    if task == "regression":
        if prior == "all rows":
            # Standardised on every row, so the overall mean the levels shrink toward is 0.
            y = (y - y.mean()) / (y.std() or 1.0)
            toward, center = np.zeros(n_folds), 0.0
        else:
            toward = (y.sum() - np.bincount(folds, weights=y, minlength=n_folds)) / \
                np.maximum(len(y) - np.bincount(folds, minlength=n_folds), 1)
            center = y.mean()
        sums = np.zeros((n_folds, n_levels))
        counts = np.zeros((n_folds, n_levels))
        np.add.at(sums, (folds, codes), y)
        np.add.at(counts, (folds, codes), 1)
        train_sums = sums.sum(0) - sums
        train_counts = counts.sum(0) - counts
        predicted = (train_sums[folds, codes] + smoothing * toward[folds]) / \
            (train_counts[folds, codes] + smoothing)
        total = np.sum((y - center) ** 2)
        return float(1 - np.sum((y - predicted) ** 2) / total) if total else 0.0
    n_classes = int(y.max()) + 1
    # Every row of one (fold, level) cell gets the same prediction, so the score can be read
    # off per-cell class counts without touching the rows again.
    counts = np.bincount((folds * n_levels + codes) * n_classes + y,
                         minlength=n_folds * n_levels * n_classes
                         ).reshape(n_folds, n_levels, n_classes).astype("float64")
    train = counts.sum(0) - counts
    if prior == "all rows":
        shares = np.broadcast_to(np.bincount(y, minlength=n_classes) / y.size, (n_folds, n_classes))
    else:
        shares = train.sum(1) / train.sum(axis=(1, 2))[:, None]
    probabilities = (train + smoothing * shares[:, None, :]) / \
        (train.sum(2, keepdims=True) + smoothing)
    cells = counts.reshape(-1, n_classes)
    scores = probabilities.reshape(-1, n_classes)
    if task == "multiclass" and multiclass == "balanced accuracy":
        predicted = scores.argmax(1)
        return float(np.mean([cells[predicted == k, k].sum() / cells[:, k].sum()
                              for k in np.unique(y)]))
    per_class = [_cell_auc(cells[:, k], cells.sum(1) - cells[:, k], scores[:, k])
                 for k in (range(1, 2) if n_classes == 2 else range(n_classes))]
    per_class = [a for a in per_class if a is not None]
    return float(np.mean(per_class)) if per_class else 0.5


def _cell_auc(positives: np.ndarray, negatives: np.ndarray, score: np.ndarray) -> float | None:
    """ROC-AUC when rows come in groups sharing one score (ties count one half)."""
    n_pos, n_neg = positives.sum(), negatives.sum()
    if n_pos == 0 or n_neg == 0:
        return None
    distinct, group = np.unique(score, return_inverse=True)
    pos = np.bincount(group, weights=positives, minlength=distinct.size)
    neg = np.bincount(group, weights=negatives, minlength=distinct.size)
    below = np.cumsum(neg) - neg
    return float(np.sum(pos * (below + 0.5 * neg)) / (n_pos * n_neg))
