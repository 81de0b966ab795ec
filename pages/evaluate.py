"""Evaluate: is the model good enough, how does it fail, and what to try next.

Test-set metrics are computed once by training (``result.evaluation``); this page draws them,
compares them with the good-enough bar, and computes the costlier diagnostics (learning
curve, permutation importance, latency) only when asked or once per run (cached by run).
The sections live in ``pages/_evaluate_*.py``.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.deliver import RunStore
from core.errors import TabwrightError
from core.evaluate import (
    apply_next_step,
    bar_verdict,
    latency_verdict,
    measure_latency,
    score_cards,
    suggest_next,
)
from core.project import Project, update_recipe
from core.run import TrainResult
from pages import _state, _ui
from pages._evaluate_charts import (
    clustering_section,
    compare_section,
    regression_section,
)
from pages._evaluate_classes import classification_section
from pages._evaluate_decide import costs_section
from pages._evaluate_diagnostics import (
    diagnostics_section,
    learning_curve_if_computed,
    model_itself,
)
from pages._evaluate_explain import explain_section
from pages._evaluate_fairness import fairness_section


@st.cache_data(show_spinner="Timing single-row predictions…", max_entries=64)
def _latency(run_key: str, _result: TrainResult) -> float:
    return measure_latency(_result.pipeline, _result.X_test)


def _previous_run(project: Project) -> dict[str, Any] | None:
    """The run before the current one on the same data, from the run history."""
    if not project.run_id:
        return None
    store = RunStore()
    try:
        previous = store.get(project.run_id, owner=_state.owner()).get("previous_run_id")
        return store.get(previous, owner=_state.owner()) if previous else None
    except TabwrightError:
        return None


def _verdict_section(project: Project) -> None:
    result, brief = project.result, project.recipe.brief
    verdict = bar_verdict(brief, result, previous=_previous_run(project))
    st.subheader("Good enough?")
    show = {"met": st.success, "not met": st.error}.get(verdict["status"], st.info)
    icon = {"met": "✅", "not met": "❌"}.get(verdict["status"], "🎯")
    show(verdict["sentence"], icon=icon)
    if verdict["improvement"]:
        st.caption(verdict["improvement"]["sentence"])
    if verdict["status"] in ("no bar", "unknown"):
        st.page_link("pages/define.py", label="Set the bar on Define", icon="🎯")
    if brief.max_latency_ms is not None:
        try:
            latency = latency_verdict(_latency(_ui.run_key(project), result), brief.max_latency_ms)
        except TabwrightError as exc:
            _ui.show_error(exc)
        else:
            (st.success if latency["status"] == "met" else st.warning)(latency["sentence"], icon="⏱️")
    curve = learning_curve_if_computed(project) if result.task != "clustering" else None
    suggestions = suggest_next(result, verdict, learning_curve=curve)
    if suggestions:
        st.markdown("**What to try next**")
        for s in suggestions:
            with st.container(border=True):
                left, right = st.columns([3, 1.4], vertical_alignment="center")
                left.markdown(f"**{s['title']}**  \n{s['why']}")
                action = s["action"]
                if action and action["kind"] == "recipe":
                    if right.button(action["label"], key=f"eval_next_{action['change']}",
                                    width="stretch"):
                        _apply(project, action)
                elif action and action["kind"] == "page":
                    info = _ui.BY_STAGE[action["page"]]
                    right.page_link(info.path, label=f"Go to {info.title}", icon=info.icon,
                                    width="stretch")


def _apply(project: Project, action: dict[str, Any]) -> None:
    def change(p: Project) -> Project:
        return update_recipe(p, apply_next_step(p.recipe, action["change"]),
                             reason=f"You chose “{action['label']}”")

    if _ui.attempt(change, project, success=f"Applied “{action['label']}”. Train again to see "
                   "whether it helps."):
        st.switch_page("pages/train.py")


def _metric_cards(result: TrainResult) -> None:
    cards = score_cards(result)
    st.subheader(cards["title"])
    for start in range(0, len(cards["cards"]), 4):
        for col, card in zip(st.columns(4), cards["cards"][start:start + 4]):
            with col:
                st.metric(card["label"], card["value"], help=card["help"])
                if card["caption"]:
                    st.caption(card["caption"])
    st.caption(cards["footnote"])
    for note in cards["notes"]:
        st.caption(f"ℹ️ {note}")


project = _ui.page_header("evaluate")
if not _ui.require(project, "evaluate"):
    st.stop()
result = project.result
if result.cancelled:
    st.warning("This run was cancelled: these are the results of the best model finished before that.")
_verdict_section(project)
_metric_cards(result)
if result.task in ("binary", "multiclass"):
    classification_section(result)
elif result.task == "regression":
    regression_section(result)
else:
    clustering_section(result)
if project.recipe.brief.interpretable:
    model_itself(project)
if result.task != "clustering":
    diagnostics_section(project)
    explain_section(project)
    costs_section(project)
    fairness_section(project)
compare_section(result)
_ui.next_step("evaluate")
