"""Why one prediction: each input column's contribution, as plain JSON data.

A contribution is a Shapley value: how much knowing this row's value of a column moves the
prediction away from the model's average, sharing the effect of columns that act together
fairly between them. Contributions are per **original input column** (a one-hot encoded column
gets one contribution, in the user's words) and always add up exactly:
``expected_value + sum(contributions) == the model's output for the row``.

The output explained is, for a classifier, the **probability** of one class (the positive class
for two classes, the predicted class otherwise; a model without probabilities explains its
decision score); for a regressor, the **predicted value**. Probabilities, not log-odds: a
person reads "+12 points of chance" more easily, and a soft-voting ensemble averages
probabilities, so its members' contributions average too.

Two ways to compute them, chosen per model (and per member of an averaging ensemble, whose
contributions are the weighted average of its members'):

- **Exact, for tree models whose trees hold the explained output** (decision trees, random
  forests and extra trees, whose leaves hold probabilities or values, and gradient-boosting
  regressors without native categories): path-dependent TreeSHAP from the ``shap`` package on
  the prepared columns, summed per input column (a prepared column made from two inputs, an
  interaction, is split between them equally); the expected value is the trees' average over
  their training rows. The sum is checked against the model's prediction, and any mismatch
  falls back to sampling. Gradient-boosting *classifiers* add log-odds, and ``shap``'s
  conversion to probabilities did not add up to scikit-learn's (0.992 for 0.994 in a test),
  nor does it read native categorical splits: they are sampled, which is fast for them.
- **Sampled, for any model**: the permutation estimate of Štrumbelj and Kononenko. Each draw
  pairs one reference row (up to ``BACKGROUND_ROWS`` training rows) with a random order of the
  columns, switches the columns from the reference row's values to this row's one at a time
  in that order, and credits each column with the change it makes. Every reference row gets
  the same number of draws, in antithetic pairs (an order and its reverse), with a fixed seed,
  so the result is repeatable; the contributions add up exactly for every draw, and a model
  that adds up its columns' effects (a linear regression) gets its exact values. About
  ``SAMPLING_ROWS`` rows are predicted in one batch: well under a second for the models
  tabwright trains, on 10–30 columns.

:func:`explain_prediction` explains one row of any fitted model; :func:`explain_for` one row
of a training run (the page's "what if?"); :func:`explain_rows` every row of a file against a
saved model (for ``tabwright explain``).
"""

from __future__ import annotations

import math
import threading
import weakref
from typing import Any, Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.feature_selection import SelectorMixin
from sklearn.model_selection import FixedThresholdClassifier, TunedThresholdClassifierCV
from sklearn.preprocessing import PolynomialFeatures
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from core.errors import TabwrightError
from core.estimators import FOLD_BAGS
from core.formatting import format_number, format_percent, json_safe, shorten
from core.run import TrainResult
from core.settings import thread_limit

BACKGROUND_ROWS = 100
"""Reference rows (drawn from the training rows with the run's seed) the prediction is compared
with; their average prediction is the expected value."""
MIN_BACKGROUND_ROWS = 20
"""Fewest reference rows kept when many columns would otherwise overrun ``SAMPLING_ROWS``."""
SAMPLING_ROWS = 16_000
"""About how many rows one sampled explanation predicts, in one batch."""
EXPLAIN_ROWS = 1_000
"""Most rows :func:`explain_rows` explains in one call (each can take up to a second)."""
TOP_NAMED = 2
"""Columns named in the sentence in each direction (raising, lowering)."""
NAMED_SHARE = 0.1
"""A column is named only if its contribution is at least this share of the largest one."""
VALUE_CHARS = 40
"""Longest value shown in a label such as ``sex = female``; longer text is cut."""

_PATH_TREES = (DecisionTreeClassifier, DecisionTreeRegressor, RandomForestClassifier,
               RandomForestRegressor, ExtraTreesClassifier, ExtraTreesRegressor,
               HistGradientBoostingRegressor)
