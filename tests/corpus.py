"""Hostile and awkward files, built in memory, with what reading each one should give.

Every ``case_*`` function returns a :class:`Case` ``(name, data, expected)`` where ``expected``
is :class:`Ok` (the file loads, and these things hold) or :class:`Refused` (reading raises a
``TabwrightError`` whose message contains this text). :func:`all_cases` lists them all.
Other test modules reuse these files, e.g. ``[c for c in all_cases() if isinstance(c.expected, Ok)]``
for files that must load, and :func:`check_loaded` to assert what a case promises.

Nothing big touches the disk: bombs are compressed chunk by chunk as they are built.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import pickle
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd

from core.settings import Limits

MB = 1024 * 1024


@dataclass(frozen=True)
class Ok:
    """The file loads; each given field is checked, the rest are not.

    ``dtypes`` maps a column to its dtype name (``"int64"``, ``"float64"``, ``"object"``,
    ``"bool"``, ``"datetime64[ns]"``); ``values`` maps a column to its leading values with
    ``None`` for missing; ``conversions`` and ``notes`` hold text expected inside them;
    ``no_conversion`` lists columns that must not be converted.
    """

    shape: tuple[int, int] | None = None
    columns: tuple[str, ...] | None = None
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    dtypes: dict[str, str] = field(default_factory=dict)
    values: dict[str, list[Any]] = field(default_factory=dict)
    conversions: dict[str, str] = field(default_factory=dict)
    no_conversion: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    limits: Limits | None = None


@dataclass(frozen=True)
class Refused:
    """Reading raises ``TabwrightError``; its text (message and hint) contains every one of ``texts``."""

    texts: tuple[str, ...]
    limits: Limits | None = None


class Case(NamedTuple):
    name: str
    data: bytes
    expected: Ok | Refused


# --------------------------------------------------------------------------- helpers


def csv_bytes(rows: list[list[Any]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    """Rows written by Python's csv module (minimal quoting, ``\\n`` line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def gzip_stream(chunk: bytes, repeats: int, *, head: bytes = b"") -> bytes:
    """gzip of ``head + chunk * repeats`` without ever holding the expanded bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(head)]
    block = chunk * max(1, (256 * 1024) // len(chunk))
    per_block = len(block) // len(chunk)
    done = 0
    while done + per_block <= repeats:
        parts.append(compressor.compress(block))
        done += per_block
    parts.append(compressor.compress(chunk * (repeats - done)))
    parts.append(compressor.flush())
    return b"".join(parts)


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def check_loaded(table: Any, expected: Ok) -> None:
    """Assert everything ``expected`` promises about a :class:`core.ingest._read.LoadedTable`."""
    frame = table.frame
    if expected.shape is not None:
        assert frame.shape == expected.shape, (frame.shape, expected.shape)
    if expected.columns is not None:
        assert tuple(frame.columns) == expected.columns, list(frame.columns)
    for attribute in ("encoding", "delimiter", "decimal"):
        wanted = getattr(expected, attribute)
        if wanted is not None:
            assert getattr(table, attribute) == wanted, (attribute, getattr(table, attribute), wanted)
    for column, dtype in expected.dtypes.items():
        assert str(frame[column].dtype) == dtype, (column, frame[column].dtype, dtype)
    for column, wanted in expected.values.items():
        got = [None if _missing(v) else v for v in frame[column].tolist()[: len(wanted)]]
        assert got == wanted, (column, got, wanted)
    for column, text in expected.conversions.items():
        assert text in table.conversions.get(column, ""), (column, table.conversions)
    for column in expected.no_conversion:
        assert column not in table.conversions, (column, table.conversions)
    for text in expected.notes:
        assert any(text in note for note in table.notes), (text, table.notes)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) == "NaT"


# --------------------------------------------------------------------------- encodings

_ACCENTED = [["name", "city", "n"], ["Zoë", "Zürich", "1"], ["Ærø", "Málaga", "2"]]
_ACCENTED_OK = dict(shape=(2, 3), values={"name": ["Zoë", "Ærø"], "city": ["Zürich", "Málaga"], "n": [1, 2]})


def case_utf8() -> Case:
    return Case("utf8", csv_bytes(_ACCENTED), Ok(encoding="utf-8", **_ACCENTED_OK))


def case_utf8_bom() -> Case:
    return Case("utf8_bom", b"\xef\xbb\xbf" + csv_bytes(_ACCENTED),
                Ok(encoding="utf-8-sig", columns=("name", "city", "n"), **_ACCENTED_OK))


def case_utf16_le() -> Case:
    return Case("utf16_le", b"\xff\xfe" + csv_bytes(_ACCENTED).decode().encode("utf-16-le"),
                Ok(encoding="utf-16", columns=("name", "city", "n"), **_ACCENTED_OK))


def case_utf16_be() -> Case:
    return Case("utf16_be", b"\xfe\xff" + csv_bytes(_ACCENTED).decode().encode("utf-16-be"),
                Ok(encoding="utf-16", columns=("name", "city", "n"), **_ACCENTED_OK))


def case_utf16_no_bom() -> Case:
    return Case("utf16_no_bom", csv_bytes(_ACCENTED).decode().encode("utf-16-le"),
                Ok(encoding="utf-16", **_ACCENTED_OK))


def case_cp1252() -> Case:
    data = "item,price\nCafé crème,€3\nNaïve “quote”,€4\n".encode("cp1252")
    return Case("cp1252", data, Ok(
        encoding="cp1252", values={"item": ["Café crème", "Naïve “quote”"], "price": [3, 4]},
        conversions={"price": "currency signs removed"}, notes=("not valid UTF-8",),
    ))


def case_latin1() -> Case:
    # 0x81 is undefined in cp1252, so only latin-1 can read this.
    data = b"code,label\n1,caf\xe9\x81\n2,ni\xf1o\n"
    return Case("latin1", data, Ok(encoding="latin-1", values={"label": ["caf\xe9\x81", "ni\xf1o"]}))


def case_invalid_utf8_late() -> Case:
    # Valid UTF-8 for more than the first megabyte, then one cp1252 byte: found while parsing.
    rows = b"".join(b"%d,plain text\n" % i for i in range(80_000))
    data = b"id,text\n" + rows + b"80000,caf\xe9\n"
    return Case("invalid_utf8_late", data, Ok(encoding="cp1252", shape=(80_001, 2)))


def case_cp1252_last_byte() -> Case:
    # The only non-ASCII byte is the file's last: no "truncated UTF-8" excuse for it.
    return Case("cp1252_last_byte", b"a,b\n1,2\n3,caf\xe9", Ok(encoding="cp1252", values={"b": ["2", "café"]}))


def case_ragged_row_in_cp1252_late() -> Case:
    rows = b"".join(b"%d,plain text\n" % i for i in range(80_000))
    return Case("ragged_row_in_cp1252_late", b"id,text\n" + rows + b"1,2,caf\xe9\n",
                Refused(("Line 80002 has 3 fields but the header has 2",)))


# --------------------------------------------------------------------------- delimiters

_GRID = [["a", "b", "c"], ["1", "x", "2.5"], ["2", "y", "3.5"], ["3", "z", "4.5"]]


def case_comma() -> Case:
    return Case("comma", csv_bytes(_GRID), Ok(delimiter=",", shape=(3, 3),
                dtypes={"a": "int64", "b": "object", "c": "float64"}))


def case_semicolon() -> Case:
    return Case("semicolon", csv_bytes(_GRID, delimiter=";"), Ok(delimiter=";", decimal=".", shape=(3, 3)))


def case_tab() -> Case:
    return Case("tab", csv_bytes(_GRID, delimiter="\t"), Ok(delimiter="\t", shape=(3, 3)))


def case_pipe() -> Case:
    return Case("pipe", csv_bytes(_GRID, delimiter="|"), Ok(delimiter="|", shape=(3, 3)))


def case_comma_with_other_delimiters_in_text() -> Case:
    rows = [["name", "note"], ["a", "x;y;z|w"], ["b", "p;q, r|s"], ["c", "t;u;v;w"]]
    return Case("comma_other_delimiters_in_text", csv_bytes(rows),
                Ok(delimiter=",", shape=(3, 2), values={"note": ["x;y;z|w", "p;q, r|s", "t;u;v;w"]}))


def case_decimal_comma() -> Case:
    data = "id;weight;price\n1;1,5;1.234,50\n2;2,25;12,00\n3;10,0;0,99\n".encode()
    return Case("decimal_comma", data, Ok(
        delimiter=";", decimal=",", dtypes={"id": "int64", "weight": "float64", "price": "float64"},
        values={"weight": [1.5, 2.25, 10.0], "price": [1234.5, 12.0, 0.99]},
        conversions={"weight": "decimal commas", "price": "thousands separators"},
    ))


def case_quoted_newlines_and_delimiters() -> Case:
    data = b'id,comment,n\r\n1,"two\nlines, and a comma",5\r\n2,"say ""hi""",6\r\n3,plain,7\r\n'
    return Case("quoted_newlines", data, Ok(
        shape=(3, 3), values={"comment": ["two\nlines, and a comma", 'say "hi"', "plain"], "n": [5, 6, 7]},
    ))


