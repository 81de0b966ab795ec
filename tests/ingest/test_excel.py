"""Tests for core.ingest._excel (through read_table): sheets, the header row, types, formulas,
and every hostile workbook refused, before fastexcel reads it or by the limits of the process
fastexcel reads it in (which a hostile sheet may end, this one never)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import struct
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

import core.ingest._excel as excel
from core.errors import TabwrightError
from core.ingest import read_table
from core.ingest._excel import CELL_BYTES, is_workbook, read_sheet
from core.settings import Limits


def workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    """An .xlsx holding ``sheets`` (name → rows; ``None`` is an empty cell), in order."""
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    sheet.cell(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rewrite(data: bytes, member: str, change: Callable[[bytes], bytes | Iterable[bytes]]) -> bytes:
    """``data`` (a zip) with ``member``'s bytes changed (to bytes, or to chunks written in turn)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info)
            if info.filename != member:
                target.writestr(info.filename, body)
                continue
            changed = change(body)
            with target.open(info.filename, "w", force_zip64=True) as stream:
                for chunk in [changed] if isinstance(changed, bytes) else changed:
                    stream.write(chunk)
    return out.getvalue()


def drop_dimension(xml: bytes) -> bytes:
    """A sheet's XML without its declared range, as some programs write it."""
    return re.sub(rb'<dimension ref="[^"]*"\s*/>', b"", xml)


SHEET1 = "xl/worksheets/sheet1.xml"
PEOPLE = [["name", "age", "income", "joined", "vip", "code"]] + [
    [f"P{i}", 20 + i, f"${1000 + 250 * i:,}", dt.datetime(2021, 3, 1 + i), i % 2 == 0, f"00{i}"]
    for i in range(9)
]


# --------------------------------------------------------------------------- reading


def test_a_workbook_is_told_by_its_content_and_read_from_bytes_or_a_path(tmp_path: Path) -> None:
    data = workbook({"People": PEOPLE})
    path = tmp_path / "people.xlsx"
    path.write_bytes(data)
    from_bytes = read_table(data, name="upload.csv")  # the content decides, not the name
    from_path = read_table(path)
    assert from_bytes.source_format == from_path.source_format == "excel"
    assert from_path.name == "people.xlsx" and from_bytes.name == "upload.csv"
    assert from_bytes.fingerprint == from_path.fingerprint
    assert from_path.n_bytes == len(data)
    assert (from_path.sheet, from_path.sheets) == ("People", ("People",))
    assert (from_path.encoding, from_path.delimiter) == ("", "")
    pd.testing.assert_frame_equal(from_bytes.frame, from_path.frame)
    assert from_path.summary() == "9 rows × 6 columns, Excel workbook"
    assert from_path.details() == [("Format", "Excel workbook"), ("Sheet", "People (1 of 1)")]
    assert is_workbook(data) and not is_workbook(b"a,b\n1,2\n")


def test_cells_keep_their_types_and_text_is_typed_as_a_csv_is() -> None:
    table = read_table(workbook({"People": PEOPLE}))
    frame = table.frame
    assert frame["name"].tolist()[:2] == ["P0", "P1"]
    assert frame["age"].dtype == np.int64 and frame["age"].tolist()[:3] == [20, 21, 22]
    assert frame["joined"].dtype == "datetime64[ns]"
    assert frame["joined"].iloc[1] == pd.Timestamp("2021-03-02")
    assert frame["vip"].dtype == bool and frame["vip"].tolist()[:2] == [True, False]
    # numbers typed as text in the cells, as a CSV's are
    assert frame["income"].tolist()[:2] == [1000, 1250]
    assert "text like '$1,000' read as numbers" in table.conversions["income"]
    assert frame["code"].tolist()[:2] == ["000", "001"]  # leading zeros: codes, kept as text
    assert any("'code' kept as text" in note for note in table.notes)


