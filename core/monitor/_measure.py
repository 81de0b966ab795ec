"""Every per-window number of the monitoring report, computed in one pass over the log.

Rows carry a window number (``n`` for rows outside the report); each column is binned or
coded once and counted per window with ``np.bincount``. The same function measures the
windows and, when no single window has enough rows, the whole period as one window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.deliver._baseline import OTHER
from core.metrics import METRICS
from core.monitor._binning import BinnedCounts, bin_column, is_missing, level_codes
from core.monitor._estimate import Estimate, estimate_performance
from core.monitor._performance import Labels, score_windows, true_values

LATENCY_PERCENTILES = (50, 95, 99)
_EXTRA_METRICS = {"binary": ("accuracy", "roc_auc"), "multiclass": ("accuracy", "roc_auc"),
                  "regression": ("mae", "rmse")}


@dataclass
class Measures:
    """Per-window numbers (arrays of one value per window, in window order).

    Attributes
    ----------
    rows, requests : ndarray of int
        Logged rows and requests.
    latency : ndarray of shape (n_windows, 3)
        Request latency percentiles (:data:`LATENCY_PERCENTILES`), NaN without requests.
    drift : dict
        ``{feature: BinnedCounts}`` for every input in the log and the card's baseline.
    prediction : BinnedCounts or None
        The predictions in the training target's bins (None without a target baseline).
    prediction_columns : dict
        ``{"predicted:<class>": share}`` (classification) or ``{"prediction_mean": mean}``.
    estimates : dict
        ``{metric: Estimate}`` (classifiers with logged probabilities).
    labelled : ndarray of int
        Rows with a usable outcome.
    actual : dict
        ``{metric: score}`` on the labelled rows (NaN where too few).
    unknown_labels : int
        Outcomes that are not one of the model's classes (left out).
    """

    rows: np.ndarray
    requests: np.ndarray
    latency: np.ndarray
    drift: dict[str, BinnedCounts]
    prediction: BinnedCounts | None
    prediction_columns: dict[str, np.ndarray]
    estimates: dict[str, Estimate] = field(default_factory=dict)
    labelled: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    actual: dict[str, np.ndarray] = field(default_factory=dict)
    unknown_labels: int = 0

    def window(self, i: int) -> Measures:
        """The numbers of window ``i`` alone, as a one-window :class:`Measures`."""
        one = slice(i, i + 1)
        return Measures(
            self.rows[one], self.requests[one], self.latency[one],
            {k: b.pooled(one) for k, b in self.drift.items()},
            None if self.prediction is None else self.prediction.pooled(one),
            {k: v[one] for k, v in self.prediction_columns.items()},
            {k: Estimate(e.value[one], e.se[one]) for k, e in self.estimates.items()},
            self.labelled[one], {k: v[one] for k, v in self.actual.items()}, self.unknown_labels)


def scored_metrics(card: dict[str, Any], bar_metric: str | None) -> list[str]:
    """The metrics scored on outcomes: the card's metric, the task's usual ones, the bar's."""
    task = card.get("task", "")
    out: list[str] = []
    for m in (card.get("metric"), *_EXTRA_METRICS.get(task, ()), bar_metric):
        if m in METRICS and task in METRICS[m].tasks and task != "clustering" and m not in out:
            out.append(m)
    return out


