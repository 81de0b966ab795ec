"""Evaluate: how good a fitted model is, why, and what to try next, as plain JSON data.

:func:`evaluate_classifier`, :func:`evaluate_regressor` and :func:`evaluate_clustering` measure
a model on held-out rows once; diagnostics (:func:`diagnose_fit`, permutation importance,
error analysis) say where it fails; :func:`bar_verdict` and :func:`suggest_next` judge a run
against the user's brief; :func:`score_cards`, :func:`cluster_profile_table` and
:func:`worst_errors_table` put an evaluation in words and tables. The figures every page and
report draws are in :mod:`core.evaluate.figures`.

Names load on first use (PEP 562, as in :mod:`core.deliver`): a command that needs one stage
does not import the others.
"""

from core import lazy

_HOMES = {
    "apply_next_step": "_experiment", "bar_verdict": "_experiment",
    "fit_diagnosis": "_experiment", "importance_for": "_experiment",
    "latency_verdict": "_experiment", "measure_latency": "_experiment",
    "readable_model": "_experiment", "scorer_name": "_experiment",
    "suggest_next": "_experiment", "diagnose_fit": "_heldout", "error_analysis": "_heldout",
    "evaluate_classifier": "_heldout", "evaluate_clustering": "_heldout",
    "evaluate_regressor": "_heldout", "learning_curve_data": "_heldout",
    "permutation_importance_data": "_heldout", "rows_for_confusion_cell": "_heldout",
    "cluster_profile_table": "_summary", "confusion_cell_caption": "_summary",
    "confusion_cell_defaults": "_summary", "score_cards": "_summary",
    "worst_errors_table": "_summary",
    "cheapest_threshold": "_costs", "cost_curve": "_costs", "cost_summary": "_costs",
    "expected_cost": "_costs", "threshold_counts": "_costs", "decisions_report": "_fairness",
    "fairness_for": "_fairness", "fairness_table": "_fairness", "group_labels": "_fairness",
    "group_rows_table": "_fairness", "group_table": "_fairness", "mark_sensitive": "_fairness",
    "partial_dependence_data": "_dependence", "partial_dependence_for": "_dependence",
    "partial_dependence_report": "_dependence", "top_features": "_dependence",
    "background_rows": "_explain", "explain_for": "_explain", "explain_prediction": "_explain",
    "explain_rows": "_explain", "reference_rows": "_explain",
    "PLOTTED_ROLES": "_dependence", "value_text": "_explain",
}
"""Each public name and the module that defines it."""

__all__, __getattr__, __dir__ = lazy.exports(__name__, _HOMES)
