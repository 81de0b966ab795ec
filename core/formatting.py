"""Small helpers every stage uses to show values: plain JSON data, numbers and text in words.

:func:`json_safe` turns numpy and pandas values into plain JSON data (NaN and infinity become
``None``), which is how every result, report and model card is kept; :func:`format_number` and
:func:`format_percent` write numbers as a person would; :func:`escape_markdown` makes text from
the data safe to put in Markdown.
"""

from __future__ import annotations

import datetime as _dt
import math
import re

import numpy as np
import pandas as pd


def json_safe(value: object) -> object:
    """Turn a value into plain JSON data: numpy scalars to Python, NaN and ±inf to None.

    Tuples, arrays and pandas indexes and series become lists, dict keys become strings,
    timestamps become ISO strings, missing values (``None``, ``pd.NA``, ``NaT``) become
    ``None``, and anything else becomes its ``str``.

    Examples
    --------
    >>> json_safe({"a": (np.int64(1), float("nan"))})
    {'a': [1, None]}
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray, pd.Index, pd.Series)):
        return [json_safe(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date)):
        return None if pd.isna(value) else value.isoformat()
    return str(value)


def format_number(x: float) -> str:
    """A number as a person would write it: ``891``, ``2015``, ``15,634,602``, ``7.25``.

    Examples
    --------
    >>> [format_number(v) for v in (2015, 15634602, 7.25, 0.01234)]
    ['2015', '15,634,602', '7.25', '0.0123']
    """
    x = float(x)
    if not math.isfinite(x) or abs(x) >= 1e15:
        return f"{x:.3g}"
    if x == int(x):
        return f"{int(x):,}" if abs(x) >= 10_000 else str(int(x))
    if abs(x) >= 1:
        return f"{x:,.2f}".rstrip("0").rstrip(".")
    return f"{x:.3g}"


def format_percent(share: float) -> str:
    """A 0–1 share as a percentage with the precision it deserves: ``12%``, ``0.4%``, ``99.6%``.

    Examples
    --------
    >>> [format_percent(v) for v in (0.117, 0.004, 0.9962, 0.00002)]
    ['12%', '0.4%', '99.6%', '<0.01%']
    """
    if 0.01 <= share <= 0.99 or share in (0.0, 1.0):
        return f"{share:.0%}"
    if 0.001 <= share <= 0.999:
        return f"{share:.1%}"
    if share < 0.0001:
        return "<0.01%"
    return ">99.99%" if share > 0.9999 else f"{share:.2%}"



def shorten(text: str, limit: int = 40) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, for a message or a label (a cell
    can hold 100,000 characters).

    >>> shorten("x" * 50, 10)
    'xxxxxxxxx…'
    """
    return text if len(text) <= limit else text[:limit - 1] + "…"


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=^])")


def escape_markdown(text: object) -> str:
    """Text from the data (a file or column name, a value) made safe to put in Markdown.

    Every Markdown and Streamlit markup character is backslash-escaped (``$`` would start
    LaTeX, ``:red[`` colour text), and line breaks become spaces, so the text reads exactly as
    it is and cannot format the page or add links.

    Examples
    --------
    >>> escape_markdown("**$12** [x](y)")
    '\\\\*\\\\*\\\\$12\\\\*\\\\* \\\\[x\\\\]\\\\(y\\\\)'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))

