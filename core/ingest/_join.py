"""A second table joined to the main one safely: the key suggested, the join applied and explained.

:func:`suggest_joins` ranks the key pairs two tables could be joined on, from names, types and
how many main rows find their key (counted on distinct values, so a 5-million-row table costs
one pass per column); :func:`default_join` turns a suggestion into a :class:`core.recipe.Join`
with sensible features; :func:`apply_joins` checks a recipe's joins against the data and adds
their columns, always keeping exactly the main table's rows; :func:`describe_joins` says what
was joined in sentences; :func:`join_script` writes the same joins as standalone Python.

The arithmetic lives in :mod:`core.ingest._join_keys` (pandas and NumPy only, copied into the
scripts); this module decides whether a join is safe and says why not. A join that would
repeat main rows (a many-to-one join whose related keys repeat) is refused, never run; a
one-to-many join summarises the related rows per key instead, and with a cutoff each main row
sees only the events strictly before its own moment of prediction.

Examples
--------
>>> customers = pd.DataFrame({"customer_id": [1, 2, 3]})
>>> orders = pd.DataFrame({"cust_id": [1, 1, 2], "amount": [5.0, 7.0, 1.0]})
>>> best = suggest_joins(customers, orders, name="orders")[0]
>>> (best.main_key, best.related_key, best.relation)
('customer_id', 'cust_id', 'one_to_many')
>>> join = default_join(customers, orders, best, name="orders")
>>> apply_joins(customers, {"orders": orders}, [join]).table["orders_count"].tolist()
[2, 1, 0]
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import pprint
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.errors import TabwrightError
from core.formatting import format_number, format_percent, json_safe
from core.ingest import _join_keys
from core.ingest._join_keys import (
    JoinKeys,
    KeyMismatch,
    aggregate_name,
    canonical_keys,
    compare_keys_as,
    distinct_keys,
    join_keys,
    joined_columns,
    joined_table,
    key_ids,
    nanoseconds,
)
from core.ingest._roles import _ID_NAME, ColumnInfo, infer_roles, is_numeric
from core.recipe import Aggregate, Cutoff, Join

MAX_SUGGESTIONS = 10
"""Most key pairs :func:`suggest_joins` returns."""
NEARLY_UNIQUE = 0.01
"""A key side where at most this share of keys repeat is still the "one" side of a join; its
repeats are reported (and a many-to-one join refuses them until they are removed)."""
ALIKE_NAMES = 0.8
"""Name likeness (:func:`_name_score`) from which two columns are named as the same key."""
MIN_CHANCE_KEYS = 20
"""Fewest distinct keys a pair of columns with unlike names, whose keys repeat on both sides,
needs to be suggested: two columns of small numbers (0/1 against 0-6) match on every row by
chance. A lookup table (one row per key: ``store`` against ``shops.id``) is still suggested."""
MAX_DEFAULT_FEATURES = 15
"""Most features :func:`default_join` makes from one related table."""
MAX_LEVELS_FOR_NUNIQUE = 50
"""Text columns with at most this many values get a distinct-values count by default."""
ROLE_SAMPLE_ROWS = 20_000
"""Rows drawn (seeded) to decide each related column's role for the default features."""
LOW_MATCH_SHARE = 0.5
"""Below this share of main rows finding their key, a join's report warns that the key may be
the wrong one."""

_KIND_WORDS = {"number": "numbers", "text": "text", "datetime": "dates", "bool": "true/false",
               "empty": "no values"}
_ID_WORDS = frozenset({"id", "ids", "key", "no", "nr", "num", "number", "code", "uuid", "guid"})
_NAME_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_PREDICTION_TIME_WORDS = ("cutoff", "as_of", "asof", "snapshot", "predict", "reference",
                          "observ", "score")
_EVENT_TIME_WORDS = ("date", "time", "timestamp", "created", "when", "_at")
_LEAKAGE_WARNING = ("Without a cutoff, the aggregates may include events after the moment of "
                    "prediction (leakage).")

Progress = Callable[[float, str], None]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class JoinSuggestion:
    """One pair of key columns two tables could be joined on, with the evidence for it.

    Attributes
    ----------
    main_key, related_key : str
        The key column in the main and in the related table.
    match_share : float
        Share of main rows (0–1) whose key is found in the related table, after normalising
        the keys (text stripped, ``"007"`` read as 7 against numbers).
    matched_rows : int
        How many main rows that is.
    relation : str
        ``one_to_one``, ``many_to_one`` or ``one_to_many`` (see :data:`core.recipe.RELATIONS`),
        from how often each key occurs on each side; a side whose keys are unique but for at
        most :data:`NEARLY_UNIQUE` of them still counts as the "one" side.
    duplicate_keys : int
        Keys that repeat on the side that should be the "one" side (the related table for
        one-to-one and many-to-one, the main table for one-to-many).
    type_note : str or None
        When the two keys hold different types: what they hold, how they were compared and how
        many main rows match after that.
    evidence : str
        The above in one or two sentences.
    score : float
        The ranking score, 0–1: mostly the share of main rows that match, then the share of
        related rows that match and how alike the names are.
    """

    main_key: str
    related_key: str
    match_share: float
    matched_rows: int
    relation: str
    duplicate_keys: int
    type_note: str | None
    evidence: str
    score: float

    def to_dict(self) -> dict:
        """The suggestion as JSON-safe data."""
        return json_safe(dataclasses.asdict(self))