def case_single_column() -> Case:
    return Case("single_column", b"name\nAlice\nBob\nCarol\n", Ok(shape=(3, 1), delimiter=",",
                values={"name": ["Alice", "Bob", "Carol"]}))


def case_one_row() -> Case:
    return Case("one_row", b"a,b\n1,x", Ok(shape=(1, 2), values={"a": [1], "b": ["x"]}))


def case_one_cell() -> Case:
    return Case("one_cell", b"x\n7\n", Ok(shape=(1, 1), dtypes={"x": "int64"}, values={"x": [7]}))


def case_trailing_blank_lines() -> Case:
    return Case("trailing_blank_lines", b"a,b\n1,2\n3,4\n\n  \n\t\n", Ok(shape=(2, 2)))


# --------------------------------------------------------------------------- missing values

MARKERS = ["", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "none", "?", "-", "--", "#N/A", "   "]


def case_missing_markers() -> Case:
    rows = [["n", "label"]] + [[m, m] for m in MARKERS] + [["1.5", "real"], ["2", "text"]]
    n = len(MARKERS)
    return Case("missing_markers", csv_bytes(rows), Ok(
        shape=(n + 2, 2), dtypes={"n": "float64", "label": "object"},
        values={"n": [None] * n + [1.5, 2.0], "label": [None] * n + ["real", "text"]},
    ))


