"""Joined tables as tables of their own, and the joins a command line asks for.

:func:`joined_table` applies a recipe's joins to loaded tables and returns the result as a
:class:`~core.ingest._read.LoadedTable` whose fingerprint covers every table and the joins
(so caches and run records tell joined data apart); :func:`plan_joins` turns ``--with``
tables (and ``--on``, ``--cutoff``) into joins on the best suggested keys;
:func:`related_name` names a related table after its file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

import pandas as pd

from core.errors import TabwrightError
from core.ingest._join import (
    JoinReport,
    apply_joins,
    default_join,
    describe_joins,
    suggest_joins,
)
from core.ingest._read import LoadedTable
from core.recipe import Aggregate, Cutoff, Join


def related_name(file_name: str) -> str:
    """A related table's short name for its columns: its file name without extension, in
    lower-case letters, digits and underscores (``Orders 2024.csv`` → ``orders_2024``)."""
    stem = re.sub(r"(\.(csv|tsv|txt|xlsx|xlsm|parquet|gz|zip|bz2|xz))+$", "", file_name.lower())
    name = re.sub(r"[^a-z0-9]+", "_", stem).strip("_")
    return name or "related"


def joined_table(main: LoadedTable, related: dict[str, LoadedTable], joins: list[Join]
                 ) -> tuple[LoadedTable, tuple[JoinReport, ...]]:
    """``main`` with ``joins`` applied (each related table by its join's name), as a table of
    its own: its fingerprint covers every table and the joins, its notes say what was joined.

    Raises
    ------
    TabwrightError
        When a join's table is missing, or a join is unsafe (see :func:`core.ingest.apply_joins`).
    """
    if not joins:
        return main, ()
    missing = [j.name for j in joins if j.name not in related]
    if missing:
        raise TabwrightError(f"The data is joined with {', '.join(map(repr, missing))}, and "
                             "that table was not given.",
                             f"Pass it too (command line: --with {missing[0]}.csv).")
    joined = apply_joins(main.frame, {n: t.frame for n, t in related.items()}, joins)
    digest = hashlib.sha256(main.fingerprint.encode())
    for join in joins:
        digest.update(f"|{join.name}:{related[join.name].fingerprint}".encode())
    digest.update(json.dumps([dataclasses.asdict(j) for j in joins], sort_keys=True).encode())
    table = dataclasses.replace(main, frame=joined.table, fingerprint=digest.hexdigest(),
                                notes=[*main.notes, *describe_joins(joins, joined.reports)])
    return table, tuple(joined.reports)


def plan_joins(main: LoadedTable, related: dict[str, LoadedTable], *, on: str | None = None,
               cutoff: str | None = None, target: str | None = None) -> list[Join]:
    """The joins the command line makes of ``--with`` tables: each on the best suggested key
    (or ``on``: ``KEY`` in both tables, or ``MAIN_KEY=RELATED_KEY``), with its default
    features, and ``cutoff`` (``MAIN_TIME:EVENT_TIME`` or ``DATE:EVENT_TIME``) for a
    one-to-many join.

    Raises
    ------
    TabwrightError
        When no key is found, ``on`` names no suggested pair, or ``cutoff`` is malformed or
        given for a join that adds columns rather than aggregates. ``target``, the main
        table's target, is never a key.
    """
    joins = []
    for name, table in related.items():
        if on:
            main_key, _, related_key = on.partition("=")
            related_key = related_key or main_key
            found = [s for s in suggest_joins(main.frame, table.frame, name=name, target=target,
                                              pair=(main_key, related_key))
                     if s.matched_rows]
            if not found:
                raise TabwrightError(
                    f"{main_key!r} and {related_key!r} cannot join the data with {name!r}: "
                    "one is missing or their values do not match.",
                    "Check the names (--on KEY, or --on MAIN_KEY=RELATED_KEY).")
        else:
            found = suggest_joins(main.frame, table.frame, name=name, target=target)
            if not found:
                raise TabwrightError(f"No column of {name!r} matches a column of the main table.",
                                     "Name the keys with --on MAIN_KEY=RELATED_KEY.")
        join = default_join(main.frame, table.frame, found[0], name=name)
        if cutoff:
            join = _with_cutoff(join, cutoff, main.frame)
        joins.append(join)
    return joins


def _with_cutoff(join: Join, cutoff: str, main: pd.DataFrame) -> Join:
    moment, sep, event = cutoff.rpartition(":")
    if not sep or not moment or not event:
        raise TabwrightError(f"--cutoff must be MAIN_TIME:EVENT_TIME or DATE:EVENT_TIME, got "
                             f"{cutoff!r}.", "For example --cutoff signup_date:order_date.")
    if join.relation != "one_to_many":
        raise TabwrightError(f"A cutoff limits the events a one-to-many join aggregates, and "
                             f"{join.name!r} is joined {join.relation.replace('_', '-')}.",
                             "Drop --cutoff.")
    at = (Cutoff(event_column=event, main_column=moment) if moment in main.columns
          else Cutoff(event_column=event, date=moment))
    aggregates = list(join.aggregates)
    if join.cutoff is None:  # a cutoff makes the time since the last event meaningful
        aggregates.append(Aggregate("days_since_last"))
    updated = dataclasses.replace(join, cutoff=at, aggregates=aggregates)
    updated.validate()
    return updated


def time_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of ``frame`` read as dates or times: candidates for a cutoff."""
    return [str(c) for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]


def aggregate_options(related: pd.DataFrame, join: Join) -> list[Aggregate]:
    """Every feature a one-to-many ``join`` could make of ``related``: the count; with a cutoff
    the days since the latest event; per number its sum, mean, minimum, maximum and latest
    value; per other column its number of distinct values and latest value ("latest" needs a
    cutoff). The join's own aggregates come first, in their order."""
    dated = join.cutoff is not None
    options = [Aggregate("count")] + ([Aggregate("days_since_last")] if dated else [])
    skip = {join.related_key} | ({join.cutoff.event_column} if dated else set())
    for column in map(str, related.columns):
        if column in skip:
            continue
        numeric = (pd.api.types.is_numeric_dtype(related[column])
                   and not pd.api.types.is_bool_dtype(related[column]))
        functions = (["sum", "mean", "min", "max"] if numeric else ["nunique"]) \
            + (["last"] if dated else [])
        options += [Aggregate(f, column) for f in functions]
    chosen = [a for a in join.aggregates if a in options]
    return chosen + [a for a in options if a not in chosen]
