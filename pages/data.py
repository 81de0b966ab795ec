"""Data: upload a file or pick a sample, see how it was read, and check what each column is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import streamlit as st

from core import settings as limits_module
from core.formatting import escape_markdown, format_percent
from core.ingest import ROLE_HELP, role_overrides, role_table
from core.project import Project, load_data, set_target, update_recipe
from core.recipe import ROLES
from pages import _column_filter, _data_sql, _data_upload, _state, _ui
from pages._data_join import join_section

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"
PREVIEW_ROWS = 20


def _samples() -> list[dict[str, Any]]:
    return json.loads((SAMPLE_DIR / "samples.json").read_text(encoding="utf-8"))


def _size_in_words(n_bytes: int) -> str:
    for unit, size in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if n_bytes >= size:
            return f"{n_bytes / size:,.3g} {unit}"
    return f"{n_bytes:,} bytes"


def _table_height(rows: int, most: int = 20) -> int:
    """Pixels for a table showing up to ``most`` rows without an inner scroll bar."""
    return 38 + 35 * min(rows, most)


def _load_sample(project: Project, sample: dict[str, Any]) -> Project:
    loaded = load_data(project, str(SAMPLE_DIR / sample["file"]), name=sample["file"])
    return set_target(loaded, sample["target"], task=sample.get("task"))


def _upload_and_samples(project: Project) -> None:
    limits = limits_module.current()
    key = _state.upload_key()
    st.file_uploader(
        "Upload a CSV, TSV, Excel or Parquet file with a header row", type=_data_upload.UPLOAD_TYPES,
        key=key, on_change=_data_upload.on_upload, args=(key,),
        help="A CSV's encoding, delimiter and decimal mark are detected for you; .gz and "
             "single-file .zip uploads are unpacked. In an Excel workbook (.xlsx, .xlsm) the first "
             "sheet is read, and you can choose another; the header row is found below any title.")
    st.caption(f"Up to {_size_in_words(limits.max_upload_bytes)}, "
               f"{limits.max_rows:,} rows, {limits.max_columns:,} columns and {limits.max_cells:,} cells. "
               "The file stays on this server; nothing is sent anywhere else.")
    st.markdown("**Or try a sample**")
    samples = _samples()
    for column, sample in zip(st.columns(len(samples)), samples):
        with column.container(border=True, height="stretch"):
            st.markdown(f"**{sample['name']}**")
            st.caption(sample["description"])
            if st.button(f"Use {sample['name']}", key=f"sample_{sample['file']}",
                         help=f"Loads {sample['file']} and sets '{sample['target']}' as the "
                              "target."):
                if _ui.attempt(_load_sample, project, sample,
                               success=f"Loaded the {sample['name']} sample; the target is "
                                       f"'{sample['target']}'."):
                    st.rerun()
    _data_sql.query_form(project)


def _how_it_was_read(project: Project) -> None:
    table, profile = project.table, project.profile
    st.subheader(escape_markdown(table.name))
    st.caption(table.summary())
    _data_upload.sheet_chooser(project)
    a, b, c, d, e = st.columns(5)
    a.metric("Rows", f"{profile.rows:,}")
    b.metric("Columns", f"{len(profile.columns):,}")
    c.metric("Missing cells", format_percent(profile.missing_cell_fraction))
    d.metric("Duplicate rows", f"{profile.duplicate_rows:,}")
    e.metric("Memory", _size_in_words(profile.memory_bytes))
    query = table.source_format == "sql"  # a query's rows have no file size
    with st.expander("How the query was read" if query else "How the file was read",
                     expanded=bool(table.conversions or table.notes)):
        st.markdown("".join(f"- **{what}:** {escape_markdown(how)}\n" for what, how in table.details())
                    + ("" if query else f"- **Size:** {_size_in_words(table.n_bytes)}"))
        if table.conversions:
            st.markdown("**Conversions**")
            st.markdown("\n".join(f"- **{escape_markdown(column)}**: {escape_markdown(what)}"
                                  for column, what in table.conversions.items()))
        if table.notes:
            st.markdown("**Notes**")
            st.markdown("\n".join(f"- {escape_markdown(note)}" for note in table.notes))
        if not table.conversions and not table.notes:
            st.caption("Every column was read as it was written; nothing needed converting.")
    st.markdown(f"**First {min(PREVIEW_ROWS, profile.rows)} rows**")
    st.dataframe(table.frame.head(PREVIEW_ROWS))


def _roles_editor(project: Project) -> None:
    st.subheader("What each column is")
    _ui.explain("tabwright guessed each column's role from its values; the evidence says why. "
                "If a guess is wrong — say, a numeric code that is really a category — change "
                "the Role: it decides how the column is prepared for the models.")
    table = role_table(project.profile.columns, project.effective_roles(), project.recipe.target)
    shown = _column_filter.filtered(table, key="roles")
    edited = st.data_editor(
        shown, key=_column_filter.editor_key(f"roles_{project.table.fingerprint[:16]}", shown),
        hide_index=True, height=_table_height(len(shown)),
        disabled=["Column", "Detected", "Type", "Missing", "Distinct", "Evidence"],
        column_config={
            "Role": st.column_config.SelectboxColumn("Role", options=list(ROLES), required=True,
                                                     help=ROLE_HELP),
            "Detected": st.column_config.TextColumn("Detected", help="tabwright's guess"),
            "Missing": st.column_config.ProgressColumn("Missing", min_value=0.0, max_value=1.0,
                                                       format="percent"),
            "Distinct": st.column_config.NumberColumn("Distinct", format="localized"),
            "Evidence": st.column_config.TextColumn("Evidence", width="large"),
        })
    overrides = _column_filter.merged(project.recipe.roles, role_overrides(edited), shown["Column"])
    if overrides != project.recipe.roles:
        recipe = project.recipe.copy()
        recipe.roles = overrides
        changed = sorted(set(overrides.items()) ^ set(project.recipe.roles.items()))
        names = ", ".join(sorted({escape_markdown(column) for column, _ in changed}))
        if _ui.attempt(update_recipe, project, recipe, reason="You changed a column's role",
                       success=f"Role updated for {names}."):
            st.rerun()
    if project.recipe.roles:
        st.caption("Changed by you: " + ", ".join(
            f"{escape_markdown(c)} → {r}" for c, r in project.recipe.roles.items()))


def _target_line(project: Project) -> None:
    recipe = project.recipe
    if recipe.target:
        reason = project.profile.task.reason if project.profile.task else ""
        st.info(f"🎯 **Target:** {escape_markdown(recipe.target)} ({recipe.task or 'task not set'}). "
                f"{escape_markdown(reason)} Change it on the Model page.", icon="ℹ️")
    elif recipe.task == "clustering":
        st.info("No target: tabwright will look for groups of similar rows (clustering).")
    else:
        st.info("No target chosen yet. Look around on the Explore page, then pick what to "
                "predict on the Model page.")


project = _ui.page_header("data")
if project.table is None:
    _ui.explain("Start with a table: one row per case (a passenger, a loan, a house) and one "
                "column per fact about it. The column you want to predict is the target.")
    _upload_and_samples(project)
else:
    with st.expander("Load other data", icon="📂"):
        _ui.explain("Loading new data starts a new project (your brief is kept). If the file "
                    "cannot be read, the current data stays.")
        _upload_and_samples(project)
    _how_it_was_read(project)
    _target_line(project)
    _roles_editor(project)
    join_section(project)
    _ui.next_step("data")
