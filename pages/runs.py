"""Runs: every training of this session, the production run, comparisons, and reopening one.

The history lives in the workspace's run store (``core.deliver._history``); this page lists the
session's runs, shows which run of a project is in production and lets the user promote another
or roll back (``pages/_runs_production.py``), keeps a short note on each run, compares two
(recipe changes and score changes), and loads a run's choices back into the project when the
current data is the data that run used.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.deliver import (
    RunStore,
    comparison_tables,
    history_table,
    run_label,
    run_summary,
    run_time,
)
from core.errors import TabwrightError
from core.formatting import escape_markdown
from core.project import Project, update_recipe
from core.recipe import Recipe
from core.run import fingerprint
from pages import _runs_production, _state, _ui

NOTE_KEY = "runs_note"


@st.cache_data(show_spinner=False, max_entries=16)
def _data_fingerprint(table_fingerprint: str, _frame: pd.DataFrame) -> str:
    """The fingerprint training gives this data (it hashes the parsed table, not the file)."""
    return fingerprint(_frame)


def _history_table(runs: list[dict[str, Any]], current: str | None) -> None:
    st.dataframe(history_table(runs, current=current), hide_index=True, width="stretch", column_config={
        "CV": st.column_config.NumberColumn(format="%.4f"),
        "± std": st.column_config.NumberColumn(format="%.4f"),
        "Test": st.column_config.NumberColumn(format="%.4f"),
        "Duration (s)": st.column_config.NumberColumn(format="%.1f"),
        "When (UTC)": st.column_config.TextColumn(width="medium"),
        "Production": st.column_config.TextColumn(width="medium"),
        "Model": st.column_config.TextColumn(width="medium"),
        "Hypothesis": st.column_config.TextColumn(width="large"),
        "Note": st.column_config.TextColumn(width="medium"),
    })


def _note(runs: list[dict[str, Any]], labels: dict[str, str]) -> None:
    st.subheader("Note a run")
    _ui.explain("A few words on what a run taught you, shown in the list above and when you "
                "compare runs. Saving an empty note clears it.")
    # A new run in the box forgets the typed text, so the box shows that run's own note.
    run_id = st.selectbox("Run to note", [r["run_id"] for r in runs], format_func=labels.get,
                          key="runs_note_run", on_change=_state.forget_widget, args=(NOTE_KEY,))
    note = next(r["note"] for r in runs if r["run_id"] == run_id)
    with st.form("runs_note_form", border=False):
        text = st.text_input("Note", value=note, key=NOTE_KEY,
                             placeholder="e.g. best so far, but slow to predict")
        saved = st.form_submit_button("Save the note", icon="📝", key="runs_note_save")
    if saved:
        try:
            RunStore().set_note(run_id, text, owner=_state.owner())
        except TabwrightError as exc:
            _ui.show_error(exc)
            return
        _state.flash("success", "Note saved." if text.strip() else "Note cleared.")
        st.rerun()


def _compare(runs: list[dict[str, Any]], labels: dict[str, str]) -> None:
    st.subheader("Compare two runs")
    if len(runs) < 2:
        _ui.explain("Train again (with a change you expect to help) to compare two runs here.")
        return
    chosen = st.multiselect("Pick two runs (older first reads best)", [r["run_id"] for r in runs],
                            format_func=labels.get, max_selections=2, key="runs_compare")
    if len(chosen) < 2:
        _ui.explain("Pick two runs to see what changed in the recipe and what it did to the scores.")
        return
    a, b = sorted(chosen, key=lambda run_id: next(r["created"] for r in runs if r["run_id"] == run_id))
    try:
        comparison = RunStore().compare(a, b, owner=_state.owner())
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    (st.info if comparison["same_data"] else st.warning)(comparison["summary"])
    left, right = st.columns(2)
    for column, side, name in ((left, comparison["a"], "A (older)"), (right, comparison["b"], "B (newer)")):
        with column, st.container(border=True):
            st.markdown(f"**{name}** · {run_time(side['created'])}")
            st.markdown(run_summary(side))
            st.caption(f"Hypothesis: {escape_markdown(side['hypothesis'])}" if side.get("hypothesis")
                       else "No hypothesis noted.")
            if side.get("note"):
                st.caption(f"Note: {escape_markdown(side['note'])}")
    scores, changes = comparison_tables(comparison)
    st.markdown("**Scores**")
    st.dataframe(scores, hide_index=True, width="stretch", column_config={
        c: st.column_config.NumberColumn(format="%.4f") for c in ("A", "B", "Change")})
    st.markdown("**Recipe changes**")
    if changes.empty:
        st.caption("The two recipes are the same: any difference in scores is noise.")
    else:
        st.dataframe(changes, hide_index=True, width="stretch")


def _reopen(project: Project, runs: list[dict[str, Any]], labels: dict[str, str]) -> None:
    st.subheader("Reopen a run")
    _ui.explain("Loads the choices you made for that run back into the project, so you can change "
                "them and train again. The data must be the data that run used.")
    run_id = st.selectbox("Run", [r["run_id"] for r in runs], format_func=labels.get, key="runs_reopen")
    run = next(r for r in runs if r["run_id"] == run_id)
    when = run_time(run["created"])
    if project.table is None:
        st.warning(f"Load **{run['data_name']}** on the Data page first: this run was trained on it.")
        return
    current = _data_fingerprint(project.table.fingerprint, project.frame)
    if current != run["fingerprint"]:
        st.warning(f"Your current data ({project.table.name}, fingerprint {current[:8]}) is not the "
                   f"data this run used ({run['data_name']}, fingerprint {run['fingerprint'][:8]}). "
                   "Load that file on the Data page first.", icon="⚠️")
        return
    if st.button("Load this run's choices", icon="↩️", key="runs_reopen_button"):
        try:
            recipe = Recipe.from_dict(RunStore().get(run_id, owner=_state.owner())["original_recipe"])
        except TabwrightError as exc:
            _ui.show_error(exc)
            return
        if _ui.attempt(update_recipe, project, recipe, reason=f"You reopened the run of {when}",
                       success=f"Loaded the choices of the run of {when}: train "
                               "to run it again, or change them first."):
            st.switch_page("pages/train.py")


project = _ui.page_header("runs")
try:
    runs = RunStore().list_runs(owner=_state.owner())
except TabwrightError as exc:
    _ui.show_error(exc)
    st.stop()
if not runs:
    st.info("No runs yet: every training you start on the Train page is recorded here, with "
            "its hypothesis, scores and recipe.", icon="🗂️")
    st.page_link("pages/train.py", label="Go to Train", icon="🏋️")
    st.stop()
labels = {r["run_id"]: run_label(r) for r in runs}
production_project = _runs_production.choose_project(project, runs)
_runs_production.in_production(production_project, runs)
st.subheader(f"Your runs ({len(runs)})")
_history_table(runs, project.run_id)
_runs_production.production_controls(production_project, runs, labels)
_note(runs, labels)
_compare(runs, labels)
_reopen(project, runs, labels)
