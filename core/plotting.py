"""The house style of every plotly figure tabwright draws: colours, layout, a titled figure.

Exploration charts (:mod:`core.explore`), evaluation charts (:mod:`core.evaluate`) and
drift charts (:mod:`core.deliver`) all start from :func:`figure`, so the pages and the
HTML report look the same. Labels are passed to plotly as data, never as HTML.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

COLOURS = {"main": "#3366cc", "second": "#dc7633", "good": "#2e8b57", "watch": "#e6a700",
           "bad": "#c0392b", "muted": "#999999"}
LAYOUT = dict(template="plotly_white", margin=dict(l=10, r=10, t=50, b=10),
              font=dict(size=13), hoverlabel=dict(namelength=-1))
MAX_BARS = 30
"""Most bars in a ranked bar chart (leaderboard, importance, drift); the rest are summarised."""


def figure(title: str, **layout: Any) -> go.Figure:
    """An empty figure in the house style, titled ``title``, with ``layout`` on top."""
    fig = go.Figure()
    fig.update_layout(title=dict(text=title, x=0.01), **LAYOUT)
    fig.update_layout(**layout)
    return fig


def as_text(value: Any) -> str:
    """A label for plotly: ``""`` for None, else ``str(value)``."""
    return "" if value is None else str(value)


def bar_chart_height(n_bars: int) -> int:
    """Pixels for a horizontal bar chart of ``n_bars`` bars."""
    return max(260, 120 + 28 * n_bars)
