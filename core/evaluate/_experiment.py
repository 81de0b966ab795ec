"""Define and iterate: the plan of a run, the good-enough bar, and what to try next.

A run is an experiment. Before it, :func:`training_plan` says what will happen (models,
validation, rows, what is skipped or sampled and why, a rough time). After it,
:func:`bar_verdict` compares the test score with the bar the user set on the Define page, and
:func:`suggest_next` turns the diagnostics (over/underfitting, the learning curve, class
imbalance) into the next experiment; the cheap ones are one :func:`apply_next_step` away.
:func:`measure_latency` checks the latency constraint, and :func:`readable_model` shows the
model itself when interpretability is required.

Everything here returns plain data; the pages only draw it.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.tree import BaseDecisionTree, export_text

from core import catalogue
from core.errors import TabwrightError
from core.evaluate._heldout import diagnose_fit, permutation_importance_data
from core.formatting import format_percent
from core.metrics import METRICS, THRESHOLD_METRICS
from core.recipe import Brief, ModelChoice, Recipe
from core.run import TrainResult
from core.settings import current as current_limits
from core.settings import thread_limit

MINORITY_SHARE = 0.25
"""A class with less than this share of the training rows counts as imbalanced."""
LATENCY_BUDGET_SECONDS = 1.0
"""Longest time :func:`measure_latency` spends timing single-row predictions."""
TOP_COEFFICIENTS = 20
TREE_TEXT_DEPTH = 6


# --------------------------------------------------------------------------- the plan


# --------------------------------------------------------------------------- the bar


def bar_verdict(brief: Brief, result: TrainResult, *, previous: dict[str, Any] | None = None
                ) -> dict[str, Any]:
    """Is the test score good enough? Compared with the bar set on the Define page.

    Parameters
    ----------
    brief : Brief
        ``bar_metric`` and ``bar_value`` (and optionally ``ideal_value``).
    result : TrainResult
        The run to judge; its test-set metrics are used.
    previous : dict, optional
        The run before it, as ``{"run_id", "test_metrics": {metric: value}}`` (e.g. a row of
        :meth:`core.deliver._history.RunStore.list_runs`); adds how much this run improved on it.

    Returns
    -------
    dict
        ``status`` — ``"met"``, ``"not met"``, ``"no bar"`` or ``"unknown"`` (the metric is not
        measured for this task) —, ``metric``, ``label``, ``value`` (test score), ``bar``,
        ``greater_is_better``, ``margin`` (how far past the bar, positive = better),
        ``noise`` (the fold-to-fold std of the metric in cross-validation, or None),
        ``sentence``, and ``improvement`` (``{"run_id", "before", "after", "change",
        "within_noise", "sentence"}`` or None).
    """
    scores = (result.evaluation or {}).get("metrics", {})
    metric = brief.bar_metric or result.metric
    info = METRICS.get(metric)
    greater = info.greater_is_better if info else True
    label = info.label if info else metric
    value = scores.get(metric)
    noise = _cv_std(result, metric)
    out: dict[str, Any] = {"metric": metric, "label": label, "value": value,
                           "bar": brief.bar_value, "greater_is_better": greater, "margin": None,
                           "noise": noise, "improvement": None}
    where = "on the test set" if result.task != "clustering" else "on the training sample"
    shown = _fmt(value)
    if brief.bar_metric is None or brief.bar_value is None:
        out |= {"status": "no bar",
                "sentence": (f"{label} {shown} {where}. No good-enough bar is set: set one on the "
                             "Define page to know when to stop.")}
    elif value is None:
        out |= {"status": "unknown",
                "sentence": (f"Your bar is on {label}, which is not measured for a "
                             f"{result.task} model {where}. Choose another bar metric on the "
                             "Define page.")}
    else:
        margin = value - brief.bar_value if greater else brief.bar_value - value
        met = margin >= 0
        sign = "≥" if greater else "≤"
        out |= {"status": "met" if met else "not met", "margin": margin,
                "sentence": (f"{label} {shown} {where}; your bar is {sign} {_fmt(brief.bar_value)}: "
                             f"{'met' if met else 'not met'}"
                             + (f" (by {_fmt(abs(margin))})" if margin else "") + ".")}
        if met and noise is not None and margin < noise:
            out["sentence"] += (f" The margin is smaller than the fold-to-fold spread "
                                f"({_fmt(noise)}), so another split could fall short.")
    if previous is not None:
        out["improvement"] = _improvement(previous, metric, value, greater, noise, label)
    return out


def _improvement(previous: dict[str, Any], metric: str, value: float | None, greater: bool,
                 noise: float | None, label: str) -> dict[str, Any] | None:
    before = (previous.get("test_metrics") or {}).get(metric)
    if before is None or value is None:
        return None
    change = value - before if greater else before - value
    within = noise is not None and abs(change) <= noise
    noise_text = f" ± {_fmt(noise)}" if noise is not None else ""
    if within:
        words = f"changed by {_fmt(change)}{noise_text}: within noise, no real difference"
    elif change > 0:
        words = f"improved by {_fmt(change)}{noise_text}"
    elif change < 0:
        words = f"got worse by {_fmt(-change)}{noise_text}"
    else:
        words = "did not change"
    sentence = f"Against the previous run: {label} {_fmt(before)} → {_fmt(value)}, {words}."
    return {"run_id": previous.get("run_id"), "before": before, "after": value,
            "change": change, "within_noise": within, "sentence": sentence}


def _cv_std(result: TrainResult, metric: str) -> float | None:
    board = [r for r in result.leaderboard if r.get("status", "ok") == "ok"]
    if not board:
        return None
    std = board[0].get(f"{metric}_std")
    return None if std is None or (isinstance(std, float) and math.isnan(std)) else float(std)


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    value = float(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.4g}"


# --------------------------------------------------------------------------- what next


def fit_diagnosis(result: TrainResult) -> dict[str, Any] | None:
    """:func:`core.evaluate._heldout.diagnose_fit` for the best model of a run (None when not possible)."""
    board = [r for r in result.leaderboard if r.get("status", "ok") == "ok"]
    if result.train_score is None or not board or result.task == "clustering":
        return None
    best = board[0]
    mean, std = best.get(result.metric), best.get(f"{result.metric}_std")
    if mean is None or std is None:
        return None
    return diagnose_fit(train_score=result.train_score, cv_mean=mean, cv_std=std,
                        metric=result.metric,
                        greater_is_better=METRICS[result.metric].greater_is_better)


def minority_share(result: TrainResult) -> float | None:
    """Share of the rarest class among the training rows (None for regression/clustering)."""
    if result.task not in ("binary", "multiclass") or result.y_train is None or not len(result.y_train):
        return None
    return float(pd.Series(result.y_train).value_counts(normalize=True).min())


def suggest_next(result: TrainResult, verdict: dict[str, Any], *, learning_curve: dict[str, Any] | None = None
                 ) -> list[dict[str, Any]]:
    """The next experiments, most useful first.

    Each suggestion is ``{"title", "why", "action"}``. ``action`` is None (advice only), a
    recipe change ``{"kind": "recipe", "change": <name for apply_next_step>, "label"}`` or a
    page to go to ``{"kind": "page", "page": "export" | "train" | ...}``.
    """
    recipe = result.original_recipe
    chosen = {m.name for m in recipe.models}
    best = result.recipe.models[0].name if result.recipe.models else None
    best_spec = catalogue.get(best) if best else None
    suggestions: list[dict[str, Any]] = []

    def add(title: str, why: str, action: dict[str, Any] | None = None) -> None:
        suggestions.append({"title": title, "why": why, "action": action})

    def recipe_action(change: str, label: str) -> dict[str, Any]:
        return {"kind": "recipe", "change": change, "label": label}

    if verdict.get("status") == "met":
        if recipe.auto:
            add("Give auto mode more time",
                "The bar is met. A larger budget lets the search try more settings; stop when "
                "the gain is within noise.", recipe_action("more_time", "Double the budget"))
        elif recipe.search.method == "none" and any(catalogue.get(n).space for n in chosen):
            add("Tune the hyperparameters",
                "The bar is met with default settings; a search may add a margin of safety.",
                recipe_action("tune", "Switch on Optuna search"))
        add("Export the model",
            "The bar is met: download the model, its card and the report, or serve it.",
            {"kind": "page", "page": "export"})
        return suggestions

    if result.task == "clustering":
        add("Try other columns or another algorithm",
            "Clusters depend entirely on which columns are used and how they are scaled; drop "
            "columns that should not define groups on the Prepare page.", None)
        return suggestions

    diagnosis = fit_diagnosis(result)
    fit = diagnosis["verdict"] if diagnosis else None
    if fit == "overfitting":
        if not recipe.auto and any(n in _REGULARISE for n in chosen):
            add("Regularise more",
                f"{diagnosis['explanation']} Stronger regularisation makes the model simpler.",
                recipe_action("regularise", "Use stronger regularisation"))
        else:
            add("Use a simpler model or stronger regularisation", diagnosis["explanation"], None)
        add("Get more data", "Overfitting shrinks as the model sees more examples of each pattern.")
    elif fit == "underfitting":
        if "hist_gradient_boosting" not in chosen and not recipe.auto and best != "hist_gradient_boosting":
            add("Try gradient boosting",
                f"{diagnosis['explanation']} Gradient boosting finds non-linear patterns and "
                "interactions a linear model cannot.",
                recipe_action("add_hist_gradient_boosting", "Add gradient boosting"))
        add("Add features", "The model cannot fit even its training data: give it more information "
            "(more columns, interactions, better-prepared columns on the Prepare page).")
    elif fit == "good fit":
        add("Add or improve features",
            f"{diagnosis['explanation']} Validation keeps up with training, so the model is not "
            "the limit: it needs more information (more columns, better-prepared ones on the "
            "Prepare page, interactions).")
    if learning_curve and learning_curve.get("verdict") == "more data would likely help":
        add("Get more data", learning_curve.get("explanation", "The learning curve is still rising."))

    bar_metric = verdict.get("metric")
    if result.task == "binary" and bar_metric in THRESHOLD_METRICS and \
            not recipe.imbalance.tune_threshold and recipe.imbalance.threshold is None:
        add("Tune the decision threshold",
            f"{METRICS[bar_metric].label} depends on the cut-off between the classes "
            "(0.5 now). Tuning it on validation folds (for F1, balanced accuracy or MCC) moves "
            "it; the ROC and precision-recall curves show the whole trade-off.",
            recipe_action("tune_threshold", "Switch on threshold tuning"))
    share = minority_share(result)
    if share is not None and share < MINORITY_SHARE:
        weighted = recipe.imbalance.class_weight != "none"
        supports = any(catalogue.get(n).class_weight for n in (chosen or ({best} if best else set())))
        if not weighted and (supports or recipe.auto):
            add("Weight the rare class",
                f"The rarest class is {format_percent(share)} of the training rows; class weights make its "
                "mistakes count as much as the common class's.",
                recipe_action("class_weight", "Switch on class weights"))
        if result.task == "binary" and not recipe.imbalance.tune_threshold and recipe.imbalance.threshold is None:
            add("Tune the decision threshold",
                "With a rare class, 0.5 is rarely the best cut-off; tuning it on validation folds "
                "trades precision for recall where your metric wants it.",
                recipe_action("tune_threshold", "Switch on threshold tuning"))

    if not recipe.auto and "hist_gradient_boosting" not in chosen and best_spec is not None \
            and best_spec.style == "linear" and fit != "underfitting" and not recipe.brief.interpretable:
        add("Try gradient boosting",
            "Usually the strongest model family on tables; a different family is the quickest "
            "way to see whether the features hold more signal.",
            recipe_action("add_hist_gradient_boosting", "Add gradient boosting"))
    if recipe.auto:
        add("Give auto mode more time",
            "More time lets the search try more models and settings.",
            recipe_action("more_time", "Double the budget"))
    if not suggestions:
        add("Look at the worst errors",
            "No single diagnosis stands out: the rows the model gets most wrong often show a "
            "missing feature or a data problem.")
    return _unique(suggestions)


def _unique(suggestions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for s in suggestions:
        if s["title"] not in seen:
            seen.add(s["title"])
            out.append(s)
    return out


"""Metrics computed from predicted labels, which move with the decision threshold."""

# Stronger-than-default settings for "regularise more", by model.
_REGULARISE: dict[str, dict[str, Any]] = {
    "logistic_regression": {"C": 0.1},
    "linear_svm": {"C": 0.1},
    "ridge": {"alpha": 10.0},
    "lasso": {"alpha": 3.0},
    "elastic_net": {"alpha": 3.0},
    "decision_tree": {"max_depth": 4, "min_samples_leaf": 20},
    "random_forest": {"min_samples_leaf": 5, "max_features": 0.3},
    "extra_trees": {"min_samples_leaf": 5, "max_features": 0.3},
    "hist_gradient_boosting": {"min_samples_leaf": 50, "l2_regularization": 1.0, "max_leaf_nodes": 15},
    "catboost": {"depth": 4, "l2_leaf_reg": 10.0},
    "mlp": {"alpha": 0.01},
    "knn": {"n_neighbors": 45},
}
NEXT_STEPS = ("class_weight", "tune_threshold", "add_hist_gradient_boosting", "regularise", "tune",
              "more_time")


def apply_next_step(recipe: Recipe, change: str) -> Recipe:
    """A new recipe with one suggested change applied (see :func:`suggest_next`)."""
    r = recipe.copy()
    if change == "class_weight":
        r.imbalance.class_weight = "balanced"
    elif change == "tune_threshold":
        r.imbalance.tune_threshold = True
        r.imbalance.threshold = None
    elif change == "add_hist_gradient_boosting":
        if r.auto:
            raise TabwrightError("Auto mode already tries gradient boosting.",
                                 "Switch auto mode off on the Model page to choose models yourself.")
        if not any(m.name == "hist_gradient_boosting" for m in r.models):
            r.models.append(ModelChoice("hist_gradient_boosting"))
    elif change == "regularise":
        for choice in r.models:
            stronger = _REGULARISE.get(choice.name)
            if stronger:
                choice.params = {**choice.params, **stronger}
    elif change == "tune":
        r.search.method = "optuna"
    elif change == "more_time":
        r.time_budget = min(r.time_budget * 2, float(current_limits().max_training_seconds))
    else:
        raise TabwrightError(f"Unknown next step {change!r}.", f"Choose one of: {', '.join(NEXT_STEPS)}.")
    return r.validate()


# --------------------------------------------------------------------------- constraints


def measure_latency(pipeline: Any, X: pd.DataFrame, *, rows: int = 200) -> float:
    """Median milliseconds to predict one row, as a single request would.

    Times ``pipeline.predict`` on up to ``rows`` single rows of ``X`` (stopping after
    ``LATENCY_BUDGET_SECONDS``), after one warm-up call.
    """
    if len(X) == 0:
        raise TabwrightError("Latency needs at least one row to time.", "Use a larger test split.")
    if rows < 1:
        raise TabwrightError(f"rows must be at least 1, got {rows}.", "Time at least one row.")
    with thread_limit():
        return _median_latency(pipeline, X, rows)


def _median_latency(pipeline: Any, X: pd.DataFrame, rows: int) -> float:
    pipeline.predict(X.iloc[:1])
    timings: list[float] = []
    deadline = time.perf_counter() + LATENCY_BUDGET_SECONDS
    for i in range(min(rows, len(X))):
        started = time.perf_counter()
        pipeline.predict(X.iloc[i:i + 1])
        timings.append((time.perf_counter() - started) * 1000)
        if time.perf_counter() > deadline:
            break
    return float(statistics.median(timings))


def latency_verdict(ms_per_row: float, max_latency_ms: float | None) -> dict[str, Any]:
    """``{"status": "met" | "not met" | "no limit", "sentence"}`` for the latency constraint."""
    shown = f"{ms_per_row:.2f} ms" if ms_per_row < 10 else f"{ms_per_row:.0f} ms"
    if max_latency_ms is None:
        return {"status": "no limit", "ms": ms_per_row,
                "sentence": f"One prediction takes about {shown} here (no latency limit set)."}
    met = ms_per_row <= max_latency_ms
    return {"status": "met" if met else "not met", "ms": ms_per_row,
            "sentence": (f"One prediction takes about {shown} here; your limit is "
                         f"{max_latency_ms:g} ms: {'met' if met else 'not met'}."
                         + ("" if met else " Try a smaller model (fewer trees, a linear model).")),
            }


# --------------------------------------------------------------------------- the model itself


def _final_estimator(model: Any) -> Any:
    """The fitted pipeline inside a threshold wrapper (or the model itself)."""
    return getattr(model, "estimator_", model)


def encoded_feature_names(pipeline: Any) -> list[str]:
    """Names of the model's inputs after preparation, without the transformer prefixes."""
    names = pipeline[:-1].get_feature_names_out()
    return [str(n).split("__", 1)[-1] for n in names]


