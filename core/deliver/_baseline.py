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
"""Most rows the model predicts for its card's baseline of its own output (a sample above)."""
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


def model_output(model: Any, X: pd.DataFrame, task: str) -> pd.Series | None:
    """What drift compares of the model's own output on ``X``: the predicted value
    (regression), the second class's probability (binary), the predicted class (multiclass,
    or a classifier without probabilities). None for clustering."""
    if task == "regression":
        return pd.Series(np.asarray(model.predict(X), dtype=float))
    if task == "binary" and hasattr(model, "predict_proba"):
        try:
            return pd.Series(np.asarray(model.predict_proba(X))[:, 1])
        except AttributeError:  # an SVM without probability estimates
            pass
    if task in ("binary", "multiclass"):
        return pd.Series(np.asarray(model.predict(X))).astype(str)
    return None


def prediction_baseline(model: Any, X: pd.DataFrame, task: str, *, seed: int = 0
                        ) -> dict[str, Any] | None:
    """The distribution of the model's output (:func:`model_output`) on at most
    :data:`PREDICTION_ROWS` of the rows it was fitted on, binned like a feature's.

    Drift in a feature the model hardly uses changes nothing; drift in the one it leans on
    moves its predictions. Comparing the output catches the second whatever the first says.
    """
    if len(X) > PREDICTION_ROWS:
        X = X.sample(PREDICTION_ROWS, random_state=seed)
    output = model_output(model, X, task) if len(X) else None
    if output is None:
        return None
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
