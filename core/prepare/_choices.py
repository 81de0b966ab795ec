"""The preparation choices as one table of columns, and that table back into a recipe.

Each feature column is one row: its role, why its default was chosen, and every per-column
choice of :class:`core.recipe.ColumnPrep`. :func:`preparation_table` builds the rows from the
profile's columns and the recipe; :func:`with_preparation` reads an edited table and the
defaults for every column back into a new recipe. The Prepare page only draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from core.errors import TabwrightError
from core.ingest import ColumnInfo
from core.recipe import ColumnPrep, Recipe

PREPARATION_COLUMNS = ("Column", "Role", "Reason", "Missing", "Drop", "Impute", "Fill value",
                       "Missing flag", "Outliers", "Scale", "Encode", "Bins")
"""The columns of :func:`preparation_table`, in order."""

ROLE_DEFAULT = {
    "numeric": "Gaps filled (default); scaled for linear models.",
    "categorical": "One-hot for linear models, native codes for trees.",
    "boolean": "Coded 0/1.",
    "datetime": "Split into date parts (year, month, weekday…).",
    "text": "Turned into word weights (TF-IDF).",
}
"""What happens to a column of each role when nothing more specific applies, in words."""


def column_reason(column: str, role: str, recipe: Recipe, *, reasons: dict[str, str],
                  dropped: dict[str, str]) -> str:
    """Why a column is prepared the way it is, in one sentence (or ``""``).

    A reason from the data-quality findings comes first, then why the column is left out,
    then the default of its role.

    Parameters
    ----------
    column, role : str
        The column and its role (the user's choice, else the inferred one).
    recipe : Recipe
    reasons : dict
        Column → why its default was chosen (``core.project.recommendation_reasons``).
    dropped : dict
        Column → why it is left out (:attr:`FeaturePlan.dropped`).

    Examples
    --------
    >>> column_reason("age", "numeric", Recipe(), reasons={}, dropped={})
    'Gaps filled (default); scaled for linear models.'
    >>> column_reason("id", "identifier", Recipe(), reasons={}, dropped={"id": "it is unique"})
    'Left out: it is unique.'
    """
    if reasons.get(column):
        return reasons[column]
    if column in recipe.drop:
        return "Dropped by you."
    if column in dropped:
        return f"Left out: {dropped[column]}."
    return ROLE_DEFAULT.get(role, "")


def preparation_table(columns: Sequence[ColumnInfo], recipe: Recipe, roles: dict[str, str], *,
                      reasons: dict[str, str], dropped: dict[str, str]) -> pd.DataFrame:
    """One row per column but the target: its role, the reason, and every preparation choice.

    Parameters
    ----------
    columns : sequence of ColumnInfo
        The profile's columns, in the data's order.
    recipe : Recipe
    roles : dict
        Column → role in effect (the user's overrides over the inferred roles).
    reasons, dropped : dict
        As for :func:`column_reason`.

    Returns
    -------
    DataFrame
        The columns of :data:`PREPARATION_COLUMNS`; ``Fill value`` is text (``""`` for none)
        and ``Missing`` the share of missing values.
    """
    rows = []
    for info in columns:
        name = info.name
        if name == recipe.target:
            continue
        prep = recipe.column_prep(name)
        rows.append({
            "Column": name, "Role": roles[name],
            "Reason": column_reason(name, roles[name], recipe, reasons=reasons, dropped=dropped),
            "Missing": info.missing_fraction, "Drop": name in recipe.drop, "Impute": prep.impute,
            "Fill value": "" if prep.fill_value is None else str(prep.fill_value),
            "Missing flag": prep.missing_indicator, "Outliers": prep.outliers,
            "Scale": prep.scale, "Encode": prep.encode, "Bins": prep.bins,
        })
    return pd.DataFrame(rows, columns=list(PREPARATION_COLUMNS))


def parse_fill_value(text: Any, role: str) -> str | float | None:
    """A fill value typed into the table: ``None`` when empty, a number for a numeric column.

    Examples
    --------
    >>> parse_fill_value(" -1 ", "numeric"), parse_fill_value("", "numeric"), parse_fill_value("n/a", "text")
    (-1.0, None, 'n/a')
    """
    # A cleared cell of the editor comes back as None (or NaN), not as "".
    text = "" if text is None or (isinstance(text, float) and pd.isna(text)) else str(text).strip()
    if not text:
        return None
    if role != "numeric":
        return text
    try:
        return float(text)
    except ValueError:
        raise TabwrightError(f"The fill value for a numeric column must be a number, got {text!r}.",
                             "Enter a number such as 0, or choose another imputation.") from None


def with_preparation(recipe: Recipe, inferred_roles: dict[str, str], table: pd.DataFrame, *,
                     numeric_impute: str, categorical_impute: str, scale: str, encode: str,
                     max_levels: int, rare_min_fraction: float, target_encode_above: int,
                     text_max_features: int, precision: str, datetime_parts: Sequence[str],
                     interactions: Sequence[str], selection: str, k: int,
                     drop_duplicate_rows: bool, polynomial: Sequence[str] | None = None) -> Recipe:
    """A copy of ``recipe`` with the choices of an edited :func:`preparation_table` and defaults.

    A role equal to the inferred one is no override; a column whose choices are all the
    defaults keeps no entry in ``recipe.preparation.columns``. Columns missing from ``table``
    (a long table's filter hid them) keep their roles, drops and per-column choices. The result is not validated (``update_recipe`` does that).

    Parameters
    ----------
    recipe : Recipe
    inferred_roles : dict
        Column → role from the data.
    table : DataFrame
        :func:`preparation_table`'s columns, as the user edited them.
    numeric_impute, categorical_impute, scale, encode, max_levels, rare_min_fraction, \
target_encode_above, text_max_features, precision, datetime_parts
        The defaults of :class:`core.recipe.Preparation`.
    interactions, selection, k, polynomial
        :class:`core.recipe.Features` (``polynomial`` None keeps the recipe's).
    drop_duplicate_rows : bool

    Raises
    ------
    TabwrightError
        When a numeric column's fill value is not a number.
    """
    changed = recipe.copy()
    edited = set(table["Column"])
    roles = {c: r for c, r in recipe.roles.items() if c not in edited}
    drop = [c for c in recipe.drop if c not in edited]
    columns = {c: prep for c, prep in recipe.preparation.columns.items() if c not in edited}
    for row in table.to_dict("records"):
        name = row["Column"]
        if row["Role"] != inferred_roles.get(name):
            roles[name] = row["Role"]
        if row["Drop"]:
            drop.append(name)
        bins = row["Bins"]
        prep = ColumnPrep(impute=row["Impute"], fill_value=parse_fill_value(row["Fill value"], row["Role"]),
                          missing_indicator=bool(row["Missing flag"]), outliers=row["Outliers"],
                          scale=row["Scale"], encode=row["Encode"], order=recipe.column_prep(name).order,
                          bins=0 if pd.isna(bins) else int(bins))
        if prep != ColumnPrep():
            columns[name] = prep
    changed.roles = roles
    changed.drop = drop
    p = changed.preparation
    p.columns = columns
    p.numeric_impute, p.categorical_impute = numeric_impute, categorical_impute
    p.scale, p.encode, p.precision = scale, encode, precision
    p.max_levels, p.rare_min_fraction = max_levels, rare_min_fraction
    p.target_encode_above, p.text_max_features = target_encode_above, text_max_features
    p.datetime_parts = list(datetime_parts)
    changed.features.interactions = list(interactions)
    if polynomial is not None:
        changed.features.polynomial = list(polynomial)
    changed.features.selection = selection
    changed.features.k = int(k)
    changed.drop_duplicate_rows = bool(drop_duplicate_rows)
    return changed