@dataclass
class JoinReport:
    """What one join did to the data, for the report and the page.

    Attributes
    ----------
    name, main_key, related_key : str
        The join, as in its :class:`core.recipe.Join`.
    relation : str
        The relation the recipe recorded.
    relation_found : str
        The relation the data shows: ``one_to_many`` when related keys repeat, else
        ``many_to_one`` when main keys repeat, else ``one_to_one``.
    main_rows, related_rows : int
        Rows of each table.
    matched_rows : int
        Main rows whose key is found in the related table (their key is neither missing nor
        unknown to the related table).
    main_duplicate_keys, related_duplicate_keys : int
        Keys that occur on more than one row of each table.
    columns_added : list of str
        The new columns, in order.
    events_excluded_by_cutoff : int
        Related rows of a matched key left out because they happened at or after the row's
        cutoff, counted once per main row that did not see them.
    events_missing_time : int
        Related rows with a key but no readable event time, left out of every feature.
    rows_missing_cutoff : int
        Matched main rows without a cutoff: every feature of theirs is missing, the count too.
    warnings : list of str
        Plain sentences about what to check.
    """

    name: str
    main_key: str
    related_key: str
    relation: str
    relation_found: str
    main_rows: int
    related_rows: int
    matched_rows: int
    main_duplicate_keys: int
    related_duplicate_keys: int
    columns_added: list[str]
    events_excluded_by_cutoff: int = 0
    events_missing_time: int = 0
    rows_missing_cutoff: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def unmatched_rows(self) -> int:
        """Main rows whose key was missing or not in the related table."""
        return self.main_rows - self.matched_rows

    @property
    def matched_share(self) -> float:
        return self.matched_rows / self.main_rows if self.main_rows else 0.0

    @property
    def unmatched_share(self) -> float:
        return 1.0 - self.matched_share if self.main_rows else 0.0

    def to_dict(self) -> dict:
        """The report as JSON-safe data, with the unmatched rows and shares spelled out."""
        return json_safe(dataclasses.asdict(self) | {
            "unmatched_rows": self.unmatched_rows, "matched_share": self.matched_share,
            "unmatched_share": self.unmatched_share})


@dataclass
class JoinResult:
    """The joined table and one report per join.

    Attributes
    ----------
    table : pandas.DataFrame
        Exactly the main table's rows, in the same order with the same index, followed by the
        columns each join added.
    reports : list of JoinReport
        One per join, in the recipe's order.
    """

    table: pd.DataFrame
    reports: list[JoinReport]


# --------------------------------------------------------------------------- suggestions


class _KeyColumn:
    """One column's distinct values and their counts, normalised for each way of comparing.

    A date column's values are counted only when a pair needs them (dates are keys only
    between alike names, and counting millions of distinct moments takes a while).
    """

    def __init__(self, series: pd.Series) -> None:
        self.series = series
        dates = pd.api.types.is_datetime64_any_dtype(series.dtype)
        self.kind = "datetime" if dates else self._distinct[2]
        self._keys: dict[str, tuple[np.ndarray, np.ndarray, pd.Index]] = {}

    @functools.cached_property
    def _distinct(self) -> tuple[np.ndarray, pd.Index, str, np.ndarray]:
        codes, uniques, kind = distinct_keys(self.series)
        return codes, uniques, kind, np.bincount(codes[codes >= 0], minlength=len(uniques))

    def keys(self, compared_as: str) -> tuple[np.ndarray, np.ndarray, pd.Index]:
        """The distinct normalised keys, the rows of each, and an index to look them up."""
        if compared_as not in self._keys:
            _, uniques, kind, unique_counts = self._distinct
            values, ok = canonical_keys(uniques, kind, compared_as)
            ids, keys = key_ids(np.arange(len(uniques)), values, ok)
            kept = ids >= 0
            counts = np.bincount(ids[kept], weights=unique_counts[kept],
                                 minlength=len(keys)).astype(np.int64)
            self._keys[compared_as] = (keys, counts, pd.Index(keys))
        return self._keys[compared_as]

    @property
    def could_be_key(self) -> bool:
        """Whether the values could be keys: anything but true/false, nothing at all, or
        decimals with a fraction."""
        if self.kind in ("bool", "empty"):
            return False
        if self.kind != "number" or self._distinct[1].dtype.kind in "iu":
            return True
        values = np.asarray(self._distinct[1], dtype=np.float64)
        return bool(np.all(np.isfinite(values) & (values == np.floor(values))))


