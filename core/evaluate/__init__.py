"""Evaluate: how good a fitted model is, why, and what to try next, as plain JSON data.

:func:`evaluate_classifier`, :func:`evaluate_regressor` and :func:`evaluate_clustering` measure
a model on held-out rows once; diagnostics (:func:`diagnose_fit`, permutation importance,
error analysis) say where it fails; :func:`bar_verdict` and :func:`suggest_next` judge a run
against the user's brief; :func:`score_cards`, :func:`cluster_profile_table` and
:func:`worst_errors_table` put an evaluation in words and tables. The figures every page and
report draws are in :mod:`core.evaluate.figures`.
"""


from core.evaluate._experiment import (
    apply_next_step,
    bar_verdict,
    fit_diagnosis,
    importance_for,
    latency_verdict,
    measure_latency,
    readable_model,
    scorer_name,
    suggest_next,
)
from core.evaluate._heldout import (
    diagnose_fit,
    error_analysis,
    evaluate_classifier,
    evaluate_clustering,
    evaluate_regressor,
    learning_curve_data,
    permutation_importance_data,
    rows_for_confusion_cell,
)
from core.evaluate._summary import (
    cluster_profile_table,
    confusion_cell_caption,
    confusion_cell_defaults,
    score_cards,
    worst_errors_table,
)

__all__ = ['apply_next_step', 'bar_verdict', 'cluster_profile_table', 'confusion_cell_caption', 'confusion_cell_defaults', 'diagnose_fit', 'error_analysis', 'evaluate_classifier', 'evaluate_clustering', 'evaluate_regressor', 'fit_diagnosis', 'importance_for', 'latency_verdict', 'learning_curve_data', 'measure_latency', 'permutation_importance_data', 'readable_model', 'rows_for_confusion_cell', 'score_cards', 'scorer_name', 'suggest_next', 'worst_errors_table']
