"""Evaluate a fitted model on held-out data, as plain JSON-safe data.

Every function here takes a fitted ``Pipeline([("prep", ColumnTransformer), ("model", est)])``
and raw rows, and returns dicts and lists of Python numbers, strings, booleans and ``None``
(never NaN, infinity or numpy types), so ``json.dumps(result, allow_nan=False)`` works and the
same result can be stored in a project, shown on a page and drawn in the HTML report. Nothing
here plots: curves are lists of points, matrices are lists of lists.

Decisions a caller should know:

- **Positive class (binary).** ``positive_label`` if given; else the class with the fewest rows
  in ``y_test`` (counting classes the model knows but the test set lacks as 0 rows); on a tie,
  the last class in ``pipeline.classes_``. The rarer class is usually the one people care about
  (fraud, churn, disease), and the tie rule matches scikit-learn's own ``pos_label=1`` habit.
- **Threshold (binary).** With ``predict_proba`` a row is predicted positive when
  ``proba[:, positive] >= threshold``; at the default 0.5 the model's own rule applies (the
  larger probability, a tie going to the first class, as ``predict`` does). Without it (e.g.
  ``LinearSVC``) the threshold is on the ``decision_function`` score oriented towards the
  positive class (by default the model's own rule, positive above 0). Multiclass predictions
  come from ``pipeline.predict`` and ignore any threshold.
- **Labels the model never saw.** A test label outside ``pipeline.classes_`` is refused with a
  :class:`~core.errors.TabwrightError`: the model cannot predict it, so every score would be
  silently wrong.
- Anything undefined on this test set (ROC AUC with a class missing, MAPE with a zero target,
  silhouette with one cluster) is ``None``, and a sentence in ``"notes"`` says why.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn import metrics as skm
from sklearn.base import clone
from sklearn.calibration import calibration_curve
from sklearn.model_selection import learning_curve
from sklearn.pipeline import Pipeline

from core.errors import TabwrightError
from core.formatting import json_safe
from core.metrics import is_default_threshold
from core.metrics import log_loss as summed_log_loss

_BOUNDED_SCORE_PREFIXES = (
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "average_precision",
    "jaccard",
    "r2",
    "explained_variance",
    "mcc",
    "matthews",
)
OVERFIT_GAP = 0.05
"""Smallest train-minus-validation gap called overfitting, for scores where 1 is perfect."""
OVERFIT_RELATIVE_GAP = 0.15
"""Smallest relative gap called overfitting, for unbounded metrics (errors, log loss)."""
UNDERFIT_SCORE = 0.7
"""Training score below which a model is called underfitting, for scores where 1 is perfect."""
CURVE_MIN_RISE = 0.01
"""Smallest validation gain per doubling of data called rising (absolute for 0..1 scores, else relative)."""
CALIBRATION_BINS = 10
CELL_ROWS = 200
"""Most rows :func:`rows_for_confusion_cell` returns: enough to spot a pattern, quick to show."""


# --------------------------------------------------------------------------- JSON safety


def _row_values(X: pd.DataFrame, position: int) -> dict[str, Any]:
    return json_safe(X.iloc[position].to_dict())


# --------------------------------------------------------------------------- validation


def _check_rows(X: pd.DataFrame, y: pd.Series | None = None, *, what: str = "The test set") -> None:
    if not isinstance(X, pd.DataFrame):
        raise TabwrightError(
            f"{what} must be a table (pandas DataFrame), got {type(X).__name__}.",
            "Pass the raw columns the pipeline was trained on.",
        )
    if len(X) == 0:
        raise TabwrightError(f"{what} must have at least one row, got 0.", "Use a larger test split.")
    if y is None:
        return
    if len(y) != len(X):
        raise TabwrightError(
            f"{what} must have one target per row, got {len(X)} rows and {len(y)} targets.",
            "Pass the target column from the same rows.",
        )
    if pd.Series(y).isna().any():
        raise TabwrightError(
            f"{what} must have a target on every row, got {int(pd.Series(y).isna().sum())} missing.",
            "Drop rows with a missing target before splitting.",
        )


def _check_positive_int(name: str, value: int, minimum: int = 1) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise TabwrightError(
            f"`{name}` must be a whole number of at least {minimum}, got {value!r}.",
            f"Choose `{name}` >= {minimum}.",
        )


def _classes(pipeline: Pipeline, y: pd.Series) -> np.ndarray:
    classes = np.asarray(pipeline.classes_)
    known = set(classes.tolist())
    unseen = [v for v in pd.unique(np.asarray(y)) if v not in known]
    if unseen:
        shown = ", ".join(repr(json_safe(v)) for v in unseen[:5])
        raise TabwrightError(
            f"The test set has target values the model never saw in training: {shown}.",
            "Use a stratified split, or merge or drop very rare classes before training.",
        )
    return classes


def _resolve_positive(classes: np.ndarray, y: pd.Series, positive_label: Any) -> Any:
    if positive_label is not None:
        matches = [c for c in classes if c == positive_label]
        if not matches:
            raise TabwrightError(
                f"`positive_label` must be one of the model's classes {json_safe(classes)}, "
                f"got {positive_label!r}.",
                "Pick the class you want to detect from the list.",
            )
        return matches[0]
    counts = pd.Series(np.asarray(y)).value_counts()
    sizes = [int(counts.get(c, 0)) for c in classes]
    smallest = min(sizes)
    # Last class among the rarest: on a tie this is classes_[-1], scikit-learn's usual positive.
    return [c for c, s in zip(classes, sizes) if s == smallest][-1]


# --------------------------------------------------------------------------- predictions


def _class_scores(pipeline: Pipeline, X: pd.DataFrame, n_classes: int) -> tuple[np.ndarray | None, str | None]:
    """Per-class scores, shape (n, k): probabilities when available, else decision values."""
    if hasattr(pipeline, "predict_proba"):
        return np.asarray(pipeline.predict_proba(X), dtype=float), "probability"
    if hasattr(pipeline, "decision_function"):
        scores = np.asarray(pipeline.decision_function(X), dtype=float)
        if scores.ndim == 1:  # binary: positive values favour classes_[1]
            scores = np.column_stack([-scores, scores])
        if scores.shape[1] == n_classes:
            return scores, "decision"
    return None, None


def _predict(
    pipeline: Pipeline,
    X: pd.DataFrame,
    y: pd.Series,
    *,
    threshold: float | None,
    positive_label: Any,
) -> dict[str, Any]:
    """Predictions, scores and the rules used, shared by every classification function."""
    classes = _classes(pipeline, y)
    scores, score_kind = _class_scores(pipeline, X, len(classes))
    notes: list[str] = []
    if len(classes) == 2:
        positive = _resolve_positive(classes, y, positive_label)
        pos_idx = int(np.flatnonzero(classes == positive)[0])
        negative = classes[1 - pos_idx]
        if scores is None:
            if threshold is not None:
                raise TabwrightError(
                    "A threshold needs a model that gives scores, and this one has neither "
                    "predict_proba nor decision_function.",
                    "Leave the threshold empty or choose a model that outputs probabilities.",
                )
            y_pred = np.asarray(pipeline.predict(X))
            used = None
        else:
            if score_kind == "probability":
                used = 0.5 if threshold is None else float(threshold)
                if not 0.0 <= used <= 1.0:
                    raise TabwrightError(
                        f"`threshold` must be between 0 and 1 for a probability, got {threshold!r}.",
                        "Pick a value like 0.5; lower finds more positives, higher fewer.",
                    )
            else:
                used = 0.0 if threshold is None else float(threshold)
                rule = "above 0" if threshold is None else f">= {used:g}"
                notes.append(
                    "This model has no probabilities, so the threshold is on its decision score "
                    f"(positive when the score is {rule}); calibration and log loss are skipped."
                )
            if threshold is None or (score_kind == "probability" and is_default_threshold(used)):
                y_pred = classes[np.argmax(scores, axis=1)]  # the model's own predict, ties too
            else:
                y_pred = np.where(scores[:, pos_idx] >= used, positive, negative)
        return {
            "task": "binary",
            "classes": classes,
            "y_pred": y_pred,
            "scores": scores,
            "score_kind": score_kind,
            "positive": positive,
            "pos_idx": pos_idx,
            "threshold": used,
            "notes": notes,
        }
    if threshold is not None:
        notes.append("The threshold applies to two-class problems only; it was ignored here.")
    if score_kind == "decision":
        notes.append("This model has no probabilities, so log loss is skipped and ROC uses its decision scores.")
    return {
        "task": "multiclass",
        "classes": classes,
        "y_pred": np.asarray(pipeline.predict(X)),
        "scores": scores,
        "score_kind": score_kind,
        "positive": None,
        "pos_idx": None,
        "threshold": None,
        "notes": notes,
    }


def _downsample(n: int, max_points: int) -> np.ndarray:
    """Evenly spaced indices into a curve of n points, always keeping both ends."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max_points)).astype(int))


