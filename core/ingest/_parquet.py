"""Reading a Parquet file into Arrow columns, its limits checked from its metadata first.

Parquet keeps its columns' types, so they are kept: whole numbers, decimals, true/false,
timestamps and text arrive as written (dictionary-encoded columns, such as pandas
categoricals, as text; see :mod:`core.ingest._read` for how each becomes a pandas column).
The row and column counts and the size the data unpacks to are all in the file's footer, so
a file over a limit is refused before any of its data is read. (Text is counted at the size
its pages state, so a column repeating one long text through a dictionary is counted small.)
"""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import TabwrightError
from core.settings import Limits

__all__ = ["PARQUET_MAGIC", "read_parquet"]

PARQUET_MAGIC = b"PAR1"
"""The first (and last) four bytes of a Parquet file."""

_HINT = "Write the Parquet file again (e.g. pandas' DataFrame.to_parquet), or upload the data as CSV."


def read_parquet(source: bytes | str, *, limits: Limits) -> pa.Table:
    """Read a Parquet file (bytes or a path) after checking its limits from its metadata.

    Parameters
    ----------
    source : bytes or str
        The file's bytes, or a path to it.
    limits : Limits

    Returns
    -------
    pyarrow.Table

    Raises
    ------
    TabwrightError
        For a damaged file, a file without rows, or one over the row, column or unpacked-size
        limit.
    """
    try:
        file = pq.ParquetFile(pa.BufferReader(source) if isinstance(source, bytes) else os.fspath(source))
        meta = file.metadata
        n_columns = len(file.schema_arrow)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _damaged(exc) from None
    if n_columns > limits.max_columns:
        raise TabwrightError(
            f"The table must have at most {limits.max_columns:,} columns (limit max_columns), "
            f"got {n_columns:,}.",
            "Set TABWRIGHT_MAX_COLUMNS to raise it, or write only the columns you need.")
    if meta.num_rows > limits.max_rows:
        raise TabwrightError(
            f"The table must have at most {limits.max_rows:,} rows (limit max_rows), got "
            f"{meta.num_rows:,}.", "Set TABWRIGHT_MAX_ROWS to raise it, or write a sample of the rows.")
    limits.check_shape(meta.num_rows, n_columns)  # the cell limit
    unpacked = _unpacked_bytes(meta)
    if unpacked > limits.max_decompressed_bytes:
        raise TabwrightError(
            f"The Parquet file must unpack to at most {limits.max_decompressed_bytes:,} bytes "
            f"(limit max_decompressed_bytes), got {unpacked:,}.",
            "Set TABWRIGHT_MAX_DECOMPRESSED_BYTES to raise it, or write fewer rows or columns.")
    if not meta.num_rows:
        raise TabwrightError("The Parquet file has no rows.", "Write at least one row into it.")
    try:
        return file.read()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _damaged(exc) from None


_WIDTHS = {"BOOLEAN": 1, "INT32": 4, "FLOAT": 4, "INT64": 8, "DOUBLE": 8, "INT96": 12}
"""Bytes a value of each fixed-width physical type takes once decoded (a bool: one, as numpy)."""


def _unpacked_bytes(meta: pq.FileMetaData) -> int:
    """The size the data unpacks to, from the footer: each fixed-width column's values at their
    width (a dictionary- or run-length-encoded column can be far smaller in the file than in
    memory), and text at its stated uncompressed size."""
    total = 0
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        for j in range(group.num_columns):
            chunk = group.column(j)
            width = _WIDTHS.get(chunk.physical_type)
            if chunk.physical_type == "FIXED_LEN_BYTE_ARRAY":
                width = meta.schema.column(j).length
            total += max(chunk.total_uncompressed_size, (width or 0) * chunk.num_values)
    return total


def _damaged(exc: Exception) -> TabwrightError:
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return TabwrightError(f"This Parquet file is damaged or not really Parquet ({detail}).", _HINT)
