"""The arithmetic of a join: which keys are the same, and which related rows each main row sees.

Everything here is pandas and NumPy only, and the module holds nothing but imports, classes and
functions: :func:`core.ingest.join_script` copies them verbatim into exported scripts, so a
script computes exactly what the app computed (for the same reason there is no ``from
__future__ import annotations``: the annotations run in the script as they run here).
:mod:`core.ingest._join` checks a join first and explains in the user's words what is wrong;
the few checks here raise ``ValueError`` only so that a script run on changed data stops
instead of returning wrong rows.

Keys
----
Values are compared after normalising them. Text loses surrounding spaces (an empty text is
missing). Numbers are whole numbers when every value is (``7.0`` is ``7``). When one key holds
numbers and the other text, the text is read as numbers (``"007"`` is ``7``) and text that is
no number matches nothing. Dates are compared as UTC moments (a date without a time zone is
taken as UTC). Missing keys never match. Numbers and dates, or text and dates, cannot be
compared (:class:`KeyMismatch`).

Events and cutoffs
------------------
A one-to-many join summarises, for each main row, the related rows ("events") of its key that
happened strictly before the row's cutoff. Pairing every main row with every event of its key
would multiply rows (a customer seen on 50 dates with 1,000 orders is 50,000 pairs), so the
main rows of each key are sorted by cutoff instead, and each event is given to the first of
them that may see it (a vectorised binary search); that row and every later row of the key see
it. Each row's features are then running totals over its key's rows: sums and counts by
cumulative sums, maxima by cumulative maxima, the latest event by carrying the last row that
has one forward, distinct values by counting each value once, at the first row that sees it.
Time and memory grow with the number of rows, never with the number of pairs.
"""

import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd


class KeyMismatch(ValueError):
    """Two key columns whose values cannot be the same (numbers and dates, text and dates)."""

    def __init__(self, main_kind: str, related_kind: str) -> None:
        super().__init__(f"the main key holds {main_kind} values and the related key "
                         f"{related_kind} values, which cannot be the same")
        self.kinds = (main_kind, related_kind)


class JoinKeys(NamedTuple):
    """Both tables' keys as numbers: equal numbers are the same key, ``-1`` matches nothing.

    Attributes
    ----------
    main : numpy.ndarray
        Each main row's key: the number of the related table's key it matches, or -1 (missing,
        or not in the related table).
    related : numpy.ndarray
        Each related row's key, 0 to ``n_keys`` - 1, or -1 (missing, or no readable number).
    n_keys : int
        How many distinct keys the related table has.
    main_own : numpy.ndarray
        Each main row's key among the main table's own keys (-1: missing), to count repeats.
    compared_as : str
        ``"number"``, ``"text"``, ``"datetime"`` or ``"bool"``: what the values were compared as.
    main_kind, related_kind : str
        What each key column holds: those four, or ``"empty"`` (no value at all).
    unreadable : tuple of int
        Rows of each table whose key is text that is not a number, when compared as numbers.
    """

    main: np.ndarray
    related: np.ndarray
    n_keys: int
    main_own: np.ndarray
    compared_as: str
    main_kind: str
    related_kind: str
    unreadable: tuple[int, int]


def distinct_keys(series: pd.Series) -> tuple[np.ndarray, pd.Index, str]:
    """Each row's code into the column's distinct values (-1: missing), those values, their kind.

    The kind is ``"number"``, ``"text"``, ``"datetime"``, ``"bool"`` or ``"empty"``.
    """
    codes, uniques = pd.factorize(series)
    uniques = pd.Index(uniques)
    if isinstance(uniques.dtype, pd.CategoricalDtype):
        uniques = pd.Index(np.asarray(uniques))
    if len(uniques) == 0:
        kind = "empty"
    elif pd.api.types.is_bool_dtype(uniques.dtype):
        kind = "bool"
    elif pd.api.types.is_datetime64_any_dtype(uniques.dtype):
        kind = "datetime"
    elif pd.api.types.is_numeric_dtype(uniques.dtype):
        kind = "number"
    else:
        inferred = pd.api.types.infer_dtype(uniques, skipna=True)
        kind = {"integer": "number", "floating": "number", "mixed-integer-float": "number",
                "decimal": "number", "boolean": "bool", "datetime": "datetime",
                "datetime64": "datetime", "date": "datetime"}.get(inferred, "text")
    codes = codes.astype(np.int64, copy=False)
    if kind == "text":  # a blank text is a missing key
        blank = (pd.Series(np.asarray(uniques, dtype=object)).astype(str).str.strip() == "")
        if blank.any():
            codes = np.where((codes >= 0) & blank.to_numpy()[codes], -1, codes)
    return codes, uniques, kind


