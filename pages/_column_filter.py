"""A filter box and pages for long lists: a wide table's 5,000 columns are searched, not scrolled.

Tables and lists up to :data:`FILTER_FROM` entries are shown whole, as before; longer ones get
a filter box (part of a name, any case) and show :data:`PAGE_ROWS` matches at a time, so a
rerun draws a page, not the whole list. Used by the Explore page's findings, and by the Data
page's role table and the Prepare page's column table.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence

import pandas as pd
import streamlit as st

FILTER_FROM = 60
"""Entries from which a list gets a filter box and pages."""
PAGE_ROWS = 50
"""Entries shown at a time on a long list."""


def matching(names: Sequence[str], text: str) -> list[int]:
    """Positions of the names that contain ``text`` (any case; every name when empty)."""
    wanted = text.strip().casefold()
    return [i for i, name in enumerate(names) if wanted in str(name).casefold()]


def shown_positions(names: Sequence[str], *, key: str, noun: str = "columns") -> list[int]:
    """Positions of the entries to draw: all of a short list; on a long one, one page of those
    whose name matches the filter box."""
    if len(names) <= FILTER_FROM:
        return list(range(len(names)))
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    text = left.text_input(f"Filter {noun}", key=f"{key}_filter", placeholder="part of a name",
                           help=f"{len(names):,} {noun}: type part of a name to find one.")
    found = matching(names, text)
    pages = max(1, math.ceil(len(found) / PAGE_ROWS))
    # The filter is part of the key, so a new filter starts again on its first page.
    page = right.number_input("Page", min_value=1, max_value=pages, step=1,
                              key=f"{key}_page_{text.strip().casefold()}") if pages > 1 else 1
    start = (int(page) - 1) * PAGE_ROWS
    shown = found[start:start + PAGE_ROWS]
    st.caption(f"{len(found):,} of {len(names):,} {noun} match"
               + (f"; showing {start + 1:,}–{start + len(shown):,}." if shown else "."))
    return shown


def filtered(table: pd.DataFrame, *, key: str, column: str = "Column") -> pd.DataFrame:
    """The rows of a per-column table to draw (see :func:`shown_positions`)."""
    return table.iloc[shown_positions(list(table[column]), key=key)]


def editor_key(prefix: str, table: pd.DataFrame, column: str = "Column") -> str:
    """A ``st.data_editor`` key for this page of the table: an editor remembers its edits by row
    position, so another filter or page must be another editor."""
    names = "\x00".join(map(str, table[column]))
    return f"{prefix}_{hashlib.sha256(names.encode()).hexdigest()[:16]}"


def merged(earlier: dict[str, str], edited: dict[str, str], shown: Iterable[str]) -> dict[str, str]:
    """Per-column choices for every column: the edited table's for the columns it showed, the
    earlier ones for the columns the filter hid."""
    visible = set(shown)
    return {**{c: v for c, v in earlier.items() if c not in visible}, **edited}
