"""Evaluate page: how the model treats groups of people (or of anything a row is about).

The user marks columns as sensitive (recipe data); the test rows of each group get their own
rates and scores, and gaps are flagged by the usual rules of thumb. Marking a column changes
what is measured, not the model, so the trained result stays.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
import streamlit as st

from core.errors import TabwrightError
from core.evaluate import fairness_for, figures, group_rows_table, mark_sensitive
from core.formatting import escape_markdown
from core.project import Project
from core.recipe import Recipe
from core.run import TrainResult
from pages import _ui
from pages._evaluate_charts import chart


@st.cache_data(show_spinner="Comparing the groups…", max_entries=32)
def _fairness(run_key: str, columns: tuple[str, ...], bar_metric: str | None,
              _result: TrainResult, _recipe: Recipe, _frame: pd.DataFrame) -> list[dict[str, Any]]:
    return fairness_for(_result, _recipe, frame=_frame)


def _with_sensitive(project: Project, columns: list[str]) -> Project:
    """The project with ``columns`` marked sensitive, keeping its trained result: they change
    what is measured, not the model (``update_recipe`` would clear the result)."""
    recipe = mark_sensitive(project.recipe, columns, available=list(project.frame.columns))
    return dataclasses.replace(project, recipe=recipe)


def fairness_section(project: Project) -> None:
    """Sensitive columns (recipe data) and, for each, the test rows' groups compared."""
    result = project.result
    if result.task not in ("binary", "multiclass", "regression"):
        return
    st.subheader("Fairness across groups")
    _ui.explain("Mark the columns that say who or what a row is about (sex, age, region), "
                "whether or not the model uses them. Each group of test rows gets its own "
                "numbers, and gaps are flagged by the usual rules of thumb.")
    recipe = project.recipe
    options = [c for c in project.frame.columns if c != recipe.target]
    with st.form("eval_fairness_form", border=False):
        chosen = st.multiselect("Sensitive columns", options,
                                default=[c for c in recipe.sensitive if c in options],
                                key="eval_sensitive")
        submitted = st.form_submit_button("Compare the groups", key="eval_fairness_compare")
    if submitted and chosen != recipe.sensitive:
        if _ui.attempt(_with_sensitive, project, chosen):
            st.rerun()
        return
    if not recipe.sensitive:
        st.caption("No sensitive columns marked yet.")
        return
    try:
        tables = _fairness(_ui.run_key(project), tuple(recipe.sensitive), recipe.brief.bar_metric,
                           result, recipe, project.frame)
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    for i, table in enumerate(tables):
        _group_table(table, i)


def _group_table(table: dict[str, Any], i: int) -> None:
    st.markdown(f"**By {escape_markdown(table['column'])}**")
    if not table["available"]:
        for note in table["notes"]:
            st.info(escape_markdown(note))
        return
    for flag in table["flags"]:
        st.warning(escape_markdown(flag), icon="⚖️")
    if table["verdict"] == "no gaps":
        st.success(f"No gap flagged between the groups of {escape_markdown(table['column'])}.",
                   icon="✅")
    chart(figures.fairness_figure(table), f"eval_fairness_chart_{i}")
    st.dataframe(group_rows_table(table), hide_index=True, width="stretch",
                 key=f"eval_fairness_table_{i}",
                 column_config={table["metric_label"]: st.column_config.NumberColumn(format="%.4g")})
    for note in table["notes"]:
        st.caption(f"ℹ️ {escape_markdown(note)}")
