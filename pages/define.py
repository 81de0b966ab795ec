"""Define: the problem in your words, the metric that matters and what result is good enough."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import catalogue
from core import settings as limits_module
from core.formatting import escape_markdown
from core.metrics import OPTIMISABLE, metric_help, metric_label, metric_when
from core.project import Project, update_recipe
from core.recipe import Brief, ModelChoice, Recipe
from pages import _define_framing, _ui

LATER = "(decide later)"


def _metric_options(recipe: Recipe) -> list[str]:
    if recipe.task:
        return list(recipe.metrics_for_task())
    return [m for m in OPTIMISABLE if m != "silhouette"]


def _brief_form(project: Project) -> None:
    recipe = project.recipe
    brief = recipe.brief
    options = _metric_options(recipe)
    limits = limits_module.current()
    with st.form("brief_form"):
        st.subheader("The problem")
        problem = st.text_area(
            "What problem are you solving, in your own words?", value=brief.problem,
            key="brief_problem", height=90,
            placeholder="e.g. Many loans we approve are never paid back.")
        decision = st.text_area(
            "Which decision will the model support?", value=brief.decision, key="brief_decision",
            height=90, placeholder="e.g. Which applications a person should review before "
                                   "approval.")
        st.subheader("What good enough means")
        left, middle, right = st.columns([2, 1, 1])
        chosen = brief.bar_metric if brief.bar_metric in options else LATER
        metric = left.selectbox(
            "The metric that matters", [LATER] + options, index=([LATER] + options).index(chosen),
            key="brief_metric", format_func=lambda m: m if m == LATER else metric_label(m),
            help="How results will be judged; choose it when…\n\n" + "\n\n".join(
                f"**{metric_label(m)}**: {metric_when(m)}" for m in options))
        bar = middle.number_input("Good enough", value=brief.bar_value, key="brief_bar",
                                  format="%.4g", placeholder="e.g. 0.80",
                                  help="The value you would accept. The final report says "
                                       "whether the model clears it.")
        ideal = right.number_input("Ideal", value=brief.ideal_value, key="brief_ideal",
                                   format="%.4g", placeholder="e.g. 0.90",
                                   help="What would be excellent; for context only.")
        st.subheader("Constraints")
        interpretable = st.checkbox(
            "A person must be able to read the model", value=brief.interpretable,
            key="brief_interpretable",
            help="Limits the models to readable ones: linear and logistic regression (one "
                 "coefficient per input) and shallow decision trees. Usually a little less "
                 "accurate, but every prediction can be explained.")
        left, right = st.columns(2)
        latency = left.number_input(
            "Longest acceptable prediction time per row (ms)", value=brief.max_latency_ms,
            min_value=0.001, key="brief_latency", placeholder="no limit",
            help="For real-time use, e.g. 50 ms while a customer waits.")
        seconds = right.number_input(
            "Training-time budget (seconds)", value=brief.max_training_seconds, min_value=1.0,
            max_value=float(limits.max_training_seconds), key="brief_seconds",
            placeholder="no limit",
            help="Also the time budget of auto mode. At most "
                 f"{limits.max_training_seconds:,} s on this server.")
        submitted = st.form_submit_button("Save the brief", type="primary")
    if submitted:
        new_brief = Brief(problem=problem.strip(), decision=decision.strip(),
                          bar_metric=None if metric == LATER else metric, bar_value=bar,
                          ideal_value=ideal, interpretable=interpretable,
                          max_latency_ms=latency, max_training_seconds=seconds)
        changed = _with_brief(recipe, new_brief)
        if _ui.attempt(update_recipe, project, changed, reason="You changed the brief",
                       success="Brief saved." + _consequences(recipe, changed)):
            st.rerun()


def _with_brief(recipe: Recipe, brief: Brief) -> Recipe:
    """The recipe with the new brief and the choices it implies for training."""
    changed = recipe.copy()
    changed.brief = brief
    if brief.bar_metric and changed.task and brief.bar_metric in changed.metrics_for_task():
        changed.metric = brief.bar_metric
    if brief.max_training_seconds:
        changed.time_budget = float(brief.max_training_seconds)
    if brief.interpretable:
        readable = [m for m in changed.models if catalogue.get(m.name).interpretable]
        if not readable and changed.task:
            readable = [ModelChoice(n) for n in
                        catalogue.default_models(changed.task, interpretable=True)]
        changed.models = readable
        if not readable:
            changed.auto = True
    return changed


def _consequences(old: Recipe, new: Recipe) -> str:
    said = []
    if new.metric != old.metric and new.metric:
        said.append(f"Models will be ranked by {metric_label(new.metric)}.")
    if new.time_budget != old.time_budget:
        said.append(f"Auto mode's time budget is now {new.time_budget:g} s.")
    if new.models and [m.name for m in new.models] != [m.name for m in old.models]:
        said.append("Only readable models are kept: "
                    + ", ".join(catalogue.get(m.name).label for m in new.models) + ".")
    return "".join(f" {s}" for s in said)


def _metric_guide(project: Project) -> None:
    options = _metric_options(project.recipe)
    with st.expander("Which metric? One line each", expanded=False):
        st.dataframe(pd.DataFrame({
            "Metric": [metric_label(m) for m in options],
            "Choose it when": [metric_when(m) for m in options],
            "Watch out": [metric_help(m) for m in options],
        }), hide_index=True)
        st.markdown(
            "**The accuracy trap.** On imbalanced data accuracy flatters: if 1 loan in 100 "
            "defaults, a model that always says *no default* is 99% accurate and catches none. "
            "Prefer ROC-AUC or average precision (rare positives), balanced accuracy, or recall "
            "when missing a positive is what costs.")


def _saved_brief(brief: Brief) -> None:
    if not (brief.problem or brief.decision or brief.bar_metric):
        return
    with st.container(border=True):
        st.markdown("**Your brief**")
        lines = []
        if brief.problem:
            lines.append(f"- **Problem:** {escape_markdown(brief.problem)}")
        if brief.decision:
            lines.append(f"- **Decision:** {escape_markdown(brief.decision)}")
        if brief.bar_metric:
            ideal = f", ideally {brief.ideal_value:g}" if brief.ideal_value is not None else ""
            lines.append(f"- **Good enough:** {metric_label(brief.bar_metric)} of "
                         f"{brief.bar_value:g}{ideal}")
        constraints = [c for c in (
            "readable models only" if brief.interpretable else "",
            f"predictions within {brief.max_latency_ms:g} ms" if brief.max_latency_ms else "",
            f"training within {brief.max_training_seconds:g} s" if brief.max_training_seconds else "",
        ) if c]
        if constraints:
            lines.append(f"- **Constraints:** {', '.join(constraints)}")
        st.markdown("\n".join(lines))


project = _ui.page_header("define")
_ui.explain("Optional, and worth two minutes: say what you are solving and what result would "
            "be good enough before looking at scores. The final report checks the model "
            "against this bar, so the goalposts cannot move after the fact.")
if project.table is not None and project.profile is not None:
    _define_framing.framing(project)
else:
    st.caption("No data yet: you can write the brief first, or load data and come back for a "
               "proposed framing.")
_saved_brief(project.recipe.brief)
_brief_form(project)
_metric_guide(project)
_ui.next_step("define")
