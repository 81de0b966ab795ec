"""Explore: charts, data-quality findings, the ability-to-learn check and the full profile.

Tabs run lazily (only the open one computes), and every chart's data is cached by the table's
fingerprint plus the chart's options, so moving around costs nothing after the first look.
The tabs live in ``pages/_explore_*.py``; the full report is drawn here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import settings as limits_module
from core.errors import TabwrightError
from core.explore import build_profile_html, profile_sample_note, sandboxed_document
from core.project import Project
from pages import _ui
from pages._explore_charts import charts, linked
from pages._explore_checks import can_it_learn, quality

TABS = ("📈 Charts", "🔗 Linked views", "🧪 Data quality", "🎯 Can it learn?", "📑 Full report")


@st.cache_data(show_spinner=False, max_entries=4)
def _profile_html(fingerprint: str, title: str, sample_rows: int, minimal: bool,
                  _frame: pd.DataFrame, _progress: Any = None) -> tuple[str, str]:
    return build_profile_html(_frame, title=title, sample_rows=sample_rows, minimal=minimal,
                              progress=_progress)


def _full_report(project: Project) -> None:
    limits = limits_module.current()
    _ui.explain("ydata-profiling's report: every column's statistics, histograms, common "
                "values and warnings on one page. It is built on demand because it takes a "
                "while — seconds for small tables, a minute or more for big ones.")
    sampled = profile_sample_note(len(project.frame), limits.profile_sample_rows)
    if sampled:
        st.caption(f"🎲 {sampled}")
    full = st.toggle("Include correlations and interactions (slower)", key="profile_full")
    if not st.button("Build the report", key="profile_build", type="primary"):
        return
    bar = st.progress(0.0, text="Starting…")
    try:
        document, note = _profile_html(project.table.fingerprint, project.table.name,
                                       limits.profile_sample_rows, not full, project.frame,
                                       lambda fraction, message: bar.progress(fraction, text=message))
    except TabwrightError as exc:
        bar.empty()
        _ui.show_error(exc)
        return
    bar.empty()
    st.caption(f"{note} Shown in a sandboxed frame: the report's scripts cannot reach this app.")
    st.iframe(sandboxed_document(document), height=800, alt="ydata-profiling report")


project = _ui.page_header("explore")
if not _ui.require(project, "explore"):
    st.stop()
plot_rows = limits_module.current().plot_sample_rows
tabs = st.tabs(TABS, key="explore_tab", on_change="rerun")
renderers = (lambda: charts(project, plot_rows), lambda: linked(project),
             lambda: quality(project), lambda: can_it_learn(project),
             lambda: _full_report(project))
for tab, render in zip(tabs, renderers):
    if tab.open:
        with tab:
            render()
_ui.next_step("explore")