def case_all_missing_column() -> Case:
    return Case("all_missing_column", b"a,b\n1,\n2,NA\n3,?\n", Ok(
        dtypes={"a": "int64", "b": "float64"}, values={"b": [None, None, None]}, notes=("is empty",),
    ))


# --------------------------------------------------------------------------- numbers as text


def case_text_numbers() -> Case:
    rows = [
        ["dollars", "thousands", "percent", "euros", "accounting", "plus"],
        ["$12.50", "1,234", "45%", "€12,50", "(12.50)", "+5"],
        ["$1,000.00", "12,345,678", "5.5 %", "€1.234,50", "3.00", "+7"],
        ["$-3.25", "7", "100%", "€0,99", "(0.75)", "-2"],
    ]
    return Case("text_numbers", csv_bytes(rows), Ok(
        dtypes={"dollars": "float64", "thousands": "int64", "percent": "float64",
                "euros": "float64", "accounting": "float64", "plus": "int64"},
        values={
            "dollars": [12.5, 1000.0, -3.25], "thousands": [1234, 12345678, 7],
            "percent": [45.0, 5.5, 100.0], "euros": [12.5, 1234.5, 0.99],
            "accounting": [-12.5, 3.0, -0.75], "plus": [5, 7, -2],
        },
        conversions={"dollars": "currency signs removed", "thousands": "thousands separators",
                     "percent": "percent signs removed", "euros": "decimal commas",
                     "accounting": "brackets"},
    ))


def case_codes_stay_text() -> Case:
    rows = [["code", "zip", "id", "n"]] + [
        [f"A{i}", f"0{2134 + i}", f"00{i}", str(i)] for i in range(1, 40)
    ] + [["B7", "90210", "123", "40"]]
    return Case("codes_stay_text", csv_bytes(rows), Ok(
        dtypes={"code": "object", "zip": "object", "id": "object", "n": "int64"},
        values={"zip": ["02135", "02136"], "code": ["A1", "A2"], "id": ["001", "002"]},
        no_conversion=("code", "zip", "id"), notes=("'02135'", "start with a zero"),
    ))


