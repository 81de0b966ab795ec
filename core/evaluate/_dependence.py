"""How the prediction follows one column: partial dependence and individual curves (ICE).

For a column, every sampled row is predicted again with that column set to each value of a
grid, all other columns kept: one curve per row (individual conditional expectation, ICE), and
their average (partial dependence), as scikit-learn's brute-force
:func:`sklearn.inspection.partial_dependence` (``kind="both"``) computes them, on the whole
pipeline (so the curves are in the user's columns and values), with all grid values in one
prediction (:func:`_curves`).

Decisions a caller should know:

- **Rows.** At most ``PDP_ROWS`` rows of the data given (the training rows, for a run), drawn
  with the seed; ``ICE_LINES`` of their curves are kept for drawing.
- **Grid.** Numbers: every distinct value when there are at most ``PDP_GRID``, else
  ``PDP_GRID`` evenly spaced values from the 5th to the 95th percentile (scikit-learn's
  default range; missing values ignored). Categories and booleans: their ``PDP_GRID`` most
  common values. Dates and text are not plotted.
- **Output.** As for contributions (:mod:`core.evaluate._explain`): a class's probability
  (the positive class for two classes; one chosen class for more), a decision score for a
  model without probabilities, the predicted value for a regressor.
- **Sentence.** Read off the average curve: which way it goes and by how much, where most of
  the change happens, or that it hardly changes (less than ``FLAT_POINTS`` of probability,
  or ``FLAT_SHARE`` of the spread of the individual predictions).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from core.errors import TabwrightError
from core.evaluate._experiment import importance_for
from core.evaluate._explain import (
    format_change,
    format_output,
    output_words,
    value_text,
)
from core.evaluate.figures import partial_dependence_figure
from core.formatting import json_safe
from core.run import TrainResult
from core.settings import thread_limit

PDP_ROWS = 1_000
"""Most rows whose predictions are averaged into one partial-dependence curve."""
ICE_LINES = 50
"""Individual curves kept for drawing (more is a grey blur)."""
PDP_GRID = 30
"""Most grid values per column."""
PDP_FEATURES = 4
"""Columns plotted by default: the most important by permutation importance."""
REPORT_ROWS, REPORT_GRID, REPORT_FEATURES = 300, 12, 3
"""The report's lighter curves: fewer rows, grid values and columns (about a twentieth of the
page's predictions), so every exported bundle can carry them."""
FLAT_POINTS = 0.01
"""A probability curve moving less than this (1 point) is called flat."""
FLAT_SHARE = 0.02
"""Any other curve moving less than this share of the individual predictions' spread is flat."""
MOST_CHANGE = 0.6
"""The stretch named in "most of the change happens between a and b" holds this share of it."""
PLOTTED_ROLES = ("numeric", "categorical", "boolean")


def partial_dependence_data(model: Any, X: pd.DataFrame, feature: Any, *, task: str,
                            role: str = "numeric", class_label: Any = None,
                            target: str | None = None, rows: int = PDP_ROWS, grid: int = PDP_GRID,
                            ice_lines: int = ICE_LINES, seed: int = 0) -> dict[str, Any]:
    """Partial dependence and individual curves of one column.

    Parameters
    ----------
    model : estimator
        A fitted classifier or regressor taking the raw columns of ``X``.
    X : pandas.DataFrame
        Rows to average over (a sample of ``rows`` is used).
    feature : str
        The column.
    task : {"binary", "multiclass", "regression"}
    role : {"numeric", "categorical", "boolean"}, default="numeric"
        How the column is used; categories get one grid point per level.
    class_label : optional
        Classifiers: the class whose probability is shown (default ``classes_[1]`` for two
        classes, ``classes_[0]`` for more).
    target : str, optional
        The target's name, for the sentence.

    Returns
    -------
    dict
        JSON-safe. ``feature``, ``kind`` ("numeric" or "categorical"), ``grid`` (values),
        ``average`` (one output per grid value), ``individual`` (up to ``ice_lines`` curves),
        ``output``, ``class``, ``target``, ``what`` (the output in words), ``rows`` (rows
        averaged) and ``sentence``.
    """
    if task not in ("binary", "multiclass", "regression"):
        raise TabwrightError(f"Partial dependence applies to classification and regression, got {task!r}.",
                             "Clusters have no prediction to plot.")
    if feature not in X.columns:
        raise TabwrightError(f"The data has no column {feature!r}.", "Pick one of the model's input columns.")
    if role not in PLOTTED_ROLES:
        raise TabwrightError(f"Partial dependence is drawn for numbers and categories, and {feature!r} "
                             f"is used as {role}.", "Pick a numeric or categorical column.")
    sample = X if len(X) <= rows else X.sample(rows, random_state=seed)
    categorical = role != "numeric"
    values, sample = _grid(sample, feature, categorical, grid)
    classes = np.asarray(getattr(model, "classes_", [])) if task != "regression" else np.asarray([])
    proba = task == "regression" or hasattr(model, "predict_proba")
    response = "auto" if task == "regression" else ("predict_proba" if proba else "decision_function")
    with thread_limit():
        average, individual = _curves(model, sample, feature, values, response)
    class_value = None
    if task != "regression":
        if class_label is None:
            class_label = classes[1] if len(classes) == 2 else classes[0]
        matches = np.flatnonzero(classes == class_label)
        if not len(matches):
            raise TabwrightError(f"`class_label` must be one of the model's classes {json_safe(classes)}, "
                                 f"got {class_label!r}.", "Pick a class from the list.")
        k, class_value = int(matches[0]), classes[matches[0]]
        if len(classes) == 2:  # scikit-learn returns classes_[1]'s output only
            average, individual = average[0], individual[0]
            if k == 0:
                average, individual = (1 - average, 1 - individual) if proba else (-average, -individual)
        else:
            average, individual = average[k], individual[k]
    else:
        average, individual = average[0], individual[0]
    keep = np.sort(np.random.default_rng(seed).choice(len(individual), size=min(ice_lines, len(individual)),
                                                      replace=False))
    output = "value" if task == "regression" else ("probability" if proba else "decision score")
    curve = {"feature": feature, "kind": "categorical" if categorical else "numeric",
             "grid": list(values), "average": average, "individual": individual[keep],
             "output": output, "class": class_value, "target": target, "rows": len(sample),
             "what": output_words(output, target, class_value)}
    curve["sentence"] = dependence_sentence(curve, spread=float(np.ptp(individual)))
    return json_safe(curve)