def _roc(y_bin: np.ndarray, score: np.ndarray, max_points: int) -> dict[str, Any]:
    fpr, tpr, thr = skm.roc_curve(y_bin, score)
    keep = _downsample(len(fpr), max_points)
    return {"fpr": fpr[keep], "tpr": tpr[keep], "thresholds": thr[keep], "auc": skm.roc_auc_score(y_bin, score)}


def _pr(y_bin: np.ndarray, score: np.ndarray, max_points: int) -> dict[str, Any]:
    precision, recall, thr = skm.precision_recall_curve(y_bin, score)
    # The last point (recall 0, precision 1) has no threshold; None keeps the lists aligned.
    thresholds = [*thr.tolist(), None]
    keep = _downsample(len(precision), max_points)
    return {
        "precision": precision[keep],
        "recall": recall[keep],
        "thresholds": [thresholds[i] for i in keep],
        "average_precision": skm.average_precision_score(y_bin, score),
        "positive_rate": float(np.mean(y_bin)),
    }


def _calibration(y_bin: np.ndarray, prob: np.ndarray) -> dict[str, Any]:
    prob_true, prob_pred = calibration_curve(y_bin, prob, n_bins=CALIBRATION_BINS, strategy="quantile")
    # calibration_curve does not return bin sizes; the same binning rule gives them.
    edges = np.percentile(prob, np.linspace(0, 100, CALIBRATION_BINS + 1))
    counts = np.bincount(np.searchsorted(edges[1:-1], prob), minlength=CALIBRATION_BINS)
    return {"prob_pred": prob_pred, "prob_true": prob_true, "counts": counts[counts != 0]}


# --------------------------------------------------------------------------- classification


