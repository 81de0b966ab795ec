"""Data page: a related table from a database query, to join like an uploaded one."""

from __future__ import annotations

import dataclasses

import streamlit as st

from core.errors import TabwrightError
from core.formatting import escape_markdown
from core.ingest import read_query, related_name
from pages import _state, _ui

PASSWORD_KEY = "join_sql_password"


def related_query_form() -> None:
    """URL, password, query and a short name; **Read the related rows** keeps the result
    waiting to be joined (:func:`pages._data_join.join_section` shows it)."""
    with st.expander("Or read the related table from a database", icon="🗄️"):
        with st.form("join_sql_form"):
            url = st.text_input("Database URL", key="join_sql_url",
                                placeholder="postgresql://analyst@db.example.com:5432/sales")
            password = st.text_input("Password", key=PASSWORD_KEY, type="password",
                                     help="Used to connect, then forgotten.")
            query = st.text_area("Query", key="join_sql_query",
                                 placeholder="SELECT customer_id, ordered_at, amount FROM orders")
            name = st.text_input("A short name for its columns", value="orders",
                                 key="join_sql_name",
                                 help="New columns are named after it, e.g. orders_count.")
            submitted = st.form_submit_button("Read the related rows", key="join_sql_run")
        st.caption("Read-only, like the main table's query. The recipe keeps the join; to "
                   "repeat it on the command line, save these rows as a file and pass --with.")
    if not submitted:
        return
    try:
        table = read_query(url, query, password=password or None)
    except TabwrightError as exc:  # the database's own words are escaped by show_error
        _ui.show_error(exc)
        return
    _state.forget_widget(PASSWORD_KEY)
    _state.keep_related(dataclasses.replace(table, name=related_name(name or "related")))
    _state.flash("success", f"Read {len(table.frame):,} related rows as "
                            f"{escape_markdown(related_name(name or 'related'))}.")
    st.rerun()
