"""Synthetic model cards and prediction logs for the monitoring tests.

The "model" is known exactly: for a binary task the probability of "yes" is sigmoid(2x), and
the outcomes are drawn with that probability, so the probabilities are calibrated by
construction and confidence-based estimates must hold. Regression predicts 3x (the truth adds
noise); multiclass uses a softmax over (2x, 2z, 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.deliver._drift import baseline_stats

NOW = pd.Timestamp("2024-03-11 00:00", tz="UTC")  # a Monday, midnight
ROLES = {"x": "numeric", "z": "numeric", "colour": "categorical"}
CLASSES = {"binary": ["no", "yes"], "multiclass": ["a", "b", "c"]}


def inputs(n: int, rng: np.random.Generator, *, shift: float = 0.0) -> pd.DataFrame:
    """The model's inputs: x (shifted by ``shift``), z, and a colour."""
    return pd.DataFrame({"x": rng.normal(loc=shift, size=n), "z": rng.normal(size=n),
                         "colour": rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])})


def probabilities(task: str, X: pd.DataFrame) -> np.ndarray:
    """The model's calibrated class probabilities (one column per class)."""
    if task == "binary":
        p = 1 / (1 + np.exp(-2 * X["x"].to_numpy()))
        return np.column_stack([1 - p, p])
    logits = np.column_stack([2 * X["x"], 2 * X["z"], np.zeros(len(X))])
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def outcomes(task: str, X: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """True outcomes drawn from the model's own probabilities (regression: 3x + noise)."""
    if task == "regression":
        return 3 * X["x"].to_numpy() + rng.normal(scale=0.5, size=len(X))
    proba = probabilities(task, X)
    draws = (rng.random(len(X))[:, None] > np.cumsum(proba, axis=1)).sum(axis=1)
    return np.asarray(CLASSES[task], dtype=object)[draws]


def make_card(task: str = "binary", *, bar: tuple[str, float] | None = None,
              max_latency_ms: float | None = None, seed: int = 0) -> dict:
    """A model card like ``model.json``, with a baseline from 5,000 training rows."""
    rng = np.random.default_rng(seed)
    X = inputs(5000, rng)
    y = pd.Series(outcomes(task, X, rng), name="y")
    metric = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}[task]
    tests = {"binary": {"roc_auc": 0.83, "accuracy": 0.75},
             "multiclass": {"accuracy": 0.70, "roc_auc": 0.85},
             "regression": {"rmse": 0.5, "mae": 0.4}}[task]
    return {"task": task, "target": "y", "classes": CLASSES.get(task), "threshold": None,
            "metric": metric, "test_metrics": tests, "run_id": "run-1",
            "baseline": baseline_stats(X, ROLES, y=y, task=task),
            "brief": {"bar_metric": bar[0] if bar else None, "bar_value": bar[1] if bar else None,
                      "max_latency_ms": max_latency_ms}}


def make_log(task: str = "binary", *, days: int = 10, per_day: int = 400, now: pd.Timestamp = NOW,
             shift_days: tuple[int, ...] = (), shift: float = 2.0, latency_ms: float = 10.0,
             slow_days: tuple[int, ...] = (), seed: int = 1
             ) -> tuple[pd.DataFrame, np.ndarray]:
    """A prediction log of ``per_day`` single-row requests on each of the ``days`` days before
    ``now`` (day 0 is the oldest), and the true outcome of every row.

    Days in ``shift_days`` have x shifted by ``shift``; days in ``slow_days`` take ten times
    longer to answer.
    """
    rng = np.random.default_rng(seed)
    parts, truth = [], []
    for day in range(days):
        X = inputs(per_day, rng, shift=shift if day in shift_days else 0.0)
        start = now - pd.Timedelta(days=days - day)
        times = start + pd.to_timedelta(np.sort(rng.uniform(0, 86_399, per_day)), unit="s")
        frame = pd.DataFrame({"time": times, "run_id": "run-1",
                              "request_id": [f"d{day}-r{i}" for i in range(per_day)],
                              "latency_ms": rng.gamma(4.0, latency_ms / 4, per_day)
                              * (10 if day in slow_days else 1)})
        if task == "regression":
            frame["prediction"] = 3 * X["x"].to_numpy()
        else:
            proba = probabilities(task, X)
            classes = np.asarray(CLASSES[task], dtype=object)
            frame["prediction"] = classes[np.argmax(proba, axis=1)]
            for k, c in enumerate(classes):
                frame[f"proba:{c}"] = proba[:, k]
        for column in X.columns:
            frame[f"input:{column}"] = X[column].to_numpy()
        parts.append(frame)
        truth.append(outcomes(task, X, rng))
    log = pd.concat(parts, ignore_index=True)
    log.attrs["inputs"] = ["full"]
    return log, np.concatenate(truth)


def make_feedback(log: pd.DataFrame, truth: np.ndarray, rows: np.ndarray | slice,
                  *, delay: pd.Timedelta = pd.Timedelta(hours=1)) -> pd.DataFrame:
    """Outcomes for the log rows ``rows``, received ``delay`` after each prediction."""
    picked = log.iloc[rows] if isinstance(rows, slice) else log.iloc[np.asarray(rows)]
    actual = truth[rows] if isinstance(rows, slice) else truth[np.asarray(rows)]
    return pd.DataFrame({"request_id": picked["request_id"].to_numpy(), "actual": actual,
                         "received": picked["time"].reset_index(drop=True) + delay})
