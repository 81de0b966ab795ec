"""Explore page: the charts tab and the linked views tab.

Every chart's data is cached by the table's fingerprint plus the chart's options, so moving
around costs nothing after the first look.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.explore import (
    RELATION_READINGS,
    chart_order,
    correlation_columns,
    correlation_note,
    eda,
    linked_view_choices,
    missing_reading,
    relation_features,
    strongest_pairs,
)
from core.formatting import escape_markdown
from core.project import Project
from pages import _ui


@st.cache_data(show_spinner=False, max_entries=256)
def _distribution(fingerprint: str, rows: int, column: str, role: str,
                  _frame: pd.DataFrame) -> dict:
    return eda.distribution_data(eda.sample_for_plots(_frame, rows)[0], column, role)


@st.cache_data(show_spinner=False, max_entries=32)
def _missing(fingerprint: str, _frame: pd.DataFrame) -> dict:
    return eda.missing_data(_frame)


@st.cache_data(show_spinner=False, max_entries=32)
def _correlation(fingerprint: str, rows: int, columns: tuple[str, ...],
                 _frame: pd.DataFrame) -> dict | None:
    return eda.correlation_data(eda.sample_for_plots(_frame, rows)[0], list(columns))


@st.cache_data(show_spinner=False, max_entries=256)
def _relation(fingerprint: str, rows: int, feature: str, target: str, task: str, role: str,
              _frame: pd.DataFrame) -> dict:
    sample = eda.sample_for_plots(_frame, rows)[0]
    return eda.target_relation_data(sample, feature, target, task=task, feature_role=role)


@st.cache_data(show_spinner=False, max_entries=32)
def _ranked(fingerprint: str, target: str | None, task: str | None,
            roles: tuple[tuple[str, str], ...], _frame: pd.DataFrame) -> list[str] | None:
    return chart_order(_frame, dict(roles), target=target, task=task)


def ranked(project: Project) -> list[str] | None:
    """The feature columns, most informative first, on a table too wide to offer them all."""
    return _ranked(project.table.fingerprint, project.recipe.target, project.recipe.task,
                   tuple(sorted(project.effective_roles().items())), project.frame)


def charts(project: Project, rows: int) -> None:
    frame, fingerprint = project.frame, project.table.fingerprint
    roles = project.effective_roles()
    target, task = project.recipe.target, project.recipe.task
    order = ranked(project)
    note = eda.sample_note(len(frame), rows)
    if note:
        st.caption(f"🎲 {note}")

    st.subheader("Distribution of one column")
    columns = list(frame.columns)
    default = columns.index(target) if target in columns else 0
    column = st.selectbox("Column", columns, index=default, key="explore_column")
    figure = eda.distribution_figure(_distribution(fingerprint, rows, column, roles[column], frame))
    if figure is None:
        st.warning(f"{escape_markdown(column)} has no values at all.")
    else:
        _ui.chart(figure, key="chart_distribution")
    info = project.profile.column(column)
    st.caption(f"Role **{roles[column]}** — {escape_markdown(info.evidence)}")

    st.subheader("Missing values")
    missing = _missing(fingerprint, frame)
    if not missing["columns"]:
        st.success("No missing values anywhere.")
    else:
        _ui.explain(missing_reading(missing))
        left, right = st.columns(2)
        _ui.chart(eda.missing_bar_figure(missing), where=left, key="chart_missing")
        _ui.chart(eda.missing_pattern_figure(missing), where=right,
                  key="chart_missing_pattern")

    st.subheader("Correlation between numeric columns")
    numeric = tuple(correlation_columns(columns, roles, target=target, task=task, ranked=order))
    correlation = _correlation(fingerprint, rows, numeric, frame)
    if correlation is None:
        st.caption("Fewer than two numeric columns: nothing to correlate.")
    else:
        _ui.explain("Pearson's r from −1 to 1: how close two columns are to a straight-line "
                    "relationship. Near ±1 means near-copies; 0 means no straight-line link "
                    "(there may still be a curved one).")
        left_out = correlation_note(correlation["columns"], roles, target=target, task=task)
        if left_out:
            st.caption(escape_markdown(left_out))
        _ui.chart(eda.correlation_figure(correlation), key="chart_correlation")
        pairs = strongest_pairs(correlation)
        if pairs:
            st.caption(escape_markdown(pairs))

    st.subheader("Each feature against the target")
    if not target or task not in ("binary", "multiclass", "regression"):
        st.info("Choose a target on the Model page to see how each feature relates to it.")
        return
    features = relation_features(columns, roles, target=target, ranked=order)
    if not features:
        st.caption("No feature columns to compare.")
        return
    left, right = st.columns([3, 1])
    feature = left.selectbox("Feature", features, key="explore_feature",
                             help="Most related to the target first; type to search."
                             if order else None)
    violin = right.toggle("Violin instead of box", key="explore_violin",
                          help="A violin shows the whole shape of the distribution; a box shows "
                               "the quartiles and outliers.")
    data = _relation(fingerprint, rows, feature, target, task, roles[feature], frame)
    figure = eda.target_relation_figure(data, violin=violin)
    if figure is None:
        st.caption("Not enough values to draw.")
    else:
        _ui.chart(figure, key="chart_relation")
    _ui.explain(RELATION_READINGS[data["kind"]])


def linked(project: Project) -> None:
    from streamlit_bokeh import (
        streamlit_bokeh,  # needs a running app; never import at top level
    )

    frame, roles, target = project.frame, project.effective_roles(), project.recipe.target
    choices = linked_view_choices(frame, project.profile, roles, target=target,
                                  task=project.recipe.task, ranked=ranked(project))
    if choices is None:
        st.info("Linked views need at least two numeric columns.")
        return
    _ui.explain("Drag a box (or draw a lasso) on either plot: the same rows light up in the "
                "other. It shows whether, say, the expensive tickets are also the older "
                "passengers. Double-click or press Reset to clear the selection.")
    numeric, pick = choices["numeric"], choices["axes"]
    cols = st.columns(5)
    x1 = cols[0].selectbox("Left: x", numeric, index=numeric.index(pick[0]), key="linked_x1")
    y1 = cols[1].selectbox("Left: y", numeric, index=numeric.index(pick[1]), key="linked_y1")
    x2 = cols[2].selectbox("Right: x", numeric, index=numeric.index(pick[2]), key="linked_x2")
    y2 = cols[3].selectbox("Right: y", numeric, index=numeric.index(pick[3]), key="linked_y2")
    options = ["(none)"] + choices["colour_by"]
    default = options.index(choices["colour"]) if choices["colour"] is not None else 0
    colour = cols[4].selectbox("Colour by", options, index=default, key="linked_colour")
    layout, note = eda.linked_scatter(frame, first=(x1, y1), second=(x2, y2),
                                      colour_by=None if colour == "(none)" else colour)
    if note:
        st.caption(f"🎲 {note}")
    streamlit_bokeh(layout, use_container_width=True, key="linked_views")
