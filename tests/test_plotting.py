"""Tests for core.plotting: the house figure, labels as text, and bar chart heights."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from core.plotting import (
    COLOURS,
    LAYOUT,
    MAX_BARS,
    as_text,
    bar_chart_height,
    escaped,
    figure,
)


def test_figure_has_the_title_and_the_house_layout():
    fig = figure("Leaderboard")
    assert isinstance(fig, go.Figure)
    assert fig.layout.title.text == "Leaderboard"
    assert fig.layout.title.x == 0.01
    assert fig.layout.margin.l == 10 and fig.layout.margin.t == 50
    assert fig.layout.font.size == 13
    assert fig.layout.hoverlabel.namelength == -1
    assert LAYOUT["template"] == "plotly_white"
    assert fig.layout.template == pio.templates["plotly_white"]
    assert len(fig.data) == 0


def test_figure_layout_arguments_go_on_top_of_the_house_style():
    fig = figure("Drift", height=400, showlegend=False, margin={"l": 80})
    assert fig.layout.height == 400 and fig.layout.showlegend is False
    assert fig.layout.margin.l == 80
    assert fig.layout.margin.r == 10  # the rest of the house margin stays


def test_figures_are_independent():
    first = figure("A")
    first.add_bar(x=[1], y=["a"])
    assert len(figure("B").data) == 0
    assert figure("B").layout.title.text == "B"


def test_as_text():
    assert as_text(None) == ""
    assert as_text(3) == "3" and as_text(2.5) == "2.5"
    assert as_text("<b>x</b>") == "<b>x</b>"  # passed as data, never interpreted here
    assert as_text(False) == "False"


def test_bar_chart_height_has_a_floor_and_grows_per_bar():
    assert bar_chart_height(0) == 260 and bar_chart_height(1) == 260
    assert bar_chart_height(5) == 260  # 120 + 140 = 260
    assert bar_chart_height(6) == 288
    assert bar_chart_height(MAX_BARS) == 120 + 28 * MAX_BARS
    assert bar_chart_height(11) - bar_chart_height(10) == 28


def test_colours_are_hex():
    assert {"main", "good", "watch", "bad", "muted"} <= set(COLOURS)
    assert all(c.startswith("#") and len(c) == 7 for c in COLOURS.values())


def test_escaped_makes_user_text_literal_and_keeps_tabwrights_own_markup():
    fig = figure('Distribution of <a href="https://example.com">click</a>')
    fig.add_bar(x=np.array(["<b>x</b>", "a & b", "plain"], dtype=object), y=[1, 2, 3],
                name="<i>ok</i>", customdata=[["<i>ok</i>", 1]] * 3,
                hovertemplate="%{x}<br>%{y} rows<extra></extra>")
    fig.update_xaxes(title_text="<b>x</b>", ticktext=["<sup>1</sup>"], tickvals=[0])
    safe = escaped(fig)
    assert safe.layout.title.text == ('Distribution of &lt;a href="https://example.com"&gt;click'
                                      '&lt;/a&gt;')
    assert list(safe.data[0].x) == ["&lt;b&gt;x&lt;/b&gt;", "a &amp; b", "plain"]
    assert safe.data[0].name == "&lt;i&gt;ok&lt;/i&gt;"
    assert safe.data[0].customdata[0][0] == "&lt;i&gt;ok&lt;/i&gt;"
    assert safe.data[0].hovertemplate == "%{x}<br>%{y} rows<extra></extra>"  # ours, kept
    assert safe.layout.xaxis.title.text == "&lt;b&gt;x&lt;/b&gt;"
    assert safe.layout.xaxis.ticktext == ("&lt;sup&gt;1&lt;/sup&gt;",)
    assert fig.layout.title.text.startswith("Distribution of <a")  # the original is untouched