def case_mostly_numbers() -> Case:
    rows = [["v"]] + [[str(i)] for i in range(199)] + [["unknown"]]
    return Case("mostly_numbers", csv_bytes(rows), Ok(
        dtypes={"v": "float64"}, conversions={"v": "1 value that is not a number (e.g. 'unknown')"},
    ))


def case_half_numbers() -> Case:
    rows = [["v"]] + [[str(i)] for i in range(90)] + [[f"x{i}"] for i in range(10)]
    return Case("half_numbers", csv_bytes(rows), Ok(dtypes={"v": "object"}, no_conversion=("v",)))


def case_spaces_around_values() -> Case:
    return Case("spaces_around_values", b"n,s\n 1 ,  a\n2  , b \n  NA , c\n", Ok(
        dtypes={"n": "float64", "s": "object"}, values={"n": [1.0, 2.0, None], "s": ["a", "b", "c"]},
        notes=("Removed spaces around values",),
    ))


def case_huge_integers() -> Case:
    return Case("huge_integers", b"id,n\n12345678901234567890,1\n98765432109876543210,2\n", Ok(
        dtypes={"id": "object", "n": "int64"}, values={"id": ["12345678901234567890", "98765432109876543210"]},
        notes=("too large",),
    ))


def case_integers_with_missing() -> Case:
    return Case("integers_with_missing", b"a,b\n1,4\n,5\n3,6\n", Ok(
        dtypes={"a": "float64", "b": "int64"}, values={"a": [1.0, None, 3.0]},
    ))


# --------------------------------------------------------------------------- dates


def case_dates() -> Case:
    rows = [
        ["iso", "stamp", "us", "eu", "named", "year", "small"],
        ["2021-03-04", "2021-03-04 12:00", "03/04/2021", "25/12/2020", "4 Mar 2021", "2019", "3"],
        ["2021-03-05", "2021-03-05 13:30", "12/31/2021", "04/01/2021", "15 Apr 2022", "2020", "7"],
        ["2022-01-01", "2022-01-01 00:00", "01/02/2022", "01/02/2022", "1 Jan 2023", "2021", "12"],
    ]
    ts = "datetime64[ns]"
    return Case("dates", csv_bytes(rows), Ok(
        dtypes={"iso": ts, "stamp": ts, "us": ts, "eu": ts, "named": ts, "year": "int64", "small": "int64"},
        values={
            "iso": [pd.Timestamp("2021-03-04")], "stamp": [pd.Timestamp("2021-03-04 12:00")],
            "us": [pd.Timestamp("2021-03-04"), pd.Timestamp("2021-12-31")],
            "eu": [pd.Timestamp("2020-12-25"), pd.Timestamp("2021-01-04")],
            "named": [pd.Timestamp("2021-03-04"), pd.Timestamp("2022-04-15")],
        },
        conversions={"us": "month/day/year", "eu": "day/month/year", "iso": "read as dates"},
        no_conversion=("year", "small"),
    ))


def case_dates_with_junk() -> Case:
    rows = [["d"]] + [[f"2021-01-{day:02d}"] for day in range(1, 29)] * 4 + [["soon"]]
    return Case("dates_with_junk", csv_bytes(rows), Ok(
        dtypes={"d": "datetime64[ns]"}, conversions={"d": "not a date (e.g. 'soon')"},
    ))


def case_booleans() -> Case:
    return Case("booleans", b"flag,answer,mixed\nTrue,yes,True\nFalse,no,\nTRUE,yes,False\n", Ok(
        dtypes={"flag": "bool", "answer": "object", "mixed": "object"}, values={"flag": [True, False, True]},
    ))


# --------------------------------------------------------------------------- column names


def case_names_with_spaces() -> Case:
    return Case("names_with_spaces", b" Life expectancy , BMI ,Year\n65.0,19.1,2015\n", Ok(
        columns=("Life expectancy", "BMI", "Year"), notes=("Removed spaces around 2 column names",),
    ))


