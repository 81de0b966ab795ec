"""The Model page's plan form, section by section.

Each section draws its widgets inside the page's ``st.form``, with the project's recipe as
their defaults, and writes their values into ``changed``, the copy the page saves on submit.
Numeric widgets offer exactly the ranges the recipe accepts (:data:`core.recipe.BOUNDS`).
"""

from __future__ import annotations

import streamlit as st

from core import catalogue
from core.project import Project
from core.recipe import (
    BOUNDS,
    CLASS_WEIGHT,
    SEARCH,
    VALIDATION,
    ModelChoice,
    Recipe,
    Stacking,
)
from pages import _ui
from pages._model_budget import budget_section

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


def validation_section(project: Project, changed: Recipe) -> None:
    """The held-out test set and the cross-validation on the rest (not for clustering)."""
    recipe = project.recipe
    split, validation = recipe.split, recipe.validation
    columns = [c for c in project.frame.columns if c != recipe.target]
    roles = project.effective_roles()
    st.subheader("Testing and validation")
    _ui.explain("A test set is held out and used once, at the very end: it is the honest "
                "estimate. Models are compared and tuned by cross-validation on the rest, "
                "so the test set never influences a choice.")
    a, b, c = st.columns(3)
    share = BOUNDS["split.test_size"]
    changed.split.test_size = float(a.slider("Test set share", share.low, share.high,
                                             float(split.test_size), 0.05,
                                             key="model_test_size", format="%.2f"))
    group_options = [NO_COLUMN] + columns
    group = b.selectbox(
        "Group column", group_options,
        index=group_options.index(split.group_column) if split.group_column in group_options else 0,
        key="model_group",
        help="Rows that share a value (a customer, a patient) go to the same side of "
             "every split, so the model is tested on unseen groups.")
    changed.split.group_column = None if group == NO_COLUMN else group
    time_options = [NO_COLUMN] + [col for col in columns
                                  if roles.get(col) in ("datetime", "numeric")]
    time_col = c.selectbox(
        "Time column", time_options,
        index=time_options.index(split.time_column) if split.time_column in time_options else 0,
        key="model_time",
        help="The test set is the latest rows and validation always trains on the past: "
             "what happens when the model is used on tomorrow's data.")
    changed.split.time_column = None if time_col == NO_COLUMN else time_col
    changed.split.stratify = bool(st.checkbox(
        "Keep class shares equal in the test set (stratify)", value=split.stratify,
        key="model_stratify", disabled=recipe.task not in ("binary", "multiclass")))
    a, b, c = st.columns(3)
    scheme = a.selectbox("Validation", VALIDATION, index=VALIDATION.index(validation.scheme),
                         key="model_scheme",
                         help="\n\n".join(f"**{k}**: {v}" for k, v in VALIDATION_HELP.items()))
    changed.validation.scheme = scheme
    folds, repeats = BOUNDS["validation.folds"], BOUNDS["validation.repeats"]
    changed.validation.folds = int(b.number_input("Folds (k)", folds.low, folds.high,
                                                  validation.folds, 1, key="model_folds"))
    changed.validation.repeats = int(c.number_input("Repeats", repeats.low, repeats.high,
                                                    validation.repeats, 1, key="model_repeats",
                                                    help="Only for repeated k-fold."))
    st.caption(f"**{scheme}:** {VALIDATION_HELP[scheme]}")


def imbalance_section(recipe: Recipe, changed: Recipe) -> None:
    """Class weights and the decision threshold (classification only)."""
    st.subheader("A rare class")
    a, b = st.columns(2)
    changed.imbalance.class_weight = a.radio(
        "Class weights", CLASS_WEIGHT, index=CLASS_WEIGHT.index(recipe.imbalance.class_weight),
        key="model_class_weight", horizontal=True,
        format_func=lambda v: {"none": "none", "balanced": "balanced (rare rows count more)"}[v])
    tune_threshold = b.checkbox(
        "Tune the decision threshold on validation folds",
        value=recipe.imbalance.tune_threshold, key="model_threshold",
        disabled=recipe.task != "binary",
        help="Instead of 'positive when probability ≥ 0.5', pick the cut-off that "
             "scores best on validation. Binary tasks only.")
    changed.imbalance.tune_threshold = bool(tune_threshold) and recipe.task == "binary"