def evaluate_classifier(
    pipeline: Pipeline,
    X_test: pd.DataFrame,
    y_test: pd.Series,
    *,
    threshold: float | None = None,
    positive_label: Any = None,
    max_curve_points: int = 200,
) -> dict[str, Any]:
    """Score a fitted classifier on held-out rows.

    Parameters
    ----------
    pipeline : Pipeline
        Fitted ``Pipeline([("prep", ...), ("model", classifier)])`` taking raw columns.
    X_test : pandas.DataFrame
        Held-out rows, raw columns.
    y_test : pandas.Series
        True labels of those rows; every label must be one the model was trained on.
    threshold : float, optional
        Binary only. Rows with ``proba[:, positive] >= threshold`` are predicted positive
        (default 0.5). For models without ``predict_proba`` it is a cut on the decision score
        (default 0.0). Ignored, with a note, for multiclass.
    positive_label : optional
        Binary only. The class to detect. Default: the rarest class in ``y_test`` (classes
        absent from it count as 0 rows); on a tie, the last class in ``pipeline.classes_``.
    max_curve_points : int, default=200
        Most points kept per ROC / precision-recall curve (evenly spaced, ends kept).

    Returns
    -------
    dict
        JSON-safe. Keys: ``task`` ("binary"/"multiclass"), ``classes`` (``classes_`` order),
        ``positive_label``, ``threshold``, ``score_kind`` ("probability", "decision" or None),
        ``n_test``, ``metrics`` (names in :data:`core.metrics.METRICS`; undefined ones are None),
        ``baseline`` (majority class and the accuracy of always predicting it),
        ``per_class`` (class, precision, recall, f1, support), ``confusion_matrix`` (``labels``,
        ``counts`` rows = true and columns = predicted, ``normalized`` row shares; a class with
        no test rows has a row of None), ``roc_curve`` and ``pr_curve`` (binary: one curve of
        the positive class; multiclass: ``{"one_vs_rest": [{"class", ...}]}``), ``calibration``
        (binary with probabilities: ``prob_pred``, ``prob_true``, ``counts`` per non-empty
        quantile bin; else None) and ``notes`` (why anything is missing).

    Examples
    --------
    >>> result = evaluate_classifier(pipe, X_test, y_test, threshold=0.3)  # doctest: +SKIP
    >>> result["metrics"]["recall"]  # doctest: +SKIP
    0.91
    """
    _check_rows(X_test, y_test)
    _check_positive_int("max_curve_points", max_curve_points, minimum=2)
    y = np.asarray(y_test)
    p = _predict(pipeline, X_test, y_test, threshold=threshold, positive_label=positive_label)
    classes, y_pred, scores, notes = p["classes"], p["y_pred"], p["scores"], p["notes"]
    present = set(pd.unique(y).tolist())
    missing = [c for c in classes if c not in present]

    metrics: dict[str, Any] = {
        "accuracy": skm.accuracy_score(y, y_pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, y_pred),
    }
    # Averaged over the classes the test rows hold or the model predicts (as core.metrics.score
    # and scikit-learn do): a class with no test rows would count as an F1 of 0.
    seen = present | set(pd.unique(np.asarray(y_pred)).tolist())
    averaged = [c for c in classes if c in seen]
    if missing and len(averaged) < len(classes):
        notes.append("The macro averages (precision, recall, F1) leave out the classes with no "
                     "test rows and no predictions: "
                     + ", ".join(repr(json_safe(c)) for c in classes if c not in seen) + ".")
    for average in ("macro", "weighted"):
        prec, rec, f1, _ = skm.precision_recall_fscore_support(
            y, y_pred, labels=averaged, average=average, zero_division=0
        )
        metrics |= {f"precision_{average}": prec, f"recall_{average}": rec, f"f1_{average}": f1}
    metrics["mcc"] = skm.matthews_corrcoef(y, y_pred)
    metrics["log_loss"] = (
        summed_log_loss(y, scores, classes) if p["score_kind"] == "probability" else None
    )
    if p["score_kind"] is None:
        notes.append("This model gives neither probabilities nor scores, so ROC, PR, AUC and log loss are skipped.")

    roc_curve: dict[str, Any] | None = None
    pr_curve: dict[str, Any] | None = None
    calibration: dict[str, Any] | None = None
    metrics["roc_auc"] = None
    if missing and scores is not None:
        notes.append(
            "ROC AUC is not defined because the test set has no rows of class "
            f"{', '.join(repr(json_safe(c)) for c in missing)}; use a larger or stratified test split."
        )
    if p["task"] == "binary":
        positive, pos_idx = p["positive"], p["pos_idx"]
        y_bin = (y == positive).astype(int)
        prec, rec, f1, _ = skm.precision_recall_fscore_support(
            y, y_pred, labels=[positive], average=None, zero_division=0
        )
        metrics |= {"precision": prec[0], "recall": rec[0], "f1": f1[0], "average_precision": None}
        if scores is not None and not missing:
            score = scores[:, pos_idx]
            roc_curve = _roc(y_bin, score, max_curve_points)
            pr_curve = _pr(y_bin, score, max_curve_points)
            metrics["roc_auc"] = roc_curve["auc"]
            metrics["average_precision"] = pr_curve["average_precision"]
            if p["score_kind"] == "probability":
                calibration = _calibration(y_bin, score)
    elif scores is not None:
        curves = [
            (c, _roc((y == c).astype(int), scores[:, i], max_curve_points),
             _pr((y == c).astype(int), scores[:, i], max_curve_points))
            for i, c in enumerate(classes)
            if c in present and len(present) > 1
        ]
        roc_curve = {"one_vs_rest": [{"class": c, **roc} for c, roc, _ in curves]}
        pr_curve = {"one_vs_rest": [{"class": c, **pr} for c, _, pr in curves]}
        if not missing:
            metrics["roc_auc"] = float(np.mean([roc["auc"] for _, roc, _ in curves]))

    prec, rec, f1, support = skm.precision_recall_fscore_support(
        y, y_pred, labels=classes, average=None, zero_division=0
    )
    counts = skm.confusion_matrix(y, y_pred, labels=classes)
    row_totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        normalized = counts / row_totals  # rows with no test rows become NaN, then None
    majority = pd.Series(y).value_counts()
    return json_safe(
        {
            "task": p["task"],
            "classes": classes,
            "positive_label": p["positive"],
            "threshold": p["threshold"],
            "score_kind": p["score_kind"],
            "n_test": len(y),
            "metrics": metrics,
            "baseline": {
                "majority_class": majority.index[0],
                "accuracy": majority.iloc[0] / len(y),
            },
            "per_class": [
                {"class": c, "precision": pr_, "recall": rc, "f1": f, "support": s}
                for c, pr_, rc, f, s in zip(classes, prec, rec, f1, support)
            ],
            "confusion_matrix": {"labels": classes, "counts": counts, "normalized": normalized},
            "roc_curve": roc_curve,
            "pr_curve": pr_curve,
            "calibration": calibration,
            "notes": notes,
        }
    )