def _curves(model: Any, sample: pd.DataFrame, feature: Any, values: np.ndarray, response: str
            ) -> tuple[np.ndarray, np.ndarray]:
    """Every sampled row predicted at every grid value, in one prediction (scikit-learn's
    brute-force partial dependence makes one per grid value: 36 for a report's three columns,
    each paying an ensemble's overhead).

    Returns what :func:`sklearn.inspection.partial_dependence` returns with ``kind="both"``:
    the average, shape ``(outputs, grid)``, and the individual curves, ``(outputs, rows,
    grid)``, where two classes give one output (the second class's) and a regressor one.
    """
    rows, grid = len(sample), len(values)
    stacked = pd.concat([sample] * grid, ignore_index=True)
    column = np.repeat(np.asarray(values, dtype=object), rows)
    if pd.api.types.is_numeric_dtype(sample[feature]):
        column = column.astype(float)
    stacked[feature] = column
    method = "predict" if response == "auto" else response
    out = np.asarray(getattr(model, method)(stacked), dtype=float)
    if out.ndim == 1:
        out = out[:, None]
    elif out.shape[1] == 2 and method in ("predict_proba", "decision_function"):
        out = out[:, 1:]
    individual = out.reshape(grid, rows, -1).transpose(2, 1, 0)
    return individual.mean(axis=1), individual


def _grid(sample: pd.DataFrame, feature: Any, categorical: bool, grid: int) -> tuple[np.ndarray, pd.DataFrame]:
    column = sample[feature]
    if categorical:
        levels = column.dropna().value_counts().index[:grid]
        if not len(levels):
            raise TabwrightError(f"{feature!r} has no values in these rows.", "Pick another column.")
        return np.asarray(list(levels), dtype=object), sample
    numbers = pd.to_numeric(column, errors="coerce").astype(float)
    sample = sample.copy()
    sample[feature] = numbers  # scikit-learn refuses integer columns: a grid would be rounded away
    present = np.unique(numbers.dropna().to_numpy())
    if not len(present):
        raise TabwrightError(f"{feature!r} has no values in these rows.", "Pick another column.")
    if len(present) <= grid:
        return present, sample
    low, high = np.nanpercentile(numbers, [5, 95])
    return np.unique(np.linspace(low, high, grid)), sample


