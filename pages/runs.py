"""Runs: every training of this session, side by side comparisons, and reopening one.

The history lives in the workspace's run store (``core.deliver._history``); this page lists the
session's runs, compares two (recipe changes and score changes), and loads a run's choices
back into the project when the current data is the data that run used.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from core.deliver import RunStore
from core.errors import TabwrightError
from core.metrics import METRICS, metric_label
from core.project import Project, update_recipe
from core.recipe import Recipe
from core.run import fingerprint
from pages import _state, _ui


@st.cache_data(show_spinner=False, max_entries=16)
def _data_fingerprint(table_fingerprint: str, _frame: pd.DataFrame) -> str:
    """The fingerprint training gives this data (it hashes the parsed table, not the file)."""
    return fingerprint(_frame)


def _label(run: dict[str, Any]) -> str:
    metric = run["metric"]
    test = (run.get("test_metrics") or {}).get(metric)
    score = f"test {metric} {test:.4f}" if test is not None else f"CV {metric} {_num(run.get('cv_mean'))}"
    return f"{_when(run['created'])} · {_short(run['model_label'])} · {score}"


def _short(label: str, limit: int = 40) -> str:
    """A model label that fits a table cell (ensembles list every member)."""
    return label if len(label) <= limit else label[:limit - 1].rstrip(" ,×") + "…"


def _when(created: str) -> str:
    return created[:19].replace("T", " ")


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _history_table(runs: list[dict[str, Any]], current: str | None) -> None:
    rows = []
    for run in runs:
        metric = run["metric"]
        label = metric_label(metric)
        rows.append({
            "When (UTC)": _when(run["created"]) + ("  ◀ current" if run["run_id"] == current else ""),
            "Model": _short(run["model_label"]),
            "Hypothesis": run.get("hypothesis") or "",
            "Test": (run.get("test_metrics") or {}).get(metric),
            "CV": run.get("cv_mean"),
            "± std": run.get("cv_std"),
            "Metric": label,
            "Duration (s)": run.get("duration"),
            "Data": f"{run['data_name']} · {run['fingerprint'][:8]}",
        })
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
        "CV": st.column_config.NumberColumn(format="%.4f"),
        "± std": st.column_config.NumberColumn(format="%.4f"),
        "Test": st.column_config.NumberColumn(format="%.4f"),
        "Duration (s)": st.column_config.NumberColumn(format="%.1f"),
        "When (UTC)": st.column_config.TextColumn(width="medium"),
        "Model": st.column_config.TextColumn(width="medium"),
        "Hypothesis": st.column_config.TextColumn(width="large"),
    })


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
            st.markdown(f"**{name}** · {_when(side['created'])}")
            st.markdown(f"{side['model_label']} — CV {side['metric']} {_num(side['cv_mean'])}"
                        + (f" ± {side['cv_std']:.4f}" if side.get("cv_std") is not None else ""))
            st.caption(f"Hypothesis: {side['hypothesis']}" if side.get("hypothesis") else "No hypothesis noted.")
    metrics = pd.DataFrame([{
        "Score": f"{'CV' if m['kind'] == 'cv' else 'Test'} "
                 f"{METRICS[m['name']].label if m['name'] in METRICS else m['name']}",
        "A": m["a"], "B": m["b"], "Change": m["change"],
        "B is": {True: "✅ better", False: "❌ worse", None: "—"}[m["better"]],
    } for m in comparison["metrics"]])
    st.markdown("**Scores**")
    st.dataframe(metrics, hide_index=True, width="stretch", column_config={
        c: st.column_config.NumberColumn(format="%.4f") for c in ("A", "B", "Change")})
    st.markdown("**Recipe changes**")
    changes = comparison["recipe_changes"]
    if not changes:
        st.caption("The two recipes are the same: any difference in scores is noise.")
    else:
        st.dataframe(pd.DataFrame([{"Setting": c["path"], "A": _show(c["old"]), "B": _show(c["new"])}
                                   for c in changes]), hide_index=True, width="stretch")


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def _reopen(project: Project, runs: list[dict[str, Any]], labels: dict[str, str]) -> None:
    st.subheader("Reopen a run")
    _ui.explain("Loads the choices you made for that run back into the project, so you can change "
                "them and train again. The data must be the data that run used.")
    run_id = st.selectbox("Run", [r["run_id"] for r in runs], format_func=labels.get, key="runs_reopen")
    run = next(r for r in runs if r["run_id"] == run_id)
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
        if _ui.attempt(update_recipe, project, recipe, reason=f"You reopened the run of {_when(run['created'])}",
                       success=f"Loaded the choices of the run of {_when(run['created'])}: train "
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
labels = {r["run_id"]: _label(r) for r in runs}
st.subheader(f"Your runs ({len(runs)})")
_history_table(runs, project.run_id)
_compare(runs, labels)
_reopen(project, runs, labels)
