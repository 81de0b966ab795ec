"""The Data page's database form: the rows a query returns become the project's data."""

from __future__ import annotations

import streamlit as st

from core import settings as limits_module
from core.errors import TabwrightError
from core.formatting import escape_markdown
from core.project import Project, load_query
from pages import _state, _ui

PASSWORD_KEY = "sql_password"


def query_form(project: Project) -> None:
    """A database URL, its password and a query; **Run query** loads the rows it returns."""
    limits = limits_module.current()
    st.markdown("**Or read from a database**")
    with st.form("sql_form"):
        url = st.text_input(
            "Database URL", key="sql_url",
            placeholder="postgresql://analyst@db.example.com:5432/sales",
            help="A SQLAlchemy URL: postgresql://user@host:port/database or "
                 "sqlite:///path/to/file.db. Type the password in its own box below.")
        password = st.text_input(
            "Password", key=PASSWORD_KEY, type="password",
            help="Used to connect, then forgotten: it is never saved in the recipe, the report, "
                 "the model card or the run history.")
        query = st.text_area("Query", key="sql_query", placeholder="SELECT * FROM customers",
                             help="One statement that returns rows, e.g. SELECT or WITH … SELECT.")
        submitted = st.form_submit_button("Run query", key="sql_run")
    st.caption(f"tabwright only reads: the connection is read-only. Up to {limits.max_rows:,} rows; "
               f"a query is stopped after {limits.db_timeout_seconds:,} seconds.")
    if not submitted:
        return
    try:
        updated = load_query(project, url, query, password=password or None)
    except TabwrightError as exc:  # the database's own words are escaped by show_error
        _ui.show_error(exc)
        return
    _state.set_project(updated)
    _state.forget_widget(PASSWORD_KEY)
    _state.flash("success", f"Loaded {escape_markdown(updated.table.name)}: {updated.table.summary()}.")
    st.rerun()
