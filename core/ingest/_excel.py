"""Reading one sheet of an Excel workbook (.xlsx, .xlsm) as Arrow columns, safely.

:func:`read_sheet` returns the sheet's columns as fastexcel reads them (numbers, dates,
booleans, text; calamine in Rust underneath, so no Python object per cell) with the name of
the sheet read, every sheet's name and notes in plain words. :mod:`core.ingest._read` then
types the text columns as it does a CSV's.

What is read is what the workbook saved: a formula is never evaluated (its cell gives the
result Excel saved with the file, and nothing when the file was written by a program that
does not calculate), and macros never run (an .xlsm's VBA project is never opened; nothing
in a workbook is executed).

Before fastexcel sees the file, what can be told cheaply from the zip's directory and the
sheet's first rows (streamed in small chunks) is refused with a plain message:

- a password-protected workbook (an OLE container holding an ``EncryptedPackage`` stream);
- a zip bomb: members whose uncompressed sizes add up to more than ``max_decompressed_bytes``
  (Python's zipfile then holds each member it reads to its stated size and checks its CRC, so
  a directory that lies about the parts read here is a damaged file);
- a sheet whose declared used range (its ``<dimension>``) is over the row, column or cell
  limit.

fastexcel then reads the sheet in a process of its own (:mod:`core.ingest._excel_child`), never
in the app's: calamine holds a sheet's whole used range as a grid of 32-byte cells, so two cells
far apart (A1 and XFD1048576, with or without cell references in the XML) ask for 550 GB, and
Rust aborts the process that asked. That process's memory is limited (beyond what it holds
after its imports) to ``_READ_MEMORY`` times ``max_decompressed_bytes`` and its processor time
to ``_READ_SECONDS_PER_GIB`` seconds a GiB of it, so a hostile sheet ends that process only.
The sheet is then scanned for a cell reference beyond the expected range (with a pattern that
only matches those), and the person is told which cell, or else that reading the sheet needs
more memory or time than its size allows. The columns come back as an Arrow IPC stream
through a pipe, and the range they span is checked against the limits again.

The header row is the first row (of the sheet's first rows) holding at least half as many
values as the widest of them, and two at least when the table is wider than one column: a
title and a blank line above the table are skipped, and a header with a blank cell (the index
column of a frame pandas wrote) is still the header.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import json
import math
import os
import re
import signal
import string
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from xml.etree import ElementTree

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.errors import TabwrightError
from core.ingest import _excel_child
from core.settings import Limits

__all__ = ["CELL_BYTES", "OLE_MAGIC", "WORKBOOK_SUFFIXES", "Sheet", "is_workbook", "read_sheet",
           "refuse_encrypted"]

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""The first bytes of an OLE container: an old .xls, or a password-protected .xlsx."""

CELL_BYTES = 32
"""What calamine holds per cell of a sheet's used range while it reads it. The cell limit is
``max_decompressed_bytes`` divided by this: the grid a sheet unpacks into in memory."""

_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_WORKBOOK = "xl/workbook.xml"
_SHARED = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/sharedStrings.xml", "xl/styles.xml")
"""The members fastexcel reads besides the sheet; each is read through once to check its CRC."""
_CHUNK = 4 * 1024 * 1024
_OVERLAP = 32  # bytes kept from the previous chunk, so a cell reference cut in two is still seen
_PEEK_BYTES = 1024 * 1024
_PEEK_ROWS = 50
_PIECE = 64 * 1024  # fed to the XML parser at a time, so the peek stops soon after its rows
_HEADER_SHARE = 0.5
_REF = re.compile(r"([A-Z]{1,3})([0-9]+)")
_FIX_HINT = ("Open it in Excel (or LibreOffice), save it again as an Excel workbook (.xlsx), "
             "and upload that; or save the sheet as CSV.")
_TRIM_HINT = ("Delete the unused rows and columns below and to the right of the table (Ctrl+End "
              "shows the sheet's last cell), save, and upload it again; or ")
