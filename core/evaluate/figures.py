"""Figures drawn from tabwright's JSON-safe results, shared by the pages and the HTML report.

Every function takes plain data (an evaluation dict from :mod:`core.evaluate._heldout`, a leaderboard,
) and returns a ``plotly.graph_objects.Figure``, or
``None`` when the figure does not apply (a ROC curve for a regression, a calibration curve for
a model without probabilities). Nothing here computes a metric: the numbers come from tabwright.

Labels are passed to plotly as data, never as HTML: plotly escapes them when it draws, and its
JSON encoding escapes ``</`` so a column name cannot end the ``<script>`` holding a figure.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from core.plotting import (
    COLOURS,
    MAX_BARS,
    as_text,
    bar_chart_height,
    escape_text,
    figure,
)


def _is_classification(evaluation: dict[str, Any] | None) -> bool:
    return bool(evaluation) and evaluation.get("task") in ("binary", "multiclass")


# --------------------------------------------------------------------------- leaderboard


def leaderboard_chart(leaderboard: list[dict[str, Any]], metric: str) -> go.Figure | None:
    """Cross-validation score of each model as horizontal bars with ± std error bars, best on top.

    ``leaderboard`` is :attr:`core.train._runner.TrainResult.leaderboard` (already ranked best first);
    failed rows and rows without a score for ``metric`` are left out. Returns None when no row
    has a score.
    """
    rows = [r for r in leaderboard if r.get("status", "ok") == "ok" and r.get(metric) is not None]
    if not rows:
        return None
    shown = rows[:MAX_BARS]
    # Ranks keep two configurations of the same model apart (a category axis merges equal names).
    names = [f"{i}. {as_text(r.get('label') or r.get('model'))}" for i, r in enumerate(shown, 1)]
    title = f"Cross-validation {metric} (mean ± std over folds)"
    if len(rows) > len(shown):
        title += f" — best {len(shown)} of {len(rows)}"
    fig = figure(title, height=bar_chart_height(len(shown)), showlegend=False)
    fig.add_bar(
        x=[r[metric] for r in shown], y=names, orientation="h",
        error_x=dict(type="data", array=[r.get(f"{metric}_std") or 0.0 for r in shown], visible=True),
        marker_color=[COLOURS["good"]] + [COLOURS["main"]] * (len(shown) - 1),
        customdata=[[as_text(r.get("model")), r.get(f"{metric}_std"), r.get("fit_seconds")] for r in shown],
        hovertemplate="%{y}<br>" + metric + " %{x:.4g} ± %{customdata[1]:.3g}"
                      "<br>fit %{customdata[2]:.2f} s<extra></extra>",
    )
    fig.update_yaxes(autorange="reversed", type="category", automargin=True)
    fig.update_xaxes(title_text=metric)
    return fig


# --------------------------------------------------------------------------- classification


def confusion_matrix_figure(evaluation: dict[str, Any], *, normalized: bool = False,
                            clickable: bool = False) -> go.Figure | None:
    """Heatmap of true (y) vs predicted (x) classes with the counts written in every cell.

    Each cell's ``customdata`` is ``[true_label, predicted_label]`` (the original class values,
    not their text), so a click on a cell gives the arguments of
    :func:`core.evaluate._heldout.rows_for_confusion_cell`. ``normalized`` colours by the share of each
    true class (row shares) and writes "count (share)". ``clickable`` puts an invisible marker
    on every cell, because a heatmap's cells cannot be selected in Streamlit, but points can.
    """
    if not _is_classification(evaluation) or not evaluation.get("confusion_matrix"):
        return None
    cm = evaluation["confusion_matrix"]
    labels = list(cm["labels"])
    counts = cm["counts"]
    shares = cm.get("normalized") or [[None] * len(labels) for _ in labels]
    names = [as_text(c) for c in labels]
    z = shares if normalized else counts
    if normalized:
        text = [[f"{n:,}" + ("" if s is None else f" ({s:.0%})") for n, s in zip(row, srow)]
                for row, srow in zip(counts, shares)]
    else:
        text = [[f"{n:,}" for n in row] for row in counts]
    customdata = [[[t, p] for p in labels] for t in labels]
    fig = figure("Confusion matrix" + (" (share of each true class)" if normalized else ""),
                  height=max(320, 150 + 45 * len(labels)))
    fig.add_heatmap(
        z=z, x=names, y=names, text=text, texttemplate="%{text}", customdata=customdata,
        colorscale="Blues", showscale=False, zmin=0, xgap=1, ygap=1,
        hovertemplate="true %{y}, predicted %{x}: %{text}<extra></extra>",
    )
    fig.update_xaxes(title_text="Predicted", type="category", side="bottom", automargin=True)
    fig.update_yaxes(title_text="True", type="category", autorange="reversed", automargin=True)
    if clickable:
        cells = [(t, p, cell) for t, row in zip(names, customdata) for p, cell in zip(names, row)]
        fig.add_scatter(x=[p for _, p, _ in cells], y=[t for t, _, _ in cells],
                        customdata=[cell for _, _, cell in cells], mode="markers", showlegend=False,
                        marker=dict(size=40, color="rgba(0,0,0,0)", symbol="square"),
                        hovertemplate="true %{y}, predicted %{x}: click to see these rows"
                                      "<extra></extra>")
        fig.update_layout(clickmode="event+select", dragmode=False)
    return fig


def _one_vs_rest(curve: dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    if not curve:
        return []
    if "one_vs_rest" in curve:
        return [(as_text(c["class"]), c) for c in curve["one_vs_rest"]]
    return [("", curve)]


def roc_figure(evaluation: dict[str, Any]) -> go.Figure | None:
    """ROC curve(s): binary — the positive class; multiclass — one curve per class vs the rest."""
    if not _is_classification(evaluation):
        return None
    curves = _one_vs_rest(evaluation.get("roc_curve"))
    if not curves:
        return None
    title = "ROC curve"
    if evaluation["task"] == "binary":
        title += f" (positive class: {as_text(evaluation.get('positive_label'))})"
    fig = figure(title, height=420, legend=dict(x=0.98, xanchor="right", y=0.02, yanchor="bottom"))
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="guessing",
                    line=dict(dash="dash", color=COLOURS["muted"]), hoverinfo="skip")
    for name, c in curves:
        auc = c.get("auc")
        label = (f"{name}: " if name else "") + ("AUC n/a" if auc is None else f"AUC {auc:.3f}")
        fig.add_scatter(x=c["fpr"], y=c["tpr"], mode="lines", name=label,
                        customdata=c.get("thresholds"),
                        hovertemplate="false positive rate %{x:.3f}<br>true positive rate %{y:.3f}"
                                      "<br>threshold %{customdata:.3g}<extra></extra>")
    fig.update_xaxes(title_text="False positive rate", range=[0, 1])
    fig.update_yaxes(title_text="True positive rate (recall)", range=[0, 1.02])
    return fig


def pr_figure(evaluation: dict[str, Any]) -> go.Figure | None:
    """Precision-recall curve(s), with the positive rate (what guessing scores) as a line."""
    if not _is_classification(evaluation):
        return None
    curves = _one_vs_rest(evaluation.get("pr_curve"))
    if not curves:
        return None
    title = "Precision-recall curve"
    if evaluation["task"] == "binary":
        title += f" (positive class: {as_text(evaluation.get('positive_label'))})"
    fig = figure(title, height=420, legend=dict(x=0.02, xanchor="left", y=0.02, yanchor="bottom"))
    for name, c in curves:
        ap = c.get("average_precision")
        label = (f"{name}: " if name else "") + ("AP n/a" if ap is None else f"AP {ap:.3f}")
        fig.add_scatter(x=c["recall"], y=c["precision"], mode="lines", name=label,
                        customdata=[t if t is not None else float("nan") for t in c.get("thresholds", [])],
                        hovertemplate="recall %{x:.3f}<br>precision %{y:.3f}"
                                      "<br>threshold %{customdata:.3g}<extra></extra>")
    if len(curves) == 1 and curves[0][1].get("positive_rate") is not None:
        rate = curves[0][1]["positive_rate"]
        fig.add_hline(y=rate, line=dict(dash="dash", color=COLOURS["muted"]),
                      annotation_text=f"guessing ({rate:.2f})", annotation_position="top right")
    fig.update_xaxes(title_text="Recall", range=[0, 1])
    fig.update_yaxes(title_text="Precision", range=[0, 1.02])
    return fig


def calibration_figure(evaluation: dict[str, Any]) -> go.Figure | None:
    """Predicted probability vs observed frequency per quantile bin (binary with probabilities)."""
    if not _is_classification(evaluation) or not evaluation.get("calibration"):
        return None
    cal = evaluation["calibration"]
    fig = figure(f"Calibration (positive class: {as_text(evaluation.get('positive_label'))})",
                  height=420, legend=dict(x=0.02, y=0.98))
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                    line=dict(dash="dash", color=COLOURS["muted"]), hoverinfo="skip")
    fig.add_scatter(x=cal["prob_pred"], y=cal["prob_true"], mode="lines+markers", name="model",
                    customdata=cal.get("counts"),
                    hovertemplate="predicted %{x:.2f}<br>observed %{y:.2f}<br>%{customdata} rows"
                                  "<extra></extra>")
    fig.update_xaxes(title_text="Mean predicted probability", range=[0, 1])
    fig.update_yaxes(title_text="Observed share of positives", range=[0, 1.02])
    return fig


# --------------------------------------------------------------------------- regression


def residuals_figure(evaluation: dict[str, Any]) -> go.Figure | None:
    """Residual (actual − predicted) against the prediction, with a zero line."""
    if not evaluation or evaluation.get("task") != "regression" or not evaluation.get("residuals"):
        return None
    r = evaluation["residuals"]
    fig = figure("Residuals (actual − predicted)", height=420, showlegend=False)
    fig.add_scattergl(x=r["predicted"], y=r["residual"], mode="markers",
                      marker=dict(size=5, opacity=0.5, color=COLOURS["main"]),
                      customdata=r.get("index"),
                      hovertemplate="row %{customdata}<br>predicted %{x:.4g}<br>residual %{y:.4g}"
                                    "<extra></extra>")
    fig.add_hline(y=0, line=dict(dash="dash", color=COLOURS["muted"]))
    fig.update_xaxes(title_text="Predicted")
    fig.update_yaxes(title_text="Residual")
    return fig


def predicted_vs_actual_figure(evaluation: dict[str, Any]) -> go.Figure | None:
    """Predicted against actual values, with the diagonal where they would be equal."""
    if not evaluation or evaluation.get("task") != "regression" or not evaluation.get("residuals"):
        return None
    r = evaluation["residuals"]
    values = [v for v in (*r["actual"], *r["predicted"]) if v is not None]
    if not values:
        return None
    low, high = min(values), max(values)
    fig = figure("Predicted vs actual", height=420, showlegend=False)
    fig.add_scatter(x=[low, high], y=[low, high], mode="lines",
                    line=dict(dash="dash", color=COLOURS["muted"]), hoverinfo="skip")
    fig.add_scattergl(x=r["actual"], y=r["predicted"], mode="markers",
                      marker=dict(size=5, opacity=0.5, color=COLOURS["main"]),
                      customdata=r.get("index"),
                      hovertemplate="row %{customdata}<br>actual %{x:.4g}<br>predicted %{y:.4g}"
                                    "<extra></extra>")
    fig.update_xaxes(title_text="Actual")
    fig.update_yaxes(title_text="Predicted")
    return fig


# --------------------------------------------------------------------------- diagnostics


def learning_curve_figure(data: dict[str, Any]) -> go.Figure | None:
    """Training and validation score against training rows (bands: ± std over folds).

    ``data`` is :func:`core.evaluate._heldout.learning_curve_data`'s result.
    """
    if not data or not data.get("train_sizes"):
        return None
    sizes = data["train_sizes"]
    fig = figure(f"Learning curve ({as_text(data.get('scoring'))})", height=420,
                  legend=dict(x=0.98, xanchor="right", y=0.02, yanchor="bottom"))
    for key, name, colour in (("train", "training", COLOURS["second"]),
                              ("valid", "validation", COLOURS["main"])):
        mean = [m if m is not None else float("nan") for m in data[f"{key}_mean"]]
        std = [s or 0.0 for s in data[f"{key}_std"]]
        upper = [m + s for m, s in zip(mean, std)]
        lower = [m - s for m, s in zip(mean, std)]
        fig.add_scatter(x=list(sizes) + list(sizes)[::-1], y=upper + lower[::-1], fill="toself",
                        fillcolor=colour, opacity=0.15, line=dict(width=0), hoverinfo="skip",
                        showlegend=False)
        fig.add_scatter(x=sizes, y=mean, mode="lines+markers", name=name, line=dict(color=colour),
                        customdata=std,
                        hovertemplate=f"{name}<br>%{{x:,}} rows: %{{y:.4g}} ± %{{customdata:.3g}}"
                                      "<extra></extra>")
    fig.update_xaxes(title_text="Training rows")
    fig.update_yaxes(title_text=as_text(data.get("scoring")))
    return fig


def importance_figure(rows: list[dict[str, Any]]) -> go.Figure | None:
    """Permutation importance per raw column, most important on top, with ± std error bars.

    ``rows`` is :func:`core.evaluate._heldout.permutation_importance_data`'s result.
    """
    if not rows:
        return None
    shown = rows[:MAX_BARS]
    title = "Permutation importance (drop in score when the column is shuffled)"
    if len(rows) > len(shown):
        title += f" — top {len(shown)} of {len(rows)}"
    fig = figure(title, height=bar_chart_height(len(shown)), showlegend=False)
    fig.add_bar(
        x=[r["importance_mean"] for r in shown], y=[as_text(r["feature"]) for r in shown],
        orientation="h",
        error_x=dict(type="data", array=[r.get("importance_std") or 0.0 for r in shown], visible=True),
        marker_color=[COLOURS["main"] if (r["importance_mean"] or 0) > 0 else COLOURS["muted"]
                      for r in shown],
        hovertemplate="%{y}: %{x:.4g}<extra></extra>",
    )
    fig.update_yaxes(autorange="reversed", type="category", automargin=True)
    fig.update_xaxes(title_text="Importance (score drop)")
    return fig


def cluster_sizes_figure(evaluation: dict[str, Any]) -> go.Figure | None:
    """Rows per cluster (DBSCAN's noise, label -1, in grey)."""
    if not evaluation or evaluation.get("task") != "clustering" or not evaluation.get("cluster_sizes"):
        return None
    sizes = evaluation["cluster_sizes"]
    names = ["noise" if s["cluster"] == -1 else f"cluster {s['cluster']}" for s in sizes]
    fig = figure("Cluster sizes", height=380, showlegend=False)
    fig.add_bar(x=names, y=[s["size"] for s in sizes],
                marker_color=[COLOURS["muted"] if s["cluster"] == -1 else COLOURS["main"] for s in sizes],
                customdata=[s["share"] for s in sizes],
                text=[f"{s['share']:.0%}" for s in sizes], textposition="outside",
                hovertemplate="%{x}: %{y:,} rows (%{customdata:.1%})<extra></extra>")
    fig.update_xaxes(type="category")
    fig.update_yaxes(title_text="Rows")
    return fig


# --------------------------------------------------------------------------- drift




# --------------------------------------------------------------------------- costs and fairness


def cost_curve_figure(summary: dict[str, Any] | None) -> go.Figure | None:
    """Expected cost per 1,000 decisions against the threshold, with the chosen point.

    ``summary`` is :func:`core.evaluate._costs.cost_summary`'s result: the validation folds'
    curve (where the threshold is chosen) and the test rows' curve, the chosen threshold as a
    marker and the default 0.5 as a dashed line.
    """
    if not summary or not summary.get("test"):
        return None
    fig = figure("Expected cost per 1,000 decisions by threshold", height=420,
                 legend=dict(x=0.02, xanchor="left", y=0.98, yanchor="top"))
    hover = "threshold %{x:.3f}<br>%{y:,.4g} per 1,000<extra>%{fullData.name}</extra>"
    validation, test = summary.get("validation"), summary["test"]
    if validation:
        fig.add_scatter(x=validation["thresholds"], y=validation["cost_per_1000"], mode="lines",
                        name="validation folds (where the threshold is chosen)",
                        line=dict(color=COLOURS["main"]), hovertemplate=hover)
    fig.add_scatter(x=test["thresholds"], y=test["cost_per_1000"], mode="lines", name="test rows",
                    line=dict(color=COLOURS["second"], dash="dot"), hovertemplate=hover)
    chosen = summary.get("chosen_threshold")
    if validation and chosen is not None:
        fig.add_scatter(x=[chosen], y=[validation["cost"]], mode="markers",
                        name=f"chosen threshold {chosen:.3g}",
                        marker=dict(size=12, color=COLOURS["good"], symbol="diamond"),
                        hovertemplate=hover)
    fig.add_vline(x=0.5, line=dict(dash="dash", color=COLOURS["muted"]),
                  annotation_text="default 0.5", annotation_position="top")
    fig.update_xaxes(title_text="Threshold (a row is flagged positive at or above it)",
                     range=[0, 1])
    fig.update_yaxes(title_text="Expected cost per 1,000 decisions")
    return fig


def fairness_figure(table: dict[str, Any] | None) -> go.Figure | None:
    """Each group's rates (two classes), accuracy (several) or MAE (regression) as bars.

    ``table`` is one of :func:`core.evaluate._fairness.fairness_for`'s tables. Rates carry their
    95 % Wilson intervals as error bars; a group with too few rows says so on hover.
    """
    if not table or not table.get("available", True) or not table.get("groups"):
        return None
    groups = table["groups"]
    names = [as_text(g["group"]) for g in groups]
    note = ["too few rows to tell" if g["too_few"] else "" for g in groups]
    fig = figure(f"By {as_text(table['column'])}", height=420,
                 legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0.01))
    if table["task"] == "binary":
        for key, label, colour in (("selection_rate", "selection rate", COLOURS["main"]),
                                   ("tpr", "true positive rate", COLOURS["good"]),
                                   ("fpr", "false positive rate", COLOURS["bad"])):
            value = [g[key] for g in groups]
            fig.add_bar(
                x=names, y=value, name=label, marker_color=colour, customdata=note,
                error_y=dict(type="data", visible=True,
                             array=[None if v is None else g[f"{key}_high"] - v
                                    for v, g in zip(value, groups)],
                             arrayminus=[None if v is None else v - g[f"{key}_low"]
                                         for v, g in zip(value, groups)]),
                hovertemplate=f"%{{x}}: {label} %{{y:.1%}}<br>%{{customdata}}<extra></extra>")
        fig.update_yaxes(title_text="Share of rows", range=[0, 1.05], tickformat=".0%")
        fig.update_layout(barmode="group")
    else:
        key, label = ("mae", "MAE") if table["task"] == "regression" else ("accuracy", "accuracy")
        fig.add_bar(x=names, y=[g[key] for g in groups], name=label, showlegend=False,
                    marker_color=[COLOURS["muted"] if g["too_few"] else COLOURS["main"]
                                  for g in groups],
                    customdata=note, hovertemplate=f"%{{x}}: {label} %{{y:.4g}}<br>"
                                                   "%{customdata}<extra></extra>")
        fig.update_yaxes(title_text=label)
    fig.update_xaxes(type="category", title_text=as_text(table["column"]), automargin=True)
    return fig