def compare_keys_as(main_kind: str, related_kind: str) -> str | None:
    """What two key columns are compared as, or None when they cannot hold the same values."""
    kinds = {main_kind, related_kind} - {"empty"}
    if len(kinds) <= 1:
        return kinds.pop() if kinds else "text"
    return "number" if kinds == {"number", "text"} else None


def canonical_keys(uniques: pd.Index, kind: str, compared_as: str
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Distinct key values as they are compared, and which of them can match at all."""
    if kind == "empty":
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    if compared_as == "datetime":
        stamps = pd.DatetimeIndex(pd.to_datetime(uniques, errors="coerce", utc=True))
        values = stamps.as_unit("ns").asi8
        return values, values != np.iinfo(np.int64).min
    if compared_as == "bool":
        return np.asarray(uniques, dtype=bool).astype(np.int64), np.ones(len(uniques), dtype=bool)
    if compared_as == "text":
        text = pd.Series(np.asarray(uniques, dtype=object)).astype(str).str.strip()
        return text.to_numpy(dtype=object), (text != "").to_numpy()
    if kind == "text":
        text = pd.Series(np.asarray(uniques, dtype=object)).astype(str).str.strip()
        numbers = pd.to_numeric(text, errors="coerce").to_numpy()
    else:
        numbers = pd.to_numeric(pd.Series(uniques), errors="coerce").to_numpy()
    if numbers.dtype.kind in "iu":
        return numbers.astype(np.int64), np.ones(len(numbers), dtype=bool)
    numbers = numbers.astype(np.float64)
    ok = np.isfinite(numbers)
    present = numbers[ok]
    if np.all(present == np.floor(present)) and np.all(np.abs(present) < 2.0 ** 63):
        return np.where(ok, numbers, 0).astype(np.int64), ok
    return numbers, ok


def key_ids(codes: np.ndarray, values: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's key number (-1: none) and the distinct keys, from codes and canonical values."""
    ids, keys = pd.factorize(values[ok])
    per_unique = np.full(len(values) + 1, -1, dtype=np.int64)  # the last one is for code -1
    per_unique[np.flatnonzero(ok)] = ids
    return per_unique[codes], np.asarray(keys)


def join_keys(main_key: pd.Series, related_key: pd.Series) -> JoinKeys:
    """Number both key columns so that equal keys get equal numbers (see the module's rules).

    Raises
    ------
    KeyMismatch
        If the two columns cannot hold the same values (e.g. numbers and dates).
    """
    main_codes, main_uniques, main_kind = distinct_keys(main_key)
    related_codes, related_uniques, related_kind = distinct_keys(related_key)
    compared_as = compare_keys_as(main_kind, related_kind)
    if compared_as is None:
        raise KeyMismatch(main_kind, related_kind)
    main_values, main_ok = canonical_keys(main_uniques, main_kind, compared_as)
    related_values, related_ok = canonical_keys(related_uniques, related_kind, compared_as)
    main_own, main_keys = key_ids(main_codes, main_values, main_ok)
    related_ids, related_keys = key_ids(related_codes, related_values, related_ok)
    position = pd.Index(related_keys).get_indexer(main_keys) if len(main_keys) else \
        np.zeros(0, dtype=np.int64)
    unreadable = tuple(int(((codes >= 0) & (ids < 0)).sum())
                       for codes, ids in ((main_codes, main_own), (related_codes, related_ids)))
    return JoinKeys(main=np.append(position, -1)[main_own], related=related_ids,
                    n_keys=len(related_keys), main_own=main_own, compared_as=compared_as,
                    main_kind=main_kind, related_kind=related_kind, unreadable=unreadable)


def nanoseconds(values: pd.Series) -> np.ndarray:
    """Moments as int64 nanoseconds since 1970 in UTC; missing or unreadable: the int64 minimum.

    Text is parsed as dates; a moment without a time zone is taken as UTC.
    """
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "M":
        return values.to_numpy(dtype="datetime64[ns]").view(np.int64)  # no copy when in ns
    with warnings.catch_warnings():  # "could not infer format": unreadable values are counted
        warnings.simplefilter("ignore", UserWarning)
        stamps = pd.DatetimeIndex(pd.to_datetime(values, errors="coerce", utc=True))
    return stamps.as_unit("ns").asi8


def cutoff_nanoseconds(main: pd.DataFrame, cutoff: dict) -> np.ndarray:
    """Each main row's cutoff (its prediction-time column, or the fixed date) in nanoseconds."""
    if cutoff["main_column"] is not None:
        return nanoseconds(main[cutoff["main_column"]])
    moment = pd.to_datetime(cutoff["date"], utc=True).as_unit("ns").value
    return np.full(len(main), moment, dtype=np.int64)


def lookup_positions(keys: JoinKeys) -> np.ndarray:
    """Each main row's related row (-1: none), for a join whose related keys do not repeat."""
    present = np.flatnonzero(keys.related >= 0)
    if (np.bincount(keys.related[present], minlength=keys.n_keys) > 1).any():
        raise ValueError("keys repeat in the related table, so joining its columns would "
                         "repeat main rows; summarise it per key (one_to_many) instead")
    position = np.full(keys.n_keys + 1, -1, dtype=np.int64)  # the last one is for key -1
    position[keys.related[present]] = present
    return position[keys.main]


def first_row_after(cutoffs: np.ndarray, key_start: np.ndarray, key_end: np.ndarray,
                    event_keys: np.ndarray, event_times: np.ndarray) -> np.ndarray:
    """For each event, the first row of its key whose cutoff is after the event's time (the
    key's end when none is). Rows are sorted by key, then cutoff: a vectorised binary search."""
    low, high = key_start[event_keys], key_end[event_keys]
    active = np.flatnonzero(low < high)
    while active.size:
        lo, hi = low[active], high[active]
        middle = (lo + hi) // 2
        after = cutoffs[middle] > event_times[active]
        high[active] = np.where(after, middle, hi)
        low[active] = np.where(after, lo, middle + 1)
        active = active[low[active] < high[active]]
    return low


def running_total(per_row: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Cumulative sums that restart at each key's first row (``block``: that row, per row)."""
    total = np.cumsum(per_row)
    return total - total[block] + per_row[block]


def latest_event(row: np.ndarray, times: np.ndarray, events: np.ndarray, block: np.ndarray
                 ) -> np.ndarray:
    """For each row, the related row of the latest event it sees (-1: none).

    ``row`` is the first row that sees each event (rows sorted by key, then cutoff), so a row
    sees its own events and those of its key's earlier rows, which are all earlier in time: the
    latest is in the last row so far that has any. Ties in time go to the later related row.
    """
    n_rows = len(block)
    latest_time = np.full(n_rows, np.iinfo(np.int64).min)
    np.maximum.at(latest_time, row, times)
    at_latest = times == latest_time[row]
    latest = np.full(n_rows, -1, dtype=np.int64)
    np.maximum.at(latest, row[at_latest], events[at_latest])
    carried = np.maximum.accumulate(np.where(latest >= 0, np.arange(n_rows), -1))
    return np.where(carried >= block, latest[carried], -1)


def running_extreme(values: np.ndarray, row: np.ndarray, row_keys: np.ndarray, function: str
                    ) -> np.ndarray:
    """Each row's maximum (or minimum) of the values it sees; ±inf where it sees none."""
    if function == "max":
        per_row = np.full(len(row_keys), -np.inf)
        np.maximum.at(per_row, row, values)
        return pd.Series(per_row).groupby(row_keys).cummax().to_numpy()
    per_row = np.full(len(row_keys), np.inf)
    np.minimum.at(per_row, row, values)
    return pd.Series(per_row).groupby(row_keys).cummin().to_numpy()


def running_distinct(codes: np.ndarray, event_keys: np.ndarray, row: np.ndarray,
                     block: np.ndarray) -> np.ndarray:
    """How many distinct values (``codes``, -1: missing) each row sees among its key's events."""
    present = codes >= 0
    pairs = event_keys[present] * (int(codes.max(initial=0)) + 1) + codes[present]
    pair_ids, distinct_pairs = pd.factorize(pairs)
    first_row = np.full(len(distinct_pairs), len(block), dtype=np.int64)
    np.minimum.at(first_row, pair_ids, row[present])
    return running_total(np.bincount(first_row, minlength=len(block) + 1)[:-1], block)


def take_rows(values: pd.Series, positions: np.ndarray) -> object:
    """The values at ``positions``, missing where a position is -1 (whole numbers then become
    decimals, as in a left join)."""
    if isinstance(values.dtype, np.dtype):
        return pd.api.extensions.take(values.to_numpy(), positions, allow_fill=True)
    return values.array.take(positions, allow_fill=True)


def aggregate_name(name: str, function: str, column: str | None) -> str:
    """``{name}_count``, ``{name}_days_since_last`` or ``{name}_{function}_{column}``."""
    return "_".join([name, function] + ([column] if column is not None else []))


class EventWindows(NamedTuple):
    """Which related rows ("events") each main row of a one-to-many join sees.

    Attributes
    ----------
    rows : numpy.ndarray
        The main rows that may see events (a key in the related table and a cutoff), sorted by
        key, then cutoff. The arrays below that are per row follow this order.
    row_keys, row_cutoffs : numpy.ndarray
        Their keys, and their cutoffs in nanoseconds.
    block : numpy.ndarray
        For each of them, the position of its key's first row: a row sees the events of its
        key's rows from ``block`` up to itself.
    events : numpy.ndarray
        The related rows some main row sees.
    row, event_keys : numpy.ndarray
        For each event, the first row (a position in ``rows``) that sees it, and its key.
    times : numpy.ndarray or None
        Every related row's time in nanoseconds (None without a cutoff).
    unknown : numpy.ndarray
        Per main row: it has a key but no cutoff, so what it may see is unknown.
    """

    rows: np.ndarray
    row_keys: np.ndarray
    row_cutoffs: np.ndarray
    block: np.ndarray
    events: np.ndarray
    row: np.ndarray
    event_keys: np.ndarray
    times: np.ndarray | None
    unknown: np.ndarray


def event_windows(main: pd.DataFrame, related: pd.DataFrame, join: dict, keys: JoinKeys
                  ) -> tuple[EventWindows, dict[str, int]]:
    """Which events each main row sees (strictly before its cutoff), and what was left out."""
    nat = np.iinfo(np.int64).min
    cutoff = join["cutoff"]
    if cutoff is None:
        cutoffs = np.full(len(main), np.iinfo(np.int64).max)
        times = None
    else:
        cutoffs = cutoff_nanoseconds(main, cutoff)
        times = nanoseconds(related[cutoff["event_column"]])
    unknown = (keys.main >= 0) & (cutoffs == nat)
    rows = np.flatnonzero((keys.main >= 0) & ~unknown)
    rows = rows[np.lexsort((cutoffs[rows], keys.main[rows]))]
    row_keys, row_cutoffs = keys.main[rows], cutoffs[rows]
    rows_per_key = np.bincount(row_keys, minlength=keys.n_keys)
    key_end = np.cumsum(rows_per_key)
    key_start = key_end - rows_per_key

    with_key = keys.related >= 0
    events = np.flatnonzero(with_key if times is None else with_key & (times != nat))
    event_keys = keys.related[events]
    events_per_key = np.bincount(event_keys, minlength=keys.n_keys)
    if times is None:
        row = key_start[event_keys]
    else:
        row = np.empty(len(events), dtype=np.int64)
        for start in range(0, len(events), 1_000_000):  # in parts: a few 8 MB temporaries
            part = slice(start, start + 1_000_000)
            row[part] = first_row_after(row_cutoffs, key_start, key_end, event_keys[part],
                                        times[events[part]])
    seen = row < key_end[event_keys]
    n_timed = len(events)
    events = events[seen]  # one at a time, so that only one old copy is alive at a time
    row = row[seen]
    event_keys = event_keys[seen]
    windows = EventWindows(rows=rows, row_keys=row_keys, row_cutoffs=row_cutoffs,
                           block=key_start[row_keys], events=events, row=row,
                           event_keys=event_keys, times=times, unknown=unknown)
    count = running_total(np.bincount(row, minlength=len(rows)), windows.block)
    info = {"events_missing_time": int(with_key.sum()) - n_timed,
            "events_excluded_by_cutoff": int((events_per_key[row_keys] - count).sum()),
            "rows_missing_cutoff": int(unknown.sum())}
    return windows, info


def per_main_row(values: np.ndarray, windows: EventWindows, no_events: float) -> np.ndarray:
    """Per-row values (in ``windows.rows`` order) for every main row: ``no_events`` for rows
    that see nothing, missing for rows whose cutoff is unknown."""
    unknown = windows.unknown
    dtype = np.float64 if unknown.any() else np.result_type(values, no_events)
    filled = np.full(len(unknown), no_events, dtype=dtype)
    filled[windows.rows] = values
    if unknown.any():
        filled[unknown] = np.nan
    return filled


def aggregate(related: pd.DataFrame, function: str, column: str | None, windows: EventWindows
              ) -> object:
    """One aggregate for every main row (see :func:`aggregated_columns`)."""
    w = windows
    n_rows = len(w.rows)
    if function == "count":
        return per_main_row(running_total(np.bincount(w.row, minlength=n_rows), w.block), w, 0)
    if function == "days_since_last":
        latest = latest_event(w.row, w.times[w.events], w.events, w.block)
        days = (w.row_cutoffs - w.times[np.maximum(latest, 0)]) / 86_400e9
        return per_main_row(np.where(latest >= 0, days, np.nan), w, np.nan)
    if function == "nunique":
        codes = pd.factorize(related[column])[0][w.events]
        return per_main_row(running_distinct(codes, w.event_keys, w.row, w.block), w, 0)
    if function == "last":
        present = related[column].notna().to_numpy()[w.events]
        latest = latest_event(w.row[present], w.times[w.events[present]], w.events[present],
                              w.block)
        source = np.full(len(w.unknown), -1, dtype=np.int64)
        source[w.rows] = latest
        return take_rows(related[column], source)
    values = related[column].to_numpy(dtype=np.float64, na_value=np.nan)[w.events]
    present = ~np.isnan(values)
    n_values = running_total(np.bincount(w.row[present], minlength=n_rows), w.block)
    if function in ("min", "max"):
        extreme = running_extreme(values[present], w.row[present], w.row_keys, function)
        return per_main_row(np.where(n_values > 0, extreme, np.nan), w, np.nan)
    total = running_total(np.bincount(w.row[present], weights=values[present],
                                      minlength=n_rows), w.block).astype(np.float64)
    if function == "sum":
        return per_main_row(total, w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return per_main_row(np.where(n_values > 0, total / n_values, np.nan), w, np.nan)


def aggregated_columns(main: pd.DataFrame, related: pd.DataFrame, join: dict, keys: JoinKeys
                       ) -> tuple[dict[str, object], dict[str, int]]:
    """A one-to-many join's features per main row, and counts of what was left out.

    A row whose key is missing or not in the related table sees no events (count 0, sum 0,
    nunique 0, others missing). A row with a key but no cutoff gets every feature missing, the
    count too: which events it may see is unknown. ``last`` is the latest event's value, or
    the latest known one when that is missing; on a tie in time, the later related row's.
    """
    windows, info = event_windows(main, related, join, keys)
    return {aggregate_name(join["name"], a["function"], a["column"]):
            aggregate(related, a["function"], a["column"], windows)
            for a in join["aggregates"]}, info


def joined_columns(main: pd.DataFrame, related: pd.DataFrame, join: dict, keys: JoinKeys
                   ) -> tuple[dict[str, object], dict[str, int]]:
    """The columns one join adds to the main table, in its rows' order, and what it left out.

    ``join`` is a :class:`core.recipe.Join` as plain data (``dataclasses.asdict``).
    """
    if join["relation"] == "one_to_many":
        return aggregated_columns(main, related, join, keys)
    positions = lookup_positions(keys)
    names = join["columns"] or [c for c in related.columns if c != join["related_key"]]
    return {f"{join['name']}_{column}": take_rows(related[column], positions)
            for column in names}, {}


def joined_table(main: pd.DataFrame, added: dict[str, object]) -> pd.DataFrame:
    """The main table with the added columns after its own: its rows, order and index."""
    if not added:
        return main.copy()
    return pd.concat([main, pd.DataFrame(added, index=main.index)], axis=1)
