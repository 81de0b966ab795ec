"""Fairness across groups: how a model's decisions and errors differ between groups of rows.

The user marks columns as sensitive (``recipe.sensitive``); for each, the held-out test rows
are split by its values and every group gets the numbers a reviewer asks for, computed with
Fairlearn's :class:`~fairlearn.metrics.MetricFrame`:

- **two classes:** rows, base rate (share truly positive), selection rate (share flagged
  positive), true positive rate, false positive rate, precision, and the brief's metric;
- **several classes:** rows, accuracy and the brief's metric;
- **regression:** rows, mean actual, mean predicted, mean error (predicted − actual), MAE and
  the brief's metric.

Rates carry 95 % Wilson intervals. Gaps are flagged in plain words by the usual rules of thumb:
a selection-rate ratio below 0.8 between two groups (the "four-fifths rule"), a true or false
positive rate gap over 0.1; for regression, MAE 1.25 times (the inverse of 0.8) as large in
one group as in another, or a group whose predictions are off on average by more than a tenth
of the overall MAE with an interval that excludes 0. Groups with fewer than :data:`MIN_ROWS`
test rows (or positives, or negatives, for a rate of them) are shown but left out of the
comparisons: too few rows to tell.

**Where a sensitive column's values come from.** A run keeps its test rows' model inputs
(``result.X_test``), not the columns the recipe dropped. A sensitive column that is a model
input is read from there; any other is looked up in the training table by the test rows' index
labels (``frame.loc[result.X_test.index, column]``: training keeps the table's own labels), so
callers pass the table the run was trained on (``frame=``). Without it such a column is
reported as unavailable.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    count,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from scipy import stats
from sklearn.exceptions import UndefinedMetricWarning

from core.errors import TabwrightError
from core.evaluate._costs import cost_summary
from core.evaluate._heldout import _predict
from core.formatting import format_number, format_percent, json_safe
from core.metrics import METRICS, metric_label, score
from core.recipe import Recipe
from core.run import TrainResult

MIN_ROWS = 30
"""Fewer test rows than this in a group (or positives/negatives, for a rate of them): too few
rows to tell."""
FOUR_FIFTHS = 0.8
"""A selection-rate ratio below this between two groups is flagged (the four-fifths rule)."""
RATE_GAP = 0.1
"""A true or false positive rate gap above this between two groups is flagged."""
MAX_GROUPS = 20
"""Most groups per column: the largest levels are kept, the rest are one "(other)" group."""
NUMERIC_BINS = 5
"""A numeric column with more than ``MAX_GROUPS`` values is cut into this many quantile bins."""
MISSING = "(missing)"
OTHER = "(other)"


# --------------------------------------------------------------------------- groups


def group_labels(values: pd.Series) -> tuple[pd.Series, list[str]]:
    """The group of every row, as text, and notes on how the groups were formed.

    Missing values form their own group; a numeric column with more than :data:`MAX_GROUPS`
    values is cut into quantile bins ("18 to 25", returned as an ordered categorical so the
    ranges keep their order); a column with more than :data:`MAX_GROUPS` levels keeps the
    largest ones and puts the rest in one "(other)" group.
    """
    name = str(values.name)
    notes: list[str] = []
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and values.nunique() > MAX_GROUPS:
        edges = np.unique(np.nanquantile(values.astype(float), np.linspace(0, 1, NUMERIC_BINS + 1)))
        labels = [f"{format_number(a)} to {format_number(b)}" for a, b in zip(edges, edges[1:])]
        ranges = pd.cut(values.astype(float), edges, labels=labels, include_lowest=True)
        notes.append(f"{name!r} has many values, so its rows are grouped into {len(labels)} "
                     "ranges holding about the same number of rows each.")
        if ranges.isna().any():
            ranges = ranges.cat.add_categories([MISSING]).fillna(MISSING)
        return ranges.rename(name), notes
    groups = values.astype(str).where(values.notna(), MISSING)
    sizes = groups.value_counts()
    if len(sizes) > MAX_GROUPS:
        kept = set(sizes.index[:MAX_GROUPS - 1])
        groups = groups.where(groups.isin(kept), OTHER)
        notes.append(f"{name!r} has {len(sizes):,} values: the {MAX_GROUPS - 1} largest groups are "
                     f"shown, the other {len(sizes) - MAX_GROUPS + 1:,} together as {OTHER!r}.")
    return groups.rename(name), notes


def _wilson(k: int, n: int) -> tuple[float | None, float | None, float | None]:
    """A share k/n with its 95 % Wilson interval (None when n is 0)."""
    if n <= 0:
        return None, None, None
    ci = stats.binomtest(int(k), int(n)).proportion_ci(0.95, method="wilson")
    return k / n, float(ci.low), float(ci.high)


def _rate(row: dict[str, Any], name: str, k: int, n: int) -> None:
    row[name], row[f"{name}_low"], row[f"{name}_high"] = _wilson(k, n)


# --------------------------------------------------------------------------- the table


def fairness_table(y_true: Any, y_pred: Any, groups: pd.Series, *, task: str, metric: str,
                   classes: Any = None, scores: np.ndarray | None = None,
                   has_proba: bool = True, positive_label: Any = None,
                   threshold: float | None = None) -> dict[str, Any]:
    """Per-group numbers and plain-word flags for one sensitive column.

    Parameters
    ----------
    y_true, y_pred : array-like
        True and predicted labels (values for regression), one per row.
    groups : Series
        Each row's group as text (see :func:`group_labels`); its name is the column's. Groups
        are listed largest first, or in the categories' order for a categorical.
    task : str
        ``binary``, ``multiclass`` or ``regression``.
    metric : str
        The brief's metric (a name in :data:`core.metrics.METRICS`), scored per group.
    classes : array-like, optional
        Classification: the model's classes, in the order of ``scores``' columns.
    scores : ndarray, optional
        Classification: one column per class (probabilities when ``has_proba``); needed for
        score metrics such as ROC-AUC.
    positive_label, threshold : optional
        Binary: the class a positive decision acts on, and the threshold ``y_pred`` used.

    Returns
    -------
    dict
        JSON-safe: ``column``, ``task``, ``metric``, ``metric_label``, ``positive_label``,
        ``threshold``, ``rows``, ``min_rows``, ``groups`` (one dict per group: ``group``,
        ``n``, ``too_few`` and the task's numbers, rates with ``_low``/``_high`` interval
        ends), ``overall`` (the same numbers for all rows), ``flags`` (sentences naming each
        gap), ``verdict`` ("gaps", "no gaps" or "too few rows") and ``notes``.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    order = (list(map(str, groups.cat.categories))
             if isinstance(groups.dtype, pd.CategoricalDtype) else None)
    groups = pd.Series(np.asarray(groups, dtype=object).astype(str), name=str(groups.name))
    if not len(y_true) == len(y_pred) == len(groups):
        raise TabwrightError(f"Rows, predictions and groups must be as many, got {len(y_true)}, "
                             f"{len(y_pred)} and {len(groups)}.", "Pass one group per row.")
    if len(y_true) == 0:
        raise TabwrightError("There are no rows to compare groups on, got none.",
                             "Use data with rows that have a known outcome.")
    rows = np.arange(len(y_true))

    def metric_of_group(yt: Any, yp: Any, rows: np.ndarray) -> float:
        if task == "regression":
            return score(metric, y_true[rows], y_pred[rows].astype(float), task=task)
        if scores is None and METRICS[metric].needs != "label":
            return float("nan")
        matrix = scores[rows] if scores is not None else _one_hot(y_pred[rows], classes)
        return score(metric, y_true[rows], matrix, task=task, classes=np.asarray(classes),
                     has_proba=has_proba, threshold=threshold)

    if task == "binary":
        yt, yp = (y_true == positive_label).astype(int), (y_pred == positive_label).astype(int)
        functions = {"n": count, "positives": _total_true, "flagged": _total_pred, "tp": _hits,
                     "selection_rate": selection_rate, "tpr": true_positive_rate,
                     "fpr": false_positive_rate, "metric": metric_of_group}
    elif task == "regression":
        yt, yp = y_true.astype(float), y_pred.astype(float)
        functions = {"n": count, "mean_actual": _mean_true, "mean_predicted": _mean_pred,
                     "mean_error": _mean_error, "error_sd": _error_sd, "mae": _mae,
                     "metric": metric_of_group}
    else:
        yt, yp = y_true, y_pred
        functions = {"n": count, "accuracy": _accuracy, "metric": metric_of_group}
    with warnings.catch_warnings():  # a small group may hold one class: its AUC is then None
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        frame = MetricFrame(metrics=functions, y_true=yt, y_pred=yp, sensitive_features=groups,
                            sample_params={"metric": {"rows": rows}})
    by_group = frame.by_group
    if order is None:
        by_group = by_group.sort_values("n", ascending=False, kind="stable")
    else:
        by_group = by_group.loc[[g for g in order if g in by_group.index]]
    table = [_group_row(task, str(g), values) for g, values in by_group.iterrows()]
    overall = _group_row(task, "all rows", frame.overall)
    flags, verdict, notes = _judge(task, table, overall, groups.name)
    return json_safe({
        "column": groups.name, "task": task, "metric": metric, "metric_label": metric_label(metric),
        "positive_label": positive_label, "threshold": threshold, "rows": len(y_true),
        "min_rows": MIN_ROWS, "groups": table, "overall": overall, "flags": flags,
        "verdict": verdict, "notes": notes,
    })