def rows_for_confusion_cell(
    pipeline: Pipeline,
    X_test: pd.DataFrame,
    y_test: pd.Series,
    *,
    true_label: Any,
    predicted_label: Any,
    limit: int = CELL_ROWS,
    threshold: float | None = None,
    positive_label: Any = None,
) -> pd.DataFrame:
    """The rows of one confusion-matrix cell, in their original order and with their index.

    ``threshold`` and ``positive_label`` must be the ones passed to :func:`evaluate_classifier`
    so the rows match the matrix the user clicked. Returns at most ``limit`` rows of
    ``X_test`` (all its columns, unchanged).
    """
    _check_rows(X_test, y_test)
    _check_positive_int("limit", limit)
    p = _predict(pipeline, X_test, y_test, threshold=threshold, positive_label=positive_label)
    for name, label in (("true_label", true_label), ("predicted_label", predicted_label)):
        if not any(c == label for c in p["classes"]):
            raise TabwrightError(
                f"`{name}` must be one of the model's classes {json_safe(p['classes'])}, got {label!r}.",
                "Pick a cell of the confusion matrix shown.",
            )
    mask = (np.asarray(y_test) == true_label) & (np.asarray(p["y_pred"]) == predicted_label)
    return X_test.loc[mask].head(limit)


# --------------------------------------------------------------------------- regression


def evaluate_regressor(
    pipeline: Pipeline,
    X_test: pd.DataFrame,
    y_test: pd.Series,
    *,
    max_points: int = 2000,
) -> dict[str, Any]:
    """Score a fitted regressor on held-out rows.

    Returns
    -------
    dict
        JSON-safe. ``task`` ("regression"), ``n_test``, ``metrics`` (mae, mse, rmse, r2,
        mape as a fraction — None when any true value is 0 —, median_ae, max_error),
        ``residuals`` (``index``, ``predicted``, ``actual``, ``residual`` = actual − predicted;
        at most ``max_points`` rows drawn at random with a fixed seed, in test order) and
        ``notes``.
    """
    _check_rows(X_test, y_test)
    _check_positive_int("max_points", max_points)
    if not pd.api.types.is_numeric_dtype(y_test) or pd.api.types.is_bool_dtype(y_test):
        raise TabwrightError(
            f"A regression target must be numeric, got {pd.Series(y_test).dtype}.",
            "Choose classification for a categorical target, or convert the column to numbers.",
        )
    y = np.asarray(y_test, dtype=float)
    y_pred = np.asarray(pipeline.predict(X_test), dtype=float)
    notes: list[str] = []
    mse = skm.mean_squared_error(y, y_pred)
    has_zero = bool(np.any(y == 0))
    if has_zero:
        notes.append(
            f"MAPE is not shown: {int(np.sum(y == 0))} true value(s) are 0, and an error as a share "
            "of zero is undefined. Use MAE or RMSE."
        )
    if len(y) < 2:
        notes.append("R² needs at least two test rows.")
    metrics = {
        "mae": skm.mean_absolute_error(y, y_pred),
        "mse": mse,
        "rmse": math.sqrt(mse),
        "r2": skm.r2_score(y, y_pred) if len(y) >= 2 else None,
        "mape": None if has_zero else skm.mean_absolute_percentage_error(y, y_pred),
        "median_ae": skm.median_absolute_error(y, y_pred),
        "max_error": skm.max_error(y, y_pred),
    }
    keep = np.arange(len(y))
    if len(y) > max_points:
        keep = np.sort(np.random.default_rng(0).choice(len(y), size=max_points, replace=False))
        notes.append(f"The residual plot shows {max_points} of {len(y)} rows, drawn at random.")
    return json_safe(
        {
            "task": "regression",
            "n_test": len(y),
            "metrics": metrics,
            "residuals": {
                "index": X_test.index[keep],
                "predicted": y_pred[keep],
                "actual": y[keep],
                "residual": (y - y_pred)[keep],
            },
            "notes": notes,
        }
    )


# --------------------------------------------------------------------------- clustering


