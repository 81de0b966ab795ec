"""What each column is: its role, the evidence for it, and the task its target implies.

A *role* is what a column means to a model, decided from its values (and, for IDs, its name):

=========== =================================================================================
numeric     amounts and measurements, and small whole-number scales such as 1/2/3 classes
categorical labels from a limited set ("France", "Spain"), or whole numbers that are only codes
boolean     exactly two values (True/False, "yes"/"no", 0/1, "male"/"female")
datetime    dates and times (already parsed when the table was read)
text        free text: long, mostly different strings of several words
identifier  row numbers and codes that differ on every row; they carry no pattern to learn
constant    one value on every row (or nothing at all)
=========== =================================================================================

Every decision comes with ``evidence``: one sentence saying why, in numbers, so a learner can
check it and overrule it.

Speed: a column is scanned once. Numbers are sorted once (numpy sorts a million values in
~20 ms) and every statistic is read off the sorted array; other values are factorized once,
except long near-unique text (IDs, free text), which is only probed on a sample. The string
checks that need Python per value (word counts, does it parse as a number or a date) look at
a random sample of :data:`PARSE_SAMPLE` values.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.errors import TabwrightError
from core.formatting import format_number, format_percent, json_safe

TASKS = ("binary", "multiclass", "regression")

PARSE_SAMPLE = 2_000
"""Values drawn at random from a text column for word counts and number/date parsing."""
EXACT_COUNT_ROWS = 200_000
"""Text columns longer than this are first probed on a random sample of ``PROBE_ROWS``..."""
PROBE_ROWS = 100_000
"""...and when the sample is nearly all different, its distinct values are estimated from it
(``stats["sample_rows"]`` then says so) instead of counted exactly."""
MIN_ROWS_FOR_IDENTIFIER = 20
"""Below this many values, "every value is different" is not evidence of an ID."""
IDENTIFIER_UNIQUE_FRACTION = 0.95
"""Share of distinct values from which short strings are taken to be IDs."""
INTEGER_IDENTIFIER_UNIQUE_FRACTION = 0.99
"""Share of distinct values from which whole numbers may be IDs..."""
RUNNING_SEQUENCE_FILL = 0.9
"""...if they fill at least this share of the range from their min to their max (a running
number), or if the name reads like an ID ("CustomerId", "order_no")."""
SMALL_INTEGER_LEVELS = 15
"""Whole-number columns with at most this many values are scales or codes, never amounts..."""
SCALE_FILL = 0.5
"""...scales (numeric) when the values fill at least this share of their range, as 1, 2, 3
do; codes (categorical) when they are spread thin, as 10, 20, 35, 99, 990 are."""
CODE_REPEATS = 2
"""...and only when each value is used this many times on average: codes repeat, while 14
different ages in a 15-row table are amounts."""
MAX_CLASSES = 50
"""Most classes a classification target may have."""
REGRESSION_MIN_VALUES = 20
"""A numeric target with more distinct values than this is a regression target..."""
SMALL_INTEGER_RANGE = 50
"""...unless its values are whole numbers spanning at most this many steps."""
GAPPED_COUNT_VALUES = 10
"""...and whole numbers with more values than this, a gap between them, a right tail and the
most rows at the low end are counts (regression): see :func:`_looks_like_counts`."""
TEXT_MIN_WORDS = 5
"""Average words per value from which a varied string column is free text."""
TEXT_MIN_LENGTH = 50
"""Average characters per value from which a varied string column is free text."""
TEXT_UNIQUE_FRACTION = 0.3
"""Long strings must be at least this varied to be free text rather than a few long labels."""
PARSE_FRACTION = 0.9
"""Share of text values that must read as numbers (or dates) to say the column holds them."""
MIXED_FRACTION = 0.2
"""From this share of numbers (up to :data:`PARSE_FRACTION`), text mixes numbers and words."""

TARGET_WORDS = frozenset({
    "target", "label", "labels", "class", "y", "outcome", "churn", "churned", "exited",
    "attrition", "survived", "default", "defaulted", "price", "fraud", "diagnosis", "quality",
    "value",
})
"""Name parts that suggest a column is what the table was built to predict."""

_ID_NAME = re.compile(r"(^|[^a-z])(id|ids|key|uuid|guid|no|nr|number|index|code)$|[a-z]Id$|ID$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_CODE_WITH_LEADING_ZERO = re.compile(r"^0\d")
_DATE = re.compile(
    r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"  # 2021-03-04, 2021/3/4 (time may follow)
    r"|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"  # 04/03/2021, 4.3.21
    r"|^\d{1,2}[ -][A-Za-z]{3,9}[ -,]+\d{2,4}"  # 4 March 2021, 04-Mar-2021
    r"|^[A-Za-z]{3,9}\.? \d{1,2},? \d{4}"  # March 4, 2021
)
_NAME_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


@dataclass
class ColumnInfo:
    """One column's role, the evidence for it, and summary statistics.

    Parameters
    ----------
    name : str
        Column name as in the table.
    role : str
        One of :data:`ROLES`.
    dtype : str
        The pandas dtype the column was read as, e.g. ``"int64"``, ``"object"``.
    missing_fraction : float
        Share of rows with no value, 0–1.
    n_unique : int
        Distinct non-missing values.
    evidence : str
        The reason for the role in words, with numbers.
    stats : dict
        JSON-safe summary. Every column but dates: ``top``, the most common values as
        [(value, count)], at most 10. Numbers: ``min, max, mean, std, median, q1, q3, zeros``,
        ``p01, p99`` (1st and 99th percentiles) and ``whole_numbers``. Strings:
        ``mean_length``, ``mean_words``, ``number_fraction`` and ``date_fraction`` (shares of
        sampled values that read as numbers / dates) and ``non_numbers`` (up to three values
        that do not, when at least :data:`MIXED_FRACTION` do). Dates: ``min, max`` as ISO
        strings. When a long text column was counted on a sample, ``sample_rows`` gives its
        size, and ``n_unique`` and the ``top`` counts are estimates.
    """

    name: str
    role: str
    dtype: str
    missing_fraction: float
    n_unique: int
    evidence: str
    stats: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The column as JSON-safe data (tuples become lists, NaN becomes None)."""
        return json_safe({
            "name": self.name, "role": self.role, "dtype": self.dtype,
            "missing_fraction": self.missing_fraction, "n_unique": self.n_unique,
            "evidence": self.evidence, "stats": self.stats,
        })


