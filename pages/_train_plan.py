"""The Train page's plan: what a run will do and what it will cost, before it starts.

The plan and the pilot-fit estimate are cached by the data's fingerprint and the recipe, so
reruns of the page (e.g. while typing a hypothesis) do not time the pilot fits again.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from core.errors import TabwrightError
from core.formatting import escape_markdown
from core.metrics import METRICS
from core.project import Project, update_recipe
from core.recipe import Recipe
from core.settings import current as current_limits
from core.train import estimate_run, training_plan
from pages import _state, _ui


@st.cache_data(show_spinner=False, max_entries=32)
def _plan(fingerprint: str, recipe_json: str, _frame: pd.DataFrame) -> dict[str, Any]:
    return training_plan(_frame, Recipe.from_json(recipe_json))


@st.cache_data(show_spinner=False, max_entries=32)
def _estimate(fingerprint: str, recipe_json: str, roles_json: str, _frame: pd.DataFrame,
              _training_plan: dict[str, Any]) -> dict[str, Any]:
    # The plan follows from the (hashed) data and recipe, so it need not be hashed itself.
    return estimate_run(_frame, Recipe.from_json(recipe_json), _training_plan,
                        inferred_roles=json.loads(roles_json)).to_dict()


def show_plan(project: Project, *, expanded: bool) -> None:
    """The plan in an expander: rows, validation, the models and their measured cost."""
    with st.expander("**The plan**: models, validation, rows and time", expanded=expanded):
        _plan_details(project)


def _plan_details(project: Project) -> None:
    try:
        plan = _plan(project.table.fingerprint, project.recipe.to_json(), project.frame)
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    metric = METRICS.get(plan["metric"])
    cols = st.columns(4)
    cols[0].metric("Rows", f"{plan['rows']:,}",
                   help=f"{plan['train_rows']:,} to train and validate on, "
                        f"{plan['test_rows']:,} held out for the final test.")
    if plan["task"] == "clustering":
        cols[1].metric("Compared on", f"{plan['train_rows']:,} rows")
    else:
        cols[1].metric("Train / test", f"{plan['train_rows']:,} / {plan['test_rows']:,}")
    cols[2].metric("Optimising", metric.label if metric else plan["metric"])
    if plan["auto"]:
        cols[3].metric("Time budget", f"{plan['budget']:g} s", help="Auto mode stops within this budget.")
    elif plan["task"] == "clustering":
        cols[3].metric("Rough time", _duration(plan["estimate_seconds"]),
                       help="A rough estimate from the rows, columns and models; the first run "
                            "on a busy server can take longer.")
    estimate = _show_estimate(project, plan) if plan["task"] != "clustering" else None
    st.markdown(f"**Validation:** {plan['validation']}.")
    if plan["search"]:
        st.markdown(f"**Search:** {plan['search']}")
    costs = {c["name"]: c for c in (estimate or {}).get("models", [])}
    rows = [{"Model": m["label"],
             "Plan": {"run": "✅ runs", "sampled": "🔹 on a sample", "skipped": "⏭️ skipped"}[m["treatment"]],
             "Why": m["why"],
             **({"Fits × rows": (f"{costs[m['name']]['fits']} × {costs[m['name']]['fit_rows']:,}"
                                 if m["name"] in costs else "—"),
                 "Time (est.)": (_duration(costs[m["name"]]["seconds"]) if m["name"] in costs else "—")}
                if costs and not plan["auto"] else {}),
             "What it is": m["what"]} for m in plan["models"]]
    title = "Models auto mode starts with" if plan["auto"] else "Models that will run"
    st.markdown(f"**{title}**")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
        "Model": st.column_config.TextColumn(width="medium"),
        "Plan": st.column_config.TextColumn(width="small"),
        "Why": st.column_config.TextColumn(width="medium"),
        "What it is": st.column_config.TextColumn(width="large"),
    })
    for note in plan["notes"]:
        st.caption(f"ℹ️ {note}")
    _ui.explain("Every model is cross-validated on the training part only; the test rows are "
                "scored once, at the very end, so the final number is an honest estimate.")


def _show_estimate(project: Project, plan: dict[str, Any]) -> dict[str, Any] | None:
    """Time and memory measured from pilot fits on this data, before training starts."""
    roles = json.dumps(project.effective_roles(), sort_keys=True)
    try:
        with st.spinner("Timing a few small pilot fits to estimate time and memory…"):
            estimate = _estimate(project.table.fingerprint, project.recipe.to_json(), roles,
                                 project.frame, plan)
    except TabwrightError as exc:
        st.caption(f"No estimate: {escape_markdown(exc.message)}")
        return None
    cols = st.columns(4)
    if plan["auto"]:
        cols[0].metric("Expected time", _duration(estimate["seconds"]),
                       help="Auto mode keeps its budget, refit and test included.")
    else:
        cols[0].metric("Expected time", f"{_duration(estimate['seconds'])} – "
                                        f"{_duration(estimate['seconds_high'])}",
                       help="Measured: each model's pipeline was fitted on two small samples of "
                            "your data on this server and the timings extrapolated to the rows "
                            "each fit uses. A busy server can take up to the upper figure.")
    cols[1].metric("Memory at peak", _size(estimate["memory_mb"]),
                   help="The data is held twice while training (the whole table and its "
                        "train/test parts), plus the prepared matrix and the fitted model.")
    cols[2].metric("Your data in memory", _size(estimate["data_mb"]))
    if estimate["available_mb"] is not None:
        cols[3].metric("Free on this server", _size(estimate["available_mb"]))
    for note in estimate["notes"]:
        st.warning(note, icon="⏱️")
    budget = estimate.get("recommended_budget")
    if budget and budget <= current_limits().max_training_seconds and st.button(
            f"Use a {_duration(budget).lstrip('~')} budget", key="train_use_budget", icon="⏱️"):
        recipe = project.recipe.copy()
        recipe.time_budget = float(budget)
        _state.set_project(update_recipe(project, recipe, reason="You raised the time budget"))
        st.rerun()
    return estimate


def _size(mb: float) -> str:
    if mb < 1:
        return "under 1 MB"
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"~{max(1, round(seconds))} s"
    return f"~{seconds / 60:.0f} min"