def test_mixed_columns_decimals_missing_values_and_far_dates() -> None:
    rows = [["amount", "mixed", "flag", "when", "note"]]
    rows += [[i + 0.5, i if i != 3 else "abc", i % 2 == 0 if i != 4 else None,
              dt.datetime(2020, 1, 1) + dt.timedelta(days=i), "N/A" if i == 2 else f"n{i}"]
             for i in range(60)]
    rows[-1][3] = dt.datetime(9999, 12, 31)  # "no end date", beyond what nanoseconds hold
    table = read_table(workbook({"S": rows}))
    frame = table.frame
    assert frame["amount"].dtype == np.float64 and frame["amount"].iloc[0] == 0.5
    # 59 numbers and one word: 98% rule of the CSV path, so the word becomes missing
    assert frame["mixed"].dtype == np.float64 and np.isnan(frame["mixed"].iloc[3])
    assert "not a number (e.g. 'abc') became missing" in table.conversions["mixed"]
    # true/false with a missing value stays text, as in a CSV
    assert frame["flag"].tolist()[:2] == ["True", "False"] and pd.isna(frame["flag"].iloc[4])
    assert frame["when"].dtype == "datetime64[ns]" and pd.isna(frame["when"].iloc[-1])
    assert "1 date outside the years 1677–2262" in table.conversions["when"]
    assert pd.isna(frame["note"].iloc[2])  # a missing marker, as in a CSV


def test_long_text_columns_are_factorized_while_read() -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Big")
    sheet.append(["city", "n"])
    cities = ["Oslo", "Rome", "Lima"]
    for i in range(50_000):
        sheet.append([cities[i % 3], i])
    buffer = io.BytesIO()
    book.save(buffer)
    table = read_table(buffer.getvalue())
    codes, values = table.codes["city"]
    assert list(values) == cities and codes[:4].tolist() == [0, 1, 2, 0]
    assert "n" not in table.codes and table.frame["n"].dtype == np.int64


def test_title_rows_above_the_table_are_skipped_and_said() -> None:
    rows = [["Sales report 2024"], [], ["region", "units", "price"]]
    rows += [[f"r{i}", i, 2.5 * i] for i in range(5)]
    table = read_table(workbook({"Report": rows}))
    assert list(table.frame.columns) == ["region", "units", "price"]
    assert table.frame["units"].tolist() == [0, 1, 2, 3, 4]
    assert "Rows 1–2 above the table were skipped; the header is row 3." in table.notes


def test_a_table_that_starts_lower_and_to_the_right_is_found() -> None:
    rows = [[], [None, "Title"], [None, None], [None, "a", "b"], [None, 1, "x"], [None, 2, "y"]]
    table = read_table(workbook({"S": rows}))
    assert list(table.frame.columns) == ["a", "b"] and table.frame["a"].tolist() == [1, 2]
    assert "Rows 1–3 above the table were skipped; the header is row 4." in table.notes
    assert "Columns without a header or values were left out: A." not in table.notes


def test_merged_cells_give_their_value_to_every_row_they_span() -> None:
    """A group label merged down its rows (the file keeps it in the first cell only) labels each
    row; a merged title above the header is not data, and a merge across columns fills each."""
    book = Workbook()
    sheet = book.active
    sheet.title = "S"
    sheet["B1"] = "Report"
    sheet.merge_cells("B1:D1")  # a title over the table: above the header, left alone
    sheet.append(["region", "store", "units", "note"])
    for i in range(6):
        sheet.append(["north" if i == 0 else "south" if i == 3 else None, f"s{i}", i,
                      "promo" if i == 4 else None])
    sheet.merge_cells("A3:A5")
    sheet.merge_cells("A6:A8")
    sheet.merge_cells("D7:D8")  # a note over two rows
    sheet.merge_cells("B3:C3")  # across columns: the store's value is not copied sideways
    buffer = io.BytesIO()
    book.save(buffer)
    table = read_table(buffer.getvalue())
    assert table.frame["region"].tolist() == ["north"] * 3 + ["south"] * 3
    assert table.frame["note"].tolist()[3:] == [None, "promo", "promo"]
    assert table.frame["store"].iloc[0] == "s0" and pd.isna(table.frame["units"].iloc[0])
    assert ("Merged cells were filled: each merged range's value now stands in every row it spans "
            "(3 ranges: A3:A5, A6:A8, D7:D8).") in table.notes


def test_empty_rows_and_unnamed_empty_columns_are_left_out_with_a_note() -> None:
    rows = [["a", None, "b"], [1, None, 2], [None, None, None], [3, None, 4]]
    table = read_table(workbook({"S": rows}))
    assert list(table.frame.columns) == ["a", "b"] and table.frame["a"].tolist() == [1, 3]
    assert "Columns without a header or values were left out: B." in table.notes
    assert "Rows without any value were left out: 1." in table.notes


