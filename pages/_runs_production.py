"""The Runs page's production part: which run serves predictions, promoting one, rolling back.

All the rules (one production run per project, a required reason, the append-only log, what a
rollback returns to) live in :class:`core.deliver._history.RunStore`; this module only draws
them and passes the user's choices on.
"""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from core.deliver import (
    RunStore,
    project_name,
    promotions_table,
    run_label,
    run_time,
)
from core.errors import TabwrightError
from core.formatting import escape_markdown
from core.project import Project
from pages import _state, _ui

PROJECT_KEY = "runs_project"
PROMOTE_RUN_KEY = "runs_promote_run"
PROMOTE_NOTE_KEY = "runs_promote_note"
ROLLBACK_NOTE_KEY = "runs_rollback_note"


def choose_project(project: Project, runs: list[dict[str, Any]]) -> str:
    """The project whose production run the page shows: a choice when there are several.

    The first time, the project of the data loaded now (when it has runs), else the one with
    the newest run.
    """
    names = list(dict.fromkeys(r["project"] for r in runs))  # newest run first
    current = project_name(project.table.name) if project.table is not None else None
    if len(names) == 1:
        st.caption(f"Project: **{escape_markdown(names[0])}**")
        return names[0]
    # A new project shows its own runs to promote, not the run picked in the last one.
    return st.selectbox("Project", names, index=names.index(current) if current in names else 0,
                        key=PROJECT_KEY, on_change=_state.forget_widget, args=(PROMOTE_RUN_KEY,),
                        help="Runs belong to the project named after their data file; each "
                             "project has at most one run in production.")


def in_production(name: str, runs: list[dict[str, Any]]) -> None:
    """One line: the production run of ``name``, since when, who put it there and why."""
    try:
        details = RunStore().production_details(name, owner=_state.owner())
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    if details is None:
        st.info(f"No run of **{escape_markdown(name)}** is in production yet: promote one below "
                "to serve predictions from it.", icon="🏆")
        return
    verb = "promoted" if details["action"] == "promote" else "rolled back"
    run = next((r for r in runs if r["run_id"] == details["run_id"]), None)
    label = run_label(run) if run else details["run_id"]
    st.success(f"**In production:** {escape_markdown(label)} since {run_time(details['since'])} UTC, "
               f"{verb} by {escape_markdown(details['who'])}: {escape_markdown(details['note'])}",
               icon="🏆")


def production_controls(name: str, runs: list[dict[str, Any]], labels: dict[str, str]) -> None:
    """Promote a run of ``name`` (with a reason), roll back, and the log of every change."""
    st.subheader("Production")
    _ui.explain("The production run is the model that serves predictions for this project. "
                "Every change is logged with who made it and why; a rollback returns to the "
                "run that was in production before.")
    mine = [r["run_id"] for r in runs if r["project"] == name]
    _promote(name, mine, labels)
    _rollback(name, labels)
    try:
        entries = RunStore().promotions(name, owner=_state.owner())
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    if not entries:
        st.caption("No production changes yet.")
        return
    st.markdown("**Production history**")
    st.dataframe(promotions_table(entries, runs), hide_index=True, width="stretch", column_config={
        "In production": st.column_config.TextColumn(width="large"),
        "Before": st.column_config.TextColumn(width="medium"),
        "Why": st.column_config.TextColumn(width="large"),
    })


def _promote(name: str, run_ids: list[str], labels: dict[str, str]) -> None:
    # Cleared once sent: the next promotion needs its own reason.
    with st.form("runs_promote_form", border=False, clear_on_submit=True):
        run_id = st.selectbox("Run to promote", run_ids, format_func=labels.get, key=PROMOTE_RUN_KEY)
        why = st.text_input("Why this run? (required)", key=PROMOTE_NOTE_KEY,
                            placeholder="e.g. higher recall on last month's claims")
        clicked = st.form_submit_button("Promote to production", icon="🏆", key="runs_promote")
    if clicked:
        _record(RunStore().promote, run_id,
                done=f"Promoted to production for {escape_markdown(name)}: "
                     f"{escape_markdown(labels.get(run_id, run_id))}.", note=why)


def _rollback(name: str, labels: dict[str, str]) -> None:
    try:
        target = RunStore().rollback_target(name, owner=_state.owner())
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    if target is None:
        return
    with st.form("runs_rollback_form", border=False, clear_on_submit=True):
        why = st.text_input("Why roll back? (required)", key=ROLLBACK_NOTE_KEY,
                            placeholder="e.g. the new model flags too many good customers")
        clicked = st.form_submit_button(f"Roll back to {labels.get(target, target)}", icon="↩️",
                                        key="runs_rollback")
    if clicked:
        _record(RunStore().rollback, name,
                done=f"Rolled back {escape_markdown(name)} to "
                     f"{escape_markdown(labels.get(target, target))}.", note=why)


def _record(change: Callable[..., dict[str, Any]], subject: str, *, done: str, note: str) -> None:
    """Promote or roll back as this person, with their reason; say so, or show why not."""
    try:
        change(subject, note=note, who=_who(), owner=_state.owner())
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    _state.flash("success", done)
    st.rerun()


def _who() -> str | None:
    """The signed-in person when the server asks for login, else None (the server's login name)."""
    if _ui.login_required() and st.user.get("is_logged_in", False):
        return st.user.get("email") or st.user.get("name") or None
    return None
