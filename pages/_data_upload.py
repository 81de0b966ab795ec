"""The Data page's upload: read a file once, and offer a workbook's other sheets.

An upload is let go once read (see ``_state.release_upload``). A workbook with several
sheets keeps its bytes in the session instead, so choosing another sheet reads that sheet
from them; they are let go when other data is loaded.
"""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from core.errors import TabwrightError
from core.formatting import escape_markdown
from core.ingest import LoadedTable, read_table
from core.project import Project, load_data
from pages import _state

UPLOAD_TYPES = ["csv", "tsv", "txt", "gz", "zip", "xlsx", "xlsm", "parquet"]


@st.cache_data(show_spinner="Reading the file…", max_entries=8)
def _read_once(digest: str, name: str, _data: bytes) -> LoadedTable:
    return read_table(_data, name=name)


def read_uploaded(uploaded: Any) -> LoadedTable:
    """An uploaded file read once per content (the Use page's files stay uploaded, so the
    page reads them on every rerun otherwise)."""
    data = uploaded.getvalue()
    return _read_once(hashlib.sha256(data).hexdigest(), uploaded.name, data)


def on_upload(key: str) -> None:
    """Read a newly uploaded file, once: Streamlit calls this only when the upload changes.
    Then the upload itself is let go (the loaded table is what the app keeps)."""
    uploaded = _state.widget_value(key)
    if uploaded is None:
        return
    try:
        _read_upload(uploaded)
    finally:
        _state.release_upload(key)


def _read_upload(uploaded: Any) -> None:
    raw = uploaded.getvalue()
    project = _state.project()
    if project.table is not None and hashlib.sha256(raw).hexdigest() == project.table.fingerprint:
        _state.flash("info", "That file is already loaded.")
        return
    try:
        updated = load_data(project, raw, name=uploaded.name)
    except TabwrightError as exc:
        _flash_error(exc, kept=project.table is not None)
        return
    table = updated.table
    _state.keep_workbook(table.fingerprint, raw if len(table.sheets) > 1 else None)
    _state.set_project(updated)
    _state.flash("success", f"Loaded {escape_markdown(uploaded.name)}: {table.summary()}.")


def sheet_chooser(project: Project) -> None:
    """For a workbook with several sheets: a choice of sheet that reads the one chosen."""
    table = project.table
    if len(table.sheets) < 2:
        return
    if _state.kept_workbook(table.fingerprint) is None:
        _state.keep_workbook(None, None)  # bytes of another workbook: let them go
        st.caption(f"Sheet {escape_markdown(table.sheet)} of {len(table.sheets)}; upload the "
                   "workbook again to read another of its sheets.")
        return
    key = f"sheet_{table.fingerprint[:16]}"
    st.selectbox("Sheet", table.sheets, index=table.sheets.index(table.sheet), key=key,
                 on_change=_on_sheet, args=(key,),
                 help="This workbook has several sheets: choose the one that holds your table. "
                      "Reading another sheet starts a new project (your brief is kept).")


def _on_sheet(key: str) -> None:
    project = _state.project()
    table, choice = project.table, _state.widget_value(key)
    raw = _state.kept_workbook(table.fingerprint)
    if raw is None or choice == table.sheet:
        return
    try:
        updated = load_data(project, raw, name=table.name, sheet=choice)
    except TabwrightError as exc:
        _state.forget_widget(key)  # the choice goes back to the sheet still loaded
        _flash_error(exc, kept=True)
        return
    _state.keep_workbook(updated.table.fingerprint, raw)
    _state.set_project(updated)
    _state.flash("success", f"Read sheet {escape_markdown(choice)}: {updated.table.summary()}.")


def _flash_error(exc: TabwrightError, *, kept: bool) -> None:
    hint = f"\n\n{escape_markdown(exc.hint)}" if exc.hint else ""
    also = " Your previous data and choices are kept." if kept else ""
    _state.flash("error", f"**{escape_markdown(exc.message)}**{hint}{also}")
