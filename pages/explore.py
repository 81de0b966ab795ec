"""Explore: charts, data-quality findings, the ability-to-learn check and the full profile.

Tabs run lazily (only the open one computes), and every chart's data is cached by the table's
fingerprint plus the chart's options, so moving around costs nothing after the first look.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import settings as limits_module
from core.errors import TabwrightError
from core.explore import (
    Finding,
    assess_signal,
    build_profile_html,
    eda,
    sandboxed_document,
)
from core.formatting import escape_markdown, format_percent
from core.project import Project, apply_finding, finding_key
from pages import _ui

TABS = ("📈 Charts", "🔗 Linked views", "🧪 Data quality", "🎯 Can it learn?", "📑 Full report")
SEVERITY = {"critical": ("🛑", "red", "Critical"), "warning": ("⚠️", "orange", "Warning"),
            "info": ("ℹ️", "blue", "Note")}
VERDICT = {"strong": "success", "some": "warning", "weak": "error"}


# ---------------------------------------------------------------------------- cached data


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
def _signal(fingerprint: str, target: str, task: str, roles: tuple[tuple[str, str], ...],
            dropped: tuple[str, ...], folds: int, _frame: pd.DataFrame) -> dict:
    frame = _frame.drop(columns=[c for c in dropped if c in _frame.columns])
    return assess_signal(frame, target, task, roles=dict(roles), folds=folds)


@st.cache_data(show_spinner=False, max_entries=4)
def _profile_html(fingerprint: str, title: str, sample_rows: int, minimal: bool,
                  _frame: pd.DataFrame, _progress: Any = None) -> tuple[str, str]:
    return build_profile_html(_frame, title=title, sample_rows=sample_rows, minimal=minimal,
                              progress=_progress)


# ---------------------------------------------------------------------------- tabs


def _charts(project: Project, rows: int) -> None:
    frame, fingerprint = project.frame, project.table.fingerprint
    roles = project.effective_roles()
    target, task = project.recipe.target, project.recipe.task
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
        st.plotly_chart(figure, key="chart_distribution")
    info = project.profile.column(column)
    st.caption(f"Role **{roles[column]}** — {escape_markdown(info.evidence)}")

    st.subheader("Missing values")
    missing = _missing(fingerprint, frame)
    if not missing["columns"]:
        st.success("No missing values anywhere.")
    else:
        complete = missing["complete_rows"] / missing["rows"]
        _ui.explain(f"{format_percent(complete)} of rows are complete. Values missing together "
                    "(same rows) often share a cause; a missing value can itself be "
                    "informative — the Prepare page can add a 'was missing' flag.")
        left, right = st.columns(2)
        left.plotly_chart(eda.missing_bar_figure(missing), key="chart_missing")
        right.plotly_chart(eda.missing_pattern_figure(missing), key="chart_missing_pattern")

    st.subheader("Correlation between numeric columns")
    numeric = tuple(c for c in columns if roles.get(c) == "numeric" or
                    (c == target and task == "regression"))
    correlation = _correlation(fingerprint, rows, numeric, frame)
    if correlation is None:
        st.caption("Fewer than two numeric columns: nothing to correlate.")
    else:
        _ui.explain("Pearson's r from −1 to 1: how close two columns are to a straight-line "
                    "relationship. Near ±1 means near-copies; 0 means no straight-line link "
                    "(there may still be a curved one).")
        st.plotly_chart(eda.correlation_figure(correlation), key="chart_correlation")
        pairs = correlation["top_pairs"][:3]
        if pairs:
            st.caption("Strongest: " + "; ".join(
                f"{escape_markdown(p['a'])} & {escape_markdown(p['b'])} (r = {p['r']:+.2f})"
                for p in pairs))

    st.subheader("Each feature against the target")
    if not target or task not in ("binary", "multiclass", "regression"):
        st.info("Choose a target on the Model page to see how each feature relates to it.")
        return
    features = [c for c in columns if c != target and roles.get(c) not in ("identifier", "constant")]
    if not features:
        st.caption("No feature columns to compare.")
        return
    left, right = st.columns([3, 1])
    feature = left.selectbox("Feature", features, key="explore_feature")
    violin = right.toggle("Violin instead of box", key="explore_violin",
                          help="A violin shows the whole shape of the distribution; a box shows "
                               "the quartiles and outliers.")
    data = _relation(fingerprint, rows, feature, target, task, roles[feature], frame)
    figure = eda.target_relation_figure(data, violin=violin)
    if figure is None:
        st.caption("Not enough values to draw.")
    else:
        st.plotly_chart(figure, key="chart_relation")
    _ui.explain({
        "box": "If the boxes sit at different heights, the feature separates the classes.",
        "stacked": "If the coloured shares differ between bars, the category tells the classes "
                   "apart. Thin bars (few rows) are less reliable.",
        "scatter": "The orange line is the average target in each slice of the feature: a "
                   "slope or curve means the feature helps predict it.",
        "box_by_level": "If the boxes sit at different heights, the category helps predict "
                        "the target.",
    }[data["kind"]])


def _linked(project: Project) -> None:
    from streamlit_bokeh import (
        streamlit_bokeh,  # needs a running app; never import at top level
    )

    frame, roles, target = project.frame, project.effective_roles(), project.recipe.target
    numeric = [c for c in frame.columns if roles.get(c) == "numeric"
               and pd.api.types.is_numeric_dtype(frame[c].dtype)]
    if target in frame.columns and project.recipe.task == "regression" and target not in numeric:
        numeric.append(target)
    if len(numeric) < 2:
        st.info("Linked views need at least two numeric columns.")
        return
    _ui.explain("Drag a box (or draw a lasso) on either plot: the same rows light up in the "
                "other. It shows whether, say, the expensive tickets are also the older "
                "passengers. Double-click or press Reset to clear the selection.")
    distinct = {c.name: c.n_unique for c in project.profile.columns}
    varied = sorted(numeric, key=lambda c: -distinct[c])  # continuous columns first
    pick = [varied[i % len(varied)] for i in range(4)]
    cols = st.columns(5)
    x1 = cols[0].selectbox("Left: x", numeric, index=numeric.index(pick[0]), key="linked_x1")
    y1 = cols[1].selectbox("Left: y", numeric, index=numeric.index(pick[1]), key="linked_y1")
    x2 = cols[2].selectbox("Right: x", numeric, index=numeric.index(pick[2]), key="linked_x2")
    y2 = cols[3].selectbox("Right: y", numeric, index=numeric.index(pick[3]), key="linked_y2")
    colourable = [c for c in frame.columns if roles.get(c) in ("categorical", "boolean")
                  and distinct[c] <= 10]
    if target in frame.columns and project.recipe.task in ("binary", "multiclass") \
            and target not in colourable:
        colourable.insert(0, target)
    options = ["(none)"] + colourable
    default = options.index(target) if target in options else 0
    colour = cols[4].selectbox("Colour by", options, index=default, key="linked_colour")
    layout, note = eda.linked_scatter(frame, first=(x1, y1), second=(x2, y2),
                                      colour_by=None if colour == "(none)" else colour)
    if note:
        st.caption(f"🎲 {note}")
    streamlit_bokeh(layout, use_container_width=True, key="linked_views")


def _quality(project: Project) -> None:
    findings: list[Finding] = project.profile.findings
    if not findings:
        st.success("No data-quality problems found.")
        return
    counts = {s: sum(f.severity == s for f in findings) for s in SEVERITY}
    st.markdown("  ·  ".join(f"{SEVERITY[s][0]} **{n}** {SEVERITY[s][2].lower()}"
                             f"{'s' if n != 1 else ''}" for s, n in counts.items() if n))
    _ui.explain("Each card says what was found, why it matters for a model, and — where there "
                "is a clear fix — a button that adds it to the recipe. Nothing changes the data "
                "itself; every fix can be undone on the Prepare page.")
    seen: set[str] = set()
    for finding in findings:
        key = finding_key(finding)
        widget_key = f"apply_{key}" if key not in seen else f"apply_{key}_{len(seen)}"
        seen.add(key)
        icon, colour, word = SEVERITY.get(finding.severity, SEVERITY["info"])
        with st.container(border=True):
            body, action = st.columns([5, 2], vertical_alignment="center")
            with body:
                st.markdown(f"{icon} :{colour}[**{word}**] {escape_markdown(finding.message)}")
                st.caption(f"Why it matters: {escape_markdown(finding.why)}")
            with action:
                if finding.suggestion is None:
                    continue
                if key in project.applied:
                    st.button("Applied ✓", key=widget_key, disabled=True, width="stretch")
                elif st.button(escape_markdown(finding.suggestion.label), key=widget_key,
                               width="stretch", help=f"Adds this to the recipe: "
                                                     f"{finding.suggestion.action}."):
                    if _ui.attempt(apply_finding, project, finding,
                                   success=f"Applied: {escape_markdown(finding.suggestion.label)}. "
                                           "See it on the Prepare page."):
                        st.rerun()


def _can_it_learn(project: Project) -> None:
    recipe = project.recipe
    if not recipe.target or recipe.task not in ("binary", "multiclass", "regression"):
        st.info("The check needs a target: choose what to predict on the Model page.")
        st.page_link("pages/model.py", label="Go to Model", icon="🧩")
        return
    _ui.explain("Before training, a quick check: does anything in the features predict the "
                "target? Each feature gets a tiny one-feature model, and a small boosted model "
                "uses all of them, each scored on rows it did not see (3-fold cross-validation). "
                "The same check on a shuffled target shows what luck alone scores.")
    roles = tuple(sorted(project.effective_roles().items()))
    with st.spinner("Checking whether the features predict the target…"):
        try:
            report = _signal(project.table.fingerprint, recipe.target, recipe.task, roles,
                             tuple(recipe.drop), recipe.validation.folds, project.frame)
        except TabwrightError as exc:
            _ui.show_error(exc)
            return
    getattr(st, VERDICT[report["verdict"]])(f"**{escape_markdown(report['headline'])}**")
    for line in report["advice"]:
        st.markdown(f"- {escape_markdown(line)}")
    metric = report["metric"]
    a, b, c, d = st.columns(4)
    a.metric("Rows checked", f"{report['rows_used']:,}")
    if report["features"]:
        best = report["features"][0]
        b.metric(f"Best single feature ({metric})", f"{best['score']:.3f}",
                 help=f"{escape_markdown(best['column'])} on its own")
    if report["together"]:
        c.metric(f"All features together ({metric})", f"{report['together']['score']:.3f}")
    d.metric("Chance level (power)", f"{report['chance']:.2f}",
             help="The best power any feature reached on a shuffled target: luck, on this "
                  "many rows.")
    if report["note"]:
        st.caption(f"🎲 {escape_markdown(report['note'])}")
    figure = eda.signal_figure(report)
    if figure is not None:
        st.plotly_chart(figure, key="chart_signal")
    with st.expander("Every feature's score"):
        st.dataframe(pd.DataFrame({
            "Feature": [f["column"] for f in report["features"]],
            "Role": [f["role"] for f in report["features"]],
            "Power": [f["power"] for f in report["features"]],
            metric: [f["score"] for f in report["features"]],
        }), hide_index=True, column_config={
            "Power": st.column_config.ProgressColumn("Power", min_value=0.0, max_value=1.0,
                                                     format="%.2f")})
        if report["skipped"]:
            st.caption("Not scored: " + "; ".join(
                f"{escape_markdown(s['column'])} ({escape_markdown(s['why'])})"
                for s in report["skipped"]))
    if report["classes"]:
        st.markdown("**Rows per class**")
        st.dataframe(pd.DataFrame({
            "Class": [str(c["label"]) for c in report["classes"]],
            "Rows": [c["rows"] for c in report["classes"]],
            "Share": [c["share"] for c in report["classes"]],
            "Enough for validation": ["no" if c["too_few"] else "yes" for c in report["classes"]],
        }), hide_index=True, column_config={
            "Share": st.column_config.ProgressColumn("Share", min_value=0.0, max_value=1.0,
                                                     format="percent")})


def _full_report(project: Project) -> None:
    limits = limits_module.current()
    rows = len(project.frame)
    _ui.explain("ydata-profiling's report: every column's statistics, histograms, common "
                "values and warnings on one page. It is built on demand because it takes a "
                "while — seconds for small tables, a minute or more for big ones.")
    if rows > limits.profile_sample_rows:
        st.caption(f"🎲 It will profile a random sample of {limits.profile_sample_rows:,} of "
                   f"{rows:,} rows (limit profile_sample_rows).")
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
renderers = (lambda: _charts(project, plot_rows), lambda: _linked(project),
             lambda: _quality(project), lambda: _can_it_learn(project),
             lambda: _full_report(project))
for tab, render in zip(tabs, renderers):
    if tab.open:
        with tab:
            render()
_ui.next_step("explore")