_READ_MEMORY = 4
"""The memory the process reading a sheet may take beyond its own, in ``max_decompressed_bytes``:
calamine's grid (at most ``max_decompressed_bytes``: the cell limit), the list of cells it
holds before the grid (40 bytes a cell, grown by doubling), a copy of each text and the Arrow
columns. A sheet at the cell limit was measured to need up to about 3 times."""
_READ_SECONDS_PER_GIB = 60
"""Processor seconds the process reading a sheet may take per GiB of ``max_decompressed_bytes``
(a 1M × 20 sheet, 1 GB of XML, takes 10 to 13), and at least ``_READ_SECONDS_MIN``."""
_READ_SECONDS_MIN = 10

_ZIP_DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, KeyError,
               OverflowError, NotImplementedError, zlib.error, OSError)


class _Column(NamedTuple):
    """One column as fastexcel found it: its name, its place in the sheet (0 is column A) and
    where the name came from (``"provided"`` by the header, ``"generated"`` for a blank one)."""

    name: str
    absolute_index: int
    column_name_from: str


class _Stopped(Exception):
    """The process reading the sheet was stopped by its limits; ``error`` says so plainly."""

    def __init__(self, error: TabwrightError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class Sheet:
    """One sheet of a workbook as read: its columns and what was found on the way.

    Attributes
    ----------
    columns : pyarrow.Table
        The sheet's columns below the header row, named by it, as fastexcel typed them:
        ``double``, ``timestamp[ms]``, ``duration[ms]``, ``bool``, ``string`` or ``null``.
    name : str
        The sheet read.
    names : tuple of str
        Every sheet of the workbook, in its order.
    notes : list of str
        What the person should know, one sentence each (rows skipped above the header, ...).
    """

    columns: pa.Table
    name: str
    names: tuple[str, ...]
    notes: list[str] = field(default_factory=list)


def is_workbook(source: bytes | str) -> bool:
    """Whether ``source`` (bytes or a path) is a zip holding ``xl/workbook.xml``."""
    try:
        with _open_zip(source) as archive:
            return _WORKBOOK in archive.NameToInfo
    except _ZIP_DAMAGE:
        return False


def refuse_encrypted(raw: bytes) -> None:
    """Raise if ``raw`` is an OLE container holding an encrypted Office document."""
    if raw.startswith(OLE_MAGIC) and _ENCRYPTED in raw:
        raise TabwrightError(
            "This workbook is password-protected, so it cannot be read.",
            "Open it in Excel, remove the password (File › Info › Protect Workbook › Encrypt "
            "with Password, then clear it), save it, and upload it again.",
        )


def read_sheet(source: bytes | str, *, sheet: str | None, limits: Limits) -> Sheet:
    """Read one sheet of a workbook (bytes or a path); by default the first sheet that holds a
    table (two rows with values at least), so a leading sheet of notes is passed over.

    Parameters
    ----------
    source : bytes or str
        The workbook's bytes, or a path to it.
    sheet : str, optional
        The sheet's name.
    limits : Limits

    Returns
    -------
    Sheet

    Raises
    ------
    TabwrightError
        For a damaged workbook, an unknown sheet (the hint lists the sheets), an empty sheet,
        a sheet over a limit, a zip bomb, a sheet that needs more memory or time to read than
        ``max_decompressed_bytes`` allows, or a blank header above values.
    """
    try:
        archive = _open_zip(source)
    except _ZIP_DAMAGE:
        raise _damaged("it is not a valid zip file") from None
    with archive:
        _check_directory(archive, limits)
        sheets = _sheet_paths(archive)
        names = tuple(sheets)
        chosen = _first_table(archive, sheets) if sheet is None else sheet
        if chosen not in sheets:
            listed = ", ".join(repr(n) for n in names)
            raise TabwrightError(f"The workbook has no sheet named {sheet!r}.",
                                 f"Choose one of its sheets: {listed}.")
        for member in _SHARED:
            if member in archive.NameToInfo:
                for _ in _inflate(archive, member):
                    pass
        peek = _check_sheet(archive, sheets[chosen], chosen, limits)
        # The merged ranges follow the cells in the sheet's XML: found by a thread while the
        # reading process reads (zlib lets go of the GIL), not in a second pass after it.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            scan = pool.submit(_merged_ranges, _inflate(archive, sheets[chosen]))
            try:
                read, infos = _read_in_child(source, chosen, header_row=peek.header_row - 1,
                                             limits=limits)
            except _Stopped as stopped:
                scan.cancel() or scan.exception()  # the archive is read by one thread at a time
                _check_references(archive, sheets[chosen], chosen, peek, limits)  # names the far cell
                raise stopped.error from None
            try:
                merged = scan.result()
            except _ZIP_DAMAGE:
                raise _damaged(f"sheet {chosen!r} is cut short or altered") from None
    last_column = max((info.absolute_index + 1 for info in infos), default=peek.last_column)
    _check_range(peek.header_row + read.num_rows, last_column, header=peek.header_row,
                 limits=limits, sheet=chosen)
    notes = _header_note(peek.header_row)
    read = _fill_merged(read, infos, merged, header=peek.header_row, notes=notes)
    if sheet is None and chosen != names[0]:
        notes.insert(0, f"The first sheet, {names[0]!r}, holds no table, so sheet {chosen!r} was read.")
    columns = _named_columns(read, infos, sheet=chosen, header=peek.header_row,
                             formulas=peek.formulas, notes=notes)
    return Sheet(columns=columns, name=chosen, names=names, notes=notes)


# --------------------------------------------------------------------------- the reading process


def _read_in_child(source: bytes | str, sheet: str, *, header_row: int,
                   limits: Limits) -> tuple[pa.Table, list[_Column]]:
    """The sheet's columns as fastexcel reads them in a process of its own, under limits
    (:mod:`core.ingest._excel_child`); raises :class:`_Stopped` when they stop it."""
    memory = _READ_MEMORY * limits.max_decompressed_bytes
    seconds = max(_READ_SECONDS_MIN,
                  math.ceil(_READ_SECONDS_PER_GIB * limits.max_decompressed_bytes / 2**30))
    with contextlib.ExitStack() as stack:
        if isinstance(source, bytes):  # a file, which calamine streams: no copy in its memory
            workbook = stack.enter_context(tempfile.TemporaryFile())
            workbook.write(source)
            workbook.flush()
        else:
            workbook = stack.enter_context(open(source, "rb"))
        messages = stack.enter_context(tempfile.TemporaryFile())
        order = {"path": f"/proc/self/fd/{workbook.fileno()}", "sheet": sheet,
                 "header_row": header_row, "memory": memory, "seconds": seconds}
        # subprocess, not multiprocessing: it starts the interpreter afresh (safe in a threaded
        # app) and imports only fastexcel and pyarrow, not the app's __main__; -P keeps this
        # package's folder off its sys.path.
        child = stack.enter_context(subprocess.Popen(
            [sys.executable, "-P", _excel_child.__file__, json.dumps(order)], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=messages, pass_fds=(workbook.fileno(),)))
        try:
            columns = pa.ipc.open_stream(child.stdout).read_all()
        except (pa.ArrowInvalid, OSError):  # it stopped before writing all; its status says why
            columns = None
        except BaseException:
            child.kill()
            raise
        status = child.wait()
        messages.seek(0)
        said = messages.read().decode(errors="replace").strip().splitlines()
    if status == 0 and columns is not None:
        infos = [_Column(*c) for c in json.loads(columns.schema.metadata[_excel_child.COLUMNS_KEY])]
        return columns.replace_schema_metadata(None), infos
    if status == _excel_child.REFUSED:
        raise _damaged(said[0] if said else "fastexcel refused it")
    where = f"Reading the sheet {sheet!r} must take at most"
    raise_it = "set TABWRIGHT_MAX_DECOMPRESSED_BYTES to raise it."
    if status == -signal.SIGXCPU:
        raise _Stopped(TabwrightError(
            f"{where} {seconds:,} s of processor time (limit max_decompressed_bytes, "
            f"{_READ_SECONDS_PER_GIB} s a GiB), got more.",
            _TRIM_HINT + "save the sheet as CSV and upload that; or " + raise_it))
    if status in (-signal.SIGABRT, -signal.SIGKILL, _excel_child.OUT_OF_MEMORY):
        raise _Stopped(TabwrightError(
            f"{where} {memory:,} bytes of memory ({_READ_MEMORY} × limit max_decompressed_bytes), "
            "got more.", "Its used range may reach far beyond the table. " + _TRIM_HINT + raise_it))
    raise _damaged(f"reading it stopped with status {status}: {said[-1] if said else 'no message'}")


# --------------------------------------------------------------------------- the zip


def _open_zip(source: bytes | str) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else os.fspath(source))