def case_duplicate_names() -> Case:
    return Case("duplicate_names", b"a,b,a\n1,2,3\n", Refused(("must be unique", "'a' at columns 1, 3")))


def case_duplicate_after_strip() -> Case:
    return Case("duplicate_after_strip", b"id,name, name\n1,x,y\n", Refused(("'name' at columns 2, 3",)))


def case_blank_name() -> Case:
    return Case("blank_name", b"a,,c\n1,2,3\n", Refused(("must not be blank", "column 2")))


def case_unnamed_index() -> Case:
    return Case("unnamed_index", b",a,b\n0,1,2\n1,3,4\n", Refused(("blank name at column 1",)))


def case_header_named_like_missing() -> Case:
    return Case("header_named_na", b"NA,None\n1,2\n", Ok(columns=("NA", "None"), values={"NA": [1]}))


# --------------------------------------------------------------------------- refused: shape


def case_empty() -> Case:
    return Case("empty", b"", Refused(("The file is empty",)))


def case_whitespace_only() -> Case:
    return Case("whitespace_only", b"  \r\n\t\n   \n", Refused(("empty",)))


def case_header_only() -> Case:
    return Case("header_only", b"a,b,c\n", Refused(("header row but no data rows",)))


def case_header_then_blank_lines() -> Case:
    return Case("header_blank_lines", b"a,b,c\n\n\n", Refused(("no data rows",)))


def case_ragged_more() -> Case:
    return Case("ragged_more", b"a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n",
                Refused(("Line 4 has 4 fields but the header has 3",)))


def case_ragged_fewer() -> Case:
    return Case("ragged_fewer", b"a,b,c\n1,2,3\n4,5\n", Refused(("Line 3 has 2 fields but the header has 3",)))


def case_ragged_after_quoted_newline() -> Case:
    return Case("ragged_after_quoted_newline", b'a,b\n1,"x\ny"\n2,3,4\n',
                Refused(("Line 4 has 3 fields but the header has 2",)))


def case_ragged_late() -> Case:
    rows = b"".join(b"%d,%d\n" % (i, i) for i in range(300_000))
    return Case("ragged_late", b"a,b\n" + rows + b"1,2,3\n",
                Refused(("Line 300002 has 3 fields but the header has 2",)))


def case_unclosed_quote() -> Case:
    return Case("unclosed_quote", b'a,b\n1,2\n3,"never closed\n4,5\n',
                Refused(("starts on line 3 is never closed",)))


# --------------------------------------------------------------------------- refused: not text


def case_random_binary() -> Case:
    data = bytes((i * 7919 + 13) % 256 for i in range(4096))
    return Case("random_binary", data, Refused(("must be text",)))


def case_nul_bytes() -> Case:
    return Case("nul_bytes", b"a,b\n1,2\n3,\x004\n", Refused(("NUL byte at position 10",)))


def case_png() -> Case:
    return Case("png", b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64), Refused(("PNG image",)))


