"""The report: one trained run explained, first as JSON-safe data, then as HTML or Markdown.

:func:`build_report` gathers everything a reader needs — the data, what the checks found and
what was done about it, the recipe in plain sentences, the leaderboard, every evaluation plot
(as plotly figure JSON), the fit diagnosis, permutation importance, the brief and the model
card — into one dict that ``json.dumps`` accepts. :func:`render_html` turns it into one
self-contained HTML file (plotly.js inlined once, no network needed) and
:func:`render_markdown` into tables and sentences.

Safety: the HTML template is rendered with autoescaping, so every data-derived string (column
names, values, file names) is escaped. The only markup inserted unescaped is plotly's own:
plotly.js itself and each figure's ``<div>`` + ``<script>``, where plotly JSON-encodes the data
and escapes ``<``, ``>`` and ``/``, so a value like ``</script>`` cannot end the script.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from plotly.offline import get_plotlyjs
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline

from core import catalogue
from core.deliver._card import model_card
from core.deliver._drift import drift_figure
from core.errors import TabwrightError
from core.estimators import FOLD_BAGS
from core.evaluate import (
    decisions_report,
    diagnose_fit,
    figures,
    group_rows_table,
    partial_dependence_report,
    permutation_importance_data,
)
from core.formatting import format_percent, json_safe
from core.ingest import describe_joins
from core.metrics import (
    METRICS,
    is_default_threshold,
    metric_help,
    metric_label,
    score,
)
from core.plotting import escaped
from core.recipe import Recipe
from core.run import TrainResult

REPORT_FORMAT = "tabwright-report/1"
IMPORTANCE_ROWS = 1_000
"""Most test rows used for permutation importance in the report (it refits nothing, but
predicts ``columns × repeats`` times)."""
IMPORTANCE_REPEATS = 3
"""Shuffles per column in the report (the Evaluate page does 5 on more rows): enough to rank
the columns, and the whole bundle stays within a tenth of a training budget."""
IMPORTANCE_COLUMNS = 30
"""Most columns the report shuffles: those the predictions follow most closely (a wide
table's report would otherwise predict once per column and repeat)."""
MAX_NAMED_COLUMNS = 10
"""Columns named one by one in a recipe sentence before the rest are counted."""
TEMPLATES = Path(__file__).parent / "templates"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    # HTML templates (report.html.j2) are escaped; the Markdown one escapes with its own filter.
    autoescape=select_autoescape(enabled_extensions=("html", "html.j2"),
                                 disabled_extensions=("md.j2",), default=True,
                                 default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


# --------------------------------------------------------------------------- building the data


def build_report(result: TrainResult, *, project_name: str = "tabwright model", profile: Any = None,
                 data_name: str = "data.csv", drift: dict[str, Any] | None = None,
                 learning_curve: dict[str, Any] | None = None,
                 importance: list[dict[str, Any]] | None = None,
                 recipe: Recipe | None = None, frame: pd.DataFrame | None = None) -> dict[str, Any]:
    """Everything about one trained run, as JSON-safe data.

    Parameters
    ----------
    result : core.train._runner.TrainResult
    project_name : str
        The report's title.
    profile : core.explore._profile.Profile, optional
        The data profile; gives the data summary and the findings. Without it the summary
        comes from the training result alone and there are no findings.
    data_name : str
        The training file's name, as the user knows it.
    drift : dict, optional
        A :func:`core.deliver._drift.check_drift` result to include.
    learning_curve : dict, optional
        A :func:`core.evaluate._heldout.learning_curve_data` result to include (it refits the model,
        so the report does not compute it itself).
    importance : list of dict, optional
        Precomputed :func:`core.evaluate._heldout.permutation_importance_data` rows; computed on at
        most ``IMPORTANCE_ROWS`` test rows when omitted.
    recipe : Recipe, optional
        The project's recipe as it reads now, for the costs of mistakes and the sensitive
        columns (marking them does not retrain); the run's own recipe when omitted.
    frame : DataFrame, optional
        The training table, for sensitive columns that are not model inputs (without it their
        groups are reported as not available).

    Returns
    -------
    dict
        Keys: ``format``, ``title``, ``created``, ``data_name``, ``summary``, ``brief``,
        ``bar``, ``data``, ``findings``, ``recipe_sentences``, ``recipe``, ``leaderboard``,
        ``evaluation``, ``diagnostics``, ``dependence`` (a sentence per partial-dependence
        curve), ``decisions`` (costs and fairness, or None), ``figures`` (``[{"id", "title",
        "section", "figure"}]``, figure = plotly JSON), ``drift``, ``notes``, ``model_card``.
    """

    decisions = _decisions(result, recipe or result.recipe, frame)
    recipe = result.recipe
    metric = result.metric
    best_row = result.leaderboard[0] if result.leaderboard else {}
    evaluation = result.evaluation or {}
    profile_data = profile.to_dict() if profile is not None else None
    if importance is None:
        importance = _importance(result)
    fit = _fit_diagnosis(result, best_row)
    bar = _bar(recipe.brief, evaluation.get("metrics", {}))
    figs = _figures(result, importance, learning_curve, drift)
    dependence = _dependence(result, importance)
    figs += [{k: d[k] for k in ("id", "section", "title", "figure")} for d in dependence]
    notes = list(result.notes) + ([result.noise_note] if result.noise_note else [])
    report = {
        "format": REPORT_FORMAT,
        "title": project_name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data_name": data_name,
        "summary": _summary(result, best_row, bar),
        "brief": _brief(recipe.brief),
        "bar": bar,
        "data": _data_summary(result, profile_data),
        "findings": _findings(result, profile_data),
        "recipe_sentences": recipe_sentences(result),
        "recipe": recipe.to_dict(),
        "leaderboard": {"metric": metric,
                        # what the rows are ranked by (log loss for auto's multiclass accuracy)
                        "metric_label": _metric_label(recipe.rank_metric or metric),
                        "metrics": [k[:-4] for k in best_row if k.endswith("_std")] or [metric],
                        "rows": result.leaderboard},
        "evaluation": _evaluation_summary(evaluation),
        "diagnostics": {"fit": fit, "importance": importance, "learning_curve": learning_curve},
        "dependence": [{"id": d["id"], "feature": d["feature"], "sentence": d["sentence"]}
                       for d in dependence],
        "decisions": _decisions_display(decisions),
        "figures": figs,
        "drift": drift,
        "notes": notes,
        "model_card": model_card(result, data_name=data_name),
    }
    return json_safe(report)


def _metric_label(metric: str) -> str:
    return metric_label(metric)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.4g}"
    return str(value)


def _summary(result: TrainResult, best_row: dict[str, Any], bar: dict[str, Any] | None) -> dict[str, Any]:
    metric = result.metric
    test_value = (result.evaluation or {}).get("metrics", {}).get(metric)
    label = best_row.get("label") or result.best
    if result.task == "clustering":
        headline = (f"{label} found {result.evaluation.get('n_clusters')} clusters "
                    f"(silhouette {_fmt(best_row.get(metric))}).")
    else:
        headline = (f"{label} predicts {result.recipe.target!r} ({result.task}) with "
                    f"{_metric_label(metric)} {_fmt(best_row.get(metric))} ± "
                    f"{_fmt(best_row.get(f'{metric}_std'))} in {result.cv_description} and "
                    f"{_fmt(test_value)} on {result.n_test:,} held-out test rows.")
    if bar:
        headline += " " + bar["sentence"]
    return {"headline": headline, "model": result.best, "model_label": label, "task": result.task,
            "target": result.recipe.target, "metric": metric, "cv_mean": best_row.get(metric),
            "cv_std": best_row.get(f"{metric}_std"), "test_value": test_value,
            "n_train": result.n_train, "n_test": result.n_test, "seconds": result.seconds,
            "threshold": result.threshold, "cancelled": result.cancelled}


def _brief(brief: Any) -> dict[str, Any] | None:
    data = {"problem": brief.problem, "decision": brief.decision, "bar_metric": brief.bar_metric,
            "bar_value": brief.bar_value, "ideal_value": brief.ideal_value,
            "interpretable": brief.interpretable, "max_latency_ms": brief.max_latency_ms,
            "max_training_seconds": brief.max_training_seconds}
    return data if any(v not in (None, "", False) for v in data.values()) else None


def _bar(brief: Any, test_metrics: dict[str, Any]) -> dict[str, Any] | None:
    """Whether the test score clears the good-enough bar from the brief."""
    if not brief.bar_metric or brief.bar_value is None:
        return None
    name, wanted = brief.bar_metric, float(brief.bar_value)
    achieved = test_metrics.get(name)
    greater = METRICS[name].greater_is_better if name in METRICS else True
    if achieved is None:
        met = None
        sentence = f"The good-enough bar ({name} {'≥' if greater else '≤'} {wanted:g}) could not be checked: no test {name}."
    else:
        met = achieved >= wanted if greater else achieved <= wanted
        sentence = (f"Test {name} {_fmt(achieved)} {'clears' if met else 'misses'} the good-enough "
                    f"bar of {wanted:g}.")
    return {"metric": name, "value": wanted, "ideal": brief.ideal_value, "achieved": achieved,
            "met": met, "greater_is_better": greater, "sentence": sentence}


def _data_summary(result: TrainResult, profile: dict[str, Any] | None) -> dict[str, Any]:
    roles = dict(result.plan.roles)
    if profile is not None:
        columns = [{"name": c["name"], "role": c["role"], "dtype": c["dtype"],
                    "missing_fraction": c["missing_fraction"], "n_unique": c["n_unique"],
                    "used_as": _used_as(c["name"], result)}
                   for c in profile["columns"]]
        return {"rows": profile["rows"], "n_columns": profile["n_columns"], "columns": columns,
                "target": result.recipe.target, "task": result.task,
                "duplicate_rows": profile["duplicate_rows"],
                "missing_cell_fraction": profile["missing_cell_fraction"],
                "rows_train": result.n_train, "rows_test": result.n_test,
                "rows_final": result.final_rows, "from_profile": True}
    columns = [{"name": name, "role": role, "dtype": str(result.X_train[name].dtype),
                "missing_fraction": float(result.X_train[name].isna().mean()), "n_unique": None,
                "used_as": _used_as(name, result)} for name, role in roles.items()]
    columns += [{"name": name, "role": None, "dtype": None, "missing_fraction": None,
                 "n_unique": None, "used_as": _used_as(name, result)} for name in result.plan.dropped]
    return {"rows": result.n_train + result.n_test, "n_columns": len(columns) + bool(result.recipe.target),
            "columns": columns, "target": result.recipe.target, "task": result.task,
            "duplicate_rows": None, "missing_cell_fraction": None,
            "rows_train": result.n_train, "rows_test": result.n_test,
            "rows_final": result.final_rows, "from_profile": False}


def _used_as(column: str, result: TrainResult) -> str:
    if column == result.recipe.target:
        return "target"
    if column in result.plan.dropped:
        return f"left out: {result.plan.dropped[column]}"
    role = result.plan.roles.get(column)
    return f"feature ({role})" if role else "not used"


# --------------------------------------------------------------------------- findings


def _findings(result: TrainResult, profile: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each finding of the data checks, with what the recipe did about it."""
    if profile is None:
        return []
    return [{"severity": f["severity"], "code": f["code"], "columns": f["columns"],
             "message": f["message"], "why": f.get("why"),
             "suggestion": (f.get("suggestion") or {}).get("label"),
             "handled": _handled(f, result)[0], "action": _handled(f, result)[1]}
            for f in profile["findings"]]


def _handled(finding: dict[str, Any], result: TrainResult) -> tuple[bool | None, str]:
    """(whether the recipe follows the suggestion, a sentence saying what was done)."""
    recipe, plan = result.recipe, result.plan
    suggestion = finding.get("suggestion")
    columns = list(finding.get("columns") or [])
    if not suggestion:
        dropped = [c for c in columns if c in plan.dropped]
        if dropped:
            return True, f"Left out of the model: {_names(dropped)}."
        if finding["code"] == "missing_values":
            return None, "Missing values are filled in inside the pipeline (see the recipe)."
        return None, "No action was suggested."
    action, params = suggestion["action"], suggestion.get("params") or {}
    prep = recipe.column_prep
    if action == "drop_columns":
        wanted = list(params.get("columns", []))
        done = [c for c in wanted if c in plan.dropped]
        if len(done) == len(wanted):
            return True, f"Done: {_names(done)} left out of the model."
        return False, f"Not applied: {_names([c for c in wanted if c not in done])} kept as features."
    if action == "drop_duplicate_rows":
        return (True, "Done: duplicate rows dropped before splitting.") if recipe.drop_duplicate_rows \
            else (False, "Not applied: duplicate rows kept.")
    if action == "add_missing_indicator":
        wanted = list(params.get("columns", []))
        done = [c for c in wanted if prep(c).missing_indicator]
        if len(done) == len(wanted):
            return True, f"Done: a was-missing flag added for {_names(done)}."
        return False, f"Not applied: no was-missing flag for {_names([c for c in wanted if c not in done])}."
    checks: dict[str, tuple[Callable[[], bool], str]] = {
        "set_role": (lambda: recipe.roles.get(params.get("column")) == params.get("role"),
                     f"{params.get('column')!r} treated as {params.get('role')}"),
        "parse_dates": (lambda: recipe.roles.get(params.get("column")) == "datetime",
                        f"{params.get('column')!r} read as dates"),
        "set_encoding": (lambda: prep(params.get("column")).encode == params.get("encoding"),
                         f"{params.get('column')!r} encoded as {params.get('encoding')}"),
        "set_metric": (lambda: result.metric == params.get("metric"),
                       f"models ranked by {params.get('metric')}"),
        "set_class_weight": (lambda: recipe.imbalance.class_weight == params.get("value", "balanced"),
                             "classes weighted by their rarity"),
        "set_outliers": (lambda: prep(params.get("column")).outliers == params.get("method", "clip_iqr"),
                         f"outliers in {params.get('column')!r} handled ({params.get('method', 'clip_iqr')})"),
        "set_imputation": (lambda: prep(params.get("column")).impute == params.get("strategy"),
                           f"missing {params.get('column')!r} filled with {params.get('strategy')}"),
        "set_target": (lambda: recipe.target == params.get("column"),
                       f"{params.get('column')!r} is the target"),
    }
    if action not in checks:
        return None, f"Suggested: {suggestion.get('label')}."
    test, words = checks[action]
    return (True, f"Done: {words}.") if test() else (False, f"Not applied: {suggestion.get('label')}.")


def _names(columns: list[Any]) -> str:
    shown = ", ".join(repr(str(c)) for c in columns[:MAX_NAMED_COLUMNS])
    more = len(columns) - MAX_NAMED_COLUMNS
    return shown + (f" and {more} more" if more > 0 else "")


# --------------------------------------------------------------------------- recipe in words


def recipe_sentences(result: TrainResult) -> list[str]:
    """The resolved recipe as plain sentences, from what the fitted model really does."""
    recipe, original = result.recipe, result.original_recipe
    out: list[str] = list(describe_joins(recipe.joins)) if recipe.joins else []
    if recipe.target:
        out.append(f"The target is {recipe.target!r} ({result.task}).")
        out.append("Rows with a missing target are dropped.")
    if recipe.drop_duplicate_rows:
        out.append("Exact duplicate rows are dropped.")
    for column, why in result.plan.dropped.items():
        out.append(f"Column {column!r} is left out: {why}.")
    out.extend(_split_sentences(result))
    ranked = result.metric
    if recipe.rank_metric and recipe.rank_metric != result.metric:
        ranked = (f"{metric_label(recipe.rank_metric).lower()} (the scores are in "
                  f"{result.metric}: see the notes for why)")
    if original.auto:
        out.append(f"Auto mode for {original.time_budget:g} s: tabwright tried "
                   f"{len(result.leaderboard)} configuration(s) and kept the best by {ranked}.")
    else:
        names = ", ".join(catalogue.get(m.name).label for m in original.models)
        out.append(f"Models compared: {names}; ranked by {ranked}.")
    if original.search.method != "none":
        out.append(f"Hyperparameters searched with {original.search.method} search "
                   f"({original.search.trials} trials per model).")
    for name, pipeline in _member_pipelines(result.pipeline):
        prefix = f"For {name}: " if name else ""
        out.extend(prefix + s for s in _pipeline_sentences(pipeline, result.plan.roles))
    out.extend(_model_sentences(result))
    if recipe.imbalance.class_weight == "balanced" and result.task in ("binary", "multiclass"):
        out.append("Classes are weighted by their rarity (class_weight='balanced').")
    if result.task == "binary" and result.threshold is not None:
        if is_default_threshold(result.threshold):
            out.append(f"A row is predicted positive ({result.classes[1]!r}) when that class is "
                       f"the more probable; a 50/50 tie goes to {result.classes[0]!r}.")
        else:
            out.append(f"A row is predicted positive ({result.classes[1]!r}) when its probability "
                       f"is at least {result.threshold:.3g}.")
    out.append(f"The random seed is {recipe.seed}; the same recipe and file give the same model.")
    return out


def _split_sentences(result: TrainResult) -> list[str]:
    if result.task == "clustering":
        return [f"Clusterings are compared by {result.cv_description}."]
    s, seed = result.recipe.split, result.recipe.seed
    if s.time_column:
        first = f"The latest {s.test_size:.0%} of rows by {s.time_column!r} are held out as the test set."
    elif s.group_column:
        first = (f"{s.test_size:.0%} of the groups in {s.group_column!r} are held out as the test "
                 f"set (seed {seed}).")
    else:
        strat = s.stratify and result.task in ("binary", "multiclass")
        first = (f"{s.test_size:.0%} of rows ({result.n_test:,}) are held out as the test set"
                 f"{', stratified by class' if strat else ''} (seed {seed}).")
    cv = result.cv_description
    return [first, f"Models are compared with {cv} on the {result.n_train:,} training rows."]


def _member_pipelines(model: Any) -> list[tuple[str, Any]]:
    """The pipelines inside a final model: one, or one per ensemble member."""
    inner = model
    if not isinstance(inner, Pipeline):  # a FixedThresholdClassifier around the model
        fitted = getattr(inner, "estimator_", None)
        inner = fitted if fitted is not None else inner.estimator
    if isinstance(inner, Pipeline) and "prep" not in inner.named_steps:
        voting = inner.steps[-1][1]
        if isinstance(voting, FOLD_BAGS):  # one model's fold copies, all prepared alike
            return [("", _one_copy(voting))]
        members = getattr(voting, "named_estimators_", None) or dict(voting.estimators)
        return [(name, _one_copy(est)) for name, est in members.items()]
    return [("", inner)]


def _one_copy(model: Any) -> Any:
    """A fold bag's first copy (every copy has the same steps), or the model itself."""
    if isinstance(model, FOLD_BAGS):
        return model.estimators_[0] if hasattr(model, "estimators_") else model.estimator
    return model


_SCALERS = {"StandardScaler": "standardised (mean 0, standard deviation 1)",
            "MinMaxScaler": "scaled to the range 0–1",
            "RobustScaler": "scaled by median and interquartile range",
            "PowerTransformer": "Yeo-Johnson transformed and standardised"}


def _step_words(step: Any, branch_name: str) -> str | None:
    kind = type(step).__name__
    if kind in ("ToString", "TextColumn", "Float32"):
        return None
    if kind == "SimpleImputer":
        words = {"median": "missing values filled with the median",
                 "mean": "missing values filled with the mean",
                 "most_frequent": "missing values filled with the most frequent value"}.get(
            step.strategy, f"missing values filled with {step.fill_value!r}")
        return words + (", with a was-missing flag" if step.add_indicator else "")
    if kind == "KNNImputer":
        return f"missing values filled from the {step.n_neighbors} most similar rows"
    if kind == "IterativeImputer":
        return "missing values estimated from the other columns (iterative imputation)"
    if kind == "OneHotEncoder":
        words = f"one-hot encoded with at most {step.max_categories} levels" if step.max_categories \
            else "one-hot encoded"
        if step.min_frequency:
            words += f" (levels in under {step.min_frequency:.0%} of rows grouped as 'infrequent')"
        return words
    if kind == "OrdinalEncoder":
        if branch_name.startswith("native"):
            return "coded as categories the model handles natively"
        if step.categories != "auto":
            return "coded in the order " + " < ".join(map(str, step.categories[0]))
        return "coded as ordinal numbers"
    if kind == "TargetEncoder":
        return "target-encoded (cross-fitted, so a row's own target is not used for its code)"
    if kind in _SCALERS:
        return _SCALERS[kind]
    if kind == "OutlierClipper":
        return ("clipped to the 1st–99th percentiles" if step.method == "clip_quantile"
                else "clipped to Q1 − 3·IQR … Q3 + 3·IQR")
    if kind == "KBinsDiscretizer":
        return f"cut into {step.n_bins} quantile bins"
    if kind == "DatetimeParts":
        return "split into " + ", ".join(step.parts)
    if kind == "TfidfVectorizer":
        return f"turned into TF-IDF word weights (at most {step.max_features} words)"
    if kind == "PolynomialFeatures":
        return "multiplied pairwise into interaction features"
    return f"transformed by {kind}"


def _pipeline_sentences(pipeline: Any, roles: dict[str, str]) -> list[str]:
    if not isinstance(pipeline, Pipeline) or "prep" not in pipeline.named_steps:
        return []
    prep = pipeline.named_steps["prep"]
    transformers = getattr(prep, "transformers_", prep.transformers)
    out = []
    for name, branch, columns in transformers:
        if name == "remainder" or branch == "drop" or not len(columns):
            continue
        columns = list(columns)
        role = "interaction" if name == "interactions" else roles.get(columns[0], "")
        subject = (f"Column {columns[0]!r}" if len(columns) == 1
                   else f"Columns {_names(columns)}")
        if branch == "passthrough":
            words = ["used as they are"]
        else:
            steps = branch.steps if isinstance(branch, Pipeline) else [(name, branch)]
            words = [w for _, s in steps if (w := _step_words(s, name))]
        out.append(f"{subject} ({role}): " + (", then ".join(words) or "used as they are") + ".")
    if "select" in pipeline.named_steps:
        sel = pipeline.named_steps["select"]
        out.append(f"Feature selection: {type(sel).__name__.lstrip('_')} keeps the most useful inputs.")
    if "splines" in pipeline.named_steps:
        out.append(_splines_sentence(pipeline))
    if "reduce" in pipeline.named_steps:
        out.append(_reduction_sentence(pipeline.named_steps["reduce"]))
    if getattr(pipeline.steps[-1][1], "loss", None) == "poisson":
        out.append("Poisson loss: the boosted trees fit the logarithm of the expected value, so "
                   "each step multiplies the prediction rather than adding to it, and the few "
                   "very large targets pull less on the fit than under squared error; it suits "
                   "counts and amounts that are never negative.")
    return out


def _splines_sentence(pipeline: Pipeline) -> str:
    """Which prepared inputs the fitted splines step bends, in words."""
    step = pipeline.named_steps["splines"]
    before = pipeline[:list(pipeline.named_steps).index("splines")]
    try:
        # the ColumnTransformer's names, "numeric_0__age", without the branch
        names = [str(n).split("__", 1)[-1] for n in before.get_feature_names_out()]
    except (AttributeError, ValueError, TypeError):
        names = [f"input {j + 1}" for j in range(step.n_features_in_)]
    bent = [names[j] for j in step.bent_]
    if not bent:
        return ("Splines: no prepared input had enough different values to bend; the model "
                "sees the inputs as they are.")
    return (f"Splines: {len(bent)} prepared input{'s' if len(bent) > 1 else ''} with many values "
            f"({_names(bent)}) also enter as cubic splines with {step.n_knots} knots at their "
            "quantiles, so the linear model can bend each one's effect (a generalised additive "
            "model); past the training range the curve stays level and the input's straight-line "
            "part carries on.")


def _reduction_sentence(step: Any) -> str:
    """What the fitted reduction step does, and to how many components."""
    what = ("principal component analysis (PCA)" if isinstance(step, PCA)
            else "truncated SVD (not centred, so text stays sparse until it is reduced)")
    n = step.components_.shape[0]
    share = format_percent(float(np.sum(step.explained_variance_ratio_)))
    return (f"Dimensionality reduction: {what} turns the {step.n_features_in_:,} prepared inputs "
            f"into {n} component{'s' if n > 1 else ''}, keeping {share} of their variance on the "
            "training rows; the model sees only these.")


def _model_sentences(result: TrainResult) -> list[str]:
    out = []
    models = result.recipe.models
    for choice in models:
        spec = catalogue.get(choice.name)
        params = ", ".join(f"{k}={v!r}" for k, v in choice.params.items())
        what = f"{spec.label} with {params}" if params else f"{spec.label} with tabwright's default settings"
        if len(models) > 1:
            what += f" (weight {choice.weight:g})"
        out.append(what)
    if len(out) == 1:
        return [f"The final model is {out[0]}, refitted on all training rows."]
    kind = "averaged probabilities (soft voting)" if result.task != "regression" else "averaged predictions"
    return [f"The final model is an ensemble of {'; '.join(out)}, combining {kind}, refitted on all "
            "training rows."]


# --------------------------------------------------------------------------- evaluation


def _evaluation_summary(evaluation: dict[str, Any]) -> dict[str, Any]:
    metrics = [{"name": k, "label": _metric_label(k), "value": v, "help": metric_help(k)}
               for k, v in (evaluation.get("metrics") or {}).items()]
    return {"task": evaluation.get("task"), "n_test": evaluation.get("n_test"), "metrics": metrics,
            "baseline": evaluation.get("baseline"), "per_class": evaluation.get("per_class"),
            "positive_label": evaluation.get("positive_label"),
            "threshold": evaluation.get("threshold"), "n_clusters": evaluation.get("n_clusters"),
            "cluster_sizes": evaluation.get("cluster_sizes"), "notes": evaluation.get("notes", [])}


def _fit_diagnosis(result: TrainResult, best_row: dict[str, Any]) -> dict[str, Any] | None:
    metric = result.metric
    cv_mean, cv_std = best_row.get(metric), best_row.get(f"{metric}_std")
    if result.train_score is None or cv_mean is None or metric not in METRICS:
        return None
    if not math.isfinite(result.train_score):
        return None
    return diagnose_fit(train_score=result.train_score, cv_mean=cv_mean, cv_std=cv_std or 0.0,
                        metric=metric, greater_is_better=METRICS[metric].greater_is_better)


def metric_scorer(result: TrainResult) -> Callable[[Any, Any, Any], float]:
    """A scikit-learn style scorer ``(model, X, y) -> float`` for the run's own metric.

    It scores exactly as training did (:func:`core.metrics.score`, the run's threshold), with
    the sign flipped for errors so that greater is always better.
    """
    metric, task = result.metric, result.task
    sign = 1.0 if METRICS[metric].greater_is_better else -1.0
    classes = None if result.classes is None else np.asarray(result.classes)

    def scorer(model: Any, X: Any, y: Any) -> float:
        if task == "regression":
            return sign * score(metric, np.asarray(y), model.predict(X), task=task)
        if hasattr(model, "predict_proba"):
            matrix, has_proba = model.predict_proba(X), True
        else:
            matrix, has_proba = np.asarray(model.decision_function(X), dtype=float), False
            if matrix.ndim == 1:
                matrix = np.column_stack([-matrix, matrix])
        return sign * score(metric, np.asarray(y), matrix, task=task, classes=classes,
                            has_proba=has_proba, threshold=result.threshold)

    return scorer


def _importance(result: TrainResult) -> list[dict[str, Any]] | None:
    if result.task == "clustering" or result.y_test is None or len(result.X_test) == 0:
        return None
    return permutation_importance_data(result.pipeline, result.X_test, result.y_test,
                                       scoring=metric_scorer(result), max_rows=IMPORTANCE_ROWS,
                                       n_repeats=IMPORTANCE_REPEATS,
                                       max_columns=IMPORTANCE_COLUMNS)


def _dependence(result: TrainResult, importance: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The report's light partial-dependence curves of the most important columns."""
    if result.task == "clustering" or not importance or result.X_train is None:
        return []
    return partial_dependence_report(result, importance=importance)


def _decisions(result: TrainResult, recipe: Recipe, frame: pd.DataFrame | None
               ) -> dict[str, Any] | None:
    """The costs of mistakes and the fairness tables, when the recipe states them."""
    if result.task == "clustering" or result.y_test is None:
        return None
    try:
        return decisions_report(result, recipe, frame=frame)
    except TabwrightError:  # e.g. costs on a model without probabilities: the page says why
        return None


def _decisions_display(decisions: dict[str, Any] | None) -> dict[str, Any] | None:
    """``decisions`` with each available fairness table's rows as the page shows them."""
    if not decisions:
        return None
    tables = []
    for table in decisions.get("fairness") or []:
        shown = dict(table)
        if table.get("available", True) and table.get("groups"):
            frame = group_rows_table(table)
            shown["display_columns"] = [str(c) for c in frame.columns]
            shown["display_rows"] = json_safe(frame.to_dict("records"))
        tables.append(shown)
    return {"costs": decisions.get("costs"), "fairness": tables}


# --------------------------------------------------------------------------- figures


def _figures(result: TrainResult, importance: list[dict[str, Any]] | None,
             learning_curve: dict[str, Any] | None, drift: dict[str, Any] | None
             ) -> list[dict[str, Any]]:
    ev = result.evaluation or {}
    candidates = [
        ("leaderboard", "leaderboard", figures.leaderboard_chart(result.leaderboard, result.metric)),
        ("confusion_matrix", "evaluation", figures.confusion_matrix_figure(ev)),
        ("confusion_matrix_normalized", "evaluation", figures.confusion_matrix_figure(ev, normalized=True)),
        ("roc", "evaluation", figures.roc_figure(ev)),
        ("pr", "evaluation", figures.pr_figure(ev)),
        ("calibration", "evaluation", figures.calibration_figure(ev)),
        ("residuals", "evaluation", figures.residuals_figure(ev)),
        ("predicted_vs_actual", "evaluation", figures.predicted_vs_actual_figure(ev)),
        ("cluster_sizes", "evaluation", figures.cluster_sizes_figure(ev)),
        ("importance", "diagnostics", figures.importance_figure(importance or [])),
        ("learning_curve", "diagnostics", figures.learning_curve_figure(learning_curve or {})),
        ("drift", "drift", drift_figure(drift or {})),
    ]
    return [{"id": fid, "section": section, "title": fig.layout.title.text,
             "figure": json.loads(escaped(fig).to_json())}
            for fid, section, fig in candidates if fig is not None]


# --------------------------------------------------------------------------- rendering


def _figure_html(figure: dict[str, Any], div_id: str) -> Markup:
    # Trusted markup written by plotly; its JSON encoding escapes <, > and / in all data.
    html = go.Figure(figure).to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                                     config={"displaylogo": False, "responsive": True})
    return Markup(html)


def render_html(report: dict[str, Any]) -> str:
    """One self-contained HTML file (works offline) showing the report.

    plotly.js is inlined once in the head; every figure is a ``<div>`` plus a small script.
    """

    rendered = {f["id"]: _figure_html(f["figure"], f"figure-{f['id']}") for f in report["figures"]}
    template = _env.get_template("report.html.j2")
    return template.render(r=report, figures=rendered, plotlyjs=Markup(get_plotlyjs()), fmt=_fmt,
                           recipe_json=json.dumps(report["recipe"], indent=2, ensure_ascii=False))


def _md(value: Any) -> str:
    """Text safe inside a Markdown table cell or sentence: no HTML, no table breaks."""
    text = _fmt(value) if not isinstance(value, str) else value
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for char in "\\`*_[]|#":
        text = text.replace(char, "\\" + char)
    return " ".join(text.split())


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: tables and sentences; figures are listed by title."""
    template = _env.get_template("report.md.j2")
    return template.render(r=report, fmt=_fmt, md=_md).rstrip() + "\n"