def model_coefficients(model: Any, *, top: int = TOP_COEFFICIENTS) -> pd.DataFrame | None:
    """A linear model's largest coefficients by magnitude, per class when there are several.

    Returns a frame with ``feature``, ``coefficient`` (and ``class`` for multiclass), or None
    when the model is not a single linear model.
    """
    pipeline = _final_estimator(model)
    steps = getattr(pipeline, "steps", None)
    if not steps or len(steps) < 2:
        return None
    estimator = steps[-1][1]
    coef = getattr(estimator, "coef_", None)
    if coef is None:
        return None
    coef = np.atleast_2d(np.asarray(coef, dtype=float))
    names = encoded_feature_names(pipeline)
    if coef.shape[1] != len(names):
        return None
    if coef.shape[0] == 1:
        frame = pd.DataFrame({"feature": names, "coefficient": coef[0]})
    else:
        classes = getattr(estimator, "classes_", range(coef.shape[0]))
        frame = pd.concat([pd.DataFrame({"class": str(c), "feature": names, "coefficient": row})
                           for c, row in zip(classes, coef)], ignore_index=True)
    order = frame["coefficient"].abs().sort_values(ascending=False, kind="stable").index
    return frame.loc[order].head(top).reset_index(drop=True)


def tree_text(model: Any, *, max_depth: int = TREE_TEXT_DEPTH) -> str | None:
    """A decision tree as indented if/else text, or None when the model is not one tree."""

    pipeline = _final_estimator(model)
    steps = getattr(pipeline, "steps", None)
    if not steps or not isinstance(steps[-1][1], BaseDecisionTree) or len(steps) < 2:
        return None
    names = encoded_feature_names(pipeline)
    return export_text(steps[-1][1], feature_names=names, max_depth=max_depth, decimals=3)


