"""Explore page: the data-quality findings tab and the ability-to-learn tab."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import TabwrightError
from core.explore import Finding, assess_signal, eda, signal_tables
from core.formatting import escape_markdown
from core.project import Project, apply_finding, finding_key
from pages import _column_filter, _ui

SEVERITY = {"critical": ("🛑", "red", "Critical"), "warning": ("⚠️", "orange", "Warning"),
            "info": ("ℹ️", "blue", "Note")}
VERDICT = {"strong": "success", "some": "warning", "weak": "error"}


@st.cache_data(show_spinner=False, max_entries=32)
def _signal(fingerprint: str, target: str, task: str, roles: tuple[tuple[str, str], ...],
            dropped: tuple[str, ...], folds: int, _frame: pd.DataFrame) -> dict:
    frame = _frame.drop(columns=[c for c in dropped if c in _frame.columns])
    return assess_signal(frame, target, task, roles=dict(roles), folds=folds)


def quality(project: Project) -> None:
    findings: list[Finding] = project.profile.findings
    for note in project.profile.notes:
        st.caption(f"🎲 {escape_markdown(note)}")
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
    shown = _column_filter.shown_positions(
        [f"{' '.join(f.columns)} {f.code} {f.message}" for f in findings], key="findings",
        noun="findings")
    for finding in (findings[i] for i in shown):
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


def can_it_learn(project: Project) -> None:
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
        _ui.chart(figure, key="chart_signal")
    tables = signal_tables(report)
    with st.expander("Every feature's score"):
        st.dataframe(tables["features"], hide_index=True, column_config={
            "Power": st.column_config.ProgressColumn("Power", min_value=0.0, max_value=1.0,
                                                     format="%.2f")})
        if tables["skipped"]:
            st.caption(escape_markdown(tables["skipped"]))
    if tables["classes"] is not None:
        st.markdown("**Rows per class**")
        st.dataframe(tables["classes"], hide_index=True, column_config={
            "Share": st.column_config.ProgressColumn("Share", min_value=0.0, max_value=1.0,
                                                     format="percent")})