def _profile(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    profile = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            profile[column] = {"kind": "numeric", "mean": values.mean()}
        else:
            counts = values.value_counts()
            profile[column] = {
                "kind": "categorical",
                "top": counts.index[0] if len(counts) else None,
                "top_share": counts.iloc[0] / len(values) if len(counts) else None,
            }
    return profile


def evaluate_clustering(
    pipeline: Pipeline,
    X: pd.DataFrame,
    *,
    labels: Sequence[Any] | np.ndarray | None = None,
    max_points: int = 5000,
) -> dict[str, Any]:
    """Describe the clusters a fitted clustering pipeline finds in ``X``.

    Parameters
    ----------
    pipeline : Pipeline
        Fitted ``Pipeline([("prep", ...), ("model", clusterer)])``.
    X : pandas.DataFrame
        Raw rows to describe (usually the rows the model was fitted on).
    labels : array-like, optional
        Cluster of each row of ``X``. Default: ``pipeline.predict(X)`` (KMeans, GaussianMixture);
        for models without ``predict`` (Agglomerative, DBSCAN) the fitted ``labels_``, which is
        only right if ``X`` is the data the model was fitted on — pass ``labels`` otherwise.
    max_points : int, default=5000
        Silhouette is O(n²), so it is computed on at most this many rows drawn with seed 0.

    Returns
    -------
    dict
        JSON-safe. ``task`` ("clustering"), ``n_clusters`` (label -1, DBSCAN's noise, is not a
        cluster), ``n_noise``, ``metrics`` (silhouette, davies_bouldin, calinski_harabasz on the
        encoded features, noise rows left out; None when fewer than 2 clusters),
        ``cluster_sizes`` ([{cluster, size, share}]), ``profiles`` ([{cluster, size, values}],
        ``values`` per raw column: ``{"kind": "numeric", "mean"}`` or ``{"kind":
        "categorical", "top", "top_share"}``), ``overall`` (the same for all rows) and ``notes``.
    """
    _check_rows(X, what="The data")
    _check_positive_int("max_points", max_points, minimum=2)
    notes: list[str] = []
    if labels is None:
        if hasattr(pipeline, "predict"):
            labels = pipeline.predict(X)
        elif len(getattr(pipeline[-1], "labels_", ())) == len(X):
            labels = pipeline[-1].labels_
            notes.append("Clusters are the ones the model assigned when it was fitted (labels_).")
        else:
            raise TabwrightError(
                "This clustering model cannot assign clusters to new rows.",
                "Pass the labels from fit_predict on these rows.",
            )
    labels = np.asarray(labels)
    if len(labels) != len(X):
        raise TabwrightError(
            f"`labels` must have one cluster per row, got {len(labels)} for {len(X)} rows.",
            "Pass the labels from fitting on exactly these rows.",
        )
    is_noise = labels == -1
    n_noise = int(is_noise.sum())
    if n_noise:
        notes.append(f"{n_noise} row(s) are noise (label -1); they are left out of the scores.")
    clustered = np.flatnonzero(~is_noise)
    cluster_ids = np.unique(labels[clustered])
    metrics: dict[str, Any] = {"silhouette": None, "davies_bouldin": None, "calinski_harabasz": None}
    if not 2 <= len(cluster_ids) < len(clustered):
        notes.append(
            f"Cluster scores need at least 2 clusters and more rows than clusters; found {len(cluster_ids)}."
        )
    else:
        features = pipeline[:-1].transform(X.iloc[clustered]) if len(pipeline) > 1 else X.iloc[clustered]
        if not sp.issparse(features):
            features = np.asarray(features, dtype=float)
        else:
            features = sp.csr_matrix(features)
        rng = np.random.default_rng(0)
        sample = np.arange(len(clustered))
        if len(clustered) > max_points:
            sample = np.sort(rng.choice(len(clustered), size=max_points, replace=False))
            notes.append(f"Silhouette is computed on {max_points} of {len(clustered)} rows, drawn at random.")
        sample_labels = labels[clustered][sample]
        if len(np.unique(sample_labels)) >= 2:
            metrics["silhouette"] = skm.silhouette_score(features[sample], sample_labels)
        if sp.issparse(features):
            # The other two scores need a dense array; densify the sample only, to bound memory.
            features, score_labels = features[sample].toarray(), sample_labels
            if len(sample) < len(clustered):
                notes.append("Davies-Bouldin and Calinski-Harabasz use the same sample (sparse features).")
        else:
            score_labels = labels[clustered]
        if 2 <= len(np.unique(score_labels)) < len(score_labels):
            metrics["davies_bouldin"] = skm.davies_bouldin_score(features, score_labels)
            metrics["calinski_harabasz"] = skm.calinski_harabasz_score(features, score_labels)
    groups = pd.Series(labels, index=X.index)
    sizes = groups.value_counts().sort_index()
    return json_safe(
        {
            "task": "clustering",
            "n_clusters": len(cluster_ids),
            "n_noise": n_noise,
            "metrics": metrics,
            "cluster_sizes": [
                {"cluster": c, "size": s, "share": s / len(X)} for c, s in sizes.items()
            ],
            "profiles": [
                {"cluster": c, "size": int(sizes[c]), "values": _profile(X.loc[(groups == c).to_numpy()])}
                for c in sizes.index
            ],
            "overall": _profile(X),
            "notes": notes,
        }
    )


# --------------------------------------------------------------------------- fit diagnosis


def _is_bounded_score(metric: str) -> bool:
    """True for scores where 1 is perfect (accuracy, F1, AUC, R², ...)."""
    name = metric.lower().removeprefix("neg_")
    return name.startswith(_BOUNDED_SCORE_PREFIXES)


def _fmt(x: float) -> str:
    """Three significant digits, thousands separators for big values, float dust shown as 0."""
    x = round(float(x), 9) + 0.0
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def diagnose_fit(
    *,
    train_score: float,
    cv_mean: float,
    cv_std: float,
    metric: str,
    greater_is_better: bool,
) -> dict[str, Any]:
    """Say in words whether a model over- or underfits, from its training and CV scores.

    ``gap`` is how much better the training score is than cross-validation, in the metric's
    direction (positive = training looks better). Rules:

    - Scores where 1 is perfect (accuracy, F1, precision, recall, ROC AUC, average precision,
      R², MCC; recognised by name, ``neg_`` prefix ignored): **overfitting** when the gap is
      more than ``OVERFIT_GAP`` (0.05) and more than 2 × ``cv_std``; else **underfitting**
      when the training score is below ``UNDERFIT_SCORE`` (0.7); else **good fit**.
    - Other metrics (MAE, RMSE, log loss, ...): **overfitting** when the gap is more than
      ``OVERFIT_RELATIVE_GAP`` (15 %) of the cross-validation value and more than 2 × ``cv_std``;
      else **good fit**, with a reminder that these metrics have no fixed scale, so
      underfitting can only be judged against a baseline model.

    Returns
    -------
    dict
        ``{"gap", "verdict", "explanation", "train_score", "cv_mean", "cv_std", "metric"}``.

    Examples
    --------
    >>> diagnose_fit(train_score=0.99, cv_mean=0.82, cv_std=0.02, metric="accuracy",
    ...              greater_is_better=True)["verdict"]
    'overfitting'
    """
    for name, value in (("train_score", train_score), ("cv_mean", cv_mean), ("cv_std", cv_std)):
        if value is None or not math.isfinite(float(value)):
            raise TabwrightError(f"`{name}` must be a finite number, got {value!r}.", "Re-run training.")
    train_score, cv_mean, cv_std = float(train_score), float(cv_mean), float(cv_std)
    gap = train_score - cv_mean if greater_is_better else cv_mean - train_score
    bounded = _is_bounded_score(metric)
    head = f"Training {metric} {_fmt(train_score)} vs cross-validation {_fmt(cv_mean)} ± {_fmt(cv_std)}"
    if bounded:
        overfit = gap > max(OVERFIT_GAP, 2 * cv_std)
        gap_words = f"a gap of {_fmt(gap)}"
    else:
        relative = gap / max(abs(cv_mean), 1e-12)
        overfit = relative > OVERFIT_RELATIVE_GAP and gap > 2 * cv_std
        gap_words = f"a gap of {_fmt(gap)} ({relative:.0%} of the cross-validation value)"
    if overfit:
        verdict = "overfitting"
        explanation = (
            f"{head}: {gap_words} suggests overfitting — try stronger regularisation, "
            "a simpler model, or more data."
        )
    elif bounded and train_score < UNDERFIT_SCORE:
        verdict = "underfitting"
        explanation = (
            f"{head}: the model scores only {_fmt(train_score)} even on its own training data, "
            "which suggests underfitting — try a more flexible model, weaker regularisation, or "
            "better features."
        )
    else:
        verdict = "good fit"
        small = gap <= (OVERFIT_GAP if bounded else OVERFIT_RELATIVE_GAP * abs(cv_mean))
        explanation = (f"{head}: {gap_words} is small, so there is no sign of overfitting."
                       if small else
                       f"{head}: {gap_words} is within twice the fold-to-fold spread "
                       f"(2 × {_fmt(cv_std)}), so the folds cannot tell it from chance: no clear "
                       "sign of overfitting.")
        if not bounded:
            explanation += (
                f" {metric} has no fixed scale, so compare it with a baseline model to judge "
                "whether the error is small enough."
            )
    return json_safe(
        {
            "gap": gap,
            "verdict": verdict,
            "explanation": explanation,
            "train_score": train_score,
            "cv_mean": cv_mean,
            "cv_std": cv_std,
            "metric": metric,
        }
    )


# --------------------------------------------------------------------------- learning curve


def learning_curve_data(
    pipeline: Pipeline | Callable[[], Pipeline],
    X: pd.DataFrame,
    y: pd.Series,
    *,
    cv: Any,
    scoring: str,
    train_sizes: Sequence[float] = (0.1, 0.325, 0.55, 0.775, 1.0),
    seed: int = 0,
    n_jobs: int = 1,
) -> dict[str, Any]:
    """Cross-validated scores at growing training sizes, and whether more data would help.

    Parameters
    ----------
    pipeline : Pipeline or callable
        An unfitted pipeline (it is cloned, never changed) or a function returning one.
    X, y : pandas.DataFrame, pandas.Series
        The training rows (never the test set).
    cv : int or splitter
        As in scikit-learn; an int means stratified folds for classifiers.
    scoring : str
        A scikit-learn scorer name; scores are "greater is better" (errors are ``neg_``).
    train_sizes : sequence of float, default=(0.1, 0.325, 0.55, 0.775, 1.0)
        Fractions of each training fold.
    seed : int, default=0
        Shuffles rows before taking the subsets, so small subsets are not just the first rows.

    Returns
    -------
    dict
        JSON-safe. ``train_sizes`` (row counts), ``train_mean``, ``train_std``, ``valid_mean``,
        ``valid_std``, ``scoring``, ``verdict``, ``explanation`` and ``notes``. The verdict fits a
        line to the upper half of the validation curve against log2(rows). **More data would
        likely help** when the gain per doubling of the data is more than ``CURVE_MIN_RISE``
        (0.01 absolute for scores where 1 is perfect, else 1 % of the score) and either more than
        the standard error across folds at the largest size, or training is still clearly better
        than validation (by more than that error and more than ``OVERFIT_GAP`` × scale), the
        sign of a gap that data closes. **More data is unlikely to help** otherwise; **cannot
        tell** with fewer than two sizes that could be scored.
    """
    _check_rows(X, y, what="The training data")
    estimator = clone(pipeline) if hasattr(pipeline, "fit") else pipeline()
    sizes, train_scores, valid_scores = learning_curve(
        estimator,
        X,
        y,
        cv=cv,
        scoring=scoring,
        train_sizes=np.asarray(train_sizes, dtype=float),
        shuffle=True,
        random_state=seed,
        n_jobs=n_jobs,
        error_score=np.nan,
    )
    notes: list[str] = []
    scored = ~np.all(np.isnan(valid_scores), axis=1)
    if not scored.all():
        notes.append(
            f"{int((~scored).sum())} training size(s) could not be fitted (often too few rows of "
            "some class) and are left out."
        )
    sizes, train_scores, valid_scores = sizes[scored], train_scores[scored], valid_scores[scored]
    with np.errstate(invalid="ignore"):
        train_mean, train_std = np.nanmean(train_scores, axis=1), np.nanstd(train_scores, axis=1)
        valid_mean, valid_std = np.nanmean(valid_scores, axis=1), np.nanstd(valid_scores, axis=1)
    if len(sizes) < 2:
        verdict = "cannot tell"
        explanation = "Fewer than two training sizes could be scored, so there is no curve to read."
    else:
        n_folds = valid_scores.shape[1]
        # Trend over the upper half of the curve, per doubling of the data: the last step alone
        # is too noisy on small data, and the first steps always rise steeply.
        k = max(2, math.ceil(len(sizes) / 2))
        per_doubling = float(np.polyfit(np.log2(sizes[-k:]), valid_mean[-k:], 1)[0])
        scale = 1.0 if _is_bounded_score(scoring) else max(abs(valid_mean[-1]), 1e-12)
        gap = train_mean[-1] - valid_mean[-1]
        head = (
            f"Validation {scoring} went from {_fmt(valid_mean[-k])} at {sizes[-k]} rows to "
            f"{_fmt(valid_mean[-1])} at {sizes[-1]} rows, about {_fmt(per_doubling)} per doubling "
            "of the data"
        )
        noise = valid_std[-1] / math.sqrt(n_folds)
        still_gapped = gap > max(noise, OVERFIT_GAP * scale)
        if per_doubling > CURVE_MIN_RISE * scale and (per_doubling > noise or still_gapped):
            verdict = "more data would likely help"
            explanation = f"{head}: still rising"
            if still_gapped:
                explanation += f", and training is {_fmt(gap)} better than validation"
            explanation += ", so more data would likely help."
        else:
            verdict = "more data is unlikely to help"
            explanation = f"{head}: it has levelled off, so more data is unlikely to help much."
            if still_gapped:
                explanation += (
                    f" Training is still {_fmt(gap)} better than validation: try stronger "
                    "regularisation or a simpler model."
                )
            else:
                explanation += " Training and validation agree: try a more flexible model or better features."
    return json_safe(
        {
            "train_sizes": sizes,
            "train_mean": train_mean,
            "train_std": train_std,
            "valid_mean": valid_mean,
            "valid_std": valid_std,
            "scoring": scoring,
            "verdict": verdict,
            "explanation": explanation,
            "notes": notes,
        }
    )


# --------------------------------------------------------------------------- importance


def permutation_importance_data(
    pipeline: Pipeline,
    X: pd.DataFrame,
    y: pd.Series,
    *,
    scoring: str | Callable[..., float],
    n_repeats: int = 5,
    seed: int = 0,
    max_rows: int = 5000,
    max_columns: int | None = None,
) -> list[dict[str, Any]]:
    """How much the score drops when each raw column is shuffled.

    Columns of the raw DataFrame are permuted (not encoded features), so a one-hot encoded
    column gets one importance, in the user's words. At most ``max_rows`` rows, drawn with
    ``seed``, are used. Importance is in the units of ``scoring`` (a drop in a greater-is-better
    score); near zero or negative means the model does not rely on that column.

    A wide table would take one prediction per column and repeat: with ``max_columns``, only
    that many columns are shuffled, those the model's own predictions follow most closely
    (absolute correlation for numbers, the correlation ratio for categories, on the same
    rows); the others get no row.

    Returns
    -------
    list of dict
        ``[{"feature", "importance_mean", "importance_std"}]``, most important first.
    """
    _check_rows(X, y, what="The data")
    _check_positive_int("n_repeats", n_repeats)
    _check_positive_int("max_rows", max_rows)
    if len(X) > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(len(X), size=max_rows, replace=False))
        X, y = X.iloc[keep], pd.Series(y).iloc[keep]
    columns = (list(X.columns) if max_columns is None or X.shape[1] <= max_columns
               else _followed_columns(pipeline, X, max_columns))
    means, stds = _shuffled_drops(pipeline, X, y, columns, scoring=scoring,
                                  n_repeats=n_repeats, seed=seed)
    rows = [
        {"feature": column, "importance_mean": mean, "importance_std": std}
        for column, mean, std in zip(columns, means, stds)
    ]
    rows.sort(key=lambda r: (-r["importance_mean"], str(r["feature"])))
    return json_safe(rows)


