"""Prepare: a recipe and the column roles become one scikit-learn pipeline.

:func:`plan_features` decides what happens to each column (a :class:`FeaturePlan`), and
:func:`build_pipeline` builds ``Pipeline([("prep", ColumnTransformer), ("model", estimator)])``
from it, so every cleaning and encoding step is fitted inside each cross-validation fold,
as is the optional reduction to fewer components (:func:`build_reducer`; how many to keep:
:func:`explained_variance`). :func:`preparation_table` and :func:`with_preparation` turn the
choices into one table of columns and back; :func:`preview_preparation` shows rows before and
after.

Names load on first use (PEP 562, as in :mod:`core.deliver`): a command that needs one stage
does not import the others.
"""

from core import lazy

_HOMES = {
    "PREPARATION_COLUMNS": "_choices", "column_reason": "_choices",
    "parse_fill_value": "_choices", "preparation_table": "_choices",
    "with_preparation": "_choices", "FLOAT32_ABOVE": "_pipeline", "FeaturePlan": "_pipeline",
    "build_pipeline": "_pipeline", "build_preprocessor": "_pipeline",
    "estimate_encoded_features": "_pipeline", "plan_features": "_pipeline",
    "resolve_precision": "_pipeline", "transformed_preview": "_pipeline",
    "PreparationPreview": "_preview", "preview_preparation": "_preview",
    "readable_names": "_preview", "build_reducer": "_reduce", "keeps_sparse": "_reduce",
    "KEEP_SHARE": "_variance", "explained_variance": "_variance",
    "explained_variance_figure": "_variance",
}
"""Each public name and the module that defines it."""

__all__, __getattr__, __dir__ = lazy.exports(__name__, _HOMES)
