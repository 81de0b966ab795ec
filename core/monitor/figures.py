"""Figures of a monitoring report over time, in the house style (:func:`core.plotting.figure`).

Each function takes a :class:`core.monitor._windows.MonitorReport` and returns a plotly figure,
or None when the report has nothing to draw (no windows, no latency, no drift, no scores), so
the page and the CLI's HTML can skip the chart. Names from the data (features, classes) are
passed to plotly as data, never as HTML.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.metrics import metric_label
from core.monitor._measure import LATENCY_PERCENTILES
from core.monitor._windows import MonitorReport
from core.plotting import COLOURS, as_text, figure

TOP_FEATURES = 12
"""Most features in the drift heat map (the most drifted ones)."""
PREDICTIONS_ROW = "(predictions)"
"""The heat map's row for prediction drift, below the features."""


def traffic_figure(report: MonitorReport) -> go.Figure | None:
    """Predictions (rows) and requests per window."""
    w = report.windows
    if not len(w):
        return None
    fig = figure(f"Predictions per {report.window}", height=300, bargap=0.1,
                 legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    fig.add_bar(x=w["start"], y=w["rows"], name="predictions (rows)", marker_color=COLOURS["main"],
                hovertemplate="%{x}: %{y:,} predictions<extra></extra>")
    if (w["requests"] != w["rows"]).any():
        fig.add_scatter(x=w["start"], y=w["requests"], name="requests", mode="lines+markers",
                        line=dict(color=COLOURS["second"]),
                        hovertemplate="%{x}: %{y:,} requests<extra></extra>")
    fig.update_yaxes(title_text="count", rangemode="tozero")
    return fig


def latency_figure(report: MonitorReport) -> go.Figure | None:
    """Request latency percentiles per window, with the brief's limit as a dashed line."""
    w = report.windows
    columns = [f"latency_p{q}" for q in LATENCY_PERCENTILES]
    if not len(w) or w[columns].isna().all().all():
        return None
    fig = figure("Latency per request (ms)", height=300,
                 legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    shades = (COLOURS["good"], COLOURS["main"], COLOURS["second"])
    for q, column, colour in zip(LATENCY_PERCENTILES, columns, shades):
        fig.add_scatter(x=w["start"], y=w[column], name=f"p{q}", mode="lines+markers",
                        line=dict(color=colour), connectgaps=False,
                        hovertemplate=f"%{{x}}: p{q} %{{y:.1f}} ms<extra></extra>")
    limit = report.thresholds.max_latency_ms
    if limit is not None:
        fig.add_hline(y=limit, line=dict(dash="dash", color=COLOURS["bad"]),
                      annotation_text=f"your limit ({limit:g} ms)", annotation_position="top left")
    fig.update_yaxes(title_text="ms", rangemode="tozero")
    return fig


def drift_over_time_figure(report: MonitorReport, *, top: int = TOP_FEATURES) -> go.Figure | None:
    """PSI per feature and window as a heat map: the ``top`` most drifted features, then the
    predictions. Green below the watch PSI, amber to the act PSI, red above; windows with
    fewer predictions than ``thresholds.min_rows`` are blank."""
    drift, w = report.drift, report.windows
    if not len(w) or not len(drift):
        return None
    order = report.features.dropna(subset=["max_psi"]).sort_values("max_psi", ascending=False)
    names = [n for n in order["feature"] if n in set(drift["feature"])][:top]
    if not names:
        names = list(dict.fromkeys(drift["feature"]))[:top]
    table = drift.pivot(index="feature", columns="start", values="psi").reindex(names)
    z = table.to_numpy(dtype=float)
    labels = [as_text(n) for n in names]
    if w["prediction_psi"].notna().any():
        z = np.vstack([z, w["prediction_psi"].to_numpy(dtype=float)])
        labels.append(PREDICTIONS_ROW)
    # A PSI from a handful of rows is noise: windows under the report's min_rows stay blank.
    z[:, w["rows"].to_numpy() < report.thresholds.min_rows] = np.nan
    watch, act = report.thresholds.psi_watch, report.thresholds.psi_act
    top_value = 2 * act
    scale = [[0.0, COLOURS["good"]], [watch / top_value, COLOURS["good"]],
             [watch / top_value, COLOURS["watch"]], [act / top_value, COLOURS["watch"]],
             [act / top_value, COLOURS["bad"]], [1.0, COLOURS["bad"]]]
    fig = figure("Drift over time (population stability index)",
                 height=max(260, 120 + 26 * len(labels)))
    fig.add_heatmap(x=list(w["start"]), y=labels,
                    z=np.clip(z, 0, top_value), customdata=z, zmin=0, zmax=top_value,
                    colorscale=scale, xgap=1, ygap=1,
                    colorbar=dict(title="PSI", tickvals=[0, watch, act, top_value],
                                  ticktext=["0", f"{watch:g} watch", f"{act:g} act",
                                            f"≥ {top_value:g}"]),
                    hovertemplate="%{y} · %{x}: PSI %{customdata:.3f}<extra></extra>")
    fig.update_yaxes(type="category", autorange="reversed", automargin=True)
    return fig


def performance_figure(report: MonitorReport, metric: str | None = None) -> go.Figure | None:
    """One metric over time: measured where outcomes came back, estimated (with its 95% band)
    elsewhere, and the good-enough bar as a dashed line.

    ``metric`` defaults to the bar's metric, else the card's, else accuracy, whichever the
    report has.
    """
    w = report.windows
    available = [*report.scored_metrics, *report.estimated_metrics]
    if metric is None:
        metric = next((m for m in (report.thresholds.bar_metric, report.metric, "accuracy")
                       if m in available), available[0] if available else None)
    if metric is None or not len(w):
        return None
    actual = w.get(f"actual_{metric}", pd.Series(np.nan, index=w.index))
    estimated = w.get(f"estimated_{metric}", pd.Series(np.nan, index=w.index))
    if actual.isna().all() and estimated.isna().all():
        return None
    label = metric_label(metric)
    fig = figure(f"{label} over time", height=320,
                 legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    if estimated.notna().any():
        band: dict[str, Any] = dict(mode="lines", line=dict(width=0), hoverinfo="skip",
                                    connectgaps=False)
        fig.add_scatter(x=w["start"], y=w[f"estimated_{metric}_high"], showlegend=False, **band)
        fig.add_scatter(x=w["start"], y=w[f"estimated_{metric}_low"], fill="tonexty",
                        fillcolor="rgba(230, 167, 0, 0.2)", name="95% interval", **band)
        fig.add_scatter(x=w["start"], y=estimated, name="estimated (no outcomes needed)",
                        mode="lines+markers", line=dict(color=COLOURS["watch"], dash="dot"),
                        hovertemplate=f"%{{x}}: estimated {label} %{{y:.4f}}<extra></extra>")
    if actual.notna().any():
        fig.add_scatter(x=w["start"], y=actual, name="measured on outcomes", mode="lines+markers",
                        line=dict(color=COLOURS["main"]), customdata=w["labelled"],
                        hovertemplate=(f"%{{x}}: {label} %{{y:.4f}} on %{{customdata:,}} "
                                       "outcomes<extra></extra>"))
    if report.thresholds.bar_metric == metric and report.thresholds.bar_value is not None:
        fig.add_hline(y=report.thresholds.bar_value, line=dict(dash="dash", color=COLOURS["bad"]),
                      annotation_text=f"your bar ({report.thresholds.bar_value:g})",
                      annotation_position="top left")
    fig.update_yaxes(title_text=label)
    return fig