# --------------------------------------------------------------------------- explanations

WATERFALL_BARS = 12
"""Columns drawn one by one in a contributions waterfall; the others share one bar."""


def _signed(value: float, output: str) -> str:
    if output == "probability":
        return f"{value * 100:+.1f} points"
    return f"{value:+,.4g}"


def partial_dependence_figure(curve: dict[str, Any]) -> go.Figure | None:
    """The average prediction (thick) and individual rows (thin) as one column changes.

    ``curve`` is :func:`core.evaluate._dependence.partial_dependence_data`'s result; a
    categorical column gets one point per level.
    """
    if not curve or not curve.get("grid"):
        return None
    categorical = curve.get("kind") == "categorical"
    x = [as_text(v) for v in curve["grid"]] if categorical else list(curve["grid"])
    probability = curve.get("output") == "probability"
    feature, what = as_text(curve.get("feature")), as_text(curve.get("what"))
    fig = figure(f"Effect of {feature} (partial dependence)", height=400,
                 legend=dict(orientation="h", y=-0.2, yanchor="top", x=0.01))
    lines = curve.get("individual") or []
    if lines:
        xs = [v for _ in lines for v in [*x, None]]
        ys = [v for line in lines for v in [*line, None]]
        fig.add_scatter(x=xs, y=ys, mode="lines", name=f"{len(lines)} individual rows",
                        line=dict(color=COLOURS["muted"], width=1), opacity=0.35, hoverinfo="skip")
    shown = ".1%" if probability else ".4g"
    fig.add_scatter(x=x, y=curve["average"], mode="lines+markers",
                    name=f"average over {curve.get('rows', 0):,} rows",
                    line=dict(color=COLOURS["main"], width=3),
                    hovertemplate=f"{escape_text(feature)} %{{x}}: %{{y:{shown}}}<extra></extra>")
    fig.update_xaxes(title_text=feature, type="category" if categorical else "-", automargin=True)
    fig.update_yaxes(title_text=what[:1].upper() + what[1:], tickformat=".0%" if probability else None)
    return fig


