"""How much of the prepared data's variance the first components keep, and how many to keep.

Before a reduction is chosen, :func:`explained_variance` fits the preparation (as every model
gets it with a reduction: one-hot, scaled, imputed) and any feature selection on a seeded sample
of the labelled rows, then PCA or truncated SVD with as many components as the sample allows
(at most ``CURVE_COMPONENTS``). The suggestion is the fewest components that keep
``KEEP_SHARE`` of the variance — a rule a person can check on the curve, where an elbow is a
judgement that moves with the axis' scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import sparse
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.pipeline import Pipeline

from core.errors import TabwrightError
from core.explore import sample_for_plots
from core.formatting import format_percent, json_safe
from core.plotting import COLOURS, figure
from core.prepare._pipeline import (
    build_preprocessor,
    build_selector,
    fit_preparation,
    plan_features,
)
from core.prepare._reduce import keeps_sparse
from core.recipe import Recipe, Reduction

VARIANCE_SAMPLE = 2_000
"""Most rows the readout fits the preparation and the components on."""
CURVE_COMPONENTS = 100
"""Most components the readout computes (and its curve shows)."""
KEEP_SHARE = 0.95
"""The suggestion is the fewest components that keep this share of the variance."""
METHOD_LABELS = {"pca": "PCA", "svd": "truncated SVD"}
_SUPERVISED = ("binary", "multiclass", "regression")


def explained_variance(frame: pd.DataFrame, recipe: Recipe, inferred_roles: dict[str, str], *,
                       method: str = "pca", sample_rows: int = VARIANCE_SAMPLE) -> dict[str, Any]:
    """The variance the first components keep, the suggested number of components, in words.

    Parameters
    ----------
    frame : DataFrame
        The whole table; rows without a target value are left out.
    recipe : Recipe
        The preparation and feature selection to reduce after (its own reduction is ignored).
    inferred_roles : dict
        Column → role from the data.
    method : {"pca", "svd"}
        PCA, or truncated SVD (which takes text as a sparse matrix).
    sample_rows : int
        Most rows to fit on (a seeded random sample of them).

    Returns
    -------
    dict
        JSON-safe: ``method``, ``rows`` (fitted on) of ``labelled_rows``, ``inputs`` (prepared
        columns), ``zeros`` (share of zero cells), ``cumulative`` (share of the variance kept by
        the first 1, 2, … components), ``keep_share``, ``suggested`` (the fewest components
        keeping ``keep_share``, or all computed when none does), ``reached`` (whether one does)
        and ``sentence``.

    Raises
    ------
    TabwrightError
        When no feature is left, the data has fewer than two prepared inputs or rows, or target
        encoding has no target to learn from.
    """
    if method not in METHOD_LABELS:
        raise TabwrightError(f"The reduction method must be pca or svd, got {method!r}.",
                             "Choose pca or svd.")
    if recipe.target and recipe.target in frame.columns:
        frame = frame[frame[recipe.target].notna()]
    sample, _ = sample_for_plots(frame, sample_rows)
    plan = plan_features(sample, recipe, inferred_roles)
    trial = recipe.copy()
    trial.preparation.reduce = Reduction(method)
    # The task only shapes target encoding and selection: without one, no selection.
    task = recipe.task if recipe.task in _SUPERVISED else "regression"
    prep, _ = build_preprocessor(plan, trial, task=task, style="linear", sparse=keeps_sparse(trial))
    steps: list[tuple[str, Any]] = [("prep", prep)]
    selector = build_selector(trial, task) if recipe.task in _SUPERVISED else None
    if selector is not None:
        steps.append(("select", selector))
    y = sample[recipe.target] if recipe.target else None
    X = fit_preparation(Pipeline(steps), sample[plan.features], y).transform(sample[plan.features])
    if min(X.shape) < 2:
        raise TabwrightError(
            f"A reduction needs at least two prepared inputs and two rows, got {X.shape[1]} "
            f"input(s) and {X.shape[0]} row(s).",
            "Keep more columns (or rows), or train without a reduction.")
    n = min(CURVE_COMPONENTS, *X.shape)
    reducer = (PCA if method == "pca" else TruncatedSVD)(n_components=n, random_state=recipe.seed)
    reducer.fit(X)
    cumulative = np.minimum(np.cumsum(reducer.explained_variance_ratio_), 1.0)
    kept = np.flatnonzero(cumulative >= KEEP_SHARE)
    suggested = int(kept[0]) + 1 if kept.size else n
    cells = X.shape[0] * X.shape[1]
    zeros = 1 - (X.count_nonzero() if sparse.issparse(X) else np.count_nonzero(X)) / cells
    has_text = "text" in plan.roles.values()
    return json_safe({
        "method": method, "rows": len(sample), "labelled_rows": len(frame), "inputs": X.shape[1],
        "zeros": zeros, "cumulative": cumulative, "keep_share": KEEP_SHARE,
        "suggested": suggested, "reached": bool(kept.size),
        "sentence": _sentence(method, cumulative, suggested, bool(kept.size), X.shape[1],
                              zeros if has_text else None),
    })


def _sentence(method: str, cumulative: np.ndarray, suggested: int, reached: bool, inputs: int,
              text_zeros: float | None) -> str:
    kept = format_percent(float(cumulative[suggested - 1]))
    if reached:
        out = (f"{suggested} component{'s' if suggested > 1 else ''} keep{'' if suggested > 1 else 's'} "
               f"{kept} of the variance of the {inputs:,} prepared inputs: the fewest that keep "
               f"at least {KEEP_SHARE:.0%}, so {suggested} is the suggestion.")
    else:
        out = (f"The first {suggested} components keep only {kept} of the variance of the "
               f"{inputs:,} prepared inputs: it is spread over many directions, so fewer inputs "
               "lose some of it.")
        out += (f" Keep a share of {KEEP_SHARE:.0%} instead of a count, and PCA takes as many "
                "components as that needs." if method == "pca" else
                f" {suggested} is the most this readout measured.")
    if method == "pca" and text_zeros is not None:
        out += (f" Text makes {format_percent(text_zeros)} of the prepared values zeros: svd "
                "reduces them without making them dense first, in a fraction of the memory.")
    return out


def explained_variance_figure(data: dict[str, Any]) -> go.Figure:
    """The share of variance kept against the number of components, with the suggestion."""
    cumulative = data["cumulative"]
    label = METHOD_LABELS[data["method"]]
    fig = figure(f"Variance kept by the first {label} components", height=360, showlegend=False,
                 xaxis_title="components kept", yaxis_title="share of the variance kept",
                 yaxis=dict(range=[0, 1.02], tickformat=".0%"))
    fig.add_scatter(x=list(range(1, len(cumulative) + 1)), y=cumulative, mode="lines+markers",
                    name=label, line=dict(color=COLOURS["main"]), marker=dict(size=5),
                    hovertemplate="%{x} components keep %{y:.1%}<extra></extra>")
    fig.add_hline(y=data["keep_share"], line=dict(dash="dash", color=COLOURS["muted"]),
                  annotation_text=f"{data['keep_share']:.0%}", annotation_position="bottom right")
    fig.add_vline(x=data["suggested"], line=dict(dash="dot", color=COLOURS["second"]),
                  annotation_text=f"suggested: {data['suggested']}",
                  annotation_position="bottom right")
    return fig