def test_formulas_give_the_results_the_file_saved_never_evaluated() -> None:
    rows = [["x", "double", "never"]] + [[i, f"=A{i + 2}*2", f"=A{i + 2}+1"] for i in range(4)]
    data = workbook({"S": rows})

    def save_results(xml: bytes) -> bytes:  # what Excel does when it saves: results beside formulas
        return re.sub(rb"<f>A(\d+)\*2</f><v\s*/>",
                      lambda m: b"<f>A%s*2</f><v>%d</v>" % (m[1], 99 + int(m[1])), xml)

    table = read_table(rewrite(data, SHEET1, save_results))
    # 99 + row, not 2 * x: the saved result is read, the formula is not evaluated
    assert table.frame["double"].tolist() == [101, 102, 103, 104]
    assert table.frame["never"].isna().all()
    assert any("'never' holds formulas without saved results" in note for note in table.notes)


# --------------------------------------------------------------------------- sheets


def test_the_first_sheet_is_read_by_default_and_any_other_by_name() -> None:
    data = workbook({"Notes": [["remark"], ["hello"]], "Data": [["x", "y"], [1, 2], [3, 4]]})
    first = read_table(data)
    assert first.sheet == "Notes" and first.sheets == ("Notes", "Data")
    second = read_table(data, sheet="Data")
    assert second.sheet == "Data" and list(second.frame.columns) == ["x", "y"]
    assert second.summary() == "2 rows × 2 columns, Excel workbook, sheet 2 of 2"
    assert second.fingerprint != first.fingerprint  # each sheet is its own data for the caches
    assert second.fingerprint == read_table(data, sheet="Data").fingerprint


def test_an_unknown_sheet_is_refused_listing_the_sheets() -> None:
    data = workbook({"Notes": [["a"], [1]], "Data": [["b"], [2]]})
    with pytest.raises(TabwrightError) as caught:
        read_table(data, sheet="Sales")
    assert caught.value.message == "The workbook has no sheet named 'Sales'."
    assert caught.value.hint == "Choose one of its sheets: 'Notes', 'Data'."


def test_a_sheet_is_only_for_workbooks() -> None:
    with pytest.raises(TabwrightError, match="Only an Excel workbook has sheets"):
        read_table(b"a,b\n1,2\n", sheet="Data")


def test_an_empty_sheet_and_a_header_only_sheet_are_refused() -> None:
    data = workbook({"Data": [["a"], [1]], "Empty": [], "Header": [["a", "b"]]})
    with pytest.raises(TabwrightError, match="The sheet 'Empty' is empty"):
        read_table(data, sheet="Empty")
    with pytest.raises(TabwrightError, match=r"header row \(row 1\) but no data rows"):
        read_table(data, sheet="Header")


def test_a_blank_header_above_values_is_refused_naming_the_cell() -> None:
    with pytest.raises(TabwrightError) as caught:
        read_table(workbook({"S": [["a", None, "c"], [1, 2, 3]]}))
    assert "blank header cell above values (sheet 'S', cell B1)" in caught.value.message


# --------------------------------------------------------------------------- hostile workbooks


def ole_container(streams: list[str]) -> bytes:
    """A compound file (the OLE container an encrypted .xlsx is) with a directory of ``streams``."""
    header = bytearray(512)
    header[:8] = excel.OLE_MAGIC
    header[24:34] = struct.pack("<HHHH", 0x3E, 3, 0xFFFE, 9) + b"\x06\x00"
    directory = b""
    for name in ["Root Entry", *streams]:
        encoded = (name + "\x00").encode("utf-16-le")
        directory += encoded.ljust(64, b"\x00") + struct.pack("<H", len(encoded)) + bytes(62)
    return bytes(header) + directory.ljust(512, b"\x00")


def test_a_password_protected_workbook_is_refused_plainly(tmp_path: Path) -> None:
    data = ole_container(["EncryptionInfo", "EncryptedPackage"])
    (tmp_path / "secret.xlsx").write_bytes(data)
    for source in (data, tmp_path / "secret.xlsx"):
        with pytest.raises(TabwrightError) as caught:
            read_table(source, name="secret.xlsx")
        assert caught.value.message == "This workbook is password-protected, so it cannot be read."
        assert "remove the password" in caught.value.hint
    # an OLE container without an encrypted package is an old .xls, refused as before
    with pytest.raises(TabwrightError, match="old Office file"):
        read_table(ole_container(["Workbook"]), name="old.xls")


