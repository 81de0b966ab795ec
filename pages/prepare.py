"""Prepare: how each column is cleaned and encoded, with a before/after preview."""

from __future__ import annotations

import hashlib
import re

import pandas as pd
import streamlit as st

from core.errors import TabwrightError
from core.explore import sample_for_plots
from core.formatting import escape_markdown
from core.prepare import (
    FLOAT32_ABOVE,
    FeaturePlan,
    estimate_encoded_features,
    plan_features,
    transformed_preview,
)
from core.project import Project, recommendation_reasons, update_recipe
from core.recipe import (
    ENCODE,
    IMPUTE,
    OUTLIERS,
    PRECISION,
    ROLES,
    SCALE,
    SELECTION,
    ColumnPrep,
    Recipe,
)
from pages import _ui

PREVIEW_SAMPLE = 2_000
PREVIEW_ROWS = 8
DATETIME_PARTS = ("year", "month", "day", "dayofweek", "hour", "dayofyear", "quarter")
STYLES = {"linear": "Linear, distance and neural models (one-hot, scaled)",
          "tree": "Tree models (category codes, unscaled)"}
ROLE_DEFAULT = {
    "numeric": "Gaps filled (default); scaled for linear models.",
    "categorical": "One-hot for linear models, native codes for trees.",
    "boolean": "Coded 0/1.",
    "datetime": "Split into date parts (year, month, weekday…).",
    "text": "Turned into word weights (TF-IDF).",
}
SELECTION_HELP = ("none: keep every input · variance: drop inputs that barely vary · l1: keep "
                  "what a sparse linear model uses · mutual_info: keep the k inputs most related "
                  "to the target")


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:12]


def _readable(columns: list[str]) -> list[str]:
    """Output names without the transformer prefix ("onehot_2__who_man" → "who_man") when
    that keeps them unique."""
    short = [re.sub(r"^[a-z]+(_\d+)?__", "", c) for c in columns]
    return short if len(set(short)) == len(short) else list(columns)


@st.cache_data(show_spinner=False, max_entries=64)
def _plan(fingerprint: str, recipe_json: str, roles: tuple[tuple[str, str], ...],
          _frame: pd.DataFrame, _recipe: Recipe) -> FeaturePlan:
    """Which columns enter the model and why others do not (counting levels reads every row)."""
    return plan_features(_frame, _recipe, dict(roles))


def _plan_for(project: Project) -> FeaturePlan:
    return _plan(project.table.fingerprint, project.recipe.to_json(),
                 tuple(sorted(project.inferred_roles.items())), project.frame, project.recipe)


@st.cache_data(show_spinner=False, max_entries=32)
def _preview(fingerprint: str, recipe_json: str, roles: tuple[tuple[str, str], ...], style: str,
             _frame: pd.DataFrame, _recipe: Recipe) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Raw and prepared rows of a seeded sample, and the sample's size (it is fitted on it)."""
    recipe = _recipe
    frame = _frame
    if recipe.target and recipe.target in frame.columns:
        frame = frame[frame[recipe.target].notna()]
    sample, _ = sample_for_plots(frame, PREVIEW_SAMPLE)
    plan = plan_features(sample, recipe, dict(roles))
    y = sample[recipe.target] if recipe.target else None
    task = recipe.task if recipe.task in ("binary", "multiclass", "regression") else "regression"
    prepared = transformed_preview(sample, plan, recipe, task=task, style=style, y=y,
                                   rows=PREVIEW_ROWS)
    prepared.columns = _readable(list(prepared.columns))
    return sample[plan.features].head(PREVIEW_ROWS), prepared, len(sample)


def _column_table(project: Project) -> pd.DataFrame:
    recipe, profile = project.recipe, project.profile
    effective = project.effective_roles()
    reasons = recommendation_reasons(profile, recipe)
    try:
        dropped = _plan_for(project).dropped
    except TabwrightError:
        dropped = {}
    rows = []
    for info in profile.columns:
        name = info.name
        if name == recipe.target:
            continue
        prep = recipe.column_prep(name)
        role = effective[name]
        reason = reasons.get(name) or (f"Left out: {dropped[name]}." if name in dropped
                                       and name not in recipe.drop else "") \
            or ("Dropped by you." if name in recipe.drop else ROLE_DEFAULT.get(role, ""))
        rows.append({
            "Column": name, "Role": role, "Reason": reason, "Missing": info.missing_fraction,
            "Drop": name in recipe.drop, "Impute": prep.impute,
            "Fill value": "" if prep.fill_value is None else str(prep.fill_value),
            "Missing flag": prep.missing_indicator, "Outliers": prep.outliers,
            "Scale": prep.scale, "Encode": prep.encode, "Bins": prep.bins,
        })
    return pd.DataFrame(rows)


def _fill_value(text: str, role: str) -> str | float | None:
    text = str(text).strip()
    if not text:
        return None
    if role == "numeric":
        try:
            return float(text)
        except ValueError:
            raise TabwrightError(f"The fill value for a numeric column must be a number, got {text!r}.",
                                 "Enter a number such as 0, or choose another imputation.") from None
    return text


