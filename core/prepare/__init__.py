"""Prepare: a recipe and the column roles become one scikit-learn pipeline.

:func:`plan_features` decides what happens to each column (a :class:`FeaturePlan`), and
:func:`build_pipeline` builds ``Pipeline([("prep", ColumnTransformer), ("model", estimator)])``
from it, so every cleaning and encoding step is fitted inside each cross-validation fold.
"""


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

__all__ = ['FLOAT32_ABOVE', 'FeaturePlan', 'build_pipeline', 'build_preprocessor', 'estimate_encoded_features', 'plan_features', 'resolve_precision', 'transformed_preview']