def _total_true(yt: Any, yp: Any) -> int:
    return int(np.sum(yt))


def _total_pred(yt: Any, yp: Any) -> int:
    return int(np.sum(yp))


def _hits(yt: Any, yp: Any) -> int:
    return int(np.sum(np.asarray(yt) & np.asarray(yp)))


def _accuracy(yt: Any, yp: Any) -> float:
    return float(np.mean(np.asarray(yt) == np.asarray(yp)))


def _mean_true(yt: Any, yp: Any) -> float:
    return float(np.mean(yt))


def _mean_pred(yt: Any, yp: Any) -> float:
    return float(np.mean(yp))


def _mean_error(yt: Any, yp: Any) -> float:
    return float(np.mean(np.asarray(yp) - np.asarray(yt)))


def _error_sd(yt: Any, yp: Any) -> float:
    error = np.asarray(yp) - np.asarray(yt)
    return float(np.std(error, ddof=1)) if len(error) > 1 else float("nan")


def _mae(yt: Any, yp: Any) -> float:
    return float(np.mean(np.abs(np.asarray(yp) - np.asarray(yt))))


def _one_hot(labels: np.ndarray, classes: Any) -> np.ndarray:
    """Predicted labels as a 0/1 matrix, for label metrics of a model without scores."""
    return (np.asarray(labels)[:, None] == np.asarray(classes)[None, :]).astype(float)


