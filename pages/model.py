"""Model: what to predict, how to judge it, how to validate it and which models to try."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import catalogue
from core import settings as limits_module
from core.explore import baseline_scores, recommend_metric
from core.formatting import escape_markdown
from core.metrics import (
    leaderboard_metrics,
    metric_help,
    metric_label,
    metric_when,
)
from core.project import Project, set_target, update_recipe
from core.recipe import CLASS_WEIGHT, SEARCH, VALIDATION, ModelChoice, Recipe
from core.train import warm_up
from pages import _ui

CLUSTER = "(no target: find groups — clustering)"
AUTO_TASK = "auto"
AUTO_MODE = "Auto: tabwright chooses models and settings within a time budget"
CHOOSE_MODE = "Choose models myself"
NO_COLUMN = "(none)"
VALIDATION_HELP = {
    "auto": "Stratified k-fold for classes, k-fold for numbers; group or time-ordered folds "
            "when a group or time column is set.",
    "kfold": "k folds at random; every training row is validated once.",
    "stratified": "k folds that each keep the class shares of the whole.",
    "repeated": "k-fold repeated with new shuffles: steadier scores for k × repeats fits.",
    "group": "Rows of one group (a customer, a patient) stay in one fold, so related rows "
             "never validate each other.",
    "timeseries": "Train on the past, validate on what follows: for data that changes over time.",
    "loo": "Leave one out: one fit per row. Only for tiny tables (up to 500 rows).",
}
SEARCH_HELP = {
    "none": "Each model with its sensible defaults.",
    "grid": "Every combination of a small grid of settings.",
    "random": "Random settings drawn from each model's search space.",
    "optuna": "A search that learns which settings work (Optuna's Bayesian TPE).",
}


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


def _model_choices(recipe: Recipe) -> list[catalogue.ModelSpec]:
    specs = catalogue.models_for(recipe.task)
    if recipe.brief.interpretable:
        specs = [s for s in specs if s.interpretable]
    return specs


def _plan_form(project: Project) -> None:
    recipe = project.recipe
    task = recipe.task
    classification = task in ("binary", "multiclass")
    clustering = task == "clustering"
    limits = limits_module.current()
    columns = [c for c in project.frame.columns if c != recipe.target]
    roles = project.effective_roles()

    st.subheader("How to judge the models")
    recommended = _metric_advice(project)
    metrics = list(recipe.metrics_for_task())
    if recipe.metric in metrics:
        metric_default = recipe.metric
    elif recipe.brief.bar_metric in metrics:
        metric_default = recipe.brief.bar_metric
    else:
        metric_default = recommended
    with st.form("plan_form"):
        metric = st.selectbox(
            "Rank models by", metrics, index=metrics.index(metric_default), key="model_metric",
            format_func=_label,
            help="\n\n".join(f"**{_label(m)}**: {metric_when(m)}" for m in metrics))
        split, validation, imbalance = recipe.split, recipe.validation, recipe.imbalance
        test_size, stratify, group, time_col = split.test_size, split.stratify, split.group_column, split.time_column
        scheme, folds, repeats = validation.scheme, validation.folds, validation.repeats
        class_weight, tune_threshold = imbalance.class_weight, imbalance.tune_threshold
        if not clustering:
            st.subheader("Testing and validation")
            _ui.explain("A test set is held out and used once, at the very end: it is the honest "
                        "estimate. Models are compared and tuned by cross-validation on the rest, "
                        "so the test set never influences a choice.")
            a, b, c = st.columns(3)
            test_size = a.slider("Test set share", 0.05, 0.5, float(split.test_size), 0.05,
                                 key="model_test_size", format="%.2f")
            group_options = [NO_COLUMN] + columns
            group = b.selectbox(
                "Group column", group_options,
                index=group_options.index(split.group_column) if split.group_column in group_options else 0,
                key="model_group",
                help="Rows that share a value (a customer, a patient) go to the same side of "
                     "every split, so the model is tested on unseen groups.")
            time_options = [NO_COLUMN] + [col for col in columns
                                          if roles.get(col) in ("datetime", "numeric")]
            time_col = c.selectbox(
                "Time column", time_options,
                index=time_options.index(split.time_column) if split.time_column in time_options else 0,
                key="model_time",
                help="The test set is the latest rows and validation always trains on the past: "
                     "what happens when the model is used on tomorrow's data.")
            stratify = st.checkbox("Keep class shares equal in the test set (stratify)",
                                   value=split.stratify, key="model_stratify",
                                   disabled=not classification)
            a, b, c = st.columns(3)
            scheme = a.selectbox("Validation", VALIDATION, index=VALIDATION.index(validation.scheme),
                                 key="model_scheme",
                                 help="\n\n".join(f"**{k}**: {v}" for k, v in VALIDATION_HELP.items()))
            folds = b.number_input("Folds (k)", 2, 20, validation.folds, 1, key="model_folds")
            repeats = c.number_input("Repeats", 1, 10, validation.repeats, 1, key="model_repeats",
                                     help="Only for repeated k-fold.")
            st.caption(f"**{scheme}:** {VALIDATION_HELP[scheme]}")
        if classification:
            st.subheader("A rare class")
            a, b = st.columns(2)
            class_weight = a.radio(
                "Class weights", CLASS_WEIGHT, index=CLASS_WEIGHT.index(imbalance.class_weight),
                key="model_class_weight", horizontal=True,
                format_func=lambda v: {"none": "none", "balanced": "balanced (rare rows count more)"}[v])
            tune_threshold = b.checkbox(
                "Tune the decision threshold on validation folds",
                value=imbalance.tune_threshold, key="model_threshold",
                disabled=task != "binary",
                help="Instead of 'positive when probability ≥ 0.5', pick the cut-off that "
                     "scores best on validation. Binary tasks only.")

        st.subheader("Models to try")
        specs = _model_choices(recipe)
        if recipe.brief.interpretable:
            st.info("Your brief asks for a model a person can read, so only readable models are "
                    "offered: " + ", ".join(s.label for s in specs) + ".", icon="🔍")
        modes = [AUTO_MODE, CHOOSE_MODE]
        left, right = st.columns([3, 1])
        mode = left.radio("How", modes, index=0 if recipe.auto else 1, key="model_mode")
        budget = right.number_input(
            "Auto mode's time budget (s)", 5.0, float(limits.max_training_seconds),
            float(min(recipe.time_budget, limits.max_training_seconds)), 5.0,
            key="model_budget", help="Auto mode tries a baseline, a linear model and strong "
                                     "tree models, then searches settings until time is up.")
        st.caption("With **Choose models**, exactly the ticked models are trained (with a "
                   "baseline for comparison):")
        chosen_names = {m.name for m in recipe.models}
        picked = {}
        grid = st.columns(2)
        for i, spec in enumerate(specs):
            with grid[i % 2]:
                picked[spec.name] = st.checkbox(spec.label, value=spec.name in chosen_names,
                                                key=f"model_pick_{spec.name}", help=spec.what)
                hint = f" Cost: {spec.cost}." if spec.cost else ""
                st.caption(f"{spec.what} *{spec.when}*{hint}")
        ensemble = st.checkbox("Also average the chosen models (ensemble)", value=recipe.ensemble,
                               key="model_ensemble")
        if not clustering:
            st.subheader("Tuning (for chosen models)")
            a, b, c = st.columns(3)
            method = a.selectbox("Search", SEARCH, index=SEARCH.index(recipe.search.method),
                                 key="model_search",
                                 help="\n\n".join(f"**{k}**: {v}" for k, v in SEARCH_HELP.items()))
            trials = b.number_input("Trials per model", 1, 10_000, recipe.search.trials, 1,
                                    key="model_trials")
            search_budget = c.number_input(
                "Search time budget (s, 0 = none)", 0.0, 86_400.0,
                float(recipe.search.time_budget or 0.0), 10.0, key="model_search_budget")
        seed = st.number_input("Random seed", 0, 2**32 - 1, recipe.seed, 1, key="model_seed",
                               help="Same seed, same data, same recipe: the same model.")
        submitted = st.form_submit_button("Save the plan", type="primary")
    if not submitted:
        return
    changed = recipe.copy()
    changed.metric = metric
    if not clustering:
        changed.split.test_size = float(test_size)
        changed.split.stratify = bool(stratify)
        changed.split.group_column = None if group == NO_COLUMN else group
        changed.split.time_column = None if time_col == NO_COLUMN else time_col
        changed.validation.scheme = scheme
        changed.validation.folds = int(folds)
        changed.validation.repeats = int(repeats)
        changed.search.method = method
        changed.search.trials = int(trials)
        changed.search.time_budget = float(search_budget) or None
    if classification:
        changed.imbalance.class_weight = class_weight
        changed.imbalance.tune_threshold = bool(tune_threshold) and task == "binary"
    changed.auto = mode == AUTO_MODE
    changed.time_budget = float(budget)
    existing = {m.name: m for m in recipe.models}
    changed.models = [existing.get(name, ModelChoice(name)) for name, on in picked.items() if on]
    changed.ensemble = bool(ensemble)
    changed.seed = int(seed)
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
