"""The house style of every plotly figure tabwright draws: colours, layout, a titled figure.

Exploration charts (:mod:`core.explore`), evaluation charts (:mod:`core.evaluate`) and
drift charts (:mod:`core.deliver`) all start from :func:`figure`, so the pages and the
HTML report look the same. Labels are passed to plotly as data; plotly still reads a few
HTML tags in any text it draws (``<b>``, ``<a href>``), so every figure is shown through
:func:`escaped`, which makes a user's column names and values literal text.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
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


_OWN_MARKUP = frozenset({"hovertemplate", "texttemplate", "template"})
"""Keys whose text is tabwright's own markup (``<br>``, ``<extra>``) and the layout template:
left as they are. User text in a hover template is escaped where the template is written."""


def escaped(fig: go.Figure) -> go.Figure:
    """``fig`` with ``&``, ``<`` and ``>`` escaped in every text it draws: titles, axis and tick
    labels, trace names, categories, cell texts, hover data. plotly renders ``&lt;b&gt;`` as
    the literal ``<b>``, so a column named ``<a href="...">x</a>`` shows as typed instead of
    as a link.

    >>> fig = figure("Distribution of <b>x</b>")
    >>> escaped(fig).layout.title.text
    'Distribution of &lt;b&gt;x&lt;/b&gt;'
    """
    return go.Figure(_escape(fig.to_plotly_json()), skip_invalid=True)


def escape_text(value: Any) -> str:
    """One label for plotly markup that tabwright writes itself (a hover template)."""
    return html.escape(as_text(value), quote=False)


def _escape(value: Any) -> Any:
    if isinstance(value, str):
        return html.escape(value, quote=False) if ("<" in value or ">" in value or "&" in value) \
            else value
    if isinstance(value, dict):
        return {k: v if k in _OWN_MARKUP else _escape(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_escape(v) for v in value]
    if isinstance(value, np.ndarray) and value.dtype.kind in "OUS":
        return np.array([_escape(v) for v in value.ravel().tolist()],
                        dtype=object).reshape(value.shape)
    return value