def readable_model(model: Any) -> dict[str, Any]:
    """The model itself, for "interpretability required": coefficients or the tree as text.

    Returns ``{"kind": "coefficients", "table": DataFrame}``, ``{"kind": "tree", "text": str}``
    or ``{"kind": None, "sentence": why not}``.
    """
    coefficients = model_coefficients(model)
    if coefficients is not None:
        return {"kind": "coefficients", "table": coefficients}
    text = tree_text(model)
    if text is not None:
        return {"kind": "tree", "text": text}
    return {"kind": None,
            "sentence": "This model cannot be read directly (it is not one linear model or one "
                        "tree). Permutation importance below shows which columns it relies on."}


# --------------------------------------------------------------------------- diagnostics

_SCORERS = {
    "roc_auc": "roc_auc", "average_precision": "average_precision", "accuracy": "accuracy",
    "balanced_accuracy": "balanced_accuracy", "f1": "f1", "precision": "precision",
    "recall": "recall", "f1_macro": "f1_macro", "f1_weighted": "f1_weighted",
    "log_loss": "neg_log_loss", "mcc": "matthews_corrcoef",
    "rmse": "neg_root_mean_squared_error", "mae": "neg_mean_absolute_error", "r2": "r2",
    "mape": "neg_mean_absolute_percentage_error", "median_ae": "neg_median_absolute_error",
}


