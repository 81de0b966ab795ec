"""Prepare: a recipe and the column roles become one scikit-learn pipeline.

:func:`plan_features` decides what happens to each column (a :class:`FeaturePlan`), and
:func:`build_pipeline` builds ``Pipeline([("prep", ColumnTransformer), ("model", estimator)])``
from it, so every cleaning and encoding step is fitted inside each cross-validation fold,
as is the optional reduction to fewer components (:func:`build_reducer`; how many to keep:
:func:`explained_variance`). :func:`preparation_table` and :func:`with_preparation` turn the
choices into one table of columns and back; :func:`preview_preparation` shows rows before and
after.
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
from core.prepare._reduce import build_reducer, keeps_sparse
from core.prepare._variance import (
    KEEP_SHARE,
    explained_variance,
    explained_variance_figure,
)

__all__ = ['FLOAT32_ABOVE', 'KEEP_SHARE', 'PREPARATION_COLUMNS', 'FeaturePlan', 'PreparationPreview', 'build_pipeline', 'build_preprocessor', 'build_reducer', 'column_reason', 'estimate_encoded_features', 'explained_variance', 'explained_variance_figure', 'keeps_sparse', 'parse_fill_value', 'plan_features', 'preparation_table', 'preview_preparation', 'readable_names', 'resolve_precision', 'transformed_preview', 'with_preparation']