_THRESHOLD_WRAPPERS = (FixedThresholdClassifier, TunedThresholdClassifierCV)
# Path-dependent TreeSHAP reads the whole forest first (half a second for 4 million nodes): kept
# per fitted estimator, as long as the estimator lives, so a "what if?" only pays it once.
_TREE_EXPLAINERS: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()
_TREE_EXPLAINERS_LOCK = threading.Lock()


# --------------------------------------------------------------------------- the public API


def background_rows(X: pd.DataFrame, *, rows: int = BACKGROUND_ROWS, seed: int = 0) -> pd.DataFrame:
    """Up to ``rows`` rows of ``X`` drawn without replacement with ``seed``, in their order."""
    if not isinstance(X, pd.DataFrame) or len(X) == 0:
        raise TabwrightError("Explanations need reference rows, and none were given.",
                             "Pass the training rows (a table with at least one row).")
    if len(X) <= rows:
        return X
    keep = np.sort(np.random.default_rng(seed).choice(len(X), size=rows, replace=False))
    return X.iloc[keep]


def explain_prediction(model: Any, row: pd.DataFrame, background: pd.DataFrame, *, task: str,
                       class_label: Any = None, target: str | None = None, seed: int = 0,
                       max_rows: int = SAMPLING_ROWS) -> dict[str, Any]:
    """Each input column's contribution to one prediction.

    Parameters
    ----------
    model : estimator
        A fitted tabwright model: a pipeline taking raw columns, possibly a soft-voting
        ensemble of pipelines, possibly wrapped in a fixed decision threshold.
    row : pandas.DataFrame
        One row with the raw columns the model takes (extra columns are ignored).
    background : pandas.DataFrame
        Reference rows, e.g. the training rows; at most ``BACKGROUND_ROWS`` are drawn.
    task : {"binary", "multiclass", "regression"}
    class_label : optional
        Classifiers: the class whose probability is explained. Default: ``classes_[1]`` for two
        classes, the predicted class for more.
    target : str, optional
        The target's name, for the sentence.
    seed : int, default=0
        Draws the reference rows and the sampled orders (same inputs, same numbers).
    max_rows : int, default=SAMPLING_ROWS
        About how many rows a sampled estimate predicts; more is slower and more precise.

    Returns
    -------
    dict
        JSON-safe. ``task``, ``target``, ``class`` (explained class or None), ``output``
        (``"probability"``, ``"decision score"`` or ``"value"``), ``what`` (the output in words,
        e.g. ``"chance of survived = 1"``), ``predicted`` (the model's
        prediction: a label, or the value), ``prediction`` (the explained output for the row),
        ``expected_value`` (the average output), ``contributions`` (``[{"feature", "value",
        "label", "contribution", "error"}]``, largest effect first; ``error`` is the standard
        error of a sampled estimate, 0 when exact), ``method`` (``"exact"``, ``"sampled"`` or
        ``"mixed"``), ``method_note``, ``reference_rows`` and ``sentence``.

    Examples
    --------
    >>> out = explain_prediction(pipe, X_test.iloc[[0]], X_train, task="binary")  # doctest: +SKIP
    >>> out["expected_value"] + sum(c["contribution"] for c in out["contributions"])  # doctest: +SKIP
    0.91  # == pipe.predict_proba(X_test.iloc[[0]])[0, 1]
    """
    if task not in ("binary", "multiclass", "regression"):
        raise TabwrightError(f"Explanations apply to classification and regression, got {task!r}.",
                             "Clusters have no prediction to explain; see the cluster profiles.")
    columns = _input_columns(model, background)
    row = _one_row(row, columns)
    background = background_rows(background[columns], rows=_reference_size(len(columns), max_rows),
                                 seed=seed)
    with thread_limit():
        class_index, class_value = _explained_class(model, row, task, class_label)
        parts = _weighted_parts(model)
        phi, error = np.zeros(len(columns)), np.zeros(len(columns))
        base, methods = 0.0, []
        sampled: list[tuple[float, Callable[[pd.DataFrame], np.ndarray]]] = []
        for weight, part in parts:
            output = _output(part, task, class_index)
            found = _exact(part, row, class_index, output)
            if found is None:  # sampled below, together with the other such parts
                sampled.append((weight, output))
                continue
            part_phi, part_base, part_error, method = found
            phi += weight * part_phi
            base += weight * part_base
            methods.append(method)
        if sampled:
            # Contributions are linear in the output: the parts without an exact method are
            # sampled once, as their weighted mean (a bag's five copies cost one sampling).
            share = sum(weight for weight, _ in sampled)

            def together(X: pd.DataFrame) -> np.ndarray:
                return sum(weight * output(X) for weight, output in sampled) / share

            part_phi, part_base, part_error = _sampled(together, row, background, seed=seed,
                                                       max_rows=max_rows)
            phi += share * part_phi
            base += share * part_base
            error = share * part_error
            methods.append("sampled")
        predicted = model.predict(row)[0]
    # The parts' outputs average to the model's (soft voting), and each part's contributions add
    # up to its output, checked for TreeSHAP and exact by construction when sampled.
    prediction = base + float(phi.sum())
    method = methods[0] if len(set(methods)) == 1 else "mixed"
    order = np.argsort(-np.abs(phi), kind="stable")
    result = {
        "task": task, "target": target, "class": class_value,
        "output": _output_kind(model, task), "predicted": predicted, "prediction": prediction,
        "what": output_words(_output_kind(model, task), target, class_value),
        "expected_value": base,
        "contributions": [{"feature": columns[i], "value": row.iloc[0, i],
                           "label": value_label(columns[i], row.iloc[0, i]),
                           "contribution": phi[i], "error": error[i]} for i in order],
        "method": method, "reference_rows": len(background),
    }
    result["method_note"] = _method_note(method, len(background), float(error.max(initial=0.0)),
                                         result["output"], len(parts) > 1)
    result["sentence"] = explanation_sentence(result)
    return json_safe(result)


