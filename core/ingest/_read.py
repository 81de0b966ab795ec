"""Reading a CSV or TSV file (or an Excel sheet, or a Parquet file) into a table, whatever
shape the file arrives in.

:func:`read_table` takes the bytes a person uploaded (or a path) and returns a
:class:`LoadedTable`: a pandas DataFrame plus, in plain words, what was detected (encoding,
delimiter, decimal mark) and what was changed on the way (text like ``$12.50`` read as
numbers, dates read as dates, spaces removed around column names). Everything a person can
get wrong with a file is refused as a :class:`~core.errors.TabwrightError` naming the line,
column or limit involved.

The file's content decides how it is read (its name only when the content says nothing): a
zip holding ``xl/workbook.xml`` is an Excel workbook (one sheet of it is read, see
:mod:`core.ingest._excel`), a file starting with ``PAR1`` is Parquet (see
:mod:`core.ingest._parquet`), anything else a CSV. A workbook's text columns are then typed
as a CSV's are (below), so ``$1,200`` typed into a cell is a number; Parquet's types are kept.

How a CSV is read, in order:

1. Refuse what is not a text table (images, PDFs, Excel workbooks, pickles, NUL bytes);
   unpack gzip and single-file zip uploads with a hard cap on the unpacked size.
2. Detect the encoding (BOM, then UTF-8, then cp1252, then latin-1) and the delimiter
   (the one of ``, ; tab |`` that splits the first lines into the same number of fields).
3. Parse every column as text with pyarrow's multithreaded CSV reader. pyarrow is used
   directly rather than through ``pd.read_csv(engine="pyarrow")`` because pandas does not
   pass ``newlines_in_values``, so quoted line breaks would break across parse blocks.
   pandas' C engine is the fallback when pyarrow gives up for any reason other than a
   ragged row (e.g. one line longer than a parse block).
4. Decide each column's type from its text, vectorised with pyarrow compute, after looking
   at a sample to decide what is worth trying: whole numbers, decimals, text numbers
   (currency, thousands separators, percent, decimal commas), dates, true/false.

Decisions, each reported to the user in ``conversions`` or ``notes``:

- Text becomes numbers or dates only when at least :data:`CONVERT_THRESHOLD` (98%) of the
  column's non-missing values parse; the rest become missing and the conversion says how many.
  A sample of about 1,000 values spread over the column decides what is worth trying at all.
- Percent signs are removed without dividing: ``45%`` is read as 45 (the column keeps the
  scale the person sees in the file).
- Values with leading zeros (``02134``, ``007``) stay text: they are codes, not amounts.
  Whole numbers too large for int64 stay text too (floats would silently change them).
- Dates: ISO 8601 through pyarrow's parser; other layouts (``03/04/2021``, ``4 Mar 2021``)
  through a few explicit formats, never per-value guessing. Day/month order follows values
  above 12; when every value is ambiguous, month first, except day first in files with a
  semicolon delimiter or decimal comma; the note says which was used. Years written as
  numbers stay numbers.
- ``True``/``False`` (any case, nothing missing) become bool; ``yes``/``no`` stay text.
- Cells in :data:`MISSING_MARKERS`, empty or only spaces, are missing; spaces around text
  values and column names are removed.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
import struct
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from core import settings as limits_module
from core.errors import TabwrightError
from core.formatting import shorten
from core.ingest._excel import (
    OLE_MAGIC,
    WORKBOOK_SUFFIXES,
    is_workbook,
    read_sheet,
    refuse_encrypted,
)
from core.ingest._parquet import PARQUET_MAGIC, read_parquet
from core.settings import Limits

__all__ = [
    "CONVERT_THRESHOLD",
    "MISSING_MARKERS",
    "LoadedTable",
    "neutralise_formulas",
    "read_table",
    "to_safe_csv",
]

MISSING_MARKERS: tuple[str, ...] = (
    "", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "none",
    "?", "-", "--", "#N/A",
)
"""Cell texts read as missing (after removing surrounding spaces)."""

CONVERT_THRESHOLD = 0.98
"""Share of a column's non-missing values that must parse before it becomes numbers or dates."""

DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_SNIFF_BYTES = 1024 * 1024
_SNIFF_RECORDS = 100
_SAMPLE_SIZE = 1000
_BLOCK_SIZE = (1024 * 1024, 16 * 1024 * 1024)  # (smallest, largest) pyarrow parse block
_CHUNK = 1024 * 1024
_WORKERS = max(1, min(4, os.cpu_count() or 1))
_PARALLEL_BYTES = 1024 * 1024  # smaller files are read on the calling thread alone
_DEFAULT_NAME = "data.csv"
_HEAD_BYTES = 8  # enough to tell a zip, an OLE container and Parquet apart
_COLUMN = "\x00"  # stands for the column's name in per-column notes (NUL never survives reading)

_EXCEL_HINT = ("Open it in Excel (or LibreOffice), save it as an Excel workbook (.xlsx) or as CSV, "
               "and upload that.")
_TEXT_HINT = "Upload a CSV or TSV file: plain text with a header row."
_MAGIC: tuple[tuple[bytes, str, str], ...] = (  # (first bytes, what the file is, what to do)
    (b"\x89PNG\r\n\x1a\n", "is a PNG image", _TEXT_HINT),
    (b"\xff\xd8\xff", "is a JPEG image", _TEXT_HINT),
    (b"GIF87a", "is a GIF image", _TEXT_HINT),
    (b"GIF89a", "is a GIF image", _TEXT_HINT),
    (b"%PDF-", "is a PDF document", _TEXT_HINT),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "looks like an old Office file (.xls or .doc)", _EXCEL_HINT),
    (b"SQLite format 3\x00", "is an SQLite database", _TEXT_HINT),
    (b"\x7fELF", "is a program (ELF executable)", _TEXT_HINT),
    (b"\xfd7zXZ\x00", "is an xz archive", _TEXT_HINT),
    (b"7z\xbc\xaf\x27\x1c", "is a 7-Zip archive", _TEXT_HINT),
    (b"Rar!\x1a\x07", "is a RAR archive", _TEXT_HINT),
    (b"\x93NUMPY", "is a NumPy array file", _TEXT_HINT),
    (b"ARROW1", "is an Arrow/Feather file", _TEXT_HINT),
)


# --------------------------------------------------------------------------- the result