def _damaged(detail: str) -> TabwrightError:
    return TabwrightError(f"This Excel workbook is damaged or not really a workbook ({detail}).",
                          _FIX_HINT)


def _check_directory(archive: zipfile.ZipFile, limits: Limits) -> None:
    infos = archive.infolist()
    if any(info.flag_bits & 0x1 for info in infos):
        raise TabwrightError("This workbook is password-protected, so it cannot be read.",
                             "Save it again without a password and upload that.")
    unpacked = sum(info.file_size for info in infos)
    if unpacked > limits.max_decompressed_bytes:
        raise TabwrightError(
            f"The workbook must unpack to at most {limits.max_decompressed_bytes:,} bytes "
            f"(limit max_decompressed_bytes), got {unpacked:,}.",
            "Set TABWRIGHT_MAX_DECOMPRESSED_BYTES to raise it, or save only the sheet you need "
            "(or a sample of its rows) and upload that.",
        )


def _inflate(archive: zipfile.ZipFile, member: str) -> Iterator[bytes]:
    """The member's bytes in chunks; zipfile stops at its stated size and checks its CRC."""
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(_CHUNK):
                yield chunk
    except _ZIP_DAMAGE as exc:
        raise _damaged(f"{member}: {exc}") from None


def _sheet_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → the member holding its XML, in the workbook's order."""
    try:
        workbook = ElementTree.fromstring(b"".join(_inflate(archive, _WORKBOOK)))
        rels = ElementTree.fromstring(b"".join(_inflate(archive, "xl/_rels/workbook.xml.rels")))
    except (ElementTree.ParseError, KeyError) as exc:
        raise _damaged(f"its list of sheets cannot be read: {exc}") from None
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter() if _local(rel.tag) == "Relationship"}
    paths = {}
    for element in workbook.iter():
        if _local(element.tag) != "sheet":
            continue
        rel_id = next((v for k, v in element.attrib.items() if _local(k) == "id" and k.startswith("{")), None)
        target = targets.get(rel_id, "")
        paths[element.get("name", "")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    if not paths:
        raise _damaged("it lists no sheets")
    return paths


def _first_table(archive: zipfile.ZipFile, sheets: dict[str, str]) -> str:
    """The first sheet whose first rows look like a table (two rows with values at least),
    so a leading sheet of notes is passed over; the first sheet when none does."""
    for name, member in sheets.items():
        if member in archive.NameToInfo and len(_peek(_inflate(archive, member), rows=2).rows) >= 2:
            return name
    return next(iter(sheets))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# --------------------------------------------------------------------------- the sheet's XML


@dataclass
class _Peek:
    """What the sheet's first rows say: its declared range, its header row and its width."""

    dimension: tuple[int, int] | None = None  # (last row, last column) the sheet declares
    rows: list[tuple[int, set[int]]] = field(default_factory=list)  # (row, columns with values)
    formulas: set[int] = field(default_factory=set)  # columns with formulas but no saved result

    @property
    def header_row(self) -> int:
        """The header's row number (1-based): the first row at least half as wide as the widest."""
        widest = max(len(columns) for _, columns in self.rows)
        needed = max(min(2, widest), math.ceil(_HEADER_SHARE * widest))
        return next(number for number, columns in self.rows if len(columns) >= needed)

    @property
    def last_column(self) -> int:
        return max(max(columns) for _, columns in self.rows)


def _check_sheet(archive: zipfile.ZipFile, member: str, sheet: str, limits: Limits) -> _Peek:
    """Find the header and refuse a sheet whose declared range is over a limit, from its first
    rows, before fastexcel reads any of it."""
    if member not in archive.NameToInfo:
        raise _damaged(f"sheet {sheet!r} has no data part")
    peek = _peek(_inflate(archive, member))
    if not peek.rows:
        raise TabwrightError(f"The sheet {sheet!r} is empty.",
                             "Choose a sheet that holds a table, or add a header row and data.")
    if peek.dimension:
        _check_range(*peek.dimension, header=peek.header_row, limits=limits, sheet=sheet)
    return peek


def _check_references(archive: zipfile.ZipFile, member: str, sheet: str, peek: _Peek,
                      limits: Limits) -> None:
    """Refuse a sheet with a cell reference beyond a limit anywhere in its XML: what explains
    that reading it was stopped, in the usual case (the whole sheet is read through)."""
    header = peek.header_row
    columns = max(peek.last_column, peek.dimension[1] if peek.dimension else 0)
    while True:  # again only in the rare sheet with cells past its declared range and first rows
        last_row, last_column = _references_beyond(_prefetched(_inflate(archive, member)), columns,
                                                   _rows_allowed(columns, header, limits))
        if last_column <= columns:
            break
        columns = last_column
    if last_row:
        _check_range(last_row, columns, header=header, limits=limits, sheet=sheet)


def _peek(chunks: Iterator[bytes], *, rows: int = _PEEK_ROWS) -> _Peek:
    """Parse the sheet's first rows (at most ``rows`` rows holding values)."""
    parser = ElementTree.XMLPullParser(events=("start", "end"))
    peek, parent, row_number, seen = _Peek(), None, 0, 0
    pieces = (chunk[i:i + _PIECE] for chunk in chunks for i in range(0, len(chunk), _PIECE))
    for piece in pieces:
        parser.feed(piece)
        seen += len(piece)
        try:
            events = list(parser.read_events())
        except ElementTree.ParseError as exc:
            raise _damaged(f"its sheet cannot be read: {exc}") from None
        for event, element in events:
            tag = _local(element.tag)
            if event == "start":
                parent = element if tag == "sheetData" else parent
            elif tag == "dimension":
                peek.dimension = _range_end(element.get("ref", ""))
            elif tag == "row":
                row_number = int(element.get("r") or row_number + 1)
                columns = _cells(element, peek.formulas)
                if columns:
                    peek.rows.append((row_number, columns))
                if parent is not None:
                    parent.clear()  # rows read are let go: a sheet of empty rows stays small
                if len(peek.rows) >= rows:
                    return peek
        if seen >= _PEEK_BYTES and peek.rows:
            break
    return peek


def _cells(row: ElementTree.Element, formulas: set[int]) -> set[int]:
    """The columns of a row's cells that hold a value; formulas without one go to ``formulas``."""
    columns = set()
    for position, cell in enumerate(row, start=1):
        ref = _REF.fullmatch(cell.get("r") or "")
        column = _column_number(ref[1]) if ref else position
        parts = {_local(child.tag): child for child in cell}
        value = parts.get("v")
        if (value is not None and value.text) or "is" in parts:
            columns.add(column)
        elif "f" in parts:
            formulas.add(column)
    return columns


def _prefetched(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """``chunks``, unpacked one ahead on another thread (zlib lets go of the GIL meanwhile)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(next, chunks, None)
        while (chunk := pending.result()) is not None:
            pending = pool.submit(next, chunks, None)
            yield chunk


def _range_end(ref: str) -> tuple[int, int] | None:
    """(last row, last column) of a range such as ``A1:T500``; ``None`` when it says nothing."""
    end = _REF.fullmatch(ref.split(":")[-1].replace("$", ""))
    return (int(end[2]), _column_number(end[1])) if end and ":" in ref else None


def _rows_allowed(columns: int, header: int, limits: Limits) -> int:
    return min((limits.max_decompressed_bytes // CELL_BYTES) // columns, header + limits.max_rows)


def _references_beyond(chunks: Iterator[bytes], columns: int, rows: int) -> tuple[int, int]:
    """(largest row past ``rows`` or 0, largest column, at least ``columns``) among the cell
    references in ``chunks``. The pattern matches only references past the expected range,
    so a sheet within it is scanned at the speed of Python's regex engine skipping text."""
    quote = rb"[\"']"
    pattern = re.compile(
        rb"r\s*=\s*" + quote + rb"((?:" + _after(_column_letters(columns), string.ascii_uppercase)
        + rb")[0-9]+|[A-Z]*(?:" + _after(str(rows), string.digits) + rb"))" + quote)
    last_row, last_column, tail = 0, columns, b""
    for chunk in chunks:
        # A reference cut in two by the chunks is whole in the seam (the chunk is not copied).
        for ref in pattern.findall(tail + chunk[:_OVERLAP]) + pattern.findall(chunk):
            letters = ref.rstrip(b"0123456789")
            row = int(ref[len(letters):])
            last_row = max(last_row, row if row > rows else 0)
            last_column = max(last_column, _column_number(letters.decode()))
        tail = chunk[-_OVERLAP:]
    return last_row, last_column


_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref\s*=\s*[\"']"
                    rb"([A-Z]{1,3})([0-9]+):([A-Z]{1,3})([0-9]+)[\"']")


_MERGE_OVERLAP = 128  # a whole <mergeCell ref="..."/> element fits in the seam between chunks


def _merged_ranges(chunks: Iterator[bytes]) -> list[tuple[int, int, int, int]]:
    """The sheet's merged ranges as (first row, last row, first column, last column), 1-based.
    They are listed after the cells, so the whole sheet is scanned (at the regex engine's
    speed of skipping text, as :func:`_references_beyond`)."""
    found, tail = set(), b""
    for chunk in chunks:
        seam = tail + chunk[:_MERGE_OVERLAP]
        tail = chunk[-_MERGE_OVERLAP:]
        if b"mergeCell" not in chunk and b"mergeCell" not in seam:
            continue  # a plain search: most chunks hold cells only
        for match in _MERGE.findall(seam) + _MERGE.findall(chunk):
            first, top, last, bottom = match
            found.add((int(top), int(bottom), _column_number(first.decode()),
                       _column_number(last.decode())))
    return sorted(found)


def _fill_merged(read: pa.Table, infos: list[_Column], merged: list[tuple[int, int, int, int]],
                 *, header: int, notes: list[str]) -> pa.Table:
    """Every row of a merged range below the header given the range's value, which the file
    keeps in its first cell only: a group label merged down its rows labels each of them. The
    value stays in its own column: cells merged across columns do not copy it sideways, where
    it would be a value of another kind."""
    position = {info.absolute_index + 1: j for j, info in enumerate(infos)}
    filled: dict[int, list[Any]] = {}
    used = []
    for top, bottom, first, last in merged:
        if top <= header or bottom <= top or (first not in position) \
                or top - header - 1 >= read.num_rows:
            continue  # merged header cells, a range one row high, or outside the columns read
        start, stop = top - header - 1, min(bottom - header, read.num_rows)
        source = position[first]
        value = filled[source][start] if source in filled else read.column(source)[start].as_py()
        if value is None:
            continue  # nothing to give
        values = filled.setdefault(source, read.column(source).to_pylist())
        values[start:stop] = [value] * (stop - start)
        used.append(f"{_column_letters(first)}{top}:{_column_letters(last)}{bottom}")
    for j, values in filled.items():
        read = read.set_column(j, read.field(j), pa.array(values, type=read.schema.field(j).type))
    if used:
        shown = ", ".join(used[:3]) + (" …" if len(used) > 3 else "")
        notes.append(f"Merged cells were filled: each merged range's value now stands in every "
                     f"row it spans ({len(used):,} range{'s' if len(used) > 1 else ''}: {shown}).")
    return read


def _after(text: str, alphabet: str) -> bytes:
    """A pattern for the strings over ``alphabet`` after ``text`` in (length, alphabet) order:
    the larger numbers, or the columns further right."""
    first, last = alphabet[0], alphabet[-1]
    options = [f"[{first}-{last}]{{{len(text) + 1},}}"]
    for i, char in enumerate(text):
        following = alphabet[alphabet.index(char) + 1:]
        if following:
            options.append(f"{text[:i]}[{following[0]}-{last}][{first}-{last}]{{{len(text) - i - 1}}}")
    return "|".join(options).encode()


def _check_range(last_row: int, last_column: int, *, header: int, limits: Limits, sheet: str) -> None:
    where = f"The sheet {sheet!r} reaches cell {_column_letters(last_column)}{last_row}"
    if last_column > limits.max_columns:
        raise TabwrightError(
            f"{where}: a table must have at most {limits.max_columns:,} columns (limit max_columns), "
            f"got {last_column:,}.", _TRIM_HINT + "set TABWRIGHT_MAX_COLUMNS to raise it.")
    if last_row - header > limits.max_rows:
        raise TabwrightError(
            f"{where}: a table must have at most {limits.max_rows:,} rows (limit max_rows), got "
            f"{last_row - header:,} below the header.", _TRIM_HINT + "set TABWRIGHT_MAX_ROWS to raise it.")
    cells, most = last_row * last_column, limits.max_decompressed_bytes // CELL_BYTES
    if cells > most:
        raise TabwrightError(
            f"{where}: a sheet must have at most {most:,} cells (limit max_decompressed_bytes, "
            f"{CELL_BYTES} bytes a cell), got {cells:,}.",
            _TRIM_HINT + "set TABWRIGHT_MAX_DECOMPRESSED_BYTES to raise it.")
    rows = max(last_row - header, 0)
    if rows * last_column > limits.max_cells:
        raise TabwrightError(
            f"{where}: a table must have at most {limits.max_cells:,} cells (rows × columns, limit "
            f"max_cells), got {rows:,} × {last_column:,} = {rows * last_column:,}.",
            _TRIM_HINT + "set TABWRIGHT_MAX_CELLS to raise it.")


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --------------------------------------------------------------------------- the columns


def _header_note(header: int) -> list[str]:
    if header == 1:
        return []
    above = "Row 1 above the table was" if header == 2 else f"Rows 1–{header - 1} above the table were"
    return [f"{above} skipped; the header is row {header}."]


def _named_columns(read: pa.Table, infos: list[_Column], *, sheet: str, header: int,
                   formulas: set[int], notes: list[str]) -> pa.Table:
    """The columns named by the header; blank-headed empty columns and empty rows left out."""
    kept, names, dropped = [], [], []
    for info, column in zip(infos, read.columns):
        letter = _column_letters(info.absolute_index + 1)
        empty = column.null_count == len(column)
        if info.column_name_from == "generated":
            if not empty:
                raise TabwrightError(
                    f"Column names must not be blank, got a blank header cell above values "
                    f"(sheet {sheet!r}, cell {letter}{header}).",
                    "Type a name for it in the header row, or delete the column.")
            dropped.append(letter)
            continue
        if empty and info.absolute_index + 1 in formulas:
            notes.append(f"Column {info.name!r} holds formulas without saved results (the file "
                         "was saved by a program that does not calculate): open it in Excel or "
                         "LibreOffice and save it again to store them.")
        kept.append(column)
        names.append(info.name)
    if dropped:
        notes.append(f"Columns without a header or values were left out: {', '.join(dropped)}.")
    table = pa.table(kept, names=names)
    present = pa.array(np.zeros(table.num_rows, dtype=bool))
    for column in table.columns:
        present = pc.or_(present, pc.is_valid(column))
    n_empty = len(present) - (pc.sum(present).as_py() or 0)
    if n_empty:
        notes.append(f"Rows without any value were left out: {n_empty:,}.")
        table = table.filter(present)
    if not table.num_rows or not table.num_columns:
        raise TabwrightError(f"The sheet {sheet!r} has a header row (row {header}) but no data rows.",
                             "Add at least one data row below the header.")
    return table