def explain_for(result: TrainResult, row: pd.DataFrame, *, class_label: Any = None) -> dict[str, Any]:
    """:func:`explain_prediction` of a run's model for ``row``, against its training rows.

    Two classes: the run's positive class is explained unless ``class_label`` says otherwise.
    """
    if result.task == "clustering":
        raise TabwrightError("A clustering has no prediction to explain.",
                             "Explanations apply to classification and regression runs.")
    if class_label is None and result.task == "binary":
        class_label = (result.evaluation or {}).get("positive_label")
    return explain_prediction(result.pipeline, row, result.X_train, task=result.task,
                              class_label=class_label, target=result.recipe.target,
                              seed=result.recipe.seed)


def explain_rows(model: Any, card: dict[str, Any], frame: pd.DataFrame, *,
                 background: pd.DataFrame | None = None, class_label: Any = None,
                 seed: int = 0) -> pd.DataFrame:
    """Contributions for every row of ``frame``, one row out per row in, for a saved model.

    Columns the model does not take (the target, an id) are ignored, as in prediction. The
    reference rows are ``background`` if given, else :func:`reference_rows` drawn from the
    model card's training distributions (a bundle keeps no training rows).

    Returns
    -------
    pandas.DataFrame
        ``prediction``, ``explained`` (the class whose probability is explained, or the
        target's name), ``expected_value``, ``output`` (the explained output for the row), then
        one ``contribution_<column>`` per input column in the model's order;
        ``expected_value`` plus the contributions is ``output`` on every row.
    """
    names = [c["name"] for c in card["input_schema"]["columns"]]
    absent = [n for n in names if n not in frame.columns]
    if absent:
        raise TabwrightError(f"The data lacks {len(absent)} column(s) the model needs: "
                             f"{', '.join(map(repr, absent[:10]))}.",
                             "Use a file with the same columns as the training data.")
    if not 1 <= len(frame) <= EXPLAIN_ROWS:
        raise TabwrightError(f"Explain between 1 and {EXPLAIN_ROWS:,} rows at a time, got {len(frame):,}.",
                             "Split the file, or explain a sample of its rows.")
    reference = reference_rows(card, seed=seed) if background is None else background[names]
    records = []
    for position in range(len(frame)):
        out = explain_prediction(model, frame.iloc[[position]][names], reference, task=card["task"],
                                 class_label=class_label, target=card.get("target"), seed=seed)
        by_column = {c["feature"]: c["contribution"] for c in out["contributions"]}
        records.append({"prediction": out["predicted"],
                        "explained": out["class"] if out["class"] is not None else card.get("target"),
                        "expected_value": out["expected_value"], "output": out["prediction"],
                        **{f"contribution_{n}": by_column[n] for n in names}})
    return pd.DataFrame(records)


