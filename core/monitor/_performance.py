"""Measured performance: the labels that came back as feedback, joined to their predictions.

Feedback names the logged record it is about by its ``request_id`` (the prediction-log store
gives every record its own id: the request's, or ``"<request id>.<i>"`` in a batch). The
join is hashed by Arrow on the ids as the store returns them (Arrow-backed text, so no
million Python strings are made); an outcome whose id names several logged rows cannot say
which one it is about and is left out as ambiguous, never guessed.

Scores are the numbers :func:`core.metrics.score` gives for each window's rows, so they match
what the Evaluate page shows for the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.metrics import METRICS, labels_from, score
from core.monitor._binning import level_codes

MIN_SCORED = 2
"""Fewest labelled rows in a window before its performance is computed at all."""


@dataclass(frozen=True)
class Labels:
    """Feedback joined to logged rows.

    Attributes
    ----------
    rows : ndarray of int
        Positions (in the log) of the labelled rows.
    actual : Series
        The true value of each of those rows, in the same order.
    unmatched : int
        Outcomes whose id is not a logged row of the report's period.
    ambiguous : int
        Outcomes whose id names several logged rows (left out).
    """

    rows: np.ndarray
    actual: pd.Series
    unmatched: int = 0
    ambiguous: int = 0


def request_starts(times: np.ndarray, latency: np.ndarray | None) -> np.ndarray:
    """Whether each log row starts a request, from the rows' times (int64 ns) and latencies.

    The store writes a request's records together, each with the request's time and
    latency, so a request starts where the time or the latency differs from the previous
    row's (two requests would need the same nanosecond and the same latency to merge).
    """
    starts = np.ones(len(times), dtype=bool)
    if len(times) > 1:
        same = times[1:] == times[:-1]
        if latency is not None:
            same &= latency[1:] == latency[:-1]
        starts[1:] = ~same
    return starts


def join_feedback(request_ids: pd.Series, in_period: np.ndarray, feedback: pd.DataFrame | None
                  ) -> Labels:
    """Join ``feedback`` (``request_id``, ``actual``, ``received``) to the logged rows.

    ``request_ids`` is the log's ``request_id`` column and ``in_period`` marks the rows the
    report covers. A record labelled twice keeps its latest label.
    """
    empty = Labels(np.zeros(0, dtype=np.int64), pd.Series([], dtype=object))
    if feedback is None or len(feedback) == 0:
        return empty
    fb = feedback.dropna(subset=["actual"])
    if "received" in fb.columns:
        fb = fb.sort_values("received", kind="stable")
    fb = fb.drop_duplicates("request_id", keep="last")
    if len(fb) == 0 or len(request_ids) == 0:
        return Labels(empty.rows, empty.actual, unmatched=len(fb))
    found = np.where(in_period, _positions(request_ids, fb["request_id"]), -1)
    rows = np.flatnonzero(found >= 0)
    outcome = found[rows]
    shared = pd.Series(outcome).duplicated(keep=False).to_numpy()
    n_matched = len(np.unique(outcome))
    rows, outcome = rows[~shared], outcome[~shared]
    return Labels(rows, fb["actual"].iloc[outcome].reset_index(drop=True),
                  unmatched=len(fb) - n_matched, ambiguous=n_matched - len(outcome))


def _as_arrow_text(ids: pd.Series) -> pa.Array | pa.ChunkedArray:
    if isinstance(ids.dtype, (pd.StringDtype, pd.ArrowDtype)):
        values = pa.array(ids)  # Arrow-backed text: no copy
    else:
        try:
            values = pa.array(ids.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # numbers: compared as their text
            values = pa.array(ids.astype(str).to_numpy(dtype=object), type=pa.string())
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return values
    return values.cast(pa.string())


def _positions(ids: pd.Series, wanted: pd.Series) -> np.ndarray:
    """Each of ``ids``' position in ``wanted`` (-1: not there), ids compared as text."""
    log_ids = _as_arrow_text(ids)
    wanted_ids = _as_arrow_text(wanted.astype(str)).cast(log_ids.type)
    found = pc.index_in(log_ids, value_set=wanted_ids)
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def true_values(actual: pd.Series, task: str, classes: list[str]) -> np.ndarray:
    """The labels as the scorer wants them: class positions (-1: not a class), or numbers."""
    if task == "regression":
        return pd.to_numeric(actual, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    codes, missing = level_codes(actual.infer_objects(), classes)
    return np.where(missing | (codes >= len(classes)), -1, codes)


def score_windows(metrics: list[str], y: np.ndarray, prediction: np.ndarray, windows: np.ndarray,
                  n_windows: int, *, task: str, n_classes: int = 0, has_proba: bool = True,
                  threshold: float | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Score every window's labelled rows, as :func:`core.metrics.score` scores them.

    Accuracy, MAE, RMSE and ROC-AUC are computed for all windows at once (scikit-learn checks
    its inputs for some 5 ms per call, which over 30 windows and 3 metrics would take the
    report's whole time budget); the tests hold them equal to :func:`core.metrics.score`
    window by window. Any other metric is scored by :func:`core.metrics.score` per window.

    Parameters
    ----------
    metrics : list of str
        Metric names from :data:`core.metrics.METRICS`.
    y : ndarray
        True values (classification: class positions).
    prediction : ndarray
        Predicted values, or for classification a matrix with one column per class
        (probabilities when ``has_proba``, else a one-hot matrix of the predicted class).
    windows : ndarray of int
        Each labelled row's window number.

    Returns
    -------
    counts : ndarray of shape (n_windows,)
        Labelled rows per window.
    scores : dict
        ``{metric: ndarray of shape (n_windows,)}``, NaN where a window has fewer than
        :data:`MIN_SCORED` labels or the metric is undefined there (e.g. ROC-AUC of one class).
    """
    counts = np.bincount(windows, minlength=n_windows)[:n_windows]
    classes = np.arange(n_classes)
    usable = [m for m in metrics if has_proba or METRICS[m].needs == "label"]
    scores = {}
    for m in usable:
        if m in ("mae", "rmse") and task == "regression":
            error = np.asarray(y, dtype=float) - np.asarray(prediction, dtype=float)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.bincount(windows, np.abs(error) if m == "mae" else error**2,
                                   minlength=n_windows)[:n_windows] / counts
            values = mean if m == "mae" else np.sqrt(mean)
        elif m == "accuracy" and task != "regression":
            right = (labels_from(task, prediction, classes, threshold) == y).astype(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                values = np.bincount(windows, right, minlength=n_windows)[:n_windows] / counts
        elif m == "roc_auc" and task == "binary":
            values = rank_auc(prediction[:, 1], y == 1, windows, n_windows)
        elif m == "roc_auc" and task == "multiclass":
            p = prediction / np.clip(prediction.sum(axis=1, keepdims=True), 1e-12, None)
            values = np.mean([rank_auc(p[:, k], y == k, windows, n_windows) for k in classes],
                             axis=0)
        else:
            values = _score_each(m, y, prediction, windows, counts, task=task, classes=classes,
                                 has_proba=has_proba, threshold=threshold)
        values[counts < MIN_SCORED] = np.nan
        scores[m] = values
    return counts, scores


def _score_each(metric: str, y: np.ndarray, prediction: np.ndarray, windows: np.ndarray,
                counts: np.ndarray, **options: object) -> np.ndarray:
    values = np.full(len(counts), np.nan)
    order = np.argsort(windows, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    for w in np.flatnonzero(counts >= MIN_SCORED):
        rows = order[bounds[w]:bounds[w + 1]]
        values[w] = score(metric, y[rows], prediction[rows], **options)
    return values


def rank_auc(values: np.ndarray, positive: np.ndarray, windows: np.ndarray, n_windows: int
             ) -> np.ndarray:
    """ROC-AUC of the scores ``values`` for ``positive`` in every window (Mann-Whitney, ties count half).

    NaN where a window lacks positives or negatives, as scikit-learn refuses those.
    """
    order = np.lexsort((values, windows))
    w, s, pos = windows[order], values[order], positive[order].astype(float)
    counts = np.bincount(w, minlength=n_windows)[:n_windows]
    first_of_window = np.concatenate([[0], np.cumsum(counts)])[w]
    position = np.arange(len(w)) - first_of_window + 1  # 1-based rank within the window
    # Tied scores share the mean of their ranks.
    new_group = np.ones(len(w), dtype=bool)
    new_group[1:] = (w[1:] != w[:-1]) | (s[1:] != s[:-1])
    group = np.cumsum(new_group) - 1
    group_size = np.bincount(group)
    group_start = position[new_group]
    rank = (group_start + (group_size - 1) / 2)[group]
    n1 = np.bincount(w, pos, minlength=n_windows)[:n_windows]
    n0 = counts - n1
    rank_sum = np.bincount(w, rank * pos, minlength=n_windows)[:n_windows]
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0)
    auc[(n1 == 0) | (n0 == 0)] = np.nan
    return auc
