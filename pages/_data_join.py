"""Data page: join a related table (a customer's orders, a loan's payments) to the main one.

The related table is read once when uploaded and kept until it is joined or replaced. The
page shows the keys tabwright suggests with their evidence, the features a one-to-many join
would make and which events each row may see (the cutoff); the join itself, and every check
that it cannot repeat a main row, is :func:`core.project.add_join`.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import streamlit as st

from core.errors import TabwrightError
from core.formatting import escape_markdown, format_percent
from core.ingest import (
    JoinSuggestion,
    aggregate_options,
    read_table,
    related_name,
    time_columns,
)
from core.ingest._join_keys import aggregate_name
from core.project import (
    Project,
    add_join,
    join_suggestions,
    remove_join,
    suggested_join,
)
from core.recipe import Cutoff, Join
from pages import _state, _ui
from pages._data_join_sql import related_query_form
from pages._data_upload import UPLOAD_TYPES

RELATIONS = {"one_to_one": "one-to-one", "many_to_one": "many-to-one",
             "one_to_many": "one-to-many"}
SEE = {"column": "Only events before each row's own prediction time",
       "date": "Only events before one date",
       "all": "Every event (may include the future: leakage)"}


def join_section(project: Project) -> None:
    """The joins made so far, and a form to join another table."""
    st.subheader("Join a related table")
    _ui.explain("When facts about each row live in another table (a customer's orders, a "
                "patient's visits), add it here. tabwright suggests the key, checks the join "
                "cannot repeat your rows, and summarises many related rows per row: with a "
                "cutoff, only what happened before the moment each prediction is made.")
    for report in project.join_reports:
        _joined(project, report)
    key = _state.related_upload_key()
    st.file_uploader("A related table (CSV, TSV, Excel or Parquet)", type=UPLOAD_TYPES, key=key,
                     on_change=_on_related, args=(key,))
    related_query_form()
    related = _state.kept_related()
    if related is not None:
        _plan(project, related)


def _joined(project: Project, report: Any) -> None:
    with st.container(border=True):
        st.markdown(f"**{escape_markdown(report.name)}**: {RELATIONS[report.relation]} on "
                    f"{escape_markdown(report.main_key)} = {escape_markdown(report.related_key)}; "
                    f"{format_percent(report.matched_share)} of rows matched, "
                    f"{len(report.columns_added)} columns added.")
        for warning in report.warnings:
            st.warning(escape_markdown(warning), icon="⚠️")
        if st.button(f"Remove {report.name}", key=f"join_remove_{report.name}"):
            if _ui.attempt(remove_join, project, report.name,
                           success=f"Removed the join with {escape_markdown(report.name)}."):
                st.rerun()


def _on_related(key: str) -> None:
    uploaded = _state.widget_value(key)
    if uploaded is None:
        return
    try:
        _state.keep_related(read_table(uploaded.getvalue(), name=uploaded.name))
    except TabwrightError as exc:
        hint = f"\n\n{escape_markdown(exc.hint)}" if exc.hint else ""
        _state.flash("error", f"**{escape_markdown(exc.message)}**{hint} Your data is unchanged.")
    finally:
        _state.release_upload(key)


@st.cache_data(show_spinner=False, max_entries=16)
def _default_join(main_key: str, related_key: str, choice: int, _project: Project, _related: Any,
                  _suggestion: JoinSuggestion) -> Join:
    """The suggestion's default join (it infers the related columns' roles): once per choice,
    not on every widget change."""
    return suggested_join(_project, _related, _suggestion)


@st.cache_data(show_spinner="Looking for the key…", max_entries=8)
def _suggestions(main_key: str, related_key: str, _project: Project, _related: Any
                 ) -> list[JoinSuggestion]:
    return join_suggestions(_project, _related)


def _plan(project: Project, related: Any) -> None:
    name = related_name(related.name)
    st.markdown(f"**{escape_markdown(related.name)}**: {related.summary()}.")
    try:
        found = _suggestions(project.table.fingerprint, related.fingerprint, project, related)
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    if not found:
        st.error(f"No column of {escape_markdown(related.name)} holds the values of a column of "
                 "your table, so there is no key to join on. Check that both tables share an "
                 "ID column (same values, perhaps under another name).", icon="⚠️")
        return
    choice = st.selectbox(
        "Join on", range(len(found)), key=f"join_key_{related.fingerprint[:12]}",
        format_func=lambda i: f"{found[i].main_key} = {found[i].related_key} · "
                              f"{format_percent(found[i].match_share)} of rows match · "
                              f"{RELATIONS[found[i].relation]}")
    suggestion = found[choice]
    st.caption(escape_markdown(suggestion.evidence)
               + (f" {escape_markdown(suggestion.type_note)}" if suggestion.type_note else ""))
    join = _default_join(project.table.fingerprint, related.fingerprint, choice, project, related,
                         suggestion)
    join = _cutoff(project, related, join) if join.relation == "one_to_many" else join
    join = _features(related, join)
    if st.button(f"Join {name}", type="primary", key="join_apply"):
        if _ui.attempt(add_join, project, related, join,
                       success=f"Joined {escape_markdown(related.name)}."):
            _state.keep_related(None)
            st.rerun()


def _cutoff(project: Project, related: Any, join: Join) -> Join:
    events = time_columns(related.frame)
    moments = time_columns((project.base or project.table).frame)
    if not events:
        st.warning(f"{escape_markdown(related.name)} has no date column, so its rows cannot be "
                   "limited to those before each prediction: the summaries may include the "
                   "future. The leakage checks on Explore look at them.", icon="⚠️")
        return dataclasses.replace(join, cutoff=None)
    options = ["column", "date", "all"] if moments else ["date", "all"]
    default = "column" if join.cutoff is not None and moments else "all"
    left, middle, right = st.columns(3)
    see = left.radio("Which related rows may each row see?", options, format_func=SEE.get,
                     index=options.index(default), key=f"join_see_{related.fingerprint[:12]}")
    if see == "all":
        st.warning("Without a cutoff, a row's summaries include events after the moment its "
                   "prediction would be made: a model can learn from the future and disappoint "
                   "in use.", icon="⚠️")
        return dataclasses.replace(join, cutoff=None)
    cut = join.cutoff or Cutoff(event_column=events[0])
    event = middle.selectbox("When each related row happened", events,
                             index=events.index(cut.event_column), key="join_event")
    if see == "column":
        main_column = right.selectbox("Each row's prediction time", moments,
                                      index=moments.index(cut.main_column)
                                      if cut.main_column in moments else 0, key="join_moment")
        return dataclasses.replace(join, cutoff=Cutoff(event_column=event, main_column=main_column))
    day = right.date_input("Events before", value=datetime.date.today(), key="join_date")
    return dataclasses.replace(join, cutoff=Cutoff(event_column=event, date=day.isoformat()))


def _features(related: Any, join: Join) -> Join:
    if join.relation != "one_to_many":
        columns = st.multiselect("Columns to add", join.columns, default=join.columns,
                                 key=f"join_columns_{related.fingerprint[:12]}")
        return dataclasses.replace(join, columns=list(columns))
    options = aggregate_options(related.frame, join)
    labels = {aggregate_name(join.name, a.function, a.column): a for a in options}
    valid = [a for a in join.aggregates if a in options]
    chosen = st.multiselect(
        "Features per row, from its related rows", list(labels),
        default=[aggregate_name(join.name, a.function, a.column) for a in valid],
        key=f"join_features_{related.fingerprint[:12]}_{join.cutoff is not None}",
        help="count: how many related rows; sum, mean, min, max of a number; nunique: how many "
             "different values; last: the latest value; days_since_last: days from the latest "
             "event to the row's cutoff.")
    return dataclasses.replace(join, aggregates=[labels[c] for c in chosen])
