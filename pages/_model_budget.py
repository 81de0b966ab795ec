"""The Model page's auto-mode plan: a time budget or a number of trials, the final refit, and
bagging.

Drawn inside the page's plan form (see :mod:`pages._model_plan`); the values go into
``changed``, the recipe copy the page saves on submit.
"""

from __future__ import annotations

import streamlit as st

from core import settings as limits_module
from core.estimators import BAG_FOLDS
from core.recipe import BOUNDS, Recipe
from core.train import FINALIZE_AUTO_ROWS

PLAN_BY = {
    "clock": "Time budget: as many trials as fit",
    "count": "Number of trials: repeatable",
}
PLAN_PROMISE = {
    "clock": "Tries as much as fits in the budget, so a busier or slower machine may try less "
             "and choose differently; the saved recipe still replays the chosen model exactly.",
    "count": "Plans the search by count: the same data, seed and number of trials give the "
             "same model, to the byte, on any machine. The budget only caps it; a run that "
             "hits the cap says so.",
}
FINALIZE_LABELS = {
    "auto": f"Auto: in auto mode, on tables of up to {FINALIZE_AUTO_ROWS:,} rows",
    "on": "Always",
    "off": "Never: deliver the model the test rows measured",
}


def budget_section(recipe: Recipe, changed: Recipe) -> None:
    """Auto mode's time budget, whether it plans by the clock or by count, finalize and
    bagging."""
    limits = limits_module.current()
    left, middle, right = st.columns([2, 1, 1])
    plan_by = left.radio("Plan auto mode's search by", list(PLAN_BY), format_func=PLAN_BY.get,
                         index=1 if recipe.max_trials is not None else 0, key="model_plan_by",
                         horizontal=True)
    changed.time_budget = float(middle.number_input(
        "Auto mode's time budget (s)", 5.0, float(limits.max_training_seconds),
        float(min(recipe.time_budget, limits.max_training_seconds)), 5.0,
        key="model_budget", help="Auto mode tries a baseline, a linear model and strong "
                                 "tree models, then searches settings until time is up."))
    trials = BOUNDS["max_trials"]
    count = int(right.number_input("Trials", int(trials.low), int(trials.high),
                                   int(recipe.max_trials or 30), 1, key="model_max_trials",
                                   help="Configurations auto mode evaluates when planned by "
                                        "count (ensembles and stacks come on top)."))
    changed.max_trials = count if plan_by == "count" else None
    st.caption(f"**{PLAN_BY[plan_by].split(':')[0]}.** {PLAN_PROMISE[plan_by]}")
    changed.finalize = st.selectbox(
        "After the test, refit the chosen model on every row (test rows included)",
        list(FINALIZE_LABELS), format_func=FINALIZE_LABELS.get,
        index=list(FINALIZE_LABELS).index(recipe.finalize), key="model_finalize",
        help="The test rows measure the model first; then the same configuration learns from "
             "them too, so the model you take away has seen all of your data. The test scores "
             "stay those of the model that had not seen them, and the model card says so.")
    changed.bagging = st.checkbox(
        "Bag gradient boosting: the mean of copies fitted on different parts of the rows",
        value=recipe.bagging, key="model_bagging",
        help=f"Each histogram gradient-boosting model is delivered as the mean of {BAG_FOLDS} "
             f"copies, each fitted without a different 1/{BAG_FOLDS} of the rows, instead of one "
             "fit on them all. On a few thousand rows or fewer, one boosted model (stopped early "
             "on a tenth of them) leans on the chance of those rows, and the mean leans on it "
             f"less. It costs {BAG_FOLDS - 1}× the final fit's time (auto mode leaves that time "
             f"out of its search) and {BAG_FOLDS}× those models' prediction time. Other models "
             "are fitted once: forests average many trees already.")
