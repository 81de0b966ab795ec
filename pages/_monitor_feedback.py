"""The Monitor page's outcomes upload: a file of prediction ids and true values becomes feedback."""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from core.errors import TabwrightError
from core.formatting import escape_markdown
from core.ingest import LoadedTable, read_table
from core.monitor import add_outcomes, outcome_columns
from pages import _data_upload, _ui


@st.cache_data(show_spinner="Reading the file…", max_entries=4)
def _read(digest: str, name: str, _data: bytes) -> LoadedTable:
    return read_table(_data, name=name)


def outcomes_section(card: dict[str, Any]) -> None:
    """Upload true outcomes for logged predictions; show what was kept and what was not."""
    st.subheader("Send true outcomes")
    _ui.explain("Each prediction the server answered has an id (the `ids` in its response; "
                "`tabwright predict --log` writes them in an `id` column). A file with those ids "
                "and what really happened lets tabwright measure the model instead of estimating it.")
    uploaded = st.file_uploader("A CSV, Excel or Parquet file with an id column and a true-value "
                                "column", type=_data_upload.UPLOAD_TYPES, key="monitor_outcomes")
    if uploaded is None:
        return
    data = uploaded.getvalue()
    try:
        table = _read(hashlib.sha256(data).hexdigest(), uploaded.name, data)
        columns = [str(c) for c in table.frame.columns]
        ids, actual = _guess(table, card)
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    left, right = st.columns(2)
    id_column = left.selectbox("Id column", columns, index=columns.index(ids) if ids in columns else 0,
                               key="monitor_id_column")
    actual_column = right.selectbox("True value column", columns,
                                    index=columns.index(actual) if actual in columns else 0,
                                    key="monitor_actual_column")
    if not st.button("Add these outcomes", type="primary", key="monitor_add_outcomes"):
        return
    try:
        counts = add_outcomes(card, table.frame, id_column=id_column, actual_column=actual_column)
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    kept = f"{counts['accepted']:,} of {counts['rows']:,} outcomes added."
    (st.success if counts["accepted"] == counts["rows"] else st.warning)(kept)
    for message in counts["messages"]:
        st.caption(f"⚠️ {escape_markdown(message)}")


def _guess(table: LoadedTable, card: dict[str, Any]) -> tuple[str | None, str | None]:
    """The id and value columns a file most likely has (None where no usual name fits)."""
    try:
        return outcome_columns(table.frame, card)
    except TabwrightError:
        columns = [str(c) for c in table.frame.columns]
        return (columns[0] if columns else None), (columns[-1] if columns else None)
