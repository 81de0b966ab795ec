"""Evaluate page: a classifier's confusion matrix (and the rows of one cell), curves and classes."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
import streamlit as st

from core.errors import TabwrightError
from core.evaluate import (
    confusion_cell_caption,
    confusion_cell_defaults,
    figures,
    rows_for_confusion_cell,
)
from core.run import TrainResult
from pages import _state, _ui
from pages._evaluate_charts import CHART_CONFIG, chart


@st.cache_data(show_spinner=False, max_entries=64)
def _cell_rows(run_key: str, true_label: Any, predicted: Any, threshold: Any, positive: Any,
               _result: TrainResult) -> pd.DataFrame:
    # Predicts every test row: on a million-row file that is seconds, so once per cell.
    return rows_for_confusion_cell(_result.pipeline, _result.X_test, _result.y_test,
                                   true_label=true_label, predicted_label=predicted,
                                   threshold=threshold, positive_label=positive)


def classification_section(result: TrainResult) -> None:
    ev = result.evaluation
    tabs = st.tabs(["Confusion matrix", "ROC and precision-recall", "Calibration", "Per class"])
    with tabs[0]:
        _confusion_section(result)
    with tabs[1]:
        left, right = st.columns(2)
        with left:
            chart(figures.roc_figure(ev), "eval_roc")
        with right:
            chart(figures.pr_figure(ev), "eval_pr")
        _ui.explain("Each point is one threshold. ROC: how many positives are found against how "
                    "many negatives are wrongly flagged. Precision-recall: how trustworthy a "
                    "positive prediction is, at each level of recall — better for rare classes.")
    with tabs[2]:
        fig = figures.calibration_figure(ev)
        if fig is None:
            st.info("No calibration curve: it needs a two-class model that outputs probabilities.")
        else:
            chart(fig, "eval_calibration")
            _ui.explain("Points on the diagonal mean a predicted 70 % really happens about 70 % of "
                        "the time. Below it, the model is over-confident.")
    with tabs[3]:
        per_class = pd.DataFrame(ev.get("per_class", []))
        if not per_class.empty:
            per_class["class"] = per_class["class"].astype(str)
            st.dataframe(per_class, hide_index=True, width="stretch", column_config={
                c: st.column_config.NumberColumn(format="%.3f") for c in ("precision", "recall", "f1")})


def _clicked_cell(event: Any) -> tuple[Any, Any] | None:
    try:
        points = event.selection.points
    except AttributeError:
        return None
    for point in points or []:
        custom = point.get("customdata")
        if isinstance(custom, (list, tuple)) and len(custom) == 2:
            # the chart's text was escaped for plotly (_ui.chart): the class values, unescaped
            return tuple(html.unescape(c) if isinstance(c, str) else c for c in custom)
    return None


def _confusion_section(result: TrainResult) -> None:
    ev = result.evaluation
    normalized = st.toggle("Show shares of each true class", key="eval_cm_normalized")
    fig = figures.confusion_matrix_figure(ev, normalized=normalized, clickable=True)
    if fig is None:
        st.info("No confusion matrix for this model.")
        return
    event = _ui.chart(fig, key="eval_confusion", on_select="rerun",
                      selection_mode="points", config=CHART_CONFIG)
    labels = list(ev["confusion_matrix"]["labels"])
    st.markdown("**See the rows of one cell**: click a cell above, or choose it here.")
    true_default, pred_default, clicked = confusion_cell_defaults(
        labels, clicked=_clicked_cell(event), positive_label=ev.get("positive_label"))
    # A new click gives the select boxes new keys, so they start on the clicked cell.
    suffix = f"{true_default}_{pred_default}" if clicked else "none"
    left, right = st.columns(2)
    true_label = left.selectbox("True class", labels, index=true_default,
                                key=f"eval_cm_true_{suffix}", format_func=str)
    predicted = right.selectbox("Predicted class", labels, index=pred_default,
                                key=f"eval_cm_pred_{suffix}", format_func=str)
    try:
        rows = _cell_rows(_ui.run_key(_state.project()), true_label, predicted,
                          ev.get("threshold"), ev.get("positive_label"), result)
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    st.caption(confusion_cell_caption(len(rows), true_label, predicted))
    if len(rows):
        st.dataframe(rows, width="stretch", key="eval_cm_rows")