def suggest_joins(main: pd.DataFrame, related: pd.DataFrame, *, name: str,
                  target: str | None = None, pair: tuple[str, str] | None = None
                  ) -> list[JoinSuggestion]:
    """Key pairs the two tables could be joined on, the most likely first.

    Every pair of columns that could hold the same keys (whole numbers, text, or dates with
    alike names; numbers against text that reads as numbers) is scored: the share of main
    rows whose key the related table has counts most, then the share of related rows whose key
    the main table has, and how alike the names are (``customer_id`` and ``cust_id``, or
    ``id`` in a table called ``customers``). Matching is counted on distinct values.

    Parameters
    ----------
    main, related : pandas.DataFrame
        The main table (one row per prediction) and the table to join to it.
    name : str
        The related table's short name (e.g. ``"orders"``), read for ``id``-style keys.
    target : str, optional
        The main table's target: never a key (joining on it would put the answer in the
        inputs, and new rows do not have it).
    pair : (str, str), optional
        Only this (main key, related key) pair, as a person named it: suggested whenever its
        keys can be compared, however few they are.

    Returns
    -------
    list of JoinSuggestion
        At most :data:`MAX_SUGGESTIONS`, best first; pairs whose keys never match are left out
        unless their names are alike (then their evidence says nothing matched, and why), and
        so are pairs of unlike names with fewer than :data:`MIN_CHANCE_KEYS` distinct keys
        repeating on both sides.
    """
    main_columns = {k: v for k, v in _candidate_keys(main).items() if k != target}
    related_columns = _candidate_keys(related)
    found = []
    for main_key, main_column in main_columns.items():
        for related_key, related_column in related_columns.items():
            compared_as = compare_keys_as(main_column.kind, related_column.kind)
            alike = _name_score(main_key, related_key, name)
            named = pair == (main_key, related_key)
            if (pair and not named) or compared_as is None or (
                    compared_as == "datetime" and alike < ALIKE_NAMES and not named):
                continue
            suggestion = _suggestion(main_key, main_column, related_key, related_column,
                                     compared_as, alike, name=name, n_main=len(main))
            keys, counts, _ = main_column.keys(compared_as)
            if (not named and alike < ALIKE_NAMES and len(keys) < MIN_CHANCE_KEYS
                    and suggestion.relation == "one_to_many"
                    and _repeat_share(counts) > NEARLY_UNIQUE):
                continue  # a handful of codes repeating on both sides matches by chance
            if suggestion.matched_rows or alike >= ALIKE_NAMES or named:
                found.append(suggestion)
    found.sort(key=lambda s: -s.score)
    return found[:MAX_SUGGESTIONS]


def _candidate_keys(frame: pd.DataFrame) -> dict[str, _KeyColumn]:
    """The columns of a table that could be keys (no decimals with fractions, no true/false)."""
    out = {}
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_float_dtype(series.dtype):
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            if not np.all(np.isnan(values) | (values == np.floor(values))):
                continue  # amounts and measurements: skip them before counting their values
        if pd.api.types.is_bool_dtype(series.dtype):
            continue
        key_column = _KeyColumn(series)
        if key_column.could_be_key:
            out[str(column)] = key_column
    return out


def _suggestion(main_key: str, main_column: _KeyColumn, related_key: str,
                related_column: _KeyColumn, compared_as: str, alike: float, *, name: str,
                n_main: int) -> JoinSuggestion:
    main_keys, main_counts, _ = main_column.keys(compared_as)
    related_keys, related_counts, related_index = related_column.keys(compared_as)
    position = related_index.get_indexer(main_keys) if len(main_keys) else np.zeros(0, int)
    found = position >= 0
    matched = int(main_counts[found].sum())
    related_rows = int(related_counts.sum())
    related_matched = int(related_counts[position[found]].sum())
    relation, duplicates = _relation_from_counts(main_counts, related_counts)
    share = matched / n_main if n_main else 0.0
    related_share = related_matched / related_rows if related_rows else 0.0
    score = 0.5 * share + 0.2 * related_share + 0.3 * alike
    if relation == "one_to_many" and _repeat_share(main_counts) > NEARLY_UNIQUE:
        score *= 0.5  # keys repeat on both sides (labels, not IDs): rarely the key to join on
    type_note = _type_note(main_key, main_column.kind, related_key, related_column.kind,
                           matched, n_main)
    evidence = _suggestion_evidence(main_key, related_key, name, matched, n_main, relation,
                                    duplicates, related_rows, len(related_keys))
    return JoinSuggestion(main_key=main_key, related_key=related_key, match_share=share,
                          matched_rows=matched, relation=relation, duplicate_keys=duplicates,
                          type_note=type_note,
                          evidence=evidence + (f" {type_note}" if type_note else ""),
                          score=round(score, 4))


def _repeat_share(counts: np.ndarray) -> float:
    return float((counts > 1).mean()) if len(counts) else 0.0


def _relation_from_counts(main_counts: np.ndarray, related_counts: np.ndarray
                          ) -> tuple[str, int]:
    """The relation two key sides suggest, and the repeats on its "one" side."""
    related_repeats = int((related_counts > 1).sum())
    main_repeats = int((main_counts > 1).sum())
    if _repeat_share(related_counts) <= NEARLY_UNIQUE:
        if main_repeats:
            return "many_to_one", related_repeats
        return "one_to_one", related_repeats
    return "one_to_many", main_repeats


