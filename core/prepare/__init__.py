"""Prepare: a recipe and the column roles become one scikit-learn pipeline.

:func:`plan_features` decides what happens to each column (a :class:`FeaturePlan`), and
:func:`build_pipeline` builds ``Pipeline([("prep", ColumnTransformer), ("model", estimator)])``
from it, so every cleaning and encoding step is fitted inside each cross-validation fold.
:func:`preparation_table` and :func:`with_preparation` turn the choices into one table of
columns and back; :func:`preview_preparation` shows rows before and after.
"""


from core.prepare._choices import (
    PREPARATION_COLUMNS,
    column_reason,
    parse_fill_value,
    preparation_table,
    with_preparation,
)
from core.prepare._pipeline import (
    FLOAT32_ABOVE,
    FeaturePlan,
    build_pipeline,
    build_preprocessor,
    estimate_encoded_features,
    plan_features,
    resolve_precision,
    transformed_preview,
)
from core.prepare._preview import (
    PreparationPreview,
    preview_preparation,
    readable_names,
)

__all__ = ['FLOAT32_ABOVE', 'PREPARATION_COLUMNS', 'FeaturePlan', 'PreparationPreview', 'build_pipeline', 'build_preprocessor', 'column_reason', 'estimate_encoded_features', 'parse_fill_value', 'plan_features', 'preparation_table', 'preview_preparation', 'readable_names', 'resolve_precision', 'transformed_preview', 'with_preparation']