@dataclass
class TaskGuess:
    """The kind of prediction a target column asks for.

    Parameters
    ----------
    task : str
        One of :data:`TASKS`.
    reason : str
        Why, in words.
    n_classes : int or None
        Number of classes (classification only).
    classes : list or None
        The classes, JSON-safe and sorted (classification only).
    """

    task: str
    reason: str
    n_classes: int | None = None
    classes: list | None = None

    def to_dict(self) -> dict:
        """The guess as JSON-safe data."""
        return json_safe({"task": self.task, "reason": self.reason,
                          "n_classes": self.n_classes, "classes": self.classes})


@dataclass
class TargetSuggestion:
    """A column that could be the target, with a 0–1 score and the reason."""

    column: str
    task: str
    score: float
    reason: str

    def to_dict(self) -> dict:
        """The suggestion as JSON-safe data."""
        return json_safe({"column": self.column, "task": self.task,
                          "score": self.score, "reason": self.reason})


def unknown_column(name: str, names: list[str]) -> TabwrightError:
    """The error for a column name that is not in the table, suggesting close matches.

    Examples
    --------
    >>> unknown_column("Survived", ["survived", "age"]).full_text
    "There is no column named 'Survived'. Did you mean 'survived'?"
    """
    folded = {n.strip().lower(): n for n in names}
    close = ([folded[name.strip().lower()]] if name.strip().lower() in folded else
             difflib.get_close_matches(name, names, n=3, cutoff=0.6))
    if close:
        hint = f"Did you mean {' or '.join(repr(c) for c in close)}?"
    else:
        listed = ", ".join(repr(n) for n in names[:10]) + (", …" if len(names) > 10 else "")
        hint = f"The columns are {listed}." if names else "The table has no columns."
    return TabwrightError(f"There is no column named {name!r}.", hint)


