"""What the Explore page offers and says: the columns each chart can use, its first picks, and
the sentences and tables around the charts and the ability-to-learn check.

Everything here is plain text and data; the page escapes it for Markdown and draws it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.explore._profile import Profile
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


def correlation_columns(columns: list[str], roles: dict[str, str], *, target: str | None,
                        task: str | None) -> list[str]:
    """The columns of the correlation chart: numeric features, and a numeric target."""
    return [c for c in columns
            if roles.get(c) == "numeric" or (c == target and task == "regression")]


def relation_features(columns: list[str], roles: dict[str, str], *, target: str) -> list[str]:
    """The features worth plotting against the target (identifiers and constants say nothing)."""
    return [c for c in columns
            if c != target and roles.get(c) not in ("identifier", "constant")]


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
    return (f"{format_percent(complete)} of rows are complete. Values missing together "
            "(same rows) often share a cause; a missing value can itself be "
            "informative — the Prepare page can add a 'was missing' flag.")


def linked_view_choices(frame: pd.DataFrame, profile: Profile, roles: dict[str, str], *,
                        target: str | None, task: str | None) -> dict[str, Any] | None:
    """The columns the two linked scatter plots can use, and what they show first.

    Returns
    -------
    dict or None
        ``numeric`` (the columns the axes can use), ``axes`` (the first x, y of the left plot,
        then of the right one: the most varied columns first), ``colour_by`` (categories with
        few levels, a class target first) and ``colour`` (the first pick: a class target, or
        None). None when fewer than two numeric columns can be plotted.
    """
    numeric = [c for c in frame.columns if roles.get(c) == "numeric"
               and pd.api.types.is_numeric_dtype(frame[c].dtype)]
    if target in frame.columns and task == "regression" and target not in numeric:
        numeric.append(target)
    if len(numeric) < 2:
        return None
    distinct = {c.name: c.n_unique for c in profile.columns}
    varied = sorted(numeric, key=lambda c: -distinct[c])  # continuous columns first
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
