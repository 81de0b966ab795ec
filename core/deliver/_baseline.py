"""The training baseline a model card keeps, and the population stability index (PSI).

Per feature: decile bin edges and shares for numbers, level shares (the top
:data:`MAX_LEVELS`, the rest pooled as :data:`OTHER`) for categories, and the missing share.
This module needs only NumPy and pandas, so monitoring a prediction log (``tabwright
monitor``) bins and compares without loading the drift check's tests and figures
(:mod:`core.deliver._drift`).

PSI reading (the common industry rule of thumb): below :data:`PSI_WATCH` no meaningful
change, up to :data:`PSI_DRIFT` a moderate shift worth watching, above it a major shift.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

PSI_WATCH = 0.1
PSI_DRIFT = 0.25
MAX_LEVELS = 50
OTHER = "(other)"
PREDICTION_ROWS = 5_000
"""Most rows of new data the drift check predicts to compare the model's output with the
card's baseline of it (a seeded sample above)."""
MISSING = "(missing)"


def baseline_stats(X: pd.DataFrame, roles: dict[str, str], *, y: pd.Series | None = None,
                   task: str | None = None) -> dict[str, Any]:
    """Per-feature reference distributions (and the target's), JSON-safe, for the model card."""
    features = {}
    for name in X.columns:
        features[str(name)] = _column_baseline(X[name], roles.get(name, "categorical"))
    out: dict[str, Any] = {"rows": int(len(X)), "features": features}
    if y is not None and task is not None:
        out["target"] = _column_baseline(y, "numeric" if task == "regression" else "categorical")
    return out


def output_series(task: str, *, labels: Any, proba: np.ndarray | None = None) -> pd.Series:
    """What drift compares of a model's output: the predicted value (regression), the second
    class's probability (binary, when the model gives probabilities), else the predicted
    class as text."""
    if task == "regression":
        return pd.Series(np.asarray(labels, dtype=float))
    if task == "binary" and proba is not None:
        return pd.Series(np.asarray(proba, dtype=float)[:, 1])
    return pd.Series(np.asarray(labels)).astype(str)


def prediction_baseline(task: str, predictions: Any, classes: Any = None, *,
                        has_proba: bool = True) -> dict[str, Any] | None:
    """The distribution of a model's output (:func:`output_series`) on rows it never saw,
    binned like a feature's: ``predictions`` are its out-of-fold predictions
    (:attr:`core.run.TrainResult.validation_predictions`: values, or a column per class).

    Drift in an input the model hardly uses changes nothing; drift in the one it leans on
    moves its predictions. Comparing the output catches the second whatever the first says.
    Out-of-fold, not on the training rows: a forest is far surer of rows it was grown on, and
    new rows would read as drift against that.
    """
    if predictions is None or task not in ("binary", "multiclass", "regression"):
        return None
    values = np.asarray(predictions)
    if not len(values):
        return None
    if task == "regression":
        output = output_series(task, labels=values)
    else:
        labels = np.asarray(classes, dtype=object)[np.argmax(values, axis=1)]
        output = output_series(task, labels=labels, proba=values if has_proba else None)
    return _column_baseline(output, "numeric" if output.dtype.kind == "f" else "categorical")


def _column_baseline(s: pd.Series, role: str) -> dict[str, Any]:
    missing = float(s.isna().mean())
    if role == "numeric" and pd.api.types.is_numeric_dtype(s):
        values = s.dropna().to_numpy(dtype=float)
        if len(values) == 0:
            return {"kind": "numeric", "edges": [], "shares": [], "missing": missing}
        edges = np.unique(np.quantile(values, np.linspace(0, 1, 11)))
        inner = edges[1:-1]
        counts = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(inner) + 1)
        return {"kind": "numeric", "edges": [float(e) for e in inner],
                "shares": [float(c) / len(values) for c in counts], "missing": missing,
                "mean": float(values.mean()), "std": float(values.std())}
    text = s.dropna().astype(str)
    shares = text.value_counts(normalize=True)
    top = shares.iloc[:MAX_LEVELS]
    levels = {str(k): float(v) for k, v in top.items()}
    rest = float(shares.iloc[MAX_LEVELS:].sum())
    if rest > 0:
        levels[OTHER] = rest
    return {"kind": "categorical", "levels": levels, "missing": missing}


def psi(expected: np.ndarray, actual: np.ndarray, *, floor: float = 1e-4) -> float:
    """Population stability index between two share vectors over the same bins."""
    e = np.clip(np.asarray(expected, dtype=float), floor, None)
    a = np.clip(np.asarray(actual, dtype=float), floor, None)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))