def _group_row(task: str, group: str, values: pd.Series) -> dict[str, Any]:
    n = int(values["n"])
    row: dict[str, Any] = {"group": group, "n": n, "too_few": n < MIN_ROWS}
    if task == "binary":
        positives, flagged, tp = int(values["positives"]), int(values["flagged"]), int(values["tp"])
        negatives = n - positives
        row |= {"positives": positives, "negatives": negatives, "flagged": flagged}
        _rate(row, "base_rate", positives, n)
        _rate(row, "selection_rate", flagged, n)
        _rate(row, "tpr", tp, positives)
        _rate(row, "fpr", flagged - tp, negatives)
        _rate(row, "precision", tp, flagged)
        # Fairlearn's rates, which agree with the counts wherever a rate is defined.
        row["selection_rate"] = float(values["selection_rate"])
        if positives:
            row["tpr"] = float(values["tpr"])
        if negatives:
            row["fpr"] = float(values["fpr"])
    elif task == "regression":
        row |= {"mean_actual": values["mean_actual"], "mean_predicted": values["mean_predicted"],
                "mae": values["mae"], "mean_error": values["mean_error"],
                "mean_error_low": None, "mean_error_high": None}
        sd = values["error_sd"]
        if n > 1 and np.isfinite(sd):
            half = float(stats.t.ppf(0.975, n - 1)) * sd / np.sqrt(n)
            row["mean_error_low"] = values["mean_error"] - half
            row["mean_error_high"] = values["mean_error"] + half
    else:
        row["accuracy"] = values["accuracy"]
    row["metric"] = values["metric"]
    return row