COMBINE = {"averaging": "averaging", "stacking": "stacking (a linear model learns the weights)"}


def models_section(recipe: Recipe, changed: Recipe) -> None:
    """Auto mode and its time budget, or the models ticked by hand, and their ensemble."""
    st.subheader("Models to try")
    specs = _model_choices(recipe)
    if recipe.brief.interpretable:
        st.info("Your brief asks for a model a person can read, so only readable models are "
                "offered: " + ", ".join(s.label for s in specs) + ".", icon="🔍")
    modes = [AUTO_MODE, CHOOSE_MODE]
    mode = st.radio("How", modes, index=0 if recipe.auto else 1, key="model_mode")
    changed.auto = mode == AUTO_MODE
    budget_section(recipe, changed)
    st.caption("With **Choose models**, exactly the ticked models are trained (with a "
               "baseline for comparison):")
    existing = {m.name: m for m in recipe.models}
    picked = {}
    grid = st.columns(2)
    for i, spec in enumerate(specs):
        with grid[i % 2]:
            picked[spec.name] = st.checkbox(spec.label, value=spec.name in existing,
                                            key=f"model_pick_{spec.name}", help=spec.what)
            hint = f" Cost: {spec.cost}." if spec.cost else ""
            st.caption(f"{spec.what} *{spec.when}*{hint}")
    changed.models = [existing.get(name, ModelChoice(name)) for name, on in picked.items() if on]
    left, right = st.columns([2, 3])
    changed.ensemble = bool(left.checkbox("Also combine the chosen models (ensemble)",
                                          value=recipe.ensemble, key="model_ensemble"))
    how = right.radio("Combined by", list(COMBINE), format_func=COMBINE.get, horizontal=True,
                      index=1 if recipe.stacking is not None else 0, key="model_combine",
                      help="When the models are combined. Averaging weighs each model's predictions. Stacking trains a linear "
                           "model on their out-of-fold predictions to learn the weights (not "
                           "with a time column: later folds would teach it the future).")
    passthrough = right.checkbox(
        "With stacking: the stacking model also sees the prepared inputs (passthrough)",
        value=bool(recipe.stacking and recipe.stacking.passthrough), key="model_passthrough",
        help="Off: it learns only how much to trust each model. On: it can also correct them "
             "from the inputs, which helps when models err on different kinds of rows, and "
             "overfits more easily on small data.")
    changed.stacking = (Stacking(passthrough=bool(passthrough))
                        if changed.ensemble and how == "stacking" else None)


def tuning_section(recipe: Recipe, changed: Recipe) -> None:
    """How the chosen models' settings are searched (not for clustering)."""
    st.subheader("Tuning (for chosen models)")
    a, b, c = st.columns(3)
    changed.search.method = a.selectbox(
        "Search", SEARCH, index=SEARCH.index(recipe.search.method), key="model_search",
        help="\n\n".join(f"**{k}**: {v}" for k, v in SEARCH_HELP.items()))
    trials, budget = BOUNDS["search.trials"], BOUNDS["search.time_budget"]
    changed.search.trials = int(b.number_input("Trials per model", trials.low, trials.high,
                                               recipe.search.trials, 1, key="model_trials"))
    # 0 stands for "no budget" (None in the recipe), so the widget starts below the bound.
    changed.search.time_budget = float(c.number_input(
        "Search time budget (s, 0 = none)", 0.0, float(budget.high),
        float(recipe.search.time_budget or 0.0), 10.0, key="model_search_budget")) or None


def _model_choices(recipe: Recipe) -> list[catalogue.ModelSpec]:
    specs = catalogue.models_for(recipe.task)
    if recipe.brief.interpretable:
        specs = [s for s in specs if s.interpretable]
    return specs