def _type_note(main_key: str, main_kind: str, related_key: str, related_kind: str,
               matched: int, n_main: int) -> str | None:
    if main_kind == related_kind or "empty" in (main_kind, related_kind):
        return None
    return (f"{main_key} holds {_KIND_WORDS[main_kind]} and {related_key} holds "
            f"{_KIND_WORDS[related_kind]}; compared as numbers (text \"007\" is 7), "
            f"{format_number(matched)} of {format_number(n_main)} main rows match.")


def _suggestion_evidence(main_key: str, related_key: str, name: str, matched: int, n_main: int,
                         relation: str, duplicates: int, related_rows: int,
                         related_keys: int) -> str:
    share = format_percent(matched / n_main) if n_main else "0%"
    text = (f"{share} of main rows ({format_number(matched)} of {format_number(n_main)}) find "
            f"their {main_key} in {name}.{related_key}")
    if relation == "one_to_many":
        per_key = related_rows / related_keys if related_keys else 0.0
        text += (f"; a key has {format_number(round(per_key, 1))} {name} rows on average "
                 "(one-to-many: summarised per key).")
        if duplicates:
            text += (f" {_values_repeat(duplicates)} {main_key} "
                     f"{'repeat' if duplicates > 1 else 'repeats'} in the main table.")
        return text
    text += f" ({relation.replace('_', '-')})."
    if duplicates:
        text += (f" {_values_repeat(duplicates)} {related_key} "
                 f"{'repeat' if duplicates > 1 else 'repeats'} in {name}: a "
                 f"{relation.replace('_', '-')} join is refused until they are removed, or "
                 "summarise per key (one-to-many).")
    return text


def _words(column: str) -> list[str]:
    return [w.lower() for w in _NAME_PARTS.findall(column)]


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _name_score(main_key: str, related_key: str, name: str) -> float:
    """How alike two key names are, 0–1: equal 1; ``customer_id`` and ``id`` of a table named
    ``customers`` 0.95; one stem the start of the other (``cust``, ``customer``) 0.85."""
    main_words, related_words = _words(main_key), _words(related_key)
    if main_words == related_words:
        return 1.0
    main_stem = "".join(w for w in main_words if w not in _ID_WORDS)
    related_stem = "".join(w for w in related_words if w not in _ID_WORDS)
    both_ids = len(main_stem) < len("".join(main_words)) and \
        len(related_stem) < len("".join(related_words))
    table = _singular("".join(_words(name)))
    if main_stem == related_stem and main_stem:
        return 0.95
    if not related_stem and both_ids:
        return 0.95 if main_stem == table else 0.6
    if not main_stem and both_ids:
        return 0.6
    if min(len(main_stem), len(related_stem)) >= 3 and (
            main_stem.startswith(related_stem) or related_stem.startswith(main_stem)):
        return 0.85
    ratio = difflib.SequenceMatcher(None, main_stem, related_stem).ratio()
    return round(ratio * (0.6 if both_ids else 0.4), 4)


# --------------------------------------------------------------------------- default join


def default_join(main: pd.DataFrame, related: pd.DataFrame, suggestion: JoinSuggestion, *,
                 name: str) -> Join:
    """A sensible :class:`core.recipe.Join` for a suggested key pair.

    One-to-one and many-to-one: every related column but the key. One-to-many: the count of
    related rows; for each numeric column (not IDs) its sum, mean and maximum; for each text
    column with at most :data:`MAX_LEVELS_FOR_NUNIQUE` values its number of distinct values.
    When the related table has a date column (the event time) and the main table one too (the
    prediction time: a name such as ``snapshot_date`` or ``as_of``, else the latest dates),
    a cutoff between them, the days since the latest event and the latest value of the first
    numeric and text column. Without a main date there is no cutoff (a recipe's cutoff needs
    a prediction-time column or a fixed date), and :func:`apply_joins` warns about leakage.
    At most :data:`MAX_DEFAULT_FEATURES` features, whole columns first to last.
    """
    if suggestion.relation != "one_to_many":
        return Join(name=name, main_key=suggestion.main_key,
                    related_key=suggestion.related_key, relation=suggestion.relation,
                    columns=[str(c) for c in related.columns if c != suggestion.related_key])
    related_roles = {info.name: info for info in infer_roles(_sample(related))}
    event_column = _most_plausible_time(related_roles, exclude=suggestion.related_key,
                                        words=_EVENT_TIME_WORDS, frame=related)
    main_column = None
    if event_column is not None:
        main_roles = {info.name: info for info in infer_roles(_sample(main))}
        main_column = _most_plausible_time(main_roles, exclude=suggestion.main_key,
                                           words=_PREDICTION_TIME_WORDS, frame=main)
    cutoff = Cutoff(event_column=event_column, main_column=main_column) if main_column else None
    groups: list[list[Aggregate]] = []
    label_groups: list[list[Aggregate]] = []
    for column, info in related_roles.items():
        if column in (suggestion.related_key, event_column) or _not_a_feature(column, info):
            continue
        numeric = is_numeric(related[column].dtype) or \
            pd.api.types.is_bool_dtype(related[column].dtype)
        if info.role == "numeric" and numeric:
            groups.append([Aggregate("sum", column), Aggregate("mean", column),
                           Aggregate("max", column)])
        elif info.role == "boolean" and numeric:
            groups.append([Aggregate("mean", column)])  # the share of related rows where true
        elif info.role == "categorical" and info.n_unique <= MAX_LEVELS_FOR_NUNIQUE:
            label_groups.append([Aggregate("nunique", column)])
    if cutoff is not None:
        for column_groups in (groups, label_groups):
            if column_groups:
                column_groups[0].append(Aggregate("last", column_groups[0][0].column))
    aggregates = [Aggregate("count")] + ([Aggregate("days_since_last")] if cutoff else [])
    for group in _interleave(groups, label_groups):
        if len(aggregates) + len(group) <= MAX_DEFAULT_FEATURES:
            aggregates += group
    return Join(name=name, main_key=suggestion.main_key, related_key=suggestion.related_key,
                relation="one_to_many", aggregates=aggregates, cutoff=cutoff)


