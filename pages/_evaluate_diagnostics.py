"""Evaluate page: the fit, the learning curve, importance, the worst errors and the model itself.

The costly parts (refits, shuffles, predictions) are cached by run, so they are computed
once per run however often the page is drawn.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.errors import TabwrightError
from core.evaluate import (
    error_analysis,
    figures,
    fit_diagnosis,
    importance_for,
    readable_model,
    worst_errors_table,
)
from core.project import Project
from core.run import TrainResult
from core.train import learning_curve_for
from pages import _state, _ui
from pages._evaluate_charts import chart


@st.cache_data(show_spinner="Shuffling each column to measure its importance…", max_entries=64)
def _importance(run_key: str, _result: TrainResult) -> list[dict[str, Any]]:
    return importance_for(_result)


@st.cache_data(show_spinner="Refitting on growing shares of the training rows…", max_entries=32)
def _learning_curve(run_key: str, _result: TrainResult) -> dict[str, Any]:
    return learning_curve_for(_result)


@st.cache_data(show_spinner=False, max_entries=64)
def _errors(run_key: str, _result: TrainResult) -> dict[str, Any]:
    ev = _result.evaluation
    return error_analysis(_result.pipeline, _result.X_test, _result.y_test, task=_result.task,
                          threshold=ev.get("threshold"), positive_label=ev.get("positive_label"))


def learning_curve_if_computed(project: Project) -> dict[str, Any] | None:
    """The learning curve when the user asked for it (it refits the model several times)."""
    if not _state.widget_value("eval_learning_curve_shown"):
        return None
    try:
        return _learning_curve(_ui.run_key(project), project.result)
    except TabwrightError:
        return None


def diagnostics_section(project: Project) -> None:
    result = project.result
    st.subheader("Diagnostics")
    diagnosis = fit_diagnosis(result)
    if diagnosis:
        icon = {"overfitting": "⚠️", "underfitting": "⚠️"}.get(diagnosis["verdict"], "✅")
        st.markdown(f"{icon} **Fit: {diagnosis['verdict']}.** {diagnosis['explanation']}")
    tabs = st.tabs(["Learning curve", "Importance", "Worst errors"])
    with tabs[0]:
        _ui.explain("Refits the model on growing shares of the training rows: if validation is "
                    "still rising at the right, more data would help.")
        if st.toggle("Compute the learning curve (refits the model several times)",
                     key="eval_learning_curve_shown"):
            try:
                curve = _learning_curve(_ui.run_key(project), result)
            except TabwrightError as exc:
                _ui.show_error(exc)
            else:
                st.markdown(f"**{curve['verdict'].capitalize()}.** {curve['explanation']}")
                chart(figures.learning_curve_figure(curve), "eval_learning_curve")
                for note in curve.get("notes", []):
                    st.caption(f"ℹ️ {note}")
    with tabs[1]:
        try:
            rows = _importance(_ui.run_key(project), result)
        except TabwrightError as exc:
            _ui.show_error(exc)
        else:
            chart(figures.importance_figure(rows), "eval_importance")
            _ui.explain("How much the test score drops when one column's values are shuffled. "
                        "Near zero: the model does not rely on it. Importance is not causation.")
    with tabs[2]:
        _worst_errors(project)


def _worst_errors(project: Project) -> None:
    result = project.result
    try:
        errors = _errors(_ui.run_key(project), result)
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    table = worst_errors_table(errors, result.task)
    if table is None:
        st.info("No errors to show.")
        return
    if result.task == "regression":
        _ui.explain("The test rows with the largest misses. Look for a pattern: a rare category, "
                    "extreme values, or a missing feature.")
    else:
        _ui.explain("The test rows where the model gave the lowest probability to the true class: "
                    "its most confident mistakes. Look for a pattern.")
    st.dataframe(table, width="stretch", key="eval_worst", column_config={
        "probability": st.column_config.NumberColumn("P(true class)", format="%.3f"),
        "positive_probability": st.column_config.NumberColumn("P(positive)", format="%.3f"),
        "residual": st.column_config.NumberColumn(format="%.4g"),
    })


def model_itself(project: Project) -> None:
    readable = readable_model(project.result.pipeline)
    st.subheader("The model itself")
    _ui.explain("You asked for an interpretable model, so here is what it actually computes.")
    if readable["kind"] == "coefficients":
        st.markdown("Largest coefficients (on the prepared inputs: numbers are scaled, categories "
                    "one-hot encoded). Positive values push towards the positive class / a higher value.")
        st.dataframe(readable["table"], hide_index=True, width="stretch", column_config={
            "coefficient": st.column_config.NumberColumn(format="%.4f")})
    elif readable["kind"] == "tree":
        st.code(readable["text"], language=None)
    else:
        st.info(readable["sentence"])
