"""Use page: a model trained on joined tables predicts a file joined the same way.

Its inputs include columns made from related tables (a customer's orders), so a new file
needs those tables too; :func:`core.ingest.joined_table` joins them exactly as in training,
with the recipe's keys, features and cutoff.
"""

from __future__ import annotations

import streamlit as st

from core.errors import TabwrightError
from core.formatting import escape_markdown
from core.ingest import LoadedTable, describe_joins, joined_table
from core.recipe import Recipe
from pages import _data_upload, _ui


@st.cache_data(show_spinner="Joining…", max_entries=4)
def _join(key: str, _table: LoadedTable, _related: dict[str, LoadedTable], _recipe: Recipe
          ) -> tuple[LoadedTable, tuple]:
    return joined_table(_table, _related, _recipe.joins)


def with_related(table: LoadedTable, recipe: Recipe) -> LoadedTable | None:
    """``table`` joined with the related tables the model was trained with (asked for here),
    or ``table`` itself for a model of one table; ``None`` while a table is missing."""
    if not recipe.joins:
        return table
    _ui.explain("This model's inputs include columns made from "
                + ", ".join(escape_markdown(j.name) for j in recipe.joins)
                + ": add the same tables, and they are joined as in training.")
    related: dict[str, LoadedTable] = {}
    for join in recipe.joins:
        uploaded = st.file_uploader(f"The {join.name} table", type=_data_upload.UPLOAD_TYPES,
                                    key=f"use_related_{join.name}")
        if uploaded is None:
            continue
        try:
            related[join.name] = _data_upload.read_uploaded(uploaded)
        except TabwrightError as exc:
            _ui.show_error(exc)
            return None
    if len(related) < len(recipe.joins):
        st.info("Waiting for " + ", ".join(escape_markdown(j.name) for j in recipe.joins
                                           if j.name not in related) + ".", icon="📎")
        return None
    key = table.fingerprint + "".join(t.fingerprint for t in related.values())
    try:
        joined, reports = _join(key, table, related, recipe)
    except TabwrightError as exc:
        _ui.show_error(exc)
        return None
    for line in describe_joins(recipe.joins, list(reports)):
        st.caption(escape_markdown(line))
    for report in reports:
        for warning in report.warnings:
            st.warning(escape_markdown(warning), icon="⚠️")
    return joined