def reference_rows(card: dict[str, Any], *, rows: int = BACKGROUND_ROWS, seed: int = 0) -> pd.DataFrame:
    """Synthetic reference rows drawn from a model card's training distributions.

    Each column is drawn on its own from the card's ``baseline`` (deciles for numbers, level
    shares for categories, the share of missing values), within the schema's range. Columns
    are independent here, which interventional contributions assume anyway.
    """
    baseline = (card.get("baseline") or {}).get("features") or {}
    rng = np.random.default_rng(seed)
    out = {}
    for entry in card["input_schema"]["columns"]:
        name = entry["name"]
        stats = baseline.get(name)
        if stats is None:
            raise TabwrightError(f"The model card has no training distribution for {name!r}.",
                                 "Pass reference rows (e.g. a sample of the training data).")
        if stats["kind"] == "numeric":
            values = _draw_numbers(stats, entry, rows, rng)
        else:
            values = _draw_levels(stats, entry, rows, rng)
        missing = rng.random(rows) < float(stats.get("missing") or 0.0)
        if values.dtype == object:
            values[missing] = None
        else:
            values = np.where(missing, np.nan, values)
        out[name] = values
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- words


def value_label(feature: Any, value: Any) -> str:
    """``"sex = female"``: a column and its value as a person reads them."""
    return f"{feature} = {value_text(value)}"


def value_text(value: Any) -> str:
    """A value as a person reads it: ``(missing)``, ``True``, ``7.25``, text cut at ``VALUE_CHARS``."""
    if value is None or (not isinstance(value, str) and pd.isna(value) is True):
        return "(missing)"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return format_number(value)
    text = " ".join(str(value).split())
    return shorten(text, VALUE_CHARS)


def output_words(output: str, target: str | None, class_value: Any) -> str:
    """What is explained, in words: ``chance of survived = 1``, ``median_house_value``."""
    target = target or "the target"
    if output == "probability":
        return f"chance of {target} = {value_text(class_value)}"
    if output == "decision score":
        return f"score for {target} = {value_text(class_value)}"
    return str(target)


def format_output(value: float, output: str) -> str:
    """A model output as a person reads it: a percentage for a probability, else a number."""
    if output == "probability":
        return format_percent(min(max(float(value), 0.0), 1.0))
    return _number(value)


def _number(value: float) -> str:
    """``205,246`` rather than ``205,245.96``: big numbers need no decimals in a sentence."""
    value = float(value)
    return f"{value:,.0f}" if 1000 <= abs(value) < 1e15 else format_number(value)


def format_change(value: float, output: str) -> str:
    """A signed change: ``+27 points`` (of probability) or ``−1.5``."""
    sign = "+" if value >= 0 else "−"
    if output == "probability":
        points = abs(value) * 100
        shown = f"{points:.0f}" if points >= 9.5 else f"{points:.1f}".rstrip("0").rstrip(".")
        return f"{sign}{shown} {'point' if shown == '1' else 'points'}"
    return f"{sign}{_number(abs(value))}"


