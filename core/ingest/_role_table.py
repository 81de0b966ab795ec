"""Each column's role as one table a person can correct, and the corrections back as overrides.

:func:`role_table` shows the role in effect next to the detected one and its evidence;
:func:`role_overrides` reads an edited table back: a role that differs from the detected one
is the user's override (``Recipe.roles``), so setting a role back to the guess undoes it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from core.ingest._roles import ColumnInfo

ROLE_HELP = ("numeric: amounts and measurements · categorical: labels from a limited set · "
             "boolean: two values · datetime: dates and times · text: free text · "
             "identifier: differs on every row (left out) · constant: one value (left out)")
"""Every role in one line."""
TARGET_MARK = "🎯 Target. "
"""Put before the target's evidence, so the table shows which column is predicted."""


def role_table(columns: Sequence[ColumnInfo], roles: dict[str, str],
               target: str | None = None) -> pd.DataFrame:
    """One row per column: the role in effect, the evidence, the detected role and the facts.

    Parameters
    ----------
    columns : sequence of ColumnInfo
        The columns as detected, in the data's order.
    roles : dict
        Column → role in effect (the user's overrides over the detected roles).
    target : str, optional
        The column to predict; its evidence starts with :data:`TARGET_MARK`.

    Returns
    -------
    DataFrame
        Column, Role, Evidence, Detected, Type, Missing (a 0–1 share), Distinct.
    """
    return pd.DataFrame({
        "Column": [c.name for c in columns],
        "Role": [roles[c.name] for c in columns],
        "Evidence": [(TARGET_MARK if c.name == target else "") + c.evidence for c in columns],
        "Detected": [c.role for c in columns],
        "Type": [c.dtype for c in columns],
        "Missing": [c.missing_fraction for c in columns],
        "Distinct": [c.n_unique for c in columns],
    })


def role_overrides(table: pd.DataFrame) -> dict[str, str]:
    """Column → role for each row of an edited :func:`role_table` whose role is not the detected one.

    Examples
    --------
    >>> table = pd.DataFrame({"Column": ["a", "b"], "Role": ["categorical", "numeric"],
    ...                       "Detected": ["numeric", "numeric"]})
    >>> role_overrides(table)
    {'a': 'categorical'}
    """
    return {column: role for column, role, detected in
            zip(table["Column"], table["Role"], table["Detected"]) if role != detected}