# --------------------------------------------------------------------------- judging gaps


def _judge(task: str, table: list[dict[str, Any]], overall: dict[str, Any], column: str
           ) -> tuple[list[str], str, list[str]]:
    flags: list[str] = []
    notes: list[str] = []
    small = [r["group"] for r in table if r["too_few"]]
    if small:
        notes.append(f"Too few rows to tell for {_names(small)} (under {MIN_ROWS} test rows "
                     "each): shown with their intervals, left out of the comparisons.")
    big = [r for r in table if not r["too_few"]]
    if len(big) < 2:
        notes.append(f"Fewer than two groups of {column!r} have {MIN_ROWS} or more test rows: "
                     "too few rows to tell whether the model treats them differently.")
        return flags, "too few rows", notes
    checked: list[str] = []
    if task == "binary":
        flags += _selection_flag(big)
        checked.append(f"a selection-rate ratio of at least {FOUR_FIFTHS} (four-fifths rule)")
        for key, base, words in (("tpr", "positives", "true positive rate (share of the real "
                                  "positives found)"),
                                 ("fpr", "negatives", "false positive rate (share of the real "
                                  "negatives flagged)")):
            enough = [r for r in big if r[base] >= MIN_ROWS and r[key] is not None]
            few = [r["group"] for r in big if r[base] < MIN_ROWS]
            if few:
                notes.append(f"Too few {base} to tell the {key.upper()} for {_names(few)} "
                             f"(under {MIN_ROWS}).")
            if len(enough) >= 2:
                flags += _gap_flag(enough, key, words)
                checked.append(f"a {key.upper()} gap of at most {RATE_GAP}")
    elif task == "regression":
        flags += _regression_flags(big, overall)
        checked += [f"MAE at most {1 / FOUR_FIFTHS:g} times as large in one group as in another",
                    "no group predicted too high or too low on average"]
    else:
        notes.append("With several classes the groups' numbers are shown without a rule of "
                     "thumb: compare their accuracy and the metric, with their row counts.")
    if flags:
        notes.append("Rules of thumb on the test rows, not a verdict: a gap can come from the "
                     "data (groups with different base rates), and closing one can open another.")
        return flags, "gaps", notes
    if checked:
        notes.append(f"No gap beyond the rules of thumb checked ({'; '.join(checked)}) among "
                     f"groups with at least {MIN_ROWS} test rows. That is not a proof of fairness.")
    return flags, "no gaps", notes


def _selection_flag(big: list[dict[str, Any]]) -> list[str]:
    low = min(big, key=lambda r: r["selection_rate"])
    high = max(big, key=lambda r: r["selection_rate"])
    if high["selection_rate"] <= 0:
        return []
    ratio = low["selection_rate"] / high["selection_rate"]
    if ratio >= FOUR_FIFTHS:
        return []
    return [f"Selection rate: {low['group']!r} is flagged positive for "
            f"{format_percent(low['selection_rate'])} of its rows, {high['group']!r} for "
            f"{format_percent(high['selection_rate'])}: a ratio of {ratio:.2f}, below the "
            f"four-fifths rule ({FOUR_FIFTHS}). {_overlap(low, high, 'selection_rate')}"]


