"""Evaluate page: the charts of a regression, a clustering and the model comparison."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from core.evaluate import cluster_profile_table, figures
from core.run import TrainResult
from pages import _ui

CHART_CONFIG = {"displaylogo": False}


def chart(fig: go.Figure | None, key: str) -> None:
    """A plotly figure in the house configuration; nothing when the figure does not apply."""
    if fig is not None:
        _ui.chart(fig, key=key, config=CHART_CONFIG)


def regression_section(result: TrainResult) -> None:
    ev = result.evaluation
    left, right = st.columns(2)
    with left:
        chart(figures.predicted_vs_actual_figure(ev), "eval_pva")
    with right:
        chart(figures.residuals_figure(ev), "eval_residuals")
    _ui.explain("Good models put points near the diagonal, and residuals in an even band around "
                "zero. A funnel or a curve in the residuals means the errors depend on the value.")
    for note in ev.get("notes", []):
        st.caption(f"ℹ️ {note}")


def clustering_section(result: TrainResult) -> None:
    ev = result.evaluation
    chart(figures.cluster_sizes_figure(ev), "eval_cluster_sizes")
    table = cluster_profile_table(ev)
    if table is None:
        return
    st.markdown("**What each cluster looks like** (mean for numbers, most common value for categories)")
    st.dataframe(table, width="stretch")


def compare_section(result: TrainResult) -> None:
    st.subheader("All models compared")
    fig = figures.leaderboard_chart(result.leaderboard, result.metric)
    if fig is None:
        st.info("No cross-validation scores to compare.")
        return
    chart(fig, "eval_leaderboard")
    _ui.explain("Cross-validation scores on the training part, with the fold-to-fold spread. "
                "Bars whose error bars overlap are not reliably different.")
    if result.noise_note:
        st.caption(f"〰️ {result.noise_note}")