def infer_roles(frame: pd.DataFrame, *,
                codes: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> list[ColumnInfo]:
    """Decide the role of every column and explain each decision.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as read: numbers as numeric dtypes, dates as datetime64, missing as NaN.
    codes : dict, optional
        Text column → its ``pandas.factorize`` (codes, distinct values), when already made
        (:attr:`core.ingest._read.LoadedTable.codes`); the others are factorized here.

    Returns
    -------
    list of ColumnInfo
        One per column, in the table's order.

    Raises
    ------
    TabwrightError
        If two columns share a name.

    Examples
    --------
    >>> frame = pd.DataFrame({"id": range(1, 101), "city": ["Oslo", "Rome"] * 50})
    >>> [c.role for c in infer_roles(frame)]
    ['identifier', 'boolean']
    """
    names = [str(c) for c in frame.columns]
    repeated = sorted(n for n, count in Counter(names).items() if count > 1)
    if repeated:
        raise TabwrightError(
            f"Column names must be unique, got {', '.join(map(repr, repeated))} more than once.",
            "Rename the repeated columns in the file's header row.",
        )
    codes = codes or {}
    return [_describe_column(name, frame.iloc[:, i], codes.get(name))
            for i, name in enumerate(names)]


def _describe_column(name: str, series: pd.Series,
                     codes: tuple[np.ndarray, np.ndarray] | None = None) -> ColumnInfo:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return _describe_dates(name, series)
    if is_numeric(series.dtype):
        return _describe_numbers(name, series)
    return _describe_values(name, series, codes)


def is_numeric(dtype: object) -> bool:
    """Whether a dtype holds numbers that are not booleans."""
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def sorted_numbers(series: pd.Series) -> tuple[np.ndarray, int]:
    """The non-missing values of a numeric column, sorted, and how many were missing.

    Integer columns stay integers so that large IDs keep every digit.
    """
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu":
        return np.sort(series.to_numpy()), 0
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    present = values[~np.isnan(values)]
    return np.sort(present), len(values) - len(present)


def _run_lengths(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and how often each occurs."""
    if sorted_values.size == 0:
        return sorted_values, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    counts = np.diff(np.append(starts, sorted_values.size))
    return sorted_values[starts], counts


def _top(values: np.ndarray | pd.Index, counts: np.ndarray, k: int = 10) -> list[tuple]:
    """The k most frequent values as (value, count), most frequent first, JSON-safe."""
    order = np.argsort(-counts, kind="stable") if counts.size <= 1000 else None
    if order is None:
        best = np.argpartition(-counts, k - 1)[:k]
        order = best[np.argsort(-counts[best], kind="stable")]
    return [(json_safe(values[i]), int(counts[i])) for i in order[:k]]


def _all_whole(distinct: np.ndarray) -> bool:
    """Whether sorted distinct numbers are all whole (±inf, only ever at the ends, is not)."""
    if distinct.dtype.kind in "iu":
        return True
    if distinct.size and not (np.isfinite(distinct[0]) and np.isfinite(distinct[-1])):
        return False
    return bool(np.all(np.floor(distinct) == distinct))


def _quantile(sorted_values: np.ndarray, q: float) -> float:
    position = q * (sorted_values.size - 1)
    low = int(math.floor(position))
    high = min(low + 1, sorted_values.size - 1)
    a, b = float(sorted_values[low]), float(sorted_values[high])
    return a + (b - a) * (position - low)


def _describe_numbers(name: str, series: pd.Series) -> ColumnInfo:
    values, missing = sorted_numbers(series)
    n_rows = len(series)
    distinct, counts = _run_lengths(values)
    n_unique = distinct.size
    whole = _all_whole(distinct)
    base = dict(name=name, dtype=str(series.dtype), missing_fraction=_fraction(missing, n_rows),
                n_unique=n_unique)
    if n_unique <= 1:
        top = _top(distinct, counts)
        return ColumnInfo(role="constant", evidence=_constant_evidence(top, n_rows),
                          stats={"top": top}, **base)

    as_float = values.astype("float64", copy=False)
    lo, hi = float(values[0]), float(values[-1])
    with np.errstate(over="ignore", invalid="ignore"):  # huge values give inf, stored as None
        mean, std = float(as_float.mean()), float(as_float.std(ddof=1))
    stats = {
        "min": lo, "max": hi, "mean": mean, "std": std, "median": _quantile(values, 0.5),
        "q1": _quantile(values, 0.25), "q3": _quantile(values, 0.75),
        "p01": _quantile(values, 0.01), "p99": _quantile(values, 0.99),
        "zeros": int(np.count_nonzero(values == 0)), "whole_numbers": whole,
        "top": _top(distinct, counts),
    }
    span = f"{format_number(lo)}–{format_number(hi)}"
    if n_unique == 2:
        return ColumnInfo(role="boolean", stats=stats, evidence=(
            f"Only two values, {format_number(lo)} ({counts[0]:,} rows) and "
            f"{format_number(hi)} ({counts[1]:,} rows): a yes/no column."), **base)

    n_present = values.size
    if (whole and n_present >= MIN_ROWS_FOR_IDENTIFIER
            and n_unique >= INTEGER_IDENTIFIER_UNIQUE_FRACTION * n_present):
        different = ("every value different" if n_unique == n_present else
                     f"{format_percent(n_unique / n_present)} of values different")
        if n_unique >= RUNNING_SEQUENCE_FILL * (hi - lo + 1):
            in_order = bool(np.all(np.diff(series.to_numpy(dtype="float64")) == 1))
            gaps = "no" if n_unique == hi - lo + 1 else "few"
            how = "rising by 1" if in_order else f"filling the range with {gaps} gaps"
            return ColumnInfo(role="identifier", stats=stats, evidence=(
                f"Whole numbers {span}, {different}, {how}: looks like a row ID."), **base)
        if values.dtype.kind in "iu" and _ID_NAME.search(name.strip()):
            return ColumnInfo(role="identifier", stats=stats, evidence=(
                f"Whole numbers {span}, {different}, and the name '{name}' reads like an ID: "
                "a code per row, not an amount."), **base)

    if whole and n_unique <= SMALL_INTEGER_LEVELS and n_present >= CODE_REPEATS * n_unique:
        levels = ", ".join(format_number(v) for v in distinct[:6]) + (", …" if n_unique > 6 else "")
        if n_unique >= SCALE_FILL * (hi - lo + 1):
            return ColumnInfo(role="numeric", stats=stats, evidence=(
                f"Whole numbers {span} in only {n_unique} levels ({levels}): kept as numbers "
                "so a model can use their order (higher means more); make it categorical if "
                "the numbers are only labels."), **base)
        return ColumnInfo(role="categorical", stats=stats, evidence=(
            f"Only {n_unique} whole numbers spread from {format_number(lo)} to "
            f"{format_number(hi)} with big gaps ({levels}): they look like codes, so each is "
            "a category; make it numeric if bigger means more."), **base)

    kind = "Whole numbers" if whole else "Numbers"
    return ColumnInfo(role="numeric", stats=stats, evidence=(
        f"{kind} from {format_number(lo)} to {format_number(hi)} with {n_unique:,} different "
        "values: a quantity."), **base)


def _describe_dates(name: str, series: pd.Series) -> ColumnInfo:
    stamps = series.to_numpy(dtype="datetime64[ns]")
    present = np.sort(stamps[~np.isnat(stamps)])
    distinct, counts = _run_lengths(present)
    base = dict(name=name, dtype=str(series.dtype),
                missing_fraction=_fraction(len(stamps) - present.size, len(stamps)),
                n_unique=distinct.size)
    if distinct.size <= 1:
        top = _top(pd.DatetimeIndex(distinct), counts)
        return ColumnInfo(role="constant", evidence=_constant_evidence(top, len(stamps)),
                          stats={"top": top}, **base)
    first, last = pd.Timestamp(present[0]), pd.Timestamp(present[-1])
    return ColumnInfo(role="datetime", stats={"min": first.isoformat(), "max": last.isoformat()},
                      evidence=f"Dates from {first.date()} to {last.date()} "
                               f"({distinct.size:,} different moments).", **base)


def _describe_values(name: str, series: pd.Series,
                     known: tuple[np.ndarray, np.ndarray] | None = None) -> ColumnInfo:
    codes, uniques, n_present = _factorize_values(series, known)
    present = codes[codes >= 0]
    counts = np.bincount(present, minlength=len(uniques))
    n_rows = len(series)
    sampled = present.size < n_present
    n_unique = round(len(uniques) * n_present / present.size) if sampled else len(uniques)
    base = dict(name=name, dtype=str(series.dtype),
                missing_fraction=_fraction(n_rows - n_present, n_rows), n_unique=n_unique)
    stats: dict = {"top": _top(uniques, counts)}
    if sampled:
        stats["sample_rows"] = len(codes)
    if n_unique <= 1:
        return ColumnInfo(role="constant", stats=stats,
                          evidence=_constant_evidence(stats["top"], n_rows), **base)
    if n_unique == 2:
        (a, ca), (b, cb) = stats["top"]
        return ColumnInfo(role="boolean", stats=stats, evidence=(
            f"Only two values, {a!r} ({ca:,} rows) and {b!r} ({cb:,} rows): a yes/no column."),
            **base)

    sample = [str(v) for v in uniques.take(_sample_codes(present))]
    stats.update(describe_strings(sample))
    unique_fraction = n_unique / n_present
    if stats["number_fraction"] >= PARSE_FRACTION:
        role, evidence = "categorical", (
            f"Text, but {stats['number_fraction']:.0%} of values read as numbers: see the "
            "suggestion to treat it as numeric.")
    elif stats["date_fraction"] >= PARSE_FRACTION:
        role, evidence = "categorical", (
            f"Text, but {stats['date_fraction']:.0%} of values read as dates: see the "
            "suggestion to parse them.")
    elif ((stats["mean_words"] >= TEXT_MIN_WORDS or stats["mean_length"] >= TEXT_MIN_LENGTH)
          and unique_fraction >= TEXT_UNIQUE_FRACTION):
        role, evidence = "text", (
            f"Free text: on average {stats['mean_words']:.1f} words "
            f"({stats['mean_length']:.0f} characters) per value, {unique_fraction:.0%} of "
            "values different.")
    elif n_present >= MIN_ROWS_FOR_IDENTIFIER and unique_fraction >= IDENTIFIER_UNIQUE_FRACTION:
        role, evidence = "identifier", (
            f"{'About ' if sampled else ''}{n_unique:,} different short values in "
            f"{n_present:,} rows "
            f"({unique_fraction:.0%} unique, e.g. {sample[0]!r}): a name or code per row, "
            "not a category shared by many rows.")
    else:
        examples = ", ".join(repr(v) for v, _ in stats["top"][:3])
        role, evidence = "categorical", (
            f"{n_unique:,} different labels, e.g. {examples}; the most common covers "
            f"{format_percent(stats['top'][0][1] / n_present)} of rows.")
    return ColumnInfo(role=role, stats=stats, evidence=evidence, **base)


def _factorize_values(series: pd.Series, known: tuple[np.ndarray, np.ndarray] | None = None
                      ) -> tuple[np.ndarray, pd.Index, int]:
    """Codes (-1 for missing) and distinct values of a column, and its count of values.

    A long column whose random sample of :data:`PROBE_ROWS` is nearly all different is only
    factorized on that sample: counting a million different strings exactly takes longer
    than the rest of the profile and tells nothing more. ``known`` is the column's
    factorization if the reader already made it.
    """
    if len(series) > EXACT_COUNT_ROWS:
        rows = np.random.default_rng(0).choice(len(series), PROBE_ROWS, replace=False)
        codes, uniques = pd.factorize(series.iloc[rows], use_na_sentinel=True)
        in_sample = np.count_nonzero(codes >= 0)
        if in_sample and len(uniques) >= IDENTIFIER_UNIQUE_FRACTION * in_sample:
            return codes, uniques, int(series.notna().sum())
    if known is not None and len(known[0]) == len(series) and series.dtype == object:
        codes, uniques = known[0], pd.Index(known[1], dtype=object)
    else:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return codes, uniques, int(np.count_nonzero(codes >= 0))


def _sample_codes(present_codes: np.ndarray) -> np.ndarray:
    if present_codes.size <= PARSE_SAMPLE:
        return present_codes
    rng = np.random.default_rng(0)
    return present_codes[rng.choice(present_codes.size, PARSE_SAMPLE, replace=False)]


def describe_strings(values: list[str]) -> dict:
    """Length, words, and the shares that read as numbers or as dates, for a list of strings.

    When at least :data:`MIXED_FRACTION` read as numbers, ``non_numbers`` lists up to three of
    the values that do not.

    A number with a leading zero (``"0213"``) counts as a code, not a number, so postcodes
    and account numbers stay text.
    """
    stripped = [v.strip() for v in values]
    is_number = [bool(_NUMBER.match(v)) and not _CODE_WITH_LEADING_ZERO.match(v) for v in stripped]
    numbers = sum(is_number)
    date_like = [v for v in stripped if _DATE.match(v)]
    dates = 0
    if date_like:
        parsed = pd.to_datetime(pd.Series(date_like), errors="coerce", format="mixed")
        dates = int(parsed.notna().sum())
    n = max(len(values), 1)
    found = {
        "mean_length": sum(map(len, values)) / n,
        "mean_words": sum(len(v.split()) for v in values) / n,
        "number_fraction": numbers / n,
        "date_fraction": dates / n,
    }
    if found["number_fraction"] >= MIXED_FRACTION:
        words = [v for v, number in zip(stripped, is_number, strict=True) if not number]
        found["non_numbers"] = list(dict.fromkeys(words))[:3]
    return found


def _constant_evidence(top: list[tuple], n_rows: int) -> str:
    if not top:
        return f"No values at all: every one of the {n_rows:,} rows is missing."
    value = top[0][0]
    return f"Only one value ({value!r}) in every row that has one: it cannot tell rows apart."


def _fraction(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def detect_task(series: pd.Series) -> TaskGuess:
    """Guess whether predicting ``series`` is binary, multiclass or regression.

    Numbers with more than :data:`REGRESSION_MIN_VALUES` distinct values are regression,
    unless they are whole numbers within :data:`SMALL_INTEGER_RANGE` steps; whole numbers
    that look like counts (a gap, a right tail, most rows at 0 or 1) are regression from
    :data:`GAPPED_COUNT_VALUES` values; two values are binary; 3 to :data:`MAX_CLASSES`
    values are multiclass.

    Parameters
    ----------
    series : pandas.Series
        The target column.

    Returns
    -------
    TaskGuess

    Raises
    ------
    TabwrightError
        If the column cannot be a target: all missing, one value only, dates, free text or IDs,
        or more than :data:`MAX_CLASSES` categories.

    Examples
    --------
    >>> detect_task(pd.Series([1, 2, 1, 2, 2])).task
    'binary'
    >>> detect_task(pd.Series(list(range(12)) * 3)).task  # class codes 0-11
    'multiclass'
    >>> detect_task(pd.Series([0] * 20 + [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 14, 26])).task  # counts
    'regression'
    """
    name = str(series.name) if series.name is not None else "the target"
    pick_another = "Pick another column as the target."
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        raise TabwrightError(f"'{name}' holds dates, which cannot be predicted as a target.",
                             pick_another)
    numeric = is_numeric(series.dtype)
    if numeric:
        values, _ = sorted_numbers(series)
        distinct, counts = _run_lengths(values)
    else:
        codes, distinct = pd.factorize(series, use_na_sentinel=True)
        counts = np.bincount(codes[codes >= 0], minlength=len(distinct))
    if distinct.size == 0:
        raise TabwrightError(f"'{name}' has no values: every row is missing.", pick_another)
    if distinct.size == 1:
        raise TabwrightError(
            f"'{name}' has one value only ({json_safe(distinct[0])!r}), so there is nothing to "
            "predict.", pick_another)

    whole = numeric and _all_whole(distinct)
    span = float(distinct[-1]) - float(distinct[0]) if numeric else 0.0
    counted = whole and _looks_like_counts(distinct, counts)
    task = _task_kind(distinct.size, numeric=numeric, whole=whole, span=span, counted=counted)
    if task == "regression":
        return TaskGuess("regression", (
            f"Numbers from {format_number(distinct[0])} to {format_number(distinct[-1])} with "
            f"{distinct.size:,} different values: predicting an amount is regression."))
    if task is None:
        look = describe_strings([str(v) for v in distinct[:PARSE_SAMPLE]])
        if look["number_fraction"] >= PARSE_FRACTION:
            hint = "It holds numbers stored as text: make the column numeric first."
        elif (look["mean_words"] >= TEXT_MIN_WORDS
              or distinct.size >= IDENTIFIER_UNIQUE_FRACTION * counts.sum()):
            raise TabwrightError(
                f"'{name}' looks like free text or an ID ({distinct.size:,} different values "
                f"in {counts.sum():,} rows), not something to predict.", pick_another)
        else:
            hint = "Group rare values into broader ones, or pick another column as the target."
        raise TabwrightError(
            f"'{name}' has {distinct.size:,} different values: too many classes (at most "
            f"{MAX_CLASSES}) to learn each one well.", hint)

    classes = _sorted_classes(distinct)
    largest = ", ".join(f"{json_safe(distinct[i])!r}: {counts[i]:,}"
                        for i in np.argsort(-counts, kind="stable")[:3])
    if task == "binary":
        return TaskGuess("binary", f"Two values ({largest} rows): a yes/no question, so "
                                   "binary classification.", n_classes=2, classes=classes)
    extra = (" Whole numbers in a short range are treated as classes; choose regression if "
             "how far off a guess is matters.") if numeric else ""
    return TaskGuess("multiclass", (
        f"{distinct.size} classes (largest {largest} rows): picking one of several labels is "
        f"multiclass classification.{extra}"), n_classes=int(distinct.size), classes=classes)


def label_variants(labels: Any) -> list[list[str]]:
    """Groups of text labels that differ only in upper/lower case or surrounding spaces.

    ``"Yes"`` and ``"yes"`` are two classes to a model; a person usually meant one.

    >>> label_variants(["Yes", "No", "yes", " no", "maybe"])
    [['No', ' no'], ['Yes', 'yes']]
    """
    groups: dict[str, list[str]] = {}
    for label in labels:
        if isinstance(label, str):
            groups.setdefault(label.strip().casefold(), []).append(label)
    return [group for _, group in sorted(groups.items()) if len(group) > 1]


def describe_label_variants(name: str, groups: list[list[str]]) -> str:
    """One sentence naming :func:`label_variants`' groups (at most three) in column ``name``."""
    shown = "; ".join(" and ".join(repr(v) for v in group) for group in groups[:3])
    more = f" (and {len(groups) - 3} more)" if len(groups) > 3 else ""
    return (f"Labels of {name!r} differ only in upper/lower case or spaces: {shown}{more}. "
            "Each spelling is a class of its own.")


def _looks_like_counts(distinct: np.ndarray, counts: np.ndarray) -> bool:
    """Whether whole numbers read as counts rather than class codes: more than
    :data:`GAPPED_COUNT_VALUES` values with a gap between them (counts thin out into a tail:
    0-26 visits in 15 values), starting at 0 or 1, most often one of the three smallest, and
    skewed to the right. Codes are used about evenly, whatever their gaps (activity ids 1-7,
    12, 13, 16, 17, 24; codes 10, 20, ..., 120)."""
    values = distinct.astype(float)
    if not (values.size > GAPPED_COUNT_VALUES and values.size < values[-1] - values[0] + 1
            and values[0] in (0.0, 1.0) and int(np.argmax(counts)) < 3):
        return False
    weights = counts / counts.sum()
    mean = float(weights @ values)
    spread = float(np.sqrt(weights @ (values - mean) ** 2))
    return spread > 0 and float(weights @ ((values - mean) / spread) ** 3) >= 1.0


def _task_kind(n_unique: int, *, numeric: bool, whole: bool, span: float,
               counted: bool = False) -> str | None:
    """The task for a target with these values, or None when it has too many classes.
    ``counted``: whole numbers that look like counts (:func:`_looks_like_counts`), regression.
    """
    if numeric and n_unique > 2 and (
            not whole or counted
            or (n_unique > REGRESSION_MIN_VALUES and span >= SMALL_INTEGER_RANGE)):
        return "regression"
    if n_unique == 2:
        return "binary"
    return "multiclass" if n_unique <= MAX_CLASSES else None


def _sorted_classes(distinct: np.ndarray | pd.Index) -> list:
    classes = [json_safe(v) for v in distinct]
    try:
        return sorted(classes)
    except TypeError:
        return sorted(classes, key=lambda v: (type(v).__name__, str(v)))


def suggest_targets(frame: pd.DataFrame, columns: list[ColumnInfo], *,
                    limit: int = 5) -> list[TargetSuggestion]:
    """Rank the columns that could be the target, best first.

    The score starts at 0.2 and adds 0.5 for a target-like word in the name
    (:data:`TARGET_WORDS`), 0.2 for being the last column and 0.05 for a yes/no column; it
    loses 0.2 times the share of missing values. Identifiers, constants, free text and dates
    are never suggested, nor are columns with too many classes to predict.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    columns : list of ColumnInfo
        ``infer_roles(frame)``.
    limit : int, default=5
        Most suggestions returned.

    Returns
    -------
    list of TargetSuggestion
    """
    suggestions = []
    last = len(columns) - 1
    dtypes = frame.dtypes.to_numpy()
    for position, info in enumerate(columns):
        if info.role not in ("numeric", "categorical", "boolean"):
            continue
        numeric = is_numeric(dtypes[position])
        span = info.stats["max"] - info.stats["min"] if numeric else 0.0
        whole = numeric and info.stats["whole_numbers"]
        task = _task_kind(info.n_unique, numeric=numeric, whole=whole, span=span)
        if task == "multiclass" and whole and info.n_unique > GAPPED_COUNT_VALUES:
            # counts (0-26 visits in 15 values) are regression, as detect_task says
            distinct, counts = _run_lengths(sorted_numbers(frame.iloc[:, position])[0])
            task = _task_kind(info.n_unique, numeric=True, whole=True, span=span,
                              counted=_looks_like_counts(distinct, counts))
        if task is None:
            continue
        words = {w.lower() for w in _NAME_PARTS.findall(info.name)}
        score, reasons = 0.2, []
        hits = sorted(words & TARGET_WORDS)
        if hits:
            score += 0.5
            reasons.append(f"its name says '{hits[0]}'")
        if position == last:
            score += 0.2
            reasons.append("it is the last column, where targets usually sit")
        if info.role == "boolean":
            score += 0.05
            reasons.append("yes/no columns are often what is predicted")
        score -= 0.2 * info.missing_fraction
        because = "; ".join(reasons) if reasons else "nothing in its name or place points to it"
        suggestions.append(TargetSuggestion(info.name, task, round(score, 3),
                                            f"Could be the target ({task}): {because}."))
    suggestions.sort(key=lambda s: -s.score)
    return suggestions[:limit]
