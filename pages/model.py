"""Model: what to predict, how to judge it, how to validate it and which models to try."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.explore import baseline_scores, recommend_metric
from core.formatting import escape_markdown
from core.metrics import (
    leaderboard_metrics,
    metric_help,
    metric_label,
    metric_when,
)
from core.project import Project, set_target, update_recipe
from core.recipe import BOUNDS
from core.train import warm_up
from pages import _model_plan, _ui

CLUSTER = "(no target: find groups — clustering)"
AUTO_TASK = "auto"


def _label(metric: str) -> str:
    return metric_label(metric)


def _target_form(project: Project) -> None:
    recipe, profile = project.recipe, project.profile
    columns = list(project.frame.columns)
    st.subheader("What to predict")
    if not recipe.target and recipe.task != "clustering" and profile.target_suggestions:
        st.markdown("**Suggested targets**")
        for s in profile.target_suggestions[:3]:
            st.markdown(f"- **{escape_markdown(s.column)}** ({s.task}) — "
                        f"{escape_markdown(s.reason)}")
    options = [CLUSTER] + columns
    if recipe.target in columns:
        default = recipe.target
    elif recipe.task == "clustering":
        default = CLUSTER
    elif profile.target_suggestions:
        default = profile.target_suggestions[0].column
    else:
        default = columns[-1]
    with st.form("target_form"):
        left, right = st.columns([2, 1])
        target = left.selectbox("Target column", options, index=options.index(default),
                                key="model_target",
                                help="The column whose value the model will learn to predict. "
                                     "Choose clustering when there is nothing to predict and "
                                     "you want to find groups of similar rows.")
        detected = profile.task.task if profile.task and recipe.target else None
        task_options = [AUTO_TASK, "binary", "multiclass", "regression"]
        current = recipe.task if recipe.task in task_options and recipe.task != detected else AUTO_TASK
        task = right.selectbox("Task", task_options, index=task_options.index(current),
                               key="model_task",
                               format_func=lambda t: "detect from the data" if t == AUTO_TASK else t,
                               help="binary: one of two outcomes · multiclass: one of several "
                                    "labels · regression: an amount. Override the guess, e.g. "
                                    "a 1–5 rating you want to treat as an amount.")
        submitted = st.form_submit_button("Set the target", type="primary")
    if submitted:
        if target == CLUSTER:
            ok = _ui.attempt(set_target, project, None, task="clustering",
                             success="No target: tabwright will look for groups (clustering).")
        else:
            ok = _ui.attempt(set_target, project, target, task=None if task == AUTO_TASK else task,
                             success=f"Target set to {escape_markdown(target)}.")
        if ok:
            st.rerun()
    if recipe.target and profile.task:
        overridden = recipe.task != profile.task.task
        st.info(f"🎯 **{escape_markdown(recipe.target)}: {recipe.task}.** "
                + (f"You chose {recipe.task}; the data suggested {profile.task.task}. "
                   if overridden else "")
                + escape_markdown(profile.task.reason))
    elif recipe.target:
        unusable = [f for f in profile.findings if f.code == "target_unusable"]
        if unusable:
            st.error(escape_markdown(unusable[0].message))


def _metric_advice(project: Project) -> str:
    """Show why a metric fits this target and what a no-skill model scores; return the advice."""
    recipe = project.recipe
    if recipe.task == "clustering":
        return "silhouette"
    y = project.frame[recipe.target]
    recommended, why = recommend_metric(y, recipe.task)
    baseline = baseline_scores(y, recipe.task)
    st.markdown(f"**Suggested: {_label(recommended)}.** {escape_markdown(why)}")
    shown = [m for m in leaderboard_metrics(recipe.task) if m in baseline["scores"]]
    if shown:
        st.caption(f"A model that learns nothing — {escape_markdown(baseline['predicts'])} — "
                   "would score:")
        st.dataframe(pd.DataFrame({
            "Metric": [_label(m) for m in shown],
            "No-skill score": [f"{baseline['scores'][m]:,.3f}" for m in shown],
            "What it means": [metric_help(m) for m in shown],
        }), hide_index=True)
    return recommended


def _plan_form(project: Project) -> None:
    recipe = project.recipe
    clustering = recipe.task == "clustering"
    st.subheader("How to judge the models")
    recommended = _metric_advice(project)
    metrics = list(recipe.metrics_for_task())
    if recipe.metric in metrics:
        metric_default = recipe.metric
    elif recipe.brief.bar_metric in metrics:
        metric_default = recipe.brief.bar_metric
    else:
        metric_default = recommended
    changed = recipe.copy()
    with st.form("plan_form"):
        changed.metric = st.selectbox(
            "Rank models by", metrics, index=metrics.index(metric_default), key="model_metric",
            format_func=_label,
            help="\n\n".join(f"**{_label(m)}**: {metric_when(m)}" for m in metrics))
        if not clustering:
            _model_plan.validation_section(project, changed)
        if recipe.task in ("binary", "multiclass"):
            _model_plan.imbalance_section(recipe, changed)
        _model_plan.models_section(recipe, changed)
        if not clustering:
            _model_plan.tuning_section(recipe, changed)
        seed = BOUNDS["seed"]
        changed.seed = int(st.number_input("Random seed", seed.low, seed.high, recipe.seed, 1,
                                           key="model_seed",
                                           help="Same seed, same data, same recipe: the same model."))
        submitted = st.form_submit_button("Save the plan", type="primary")
    if not submitted:
        return
    if changed == recipe:
        st.info("Nothing changed.")
        return
    if _ui.attempt(update_recipe, project, changed, reason="You changed the training plan",
                   success="Plan saved." + (" Auto mode will choose models within "
                                            f"{changed.time_budget:g} s." if changed.auto else
                                            f" {len(changed.models)} model(s) will be trained.")):
        st.rerun()


project = _ui.page_header("model")
# Training is one step away: start its workers' forkserver in the background now (it imports
# the libraries once; the first server-wide call only). Not at the first page, where it would
# compete with the first render for the CPU.
warm_up()
if not _ui.require(project, "model"):
    st.stop()
_target_form(project)
if project.recipe.task and (project.recipe.target or project.recipe.task == "clustering"):
    st.divider()
    _plan_form(project)
    _ui.next_step("model")
else:
    st.caption("Set a target (or choose clustering) to plan the training.")