def case_jpeg() -> Case:
    return Case("jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64), Refused(("JPEG image",)))


def case_gif() -> Case:
    return Case("gif", b"GIF89a" + bytes(64), Refused(("GIF image",)))


def case_pdf() -> Case:
    return Case("pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", Refused(("PDF document",)))


def case_old_excel() -> Case:
    return Case("xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), Refused(("Office file",)))


def case_pickle() -> Case:
    # Built, never loaded: tabwright must refuse it on sight.
    return Case("pickle", pickle.dumps({"a": [1, 2, 3]}, protocol=4), Refused(("Python pickle",)))


def case_pickle_protocol_2() -> Case:
    return Case("pickle_protocol_2", pickle.dumps([1, 2], protocol=2), Refused(("pickle",)))


def case_xlsx() -> Case:
    data = zip_of({
        "[Content_Types].xml": b"<Types/>",
        "xl/workbook.xml": b"<workbook/>",
        "xl/worksheets/sheet1.xml": b"<worksheet/>",
    })
    return Case("xlsx", data, Refused(("Excel workbook", )))


def case_zip_two_members() -> Case:
    data = zip_of({"a.csv": b"x\n1\n", "b.csv": b"y\n2\n"})
    return Case("zip_two_members", data, Refused(("exactly one .csv", "got 2 files")))


def case_zip_one_csv() -> Case:
    return Case("zip_one_csv", zip_of({"folder/data.csv": csv_bytes(_GRID)}),
                Ok(shape=(3, 3), notes=("inside the zip",)))


def case_zip_not_csv() -> Case:
    return Case("zip_not_csv", zip_of({"photo.jpg": b"\xff\xd8\xff"}), Refused(("exactly one .csv",)))


def case_zip_damaged() -> Case:
    return Case("zip_damaged", b"PK\x03\x04" + bytes(40), Refused(("zip file is damaged",)))


def case_gzip() -> Case:
    return Case("gzip", gzip.compress(csv_bytes(_GRID)), Ok(shape=(3, 3), notes=("Unpacked from gzip",)))


def case_gzip_truncated() -> Case:
    data = gzip.compress(csv_bytes(_GRID * 200))
    return Case("gzip_truncated", data[: len(data) // 2], Refused(("gzip",)))


def case_gzip_of_gzip() -> Case:
    return Case("gzip_of_gzip", gzip.compress(gzip.compress(csv_bytes(_GRID))),
                Refused(("compressed at most once",)))


def case_gzip_bomb() -> Case:
    # ~64 MB of CSV in ~60 KB; the test limit is 1 MB.
    data = gzip_stream(b"1,2\n", 16 * MB, head=b"a,b\n")
    return Case("gzip_bomb", data, Refused(
        ("max_decompressed_bytes", "TABWRIGHT_MAX_DECOMPRESSED_BYTES"),
        limits=Limits(max_decompressed_bytes=MB),
    ))


def case_zip_bomb() -> Case:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("big.csv", "w") as member:
            member.write(b"a,b\n")
            for _ in range(64):
                member.write(b"1,2\n" * (256 * 1024))
    return Case("zip_bomb", buffer.getvalue(), Refused(
        ("max_decompressed_bytes",), limits=Limits(max_decompressed_bytes=MB),
    ))


# --------------------------------------------------------------------------- refused: limits


def case_too_many_columns() -> Case:
    header = ",".join(f"c{i}" for i in range(5_001))
    row = ",".join("1" for _ in range(5_001))
    return Case("too_many_columns", f"{header}\n{row}\n".encode(),
                Refused(("at most 2,000 columns", "got 5,001", "TABWRIGHT_MAX_COLUMNS"),
                        limits=Limits(max_columns=2_000)))


def case_huge_field() -> Case:
    data = b"id,text\n1," + b"x" * (3 * MB) + b"\n2,short\n"
    return Case("huge_field", data, Refused(
        ("at most 100,000 characters", "max_field_chars", "column 'text'", "TABWRIGHT_MAX_FIELD_CHARS"),
    ))


def case_huge_header_field() -> Case:
    # Longer than Python's csv field limit (128 KiB), so the sniffer cannot read the header.
    return Case("huge_header_field", b"h" * 200_000 + b"\n1\n", Refused(
        ("got 200,000 in column 'hhhhhhhhh", "…', the header", "max_field_chars"),
    ))


def case_quote_inside_unquoted_field() -> Case:
    return Case("quote_inside_unquoted_field", b'size,n\n5" pipe,1\n2,2\n', Ok(values={"size": ['5" pipe', "2"]}))


def case_too_many_rows() -> Case:
    rows = b"".join(b"%d\n" % i for i in range(11))
    return Case("too_many_rows", b"n\n" + rows, Refused(
        ("at most 10 rows", "got 11", "TABWRIGHT_MAX_ROWS"), limits=Limits(max_rows=10),
    ))


def case_too_many_bytes() -> Case:
    return Case("too_many_bytes", csv_bytes(_GRID * 10), Refused(
        ("max_upload_bytes", "TABWRIGHT_MAX_UPLOAD_BYTES"), limits=Limits(max_upload_bytes=64),
    ))


# --------------------------------------------------------------------------- all of them


def all_cases() -> list[Case]:
    """Every case in this module, in the order defined."""
    return [value() for key, value in globals().items() if key.startswith("case_") and callable(value)]