def contributions_figure(explanation: dict[str, Any], *, bars: int = WATERFALL_BARS) -> go.Figure | None:
    """A waterfall from the average prediction, through each column's contribution, to this row's.

    ``explanation`` is :func:`core.evaluate._explain.explain_prediction`'s result (largest
    contributions first); columns after the first ``bars`` share one bar.
    """
    if not explanation or not explanation.get("contributions"):
        return None
    output = explanation.get("output", "value")
    contributions = explanation["contributions"]
    shown, rest = contributions[:bars], contributions[bars:]
    labels = ["average prediction"] + [as_text(c["label"]) for c in shown]
    values = [explanation["expected_value"]] + [c["contribution"] for c in shown]
    errors = [None] + [c.get("error") for c in shown]
    if rest:
        labels.append(f"{len(rest)} other column{'s' if len(rest) > 1 else ''}")
        values.append(sum(c["contribution"] for c in rest))
        errors.append(None)
    labels.append("this row")
    values.append(explanation["prediction"])
    errors.append(None)
    absolute = f"{explanation['expected_value']:.1%}" if output == "probability" else \
        f"{explanation['expected_value']:,.4g}"
    final = f"{explanation['prediction']:.1%}" if output == "probability" else \
        f"{explanation['prediction']:,.4g}"
    text = [absolute] + [_signed(v, output) for v in values[1:-1]] + [final]
    hover = [f"{lab}: {t}" + (f" (± {_signed(e, output)[1:]})" if e else "")
             for lab, t, e in zip(labels, text, errors)]
    what = as_text(explanation.get("what"))
    fig = figure(f"Why this prediction: {what}", height=bar_chart_height(len(labels)), showlegend=False)
    fig.add_waterfall(
        orientation="h", y=labels, x=values[:-1] + [0],
        measure=["absolute"] + ["relative"] * (len(values) - 2) + ["total"],
        text=text, textposition="outside", cliponaxis=False, hovertext=hover, hoverinfo="text",
        increasing=dict(marker=dict(color=COLOURS["second"])),
        decreasing=dict(marker=dict(color=COLOURS["main"])),
        totals=dict(marker=dict(color=COLOURS["muted"])),
        connector=dict(line=dict(color=COLOURS["muted"], width=1)),
    )
    fig.update_yaxes(autorange="reversed", type="category", automargin=True)
    fig.update_xaxes(title_text=what[:1].upper() + what[1:],
                     tickformat=".0%" if output == "probability" else None)
    fig.update_layout(margin=dict(r=90))  # room for the labels of the longest bars
    return fig
