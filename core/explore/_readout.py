"""What the Explore page offers and says: the columns each chart can use, its first picks, and
the sentences and tables around the charts and the ability-to-learn check.

Everything here is plain text and data; the page escapes it for Markdown and draws it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.utils.extmath import randomized_svd

from core.explore._lookup import as_numbers, level_codes
from core.explore._profile import Profile
from core.explore.eda import MAX_CORRELATION_COLUMNS
from core.formatting import format_percent

RELATION_READINGS = {
    "box": "If the boxes sit at different heights, the feature separates the classes.",
    "stacked": "If the coloured shares differ between bars, the category tells the classes "
               "apart. Thin bars (few rows) are less reliable.",
    "scatter": "The orange line is the average target in each slice of the feature: a "
               "slope or curve means the feature helps predict it.",
    "box_by_level": "If the boxes sit at different heights, the category helps predict "
                    "the target.",
}
"""How to read each kind of feature-against-target chart (the ``kind`` of its data)."""
STRONGEST_PAIRS = 3
"""Correlated pairs named under the correlation chart."""
LINKED_COLOUR_LEVELS = 10
"""Columns with at most this many distinct values can colour the linked views."""
RANK_SAMPLE_ROWS = 2_000
"""Rows drawn at random to rank the columns by how informative they are (:func:`chart_order`)."""
RANK_LEVELS = 20
"""Bins (numbers) or most frequent levels (categories) a column is cut into to rank it."""
RANK_COMPONENTS = 5
"""Without a target, columns are ranked by their part in this many main components."""


def chart_order(frame: pd.DataFrame, roles: dict[str, str], *, target: str | None,
                task: str | None, seed: int = 0,
                limit: int = MAX_CORRELATION_COLUMNS) -> list[str] | None:
    """The feature columns, most informative first, so that a chart on a wide table starts
    with (and the correlation heatmap keeps) the columns worth looking at; None when there are
    at most ``limit`` features, which every chart can offer in the table's order.

    The score is cheap, on :data:`RANK_SAMPLE_ROWS` rows drawn at random (seeded). With a
    classification or regression target it is how much the target differs between the
    column's :data:`RANK_LEVELS` bins or levels (the correlation ratio η, 0–1: a curved link
    counts too). Without one, a number's part in the table's :data:`RANK_COMPONENTS` main
    components (the patterns that many columns share) and the rest last. Identifiers,
    constants and the target are left out; ties keep the table's order.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=500)
    >>> frame = pd.DataFrame({"noise": rng.normal(size=500), "x": x, "y": x + rng.normal(size=500)})
    >>> chart_order(frame, {"noise": "numeric", "x": "numeric"}, target="y", task="regression",
    ...             limit=1)
    ['x', 'noise']
    """
    features = [c for c in frame.columns if c != target
                and roles.get(c) not in ("identifier", "constant", None)]
    if len(features) <= limit:
        return None
    sample = frame
    if len(frame) > RANK_SAMPLE_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(frame), RANK_SAMPLE_ROWS,
                                                          replace=False))
        sample = frame.iloc[rows]
    if target in frame.columns and task in ("binary", "multiclass", "regression"):
        scores = _target_eta(sample, features, roles, sample[target], task)
    else:
        scores = _component_share(sample, features, roles)
    order = np.argsort(-np.nan_to_num(scores), kind="stable")
    return [features[i] for i in order]


def _target_eta(sample: pd.DataFrame, features: list[str], roles: dict[str, str],
                y: pd.Series, task: str) -> np.ndarray:
    """How strongly each feature goes with the target, 0–1. Numbers are compared by rank
    (missing values at the median), all at once: the rank correlation with a numeric target,
    the correlation ratio over the classes of a class target (few degrees of freedom, so little
    chance score on few rows). Other columns: the correlation ratio of the target over their
    :data:`RANK_LEVELS` most frequent levels (one-hot classes: the mean over classes)."""
    labelled = y.notna().to_numpy()
    scores = np.zeros(len(features))
    if labelled.sum() < 3:
        return scores
    if task == "regression":
        targets = y.to_numpy(dtype="float64", na_value=np.nan)[labelled][:, None]
    else:
        codes = pd.factorize(y[labelled])[0]
        targets = np.eye(int(codes.max()) + 1)[codes]
    centred = targets - targets.mean(axis=0)
    total = (centred ** 2).sum(axis=0)
    if not (total > 0).any():
        return scores
    numbers = {i: as_numbers(sample[c]) for i, c in enumerate(features)
               if roles.get(c) in ("numeric", "datetime")}
    numbers = {i: v[labelled] for i, v in numbers.items() if v is not None}
    if numbers:
        ranks = _standardised_ranks(np.column_stack(list(numbers.values())))
        if task == "regression":
            strength = np.abs(ranks.T @ _standardised_ranks(targets)[:, 0]) / len(ranks)
        else:
            sums = targets.T @ ranks  # classes × columns
            strength = np.sqrt((sums ** 2 / targets.sum(axis=0)[:, None]).sum(axis=0) / len(ranks))
        scores[list(numbers)] = strength
    for i, column in enumerate(features):
        if i in numbers:
            continue
        levels = level_codes(sample[column][labelled], max_bins=RANK_LEVELS, max_levels=RANK_LEVELS)
        counts = np.bincount(levels)
        sums = np.stack([np.bincount(levels, weights=t, minlength=counts.size)
                         for t in centred.T], axis=1)
        between = (sums ** 2 / np.maximum(counts, 1)[:, None]).sum(axis=0)
        scores[i] = float(np.mean(np.sqrt(between[total > 0] / total[total > 0])))
    return scores


def _standardised_ranks(x: np.ndarray) -> np.ndarray:
    """Each column's ranks (missing values at the column's median), centred and scaled to a
    standard deviation of 1 (constant columns: 0)."""
    with np.errstate(all="ignore"):
        filled = np.where(np.isnan(x), np.nanmedian(x, axis=0), x)
    ranks = rankdata(np.nan_to_num(filled), axis=0)
    ranks -= ranks.mean(axis=0)
    spread = ranks.std(axis=0)
    return ranks / np.where(spread > 0, spread, np.inf)


def _component_share(sample: pd.DataFrame, features: list[str],
                     roles: dict[str, str]) -> np.ndarray:
    """Each number's weight in the main components of the standardised sample (ranks, so a
    few extreme values do not make a column look important); other columns get 0."""
    scores = np.zeros(len(features))
    numeric = [i for i, c in enumerate(features) if roles.get(c) in ("numeric", "datetime")]
    columns = [as_numbers(sample[features[i]]) for i in numeric]
    kept = [(i, v) for i, v in zip(numeric, columns, strict=True) if v is not None]
    if len(kept) < 2 or len(sample) < 3:
        return scores
    x = _standardised_ranks(np.column_stack([v for _, v in kept]))
    k = min(RANK_COMPONENTS, min(x.shape) - 1)
    _, strength, loadings = randomized_svd(x, n_components=k, random_state=0)
    weights = ((loadings * strength[:, None]) ** 2).sum(axis=0)
    scores[[i for i, _ in kept]] = weights
    return scores


def correlation_columns(columns: list[str], roles: dict[str, str], *, target: str | None,
                        task: str | None, ranked: list[str] | None = None) -> list[str]:
    """The columns of the correlation chart: numeric features, and a numeric target.

    With ``ranked`` (:func:`chart_order`), at most :data:`~core.explore.eda.MAX_CORRELATION_COLUMNS`:
    a regression target first, then the most informative numeric features.
    """
    chosen = [c for c in columns
              if roles.get(c) == "numeric" or (c == target and task == "regression")]
    if ranked is None:
        return chosen
    first = [c for c in chosen if c == target]
    numeric = set(chosen)
    return first + [c for c in ranked if c in numeric and c != target][
        :MAX_CORRELATION_COLUMNS - len(first)]


def relation_features(columns: list[str], roles: dict[str, str], *, target: str,
                      ranked: list[str] | None = None) -> list[str]:
    """The features worth plotting against the target (identifiers and constants say
    nothing), the most informative first when ``ranked`` (:func:`chart_order`) is given."""
    features = [c for c in columns
                if c != target and roles.get(c) not in ("identifier", "constant")]
    if ranked is None:
        return features
    position = {c: i for i, c in enumerate(ranked)}
    return sorted(features, key=lambda c: position.get(c, len(position)))


def strongest_pairs(correlation: dict[str, Any]) -> str | None:
    """The most correlated pairs in one line, e.g. "Strongest: pclass & fare (r = -0.55)".

    Examples
    --------
    >>> strongest_pairs({"top_pairs": [{"a": "x", "b": "y", "r": 0.91}]})
    'Strongest: x & y (r = +0.91)'
    """
    pairs = correlation["top_pairs"][:STRONGEST_PAIRS]
    if not pairs:
        return None
    return "Strongest: " + "; ".join(f"{p['a']} & {p['b']} (r = {p['r']:+.2f})" for p in pairs)


def missing_reading(missing: dict[str, Any]) -> str:
    """How complete the rows are, and what missing values together can mean."""
    complete = missing["complete_rows"] / missing["rows"]
    shown = (f" The charts show the {len(missing['columns'])} columns missing most, of "
             f"{len(missing['columns']) + missing['left_out']:,} with gaps."
             if missing.get("left_out") else "")
    return (f"{format_percent(complete)} of rows are complete.{shown} Values missing together "
            "(same rows) often share a cause; a missing value can itself be "
            "informative — the Prepare page can add a 'was missing' flag.")


def correlation_note(shown: list[str], roles: dict[str, str], *, target: str | None,
                     task: str | None) -> str | None:
    """What the correlation chart leaves out on a wide table, in one line (None: nothing).

    Examples
    --------
    >>> correlation_note(["a", "b"], {"a": "numeric", "b": "numeric", "c": "numeric"},
    ...                  target=None, task=None)
    'The 2 of 3 numeric columns that take most part in the main patterns of the table.'
    """
    numeric = sum(role == "numeric" and c != target for c, role in roles.items())
    features = sum(c != target for c in shown)
    if features >= numeric:
        return None
    related = ("most related to the target" if target and task in
               ("binary", "multiclass", "regression") else
               "that take most part in the main patterns of the table")
    return f"The {features} of {numeric:,} numeric columns {related}."


def linked_view_choices(frame: pd.DataFrame, profile: Profile, roles: dict[str, str], *,
                        target: str | None, task: str | None,
                        ranked: list[str] | None = None) -> dict[str, Any] | None:
    """The columns the two linked scatter plots can use, and what they show first.

    Returns
    -------
    dict or None
        ``numeric`` (the columns the axes can use), ``axes`` (the first x, y of the left plot,
        then of the right one: the most informative columns first with ``ranked``, see
        :func:`chart_order`, else the most varied), ``colour_by`` (categories with few levels,
        a class target first) and ``colour`` (the first pick: a class target, or None). None
        when fewer than two numeric columns can be plotted.
    """
    numeric = [c for c in frame.columns if roles.get(c) == "numeric"
               and pd.api.types.is_numeric_dtype(frame[c].dtype)]
    if target in frame.columns and task == "regression" and target not in numeric:
        numeric.append(target)
    if len(numeric) < 2:
        return None
    distinct = {c.name: c.n_unique for c in profile.columns}
    varied = sorted(numeric, key=lambda c: -distinct[c])  # continuous columns first
    if ranked is not None:
        position = {c: i for i, c in enumerate(ranked)}
        varied = sorted(numeric, key=lambda c: position.get(c, len(position)))
    colour_by = [c for c in frame.columns if roles.get(c) in ("categorical", "boolean")
                 and distinct[c] <= LINKED_COLOUR_LEVELS]
    if target in frame.columns and task in ("binary", "multiclass") and target not in colour_by:
        colour_by.insert(0, target)
    return {"numeric": numeric, "axes": [varied[i % len(varied)] for i in range(4)],
            "colour_by": colour_by, "colour": target if target in colour_by else None}


def signal_tables(report: dict[str, Any]) -> dict[str, Any]:
    """The ability-to-learn report's tables: every feature's score, and the rows per class.

    Returns
    -------
    dict
        ``features`` (a DataFrame: Feature, Role, Power and the score under the metric's
        name), ``skipped`` (the features not scored and why, in one line, or None) and
        ``classes`` (a DataFrame: Class, Rows, Share, Enough for validation; None for
        regression).
    """
    features = report["features"]
    skipped = report["skipped"]
    classes = report["classes"]
    return {
        "features": pd.DataFrame({
            "Feature": [f["column"] for f in features],
            "Role": [f["role"] for f in features],
            "Power": [f["power"] for f in features],
            report["metric"]: [f["score"] for f in features],
        }),
        "skipped": ("Not scored: " + "; ".join(f"{s['column']} ({s['why']})" for s in skipped)
                    if skipped else None),
        "classes": pd.DataFrame({
            "Class": [str(c["label"]) for c in classes],
            "Rows": [c["rows"] for c in classes],
            "Share": [c["share"] for c in classes],
            "Enough for validation": ["no" if c["too_few"] else "yes" for c in classes],
        }) if classes else None,
    }
