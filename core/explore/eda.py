"""Exploratory charts: the numbers behind them, then plotly and bokeh figures drawn from those.

Data functions (``*_data``) take a table and return plain JSON data: per-column distributions,
missing values and their pattern, correlations, and each feature against the target. Figure
functions take that data and return a ``plotly.graph_objects.Figure`` (or a bokeh layout for
linked brushing), so a page can cache the data by content and redraw cheaply.

Big tables are plotted from a seeded random sample (:func:`sample_for_plots`), and the data
says so. Column names and values go to plotly and bokeh as data, never as HTML.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.formatting import format_number, format_percent, json_safe
from core.plotting import COLOURS, figure

HISTOGRAM_BINS = 40
"""Bars in a numeric histogram."""
TOP_LEVELS = 20
"""Most frequent levels drawn for a category; the rest are summed into one "other" bar."""
TARGET_LEVELS = 12
"""Most frequent feature levels shown against the target."""
PATTERN_ROWS = 300
"""Rows drawn at random for the missing-value pattern heatmap."""
MAX_CORRELATION_COLUMNS = 30
"""Most numeric columns in the correlation heatmap (the ones with fewest missing values)."""
MAX_MISSING_COLUMNS = 30
"""Most columns in the missing-value charts (those missing most); the data counts the rest."""
LINKED_POINTS = 5_000
"""Most points drawn in the linked-brushing scatter plots (a browser slows down beyond)."""
LINKED_ASPECT = (1000, 430)
"""Width and height of the linked pair: the page scales it to its width, keeping this ratio."""
TREND_BINS = 20
"""Quantile bins of the average-target line over a regression scatter."""
CLASS_COLOURS = ("#3366cc", "#dc7633", "#2e8b57", "#8e44ad", "#c0392b", "#16a085", "#e6a700",
                 "#7f8c8d", "#d35400", "#2c3e50")


def sample_for_plots(frame: pd.DataFrame, n: int, seed: int = 0) -> tuple[pd.DataFrame, str | None]:
    """At most ``n`` rows drawn at random (seeded, in table order), and a note when sampled.

    Examples
    --------
    >>> sample, note = sample_for_plots(pd.DataFrame({"x": range(10)}), 4)
    >>> len(sample), note
    (4, 'Charts show a random sample of 4 of 10 rows (limit plot_sample_rows).')
    """
    note = sample_note(len(frame), n)
    if note is None:
        return frame, None
    rows = np.sort(np.random.default_rng(seed).choice(len(frame), n, replace=False))
    return frame.iloc[rows], note


def sample_note(rows: int, n: int) -> str | None:
    """What :func:`sample_for_plots` says about a table of ``rows`` rows, without sampling it."""
    if rows <= n:
        return None
    return f"Charts show a random sample of {n:,} of {rows:,} rows (limit plot_sample_rows)."


def _is_number(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)


def _levels(series: pd.Series, top: int) -> tuple[list, list[int], int]:
    """The ``top`` most frequent values (JSON-safe), their counts, and the count of the rest."""
    counts = series.value_counts(dropna=True)
    shown = counts.iloc[:top]
    return ([json_safe(v) for v in shown.index], [int(c) for c in shown.to_numpy()],
            int(counts.iloc[top:].sum()))


# ---------------------------------------------------------------------------- data


def distribution_data(frame: pd.DataFrame, column: str, role: str, *,
                      bins: int = HISTOGRAM_BINS, top: int = TOP_LEVELS) -> dict[str, Any]:
    """How one column's values are spread.

    Returns
    -------
    dict
        ``column, role, rows, missing`` and ``kind``: ``"histogram"`` (``edges``, ``counts``,
        ``mean``, ``median``) for numbers and dates (dates as ISO strings), ``"bars"``
        (``labels``, ``counts``, ``other``) for everything else, or ``"empty"``.
    """
    series = frame[column]
    present = series.dropna()
    base = {"column": column, "role": role, "rows": int(len(series)),
            "missing": int(len(series) - len(present))}
    if present.empty:
        return json_safe(base | {"kind": "empty"})
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = present.to_numpy(dtype="datetime64[ns]").view("int64")
        counts, edges = np.histogram(stamps, bins=min(bins, max(1, np.unique(stamps).size)))
        return json_safe(base | {"kind": "histogram", "counts": counts,
                                 "edges": [pd.Timestamp(int(e)).isoformat() for e in edges],
                                 "dates": True})
    if _is_number(series) and role in ("numeric", "identifier") and present.nunique() > top:
        values = present.to_numpy(dtype="float64")
        counts, edges = np.histogram(values, bins=bins)
        return json_safe(base | {"kind": "histogram", "counts": counts, "edges": edges,
                                 "mean": values.mean(), "median": float(np.median(values)),
                                 "dates": False})
    labels, counts, other = _levels(series, top)
    return json_safe(base | {"kind": "bars", "labels": [str(v) for v in labels],
                             "counts": counts, "other": other})


def missing_data(frame: pd.DataFrame, *, pattern_rows: int = PATTERN_ROWS,
                 seed: int = 0) -> dict[str, Any]:
    """Missing values per column, and which values are missing together on a sample of rows.

    Returns
    -------
    dict
        ``rows``, ``complete_rows`` (rows with no missing value), ``columns`` (the
        :data:`MAX_MISSING_COLUMNS` columns missing most, most first: ``column, missing,
        fraction``), ``left_out`` (how many more columns have missing values) and ``pattern``
        (``columns``, ``matrix`` of 0/1 with one row per sampled table row, sorted so rows
        with the same pattern sit together, and ``sampled_rows``) or None when nothing is
        missing.
    """
    missing = frame.isna()
    per_column = missing.sum()
    n = len(frame)
    gaps = per_column[per_column > 0].sort_values(ascending=False, kind="stable")
    shown = gaps.iloc[:MAX_MISSING_COLUMNS]
    columns = [{"column": c, "missing": int(v), "fraction": v / n if n else 0.0}
               for c, v in shown.items()]
    pattern = None
    if columns:
        names = list(shown.index)
        picked, _ = sample_for_plots(missing[names], pattern_rows, seed)
        matrix = picked.to_numpy(dtype="int8")
        order = np.lexsort(matrix.T[::-1])[::-1]
        pattern = {"columns": names, "matrix": matrix[order], "sampled_rows": int(len(picked))}
    return json_safe({"rows": n, "complete_rows": int((~missing.any(axis=1)).sum()),
                      "columns": columns, "left_out": len(gaps) - len(shown),
                      "pattern": pattern})


def correlation_data(frame: pd.DataFrame, columns: list[str], *,
                     method: str = "pearson") -> dict[str, Any] | None:
    """Pairwise correlation of numeric columns (pairwise complete rows).

    At most :data:`MAX_CORRELATION_COLUMNS` columns, those with the fewest missing values.
    Returns None with fewer than two numeric columns; otherwise ``columns``, ``matrix``,
    ``method``, ``left_out`` (how many numeric columns were not shown) and ``top_pairs``
    (the five strongest pairs: ``a, b, r``).
    """
    numeric = [c for c in columns if c in frame.columns and _is_number(frame[c])
               and frame[c].nunique(dropna=True) > 1]
    if len(numeric) < 2:
        return None
    shown = sorted(numeric, key=lambda c: (frame[c].isna().mean(), numeric.index(c)))
    shown = [c for c in numeric if c in set(shown[:MAX_CORRELATION_COLUMNS])]
    matrix = frame[shown].astype("float64").corr(method=method, min_periods=10)
    pairs = []
    for i, a in enumerate(shown):
        for b in shown[i + 1:]:
            r = matrix.loc[a, b]
            if pd.notna(r):
                pairs.append({"a": a, "b": b, "r": float(r)})
    pairs.sort(key=lambda p: -abs(p["r"]))
    return json_safe({"columns": shown, "matrix": matrix.to_numpy(), "method": method,
                      "left_out": len(numeric) - len(shown), "top_pairs": pairs[:5]})


def target_relation_data(frame: pd.DataFrame, feature: str, target: str, *, task: str,
                         feature_role: str, top: int = TARGET_LEVELS) -> dict[str, Any]:
    """One feature against the target, in the shape that shows it best.

    ``kind`` is ``"box"`` (a number against classes: ``groups`` of ``label, values``),
    ``"stacked"`` (a category against classes: ``levels``, ``classes``, ``counts`` and
    ``shares`` per level), ``"scatter"`` (a number against a numeric target: ``x``, ``y`` and a
    ``trend`` of the target's average per quantile bin) or ``"box_by_level"`` (a category
    against a numeric target: ``groups``). Rows missing the target are left out; a missing
    category is its own level, ``(missing)``.
    """
    data = frame[[feature, target]].dropna(subset=[target])
    x, y = data[feature], data[target]
    numeric_feature = _is_number(x) and feature_role in ("numeric", "identifier") \
        and x.nunique() > top
    dates = pd.api.types.is_datetime64_any_dtype(x.dtype)
    if dates:
        x = pd.to_datetime(x)
    base = {"feature": feature, "target": target, "task": task, "rows": int(len(data))}
    if task == "regression":
        y_values = y.to_numpy(dtype="float64")
        if numeric_feature or dates:
            keep = x.notna().to_numpy()
            xs = x[keep]
            trend = _trend(xs.to_numpy(dtype="float64") if not dates else
                           xs.to_numpy(dtype="datetime64[ns]").view("int64").astype("float64"),
                           y_values[keep])
            if dates and trend:
                trend["x"] = [pd.Timestamp(int(v)).isoformat() for v in trend["x"]]
            return json_safe(base | {"kind": "scatter",
                                     "x": [v.isoformat() for v in xs] if dates else xs.to_numpy(),
                                     "y": y_values[keep], "trend": trend})
        levels = _level_labels(x, top)
        groups = [{"label": level, "values": y_values[(levels == level).to_numpy()]}
                  for level in _ordered_levels(levels)]
        return json_safe(base | {"kind": "box_by_level", "groups": groups})
    classes = sorted(y.unique(), key=lambda v: (str(type(v)), v))
    if numeric_feature or dates:
        groups = []
        for c in classes:
            values = x[(y == c).to_numpy()].dropna()
            groups.append({"label": json_safe(c), "values": (
                values.to_numpy(dtype="datetime64[ns]").view("int64") if dates
                else values.to_numpy(dtype="float64"))})
        return json_safe(base | {"kind": "box", "groups": groups, "dates": dates})
    levels = _level_labels(x, top)
    table = pd.crosstab(levels, y).reindex(columns=classes, fill_value=0)
    table = table.loc[_ordered_levels(levels)]
    totals = table.sum(axis=1).replace(0, 1)
    return json_safe(base | {
        "kind": "stacked", "levels": [str(v) for v in table.index],
        "classes": [json_safe(c) for c in classes], "counts": table.to_numpy(),
        "shares": (table.T / totals).T.to_numpy(),
    })


def _level_labels(x: pd.Series, top: int) -> pd.Series:
    """Values as text, missing as ``(missing)``, beyond the ``top`` most frequent as ``(other)``."""
    text = x.astype("object").where(x.notna(), "(missing)").map(str)
    keep = set(text.value_counts().index[:top])
    return text.where(text.isin(keep), "(other)")


def _ordered_levels(levels: pd.Series) -> list[str]:
    """Levels in numeric order when they are all numbers (1, 2, 3), else most frequent first.

    ``(missing)`` and ``(other)`` always come last.
    """
    special = [v for v in ("(missing)", "(other)") if v in set(levels)]
    order = [v for v in levels.value_counts().index if v not in special]
    numbers = pd.to_numeric(pd.Series(order, dtype="object"), errors="coerce")
    if order and numbers.notna().all():
        order = [order[i] for i in np.argsort(numbers.to_numpy(), kind="stable")]
    return order + special


def _trend(x: np.ndarray, y: np.ndarray) -> dict[str, list] | None:
    if x.size < 2 * TREND_BINS:
        return None
    edges = np.unique(np.quantile(x, np.linspace(0, 1, TREND_BINS + 1)))
    if edges.size < 3:
        return None
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
    counts = np.bincount(which, minlength=edges.size - 1)
    sums = np.bincount(which, weights=y, minlength=edges.size - 1)
    centres = np.bincount(which, weights=x, minlength=edges.size - 1)
    ok = counts > 0
    return {"x": list(centres[ok] / counts[ok]), "y": list(sums[ok] / counts[ok])}


# ---------------------------------------------------------------------------- plotly figures


def distribution_figure(data: dict[str, Any]) -> go.Figure | None:
    """A histogram (numbers, dates) or bar chart (categories) of one column."""
    kind = data["kind"]
    if kind == "empty":
        return None
    missing = f" — {format_percent(data['missing'] / data['rows'])} missing" if data["missing"] else ""
    fig = figure(f"Distribution of {data['column']}{missing}", height=360, showlegend=False,
                  bargap=0.05)
    if kind == "histogram":
        edges, counts = data["edges"], data["counts"]
        if data.get("dates"):
            centres = [pd.Timestamp(a) + (pd.Timestamp(b) - pd.Timestamp(a)) / 2
                       for a, b in zip(edges[:-1], edges[1:])]
            fig.add_bar(x=centres, y=counts, marker_color=COLOURS["main"],
                        hovertemplate="%{x}: %{y:,} rows<extra></extra>")
        else:
            centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
            widths = [b - a for a, b in zip(edges[:-1], edges[1:])]
            fig.add_bar(x=centres, y=counts, width=widths, marker_color=COLOURS["main"],
                        customdata=list(zip(edges[:-1], edges[1:])),
                        hovertemplate="%{customdata[0]:.4g} to %{customdata[1]:.4g}: "
                                      "%{y:,} rows<extra></extra>")
            smaller = min(data["mean"], data["median"])
            for value, name, colour in ((data["mean"], "mean", COLOURS["second"]),
                                        (data["median"], "median", COLOURS["good"])):
                # each label on its own side, away from the other line: they never overlap
                left = value == smaller and (name == "median" or data["mean"] != data["median"])
                fig.add_vline(x=value, line=dict(dash="dash", color=colour),
                              annotation_text=f"{name} {format_number(value)}",
                              annotation_position="top left" if left else "top right")
        fig.update_xaxes(title_text=str(data["column"]))
    else:
        labels = list(data["labels"]) + (["(other)"] if data["other"] else [])
        counts = list(data["counts"]) + ([data["other"]] if data["other"] else [])
        fig.add_bar(x=labels, y=counts, marker_color=[COLOURS["main"]] * len(data["labels"])
                    + [COLOURS["muted"]] * (len(labels) - len(data["labels"])),
                    hovertemplate="%{x}: %{y:,} rows<extra></extra>")
        fig.update_xaxes(type="category", title_text=str(data["column"]))
    fig.update_yaxes(title_text="Rows")
    return fig


def missing_bar_figure(data: dict[str, Any]) -> go.Figure | None:
    """Share of missing values per column (only columns with some), most on top."""
    rows = data["columns"]
    if not rows:
        return None
    more = data.get("left_out", 0)
    title = (f"Missing values: the {len(rows)} columns missing most ({more:,} more have gaps)"
             if more else "Missing values per column")
    fig = figure(title, height=max(240, 110 + 26 * len(rows)), showlegend=False)
    fig.add_bar(x=[r["fraction"] for r in rows], y=[str(r["column"]) for r in rows],
                orientation="h", marker_color=[COLOURS["bad"] if r["fraction"] >= 0.4 else
                                               COLOURS["watch"] for r in rows],
                text=[f"{format_percent(r['fraction'])} ({r['missing']:,})" for r in rows],
                textposition="auto",
                hovertemplate="%{y}: %{x:.1%} missing<extra></extra>")
    fig.update_yaxes(autorange="reversed", type="category", automargin=True)
    fig.update_xaxes(title_text="Share of rows missing", tickformat=".0%",
                     range=[0, max(0.05, max(r["fraction"] for r in rows)) * 1.1])
    return fig


def missing_pattern_figure(data: dict[str, Any]) -> go.Figure | None:
    """Which values are missing together: one line per sampled row, dark = missing."""
    pattern = data.get("pattern")
    if not pattern:
        return None
    fig = figure(f"Missing together? ({pattern['sampled_rows']:,} rows; red = missing)",
                  height=380)
    fig.add_heatmap(z=pattern["matrix"], x=[str(c) for c in pattern["columns"]],
                    colorscale=[[0, "#eef2f7"], [1, COLOURS["bad"]]], showscale=False,
                    zmin=0, zmax=1, xgap=2,
                    hovertemplate="%{x}: %{z}<extra></extra>")
    fig.update_xaxes(type="category", side="top")
    fig.update_yaxes(showticklabels=False, title_text="Rows")
    return fig


def correlation_figure(data: dict[str, Any] | None) -> go.Figure | None:
    """Heatmap of correlations from −1 (blue) to 1 (red), values written in small matrices."""
    if not data:
        return None
    names = [str(c) for c in data["columns"]]
    size = len(names)
    matrix = [[float("nan") if v is None else v for v in row] for row in data["matrix"]]
    fig = figure(f"Correlation of numeric columns ({data['method'].capitalize()})",
                  height=max(360, 140 + 28 * size))
    fig.add_heatmap(z=matrix, x=names, y=names, zmin=-1, zmax=1, colorscale="RdBu_r",
                    text=[[("" if v != v else f"{v:.2f}") for v in row] for row in matrix],
                    texttemplate="%{text}" if size <= 15 else None,
                    hovertemplate="%{y} × %{x}: r = %{z:.3f}<extra></extra>",
                    colorbar=dict(title=dict(text="r"), thickness=12))
    fig.update_xaxes(type="category", tickangle=-45, automargin=True)
    fig.update_yaxes(type="category", autorange="reversed", automargin=True)
    return fig


def target_relation_figure(data: dict[str, Any], *, violin: bool = False) -> go.Figure | None:
    """Draw :func:`target_relation_data`: boxes/violins, stacked shares or a scatter."""
    kind, feature, target = data["kind"], str(data["feature"]), str(data["target"])
    if kind in ("box", "box_by_level"):
        groups = [g for g in data["groups"] if g["values"]]
        if not groups:
            return None
        title = (f"{feature} by {target}" if kind == "box" else f"{target} by {feature}")
        fig = figure(title, height=400, showlegend=False)
        for i, group in enumerate(groups):
            colour = CLASS_COLOURS[i % len(CLASS_COLOURS)] if kind == "box" else COLOURS["main"]
            values = group["values"]
            if data.get("dates"):
                values = [pd.Timestamp(int(v)) for v in values]
            common = dict(y=values, name=str(group["label"]), marker_color=colour,
                          hoverinfo="y+name")
            if violin:
                fig.add_violin(**common, box_visible=True, meanline_visible=True, points=False)
            else:
                fig.add_box(**common, boxmean=True, boxpoints="outliers")
        fig.update_xaxes(type="category", title_text=target if kind == "box" else feature)
        fig.update_yaxes(title_text=feature if kind == "box" else target)
        return fig
    if kind == "stacked":
        fig = figure(f"Share of each {target} value within {feature}", height=400,
                      barmode="stack", legend=dict(title=dict(text=target)))
        levels = data["levels"]
        for k, label in enumerate(data["classes"]):
            fig.add_bar(x=levels, y=[row[k] for row in data["shares"]], name=str(label),
                        marker_color=CLASS_COLOURS[k % len(CLASS_COLOURS)],
                        customdata=[row[k] for row in data["counts"]],
                        hovertemplate="%{x}: %{y:.0%} (%{customdata:,} rows)"
                                      "<extra>%{fullData.name}</extra>")
        fig.update_xaxes(type="category", title_text=feature)
        fig.update_yaxes(title_text="Share of rows", tickformat=".0%", range=[0, 1])
        return fig
    if not data["x"]:
        return None
    fig = figure(f"{target} against {feature}", height=420,
                  legend=dict(x=0.01, y=0.99))
    fig.add_scattergl(x=data["x"], y=data["y"], mode="markers", name="rows",
                      marker=dict(size=5, opacity=0.35, color=COLOURS["main"]),
                      hovertemplate="%{x}<br>%{y:.4g}<extra></extra>")
    if data.get("trend"):
        fig.add_scatter(x=data["trend"]["x"], y=data["trend"]["y"], mode="lines+markers",
                        name="average per bin", line=dict(color=COLOURS["second"], width=3))
    fig.update_xaxes(title_text=feature)
    fig.update_yaxes(title_text=target)
    return fig


def signal_figure(report: dict[str, Any], *, top: int = 25) -> go.Figure | None:
    """Predictive power per feature (from :func:`core.explore._signal.assess_signal`), with chance."""
    rows = report.get("features") or []
    if not rows:
        return None
    shown = rows[:top]
    bars = [("all features together", report["together"]["power"])] if report.get("together") else []
    bars += [(str(r["column"]), r["power"]) for r in shown]
    fig = figure("Predictive power (0 = guessing, 1 = perfect)", height=max(260, 110 + 26 * len(bars)),
                  showlegend=False)
    fig.add_bar(x=[b[1] for b in bars], y=[b[0] for b in bars], orientation="h",
                marker_color=[COLOURS["second"] if i == 0 and report.get("together") else
                              COLOURS["main"] if b[1] > report["chance"] else COLOURS["muted"]
                              for i, b in enumerate(bars)],
                hovertemplate="%{y}: %{x:.2f}<extra></extra>")
    fig.add_vline(x=report["chance"], line=dict(dash="dash", color=COLOURS["muted"]),
                  annotation_text=f"chance ({report['chance']:.2f})",
                  annotation_position="top right")
    fig.update_yaxes(autorange="reversed", type="category", automargin=True)
    fig.update_xaxes(range=[0, 1], title_text="Power")
    return fig


# ---------------------------------------------------------------------------- bokeh


def linked_scatter(frame: pd.DataFrame, *, first: tuple[str, str], second: tuple[str, str],
                   colour_by: str | None = None, points: int = LINKED_POINTS,
                   seed: int = 0) -> tuple[Any, str | None]:
    """Two scatter plots sharing one data source: select points in one, see them in the other.

    Both plots read the same ``ColumnDataSource``, so a box or lasso selection in either
    highlights the same rows in both (bokeh's linked brushing). Points are coloured by
    ``colour_by`` (e.g. the target, at most 10 colours; more values share colours).

    Returns
    -------
    layout : bokeh.models.GridPlot
    note : str or None
        Says so when a sample of ``points`` rows is drawn.
    """
    # bokeh takes a second to import and only this linked view uses it.
    from bokeh.layouts import gridplot
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.plotting import figure

    columns = list(dict.fromkeys([*first, *second] + ([colour_by] if colour_by else [])))
    data, note = sample_for_plots(frame[columns], points, seed)
    if note:
        note = note.replace("Charts show", "The linked plots show").replace(
            "plot_sample_rows", "LINKED_POINTS in core/eda.py")
    source_data = {f"c{i}": data[c].to_numpy() for i, c in enumerate(columns)}
    key = {c: f"c{i}" for i, c in enumerate(columns)}
    if colour_by:
        labels = data[colour_by].astype("object").where(data[colour_by].notna(), "(missing)").map(str)
        order = list(labels.value_counts().index)
        palette = {label: CLASS_COLOURS[i % len(CLASS_COLOURS)] for i, label in enumerate(order)}
        source_data["colour"] = labels.map(palette).to_numpy()
        source_data["label"] = labels.to_numpy()
    else:
        source_data["colour"] = np.full(len(data), COLOURS["main"])
        source_data["label"] = np.full(len(data), "")
    source = ColumnDataSource(source_data)
    tools = "box_select,lasso_select,pan,wheel_zoom,reset"
    plots = []
    for x, y in (first, second):
        plot = figure(height=LINKED_ASPECT[1] - 30, sizing_mode="stretch_width", tools=tools,
                      active_drag="box_select", title=f"{y} against {x}",
                      output_backend="webgl")
        legend = {"legend_field": "label"} if colour_by and not plots else {}
        plot.scatter(key[x], key[y], source=source, size=6, color="colour", alpha=0.6,
                     selection_color="colour", selection_alpha=0.95,
                     nonselection_color="#c8ccd4", nonselection_alpha=0.25, **legend)
        if legend:
            plot.legend.title = str(colour_by)
            plot.legend.location = "top_right"
            plot.legend.background_fill_alpha = 0.7
        plot.xaxis.axis_label = str(x)
        plot.yaxis.axis_label = str(y)
        plot.add_tools(HoverTool(tooltips=[(str(x), f"@{key[x]}"), (str(y), f"@{key[y]}")]
                                 + ([(str(colour_by), "@label")] if colour_by else [])))
        plots.append(plot)
    # streamlit-bokeh scales the root to the page width keeping width:height; without a size
    # of its own the root would be square, leaving a tall gap under the plots.
    grid = gridplot([plots], sizing_mode="stretch_width", merge_tools=True,
                    toolbar_location="right")
    grid.width, grid.height = LINKED_ASPECT
    return grid, note


# ---------------------------------------------------------------------------- text