def _recipe_from(project: Project, edited: pd.DataFrame, options: dict) -> Recipe:
    recipe = project.recipe.copy()
    inferred = project.inferred_roles
    roles = {c: r for c, r in recipe.roles.items() if c not in set(edited["Column"])}
    drop = [c for c in recipe.drop if c not in set(edited["Column"])]
    columns: dict[str, ColumnPrep] = {}
    for row in edited.to_dict("records"):
        name = row["Column"]
        if row["Role"] != inferred.get(name):
            roles[name] = row["Role"]
        if row["Drop"]:
            drop.append(name)
        old = recipe.column_prep(name)
        prep = ColumnPrep(impute=row["Impute"], fill_value=_fill_value(row["Fill value"], row["Role"]),
                          missing_indicator=bool(row["Missing flag"]), outliers=row["Outliers"],
                          scale=row["Scale"], encode=row["Encode"], order=old.order,
                          bins=int(row["Bins"] or 0))
        if prep != ColumnPrep():
            columns[name] = prep
    recipe.roles = roles
    recipe.drop = drop
    p = recipe.preparation
    p.columns = columns
    for name in ("numeric_impute", "categorical_impute", "scale", "encode", "max_levels",
                 "rare_min_fraction", "target_encode_above", "text_max_features", "precision"):
        setattr(p, name, options[name])
    p.datetime_parts = list(options["datetime_parts"])
    recipe.features.interactions = list(options["interactions"])
    recipe.features.selection = options["selection"]
    recipe.features.k = int(options["k"])
    recipe.drop_duplicate_rows = bool(options["drop_duplicate_rows"])
    return recipe


def _form(project: Project) -> None:
    recipe, profile = project.recipe, project.profile
    p = recipe.preparation
    table = _column_table(project)
    key = "prep_" + _fingerprint(project.table.fingerprint, recipe.to_json())
    numeric = [c.name for c in profile.columns if project.effective_roles()[c.name] == "numeric"
               and c.name != recipe.target]
    with st.form("prepare_form"):
        st.subheader("Per column")
        _ui.explain("`auto` follows the defaults below and the model: linear models get "
                    "one-hot encoding and scaling, tree models category codes and raw numbers. "
                    "The Reason column says why a default was chosen.")
        edited = st.data_editor(
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
        options["selection"] = b.selectbox("Feature selection", SELECTION,
                                           index=SELECTION.index(recipe.features.selection),
                                           key="prep_selection", help=SELECTION_HELP)
        options["k"] = c.number_input("Inputs kept (k)", min_value=1, max_value=100_000,
                                      value=recipe.features.k, step=1, key="prep_k",
                                      help="For mutual_info selection.")
        duplicates = profile.duplicate_rows
        options["drop_duplicate_rows"] = st.checkbox(
            f"Drop duplicate rows ({duplicates:,} in this table)",
            value=recipe.drop_duplicate_rows, key="prep_drop_duplicates",
            help="Exact copies can land in both training and validation folds and flatter "
                 "the scores.")
        submitted = st.form_submit_button("Apply preparation", type="primary")
    if submitted:
        try:
            changed = _recipe_from(project, edited, options)
        except TabwrightError as exc:
            _ui.show_error(exc)
            return
        if changed == recipe:
            st.info("Nothing changed.")
            return
        if _ui.attempt(update_recipe, project, changed, reason="You changed the preparation",
                       success="Preparation updated: models will be trained with these choices."):
            st.rerun()


def _before_after(project: Project) -> None:
    recipe = project.recipe
    st.subheader("Before and after")
    style = st.radio("Prepare as for", list(STYLES), format_func=STYLES.get, horizontal=True,
                     key="prep_style")
    try:
        plan = _plan_for(project)
        roles = tuple(sorted(project.inferred_roles.items()))
        with st.spinner("Preparing a preview…"):
            raw, prepared, fitted_on = _preview(project.table.fingerprint, recipe.to_json(),
                                                roles, style, project.frame, recipe)
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    a, b, c = st.columns(3)
    a.metric("Feature columns", len(plan.roles))
    b.metric("Left out", len(plan.dropped))
    c.metric("Model inputs (at most)", f"{estimate_encoded_features(plan, recipe):,}",
             help="After one-hot encoding, date parts, text words and interactions. "
                  "Rare levels are pooled, so the real number is often lower.")
    if plan.dropped:
        st.caption("Left out: " + "; ".join(f"{escape_markdown(c)} ({escape_markdown(why)})"
                                           for c, why in plan.dropped.items()))
    labelled = len(project.frame) if not recipe.target else int(project.frame[recipe.target].notna().sum())
    fitted = (f"a random sample of {fitted_on:,} of {labelled:,} rows" if fitted_on < labelled
              else f"all {fitted_on:,} rows")
    st.markdown(f"**Raw** — {len(raw)} rows")
    st.dataframe(raw)
    st.markdown(f"**What the model sees** — {prepared.shape[1]} inputs "
                f"({STYLES[style].split(' (')[0].lower()})")
    st.dataframe(prepared)
    _ui.explain(f"For this preview the preparation was fitted on {fitted}. In training it is "
                "fitted inside each cross-validation fold, on training rows only, so nothing "
                "about the validation rows leaks into it.")


project = _ui.page_header("prepare")
if not _ui.require(project, "prepare"):
    st.stop()
_ui.explain("Models need numbers without gaps. Here you decide how each column gets there; "
            "the defaults already follow the data-quality findings. Applying clears any "
            "trained model, since it was trained with the old choices.")
_form(project)
st.divider()
_before_after(project)
_ui.next_step("prepare")
