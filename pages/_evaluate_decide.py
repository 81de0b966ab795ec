"""Evaluate page: deciding with the model — what its mistakes cost, and how it treats groups.

The costs section prices a two-class model's decisions with the user's costs: the cheapest
threshold on the validation folds, and what it costs on the test rows against the default 0.5.
Applying it records the costs in the recipe and trains again: the threshold is part of the
exported model, and a run only gets a new model by training (the validation folds' predictions
themselves are not kept, only their counts per threshold).

The fairness section compares the test rows' groups of the columns the user marks as
sensitive. Marking a column changes what is measured, not the model, so the trained result
stays.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.errors import TabwrightError
from core.evaluate import cost_summary, figures
from core.formatting import escape_markdown, format_number
from core.project import Project, update_recipe
from core.recipe import BOUNDS, Costs
from core.run import TrainResult
from pages import _ui
from pages._evaluate_charts import chart


@st.cache_data(show_spinner=False, max_entries=64)
def _costs(run_key: str, fp_cost: float, fn_cost: float, tp_gain: float,
           _result: TrainResult) -> dict[str, Any]:
    return cost_summary(_result, Costs(fp_cost=fp_cost, fn_cost=fn_cost, tp_gain=tp_gain))


# --------------------------------------------------------------------------- costs


def _known_costs(project: Project) -> Costs:
    """The costs to start from: the project's, else the run's, else none stated."""
    for costs in (project.recipe.imbalance.costs, project.result.recipe.imbalance.costs):
        if costs.stated:
            return costs
    return Costs()


def _money(value: float | None) -> str:
    return "–" if value is None else format_number(round(value, 2))


def costs_section(project: Project) -> None:
    """Costs of mistakes, the threshold they choose, and "Apply" (a recipe change)."""
    result = project.result
    if result.task != "binary":
        return
    st.subheader("What do mistakes cost?")
    positive = escape_markdown(result.evaluation.get("positive_label"))
    _ui.explain("Say what a false alarm and a miss cost you, in any unit (euros, hours). "
                "tabwright picks the threshold with the lowest expected cost on the validation "
                "folds, never on the test rows, and shows what it costs on the test rows.")
    known = _known_costs(project)
    bounds = BOUNDS["imbalance.costs.fp_cost"]
    with st.form("eval_costs_form", border=False):
        left, middle, right = st.columns(3)
        inputs = (
            (left, "Cost of a false positive", "fp", known.fp_cost,
             f"A row flagged {positive} that is not: a false alarm."),
            (middle, "Cost of a false negative", "fn", known.fn_cost,
             f"A real {positive} the model misses."),
            (right, "Gain of a true positive", "tp", known.tp_gain,
             f"What finding a real {positive} earns (optional)."),
        )
        values = [column.number_input(label, min_value=float(bounds.low),
                                      max_value=float(bounds.high), value=float(value), step=1.0,
                                      format="%g", key=f"eval_cost_{key}", help=help_text)
                  for column, label, key, value, help_text in inputs]
        st.form_submit_button("Price the decisions", key="eval_costs_price")
    costs = Costs(*values)
    if not costs.stated:
        st.info("Enter at least one cost above 0 to price the model's decisions.", icon="💶")
        return
    try:
        summary = _costs(_ui.run_key(project), costs.fp_cost, costs.fn_cost, costs.tp_gain, result)
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    chart(figures.cost_curve_figure(summary), "eval_cost_curve")
    test = summary["test"]
    cards = st.columns(3)
    cards[0].metric(f"Chosen threshold {_threshold(summary['chosen_threshold'])}",
                    _money(test["at_chosen"]),
                    help="Expected cost per 1,000 decisions on the test rows at the threshold "
                         "these costs choose on the validation folds.")
    cards[1].metric(f"This model's threshold {_threshold(summary['model_threshold'])}",
                    _money(test["at_model"]),
                    help="Expected cost per 1,000 decisions on the test rows as the model "
                         "decides now.")
    cards[2].metric("Default threshold 0.5", _money(test["at_default"]),
                    help="Expected cost per 1,000 decisions on the test rows at 0.5.")
    st.markdown(escape_markdown(summary["sentence"]))
    if summary["applied"]:
        st.success(f"These costs are applied: the exported model flags a row as {positive} when "
                   f"its probability is at least {summary['model_threshold']:.3g}.", icon="✅")
    else:
        st.caption("Applying records the costs in the recipe. The threshold changes the model "
                   "you export, so it takes a new training run: training chooses it again on the "
                   "validation folds (the same folds and models give the same choice) and the "
                   "exported model applies it.")
        if st.button("Apply this threshold and train again", key="eval_costs_apply",
                     type="primary"):
            _apply_costs(project, costs)
    if project.recipe.imbalance.costs.stated:
        if st.button("Forget the costs", key="eval_costs_forget"):
            _apply_costs(project, Costs())


def _threshold(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}"


def _apply_costs(project: Project, costs: Costs) -> None:
    def change(p: Project) -> Project:
        recipe = p.recipe.copy()
        recipe.imbalance.costs = costs
        recipe.imbalance.threshold = None  # chosen for the costs when the model trains
        recipe.imbalance.tune_threshold = False
        reason = "You applied costs of mistakes" if costs.stated else "You forgot the costs"
        return update_recipe(p, recipe, reason=reason)

    message = ("Costs recorded in the recipe. Train again: the threshold is chosen for them on "
               "the validation folds." if costs.stated else
               "Costs forgotten. Train again for a model with the default threshold.")
    if _ui.attempt(change, project, success=message):
        st.switch_page("pages/train.py")