def _sample(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) <= ROLE_SAMPLE_ROWS:
        return frame
    return frame.sample(ROLE_SAMPLE_ROWS, random_state=0)


def _not_a_feature(column: str, info: ColumnInfo) -> bool:
    return info.role in ("identifier", "constant", "text") or bool(_ID_NAME.search(column))


def _most_plausible_time(roles: dict[str, ColumnInfo], *, exclude: str, words: tuple[str, ...],
                         frame: pd.DataFrame) -> str | None:
    """The date column whose name reads most like ``words``; among equals, the latest dates."""
    dates = [c for c, info in roles.items() if info.role == "datetime" and c != exclude]
    if not dates:
        return None

    def plausibility(column: str) -> tuple[bool, int]:
        named = any(w in column.lower() for w in words)
        stamps = nanoseconds(frame[column])
        present = stamps[stamps != np.iinfo(np.int64).min]
        return named, int(np.median(present)) if present.size else np.iinfo(np.int64).min

    return max(dates, key=plausibility)


def _interleave(first: list[list[Aggregate]], second: list[list[Aggregate]]
                ) -> list[list[Aggregate]]:
    out = []
    for i in range(max(len(first), len(second))):
        out += [groups[i] for groups in (first, second) if i < len(groups)]
    return out


# --------------------------------------------------------------------------- applying joins


def apply_joins(main: pd.DataFrame, related: Mapping[str, pd.DataFrame], joins: list[Join], *,
                progress: Progress | None = None) -> JoinResult:
    """Add each join's columns to the main table, refusing any join that is not safe.

    Parameters
    ----------
    main : pandas.DataFrame
        The main table. The result has exactly its rows, in its order, with its index.
    related : mapping of str to pandas.DataFrame
        Each related table by its join's ``name``.
    joins : list of core.recipe.Join
        The recipe's joins; each is computed on the main table as given (a join's key is never
        a column another join added).
    progress : callable, optional
        Called as ``progress(fraction, message)`` as the joins advance, fraction from 0 to 1.

    Returns
    -------
    JoinResult
        The joined table and a :class:`JoinReport` per join.

    Raises
    ------
    TabwrightError
        If a table or column is missing; if the keys cannot hold the same values (numbers and
        dates); if a one-to-one or many-to-one join's related keys repeat (the join would
        repeat main rows), or a one-to-one join's main keys repeat; if an aggregate needs
        numbers and the column holds none, or a time column holds no dates; or if a new
        column's name is taken.

    Notes
    -----
    Keys are compared after normalising them (:mod:`core.ingest._join_keys`): text stripped,
    ``7.0`` as ``7``, text against numbers read as numbers (``"007"`` is 7); missing keys never
    match. A main row whose key is not found gets missing values, but a count (and sum and
    distinct count) of 0. A one-to-many row sees only the events strictly before its cutoff;
    a row with a key but no cutoff gets every feature missing, its count too, because which
    events it may see is unknown; events without a readable time are left out and counted.
    """
    added: dict[str, object] = {}
    reports = []
    for i, join in enumerate(joins):
        def step(fraction: float, message: str, i: int = i) -> None:
            if progress is not None:
                progress((i + fraction) / len(joins), message)

        step(0.0, f"Joining {join.name}")
        columns, report = _apply_join(main, related, join, where=f"joins[{i}]",
                                      taken=set(map(str, main.columns)) | set(added), step=step)
        added.update(columns)
        reports.append(report)
    if progress is not None:
        progress(1.0, "Joined")
    return JoinResult(table=joined_table(main, added), reports=reports)


