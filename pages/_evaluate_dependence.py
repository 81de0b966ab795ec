"""Evaluate page: each column's effect on the predictions (partial dependence and ICE).

Partial dependence predicts every sampled row about 30 times per column, so it waits until it
is switched on, and each curve is cached by run, column and class.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.errors import TabwrightError
from core.evaluate import PLOTTED_ROLES, figures, partial_dependence_for, top_features
from core.formatting import escape_markdown
from core.project import Project
from core.run import TrainResult
from pages import _ui
from pages._evaluate_charts import chart

# The Importance tab's cached permutation importance: the same cache entry, computed once.
from pages._evaluate_diagnostics import _importance

PDP_MAX_COLUMNS = 8
"""Most columns plotted at once (each takes about a second)."""


@st.cache_data(show_spinner="Predicting the rows again across the column's values…", max_entries=256)
def _curve(run_key: str, feature: Any, class_label: Any, _result: TrainResult) -> dict[str, Any]:
    return partial_dependence_for(_result, feature, class_label=class_label)


@st.fragment
def dependence(project: Project) -> None:
    result = project.result
    run = _ui.run_key(project)
    _ui.explain("Every sampled training row is predicted again with one column set to each value "
                "of a grid, the others kept. The thick line is the average; the thin lines are "
                "single rows — where they are not parallel, the column's effect depends on others.")
    plottable = [c for c in result.X_train.columns if result.plan.roles.get(c) in PLOTTED_ROLES]
    if not plottable:
        st.info("No numeric or categorical column to plot (dates and text are not drawn).")
        return
    if not st.toggle("Show partial dependence (about a second per column)", key="explain_pdp_shown"):
        return
    try:
        default = top_features(result, importance=_importance(run, result))
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    left, right = st.columns([3, 2])
    chosen = left.multiselect("Columns", plottable, default=default, key="explain_pdp_columns",
                              max_selections=PDP_MAX_COLUMNS, format_func=str,
                              help="The most important columns first (permutation importance).")
    class_label = None
    if result.task == "multiclass":
        common = pd.Series(result.y_train).value_counts().index[0]
        class_label = right.selectbox("Show the chance of", result.classes, format_func=str,
                                      index=list(result.classes).index(common), key="explain_pdp_class")
    grid = st.columns(2)
    for i, feature in enumerate(chosen):
        with grid[i % 2]:
            try:
                curve = _curve(run, feature, class_label, result)
            except TabwrightError as exc:
                _ui.show_error(exc)
                continue
            st.markdown(escape_markdown(curve["sentence"]))
            chart(figures.partial_dependence_figure(curve), f"explain_pdp_{i}")
