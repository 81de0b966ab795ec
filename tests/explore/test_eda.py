"""Exploratory chart data and the figures drawn from it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from core.explore import eda


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(50, 10, n)
    return pd.DataFrame({
        "x": x,
        "x_copy": x * 2 + 1,
        "noise": rng.normal(size=n),
        "city": rng.choice(["Oslo", "Rome", "<b>Lima</b>"], n),
        "when": pd.date_range("2020-01-01", periods=n, freq="D"),
        "gap": np.where(np.arange(n) % 4 == 0, np.nan, 1.0),
        "label": np.where(x > 50, "high", "low"),
        "amount": x * 3 + rng.normal(size=n),
    })


def test_sample_for_plots_is_seeded_ordered_and_says_so(frame):
    sample, note = eda.sample_for_plots(frame, 100)
    again, _ = eda.sample_for_plots(frame, 100)
    assert len(sample) == 100 and sample.index.equals(again.index)
    assert sample.index.is_monotonic_increasing
    assert note == "Charts show a random sample of 100 of 400 rows (limit plot_sample_rows)."
    whole, none = eda.sample_for_plots(frame, 400)
    assert whole is frame and none is None


def test_distribution_data_for_numbers_categories_dates_and_nothing(frame):
    numbers = eda.distribution_data(frame, "x", "numeric")
    assert numbers["kind"] == "histogram" and sum(numbers["counts"]) == 400
    assert len(numbers["edges"]) == eda.HISTOGRAM_BINS + 1
    assert numbers["mean"] == pytest.approx(frame["x"].mean())
    cities = eda.distribution_data(frame, "city", "categorical", top=2)
    assert cities["kind"] == "bars" and len(cities["labels"]) == 2
    assert sum(cities["counts"]) + cities["other"] == 400
    dates = eda.distribution_data(frame, "when", "datetime")
    assert dates["kind"] == "histogram" and dates["dates"] and dates["edges"][0].startswith("2020-01-01")
    gaps = eda.distribution_data(frame.assign(gap=np.nan), "gap", "numeric")
    assert gaps == {"column": "gap", "role": "numeric", "rows": 400, "missing": 400, "kind": "empty"}
    assert eda.distribution_figure(gaps) is None
    for data in (numbers, cities, dates):
        json.dumps(data, allow_nan=False)
        assert isinstance(eda.distribution_figure(data), go.Figure)


def test_mean_and_median_labels_sit_on_their_own_sides(frame):
    """The smaller of the two is labelled on its left, the larger on its right: close values
    ("median 0.0307", "mean -0.0736") no longer print over each other."""
    data = eda.distribution_data(frame, "x", "numeric")
    for mean, median in ((-0.07, 0.03), (0.03, -0.07), (0.5, 0.5)):
        fig = eda.distribution_figure({**data, "mean": mean, "median": median})
        sides = {a.text.split()[0]: a.xanchor for a in fig.layout.annotations}
        if mean < median:
            assert sides == {"mean": "right", "median": "left"}
        else:
            assert sides == {"mean": "left", "median": "right"}


def test_missing_data_counts_and_groups_the_pattern(frame):
    data = eda.missing_data(frame, pattern_rows=40)
    assert data["columns"] == [{"column": "gap", "missing": 100, "fraction": 0.25}]
    assert data["complete_rows"] == 300
    pattern = data["pattern"]
    assert pattern["columns"] == ["gap"] and pattern["sampled_rows"] == 40
    flags = [row[0] for row in pattern["matrix"]]
    assert flags == sorted(flags, reverse=True)  # rows with the same pattern sit together
    assert isinstance(eda.missing_bar_figure(data), go.Figure)
    assert isinstance(eda.missing_pattern_figure(data), go.Figure)
    clean = eda.missing_data(frame.drop(columns="gap"))
    assert clean["columns"] == [] and clean["pattern"] is None
    assert eda.missing_bar_figure(clean) is None


def test_correlation_data_finds_the_copy_and_needs_two_columns(frame):
    data = eda.correlation_data(frame, ["x", "x_copy", "noise", "city"])
    assert data["columns"] == ["x", "x_copy", "noise"]
    assert data["top_pairs"][0] == {"a": "x", "b": "x_copy", "r": pytest.approx(1.0)}
    figure = eda.correlation_figure(data)
    assert figure.data[0].zmin == -1 and list(figure.data[0].x) == ["x", "x_copy", "noise"]
    assert eda.correlation_data(frame, ["x", "city"]) is None
    assert eda.correlation_figure(None) is None


@pytest.mark.parametrize("feature, role, target, task, kind, trace", [
    ("x", "numeric", "label", "binary", "box", "box"),
    ("city", "categorical", "label", "binary", "stacked", "bar"),
    ("x", "numeric", "amount", "regression", "scatter", "scattergl"),
    ("city", "categorical", "amount", "regression", "box_by_level", "box"),
    ("when", "datetime", "label", "binary", "box", "box"),
])
def test_target_relation_picks_the_right_view(frame, feature, role, target, task, kind, trace):
    data = eda.target_relation_data(frame, feature, target, task=task, feature_role=role)
    assert data["kind"] == kind
    json.dumps(data, allow_nan=False)
    figure = eda.target_relation_figure(data)
    assert figure.data[0].type == trace
    if kind == "stacked":
        assert all(sum(row) == pytest.approx(1.0) for row in data["shares"])
        assert "<b>Lima</b>" in data["levels"]  # names stay data; plotly escapes them
    if kind == "scatter":
        assert len(data["trend"]["x"]) == eda.TREND_BINS
        assert figure.data[1].name == "average per bin"


def test_violins_replace_boxes_on_request(frame):
    data = eda.target_relation_data(frame, "x", "label", task="binary", feature_role="numeric")
    figure = eda.target_relation_figure(data, violin=True)
    assert [t.type for t in figure.data] == ["violin", "violin"]
    assert sorted(t.name for t in figure.data) == ["high", "low"]


def test_signal_figure_draws_power_with_the_chance_line():
    report = {"features": [{"column": "a", "power": 0.6}, {"column": "b", "power": 0.01}],
              "together": {"power": 0.7}, "chance": 0.05}
    figure = eda.signal_figure(report)
    assert list(figure.data[0].y) == ["all features together", "a", "b"]
    assert figure.layout.shapes[0].x0 == 0.05
    assert eda.signal_figure({"features": [], "chance": 0.0}) is None


def test_linked_scatter_shares_one_source_between_both_plots(frame):
    layout, note = eda.linked_scatter(frame, first=("x", "noise"), second=("amount", "x"),
                                      colour_by="label", points=100)
    plots = [child[0] for child in layout.children]  # (plot, row, column)
    assert len(plots) == 2
    sources = {id(r.data_source) for p in plots for r in p.renderers}
    assert len(sources) == 1  # one ColumnDataSource: selecting in one highlights in the other
    source = plots[0].renderers[0].data_source
    assert len(source.data["c0"]) == 100 and set(source.data["label"]) == {"high", "low"}
    tools = {type(t).__name__ for t in plots[0].tools}
    assert {"BoxSelectTool", "LassoSelectTool"} <= tools
    assert "100 of 400 rows" in note