def _apply_join(main: pd.DataFrame, related: Mapping[str, pd.DataFrame], join: Join, *,
                where: str, taken: set[str], step: Callable[[float, str], None]
                ) -> tuple[dict[str, object], JoinReport]:
    join.validate(where)
    table = _related_table(related, join)
    _check_columns(main, table, join)
    keys = _keys(main, table, join)
    step(0.3, f"Matched the keys of {join.name}")
    main_repeats = _repeated_keys(keys.main_own)
    related_repeats = _repeated_keys(keys.related, keys.n_keys)
    relation_found = ("one_to_many" if related_repeats.size else
                      "many_to_one" if main_repeats.size else "one_to_one")
    _check_relation(main, table, join, keys, main_repeats, related_repeats)
    names = _new_names(join, table)
    for new in names:
        if new in taken:
            raise TabwrightError(
                f"The join with {join.name!r} would add the column {new!r}, but the table "
                "already has a column of that name.",
                f"Rename {new!r} in the main table, or give the related table another name.")
    if len(set(names)) < len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise TabwrightError(f"The join with {join.name!r} lists {', '.join(map(repr, twice))} "
                             "more than once.", "Remove the repeated aggregate or column.")
    columns, info = joined_columns(main, table, dataclasses.asdict(join), keys)
    step(0.9, f"Added {len(columns)} columns from {join.name}")
    report = JoinReport(
        name=join.name, main_key=join.main_key, related_key=join.related_key,
        relation=join.relation, relation_found=relation_found, main_rows=len(main),
        related_rows=len(table), matched_rows=int((keys.main >= 0).sum()),
        main_duplicate_keys=int(main_repeats.size),
        related_duplicate_keys=int(related_repeats.size), columns_added=list(columns), **info)
    _check_times(join, main, table, keys, report)
    report.warnings = _warnings(join, main, table, keys, report)
    return columns, report


def _related_table(related: Mapping[str, pd.DataFrame], join: Join) -> pd.DataFrame:
    if join.name not in related:
        given = ", ".join(map(repr, related)) or "none"
        raise TabwrightError(f"The join with {join.name!r} needs the related table "
                             f"{join.name!r}, got tables {given}.",
                             f"Add the file for {join.name!r}, or remove this join.")
    return related[join.name]


def _check_columns(main: pd.DataFrame, table: pd.DataFrame, join: Join) -> None:
    needed = [("main table", main, join.main_key, "key")]
    if join.cutoff is not None and join.cutoff.main_column is not None:
        needed.append(("main table", main, join.cutoff.main_column, "prediction-time column"))
    needed.append((f"table {join.name!r}", table, join.related_key, "key"))
    if join.cutoff is not None:
        needed.append((f"table {join.name!r}", table, join.cutoff.event_column,
                       "event-time column"))
    needed += [(f"table {join.name!r}", table, c, "column") for c in join.columns]
    needed += [(f"table {join.name!r}", table, a.column, f"{a.function} column")
               for a in join.aggregates if a.column is not None]
    for where, frame, column, what in needed:
        if column not in frame.columns:
            names = [str(c) for c in frame.columns]
            close = difflib.get_close_matches(column, names, n=3)
            raise TabwrightError(
                f"The join with {join.name!r} needs the {what} {column!r}, but the {where} has "
                "no column of that name.",
                f"Did you mean {' or '.join(map(repr, close))}?" if close else
                f"Its columns are {', '.join(map(repr, names[:10]))}"
                f"{', …' if len(names) > 10 else ''}.")
    for aggregate in join.aggregates:
        if aggregate.function in ("sum", "mean", "min", "max") and not (
                is_numeric(table[aggregate.column].dtype)
                or pd.api.types.is_bool_dtype(table[aggregate.column].dtype)):
            raise TabwrightError(
                f"The join with {join.name!r}: {aggregate.function} of {aggregate.column!r} "
                f"needs numbers, got {_dtype_words(table[aggregate.column])}.",
                "Use nunique or last for a column of labels or dates.")
    if join.cutoff is not None:
        for frame, column in ((table, join.cutoff.event_column), (main, join.cutoff.main_column)):
            if column is not None and (is_numeric(frame[column].dtype)
                                       or pd.api.types.is_bool_dtype(frame[column].dtype)):
                raise TabwrightError(
                    f"The join with {join.name!r} reads {column!r} as a time, but it holds "
                    f"{_dtype_words(frame[column])}.",
                    "Choose a column of dates or times (text such as 2024-01-31 is read).")


def _dtype_words(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series.dtype):
        return "true/false values"
    if is_numeric(series.dtype):
        return "numbers"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "dates"
    return "text"


def _keys(main: pd.DataFrame, table: pd.DataFrame, join: Join) -> JoinKeys:
    try:
        keys = join_keys(main[join.main_key], table[join.related_key])
    except KeyMismatch as mismatch:
        main_kind, related_kind = mismatch.kinds
        raise TabwrightError(
            f"The join with {join.name!r} compares {join.main_key!r}, which holds "
            f"{_KIND_WORDS[main_kind]}, with {join.related_key!r}, which holds "
            f"{_KIND_WORDS[related_kind]}: they cannot hold the same keys.",
            "Choose key columns that hold the same IDs (as numbers or as text on both sides), "
            "or correct the column's type.") from None
    for side, (kind, key, frame, ids) in enumerate((
            (keys.main_kind, join.main_key, main, keys.main_own),
            (keys.related_kind, join.related_key, table, keys.related))):
        if keys.compared_as == "number" and kind == "text" and keys.unreadable[side] \
                and not (ids >= 0).any():
            raise TabwrightError(
                f"The join with {join.name!r} compares {join.main_key!r} with "
                f"{join.related_key!r}: one holds numbers, but {key!r} holds text such as "
                f"{_unreadable_example(frame[key], ids)!r}, which is no number, so no key can "
                "match.", "Choose key columns that hold the same IDs.")
    return keys


