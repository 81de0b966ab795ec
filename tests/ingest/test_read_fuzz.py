"""Property tests for core.ingest._read: any input gives a table or a TabwrightError, nothing else."""

from __future__ import annotations

import csv
import gzip
import io
import os

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import TabwrightError
from core.ingest._read import (
    FORMULA_STARTS,
    LoadedTable,
    neutralise_formulas,
    read_table,
    to_safe_csv,
)
from core.settings import Limits
from tests.corpus import zip_of

# Small limits so that every limit can be hit by small generated inputs.
LIMITS = Limits(max_upload_bytes=4096, max_decompressed_bytes=4096, max_rows=50, max_columns=12, max_field_chars=200)
# 600 + 500 + 300 + 400 + 250 + 250 = 2,300 examples in the default run, about 10 s.
# TABWRIGHT_FUZZ_SCALE multiplies them for a long one-off run (5 gives 11,500 examples):
#   TABWRIGHT_FUZZ_SCALE=5 .venv/bin/python -m pytest -n 2 tests/test_data_fuzz.py
SCALE = max(1, int(os.environ.get("TABWRIGHT_FUZZ_SCALE", "1")))


def fuzz(n: int) -> settings:
    return settings(max_examples=n * SCALE, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# Characters that make CSV hard: every delimiter, quotes, line ends, markers, signs, currency.
TRICKY = ',;\t|"\r\n \'0123456789.-+$€%()eENAaZz?#/:é\x85\u2028'


def read_or_refuse(data: bytes) -> LoadedTable | None:
    """Read ``data``; a TabwrightError is a fine answer, any other exception fails the test."""
    try:
        table = read_table(data, limits=LIMITS)
    except TabwrightError as exc:
        assert exc.message and exc.hint
        return None
    assert isinstance(table, LoadedTable)
    assert isinstance(table.frame, pd.DataFrame)
    rows, columns = table.frame.shape
    assert 1 <= rows <= LIMITS.max_rows and 1 <= columns <= LIMITS.max_columns
    assert table.frame.columns.is_unique
    assert all(isinstance(c, str) and c and c == c.strip() for c in table.frame.columns)
    assert table.delimiter in (",", ";", "\t", "|") and table.decimal in (".", ",")
    assert table.summary()
    return table


@fuzz(600)
@given(st.binary(max_size=600))
def test_any_bytes(data: bytes) -> None:
    read_or_refuse(data)


@fuzz(500)
@given(st.text(max_size=300))
def test_any_text(text: str) -> None:
    read_or_refuse(text.encode("utf-8"))


ARCHIVES = [
    gzip.compress(b"a,b\n1,2\n3,4\n"),
    zip_of({"t.csv": b"a,b\n1,2\n3,4\n"}),
    zip_of({"t.csv": b"a,b\n1,2\n", "u.csv": b"c\n3\n"}),
]


@fuzz(300)
@given(st.sampled_from(ARCHIVES), st.data())
def test_damaged_archives(archive: bytes, data: st.DataObject) -> None:
    """Truncated or bit-flipped gzip and zip files load or are refused, never crash."""
    damaged = bytearray(archive[: data.draw(st.integers(1, len(archive)))])
    for _ in range(data.draw(st.integers(0, 4))):
        position = data.draw(st.integers(0, len(damaged) - 1))
        damaged[position] = data.draw(st.integers(0, 255))
    read_or_refuse(bytes(damaged))


csv_like = st.lists(
    st.lists(st.text(alphabet=TRICKY, max_size=8), min_size=1, max_size=6),
    min_size=1,
    max_size=10,
)


@fuzz(400)
@given(csv_like, st.sampled_from([",", ";", "\t", "|"]), st.sampled_from(["\n", "\r\n", "\r"]),
       st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]), st.booleans())
def test_csv_like_text(rows: list[list[str]], delimiter: str, newline: str, encoding: str, quote: bool) -> None:
    """Raw, unescaped joins: ragged rows, stray quotes, markers, numbers in every style."""
    cells = [[f'"{c}"' if quote and i % 2 else c for i, c in enumerate(row)] for row in rows]
    text = newline.join(delimiter.join(row) for row in cells)
    read_or_refuse(text.encode(encoding, errors="replace"))


names = st.lists(st.text(alphabet="abcdefgh_", min_size=1, max_size=5), min_size=2, max_size=6, unique=True)
cell = st.one_of(
    st.text(alphabet=TRICKY, max_size=10),
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
)


@fuzz(250)
@given(names, st.data())
def test_well_formed_csv_keeps_its_shape(header: list[str], data: st.DataObject) -> None:
    """A CSV written properly (quoted where needed) always loads with its exact shape."""
    rows = data.draw(st.lists(st.lists(cell, min_size=len(header), max_size=len(header)), min_size=1, max_size=12))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC).writerows([header, *rows])
    table = read_or_refuse(buffer.getvalue().encode())
    if any(len(value) > LIMITS.max_field_chars for row in rows for value in row):
        return
    assert table is not None
    assert table.frame.shape == (len(rows), len(header))
    assert list(table.frame.columns) == header
    assert table.delimiter == ","


formula_text = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.sampled_from(FORMULA_STARTS).flatmap(lambda start: st.text(max_size=4).map(lambda t: start + t)),
)
rows_of_cells = st.lists(
    st.tuples(
        formula_text,
        st.integers(-1000, 1000),
        st.floats(allow_nan=True, allow_infinity=False),
        st.one_of(st.integers(-5, 5), st.floats(-1, 1), formula_text),
    ),
    max_size=12,
)


def _frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["text", "ints", "floats", "mixed"])
    return frame.astype({"text": object, "ints": np.int64, "floats": float, "mixed": object})


@fuzz(250)
@given(rows_of_cells)
def test_neutralise_formulas(rows: list[tuple]) -> None:
    frame = _frame(rows)
    safe = neutralise_formulas(frame)
    assert safe["ints"].equals(frame["ints"]) and safe["floats"].equals(frame["floats"])
    assert safe.dtypes.equals(frame.dtypes)
    for column in ("text", "mixed"):
        for before, after in zip(frame[column], safe[column]):
            if isinstance(before, str) and before.startswith(FORMULA_STARTS):
                assert after == "'" + before
            elif isinstance(before, str) or before is None:
                assert after == before
            else:  # numbers stay numbers, negative ones included
                assert type(after) is type(before) and (after == before or after != after)
    exported = to_safe_csv(frame).decode()
    for row in csv.reader(io.StringIO(exported, newline="")):
        for value in row:
            # A number's minus sign is fine; text never starts with a formula character.
            assert not value.startswith(FORMULA_STARTS) or _is_number(value)


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def test_a_number_shape_holding_a_line_break_stays_text() -> None:
    """Found by a 11,500-example run: '0\\r€' looks like a currency amount but cannot be cast."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC).writerows(
        [["_", "__"], ["", "0\r€"]])
    table = read_table(buffer.getvalue().encode(), limits=LIMITS)
    assert table.frame.shape == (1, 2)
    assert table.frame["__"].iloc[0] == "0\r€"