def dependence_sentence(curve: dict[str, Any], *, spread: float) -> str:
    """A plain sentence read off a partial-dependence curve (see the module notes)."""
    grid, average = curve["grid"], np.asarray(curve["average"], dtype=float)
    output = curve["output"]
    what = f"The predicted {output_words(output, curve.get('target'), curve.get('class'))}"
    feature = curve["feature"]
    low, high = float(average.min()), float(average.max())
    flat = FLAT_POINTS if output == "probability" else FLAT_SHARE * spread
    if high - low <= flat:
        low_text, high_text = format_output(low, output), format_output(high, output)
        span = f"about {low_text}" if low_text == high_text else f"between {low_text} and {high_text}"
        return f"{what} hardly changes with {feature} ({span})."
    if curve["kind"] == "categorical":
        top, bottom = int(np.argmax(average)), int(np.argmin(average))
        return (f"{what} is highest for {feature} = {value_text(grid[top])} ({format_output(high, output)}) "
                f"and lowest for {value_text(grid[bottom])} ({format_output(low, output)}).")
    first, last = float(average[0]), float(average[-1])
    steps = np.abs(np.diff(average))
    monotone = abs(last - first) >= 0.8 * (high - low)
    if not monotone:
        top, bottom = int(np.argmax(average)), int(np.argmin(average))
        return (f"{what} goes up and down with {feature}: highest ({format_output(high, output)}) at "
                f"{feature} ≈ {value_text(grid[top])}, lowest ({format_output(low, output)}) at "
                f"≈ {value_text(grid[bottom])}.")
    verb = "rises" if last > first else "falls"
    sentence = (f"{what} {verb} from {format_output(first, output)} to {format_output(last, output)} "
                f"({format_change(last - first, output)}) as {feature} goes from "
                f"{value_text(grid[0])} to {value_text(grid[-1])}")
    start, stop = _where_most_changes(steps)
    if stop - start < 0.5 * (len(grid) - 1):
        sentence += f"; most of the change happens between {value_text(grid[start])} and {value_text(grid[stop])}"
    return sentence + "."


def _where_most_changes(steps: np.ndarray) -> tuple[int, int]:
    """Grid positions (start, stop) of the shortest stretch holding ``MOST_CHANGE`` of the movement."""
    total = steps.sum()
    best = (0, len(steps))
    cumulative = np.concatenate([[0.0], np.cumsum(steps)])
    for start in range(len(steps)):
        reach = np.searchsorted(cumulative, cumulative[start] + MOST_CHANGE * total - 1e-12)
        if reach <= len(steps) and reach - start < best[1] - best[0]:
            best = (start, int(reach))
    return best


# --------------------------------------------------------------------------- for a run


def top_features(result: TrainResult, *, importance: list[dict[str, Any]] | None = None,
                 top: int = PDP_FEATURES) -> list[str]:
    """The ``top`` most important columns (permutation importance) that can be plotted."""
    if importance is None:
        importance = importance_for(result)
    plotted = [r for r in importance if result.plan.roles.get(r["feature"]) in PLOTTED_ROLES]
    useful = [r for r in plotted if (r["importance_mean"] or 0) > 0]
    return [r["feature"] for r in (useful or plotted)[:top]]


def partial_dependence_for(result: TrainResult, feature: Any, *, class_label: Any = None,
                           rows: int = PDP_ROWS, grid: int = PDP_GRID) -> dict[str, Any]:
    """:func:`partial_dependence_data` of one column for a run, on its training rows.

    By default, two classes show the run's positive class, and more the most common class in
    the training rows.
    """
    if result.task == "clustering":
        raise TabwrightError("A clustering has no prediction to plot.",
                             "Partial dependence applies to classification and regression runs.")
    if class_label is None and result.task == "binary":
        class_label = (result.evaluation or {}).get("positive_label")
    elif class_label is None and result.task == "multiclass" and result.y_train is not None:
        class_label = pd.Series(result.y_train).value_counts().index[0]
    return partial_dependence_data(result.pipeline, result.X_train, feature, task=result.task,
                                   role=result.plan.roles.get(feature, "categorical"),
                                   class_label=class_label, target=result.recipe.target,
                                   rows=rows, grid=grid, seed=result.recipe.seed)


def partial_dependence_report(result: TrainResult, *, importance: list[dict[str, Any]] | None = None,
                              top: int = REPORT_FEATURES, class_label: Any = None,
                              rows: int = REPORT_ROWS, grid: int = REPORT_GRID) -> list[dict[str, Any]]:
    """Partial-dependence figures and sentences of a run's most important columns, for a report.

    Lighter than the page's curves by default (``REPORT_ROWS`` rows, ``REPORT_GRID`` grid
    values, ``REPORT_FEATURES`` columns); a column that cannot be plotted is skipped.

    Returns
    -------
    list of dict
        ``[{"id", "section", "title", "figure", "feature", "sentence", "curve"}]``: the shape of
        :func:`core.deliver._report.build_report`'s figures (``figure`` is plotly JSON) plus the
        sentence and the JSON-safe curve. Empty for a clustering.
    """
    if result.task == "clustering":
        return []
    out = []
    for i, feature in enumerate(top_features(result, importance=importance, top=top)):
        try:
            curve = partial_dependence_for(result, feature, class_label=class_label, rows=rows,
                                           grid=grid)
        except TabwrightError:  # e.g. no values in the sampled rows: the report goes on
            continue
        fig = partial_dependence_figure(curve)
        out.append({"id": f"partial_dependence_{i}", "section": "explain",
                    "title": fig.layout.title.text, "figure": json.loads(fig.to_json()),
                    "feature": feature, "sentence": curve["sentence"], "curve": curve})
    return out