def _unreadable_example(values: pd.Series, ids: np.ndarray) -> str:
    """A key that is text but no number (the first one; only called when there is one)."""
    candidates = values[(ids < 0) & values.notna().to_numpy()]
    return str(candidates[candidates.astype(str).str.strip() != ""].iloc[0])


def _repeated_keys(ids: np.ndarray, n_keys: int | None = None) -> np.ndarray:
    """The key numbers that occur on more than one row."""
    counts = np.bincount(ids[ids >= 0], minlength=n_keys or 0)
    return np.flatnonzero(counts > 1)


def _examples(frame: pd.DataFrame, column: str, ids: np.ndarray, repeated: np.ndarray) -> str:
    """Up to three repeated keys as they are written, with how often each occurs."""
    counts = np.bincount(ids[ids >= 0])
    first = np.full(len(counts), len(ids), dtype=np.int64)
    np.minimum.at(first, ids[ids >= 0], np.flatnonzero(ids >= 0))
    return ", ".join(f"{json_safe(frame[column].iloc[first[k]])!r} ×{counts[k]}"
                     for k in repeated[:3])


def _values_repeat(n: int) -> str:
    return f"{format_number(n)} value{'s' if n != 1 else ''} of"


def _check_relation(main: pd.DataFrame, table: pd.DataFrame, join: Join, keys: JoinKeys,
                    main_repeats: np.ndarray, related_repeats: np.ndarray) -> None:
    shape = join.relation.replace("_", "-")
    if join.relation != "one_to_many" and related_repeats.size:
        raise TabwrightError(
            f"The join with {join.name!r} is {shape}, but {_values_repeat(related_repeats.size)} "
            f"{join.related_key!r} {'repeat' if related_repeats.size > 1 else 'repeats'} in "
            f"{join.name!r} (e.g. "
            f"{_examples(table, join.related_key, keys.related, related_repeats)}): joining "
            "would repeat main rows.",
            f"Make it one-to-many and summarise {join.name!r} per key with aggregates (count, "
            f"sum, mean, ...), or remove the repeated rows from {join.name!r}.")
    if join.relation == "one_to_one" and main_repeats.size:
        raise TabwrightError(
            f"The join with {join.name!r} is one-to-one, but {_values_repeat(main_repeats.size)} "
            f"{join.main_key!r} {'repeat' if main_repeats.size > 1 else 'repeats'} in the main "
            "table (e.g. "
            f"{_examples(main, join.main_key, keys.main_own, main_repeats)}): the data is "
            "many-to-one.",
            "Set the relation to many_to_one if several main rows may share a related row.")


def _new_names(join: Join, table: pd.DataFrame) -> list[str]:
    if join.relation == "one_to_many":
        return [aggregate_name(join.name, a.function, a.column) for a in join.aggregates]
    columns = join.columns or [str(c) for c in table.columns if c != join.related_key]
    return [f"{join.name}_{c}" for c in columns]


def _check_times(join: Join, main: pd.DataFrame, table: pd.DataFrame, keys: JoinKeys,
                 report: JoinReport) -> None:
    """Refuse a cutoff whose time column has values where it matters, none of them a date."""
    if join.cutoff is None:
        return
    with_key = keys.related >= 0
    event_values = table[join.cutoff.event_column]
    if with_key.any() and report.events_missing_time == with_key.sum() \
            and event_values[with_key].notna().any():
        raise TabwrightError(
            f"The join with {join.name!r} reads {join.cutoff.event_column!r} as the time of "
            f"each {join.name} row, but none of its values is a readable date.",
            "Choose the column that says when each related row happened.")
    matched = keys.main >= 0
    if join.cutoff.main_column is not None and matched.any() \
            and report.rows_missing_cutoff == matched.sum() \
            and main[join.cutoff.main_column][matched].notna().any():
        raise TabwrightError(
            f"The join with {join.name!r} reads {join.cutoff.main_column!r} as each row's "
            "moment of prediction, but none of its values is a readable date.",
            "Choose the main table's column that says when each prediction is made.")