def _gap_flag(rows: list[dict[str, Any]], key: str, words: str) -> list[str]:
    low = min(rows, key=lambda r: r[key])
    high = max(rows, key=lambda r: r[key])
    gap = high[key] - low[key]
    if gap <= RATE_GAP:
        return []
    return [f"{words[0].upper()}{words[1:]}: {format_percent(high[key])} for {high['group']!r}, "
            f"{format_percent(low[key])} for {low['group']!r}: a gap of {gap:.2f}, over "
            f"{RATE_GAP}. {_overlap(low, high, key)}"]


def _regression_flags(big: list[dict[str, Any]], overall: dict[str, Any]) -> list[str]:
    flags: list[str] = []
    low = min(big, key=lambda r: r["mae"])
    high = max(big, key=lambda r: r["mae"])
    if low["mae"] > 0 and high["mae"] / low["mae"] >= 1 / FOUR_FIFTHS:
        flags.append(f"Errors: the typical miss (MAE) is {high['mae'] / low['mae']:.2f} times as "
                     f"large for {high['group']!r} ({format_number(high['mae'])}) as for "
                     f"{low['group']!r} ({format_number(low['mae'])}).")
    for r in big:
        a, b = r["mean_error_low"], r["mean_error_high"]
        material = abs(r["mean_error"]) > 0.1 * (overall["mae"] or 0)
        if a is not None and (a > 0 or b < 0) and material:
            side = "too high" if r["mean_error"] > 0 else "too low"
            flags.append(f"Bias: predictions for {r['group']!r} are on average "
                         f"{format_number(abs(r['mean_error']))} {side} (95% interval "
                         f"{format_number(a)} to {format_number(b)}).")
    return flags


def _overlap(low: dict[str, Any], high: dict[str, Any], key: str) -> str:
    if low[f"{key}_high"] is None or high[f"{key}_low"] is None:
        return ""
    if low[f"{key}_high"] >= high[f"{key}_low"]:
        return "Their 95% intervals overlap, so chance alone could explain it."
    return "Their 95% intervals do not overlap."


def _names(groups: list[str]) -> str:
    shown = ", ".join(repr(g) for g in groups[:5])
    return shown + (f" and {len(groups) - 5} more" if len(groups) > 5 else "")


# --------------------------------------------------------------------------- from a run


def brief_metric(bar_metric: str | None, task: str, run_metric: str) -> str:
    """The metric scored per group: the brief's good-enough metric when it fits the task,
    else the one the run optimised."""
    if bar_metric in METRICS and task in METRICS[bar_metric].tasks:
        return bar_metric
    return run_metric


def sensitive_values(result: TrainResult, column: str, *, frame: pd.DataFrame | None = None
                     ) -> pd.Series | None:
    """The test rows' values of ``column``: from the model inputs, else from ``frame``.

    Returns None when the column is neither a model input nor in ``frame``.
    """
    if column in result.X_test.columns:
        return result.X_test[column]
    if frame is not None and column in frame.columns:
        return frame.loc[result.X_test.index, column]
    return None