def explanation_sentence(explanation: dict[str, Any]) -> str:
    """Plain sentences: the prediction against the average, and the columns that moved it most."""
    output = explanation["output"]
    what = output_words(output, explanation.get("target"), explanation.get("class"))
    now = format_output(explanation["prediction"], output)
    average = format_output(explanation["expected_value"], output)
    if output == "probability":
        head = f"The model gives this row a {now} {what}, against {average} on average."
    elif output == "decision score":
        head = f"The model's {what} is {now} for this row, against {average} on average."
    else:
        head = f"The model predicts {now} for {what}, against {average} on average."
    contributions = explanation["contributions"]
    largest = max((abs(c["contribution"]) for c in contributions), default=0.0)
    if largest == 0.0:
        return head + " No column moves it away from the average."
    named = [c for c in contributions if abs(c["contribution"]) >= NAMED_SHARE * largest]
    ups = [c for c in named if c["contribution"] > 0][:TOP_NAMED]
    downs = [c for c in named if c["contribution"] < 0][:TOP_NAMED]

    def listed(items: list[dict[str, Any]]) -> str:
        return ", then ".join(f"{c['label']} ({format_change(c['contribution'], output)})"
                              for c in items)

    raises = (f"{listed(ups)} {'raises' if len(ups) == 1 else 'raise'} it most" if ups
              else "no column raises it by much")
    lowers = (f"{listed(downs)} {'lowers' if len(downs) == 1 else 'lower'} it most" if downs
              else "no column lowers it by much")
    clauses = [raises, lowers] if ups or not downs else [lowers, raises]
    return f"{head} {clauses[0]}; {clauses[1]}."  # starts with a column, never "no column"


def _method_note(method: str, reference: int, error: float, output: str, ensemble: bool) -> str:
    space = {"probability": "probability", "decision score": "decision score",
             "value": "predicted value"}[output]
    if method == "exact":
        return (f"Exact contributions (TreeSHAP) to the {space}, per input column"
                + (", averaged over the ensemble's models." if ensemble else "."))
    if error < 1e-9:
        sampled = (f"computed against {reference} training rows: this model adds up its "
                   "columns' effects, so sampling gives them exactly")
    else:
        sampled = (f"estimated by sampling orders of the columns against {reference} training "
                   f"rows (fixed seed; standard error up to {format_change(error, output)[1:]})")
    if method == "mixed":
        return (f"Contributions to the {space}: exact (TreeSHAP) for the ensemble's tree models, "
                f"{sampled} for the others.")
    return f"Contributions to the {space}, {sampled}."


# --------------------------------------------------------------------------- the model's output


def _unwrapped(model: Any) -> Any:
    """The fitted model inside a decision-threshold wrapper (the threshold only moves labels)."""
    return model.estimator_ if isinstance(model, _THRESHOLD_WRAPPERS) else model


def _weighted_parts(model: Any) -> list[tuple[float, Any]]:
    """Models whose weighted average is ``model``'s output: a soft-voting ensemble's members,
    or the model itself."""
    inner = _unwrapped(model)
    steps = getattr(inner, "steps", None)
    voting = steps[-1][1] if steps and len(steps) == 1 else inner
    if isinstance(voting, VotingRegressor) or (isinstance(voting, VotingClassifier)
                                               and voting.voting == "soft"):
        kept = [est != "drop" for _, est in voting.estimators]
        weights = np.ones(len(kept)) if voting.weights is None else np.asarray(voting.weights, dtype=float)
        weights = weights[np.asarray(kept)]
        return [(float(w / weights.sum()) * share, part)
                for w, member in zip(weights, voting.estimators_)
                for share, part in _weighted_parts(member)]
    if isinstance(voting, FOLD_BAGS):  # the mean of its fold copies
        return [(1.0 / len(voting.estimators_), copy) for copy in voting.estimators_]
    return [(1.0, inner)]


def _output_kind(model: Any, task: str) -> str:
    if task == "regression":
        return "value"
    return "probability" if hasattr(model, "predict_proba") else "decision score"


def _output(model: Any, task: str, class_index: int) -> Callable[[pd.DataFrame], np.ndarray]:
    """The explained output of ``model`` for rows: probability, decision score or value."""
    kind = _output_kind(model, task)
    if kind == "value":
        return lambda X: np.asarray(model.predict(X), dtype=float)
    if kind == "probability":
        return lambda X: np.asarray(model.predict_proba(X), dtype=float)[:, class_index]
    if not hasattr(model, "decision_function"):
        raise TabwrightError("This model gives neither probabilities nor scores, so its "
                             "predictions cannot be split into column contributions.",
                             "Choose a model that outputs probabilities.")

    def decision(X: pd.DataFrame) -> np.ndarray:
        scores = np.asarray(model.decision_function(X), dtype=float)
        if scores.ndim == 1:  # two classes: positive scores favour classes_[1]
            return scores if class_index == 1 else -scores
        return scores[:, class_index]

    return decision