def _warnings(join: Join, main: pd.DataFrame, table: pd.DataFrame, keys: JoinKeys,
              report: JoinReport) -> list[str]:
    out = []
    if join.relation == "one_to_many" and join.cutoff is None:
        out.append(_LEAKAGE_WARNING)
    if report.main_rows and report.matched_share < LOW_MATCH_SHARE:
        out.append(f"Only {format_percent(report.matched_share)} of main rows found their "
                   f"{join.main_key} in {join.name}: check that {join.main_key} and "
                   f"{join.related_key} hold the same IDs.")
    if keys.main_kind != keys.related_kind and "empty" not in (keys.main_kind, keys.related_kind):
        out.append(f"{join.main_key} holds {_KIND_WORDS[keys.main_kind]} and "
                   f"{join.related_key} holds {_KIND_WORDS[keys.related_kind]}; they were "
                   "compared as numbers (text \"007\" is 7).")
    for rows, key, frame, ids, where in (
            (keys.unreadable[0], join.main_key, main, keys.main_own, "the main table"),
            (keys.unreadable[1], join.related_key, table, keys.related, join.name)):
        if rows:
            one = rows == 1
            out.append(f"{format_number(rows)} {'row' if one else 'rows'} of {where} "
                       f"{'has' if one else 'have'} a {key} that is no number (e.g. "
                       f"{_unreadable_example(frame[key], ids)!r}), so "
                       f"{'it matches' if one else 'they match'} nothing.")
    if report.events_missing_time:
        out.append(f"{format_number(report.events_missing_time)} {join.name} rows have no "
                   f"readable {join.cutoff.event_column} and were left out.")
    if report.rows_missing_cutoff:
        out.append(f"{format_number(report.rows_missing_cutoff)} main rows have no "
                   f"{join.cutoff.main_column}, so their {join.name} features are missing, even "
                   "the count: which events they may see is unknown.")
    if join.relation == "one_to_many" and report.relation_found != "one_to_many" \
            and report.related_rows:
        out.append(f"Each {join.related_key} occurs at most once in {join.name}, so each "
                   "aggregate summarises one row at most; a many-to-one join would add its "
                   "columns as they are.")
    return out


# --------------------------------------------------------------------------- words and script


def describe_joins(joins: list[Join], reports: list[JoinReport] | None = None) -> list[str]:
    """One sentence per join for the report: what was joined, how, and what did not match.

    Examples
    --------
    >>> describe_joins([Join("plans", "plan_id", "id")])
    ['Joins plans on plan_id = id, many-to-one: adds every column of plans but its key.']
    """
    reports = reports or []
    by_name = {r.name: r for r in reports}
    sentences = []
    for join in joins:
        report = by_name.get(join.name)
        verb = "Joined" if report else "Joins"
        size = f" ({format_number(report.related_rows)} rows)" if report else ""
        text = f"{verb} {join.name}{size} on {join.main_key} = {join.related_key}, " \
               f"{join.relation.replace('_', '-')}: "
        if join.relation == "one_to_many":
            n = len(join.aggregates)
            unit = re.sub(r"(^|_)(id|key|no|nr|code)$", "", join.main_key, flags=re.IGNORECASE) or "key"
            text += f"{n} feature{'s' if n != 1 else ''} per {unit} from {join.name}"
            if join.cutoff is None:
                text += " (all of them: no cutoff, so they may include the future)"
            elif join.cutoff.main_column:
                text += f" before each row's {join.cutoff.main_column}"
            else:
                text += f" before {join.cutoff.date}"
        else:
            text += (f"adds {', '.join(join.columns)}" if join.columns else
                     f"adds every column of {join.name} but its key")
        if report:
            missing = "had no " + join.name if join.relation == "one_to_many" else \
                "found no match"
            text += (f"; {format_number(report.unmatched_rows)} main rows "
                     f"({format_percent(report.unmatched_share)}) {missing}")
        sentences.append(text + ".")
    return sentences


_SCRIPT_APPLY = '''

def apply_joins(main, related):
    """The main table with the joined tables' columns added: exactly its rows, order and index.

    ``related`` maps each joined table's name (as in JOINS) to its DataFrame.
    """
    added = {}
    for join in JOINS:
        table = related[join["name"]]
        keys = join_keys(main[join["main_key"]], table[join["related_key"]])
        columns, _ = joined_columns(main, table, join, keys)
        added.update(columns)
    return joined_table(main, added)
'''


def join_script(joins: list[Join]) -> str:
    """Python source (pandas and NumPy only) with ``apply_joins(main, related)`` for ``joins``.

    ``related`` is a dict of table name to DataFrame; the function returns what
    ``apply_joins(main, related, joins).table`` returns, computed by the same code
    (:mod:`core.ingest._join_keys`, copied in). It checks less: a join whose related keys
    repeat raises ``ValueError`` instead of a :class:`TabwrightError` with examples.
    """
    definitions = [member for _, member in inspect.getmembers(_join_keys)
                   if (inspect.isfunction(member) or inspect.isclass(member))
                   and member.__module__ == _join_keys.__name__]
    definitions.sort(key=lambda member: inspect.getsourcelines(member)[1])
    specs = pprint.pformat([dataclasses.asdict(j) for j in joins], width=96, sort_dicts=False)
    header = "\n".join([
        "# Joins: the related tables' columns and per-key features added to the main table, as",
        "# tabwright computed them. Call apply_joins(main, {name: related_table, ...}).",
        "import warnings",
        "from typing import NamedTuple",
        "",
        "import numpy as np",
        "import pandas as pd",
        "",
        f"JOINS = {specs}",
    ])
    sources = [inspect.getsource(member).rstrip() for member in definitions]
    return "\n\n\n".join([header, *sources, _SCRIPT_APPLY.strip()]) + "\n"
