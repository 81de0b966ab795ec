"""The use stage: predictions for new rows, checked against the model's input schema.

Shared by the Use page, ``tabwright predict``/``evaluate`` and the REST server, so all three
give the same numbers for the same rows.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.deliver._fastpredict import verified
from core.deliver._log import PredictionLog
from core.deliver._schema import validate_input
from core.errors import TabwrightError
from core.evaluate import evaluate_classifier, evaluate_regressor
from core.metrics import binary_labels

VERIFY_ROWS = 64
"""Rows on which a model's fast path is compared with the model, once per model object."""


def predict_table(model: Any, card: dict[str, Any], frame: pd.DataFrame
                  ) -> tuple[pd.DataFrame, list[str]]:
    """Predict every row of ``frame`` in input order.

    Returns
    -------
    predictions : DataFrame
        A ``prediction`` column and, for classifiers, one ``proba_<class>`` column per class.
    notices : list of str
        What the schema check found (ignored columns, unseen categories, out-of-range values).
    """
    if len(frame) == 0:
        raise TabwrightError("The data has no rows to predict.", "Use a file with at least one data row.")
    X, notices = validate_input(frame, card["input_schema"])
    out = pd.DataFrame(index=frame.index)
    proba = _probabilities(model, card, X)
    if proba is None:
        out["prediction"] = verified(model, X.iloc[:VERIFY_ROWS], "predict").predict(X)
    else:
        # One pass through the pipeline: labels follow from the probabilities exactly as
        # predict() derives them (argmax, or the tuned threshold with >= for binary).
        classes = np.asarray(card["classes"], dtype=object)
        if card["task"] == "binary":
            labels = binary_labels(proba, classes, card.get("threshold"))
        else:
            labels = classes[np.argmax(proba, axis=1)]
        out["prediction"] = pd.Series(labels, index=frame.index).infer_objects()
        for i, cls in enumerate(card["classes"]):
            out[f"proba_{cls}"] = proba[:, i]
    if card["task"] == "clustering":
        out = out.rename(columns={"prediction": "cluster"})
    return out.reset_index(drop=True), notices


def _probabilities(model: Any, card: dict[str, Any], X: pd.DataFrame) -> np.ndarray | None:
    if card["task"] not in ("binary", "multiclass") or not hasattr(model, "predict_proba"):
        return None
    try:
        return verified(model, X.iloc[:VERIFY_ROWS], "predict_proba").predict_proba(X)
    except AttributeError:  # e.g. an SVM without probability estimates
        return None


def evaluate_labelled(model: Any, card: dict[str, Any], frame: pd.DataFrame) -> dict[str, Any]:
    """Test-set style evaluation of a trained model on a new labelled file."""

    target = card.get("target")
    if not target:
        raise TabwrightError("A clustering model has no target to evaluate against.",
                             "Use 'tabwright predict' to assign clusters instead.")
    if target not in frame.columns:
        raise TabwrightError(f"The data has no target column {target!r} to evaluate against.",
                             "Add the true values in that column, or use predict instead.")
    labelled = frame[frame[target].notna()]
    if len(labelled) == 0:
        raise TabwrightError(f"Every value of the target {target!r} is missing.",
                             "Evaluation needs rows with known outcomes.")
    X, notices = validate_input(labelled, card["input_schema"])
    y = labelled[target]
    if card["task"] == "regression":
        result = evaluate_regressor(model, X, y)
    else:
        known = set(map(str, card["classes"]))
        unseen = sorted(set(y.astype(str)) - known)
        if unseen:
            raise TabwrightError(
                f"The target has classes the model never saw: {', '.join(map(repr, unseen[:5]))}.",
                "Evaluate on data with the training classes only.")
        y = _align_labels(y, card["classes"])
        result = evaluate_classifier(model, X, y, threshold=card.get("threshold"),
                                     positive_label=card["classes"][1] if card["task"] == "binary" else None)
    result["notices"] = notices
    result["rows"] = int(len(labelled))
    return result


def _align_labels(y: pd.Series, classes: list[Any]) -> pd.Series:
    """Map labels to the training classes' types ("1" in a CSV vs 1 in training)."""
    lookup = {str(c): c for c in classes}
    return y.map(lambda v: lookup.get(str(v), v)).astype(object if any(
        isinstance(c, str) for c in classes) else np.asarray(classes).dtype)


def predict_and_log(model: Any, card: dict[str, Any], frame: pd.DataFrame, *,
                    inputs: str = "full", model_bytes: bytes | None = None,
                    workspace: str | Path | None = None
                    ) -> tuple[pd.DataFrame, list[str], dict[str, Any]]:
    """:func:`predict_table`, with every row recorded in the project's prediction log.

    The predictions gain a first column, ``id``: each row's id in the log, the one to send
    its true outcome with later (``tabwright feedback``, the Monitor page, ``POST /feedback``).
    Logging never fails the prediction: when the log cannot be written, the ids are still
    returned and ``health["ok"]`` is False with the reason in ``health["last_error"]``.

    Returns
    -------
    predictions : DataFrame
    notices : list of str
    health : dict
        :meth:`core.deliver._log.PredictionLog.health` after writing (``folder``, ``ok``, ...).
    """
    started = time.perf_counter()
    predictions, notices = predict_table(model, card, frame)
    latency_ms = (time.perf_counter() - started) * 1000
    columns = [f"proba_{c}" for c in card.get("classes") or []]
    proba = (predictions[columns].to_numpy() if columns and set(columns) <= set(predictions.columns)
             else None)
    with PredictionLog.for_card(card, model_bytes=model_bytes, inputs=inputs, workspace=workspace,
                                background=False) as log:
        ids = log.record_frame(run_id=log.run_id, frame=frame, predictions=predictions.iloc[:, 0],
                               proba=proba, classes=card.get("classes"), latency_ms=latency_ms)
        health = log.health()
    predictions.insert(0, "id", ids)
    return predictions, notices, health