def measure(log: pd.DataFrame, card: dict[str, Any], windows: np.ndarray, n: int,
            starts: np.ndarray, labels: Labels, metrics: list[str]) -> Measures:
    """Every per-window number for windows ``0..n-1`` of ``log`` (see :class:`Measures`).

    ``windows`` holds each row's window (``n``: outside the report), ``starts`` whether it
    starts a request (:func:`core.monitor._performance.request_starts`).
    """
    task = card.get("task", "")
    classes = [str(c) for c in (card.get("classes") or [])]
    rows = _count(windows, n)
    out = Measures(rows, _count(windows[starts], n), _latency(log, windows, starts, n),
                   _input_drift(log, card, windows, n), None, {})
    if not len(log):
        out.labelled = np.zeros(n, dtype=np.int64)
        return out
    baseline = (card.get("baseline") or {}).get("target") or {}
    if task in ("binary", "multiclass") and classes:
        codes, missing = level_codes(log["prediction"], classes)
        predicted = np.where(missing | (codes >= len(classes)), -1, codes)
        # Slots: the classes, then a prediction that is not a class, then a missing one.
        slots = len(classes) + 2
        table = _count(windows * slots + np.where(missing, len(classes) + 1, codes),
                       n * slots).reshape(n, slots)
        with np.errstate(invalid="ignore", divide="ignore"):
            out.prediction_columns = {f"predicted:{c}": table[:, k] / rows
                                      for k, c in enumerate(classes)}
        # a multiclass model's own predicted classes out of fold, when the card keeps them
        expected = own_output_baseline(card) or baseline
        if expected.get("kind") == "categorical":
            levels = expected["levels"]
            out.prediction = BinnedCounts(
                table[:, :-1], table[:, -1],
                np.array([levels.get(c, 0.0) for c in classes] + [levels.get(OTHER, 0.0)]),
                OTHER not in levels)
        proba = [f"proba:{c}" for c in classes]
        if all(c in log.columns for c in proba):
            out.estimates = estimate_performance([log[c].to_numpy(dtype=float) for c in proba],
                                                 predicted, windows, n, task=task)
    elif task == "regression":
        values = pd.to_numeric(log["prediction"], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(values) & (windows < n)
        with np.errstate(invalid="ignore", divide="ignore"):
            out.prediction_columns = {"prediction_mean": np.bincount(
                windows[ok], values[ok], minlength=n)[:n] / _count(windows[ok], n)}
        # The model's own predictions out of fold when the card keeps them: they spread less
        # than the answers (a model with R² 0.5 read PSI 0.20 against the target's deciles
        # on traffic that had not changed at all).
        output = own_output_baseline(card)
        if (output or baseline).get("kind") == "numeric":
            out.prediction = bin_column(output or baseline, log["prediction"], windows, n)
    out.labelled, out.actual, out.unknown_labels = outcome_scores(log, card, windows, n, labels,
                                                                  metrics)
    return out


def own_output_baseline(card: dict[str, Any]) -> dict[str, Any] | None:
    """The card's baseline of the model's own output on rows it never saw (see
    :func:`core.deliver._baseline.prediction_baseline`) for a regression or multiclass model,
    whose log holds the same thing (the value, the class); None for a binary model (its
    baseline is the probability's deciles, while the monitor counts predicted classes: those
    are compared with the training answers' shares) and for cards made before it was kept."""
    output = (card.get("baseline") or {}).get("prediction")
    return output if card.get("task") in ("regression", "multiclass") and output else None


def _count(codes: np.ndarray, n: int) -> np.ndarray:
    """How many of ``codes`` fall in each of ``0..n-1`` (codes from ``n`` on are left out)."""
    return np.bincount(codes, minlength=n + 1)[:n]


def _latency(log: pd.DataFrame, windows: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
    """Request latency percentiles per window (a request counts once, at its first row)."""
    out = np.full((n, len(LATENCY_PERCENTILES)), np.nan)
    if "latency_ms" not in log.columns or not len(log):
        return out
    latency = pd.to_numeric(log["latency_ms"], errors="coerce").to_numpy(dtype=float)[starts]
    w = windows[starts]
    ok = np.isfinite(latency) & (w < n)
    latency, w = latency[ok], w[ok]
    order = np.argsort(w, kind="stable")
    latency = latency[order]
    bounds = np.concatenate([[0], np.cumsum(_count(w, n))])
    for i in np.flatnonzero(np.diff(bounds)):
        out[i] = np.percentile(latency[bounds[i]:bounds[i + 1]], LATENCY_PERCENTILES)
    return out


def _input_drift(log: pd.DataFrame, card: dict[str, Any], windows: np.ndarray, n: int
                 ) -> dict[str, BinnedCounts]:
    features = (card.get("baseline") or {}).get("features") or {}
    present = {name: f"input:{name}" for name in features if f"input:{name}" in log.columns}
    if not present:
        return {}
    modes = log.attrs.get("inputs")
    if not modes or set(modes) - {"full"}:
        # Rows logged without their inputs (hash only) have every input missing: leave them out
        # rather than count them as missing values.
        logged = np.zeros(len(log), dtype=bool)
        for column in present.values():
            logged |= ~is_missing(log[column])
        windows = np.where(logged, windows, n)
    return {name: bin_column(features[name], log[column], windows, n)
            for name, column in present.items()}


def outcome_scores(log: pd.DataFrame, card: dict[str, Any], windows: np.ndarray, n: int,
                   labels: Labels, metrics: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """Measured performance per window on the labelled rows.

    Returns the labelled rows per window, ``{metric: score per window}`` and how many outcomes
    are not one of the model's classes (left out).
    """
    task = card.get("task", "")
    classes = [str(c) for c in (card.get("classes") or [])]
    rows = labels.rows
    inside = windows[rows] < n
    rows, actual = rows[inside], labels.actual[inside]
    if not len(rows) or not metrics or (task != "regression" and not classes):
        return np.zeros(n, dtype=np.int64), {}, 0
    y = true_values(actual, task, classes)
    w = windows[rows]
    predictions = log["prediction"].iloc[rows].reset_index(drop=True)
    if task == "regression":
        pred = pd.to_numeric(predictions, errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(y) & np.isfinite(pred)
        counts, scores = score_windows(metrics, y[ok], pred[ok], w[ok], n, task=task)
        return counts, scores, 0
    codes, missing = level_codes(predictions, classes)
    predicted = np.where(missing | (codes >= len(classes)), -1, codes)
    ok = (y >= 0) & (predicted >= 0)
    proba = [f"proba:{c}" for c in classes]
    matrix = (np.column_stack([log[c].to_numpy(dtype=float)[rows] for c in proba])
              if all(c in log.columns for c in proba) else None)
    has_proba = matrix is not None and bool(np.isfinite(matrix[ok]).all())
    if not has_proba:
        matrix = np.eye(len(classes))[np.clip(predicted, 0, None)]
    counts, scores = score_windows(metrics, y[ok], matrix[ok], w[ok], n, task=task,
                                   n_classes=len(classes), has_proba=has_proba,
                                   threshold=card.get("threshold") if has_proba else None)
    return counts, scores, int((y < 0).sum())
