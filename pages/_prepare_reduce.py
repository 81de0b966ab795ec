"""The Prepare page's reduction: PCA or truncated SVD, the variance the first components keep
and a suggested number of them, then how many to keep."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import TabwrightError
from core.prepare import KEEP_SHARE, explained_variance, explained_variance_figure
from core.project import Project, update_recipe
from core.recipe import BOUNDS, REDUCE, Recipe, Reduction
from pages import _ui

METHODS = {"none": "No reduction", "pca": "PCA", "svd": "Truncated SVD (text)"}
KEEP = {"count": "a number of components", "share": "a share of the variance"}


@st.cache_data(show_spinner=False, max_entries=32)
def _readout(fingerprint: str, recipe_json: str, roles: tuple[tuple[str, str], ...], method: str,
             _frame: pd.DataFrame, _recipe: Recipe) -> dict:
    """The explained-variance curve and the suggestion (fits on a sample of the rows)."""
    return explained_variance(_frame, _recipe, dict(roles), method=method)


def _keep(method: str, current: Reduction, suggested: int) -> Reduction:
    """How many components to keep: a count (the suggestion first), or for PCA a share."""
    same = current.method == method
    by_share = method == "pca" and st.radio(
        "Keep", list(KEEP), format_func=KEEP.get, horizontal=True, key="prep_reduce_keep",
        index=int(same and current.variance is not None)) == "share"
    if by_share:
        bounds = BOUNDS["preparation.reduce.variance"]
        share = st.number_input(
            "Share of the variance to keep", min_value=bounds.low, max_value=bounds.high,
            value=current.variance if same and current.variance is not None else KEEP_SHARE,
            step=0.01, format="%.3f", key="prep_reduce_variance",
            help="PCA keeps the fewest components that explain this share, fold by fold.")
        return Reduction(method, components=current.components, variance=float(share))
    bounds = BOUNDS["preparation.reduce.components"]
    count = st.number_input(
        "Components to keep", min_value=int(bounds.low), max_value=int(bounds.high), step=1,
        value=current.components if same else suggested, key=f"prep_reduce_components_{method}",
        help="At most as many as the prepared data has inputs (and rows) in a fold.")
    return Reduction(method, components=int(count))


def section(project: Project) -> None:
    """Choose a reduction with its explained-variance curve, and apply it to the recipe."""
    recipe = project.recipe
    current = recipe.preparation.reduce
    st.subheader("Fewer inputs: dimensionality reduction")
    _ui.explain("PCA replaces the prepared inputs by fewer components that keep most of their "
                "variance; truncated SVD does the same without centring, so text stays sparse. "
                "The step is fitted inside each cross-validation fold and travels with the "
                "model. With a reduction every model gets one-hot, scaled inputs to reduce.")
    method = st.radio("Reduce the prepared inputs with", REDUCE, format_func=METHODS.get,
                      index=REDUCE.index(current.method), horizontal=True, key="prep_reduce_method")
    choice = Reduction()
    if method != "none":
        try:
            with st.spinner("Measuring the variance the components keep…"):
                data = _readout(project.table.fingerprint, recipe.to_json(),
                                tuple(sorted(project.inferred_roles.items())), method,
                                project.frame, recipe)
        except TabwrightError as exc:
            _ui.show_error(exc)
            return
        _ui.chart(explained_variance_figure(data), key="chart_explained_variance")
        st.info(data["sentence"])
        fitted = (f"all {data['rows']:,} rows" if data["rows"] == data["labelled_rows"]
                  else f"a random sample of {data['rows']:,} of {data['labelled_rows']:,} rows")
        st.caption(f"Measured on {fitted}, with the preparation above.")
        choice = _keep(method, current, data["suggested"])
    if st.button("Apply reduction", key="prep_reduce_apply"):
        if choice == current:
            st.info("Nothing changed.")
            return
        changed = recipe.copy()
        changed.preparation.reduce = choice
        words = "no reduction" if choice.method == "none" else METHODS[choice.method]
        if _ui.attempt(update_recipe, project, changed, reason="You changed the reduction",
                       success=f"Reduction updated ({words}): models will be trained with it."):
            st.rerun()
