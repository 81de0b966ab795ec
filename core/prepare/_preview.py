"""Before and after: a few raw rows next to the same rows as a model sees them.

The preparation is fitted on a seeded sample of the labelled rows (fitting on a million rows
to show eight would take long), and the output names are shortened to what a person reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from core.explore import sample_for_plots
from core.prepare._pipeline import plan_features, transformed_preview
from core.recipe import Recipe

PREVIEW_SAMPLE = 2_000
"""Most rows the preview's preparation is fitted on."""
PREVIEW_ROWS = 8
"""Rows shown before and after."""
_PREFIX = re.compile(r"^[a-z]+(_\d+)?__")


@dataclass
class PreparationPreview:
    """Raw rows and the same rows prepared, with what the preparation was fitted on.

    Attributes
    ----------
    raw : DataFrame
        The first rows of the sample, feature columns only.
    prepared : DataFrame
        The same rows after the preparation, one column per model input.
    fitted_rows : int
        Rows the preparation was fitted on.
    labelled_rows : int
        Rows with a target value (every row when there is no target).
    """

    raw: pd.DataFrame
    prepared: pd.DataFrame
    fitted_rows: int
    labelled_rows: int

    @property
    def fitted_on(self) -> str:
        """The rows the preparation was fitted on, in words.

        Examples
        --------
        >>> empty = pd.DataFrame()
        >>> PreparationPreview(empty, empty, 2000, 5000).fitted_on
        'a random sample of 2,000 of 5,000 rows'
        >>> PreparationPreview(empty, empty, 891, 891).fitted_on
        'all 891 rows'
        """
        if self.fitted_rows < self.labelled_rows:
            return f"a random sample of {self.fitted_rows:,} of {self.labelled_rows:,} rows"
        return f"all {self.fitted_rows:,} rows"


def readable_names(columns: list[str]) -> list[str]:
    """Output names without the transformer's prefix, when that keeps them unique.

    Examples
    --------
    >>> readable_names(["onehot_2__who_man", "numeric_0__age"])
    ['who_man', 'age']
    >>> readable_names(["numeric_0__x", "numeric_1__x"])
    ['numeric_0__x', 'numeric_1__x']
    """
    short = [_PREFIX.sub("", c) for c in columns]
    return short if len(set(short)) == len(short) else list(columns)


def preview_preparation(frame: pd.DataFrame, recipe: Recipe, inferred_roles: dict[str, str], *,
                        style: str = "linear", sample_rows: int = PREVIEW_SAMPLE,
                        rows: int = PREVIEW_ROWS) -> PreparationPreview:
    """The recipe's preparation for one model style, fitted on a sample and shown on its first rows.

    Parameters
    ----------
    frame : DataFrame
        The whole table; rows without a target value are left out.
    recipe : Recipe
    inferred_roles : dict
        Column → role from the data.
    style : {"linear", "tree"}
        Prepare as for linear, distance and neural models, or as for tree models.
    sample_rows : int
        Most rows to fit on (a seeded random sample of them).
    rows : int
        Rows shown.

    Raises
    ------
    TabwrightError
        When no feature is left, or target encoding has no target to learn from.
    """
    if recipe.target and recipe.target in frame.columns:
        frame = frame[frame[recipe.target].notna()]
    sample, _ = sample_for_plots(frame, sample_rows)
    plan = plan_features(sample, recipe, inferred_roles)
    y = sample[recipe.target] if recipe.target else None
    # The task only shapes target encoding: clustering and an unset task preview as regression.
    task = recipe.task if recipe.task in ("binary", "multiclass", "regression") else "regression"
    prepared = transformed_preview(sample, plan, recipe, task=task, style=style, y=y, rows=rows)
    prepared.columns = readable_names(list(prepared.columns))
    return PreparationPreview(raw=sample[plan.features].head(rows), prepared=prepared,
                              fitted_rows=len(sample), labelled_rows=len(frame))
