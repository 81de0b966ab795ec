"""Cost-aware decision threshold for a two-class model, as plain JSON-safe data.

The user says what a false positive and a false negative cost (and what a true positive
gains, if anything), in their own unit; the expected cost of a threshold is

    (fp_cost · false positives + fn_cost · false negatives − tp_gain · true positives) / rows

written per 1,000 decisions. The threshold is chosen on the **validation folds' predictions**
(out-of-fold, the ones threshold tuning already uses), never on the test rows: training keeps
the confusion counts of those predictions at every candidate threshold
(:func:`threshold_counts`, in ``result.evaluation["validation_threshold_counts"]``), so the
cheapest threshold for any costs is read from them without refitting (:func:`cheapest_threshold`).
The test rows then say what that choice costs against the default 0.5 (:func:`cost_summary`).

A row is positive when its probability is ``>= threshold``, as the exported
``FixedThresholdClassifier`` decides. Candidates are the distinct validation probabilities (at
most :data:`MAX_THRESHOLDS` of them, as quantiles, on larger data), plus 1.0 so "flag no row"
can win when false alarms cost more than anything found is worth.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from core.errors import TabwrightError
from core.evaluate._heldout import _predict
from core.formatting import format_number, json_safe
from core.metrics import binary_labels
from core.recipe import Costs
from core.run import TrainResult

MAX_THRESHOLDS = 400
"""Most candidate thresholds kept (distinct scores, or their quantiles on larger data)."""
PER_ROWS = 1_000
"""Costs are written per this many decisions."""


def threshold_counts(y_true: Any, positive_score: Any, positive_label: Any, *,
                     thresholds: Any = None) -> dict[str, Any]:
    """Confusion counts at every candidate threshold, a row positive when ``score >= t``.

    Parameters
    ----------
    y_true : array-like
        True labels.
    positive_score : array-like of float
        The probability of ``positive_label`` for each row (out-of-fold for a choice).
    positive_label
        The class a positive decision acts on.
    thresholds : array-like of float, optional
        Count at these thresholds; default: the candidates the module docstring describes.

    Returns
    -------
    dict
        JSON-safe: ``thresholds`` (ascending), ``tp``, ``fp``, ``fn``, ``tn`` (one count per
        threshold) and ``rows``.

    Examples
    --------
    >>> threshold_counts([0, 1, 1], [0.2, 0.6, 0.9], 1)["tp"]
    [2, 2, 1, 0]
    """
    y = np.asarray(y_true) == positive_label
    score = np.asarray(positive_score, dtype=float)
    keep = np.isfinite(score)
    y, score = y[keep], score[keep]
    if len(score) == 0:
        raise TabwrightError("There are no scored rows to choose a threshold on, got none.",
                             "Train the model again; the validation folds left no predictions.")
    if thresholds is None:
        thresholds = np.unique(score)
        if len(thresholds) > MAX_THRESHOLDS - 1:
            thresholds = np.unique(np.quantile(score, np.linspace(0, 1, MAX_THRESHOLDS - 1)))
        if thresholds[-1] < 1.0:
            thresholds = np.append(thresholds, 1.0)
    thresholds = np.sort(np.asarray(thresholds, dtype=float))
    positives = np.sort(score[y])
    flagged = len(score) - np.searchsorted(np.sort(score), thresholds, side="left")
    tp = len(positives) - np.searchsorted(positives, thresholds, side="left")
    fp = flagged - tp
    return json_safe({"thresholds": thresholds, "tp": tp, "fp": fp, "fn": len(positives) - tp,
                      "tn": len(score) - len(positives) - fp, "rows": len(score)})


def _per_rows(costs: Costs, tp: Any, fp: Any, fn: Any, rows: int) -> np.ndarray:
    tp, fp, fn = (np.asarray(v, dtype=float) for v in (tp, fp, fn))
    return PER_ROWS * (costs.fp_cost * fp + costs.fn_cost * fn - costs.tp_gain * tp) / rows


def cost_curve(counts: dict[str, Any], costs: Costs) -> dict[str, Any]:
    """Expected cost per 1,000 decisions at every threshold of :func:`threshold_counts`.

    Returns
    -------
    dict
        JSON-safe: ``thresholds``, ``cost_per_1000`` (one per threshold), ``rows``,
        ``threshold`` (the cheapest; on a tie the one nearest 0.5, the least change from the
        model's own rule) and ``cost`` (its cost per 1,000).
    """
    _check_costs(costs)
    thresholds = np.asarray(counts["thresholds"], dtype=float)
    cost = _per_rows(costs, counts["tp"], counts["fp"], counts["fn"], counts["rows"])
    cheapest = np.flatnonzero(cost <= cost.min() + 1e-9 * max(1.0, abs(cost.min())))
    best = cheapest[np.argmin(np.abs(thresholds[cheapest] - 0.5))]
    return json_safe({"thresholds": thresholds, "cost_per_1000": cost, "rows": counts["rows"],
                      "threshold": thresholds[best], "cost": cost[best]})


def cheapest_threshold(counts: dict[str, Any], costs: Costs) -> tuple[float, float]:
    """The threshold with the least expected cost, and that cost per 1,000 decisions.

    Examples
    --------
    >>> counts = threshold_counts([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 1)
    >>> cheapest_threshold(counts, Costs(fp_cost=1, fn_cost=10))
    (0.35, 250.0)
    """
    curve = cost_curve(counts, costs)
    return curve["threshold"], curve["cost"]


def expected_cost(y_true: Any, y_pred: Any, positive_label: Any, costs: Costs) -> float:
    """Expected cost per 1,000 decisions of predicted labels ``y_pred`` against ``y_true``."""
    y = np.asarray(y_true) == positive_label
    flagged = np.asarray(y_pred) == positive_label
    tp, fp, fn = int((y & flagged).sum()), int((~y & flagged).sum()), int((y & ~flagged).sum())
    return float(_per_rows(costs, tp, fp, fn, len(y)))


def cost_summary(result: TrainResult, costs: Costs) -> dict[str, Any]:
    """What ``costs`` mean for a trained two-class model: the threshold they choose and its price.

    The threshold is the cheapest on the validation folds' predictions, kept by training in
    ``result.evaluation["validation_threshold_counts"]`` (runs trained before they were kept
    have none: ``chosen_threshold`` is then None). The test rows give the expected cost at that
    threshold, at the model's own threshold and at the default 0.5.

    Parameters
    ----------
    result : TrainResult
        A binary run whose model gives probabilities.
    costs : Costs
        The stated costs (at least one of them non-zero).

    Returns
    -------
    dict
        JSON-safe: ``costs``, ``positive_label``, ``validation`` (the cost curve of
        :func:`cost_curve`, or None), ``chosen_threshold``, ``model_threshold``, ``applied``
        (the model already uses the chosen threshold for these costs), ``test`` (``rows``,
        ``thresholds`` and ``cost_per_1000``, the same curve on the test rows, and
        ``at_chosen``, ``at_model``, ``at_default``) and ``sentence`` (in plain words).

    Raises
    ------
    TabwrightError
        When the run is not binary or its model gives no probabilities.
    """
    _check_costs(costs)
    if result.task != "binary":
        raise TabwrightError(f"Costs of mistakes apply to two-class models, got a {result.task} task.",
                             "Use them with a target that has two values.")
    positive = result.evaluation.get("positive_label", result.classes[1])
    p = _predict(result.pipeline, result.X_test, result.y_test, threshold=None,
                 positive_label=positive)
    if p["score_kind"] != "probability":
        raise TabwrightError("Choosing a threshold from costs needs a model that gives "
                             "probabilities, and this one gives none.",
                             "Choose a model with probabilities (e.g. logistic regression or "
                             "gradient boosting) on the Model page and train again.")
    proba = p["scores"] if p["pos_idx"] == 1 else p["scores"][:, ::-1]
    classes = np.array([p["classes"][1 - p["pos_idx"]], positive], dtype=object)
    y_test = np.asarray(result.y_test)
    counts = result.evaluation.get("validation_threshold_counts")
    validation = cost_curve(counts, costs) if counts else None
    chosen = validation["threshold"] if validation else None
    model_threshold = 0.5 if result.threshold is None else float(result.threshold)

    def at(threshold: float | None) -> float:
        return expected_cost(y_test, binary_labels(proba, classes, threshold), positive, costs)

    # At the validation's thresholds, so the two curves share their points.
    test_curve = cost_curve(threshold_counts(y_test, proba[:, 1], positive,
                                             thresholds=counts["thresholds"] if counts else None),
                            costs)
    applied = (chosen is not None and result.recipe.imbalance.costs == costs
               and abs(model_threshold - chosen) <= 1e-9)
    summary = {
        "costs": dataclasses.asdict(costs),
        "positive_label": positive,
        "validation": validation,
        "chosen_threshold": chosen,
        "model_threshold": model_threshold,
        "applied": applied,
        "test": {"rows": len(y_test), "thresholds": test_curve["thresholds"],
                 "cost_per_1000": test_curve["cost_per_1000"],
                 "at_chosen": None if chosen is None else at(chosen),
                 "at_model": at(model_threshold),
                 "at_default": at(None)},
    }
    summary["sentence"] = _sentence(summary)
    return json_safe(summary)


def _money(value: float) -> str:
    return format_number(round(value, 2))


def _sentence(summary: dict[str, Any]) -> str:
    test = summary["test"]
    chosen = summary["chosen_threshold"]
    default = f"{_money(test['at_default'])} at the default 0.5"
    if chosen is None:
        return (f"On the test rows this model costs {_money(test['at_model'])} per 1,000 "
                f"decisions at its threshold {summary['model_threshold']:.3g} ({default}). "
                "Choosing the threshold for these costs needs the validation predictions, "
                "which this run did not keep: train again.")
    saving = test["at_default"] - test["at_chosen"]
    change = (f"{_money(saving)} less" if saving > 0 else
              f"{_money(-saving)} more" if saving < 0 else "the same")
    return (f"For these costs the cheapest threshold on the validation folds is {chosen:.3g}. "
            f"On the test rows it costs {_money(test['at_chosen'])} per 1,000 decisions, "
            f"against {default}: {change}.")


def _check_costs(costs: Costs) -> None:
    costs.validate()
    if not costs.stated:
        raise TabwrightError("At least one cost or gain must be above 0, got all zero.",
                             "Say what a false positive and a false negative cost you.")