def _explained_class(model: Any, row: pd.DataFrame, task: str, class_label: Any) -> tuple[int, Any]:
    if task == "regression":
        return 0, None
    classes = np.asarray(model.classes_)
    if class_label is None:
        class_label = classes[1] if len(classes) == 2 else model.predict(row)[0]
    matches = np.flatnonzero(classes == class_label)
    if not len(matches):
        raise TabwrightError(f"`class_label` must be one of the model's classes {json_safe(classes)}, "
                             f"got {class_label!r}.", "Pick a class from the list.")
    return int(matches[0]), classes[matches[0]]


# --------------------------------------------------------------------------- inputs


def _input_columns(model: Any, background: pd.DataFrame) -> list[Any]:
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = getattr(_unwrapped(model), "feature_names_in_", None)
    columns = list(names) if names is not None else list(background.columns)
    absent = [c for c in columns if c not in background.columns]
    if absent:
        raise TabwrightError(f"The reference rows lack column(s) the model needs: "
                             f"{', '.join(map(repr, absent[:10]))}.",
                             "Pass rows with the training data's columns.")
    return columns


def _one_row(row: pd.DataFrame, columns: list[Any]) -> pd.DataFrame:
    if not isinstance(row, pd.DataFrame) or len(row) != 1:
        got = f"{len(row)} rows" if isinstance(row, pd.DataFrame) else type(row).__name__
        raise TabwrightError(f"An explanation is for exactly one row, got {got}.",
                             "Pass a one-row table, e.g. X.iloc[[5]].")
    absent = [c for c in columns if c not in row.columns]
    if absent:
        raise TabwrightError(f"The row lacks column(s) the model needs: "
                             f"{', '.join(map(repr, absent[:10]))}.",
                             "Give a value (or leave it missing) for every input column.")
    return row[columns]


def _reference_size(n_columns: int, max_rows: int) -> int:
    """Reference rows such that one antithetic pair per row stays within ``max_rows``."""
    fits = max_rows // max(2 * (n_columns - 1), 1)
    return int(min(BACKGROUND_ROWS, max(MIN_BACKGROUND_ROWS, fits)))


# --------------------------------------------------------------------------- exact: TreeSHAP


def _exact(part: Any, row: pd.DataFrame, class_index: int,
           output: Callable[[pd.DataFrame], np.ndarray]
           ) -> tuple[np.ndarray, float, np.ndarray, str] | None:
    """TreeSHAP contributions per input column when ``part`` is a supported tree pipeline and
    they add up to its prediction; else None."""
    steps = getattr(part, "steps", None)
    if not steps or len(steps) < 2:
        return None
    estimator = steps[-1][1]
    if not isinstance(estimator, _PATH_TREES):
        return None
    categorical = getattr(estimator, "is_categorical_", None)
    if categorical is not None and np.any(categorical):
        return None  # shap reads native categorical splits as numeric thresholds
    sources = encoded_sources(part)
    if sources is None:
        return None
    encoded_row = part[:-1].transform(row)
    if sp.issparse(encoded_row):
        return None
    found = _tree_shap(estimator, np.asarray(encoded_row, dtype=float), class_index)
    if found is None:
        return None
    encoded_phi, base = found
    phi = np.zeros(row.shape[1])
    position = {c: i for i, c in enumerate(row.columns)}
    for value, columns in zip(encoded_phi, sources):
        for column in columns:
            phi[position[column]] += value / len(columns)
    if not math.isclose(base + phi.sum(), float(output(row)[0]), rel_tol=1e-6, abs_tol=1e-6):
        return None
    return phi, base, np.zeros_like(phi), "exact"