def _followed_columns(pipeline: Pipeline, X: pd.DataFrame, n: int) -> list[Any]:
    """The ``n`` columns the model's predictions follow most closely (see the caller)."""
    output = np.asarray(pipeline.predict_proba(X) if hasattr(pipeline, "predict_proba")
                        else pipeline.predict(X), dtype=float)
    score = output[:, -1] if output.ndim == 2 else output
    score = score - score.mean()
    total = float(np.sum(score ** 2)) or 1.0
    strength = {}
    for column in X.columns:
        values = X[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            x = values.to_numpy(dtype=float)
            x = np.where(np.isnan(x), np.nanmean(x) if np.isfinite(x).any() else 0.0, x)
            x = x - x.mean()
            spread = float(np.sqrt(np.sum(x ** 2) * total))
            strength[column] = abs(float(np.sum(x * score))) / spread if spread else 0.0
        else:  # the correlation ratio: the share of the output's spread its levels explain
            codes = pd.factorize(values.astype(str))[0]
            sums, counts = np.bincount(codes, score), np.bincount(codes)
            strength[column] = float(np.sum(sums ** 2 / np.maximum(counts, 1)) / total)
    return sorted(strength, key=lambda c: (-strength[c], str(c)))[:n]


def _shuffled_drops(pipeline: Pipeline, X: pd.DataFrame, y: Any, columns: list[Any], *,
                    scoring: str | Callable[..., float], n_repeats: int, seed: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread of the score's drop when each of ``columns`` is shuffled.

    The shuffled copies are predicted together, up to ``SHUFFLED_ROWS`` rows at a time (one
    prediction per copy cost an ensemble 0.2 s of overhead each: 16 s for 16 columns × 5
    repeats), then scored copy by copy with ``scoring`` as usual.
    """
    scorer = skm.check_scoring(pipeline, scoring=scoring) if isinstance(scoring, str) else scoring
    base = scorer(pipeline, X, y)
    rng = np.random.RandomState(seed)
    copies = []
    for column in columns:
        for _ in range(n_repeats):
            shuffled = X.copy()
            shuffled[column] = X[column].to_numpy()[rng.permutation(len(X))]
            copies.append(shuffled)
    per_batch = max(1, SHUFFLED_ROWS // max(len(X), 1))
    drops = []
    for start in range(0, len(copies), per_batch):
        batch = _Batched(pipeline, copies[start:start + per_batch])
        for i in range(len(batch.parts)):
            batch.part = i
            drops.append(base - scorer(batch, batch.parts[i], y))
    drops = np.asarray(drops, dtype=float).reshape(len(columns), n_repeats)
    return drops.mean(axis=1), drops.std(axis=1)


SHUFFLED_ROWS = 200_000
"""Most shuffled rows predicted at once by permutation importance."""


class _Batched:
    """Stands in for a model while a scorer scores one of several frames: each prediction
    method runs once on all of them together, and answers for the frame ``part``."""

    def __init__(self, model: Any, parts: list[pd.DataFrame]) -> None:
        self.model, self.parts, self.part = model, parts, 0
        self._all = pd.concat(parts, ignore_index=True)
        self._edges = np.cumsum([0] + [len(p) for p in parts])
        self._cache: dict[str, np.ndarray] = {}

    def _answer(self, method: str) -> np.ndarray:
        if method not in self._cache:
            self._cache[method] = np.asarray(getattr(self.model, method)(self._all))
        return self._cache[method][self._edges[self.part]:self._edges[self.part + 1]]

    def __getattr__(self, name: str) -> Any:
        if name in ("predict", "predict_proba", "decision_function") and hasattr(self.model, name):
            def answer(X: Any) -> np.ndarray:
                return self._answer(name)

            answer.__name__ = name  # scikit-learn's scorers read the method's name
            return answer
        return getattr(self.model, name)  # what scorers look up: tags, classes, ...


# --------------------------------------------------------------------------- error analysis


def error_analysis(
    pipeline: Pipeline,
    X_test: pd.DataFrame,
    y_test: pd.Series,
    *,
    task: str,
    n: int = 20,
    threshold: float | None = None,
    positive_label: Any = None,
) -> dict[str, Any]:
    """The rows the model gets most wrong, with their values, so a person can look for a pattern.

    Parameters
    ----------
    task : {"binary", "multiclass", "classification", "regression"}
        The three classification names behave the same (the class count decides).
    n : int, default=20
        Rows per list.
    threshold, positive_label
        As in :func:`evaluate_classifier`; pass the same values so the lists agree with the
        confusion matrix.

    Returns
    -------
    dict
        Each row is ``{"index", "true", "predicted", "probability", "values"}`` (``index`` is
        the row's label in ``X_test``, ``values`` its raw columns).

        Classification: ``worst`` — rows with the lowest predicted probability of their true
        class (``probability``; misclassified rows when the model has no probabilities, then
        ``probability`` is None) —, and for binary ``false_positives`` (most confident first:
        highest positive score) and ``false_negatives`` (lowest positive score first). Binary
        rows also carry ``positive_probability`` (None without ``predict_proba``).

        Regression: ``largest_errors`` — largest absolute residual first, each row
        ``{"index", "actual", "predicted", "residual", "values"}``.
    """
    _check_rows(X_test, y_test)
    _check_positive_int("n", n)
    valid_tasks = ("binary", "multiclass", "classification", "regression")
    if task not in valid_tasks:
        raise TabwrightError(f"`task` must be one of {', '.join(valid_tasks)}, got {task!r}.", "")
    index = X_test.index
    if task == "regression":
        y = np.asarray(y_test, dtype=float)
        y_pred = np.asarray(pipeline.predict(X_test), dtype=float)
        residual = y - y_pred
        order = np.argsort(-np.abs(residual), kind="stable")[:n]
        return json_safe(
            {
                "task": "regression",
                "largest_errors": [
                    {
                        "index": index[i],
                        "actual": y[i],
                        "predicted": y_pred[i],
                        "residual": residual[i],
                        "values": _row_values(X_test, i),
                    }
                    for i in order
                ],
                "notes": [],
            }
        )

    y = np.asarray(y_test)
    p = _predict(pipeline, X_test, y_test, threshold=threshold, positive_label=positive_label)
    classes, y_pred, scores, notes = p["classes"], p["y_pred"], p["scores"], list(p["notes"])
    has_proba = p["score_kind"] == "probability"
    class_position = {c: i for i, c in enumerate(classes.tolist())}
    true_idx = np.array([class_position[v] for v in y.tolist()])
    p_true = scores[np.arange(len(y)), true_idx] if has_proba else np.full(len(y), np.nan)

    binary = p["task"] == "binary"
    pos_score = scores[:, p["pos_idx"]] if binary and scores is not None else np.zeros(len(y))

    def row(i: int) -> dict[str, Any]:
        found = {"index": index[i], "true": y[i], "predicted": y_pred[i], "probability": p_true[i]}
        if binary:
            found["positive_probability"] = pos_score[i] if has_proba else None
        return found | {"values": _row_values(X_test, i)}

    if has_proba:
        worst = np.argsort(p_true, kind="stable")[:n]
    else:
        worst = np.flatnonzero(y != y_pred)[:n]
        notes.append("This model has no probabilities, so 'worst' lists misclassified rows in test order.")
    result: dict[str, Any] = {
        "task": p["task"],
        "positive_label": p["positive"],
        "threshold": p["threshold"],
        "worst": [row(i) for i in worst],
        "notes": notes,
    }
    if binary:
        positive = p["positive"]
        fp = np.flatnonzero((y_pred == positive) & (y != positive))
        fn = np.flatnonzero((y_pred != positive) & (y == positive))
        # Most confident mistakes first; decision scores order rows the same way probabilities do.
        result["false_positives"] = [row(i) for i in fp[np.argsort(-pos_score[fp], kind="stable")][:n]]
        result["false_negatives"] = [row(i) for i in fn[np.argsort(pos_score[fn], kind="stable")][:n]]
    return json_safe(result)
