"""Evaluate page: why the model predicts what it does.

Two panels: one row's prediction split into each column's contribution, with every value
editable ("what if?"), and the partial dependence of the most important columns. Both are
fragments, so editing a value reruns only its panel; explanations and curves are cached by run
(and row), and partial dependence, which predicts every sampled row about 30 times per
column, waits until it is switched on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core.errors import TabwrightError
from core.evaluate import explain_for, figures, value_text
from core.formatting import escape_markdown, format_number
from core.project import Project
from core.run import TrainResult
from pages import _evaluate_dependence, _ui
from pages._evaluate_charts import chart

# The Importance tab's cached permutation importance: the same cache entry, computed once.

ROW_CHOICES = 1_000
"""Test rows offered in the row picker (the first ones, in test order)."""
LEVEL_CHOICES = 200
"""Most common levels offered for a categorical value (any other can be typed)."""
PDP_MAX_COLUMNS = 8
"""Most columns plotted at once (each takes about a second)."""
PREDICTED_CLASS = "(the predicted class)"


@st.cache_data(show_spinner="Working out each column's part in this prediction…", max_entries=256)
def _explanation(run_key: str, row: pd.DataFrame, class_label: Any,
                 _result: TrainResult) -> dict[str, Any]:
    return explain_for(_result, row, class_label=class_label)


@st.cache_data(show_spinner=False, max_entries=64)
def _first_predictions(run_key: str, _result: TrainResult) -> np.ndarray:
    return np.asarray(_result.pipeline.predict(_result.X_test.iloc[:ROW_CHOICES]))


@st.cache_data(show_spinner=False, max_entries=64)
def _levels(run_key: str, feature: Any, _result: TrainResult) -> list[Any]:
    return _result.X_train[feature].dropna().value_counts().index[:LEVEL_CHOICES].tolist()


def explain_section(project: Project) -> None:
    """The "Why this prediction?" section of the Evaluate page (classification and regression)."""
    if project.result is None or project.result.task == "clustering":
        return
    st.subheader("Why this prediction?")
    tabs = st.tabs(["One row: what if?", "Effect of each column"])
    with tabs[0]:
        _what_if(project)
    with tabs[1]:
        _evaluate_dependence.dependence(project)


# --------------------------------------------------------------------------- one row


@st.fragment
def _what_if(project: Project) -> None:
    result = project.result
    run = _ui.run_key(project)
    _ui.explain("Pick a test row and change any of its values: the prediction and each column's "
                "part in it follow. The parts add up from the average prediction to this row's. "
                "They say what the model does, not what causes what.")
    predicted = _first_predictions(run, result)
    truth = result.y_test.iloc[:ROW_CHOICES].tolist() if result.y_test is not None else None
    left, right = st.columns([3, 2])
    position = left.selectbox(
        "Test row", range(len(predicted)), key="explain_row",
        format_func=lambda i: _row_label(result, i, truth, predicted),
        help="The number is the row's label in the tables above (type it to find the row).")
    if len(result.X_test) > ROW_CHOICES:
        left.caption(f"The first {ROW_CHOICES:,} of {len(result.X_test):,} test rows.")
    class_label = None
    if result.task == "multiclass":
        chosen = right.selectbox("Explain the chance of", [PREDICTED_CLASS, *result.classes],
                                 key="explain_class", format_func=str)
        class_label = None if chosen == PREDICTED_CLASS else chosen
    elif result.task == "binary":
        right.caption(f"Explains the chance of the positive class, "
                      f"{escape_markdown(value_text(result.evaluation.get('positive_label')))}.")
    original = result.X_test.iloc[[position]]
    with st.expander("Change the values (what if?)", expanded=True):
        edited = _edited_row(project, original, prefix=f"explain_{position}")
    changed = edited is not original
    try:
        explanation = _explanation(run, edited, class_label, result)
        before = _explanation(run, original, class_label, result) if changed else explanation
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    _prediction_cards(result, explanation, before, truth[position] if truth else None,
                      changed=changed)
    st.markdown(escape_markdown(explanation["sentence"]))
    chart(figures.contributions_figure(explanation), "explain_waterfall")
    st.caption(f"ℹ️ {escape_markdown(explanation['method_note'])}")


def _row_label(result: TrainResult, i: int, truth: list[Any] | None, predicted: np.ndarray) -> str:
    index = result.X_test.index[i]
    if result.task == "regression":
        actual = "" if truth is None else f" · actual {format_number(truth[i])}"
        return f"row {index}{actual} · predicted {format_number(predicted[i])}"
    if truth is None:
        return f"row {index} · predicted {predicted[i]}"
    mark = "" if truth[i] == predicted[i] else " ✗"
    return f"row {index} · true {truth[i]} · predicted {predicted[i]}{mark}"


def _edited_row(project: Project, original: pd.DataFrame, *, prefix: str) -> pd.DataFrame:
    """One input per column, starting from the row's values; the row as edited (``original``
    itself when nothing changed)."""
    result = project.result
    run = _ui.run_key(project)
    values: dict[Any, Any] = {}
    grid = st.columns(3)
    for i, column in enumerate(original.columns):
        current = original.iloc[0, i]
        current = None if _missing(current) else current
        label, key = escape_markdown(column), f"{prefix}_{i}"
        dtype = original[column].dtype
        with grid[i % 3]:
            role = result.plan.roles.get(column, "categorical")
            if role == "numeric" and pd.api.types.is_numeric_dtype(dtype) \
                    and not pd.api.types.is_bool_dtype(dtype):
                whole = pd.api.types.is_integer_dtype(result.X_train[column])
                values[column] = st.number_input(
                    label, value=None if current is None else (int(current) if whole else float(current)),
                    step=1 if whole else None, format=None if whole else "%g", key=key)
            elif role in ("categorical", "boolean"):
                options = list(_levels(run, column, result))
                if current not in options:
                    options.append(current)
                if None not in options and result.X_train[column].isna().any():
                    options.append(None)
                values[column] = st.selectbox(label, options, index=options.index(current), key=key,
                                              format_func=value_text,
                                              accept_new_options=pd.api.types.is_object_dtype(dtype))
            else:  # dates and text: typed, kept as they were unless changed
                shown = "" if current is None else str(current)
                text = st.text_input(label, value=shown, key=key)
                values[column] = current if text == shown else (text or None)
    changes = {c: v for c, v in values.items() if not _same(original.iloc[0][c], v)}
    if not changes:
        return original
    edited = original.copy()
    for column, value in changes.items():
        if value is None and pd.api.types.is_numeric_dtype(edited[column]):
            value = np.nan
        edited[column] = pd.Series([value], index=edited.index)
    return edited


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _same(before: Any, after: Any) -> bool:
    if after is None:
        return _missing(before)
    return not _missing(before) and bool(before == after)


def _prediction_cards(result: TrainResult, explanation: dict[str, Any], before: dict[str, Any],
                      truth: Any, *, changed: bool) -> None:
    output, what = explanation["output"], explanation["what"]
    shown = (f"{explanation['prediction']:.1%}" if output == "probability"
             else format_number(explanation["prediction"]))
    delta = None
    if changed:
        change = explanation["prediction"] - before["prediction"]
        delta = (f"{change * 100:+.1f} points" if output == "probability" else f"{change:+,.4g}") \
            + " vs the test row"
    left, right = st.columns(2)
    left.metric(escape_markdown(what[:1].upper() + what[1:]), shown, delta=delta, delta_color="off")
    if result.task == "regression":
        right.metric("Prediction", format_number(explanation["predicted"]))
        note = "You changed the row." if changed else f"Actual value: {format_number(truth)}."
    else:
        right.metric("Predicted class", str(explanation["predicted"]))
        note = "You changed the row." if changed else f"True class: {truth}."
    right.caption(escape_markdown(note))