def _tree_shap(estimator: Any, encoded_row: np.ndarray, class_index: int
               ) -> tuple[np.ndarray, float] | None:
    # shap (with numba) takes about a second to import: only explanations of tree models need it.
    import shap

    try:
        explainer = _path_explainer(estimator, shap)
        values = np.asarray(explainer.shap_values(encoded_row, check_additivity=False), dtype=float)
        base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
    except Exception:  # shap raises many types for models it cannot read; sampling always works
        return None
    if values.ndim == 3:  # (rows, prepared columns, classes)
        return values[0, :, class_index], float(base[class_index])
    return values[0], float(base[0])  # a regressor


def _path_explainer(estimator: Any, shap: Any) -> Any:
    with _TREE_EXPLAINERS_LOCK:
        explainer = _TREE_EXPLAINERS.get(estimator)
    if explainer is None:
        explainer = shap.TreeExplainer(estimator, feature_perturbation="tree_path_dependent")
        with _TREE_EXPLAINERS_LOCK:
            _TREE_EXPLAINERS[estimator] = explainer
    return explainer


def encoded_sources(pipeline: Any) -> list[tuple[Any, ...]] | None:
    """For each column the model step receives, the input columns it is made from.

    Follows ``Pipeline([("prep", ColumnTransformer), selection steps..., ("model", ...)])``;
    None when a step mixes columns in a way that cannot be traced (PCA, for instance) or a
    prepared column cannot be matched to its input by name.
    """
    steps = pipeline.steps
    prep = steps[0][1]
    if not isinstance(prep, ColumnTransformer):
        return None
    width = max((s.stop for s in prep.output_indices_.values()), default=0)
    sources: list[tuple[Any, ...] | None] = [None] * width
    for name, transformer, columns in prep.transformers_:
        where = prep.output_indices_.get(name)
        if where is None or where.stop == where.start or (isinstance(transformer, str)
                                                          and transformer == "drop"):
            continue
        found = _branch_sources(transformer, list(columns), where.stop - where.start)
        if found is None:
            return None
        sources[where] = found
    if any(s is None for s in sources):
        return None
    for _, step in steps[1:-1]:
        if not isinstance(step, SelectorMixin):
            return None
        sources = [s for s, kept in zip(sources, step.get_support()) if kept]
    return sources


def _branch_sources(transformer: Any, columns: list[Any], width: int) -> list[tuple[Any, ...]] | None:
    if len(columns) == 1:
        return [(columns[0],)] * width
    if isinstance(transformer, str):  # "passthrough"
        return [(c,) for c in columns] if width == len(columns) else None
    poly = next((s for s in getattr(transformer, "named_steps", {}).values()
                 if isinstance(s, PolynomialFeatures)), None)
    if poly is not None:
        return [tuple(c for c, p in zip(columns, powers) if p) for powers in poly.powers_]
    try:
        names = [str(n) for n in transformer.get_feature_names_out(columns)]
    except (AttributeError, ValueError, TypeError):
        return None
    if len(names) != width:
        return None
    out = []
    for name in names:
        # The longest input name the prepared name comes from (one-hot "sex_male", a missing-
        # value indicator, a date part "when_year"): "embark_town_C" is embark_town's.
        matches = [c for c in columns if name == str(c) or name.startswith(f"{c}_")
                   or name == f"missingindicator_{c}"]
        if not matches:
            return None
        out.append((max(matches, key=lambda c: len(str(c))),))
    return out


# --------------------------------------------------------------------------- sampled