def fairness_for(result: TrainResult, recipe: Recipe, *, frame: pd.DataFrame | None = None
                 ) -> list[dict[str, Any]]:
    """A :func:`fairness_table` for each of ``recipe.sensitive``, on the run's test rows.

    Parameters
    ----------
    result : TrainResult
        A classification or regression run.
    recipe : Recipe
        Names the sensitive columns, and the brief whose metric is scored per group (the
        project's recipe: marking a column does not need a new run).
    frame : DataFrame, optional
        The table the run was trained on, for sensitive columns that are not model inputs.

    Returns
    -------
    list of dict
        One table per sensitive column, in the recipe's order; a column whose values are not
        available is ``{"column", "available": False, "notes"}``.
    """
    if result.task not in ("binary", "multiclass", "regression"):
        raise TabwrightError(f"Fairness across groups needs predictions to compare, got a "
                             f"{result.task} run.", "Use it with a classification or regression target.")
    ev = result.evaluation
    metric = brief_metric(recipe.brief.bar_metric, result.task, result.metric)
    if result.task == "regression":
        predicted = np.asarray(result.pipeline.predict(result.X_test))
        p: dict[str, Any] = {"y_pred": predicted, "scores": None, "classes": None,
                             "score_kind": None, "positive": None, "threshold": None}
    else:
        p = _predict(result.pipeline, result.X_test, result.y_test,
                     threshold=ev.get("threshold"), positive_label=ev.get("positive_label"))
    tables = []
    for column in recipe.sensitive:
        if column == recipe.target:
            tables.append({"column": column, "available": False, "notes": [
                f"{column!r} is the target: compare groups by another column."]})
            continue
        values = sensitive_values(result, column, frame=frame)
        if values is None:
            tables.append({"column": column, "available": False, "notes": [
                f"{column!r} is not a model input and the training table was not given, so "
                "its test rows' values are not known here."]})
            continue
        groups, notes = group_labels(values.reset_index(drop=True))
        table = fairness_table(result.y_test.to_numpy(), p["y_pred"], groups, task=result.task,
                               metric=metric, classes=p["classes"], scores=p["scores"],
                               has_proba=p["score_kind"] == "probability",
                               positive_label=p["positive"], threshold=p["threshold"])
        table["available"] = True
        table["model_input"] = column in result.X_test.columns
        table["notes"] = notes + table["notes"] + [
            f"{column!r} is a model input: the model uses it directly."
            if table["model_input"] else
            f"{column!r} is not a model input; the model can still pick it up through related "
            "columns."]
        tables.append(table)
    return json_safe(tables)


def mark_sensitive(recipe: Recipe, columns: list[str], *, available: list[str]) -> Recipe:
    """A copy of ``recipe`` with ``columns`` as its sensitive columns, validated against the
    data's ``available`` columns. It changes what is measured, not the model."""
    changed = recipe.copy()
    changed.sensitive = list(columns)
    if recipe.target in changed.sensitive:
        raise TabwrightError(f"The target {recipe.target!r} cannot be a sensitive column.",
                             "Choose columns that describe who or what a row is about.")
    return changed.validate(available)


# --------------------------------------------------------------------------- the CLI and report


def group_table(predictions: pd.DataFrame, card: dict[str, Any], frame: pd.DataFrame,
                by: str) -> dict[str, Any]:
    """Per-group numbers of a model bundle on a labelled file (``tabwright evaluate --by``).

    ``predictions`` is :func:`core.deliver.predict_table`'s output for ``frame`` (its rows in
    ``frame``'s order): the same checked predictions ``tabwright predict`` writes. This module
    cannot call it itself, because :mod:`core.deliver` builds on :mod:`core.evaluate`.

    Parameters
    ----------
    predictions : DataFrame
        ``prediction`` and, for classifiers with probabilities, ``proba_<class>`` columns.
    card : dict
        The bundle's model card (``task``, ``target``, ``classes``, ``threshold``, ``metric``,
        ``recipe``).
    frame : DataFrame
        The labelled rows, with the target and the ``by`` column.
    by : str
        The column whose groups are compared (a model input or not).

    Returns
    -------
    dict
        JSON-safe :func:`fairness_table` result, with ``notes`` on how the groups were formed.

    Examples
    --------
    >>> predictions, _ = predict_table(model, card, frame)  # doctest: +SKIP
    >>> group_table(predictions, card, frame, "sex")["flags"]  # doctest: +SKIP
    """
    task, target = card.get("task"), card.get("target")
    if task not in ("binary", "multiclass", "regression") or not target:
        raise TabwrightError(f"Comparing groups needs a classification or regression model, "
                             f"got a {task} model.", "Use a model trained with a target.")
    for what, column in (("target", target), ("group column", by)):
        if column not in frame.columns:
            raise TabwrightError(f"The data has no {what} {column!r}.",
                                 f"Add the {column!r} column, or name another column with --by.")
    if len(predictions) != len(frame):
        raise TabwrightError(f"There must be one prediction per row, got {len(predictions):,} "
                             f"for {len(frame):,} rows.", "Predict the same rows you evaluate.")
    labelled = frame[target].notna().to_numpy()
    if not labelled.any():
        raise TabwrightError(f"Every value of the target {target!r} is missing.",
                             "Comparing groups needs rows with known outcomes.")
    rows, predicted = frame[labelled], predictions[labelled]
    bar = ((card.get("recipe") or {}).get("brief") or {}).get("bar_metric")
    metric = brief_metric(bar, task, card["metric"])
    groups, notes = group_labels(rows[by].reset_index(drop=True))
    if task == "regression":
        table = fairness_table(rows[target].to_numpy(dtype=float), predicted["prediction"], groups,
                               task=task, metric=metric)
    else:
        classes = list(card["classes"])
        lookup = {str(c): c for c in classes}
        y = rows[target].map(lambda v: lookup.get(str(v), v)).to_numpy(dtype=object)
        y_pred = predicted["prediction"].map(lambda v: lookup.get(str(v), v)).to_numpy(dtype=object)
        proba = [f"proba_{c}" for c in classes]
        scores = predicted[proba].to_numpy(dtype=float) if all(
            c in predicted.columns for c in proba) else None
        table = fairness_table(y, y_pred, groups, task=task, metric=metric,
                               classes=np.asarray(classes, dtype=object), scores=scores,
                               positive_label=classes[1] if task == "binary" else None,
                               threshold=card.get("threshold") if task == "binary" else None)
    table["notes"] = notes + table["notes"]
    return table


