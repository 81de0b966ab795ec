"""The Prepare page's form: the per-column table and the defaults for every column.

Drawn inside the page's ``st.form``, so one submit applies every choice in one rerun.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.prepare import FLOAT32_ABOVE
from core.recipe import (
    ENCODE,
    IMPUTE,
    OUTLIERS,
    PRECISION,
    ROLES,
    SCALE,
    SELECTION,
    Recipe,
)
from core.transformers import DATETIME_PARTS

SELECTION_HELP = ("none: keep every input · variance: drop inputs that barely vary · l1: keep "
                  "what a sparse linear model uses · mutual_info: keep the k inputs most related "
                  "to the target")


def column_editor(table: pd.DataFrame, key: str) -> pd.DataFrame:
    """The per-column table, editable but for the column, its missing share and the reason."""
    return st.data_editor(
        table, key=key, hide_index=True, disabled=["Column", "Missing", "Reason"],
        height=38 + 35 * min(len(table), 15),
        column_config={
            "Role": st.column_config.SelectboxColumn("Role", options=list(ROLES), required=True),
            "Drop": st.column_config.CheckboxColumn("Drop", help="Leave the column out."),
            "Impute": st.column_config.SelectboxColumn(
                "Impute", options=list(IMPUTE), required=True,
                help="How missing values are filled. knn and iterative estimate them from "
                     "other columns; none leaves them for models that accept gaps."),
            "Fill value": st.column_config.TextColumn(
                "Fill value", help="Used when Impute is constant."),
            "Missing flag": st.column_config.CheckboxColumn(
                "Missing flag", help="Add a 0/1 input saying the value was missing: useful "
                                     "when missingness itself tells something."),
            "Outliers": st.column_config.SelectboxColumn(
                "Outliers", options=list(OUTLIERS), required=True,
                help="Numbers only. clip_iqr: clip beyond 3 IQRs; clip_quantile: to the "
                     "1st–99th percentile; drop_rows: drop them from training."),
            "Scale": st.column_config.SelectboxColumn(
                "Scale", options=list(SCALE), required=True, help="Numbers only."),
            "Encode": st.column_config.SelectboxColumn(
                "Encode", options=list(ENCODE), required=True,
                help="Categories only. target: replace each level by the target's average "
                     "(cross-fitted, so it does not leak)."),
            "Bins": st.column_config.NumberColumn(
                "Bins", min_value=0, max_value=100, step=1,
                help="Numbers only: 0 keeps the number; otherwise cut into this many "
                     "equal-count bins."),
            "Missing": st.column_config.ProgressColumn("Missing", min_value=0.0, width="small",
                                                       max_value=1.0, format="percent"),
            "Reason": st.column_config.TextColumn("Reason", width="medium"),
        })


def default_options(recipe: Recipe, numeric: list[str], duplicate_rows: int) -> dict[str, Any]:
    """The defaults for every column and the feature options, by their names in
    :func:`core.prepare.with_preparation`."""
    p = recipe.preparation
    st.subheader("Defaults for every column")
    a, b, c, d = st.columns(4)
    options = {
        "numeric_impute": a.selectbox("Numbers: fill missing with", IMPUTE[1:],
                                      index=IMPUTE[1:].index(p.numeric_impute),
                                      key="prep_numeric_impute"),
        "categorical_impute": b.selectbox(
            "Categories: fill missing with", ("constant", "most_frequent"),
            index=("constant", "most_frequent").index(p.categorical_impute),
            key="prep_categorical_impute",
            format_func=lambda v: {"constant": "a '(missing)' level",
                                   "most_frequent": "the most frequent level"}[v]),
        "scale": c.selectbox("Scaling", SCALE, index=SCALE.index(p.scale), key="prep_scale"),
        "encode": d.selectbox("Encoding", ENCODE, index=ENCODE.index(p.encode),
                              key="prep_encode"),
    }
    a, b, c, d = st.columns(4)
    options["max_levels"] = a.number_input(
        "One-hot: most levels", min_value=2, max_value=10_000, value=p.max_levels, step=1,
        key="prep_max_levels", help="Rarer levels beyond this are pooled into one.")
    options["rare_min_fraction"] = b.number_input(
        "Rare level below (share)", min_value=0.0, max_value=0.5, value=float(p.rare_min_fraction),
        step=0.005, format="%.3f", key="prep_rare",
        help="Levels rarer than this share of rows are pooled as 'infrequent'.")
    options["target_encode_above"] = c.number_input(
        "Target-encode above (levels)", min_value=2, max_value=1_000_000,
        value=p.target_encode_above, step=1, key="prep_target_above",
        help="Categories with more levels than this are target-encoded for every model.")
    options["text_max_features"] = d.number_input(
        "Text: most words (TF-IDF)", min_value=10, max_value=20_000,
        value=p.text_max_features, step=10, key="prep_text_max")
    a, b = st.columns([3, 1])
    options["datetime_parts"] = a.multiselect(
        "Date parts to extract", DATETIME_PARTS, default=p.datetime_parts, key="prep_dates")
    options["precision"] = b.selectbox(
        "Model input precision", PRECISION, index=PRECISION.index(p.precision),
        key="prep_precision",
        help="The number type linear, distance and neural models get. float32 halves the "
             "memory of the prepared data; auto picks it when that data would hold over "
             f"{FLOAT32_ABOVE // 1_000_000} million numbers. Tree models are not affected.")
    st.subheader("Features")
    a, b, c = st.columns([2, 1, 1])
    options["interactions"] = a.multiselect(
        "Multiply pairs of these numeric columns (interactions)", numeric,
        default=[c_ for c_ in recipe.features.interactions if c_ in numeric],
        key="prep_interactions",
        help="Adds every pairwise product: lets linear models see effects that depend on "
             "two columns at once. Pick two or more.")
    options["polynomial"] = a.multiselect(
        "Squares and pairwise products of these numeric columns (degree-2 polynomial)",
        [c_ for c_ in numeric if c_ not in options["interactions"]],
        default=[c_ for c_ in recipe.features.polynomial
                 if c_ in numeric and c_ not in options["interactions"]],
        key="prep_polynomial",
        help="Adds each column's square and every pairwise product: lets linear models bend "
             "and combine. A column can be in this list or in the interactions, not both.")
    options["selection"] = b.selectbox("Feature selection", SELECTION,
                                       index=SELECTION.index(recipe.features.selection),
                                       key="prep_selection", help=SELECTION_HELP)
    options["k"] = c.number_input("Inputs kept (k)", min_value=1, max_value=100_000,
                                  value=recipe.features.k, step=1, key="prep_k",
                                  help="For mutual_info selection.")
    options["drop_duplicate_rows"] = st.checkbox(
        f"Drop duplicate rows ({duplicate_rows:,} in this table)",
        value=recipe.drop_duplicate_rows, key="prep_drop_duplicates",
        help="Exact copies can land in both training and validation folds and flatter "
             "the scores.")
    return options