@dataclass
class LoadedTable:
    """A table read from a file, with what was detected and changed, in words.

    Attributes
    ----------
    frame : pandas.DataFrame
        The data. Whole-number columns without missing values are ``int64``; other numbers
        ``float64``; dates ``datetime64[ns]``; true/false ``bool``; everything else ``object``.
    name : str
        File name for display.
    encoding : str
        ``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"``, ``"cp1252"`` or ``"latin-1"``; ``""`` when
        the table was not read from a CSV.
    delimiter : str
        ``","``, ``";"``, ``"\\t"`` or ``"|"``; ``""`` when not from a CSV.
    decimal : str
        ``"."`` or ``","`` (a decimal comma, e.g. ``1,5`` in a semicolon-separated file).
    n_bytes : int
        Size of the file as given (before unpacking gzip or zip).
    fingerprint : str
        SHA-256 hex digest of the bytes as given; the content key for caches. For a workbook,
        the digest of the file's digest and the sheet's name, so each sheet has its own.
    conversions : dict of str to str
        Column name → what was converted, e.g. ``"text like '$12.50' read as numbers"``.
    notes : list of str
        Other things the user should know, one sentence each.
    source_format : str
        What the table was read from: ``"csv"``, ``"excel"``, ``"parquet"`` or ``"sql"``.
    sheet : str or None
        The sheet read, for a workbook.
    sheets : tuple of str
        Every sheet of the workbook, in its order, so a person can choose another.
    """

    frame: pd.DataFrame
    name: str
    encoding: str
    delimiter: str
    decimal: str
    n_bytes: int
    fingerprint: str
    conversions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    codes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)
    """Text column → ``pandas.factorize`` of it (codes with -1 for missing, and the distinct
    values in order of first appearance), made while reading, on the reader's threads."""
    source_format: str = "csv"
    sheet: str | None = None
    sheets: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for display.

        Examples
        --------
        >>> table = read_table(b"a,b\\n1,2\\n", name="tiny.csv")
        >>> table.summary()
        '1 row × 2 columns, utf-8, comma-separated'
        """
        rows, cols = self.frame.shape
        text = f"{_plural(rows, 'row')} × {_plural(cols, 'column')}, "
        if self.source_format == "excel" and len(self.sheets) > 1:
            # The sheet's position, not its name: a summary is shown without escaping.
            return text + f"Excel workbook, sheet {self.sheets.index(self.sheet) + 1} of {len(self.sheets)}"
        if self.source_format != "csv":
            return text + dict(self.details())["Format"]
        text += f"{self.encoding}, {DELIMITER_NAMES[self.delimiter]}-separated"
        if self.decimal == ",":
            text += ", decimal comma"
        return text

    def details(self) -> list[tuple[str, str]]:
        """How the table was read, as (what, how) pairs for display.

        A CSV's encoding, delimiter and decimal mark; a workbook's sheet (its name is the
        person's text: escape it where it is shown).

        Examples
        --------
        >>> read_table(b"a;b\\n1,5;2\\n").details()
        [('Encoding', 'utf-8'), ('Delimiter', 'semicolon'), ('Decimal mark', 'comma (1,5)')]
        """
        if self.source_format == "excel":
            position = f"{self.sheets.index(self.sheet) + 1} of {len(self.sheets)}"
            return [("Format", "Excel workbook"), ("Sheet", f"{self.sheet} ({position})")]
        if self.source_format != "csv":
            return [("Format", {"parquet": "Parquet file", "sql": "database query"}.get(
                self.source_format, self.source_format))]
        return [("Encoding", self.encoding),
                ("Delimiter", DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))),
                ("Decimal mark", "comma (1,5)" if self.decimal == "," else "point (1.5)")]


# --------------------------------------------------------------------------- entry point


def read_table(
    source: bytes | str | os.PathLike,
    *,
    name: str | None = None,
    sheet: str | None = None,
    limits: Limits | None = None,
) -> LoadedTable:
    """Read a CSV or TSV file, a sheet of an Excel workbook or a Parquet file into a :class:`LoadedTable`.

    Parameters
    ----------
    source : bytes or path
        The file's bytes (e.g. an upload) or a path to it. A ``str`` is a path.
        A CSV may be gzip-compressed or a zip holding exactly one ``.csv``/``.tsv``/``.txt``.
        Workbooks (``.xlsx``, ``.xlsm``) and Parquet files are told by their content.
    name : str, optional
        File name for display; defaults to the path's file name, or ``"data.csv"`` for bytes.
    sheet : str, optional
        The workbook's sheet to read; the first sheet by default. Only for workbooks.
    limits : Limits, optional
        Resource caps; defaults to :func:`core.settings.current`.

    Returns
    -------
    LoadedTable

    Raises
    ------
    TabwrightError
        For anything wrong with the file: empty, header only, not text, ragged rows,
        duplicate or blank column names, an unclosed quote, or over a limit.

    Examples
    --------
    >>> table = read_table(b"price;qty\\n1,5;2\\n2,25;3\\n")
    >>> table.delimiter, table.decimal, table.frame["price"].tolist()
    (';', ',', [1.5, 2.25])
    """
    limits = limits_module.current() if limits is None else limits
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = bytes(source)
        _check_size(len(source), limits=limits)
        head, shown = source[:_HEAD_BYTES], name or _DEFAULT_NAME
    else:
        source, head = _source_path(source, limits=limits)
        shown = name or os.path.basename(source) or _DEFAULT_NAME
    source_format = _source_format(source, head, shown, limits=limits)
    if source_format != "excel" and sheet is not None:
        raise TabwrightError(f"Only an Excel workbook has sheets, got sheet={sheet!r} for {shown!r}.",
                             "Leave the sheet out for a CSV or Parquet file.")
    # The pool starts threads only when given work, which small files never give it.
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        if source_format == "csv":
            raw, shown = _read_source(source, name=shown, limits=limits)
            return _read_bytes(raw, name=shown, limits=limits, pool=pool)
        return _read_typed(source, source_format, name=shown, sheet=sheet, limits=limits, pool=pool)


def _source_format(source: bytes | str, head: bytes, name: str, *, limits: Limits) -> str:
    """``"excel"``, ``"parquet"`` or ``"csv"``: the content decides, then the name."""
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if head.startswith(OLE_MAGIC):
        refuse_encrypted(source if isinstance(source, bytes) else _read_path(source, limits=limits))
    if head.startswith(b"PK\x03\x04") and is_workbook(source):
        return "excel"
    suffix = os.path.splitext(name)[1].lower()
    if suffix in WORKBOOK_SUFFIXES and not head.startswith(OLE_MAGIC):
        return "excel"  # the workbook reader says what is wrong with it
    return "parquet" if suffix == ".parquet" else "csv"


def _read_bytes(raw: bytes, *, name: str, limits: Limits, pool: ThreadPoolExecutor) -> LoadedTable:
    # hashlib releases the GIL, so a big file is hashed while it is parsed.
    hashing = pool.submit(_sha256, raw) if len(raw) >= _PARALLEL_BYTES else None
    notes: list[str] = []
    data = _unpack(raw, limits=limits, notes=notes)
    text = _decode(data)
    if not text.size:
        raise TabwrightError(
            "The file is empty." if not data else "The file is empty (only spaces and line breaks).",
            "Upload a CSV with a header row and at least one data row.",
        )
    delimiter, decimal, header = _sniff(text, limits=limits)
    _check_quotes_closed(text, delimiter)
    # The header's columns are declared as text (declaring max_columns, 100,000, costs 0.1 s
    # a file); should pyarrow find more, it is asked again with that many.
    declared = len(header) or limits.max_columns
    try:
        table = _parse(text, delimiter, n_columns=declared)
    except _NotUtf8:
        text = _decode_legacy(data)
        table = _parse(text, delimiter, n_columns=declared)
    if text.encoding in ("cp1252", "latin-1"):
        notes.append(
            f"The file is not valid UTF-8, so it was read as {text.encoding}; "
            "if accented letters look wrong, save it as UTF-8 and upload it again."
        )
    limits.check_shape(table.num_rows - 1, table.num_columns)
    if table.num_columns > declared + 1:
        table = _parse(text, delimiter, n_columns=table.num_columns)
    names = _column_names(table, header, notes=notes)
    n_rows = table.num_rows - 1
    if n_rows <= 0:
        raise TabwrightError(
            "The file has a header row but no data rows.",
            "Add at least one data row below the header.",
        )
    _check_field_lengths(table, names, limits=limits)
    european = decimal == "," or delimiter == ";"

    def read_column(column: pa.ChunkedArray) -> _Column:
        return _coded(_read_column(column, decimal=decimal, european=european))

    columns = table.slice(1).columns
    del table
    parallel = text.size >= _PARALLEL_BYTES
    results = list((pool.map if parallel else map)(read_column, columns))
    del columns
    frame, conversions, codes = _assemble(names, results, notes=notes)
    return LoadedTable(
        frame=frame,
        name=name,
        encoding=text.encoding,
        delimiter=delimiter,
        decimal=decimal,
        n_bytes=len(raw),
        fingerprint=hashing.result() if hashing else _sha256(raw),
        conversions=conversions,
        notes=notes,
        codes=codes,
    )


def _coded(result: _Column) -> _Column:
    """``result`` with its codes when it is a long text column (see :func:`_factorized`)."""
    if pa.types.is_string(result.values.type) and len(result.values) >= _CODES_ROWS:
        result.codes = _factorized(result.values)
    return result


def _assemble(
    names: list[str], results: list[_Column], *, notes: list[str]
) -> tuple[pd.DataFrame, dict[str, str], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The frame, conversions and codes of typed columns; their notes go to ``notes``.

    ``results`` is emptied as its columns move to pandas, so each Arrow column is let go once
    it has been converted.
    """
    conversions: dict[str, str] = {}
    series = {}
    codes = {}
    for column_name in names:
        result = results.pop(0)
        known = None if result.codes is None else len(result.codes[1])
        series[column_name] = _to_pandas(result.values, distinct=known)
        if result.codes is not None:
            codes[column_name] = result.codes
        if result.conversion:
            conversions[column_name] = result.conversion
        notes.extend(note.replace(_COLUMN, _shown(column_name)) for note in result.notes)
    return pd.DataFrame(series, copy=False), conversions, codes


# --------------------------------------------------------------------------- bytes in


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _read_source(
    source: bytes | str | os.PathLike, *, name: str | None, limits: Limits
) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        _check_size(len(raw), limits=limits)
        return raw, name or _DEFAULT_NAME
    path, _ = _source_path(source, limits=limits)
    raw = _read_path(path, limits=limits)
    _check_size(len(raw), limits=limits)
    return raw, name or os.path.basename(path) or _DEFAULT_NAME


def _source_path(source: str | os.PathLike, *, limits: Limits) -> tuple[str, bytes]:
    """The path ``source`` names, checked to be a readable file within the size limit, and
    its first bytes."""
    if isinstance(source, str) and ("\n" in source or "\r" in source):
        raise TabwrightError(
            "`source` must be bytes or a path, got text with line breaks.",
            "Pass the file's bytes, e.g. read_table(text.encode('utf-8')).",
        )
    if not isinstance(source, (str, os.PathLike)):
        raise TabwrightError(
            f"`source` must be bytes or a path, got {type(source).__name__}.",
            "Pass the uploaded file's bytes or the path to a CSV file.",
        )
    path = os.fspath(source)
    try:
        size = os.stat(path).st_size
        _check_size(size, limits=limits)
        with open(path, "rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except (FileNotFoundError, NotADirectoryError):
        raise TabwrightError(f"No file at {path!r}.", "Check the path and try again.") from None
    except IsADirectoryError:
        raise TabwrightError(f"{path!r} is a folder, not a file.", "Give the path to a CSV file.") from None
    except PermissionError:
        raise TabwrightError(
            f"Cannot open {path!r}: permission denied.", "Check the file's permissions."
        ) from None
    return path, head


def _read_path(path: str, *, limits: Limits) -> bytes:
    """A checked path's bytes (see :func:`_source_path`); one more than the size limit at most."""
    with open(path, "rb") as handle:
        return handle.read(limits.max_upload_bytes + 1)


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_size(n_bytes: int, *, limits: Limits) -> None:
    if n_bytes > limits.max_upload_bytes:
        raise TabwrightError(
            f"The file must be at most {_size(limits.max_upload_bytes)} (limit max_upload_bytes), "
            f"got {_size(n_bytes)}.",
            "Set TABWRIGHT_MAX_UPLOAD_BYTES to raise it, or upload a smaller file.",
        )


def _unpack(raw: bytes, *, limits: Limits, notes: list[str]) -> bytes:
    """Return the table's bytes: ``raw`` itself, or what a gzip/zip upload holds."""
    _refuse_binary(raw)
    if raw[:2] == b"\x1f\x8b":
        data = _gunzip(raw, limits=limits)
        notes.append(f"Unpacked from gzip ({_size(len(raw))} → {_size(len(data))}).")
    elif raw[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        data, member = _unzip(raw, limits=limits)
        notes.append(f"Read {_shown(member)} from inside the zip file.")
    else:
        return raw
    _refuse_binary(data)
    if data[:2] == b"\x1f\x8b" or data[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        raise TabwrightError(
            "The file must be compressed at most once, got an archive inside an archive.",
            "Unpack it and upload the CSV itself (or a single .csv.gz).",
        )
    return data


def _refuse_binary(data: bytes) -> None:
    for magic, what, hint in _MAGIC:
        if data.startswith(magic):
            raise TabwrightError(f"This file {what}, not a CSV table.", hint)
    if data[:1] == b"\x80" and len(data) > 1 and 2 <= data[1] <= 6:
        raise TabwrightError(
            "This file looks like a Python pickle, not a CSV table.",
            "tabwright never opens pickles, because loading one can run any code. "
            "Export the data as CSV instead.",
        )


def _too_big_unpacked(limits: Limits, packed: int, kind: str) -> TabwrightError:
    return TabwrightError(
        f"The unpacked file must be at most {_size(limits.max_decompressed_bytes)} "
        f"(limit max_decompressed_bytes), got more from a {_size(packed)} {kind} file.",
        "Set TABWRIGHT_MAX_DECOMPRESSED_BYTES to raise it, or upload the CSV uncompressed.",
    )


def _gunzip(raw: bytes, *, limits: Limits) -> bytes:
    """Stream-decompress gzip (all members), never holding more than the cap."""
    cap = limits.max_decompressed_bytes
    chunks: list[bytes] = []
    total = 0
    pending = raw
    try:
        while pending:
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            data = pending
            while not inflater.eof:
                # max_length bounds each step's output; the rest waits in unconsumed_tail.
                out = inflater.decompress(data, min(_CHUNK, cap - total + 1))
                data = inflater.unconsumed_tail
                if not out and not data:
                    break
                total += len(out)
                if total > cap:
                    raise _too_big_unpacked(limits, len(raw), "gzip")
                chunks.append(out)
            if not inflater.eof:
                raise TabwrightError(
                    "The gzip file is cut short.", "Upload the complete file, or the CSV uncompressed."
                )
            # Padding after the last member is allowed; anything else starts another member.
            pending = inflater.unused_data.lstrip(b"\x00")
    except zlib.error as exc:
        raise TabwrightError(
            f"The gzip file is damaged ({exc}).", "Upload the CSV uncompressed."
        ) from None
    return b"".join(chunks)


# What zipfile raises for archives damaged in different places.
_ZIP_DAMAGE = (
    zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, KeyError, OverflowError, struct.error,
)


def _unzip(raw: bytes, *, limits: Limits) -> tuple[bytes, str]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        infos = archive.infolist()
    except _ZIP_DAMAGE:
        raise TabwrightError("The zip file is damaged.", "Upload the CSV itself.") from None
    members = [i for i in infos if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
    names = {i.filename for i in members}
    if "[Content_Types].xml" in names or any(n.startswith("xl/") for n in names):
        raise TabwrightError(
            "This file looks like an Excel workbook (.xlsx), not a CSV file.", _EXCEL_HINT
        )
    if "mimetype" in names or any(n.startswith("word/") for n in names):
        raise TabwrightError(
            "This file looks like an office document (.ods, .odt or .docx), not a CSV file.",
            "Save the data as CSV and upload that.",
        )
    tables = [i for i in members if i.filename.lower().endswith((".csv", ".tsv", ".txt"))]
    if len(members) != 1 or len(tables) != 1:
        listed = ", ".join(sorted(names)[:3]) + (", …" if len(names) > 3 else "")
        raise TabwrightError(
            "The zip must hold exactly one .csv, .tsv or .txt file, "
            f"got {_plural(len(members), 'file')}" + (f" ({listed})." if members else "."),
            "Unzip it and upload the one CSV you want.",
        )
    info = tables[0]
    cap = limits.max_decompressed_bytes
    if info.file_size > cap:
        raise _too_big_unpacked(limits, len(raw), "zip")
    chunks: list[bytes] = []
    total = 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK):
                total += len(chunk)
                if total > cap:
                    raise _too_big_unpacked(limits, len(raw), "zip")
                chunks.append(chunk)
    except RuntimeError:
        raise TabwrightError(
            "The zip file is password-protected.", "Upload the CSV itself, unencrypted."
        ) from None
    except (*_ZIP_DAMAGE, NotImplementedError, zlib.error, OSError):
        raise TabwrightError(
            "The zip file is damaged or uses an unsupported compression.", "Upload the CSV itself."
        ) from None
    return b"".join(chunks), info.filename


# --------------------------------------------------------------------------- text


@dataclass(frozen=True)
class _Text:
    """The table as UTF-8 bytes: ``data[start:end]`` (no BOM, no trailing blank lines).

    For UTF-8 input ``data`` is the uploaded bytes themselves, so nothing is copied; whether
    every byte is valid UTF-8 is checked by pyarrow while parsing (it validates every cell).
    """

    data: bytes
    start: int
    end: int
    encoding: str

    @property
    def size(self) -> int:
        return self.end - self.start

    def buffer(self) -> pa.Buffer:
        return pa.py_buffer(self.data).slice(self.start, self.size)

    def head(self, n_bytes: int) -> str:
        head = self.data[self.start : min(self.end, self.start + n_bytes)]
        return head.decode("utf-8", errors="replace")

    def decoded(self) -> str:
        return self.data[self.start : self.end].decode("utf-8", errors="replace")

    def line_at(self, position: int) -> int:
        newline = b"\n" if self.data.find(b"\n", self.start, self.end) >= 0 else b"\r"
        return self.data.count(newline, self.start, position) + 1


class _NotUtf8(Exception):
    """pyarrow met bytes that are not UTF-8 beyond the part checked up front."""


def _decode(data: bytes) -> _Text:
    """Find the encoding; return the table as UTF-8 bytes."""
    utf16 = _utf16_codec(data)
    if utf16:
        try:
            text = data.decode(utf16).removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            raise TabwrightError(
                f"The file starts like UTF-16 text but byte {exc.start:,} is not valid UTF-16.",
                "Save the file again as UTF-8 CSV.",
            ) from None
        nul = text.find("\x00")
        if nul >= 0:
            raise _nul_error(nul)
        return _utf8_text(text.encode("utf-8"), 0, "utf-16")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise _nul_error(nul)
    bom = data.startswith(codecs.BOM_UTF8)
    start = 3 if bom else 0
    try:
        # The rest is validated by pyarrow as it parses (see _NotUtf8).
        whole = len(data) - start <= _SNIFF_BYTES
        codecs.getincrementaldecoder("utf-8")().decode(data[start : start + _SNIFF_BYTES], final=whole)
    except UnicodeDecodeError:
        if bom:
            raise TabwrightError(
                "The file starts with a UTF-8 marker but is not valid UTF-8.",
                "Save the file again as UTF-8 CSV.",
            ) from None
        return _decode_legacy(data)
    return _utf8_text(data, start, "utf-8-sig" if bom else "utf-8")


def _decode_legacy(data: bytes) -> _Text:
    try:
        text, encoding = data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, encoding = data.decode("latin-1"), "latin-1"
    return _utf8_text(text.encode("utf-8"), 0, encoding)


def _utf8_text(data: bytes, start: int, encoding: str) -> _Text:
    # Trailing spaces and blank lines are cut: a final line of spaces would be a ragged row.
    end = len(data)
    while end > start:
        window = max(start, end - 4096)
        kept = data[window:end].rstrip()
        if kept:
            end = window + len(kept)
            break
        end = window
    text = _Text(data, start, end, encoding)
    _refuse_control_chars(text.head(65536), encoding)
    return text


def _utf16_codec(data: bytes) -> str:
    """The codec for UTF-16 text (with a BOM, or without one but plainly UTF-16), else ``""``."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    head = data[:4096]
    if len(head) < 8:
        return ""
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return ""


def _nul_error(position: int) -> TabwrightError:
    return TabwrightError(
        f"The file must be text, got a NUL byte at position {position:,}.",
        "This looks like a binary file. " + _TEXT_HINT,
    )


# C0 controls other than tab and line ends; C1 controls too when every byte was read as
# latin-1, which is how binary data that slipped past the magic-number checks shows up.
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f]")
_CONTROL_LATIN1 = re.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def _refuse_control_chars(head: str, encoding: str) -> None:
    pattern = _CONTROL_LATIN1 if encoding == "latin-1" else _CONTROL
    if head and len(pattern.findall(head)) > 0.05 * len(head):
        raise TabwrightError(
            "The file must be text, got mostly unreadable control characters.",
            "This looks like a binary file. " + _TEXT_HINT,
        )


# --------------------------------------------------------------------------- sniffing


def _sniff(text: _Text, *, limits: Limits) -> tuple[str, str, list[str]]:
    """Return (delimiter, decimal mark, header fields) from the first lines."""
    whole = text.size <= _SNIFF_BYTES
    sample = text.head(_SNIFF_BYTES)
    if not whole and "\n" in sample:
        sample = sample[: sample.rindex("\n") + 1]
    best: tuple[tuple, str, list[list[str]]] | None = None
    for priority, delimiter in enumerate(DELIMITER_NAMES):
        records = _first_records(sample, delimiter, complete=whole)
        if not records:
            continue
        n_header = len(records[0])
        body = records[1:]
        consistency = sum(len(r) == n_header for r in body) / len(body) if body else 1.0
        key = (n_header >= 2, round(consistency, 2), n_header, -priority)
        if best is None or key > best[0]:
            best = (key, delimiter, records)
    if best is None:
        # The first field is longer than the csv module reads (128 KiB): let pyarrow parse it
        # and the field-length limit judge it.
        return ",", ".", []
    key, delimiter, records = best
    if not key[0]:
        delimiter = ","
        records = _first_records(sample, delimiter, complete=whole)
    header = records[0] if records else []
    limits.check_shape(None, len(header), at_least=not whole and len(records) == 1)
    decimal = "," if delimiter != "," and _uses_decimal_comma(records[1:]) else "."
    return delimiter, decimal, header


def _first_records(sample: str, delimiter: str, *, complete: bool) -> list[list[str]]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, quotechar='"')
    records: list[list[str]] = []
    try:
        for record in reader:
            if record:
                records.append(record)
            if len(records) > _SNIFF_RECORDS:
                break
    except csv.Error:
        pass  # a field longer than csv's own limit; judge from the records read so far
    if not complete and len(records) > 1 and len(records) <= _SNIFF_RECORDS:
        records.pop()  # the sample may end inside the last record
    return records


_COMMA_DECIMAL = re.compile(r"[-+]?\d+,\d+", re.ASCII)
_POINT_DECIMAL = re.compile(r"[-+]?\d+\.\d+", re.ASCII)
_EU_THOUSANDS = re.compile(r"[-+]?\d{1,3}(?:\.\d{3})+", re.ASCII)


def _uses_decimal_comma(records: list[list[str]]) -> bool:
    commas = points = 0
    for record in records:
        for value in record:
            value = value.strip()
            if _COMMA_DECIMAL.fullmatch(value):
                commas += 1
            elif _POINT_DECIMAL.fullmatch(value) and not _EU_THOUSANDS.fullmatch(value):
                points += 1
    return commas > 0 and commas >= points


def _check_quotes_closed(text: _Text, delimiter: str) -> None:
    """Refuse a file that ends inside a quoted field (pyarrow would swallow the rest)."""
    data, end = text.data, text.end
    if data.count(b'"', text.start, end) % 2 == 0:
        return
    field_starts = {ord(delimiter), ord("\n"), ord("\r")}
    position = text.start
    while (quote := data.find(b'"', position, end)) >= 0:
        if quote > text.start and data[quote - 1] not in field_starts:
            position = quote + 1  # a literal quote inside an unquoted field
            continue
        position = _after_closing_quote(data, quote, end)
        if position < 0:
            raise TabwrightError(
                f"A quoted field that starts on line {text.line_at(quote)} is never closed.",
                'Add the missing closing quote (") or remove the stray opening quote.',
            )


def _after_closing_quote(data: bytes, opening: int, end: int) -> int:
    """Position just past the quote closing the field opened at ``opening``, or -1."""
    position = opening + 1
    while (quote := data.find(b'"', position, end)) >= 0:
        if data[quote + 1 : quote + 2] != b'"':
            return quote + 1
        position = quote + 2  # "" is a quote inside the field
    return -1


# --------------------------------------------------------------------------- parsing


def _parse(text: _Text, delimiter: str, *, n_columns: int) -> pa.Table:
    """Parse every column as text; row 0 of the result is the header.

    ``n_columns`` columns (and one more) are declared as text; should pyarrow find more, it
    would type them, so the caller parses again declaring that many.
    """
    # Enough blocks to keep every core busy, each big enough to keep per-block overhead low.
    smallest, largest = _BLOCK_SIZE
    block_size = max(smallest, min(largest, text.size // (4 * _WORKERS)))
    # Only a quoted value can hold a line break. Without a single quote in the file, pyarrow
    # may split it into blocks at any line end, which parses 3× faster (1M × 30: 2.0 → 0.6 s).
    quoted = text.data.find(b'"', text.start, text.end) >= 0
    try:
        table = pacsv.read_csv(
            pa.BufferReader(text.buffer()),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=block_size),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                newlines_in_values=quoted,
                ignore_empty_lines=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(n_columns + 1)},
                null_values=list(MISSING_MARKERS),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowException as exc:
        # Not an invalid_row_handler: pyarrow cannot build its argument from non-UTF-8 rows.
        ragged = re.search(r"Expected (\d+) columns, got (\d+)", str(exc))
        if ragged:
            raise _ragged_error(text, delimiter, int(ragged[1]), int(ragged[2])) from None
        if "UTF8" in str(exc):
            raise _NotUtf8 from None
        table = _parse_with_c_engine(text, delimiter)
    return table


def _parse_with_c_engine(text: _Text, delimiter: str) -> pa.Table:
    cannot_read = (
        "Check that it is a CSV with one header row and the same number of fields on every line."
    )
    try:
        frame = pd.read_csv(
            pa.BufferReader(text.buffer()),
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_values=list(MISSING_MARKERS),
            quotechar='"',
            engine="c",
            encoding="utf-8",
            skip_blank_lines=True,
        )
    except UnicodeDecodeError:
        raise _NotUtf8 from None
    except pd.errors.ParserError as exc:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if match:
            expected, line, saw = match.groups()
            raise _ragged_message(int(line), int(saw), int(expected), delimiter) from None
        raise TabwrightError(f"The file could not be read as a table: {exc}.", cannot_read) from None
    except (ValueError, MemoryError) as exc:
        raise TabwrightError(f"The file could not be read as a table: {exc}.", cannot_read) from None
    arrays = [pa.array(frame[c].to_numpy(), type=pa.string(), from_pandas=True) for c in frame.columns]
    return pa.table(arrays, names=[f"f{i}" for i in range(len(arrays))])


def _ragged_error(text: _Text, delimiter: str, expected: int, saw: int) -> TabwrightError:
    """Name the first line whose field count differs from the header's."""
    reader = csv.reader(io.StringIO(text.decoded(), newline=""), delimiter=delimiter, quotechar='"')
    n_header = None
    try:
        start = 1
        for record in reader:
            if record:
                if n_header is None:
                    n_header = len(record)
                elif len(record) != n_header:
                    return _ragged_message(start, len(record), n_header, delimiter)
            start = reader.line_num + 1
    except csv.Error:
        pass
    return TabwrightError(
        f"A row has {_plural(saw, 'field')} but the header has {expected}.",
        f"Check the rows for an unquoted delimiter ({DELIMITER_NAMES[delimiter]}, {delimiter!r}) "
        "or a missing value, and put quotes around fields that contain the delimiter.",
    )


def _ragged_message(line: int, saw: int, expected: int, delimiter: str) -> TabwrightError:
    return TabwrightError(
        f"Line {line} has {_plural(saw, 'field')} but the header has {expected}.",
        f"Check that line for an unquoted delimiter ({DELIMITER_NAMES[delimiter]}, {delimiter!r}) "
        "or a missing value, and put quotes around fields that contain the delimiter.",
    )


# --------------------------------------------------------------------------- header and limits


def _column_names(table: pa.Table, header: list[str], *, notes: list[str]) -> list[str]:
    first = [column[0].as_py() for column in table.columns]
    # A header cell such as "NA" was read as missing; take its text from the sniffed header.
    sniffed = header if len(header) == len(first) else [""] * len(first)
    raw_names = [sniffed[i] if value is None else value for i, value in enumerate(first)]
    return _clean_names(raw_names, notes=notes)


def _clean_names(raw_names: list[str], *, notes: list[str]) -> list[str]:
    """Column names without surrounding spaces; refuses blank and repeated names."""
    names = [n.strip() for n in raw_names]
    changed = [(r, n) for r, n in zip(raw_names, names) if r != n and n]
    if changed:
        examples = ", ".join(f"{_shown(r)} → {_shown(n)}" for r, n in changed[:3])
        notes.append(
            f"Removed spaces around {_plural(len(changed), 'column name')} ({examples}"
            + (", …)." if len(changed) > 3 else ").")
        )
    blank = [i + 1 for i, n in enumerate(names) if not n]
    if blank:
        where = ", ".join(str(i) for i in blank[:5]) + (", …" if len(blank) > 5 else "")
        raise TabwrightError(
            f"Column names must not be blank, got a blank name at column {where}.",
            "Type a name for it in the header row, or delete the column if it is an unnamed index.",
        )
    positions: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        positions.setdefault(n, []).append(i + 1)
    duplicates = {n: p for n, p in positions.items() if len(p) > 1}
    if duplicates:
        described = "; ".join(
            f"{_shown(n)} at columns {', '.join(map(str, p))}" for n, p in list(duplicates.items())[:3]
        )
        raise TabwrightError(
            f"Column names must be unique, got {described}.",
            "Rename the repeated columns in the header row so every name appears once.",
        )
    return names


def _check_field_lengths(
    table: pa.Table, names: list[str], *, limits: Limits, header: bool = True
) -> None:
    """Refuse a cell over ``max_field_chars``; ``header``: row 0 of ``table`` is the header."""
    cap = limits.max_field_chars
    for name, column in zip(names, table.columns):
        if not pa.types.is_string(column.type):
            continue
        # A UTF-8 byte length within the cap means the character length is too.
        if (pc.max(pc.binary_length(column)).as_py() or 0) <= cap:
            continue
        lengths = pc.utf8_length(column)
        longest = pc.max(lengths).as_py() or 0
        if longest > cap:
            row = pc.index(lengths, longest).as_py() + (0 if header else 1)
            where = "the header" if row == 0 else f"data row {row:,}"
            raise TabwrightError(
                f"Each cell must be at most {cap:,} characters (limit max_field_chars), "
                f"got {longest:,} in column {_shown(name)}, {where}.",
                "Set TABWRIGHT_MAX_FIELD_CHARS to raise it, "
                "or check that cell for a missing closing quote.",
            )


# --------------------------------------------------------------------------- column types


@dataclass
class _Column:
    values: pa.ChunkedArray
    conversion: str = ""
    notes: list[str] = field(default_factory=list)
    codes: tuple[np.ndarray, np.ndarray] | None = None


_CODES_ROWS = 50_000
"""Text columns at least this long are factorized while read (see :func:`_factorized`)..."""
_CODES_MAX_DISTINCT = 65_536
"""... when they have at most this many different values."""


def _factorized(values: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray] | None:
    """What ``pandas.factorize`` gives for the text column these values become, from Arrow's
    hash kernel, which runs without the GIL on the reader's threads (~30 ms a million rows,
    against ~90 ms for pandas' hash table of Python strings, later, on one thread).

    Arrow numbers distinct values in order of first appearance, as pandas does, and nulls
    (pandas' missing values) get -1. Codes are the smallest integer type that holds them.
    """
    encoded = pc.dictionary_encode(values)
    chunks = encoded.chunks
    if not chunks:
        return None
    dictionary = chunks[0].dictionary
    if len(dictionary) > _CODES_MAX_DISTINCT:
        return None  # names, codes, free text: the roles look at a sample of those anyway
    if any(not chunk.dictionary.equals(dictionary) for chunk in chunks[1:]):
        return None  # not one numbering for the whole column
    indices = pa.chunked_array([chunk.indices for chunk in chunks])
    codes = pc.fill_null(indices, -1).to_numpy()
    kind = np.min_scalar_type(-max(len(dictionary), 1))
    return codes.astype(kind if kind.kind == "i" else np.int64), \
        np.asarray(dictionary.to_pylist(), dtype=object)


# Sample patterns use re.ASCII so that \d and \s mean what they mean in pyarrow's RE2.
_PLAIN_INT = re.compile(r"-?\d+", re.ASCII)
_PLAIN_FLOAT = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|-?inf", re.ASCII)
_LEADING_ZERO = r"^[-+(]?[$€£¥₹]?0[0-9]"
_LEADING_ZERO_PY = re.compile(_LEADING_ZERO, re.ASCII)
_TRUE_FALSE = {"true", "false"}
_TOO_LARGE_NOTE = (
    f"Column {_COLUMN} kept as text: its whole numbers are too large to store exactly (IDs?)."
)
_EMPTY_NOTE = f"Column {_COLUMN} is empty (every value is missing)."


def _read_column(column: pa.ChunkedArray, *, decimal: str, european: bool) -> _Column:
    """Type one text column: numbers, dates, true/false, or text."""
    n = len(column)
    if column.null_count == n:
        return _Column(pa.chunked_array([pa.nulls(n, pa.float64())]), notes=[_EMPTY_NOTE])
    sample = _sample(column)
    number = _plain_number(column, sample, decimal=decimal)
    if number is not None:
        return number
    notes: list[str] = []
    trimmed = pc.utf8_trim_whitespace(column)
    if not pc.all(pc.equal(trimmed, column)).as_py():
        markers = pc.is_in(trimmed, value_set=pa.array(MISSING_MARKERS))
        trimmed = pc.if_else(markers, pa.scalar(None, pa.string()), trimmed)
        sample = [v.strip() for v in sample if v.strip() not in MISSING_MARKERS]
        if trimmed.null_count == n:
            return _Column(pa.chunked_array([pa.nulls(n, pa.float64())]), notes=[_EMPTY_NOTE])
        notes.append(f"Removed spaces around values in column {_COLUMN}.")
        number = _plain_number(trimmed, sample, decimal=decimal)
        if number is not None:
            number.notes[:0] = notes
            return number
    result = (
        _true_false(trimmed, sample)
        or _dates(trimmed, sample, european=european)
        or _text_numbers(trimmed, sample, decimal=decimal)
        or _Column(trimmed)
    )
    result.notes[:0] = notes
    return result


def _sample(column: pa.ChunkedArray) -> list[str]:
    """Up to about 1,000 non-missing values spread over the column, in order."""
    n = len(column)
    if n <= _SAMPLE_SIZE:
        return column.drop_null().to_pylist()
    # Zero-copy slices: pc.take on a many-chunk column would first concatenate the chunks.
    pieces = 20
    values: list[str] = []
    for offset in np.linspace(0, n - _SAMPLE_SIZE // pieces, pieces).astype(int):
        values.extend(column.slice(offset, _SAMPLE_SIZE // pieces).drop_null().to_pylist())
    return values or column.drop_null().slice(0, _SAMPLE_SIZE).to_pylist()


def _plain_number(column: pa.ChunkedArray, sample: list[str], *, decimal: str) -> _Column | None:
    """Whole numbers or decimals written plainly (what pyarrow parses without help)."""
    if not sample:
        return None
    if all(_PLAIN_INT.fullmatch(v) for v in sample):
        target = pa.int64()
    elif all(_PLAIN_FLOAT.fullmatch(v) for v in sample):
        if decimal == "," and all(_EU_THOUSANDS.fullmatch(v) for v in sample if "." in v):
            return None  # "1.234" in a decimal-comma file is a thousand and more
        target = pa.float64()
    else:
        return None
    try:
        values = pc.cast(column, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if target != pa.int64():
            return None
        try:  # decimals beyond the sample, or whole numbers beyond int64
            values = pc.cast(column, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        if pc.all(pc.match_substring_regex(column, r"^-?\d+$")).as_py():
            return _Column(column, notes=[_TOO_LARGE_NOTE])  # floats would lose digits
        target = pa.float64()
    if target == pa.int64():
        # Plain whole numbers: a leading zero is a "0" that is not the whole value.
        zero_first = pc.and_(pc.starts_with(column, "0"), pc.greater(pc.binary_length(column), 1))
        padded = pc.any(zero_first).as_py()
        padded = padded or (pc.any(pc.starts_with(column, "-0")).as_py() and _has_leading_zeros(column))
    else:
        padded = any(_LEADING_ZERO_PY.match(v) for v in sample) and _has_leading_zeros(column)
    if padded:
        return _Column(column, notes=[_leading_zero_note(column)])
    return _Column(values)


def _has_leading_zeros(column: pa.ChunkedArray) -> bool:
    return bool(pc.any(pc.match_substring_regex(column, _LEADING_ZERO)).as_py())


def _leading_zero_note(column: pa.ChunkedArray) -> str:
    example = pc.filter(column, pc.match_substring_regex(column, _LEADING_ZERO))[0].as_py()
    return (
        f"Column {_COLUMN} kept as text: values such as {_shown(example)}"
        + " start with a zero, so they look like codes rather than amounts."
    )


def _true_false(column: pa.ChunkedArray, sample: list[str]) -> _Column | None:
    if column.null_count or not all(v.lower() in _TRUE_FALSE for v in sample):
        return None
    lower = pc.utf8_lower(column)
    if not pc.all(pc.is_in(lower, value_set=pa.array(sorted(_TRUE_FALSE)))).as_py():
        return None
    return _Column(pc.equal(lower, "true"))


# Text numbers. The same patterns run in Python's re (on the sample) and RE2 (on the column).
_CURRENCY = "$€£¥₹"
_US_BODY = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+"
_SPACES = " \u00a0\u202f"  # thousands separators in French-style numbers: 1 234,5
_EU_BODY = r"(?:\d{1,3}(?:\.\d{3})+|\d{1,3}(?:[" + _SPACES + r"]\d{3})+|\d+)(?:,\d+)?|,\d+"


def _number_shape(body: str) -> str:
    inner = rf"[-+]?[{_CURRENCY}]?\s?[-+]?(?:{body})(?:\s?%|\s?[{_CURRENCY}])?"
    return rf"^(?:{inner}|\({inner}\))$"


_SHAPES = {"us": _number_shape(_US_BODY), "eu": _number_shape(_EU_BODY)}
_SHAPES_PY = {style: re.compile(shape, re.ASCII) for style, shape in _SHAPES.items()}
_EU_HINT = re.compile(r",\d{1,2}\D*$|,\d{4,}|\.\d{3},", re.ASCII)
_US_HINT = re.compile(r",\d{3}\.|\.\d{1,2}\D*$|\.\d{4,}", re.ASCII)


def _text_numbers(column: pa.ChunkedArray, sample: list[str], *, decimal: str) -> _Column | None:
    """Numbers written with currency signs, thousands separators, percent signs or decimal commas."""
    style = _number_style(sample, decimal=decimal)
    shape = _SHAPES_PY[style]
    if not sample or sum(bool(shape.match(v)) for v in sample) < CONVERT_THRESHOLD * len(sample):
        return None
    valid = pc.match_substring_regex(column, _SHAPES[style])
    n_present = len(column) - column.null_count
    n_valid = pc.sum(valid).as_py() or 0
    if n_valid < CONVERT_THRESHOLD * n_present:
        return None
    if n_valid == n_present:
        numbers_text = column
    else:
        numbers_text = pc.if_else(valid, column, pa.scalar(None, pa.string()))
    if _has_leading_zeros(numbers_text):
        return _Column(column, notes=[_leading_zero_note(numbers_text)])
    removable = _CURRENCY + "%()+" + _SPACES + ("." if style == "eu" else ",")
    # Literal replaces of the characters the sample shows are much faster than a regex
    # replace; if a value holds another one the cast fails and the regex does the job.
    try:
        seen = sorted({c for v in sample for c in v if c in removable})
        values = _cast_number(numbers_text, seen, style)
    except pa.ArrowInvalid:
        try:
            values = _cast_number(pc.replace_substring_regex(numbers_text, f"[{removable}]", ""),
                                  [], style)
        except pa.ArrowInvalid:  # a character the shape allows but a number cannot hold
            return None          # (e.g. a line break inside "0\r€"): keep the column as text
    negative = pc.fill_null(pc.starts_with(numbers_text, "("), False)
    if pc.any(negative).as_py():
        values = pc.if_else(negative, pc.negate(values), values)
    decimal_mark = re.compile(r"\d,\d" if style == "eu" else r"\d\.\d|[eE]")
    if values.null_count == 0 and not any(decimal_mark.search(v) for v in sample):
        try:  # whole numbers, unless a value beyond the sample has a fraction
            values = pc.cast(values, pa.int64())
        except pa.ArrowInvalid:
            pass
    return _Column(
        values,
        conversion=_describe_numbers(sample, column, valid, n_present - n_valid, style=style),
    )


def _cast_number(text: pa.ChunkedArray, remove: list[str], style: str) -> pa.ChunkedArray:
    for char in remove:
        text = pc.replace_substring(text, char, "")
    if style == "eu":
        text = pc.replace_substring(text, ",", ".")
    return pc.cast(text, pa.float64())


def _number_style(sample: list[str], *, decimal: str) -> str:
    if decimal == ",":
        return "eu"
    eu = any(_EU_HINT.search(v) for v in sample)
    us = any(_US_HINT.search(v) for v in sample)
    return "eu" if eu and not us else "us"


def _describe_numbers(
    sample: list[str], column: pa.ChunkedArray, valid: pa.ChunkedArray, n_bad: int, *, style: str
) -> str:
    numeric = [v for v in sample if _SHAPES_PY[style].match(v)]
    example = next((v for v in numeric if not _PLAIN_FLOAT.fullmatch(v)), numeric[0] if numeric else "")
    joined = "".join(numeric)
    what = []
    if any(c in joined for c in _CURRENCY):
        what.append("currency signs removed")
    if style == "us" and "," in joined or style == "eu" and ("." in joined or " " in joined):
        what.append("thousands separators removed")
    if style == "eu" and "," in joined:
        what.append("decimal commas read as points")
    if "%" in joined:
        what.append("percent signs removed, so 45% is read as 45")
    if any(v.startswith("(") for v in numeric):
        what.append("amounts in brackets read as negative")
    text = f"text like {_shown(example)} read as numbers"
    if what:
        text += " (" + ", ".join(what) + ")"
    if n_bad:
        bad = pc.filter(column, pc.invert(pc.fill_null(valid, True)))[0].as_py()
        text += _became_missing(n_bad, "a number", bad)
    return text


# Dates: a few families, each tried with explicit formats (never per-value guessing).
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"
_ISO_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
_DATE_FAMILIES: tuple[tuple[str, re.Pattern], ...] = (
    ("iso", re.compile(r"\d{4}-\d{1,2}-\d{1,2}" + _ISO_TIME, re.ASCII)),
    ("ymd/", re.compile(r"\d{4}/\d{1,2}/\d{1,2}" + _TIME, re.ASCII)),
    ("xx/", re.compile(r"\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})" + _TIME, re.ASCII)),
    ("xx-", re.compile(r"\d{1,2}-\d{1,2}-\d{4}" + _TIME, re.ASCII)),
    ("dmy.", re.compile(r"\d{1,2}\.\d{1,2}\.\d{4}" + _TIME, re.ASCII)),
    ("d mon y", re.compile(r"\d{1,2}[ -][A-Za-z]{3,9}\.?[ -]\d{4}", re.ASCII)),
    ("mon d y", re.compile(r"[A-Za-z]{3,9}\.? \d{1,2},? \d{4}", re.ASCII)),
)
_DATE_HINT = re.compile(r"\d{4}-\d|\d[/.-]\d{1,2}[/.-]\d|\d[ -][A-Za-z]{3}|[A-Za-z]{3}\.? \d", re.ASCII)


def _dates(column: pa.ChunkedArray, sample: list[str], *, european: bool) -> _Column | None:
    head = sample[:20]
    if not head or sum(bool(_DATE_HINT.search(v)) for v in head) < 0.9 * len(head):
        return None
    family = next(
        (
            name
            for name, pattern in _DATE_FAMILIES
            if sum(bool(pattern.fullmatch(v)) for v in sample) >= CONVERT_THRESHOLD * len(sample)
        ),
        None,
    )
    if family is None:
        return None
    orders = _date_orders(family, sample, european=european)
    if not orders:
        return None
    n_present = len(column) - column.null_count
    best: tuple[int, pa.ChunkedArray, str] | None = None
    for order in orders:
        formats = _date_formats(family, order, sample)
        if not _parses(pa.chunked_array([pa.array(sample, pa.string())]), family, formats):
            continue
        parsed = _parse_dates(column, family, formats)
        if parsed is None:
            continue
        n_bad = n_present - (len(parsed) - parsed.null_count)
        if best is None or n_bad < best[0]:
            best = (n_bad, parsed, order)
        if n_bad == 0:
            break
    if best is None or best[0] > (1 - CONVERT_THRESHOLD) * n_present:
        return None
    n_bad, parsed, order = best
    example = sample[0]
    text = f"text like {_shown(example)} read as dates"
    notes = []
    if order:
        text += f" ({order})"
        if len(orders) > 1:
            notes.append(
                f"Dates in column {_COLUMN} such as {_shown(example)} could be day/month or month/day; "
                f"they were read as {order}."
            )
    if n_bad:
        bad = pc.filter(column, pc.and_(pc.is_null(parsed), pc.is_valid(column)))[0].as_py()
        text += _became_missing(n_bad, "a date", bad)
    return _Column(parsed, conversion=text, notes=notes)


def _date_orders(family: str, sample: list[str], *, european: bool) -> list[str]:
    """Possible orders of day and month, most likely first ('' when the family fixes it)."""
    if family in ("xx/", "xx-"):
        separator = family[-1]
        pattern = dict(_DATE_FAMILIES)[family]
        parts = [v.split(separator)[:2] for v in sample if pattern.fullmatch(v)]
        first_big = any(int(p[0]) > 12 for p in parts)
        second_big = any(int(p[1]) > 12 for p in parts)
        if first_big and second_big:
            return []
        if first_big:
            return ["day/month/year"]
        if second_big:
            return ["month/day/year"]
        both = ["day/month/year", "month/day/year"]
        return both if european else both[::-1]
    return [""]


def _date_formats(family: str, order: str, sample: list[str]) -> list[str]:
    times = {""}
    for v in sample:
        tail = re.search(r"[ T](\d{1,2}:\d{2}(?::\d{2})?)$", v)
        if tail:
            times.add("%H:%M:%S" if tail.group(1).count(":") == 2 else "%H:%M")
    if family == "iso":
        return ["%Y-%m-%d"] + [f"%Y-%m-%d{sep}{t}" for t in sorted(times) if t for sep in (" ", "T")]
    if family == "ymd/":
        days = ["%Y/%m/%d"]
    elif family in ("xx/", "xx-"):
        s = family[-1]
        day_first = order.startswith("day")
        days = [
            (f"%d{s}%m{s}" if day_first else f"%m{s}%d{s}") + year
            for year in (("%Y", "%y") if s == "/" else ("%Y",))
        ]
    elif family == "dmy.":
        days = ["%d.%m.%Y"]
    elif family == "d mon y":
        return ["%d %b %Y", "%d %B %Y", "%d-%b-%Y", "%d-%B-%Y"]
    else:
        return ["%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%B %d %Y"]
    return [f"{d} {t}" if t else d for d in days for t in sorted(times)]


def _parses(sample: pa.ChunkedArray, family: str, formats: list[str]) -> bool:
    parsed = _parse_dates(sample, family, formats)
    if parsed is None:
        return False
    return len(parsed) - parsed.null_count >= CONVERT_THRESHOLD * len(sample)


def _parse_dates(column: pa.ChunkedArray, family: str, formats: list[str]) -> pa.ChunkedArray | None:
    if family == "iso":
        for unit_type in (pa.timestamp("ns"), pa.timestamp("ns", tz="UTC")):
            try:
                return pc.cast(column, unit_type)  # pyarrow's ISO 8601 parser: fast, exact
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
    parsed = None
    for fmt in formats:
        attempt = pc.strptime(column, format=fmt, unit="ns", error_is_null=True)
        parsed = attempt if parsed is None else pc.coalesce(parsed, attempt)
    return parsed


# --------------------------------------------------------------------------- typed files


def _read_typed(
    source: bytes | str, source_format: str, *, name: str, sheet: str | None, limits: Limits,
    pool: ThreadPoolExecutor,
) -> LoadedTable:
    """A workbook's sheet or a Parquet file: columns that arrive typed, finished here."""
    hashing = pool.submit(_sha256 if isinstance(source, bytes) else _file_sha256, source)
    n_bytes = len(source) if isinstance(source, bytes) else os.stat(source).st_size
    notes: list[str] = []
    found = read_sheet(source, sheet=sheet, limits=limits) if source_format == "excel" else None
    table = found.columns if found else read_parquet(source, limits=limits)
    limits.check_shape(table.num_rows, table.num_columns)
    if found:
        notes.extend(found.notes)
    names = _clean_names(table.column_names, notes=notes)
    _check_field_lengths(table, names, limits=limits, header=False)
    spreadsheet = source_format == "excel"

    def read_column(column: pa.ChunkedArray) -> _Column | None:
        typed = _typed_column(column, spreadsheet=spreadsheet)
        return None if typed is None else _coded(typed)

    results = list((pool.map if table.num_rows >= _CODES_ROWS else map)(read_column, table.columns))
    del table
    kept = [(n, r) for n, r in zip(names, results) if r is not None]
    notes.extend(f"Column {_shown(n)} was left out: it holds binary data or nested values "
                 "(lists, structs, maps), which a model cannot use." for n, r in zip(names, results)
                 if r is None)
    del results
    frame, conversions, codes = _assemble([n for n, _ in kept], [r for _, r in kept], notes=notes)
    digest = hashing.result()
    return LoadedTable(
        frame=frame, name=name, encoding="", delimiter="", decimal=".", n_bytes=n_bytes,
        fingerprint=_sha256(f"{digest}:{found.name}".encode()) if found else digest,
        conversions=conversions, notes=notes, codes=codes, source_format=source_format,
        sheet=found.name if found else None, sheets=found.names if found else (),
    )


def _typed_column(column: pa.ChunkedArray, *, spreadsheet: bool) -> _Column | None:
    """One typed column as tabwright keeps it (``None`` for binary or nested data).

    ``spreadsheet``: the column comes from a workbook, whose cells a person typed, so its text
    is typed as a CSV's is and its whole numbers become int64 as a CSV's do; Parquet's
    columns keep the type they were written with.
    """
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = pc.cast(column, kind.value_type)
        kind = column.type
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        column = pc.cast(column, pa.string())
        kind = column.type
    if column.null_count == len(column):
        return _Column(pa.chunked_array([pa.nulls(len(column), pa.float64())]), notes=[_EMPTY_NOTE])
    if pa.types.is_string(kind):
        if not spreadsheet:
            return _Column(column)
        markers = pc.is_in(column, value_set=pa.array(MISSING_MARKERS))
        if pc.any(markers).as_py():
            column = pc.if_else(markers, pa.scalar(None, pa.string()), column)
        return _read_column(column, decimal=".", european=False)
    if pa.types.is_boolean(kind):
        # With missing values a column of True/False stays text, as in a CSV.
        return _Column(column if not column.null_count else pc.if_else(column, "True", "False"))
    if pa.types.is_integer(kind):
        try:
            return _Column(pc.cast(column, pa.int64()))
        except pa.ArrowInvalid:  # unsigned beyond int64
            return _Column(pc.cast(column, pa.float64(), safe=False),
                           conversion="whole numbers beyond int64 read as floating-point numbers")
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        values = pc.cast(column, pa.float64())
        if spreadsheet and not values.null_count:
            try:  # a spreadsheet stores every number as a float
                values = pc.cast(values, pa.int64())
            except pa.ArrowInvalid:
                pass
        return _Column(values, conversion="exact decimals read as floating-point numbers"
                       if pa.types.is_decimal(kind) else "")
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return _timestamps(column)
    if pa.types.is_duration(kind):
        seconds = pc.cast(pc.cast(column, pa.duration("s"), safe=False), pa.int64())
        return _Column(pc.divide(pc.cast(seconds, pa.float64()), 86_400.0),
                       conversion="durations read as numbers of days")
    if pa.types.is_time(kind):
        return _Column(pc.cast(column, pa.string()), conversion="times of day read as text")
    return None


_NANOSECONDS = {"s": 10**9, "ms": 10**6, "us": 10**3}


def _timestamps(column: pa.ChunkedArray) -> _Column:
    """Dates and timestamps as ``timestamp[ns]`` (time zone kept); those beyond what
    nanoseconds hold (years before 1677 or after 2262, e.g. 9999-12-31) become missing."""
    if pa.types.is_date(column.type):
        column = pc.cast(column, pa.timestamp("ms"))
    zone = column.type.tz
    try:
        return _Column(pc.cast(column, pa.timestamp("ns", tz=zone)))
    except pa.ArrowInvalid:
        pass
    per = _NANOSECONDS[column.type.unit]
    counts = pc.cast(column, pa.int64())
    inside = pc.and_(pc.greater_equal(counts, -(2**63) // per + 1), pc.less_equal(counts, (2**63 - 1) // per))
    outside = pc.invert(pc.fill_null(inside, True))
    example = str(pc.filter(column, outside)[0].as_py())
    kept = pc.if_else(inside, column, pa.scalar(None, column.type))
    n_outside = pc.sum(outside).as_py()
    return _Column(pc.cast(kept, pa.timestamp("ns", tz=zone)),
                   conversion=f"{_plural(n_outside, 'date')} outside the years 1677–2262, which "
                              f"pandas cannot hold (e.g. {_shown(example)}), became missing")


# --------------------------------------------------------------------------- pandas out


def _to_pandas(values: pa.ChunkedArray, *, distinct: int | None = None) -> pd.Series:
    """The column as pandas; ``distinct`` is its count of different values if known."""
    if pa.types.is_string(values.type):
        if distinct is None:
            distinct = pc.count_distinct(values).as_py()
        # Share one Python str per distinct value when values repeat (saves memory, not time).
        return values.to_pandas(deduplicate_objects=distinct < 0.5 * len(values))
    return values.to_pandas()


# --------------------------------------------------------------------------- safe export


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy where text a spreadsheet would run as a formula is made inert.

    String cells (and column names) starting with ``=``, ``+``, ``-``, ``@``, a tab or a
    carriage return get a leading single quote, as OWASP recommends against CSV injection.
    Numbers are never touched: a numeric column stays numeric and ``-5`` stays ``-5``.

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> neutralise_formulas(pd.DataFrame({"a": ["=1+1", "ok"], "b": [-1, 2]}))["a"].tolist()
    ["'=1+1", 'ok']
    """
    out = frame.copy()
    for position, dtype in enumerate(out.dtypes):
        if not (dtype == object or isinstance(dtype, (pd.StringDtype, pd.CategoricalDtype))):
            continue  # numbers, booleans and dates cannot hold formulas
        values = out.iloc[:, position].to_numpy(dtype=object, copy=True)
        risky = np.fromiter(map(_is_formula_like, values), dtype=bool, count=len(values))
        if risky.any():
            values[risky] = ["'" + value for value in values[risky]]
            out.isetitem(position, values)
    out.columns = [_neutralise_label(c) for c in out.columns]
    return out


def _is_formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def _neutralise_label(label: object) -> object:
    return "'" + label if _is_formula_like(label) else label


def to_safe_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV bytes of ``frame`` (without its index) that are safe to open in a spreadsheet.

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    bytes

    Examples
    --------
    >>> to_safe_csv(pd.DataFrame({"name": ["@SUM(A1)"], "n": [-3]}))
    b"name,n\\r\\n'@SUM(A1),-3\\r\\n"
    """
    # CRLF line ends (RFC 4180) also make the writer quote cells holding a lone CR, which a
    # spreadsheet would otherwise take as a line break starting a new, unneutralised cell.
    return neutralise_formulas(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8")


# --------------------------------------------------------------------------- words


def _became_missing(n_bad: int, what: str, example: str) -> str:
    verb = "is" if n_bad == 1 else "are"
    return f"; {_plural(n_bad, 'value')} that {verb} not {what} (e.g. {_shown(example)}) became missing"


def _shown(value: str, limit: int = 40) -> str:
    """``value`` quoted for a message, shortened if long (a cell can be 100,000 characters)."""
    return repr(shorten(value, limit))


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _size(n_bytes: int) -> str:
    if n_bytes < 1024:
        return f"{n_bytes:,} bytes"
    value = n_bytes / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