def decisions_report(result: TrainResult, recipe: Recipe, *, frame: pd.DataFrame | None = None
                     ) -> dict[str, Any] | None:
    """The cost summary and the fairness tables of a run, for the report (None when neither
    applies).

    Parameters
    ----------
    result : TrainResult
    recipe : Recipe
        The project's recipe: its ``imbalance.costs`` (else the run's own) and ``sensitive``.
    frame : DataFrame, optional
        The training table, for sensitive columns that are not model inputs.

    Returns
    -------
    dict or None
        JSON-safe ``{"costs": cost_summary or None, "fairness": [tables]}``.
    """
    costs = recipe.imbalance.costs if recipe.imbalance.costs.stated else result.recipe.imbalance.costs
    summary = None
    if result.task == "binary" and costs.stated:
        try:
            summary = cost_summary(result, costs)
        except TabwrightError:
            summary = None
    fairness = (fairness_for(result, recipe, frame=frame)
                if recipe.sensitive and result.task != "clustering" else [])
    if summary is None and not fairness:
        return None
    return {"costs": summary, "fairness": fairness}


def group_rows_table(table: dict[str, Any]) -> pd.DataFrame:
    """A fairness table's groups as a frame to show: rates as "41% (37–45%)", numbers as they
    are, and "too few rows to tell" where a group is too small."""
    task = table["task"]

    def rate(row: dict[str, Any], key: str) -> str:
        if row.get(key) is None:
            return "–"
        return (f"{format_percent(row[key])} ({format_percent(row[f'{key}_low'])}–"
                f"{format_percent(row[f'{key}_high'])})")

    records = []
    for row in [*table["groups"], table["overall"]]:
        record: dict[str, Any] = {"group": row["group"], "rows": row["n"]}
        if task == "binary":
            for key, label in (("base_rate", "base rate"), ("selection_rate", "selection rate"),
                               ("tpr", "TPR"), ("fpr", "FPR"), ("precision", "precision")):
                record[label] = rate(row, key)
        elif task == "regression":
            record |= {"mean actual": row["mean_actual"], "mean predicted": row["mean_predicted"],
                       "mean error": row["mean_error"], "MAE": row["mae"]}
        else:
            record["accuracy"] = row["accuracy"]
        record[table["metric_label"]] = row["metric"]
        record["note"] = "too few rows to tell" if row["too_few"] and row["group"] != "all rows" else ""
        records.append(record)
    return pd.DataFrame(records)