def _sampled(output: Callable[[pd.DataFrame], np.ndarray], row: pd.DataFrame,
             background: pd.DataFrame, *, seed: int, max_rows: int
             ) -> tuple[np.ndarray, float, np.ndarray]:
    """Permutation-sampled contributions, their expected value and standard errors."""
    d, n_ref = row.shape[1], len(background)
    at_row = float(output(row)[0])
    at_reference = output(background)
    base = float(at_reference.mean())
    if d == 1:
        return np.array([at_row - base]), base, np.zeros(1)
    per_row = max(1, max_rows // (2 * (d - 1) * n_ref))
    n_pairs = n_ref * per_row
    orders = np.argsort(np.random.default_rng(seed).random((n_pairs, d)), axis=1)
    orders = np.concatenate([orders, orders[:, ::-1]])  # antithetic: each order and its reverse
    reference = np.tile(np.repeat(np.arange(n_ref), per_row), 2)
    rank = np.argsort(orders, axis=1)  # rank[s, j]: the step at which column j takes the row's value
    switched = rank[:, None, :] < np.arange(1, d)[None, :, None]  # (draws, steps 1..d-1, columns)
    inner = output(_mixed_rows(row, background, reference, switched)).reshape(len(orders), d - 1)
    chain = np.column_stack([at_reference[reference], inner, np.full(len(orders), at_row)])
    credit = np.zeros((len(orders), d))
    np.put_along_axis(credit, orders, np.diff(chain, axis=1), axis=1)
    pair_means = (credit[:n_pairs] + credit[n_pairs:]) / 2
    # Each draw's credits add up to at_row minus its reference row's output, and every reference
    # row is drawn equally often, so the mean adds up to at_row - base exactly.
    return pair_means.mean(axis=0), base, _standard_error(pair_means, n_ref, per_row)


def _standard_error(pair_means: np.ndarray, n_ref: int, per_row: int) -> np.ndarray:
    """Standard error of the mean over draws stratified by reference row (each row equally)."""
    if per_row < 2:
        return pair_means.std(axis=0, ddof=1) / math.sqrt(len(pair_means))
    within = pair_means.reshape(n_ref, per_row, -1).var(axis=1, ddof=1)
    return np.sqrt(within.sum(axis=0) / per_row) / n_ref


def _mixed_rows(row: pd.DataFrame, background: pd.DataFrame, reference: np.ndarray,
                switched: np.ndarray) -> pd.DataFrame:
    """Rows that take the row's value where ``switched`` and the reference row's elsewhere."""
    steps = switched.shape[1]
    out = {}
    for j, column in enumerate(row.columns):
        kept = background[column]
        values = kept.to_numpy()[np.repeat(reference, steps)]
        mine = row[column].to_numpy()
        common = object if object in (values.dtype, mine.dtype) else np.result_type(values.dtype, mine.dtype)
        values = values.astype(common, copy=False)
        values[switched[:, :, j].ravel()] = mine[0]
        if isinstance(kept.dtype, pd.api.extensions.ExtensionDtype):
            try:  # keep pandas' own types (nullable integers, categories) where the values fit
                values = pd.array(values, dtype=kept.dtype)
            except (TypeError, ValueError):
                pass
        out[column] = values
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- reference rows


def _draw_numbers(stats: dict[str, Any], entry: dict[str, Any], rows: int,
                  rng: np.random.Generator) -> np.ndarray:
    inner = [float(e) for e in stats.get("edges") or []]
    shares = np.asarray(stats.get("shares") or [], dtype=float)
    if not len(shares):
        return np.full(rows, np.nan)
    low = entry.get("min") if entry.get("min") is not None else (inner[0] if inner else 0.0)
    high = entry.get("max") if entry.get("max") is not None else (inner[-1] if inner else 0.0)
    bounds = np.asarray([low, *inner, high], dtype=float)
    which = rng.choice(len(shares), size=rows, p=shares / shares.sum())
    values = rng.uniform(bounds[which], bounds[which + 1])
    return np.round(values) if entry.get("integer") else values


def _draw_levels(stats: dict[str, Any], entry: dict[str, Any], rows: int,
                 rng: np.random.Generator) -> np.ndarray:
    known = set(entry.get("levels") or stats.get("levels") or {})
    levels = {k: v for k, v in (stats.get("levels") or {}).items() if k in known}
    if not levels:
        return np.full(rows, None, dtype=object)
    names = list(levels)
    shares = np.asarray(list(levels.values()), dtype=float)
    drawn = [names[i] for i in rng.choice(len(names), size=rows, p=shares / shares.sum())]
    dtype = str(entry.get("dtype", "object"))
    if dtype == "bool":
        return np.asarray([v == "True" for v in drawn], dtype=object)
    if dtype.startswith(("int", "Int", "uint")):
        return np.asarray([int(float(v)) for v in drawn], dtype=object)
    if dtype.startswith("float"):
        return np.asarray([float(v) for v in drawn], dtype=float)
    return np.asarray(drawn, dtype=object)
