"""Prepare: how each column is cleaned and encoded, with a before/after preview."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from core.errors import TabwrightError
from core.formatting import escape_markdown
from core.prepare import (
    FeaturePlan,
    PreparationPreview,
    estimate_encoded_features,
    plan_features,
    preparation_table,
    preview_preparation,
    with_preparation,
)
from core.project import Project, recommendation_reasons, update_recipe
from core.recipe import Recipe
from pages import _column_filter, _prepare_form, _prepare_reduce, _ui

STYLES = {"linear": "Linear, distance and neural models (one-hot, scaled)",
          "tree": "Tree models (category codes, unscaled)"}


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:12]


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
             _frame: pd.DataFrame, _recipe: Recipe) -> PreparationPreview:
    """Raw and prepared rows of a seeded sample, and what it was fitted on."""
    return preview_preparation(_frame, _recipe, dict(roles), style=style)


def _column_table(project: Project) -> pd.DataFrame:
    try:
        dropped = _plan_for(project).dropped
    except TabwrightError:
        dropped = {}
    return preparation_table(project.profile.columns, project.recipe, project.effective_roles(),
                             reasons=recommendation_reasons(project.profile, project.recipe),
                             dropped=dropped)


def _form(project: Project) -> None:
    recipe = project.recipe
    table = _column_table(project)
    key = "prep_" + _fingerprint(project.table.fingerprint, recipe.to_json())
    numeric = list(table.loc[table["Role"] == "numeric", "Column"])
    st.subheader("Per column")
    _ui.explain("`auto` follows the defaults below and the model: linear models get "
                "one-hot encoding and scaling, tree models category codes and raw numbers. "
                "The Reason column says why a default was chosen.")
    shown = _column_filter.filtered(table, key="prep")  # outside the form: filtering reruns
    with st.form("prepare_form"):
        edited = _prepare_form.column_editor(shown, _column_filter.editor_key(key, shown))
        options = _prepare_form.default_options(recipe, numeric, project.profile.duplicate_rows)
        submitted = st.form_submit_button("Apply preparation", type="primary")
    if submitted:
        try:
            changed = with_preparation(recipe, project.inferred_roles, edited, **options)
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
            preview = _preview(project.table.fingerprint, recipe.to_json(), roles, style,
                               project.frame, recipe)
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
    st.markdown(f"**Raw** — {len(preview.raw)} rows")
    st.dataframe(preview.raw)
    st.markdown(f"**What the model sees** — {preview.prepared.shape[1]} inputs "
                f"({STYLES[style].split(' (')[0].lower()})")
    st.dataframe(preview.prepared)
    if recipe.preparation.reduce.method != "none":
        st.caption("With the reduction below, every model gets these inputs as for linear models, "
                   "then the components made from them.")
    _ui.explain(f"For this preview the preparation was fitted on {preview.fitted_on}. In training "
                "it is fitted inside each cross-validation fold, on training rows only, so "
                "nothing about the validation rows leaks into it.")


project = _ui.page_header("prepare")
if not _ui.require(project, "prepare"):
    st.stop()
_ui.explain("Models need numbers without gaps. Here you decide how each column gets there; "
            "the defaults already follow the data-quality findings. Applying clears any "
            "trained model, since it was trained with the old choices.")
_form(project)
st.divider()
_before_after(project)
st.divider()
_prepare_reduce.section(project)
_ui.next_step("prepare")