def scorer_name(result: TrainResult) -> str:
    """The scikit-learn scorer for a run's metric (errors are ``neg_``: greater is better).

    scikit-learn's ``f1``/``precision``/``recall`` scorers take class 1 as positive; when the
    run's positive class is not 1 they would score the wrong class, so balanced accuracy is
    used instead. Multiclass ROC-AUC uses the one-vs-rest scorer.
    """
    metric = result.metric
    if result.task == "multiclass" and metric == "roc_auc":
        return "roc_auc_ovr"
    if metric in ("f1", "precision", "recall") and (result.classes or [None, None])[1] != 1:
        return "balanced_accuracy"
    return _SCORERS.get(metric, "accuracy" if result.task != "regression" else "r2")


IMPORTANCE_MAX_COLUMNS = 100
"""Most columns the Evaluate page shuffles for importance (a wide table's strongest ones)."""


def importance_for(result: TrainResult, *, seed: int | None = None) -> list[dict[str, Any]]:
    """:func:`core.evaluate._heldout.permutation_importance_data` of a run's model on its test rows."""

    if result.task == "clustering" or result.y_test is None:
        raise TabwrightError("Permutation importance needs a target to score against.",
                             "It applies to classification and regression runs.")
    with thread_limit():
        return permutation_importance_data(result.pipeline, result.X_test, result.y_test,
                                           scoring=scorer_name(result),
                                           seed=result.recipe.seed if seed is None else seed,
                                           max_columns=IMPORTANCE_MAX_COLUMNS)