@pytest.mark.parametrize("data", [
    b"PK\x03\x04" + bytes(200),                        # a zip header and nothing else
    b"this is not a workbook at all\n",               # text named .xlsx
    workbook({"S": [["a"], [1]]})[:900],               # cut short
], ids=["zip_header_only", "text", "truncated"])
def test_a_damaged_xlsx_is_refused(data: bytes) -> None:
    with pytest.raises(TabwrightError) as caught:
        read_table(data, name="book.xlsx")
    assert "Excel workbook is damaged" in caught.value.message
    assert "save it again" in caught.value.hint


def test_a_sheet_with_broken_xml_is_refused_as_damaged() -> None:
    data = rewrite(workbook({"S": [["a"], [1]]}), SHEET1, lambda xml: xml[: len(xml) // 2] + b"<<<")
    with pytest.raises(TabwrightError, match="Excel workbook is damaged"):
        read_table(data)


def test_a_lying_zip_directory_is_refused_as_damaged() -> None:
    data = bytearray(workbook({"S": [["a"], [1]]}))
    # The central directory says the sheet unpacks to 10 bytes: zipfile stops there, and the
    # CRC of those 10 bytes is not the sheet's.
    for match in re.finditer(rb"PK\x01\x02", bytes(data)):
        start = match.start()
        name_length = struct.unpack("<H", data[start + 28:start + 30])[0]
        if data[start + 46:start + 46 + name_length] == SHEET1.encode():
            data[start + 24:start + 28] = struct.pack("<I", 10)
    with pytest.raises(TabwrightError, match="Excel workbook is damaged"):
        read_table(bytes(data))


@pytest.fixture
def fastexcel_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the sheet is handed to fastexcel's process (checks must come first)."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("fastexcel was called")
    monkeypatch.setattr(excel, "_read_in_child", refuse)


def test_a_zip_bomb_is_refused_from_the_directory_before_unpacking(
        fastexcel_untouched: None, monkeypatch: pytest.MonkeyPatch) -> None:
    data = rewrite(workbook({"S": [["a"], [1]]}), "docProps/app.xml",
                   lambda xml: xml + b"<!--" + b" " * 5_000_000 + b"-->")
    assert len(data) < 100_000

    def no_unpacking(*args: object) -> None:
        raise AssertionError("a member was unpacked")
    monkeypatch.setattr(excel, "_inflate", no_unpacking)
    with pytest.raises(TabwrightError) as caught:
        read_table(data, limits=Limits(max_decompressed_bytes=1_000_000))
    assert "limit max_decompressed_bytes" in caught.value.message
    assert "TABWRIGHT_MAX_DECOMPRESSED_BYTES" in caught.value.hint


def test_a_sheet_over_the_row_or_column_limit_is_refused_before_loading(fastexcel_untouched: None) -> None:
    data = workbook({"S": [["a", "b", "c"]] + [[i, i, i] for i in range(100)]})
    with pytest.raises(TabwrightError) as caught:
        read_table(data, limits=Limits(max_rows=50))
    assert "reaches cell C101" in caught.value.message
    assert "at most 50 rows (limit max_rows), got 100 below the header" in caught.value.message
    with pytest.raises(TabwrightError, match=r"at most 2 columns \(limit max_columns\), got 3"):
        read_table(data, limits=Limits(max_columns=2))
    with pytest.raises(TabwrightError) as caught:
        read_table(data, limits=Limits(max_cells=299))
    assert "at most 299 cells (rows × columns, limit max_cells), got 100 × 3 = 300" \
        in caught.value.message
    assert "TABWRIGHT_MAX_CELLS" in caught.value.hint


def sparse_bomb(dimension: bytes | None) -> bytes:
    """Two cells, at A1 and XFD1048576: calamine would build a grid of 17 billion cells
    (550 GB) and abort the process. ``dimension`` replaces the declared range (None drops it)."""
    data = workbook({"S": [["a"], [1]]})

    def far_cell(xml: bytes) -> bytes:
        xml = xml.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row></sheetData>')
        xml = re.sub(rb'<dimension ref="[^"]*"\s*/>', b"" if dimension is None else
                     b'<dimension ref="' + dimension + b'"/>', xml)
        return xml
    return rewrite(data, SHEET1, far_cell)


def test_a_sheet_declaring_a_range_over_the_cell_limit_is_refused_before_loading(
        fastexcel_untouched: None) -> None:
    with pytest.raises(TabwrightError) as caught:
        read_table(sparse_bomb(b"A1:XFD1048576"), limits=Limits(max_columns=20_000))
    assert "reaches cell XFD1048576" in caught.value.message
    assert f"limit max_decompressed_bytes, {CELL_BYTES} bytes a cell" in caught.value.message
    assert "Ctrl+End" in caught.value.hint


@pytest.mark.parametrize("dimension", [b"A1:A2", None], ids=["declared_falsely", "not_declared"])
def test_a_sheet_over_the_cell_limit_ends_only_the_reading_process_and_is_explained(
        dimension: bytes | None) -> None:
    # fastexcel really reads it: Rust aborts the process it reads in, and this one goes on
    with pytest.raises(TabwrightError) as caught:
        read_table(sparse_bomb(dimension), limits=Limits(max_columns=20_000))
    assert "reaches cell XFD1048576" in caught.value.message
    assert f"limit max_decompressed_bytes, {CELL_BYTES} bytes a cell" in caught.value.message
    assert "Ctrl+End" in caught.value.hint


def test_a_sheet_without_cell_references_over_the_cell_limit_is_refused() -> None:
    # No r="..." anywhere: 16,384 cells in row 1, then a million rows counted one by one, the
    # last with a value. No reference tells the range (the scan before reading missed it and
    # the process aborted); the memory limit of the reading process stops it.
    rows = (b"<row>" + b"<c><v>1</v></c>" * 16_384 + b"</row>" + b"<row><c><v>2</v></c></row>" * 2
            + b"<row/>" * 1_048_570 + b"<row><c><v>3</v></c></row>")
    data = rewrite(workbook({"S": [["a"], [1]]}), SHEET1, lambda xml: re.sub(
        rb"<sheetData>.*</sheetData>", b"<sheetData>" + rows + b"</sheetData>", drop_dimension(xml),
        flags=re.S))
    assert len(data) < 20_000
    with pytest.raises(TabwrightError) as caught:
        read_table(data)
    assert caught.value.message == (f"Reading the sheet 'S' must take at most {4 * 1024**3:,} bytes of "
                                    "memory (4 × limit max_decompressed_bytes), got more.")
    assert caught.value.hint.startswith("Its used range may reach far beyond the table. Delete")
    assert "Ctrl+End" in caught.value.hint and "TABWRIGHT_MAX_DECOMPRESSED_BYTES" in caught.value.hint


def test_a_sheet_that_takes_too_long_to_read_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    def padded(xml: bytes) -> Iterator[bytes]:
        # 50 million empty elements: 200 MB of XML in a 200 KB file, seconds to read through
        head, tail = xml.split(b"</sheetData>")
        yield head
        yield from (b"<x/>" * 1_000_000 for _ in range(50))
        yield b"</sheetData>" + tail

    data = rewrite(workbook({"S": [["a", "b"], [1, 2]]}), SHEET1, padded)
    monkeypatch.setattr(excel, "_READ_SECONDS_MIN", 1)
    monkeypatch.setattr(excel, "_READ_SECONDS_PER_GIB", 0)
    with pytest.raises(TabwrightError) as caught:
        read_table(data)
    assert caught.value.message == ("Reading the sheet 'S' must take at most 1 s of processor time "
                                    "(limit max_decompressed_bytes, 0 s a GiB), got more.")
    assert "save the sheet as CSV" in caught.value.hint


def test_a_sheet_fastexcel_refuses_past_the_first_rows_is_refused_as_damaged() -> None:
    rows = [["a", "b"]] + [[i, i] for i in range(80)]  # the rows checked first are whole
    far_row = b'<row r="90"><c r="A90" t="s"><v>7</v></c></row>'  # a shared text that is not there
    data = rewrite(workbook({"S": rows}), SHEET1,
                   lambda xml: xml.replace(b"</sheetData>", far_row + b"</sheetData>"))
    with pytest.raises(TabwrightError) as caught:
        read_table(data)
    assert caught.value.message.startswith("This Excel workbook is damaged or not really a workbook (")
    assert "save it again" in caught.value.hint


def test_a_sheet_over_a_limit_without_a_declared_range_is_refused_after_reading() -> None:
    rows = [["a", "b", "c"]] + [[i, i, i] for i in range(100)]
    data = rewrite(workbook({"S": rows}), SHEET1, drop_dimension)
    with pytest.raises(TabwrightError) as caught:
        read_table(data, limits=Limits(max_rows=50))
    assert caught.value.message == ("The sheet 'S' reaches cell C101: a table must have at most 50 "
                                    "rows (limit max_rows), got 100 below the header.")


def test_cells_past_the_first_rows_widen_the_range_checked() -> None:
    rows = [["a", "b"]] + [[i, i] for i in range(80)]  # more rows than the header search reads
    data = rewrite(workbook({"S": rows}), SHEET1, lambda xml: drop_dimension(xml)
                   .replace(b"</row></sheetData>", b'<c r="Z81" t="n"><v>5</v></c></row></sheetData>'))
    with pytest.raises(TabwrightError, match="reaches cell Z81"):
        read_sheet(data, sheet=None, limits=Limits(max_decompressed_bytes=CELL_BYTES * 26 * 81 - 1))
    with pytest.raises(TabwrightError, match="blank header cell above values .*cell Z1"):
        read_sheet(data, sheet=None, limits=Limits())


def test_the_pattern_for_references_past_a_range() -> None:
    rows = re.compile(b"^(?:" + excel._after("1677721", "0123456789") + b")$")
    assert [bool(rows.match(n)) for n in (b"1677721", b"1677722", b"1700000", b"999999", b"10000000")] \
        == [False, True, True, False, True]
    columns = re.compile(b"^(?:" + excel._after("AB", "ABCDEFGHIJKLMNOPQRSTUVWXYZ") + b")$")
    assert [bool(columns.match(c)) for c in (b"Z", b"AB", b"AC", b"BA", b"AAA")] == [False, False, True, True, True]
    assert excel._column_letters(16384) == "XFD" and excel._column_number("XFD") == 16384


def test_a_workbook_fingerprint_is_the_files_digest_and_the_sheet() -> None:
    data = workbook({"S": [["a"], [1]]})
    digest = hashlib.sha256(data).hexdigest()
    assert read_table(data).fingerprint == hashlib.sha256(f"{digest}:S".encode()).hexdigest()


def test_a_leading_sheet_of_notes_is_passed_over_by_default() -> None:
    data = workbook({"Read me": [["Exported from the branch system"]], "Loans": [["a", "b"], [1, 2]]})
    table = read_table(data)
    assert table.sheet == "Loans" and table.sheets == ("Read me", "Loans")
    assert table.notes[0] == "The first sheet, 'Read me', holds no table, so sheet 'Loans' was read."
    with pytest.raises(TabwrightError, match="header row .* but no data rows"):
        read_table(data, sheet="Read me")


def test_the_child_process_sends_the_sheet_as_arrow_and_says_when_it_refuses(tmp_path: Path) -> None:
    """core.ingest._excel_child run as the app runs it: an order in, an Arrow stream out."""
    import json
    import subprocess
    import sys

    import pyarrow as pa

    from core.ingest import _excel_child as child

    path = tmp_path / "book.xlsx"
    path.write_bytes(workbook({"Data": [["a", "b"], [1, "x"], [2, "y"]]}))
    order = {"path": str(path), "sheet": "Data", "header_row": 0, "memory": 2**30, "seconds": 30}
    done = subprocess.run([sys.executable, "-P", child.__file__, json.dumps(order)],
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    table = pa.ipc.open_stream(done.stdout).read_all()
    assert table.num_rows == 2 and table.column(1).to_pylist() == ["x", "y"]
    assert child.COLUMNS_KEY in table.schema.metadata
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not a workbook")
    order["path"] = str(broken)
    done = subprocess.run([sys.executable, "-P", child.__file__, json.dumps(order)],
                          capture_output=True, timeout=60)
    assert done.returncode == child.REFUSED and done.stderr.strip()
