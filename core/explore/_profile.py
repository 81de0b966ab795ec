"""The explore stage: one call that describes a table, its target and what to watch out for.

:func:`profile_table` runs the column roles (:mod:`core.ingest._roles`) and the data-quality findings
(:mod:`core.explore._findings`) once and bundles them in a :class:`Profile`, whose :meth:`Profile.to_dict`
is plain JSON for the page, the report and the CLI.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.errors import TabwrightError
from core.explore._findings import (
    CORRELATION_SAMPLE_ROWS,
    Finding,
    correlation_sample,
    count_duplicate_rows,
    find_issues,
)
from core.formatting import json_safe
from core.ingest import (
    ColumnInfo,
    TargetSuggestion,
    TaskGuess,
    detect_task,
    infer_roles,
    suggest_targets,
    unknown_column,
)

MEMORY_SAMPLE_ROWS = 10_000
"""Rows measured to estimate the memory a big table takes (measuring every string is slow)."""


@dataclass
class Profile:
    """Everything the explore stage knows about a table.

    Parameters
    ----------
    rows : int
        Number of rows.
    columns : list of ColumnInfo
        Role, evidence and statistics of every column, in table order.
    target : str or None
        The column to predict, if chosen.
    task : TaskGuess or None
        What predicting the target means; None without a target or when it is unusable (a
        ``target_unusable`` finding then says why).
    findings : list of Finding
        Most serious first.
    target_suggestions : list of TargetSuggestion
        Columns that could be the target, best first.
    duplicate_rows : int
        Rows that repeat an earlier row exactly.
    memory_bytes : int
        Memory the table takes, estimated from a sample of rows for big tables.
    missing_cell_fraction : float
        Share of all cells that are missing, 0–1.
    seconds : float
        Time the profile took.
    notes : list of str
        What the checks looked at only in part on this table (a wide one's near-copies), one
        sentence each.
    """

    rows: int
    columns: list[ColumnInfo]
    target: str | None
    task: TaskGuess | None
    findings: list[Finding]
    target_suggestions: list[TargetSuggestion]
    duplicate_rows: int
    memory_bytes: int
    missing_cell_fraction: float
    seconds: float
    notes: list[str] = field(default_factory=list)

    def column(self, name: str) -> ColumnInfo:
        """The :class:`ColumnInfo` of column ``name``.

        Raises
        ------
        TabwrightError
            If there is no such column; the message lists close matches.
        """
        for info in self.columns:
            if info.name == name:
                return info
        raise unknown_column(name, [c.name for c in self.columns])

    def to_dict(self) -> dict:
        """The profile as plain JSON data (``json.dumps(..., allow_nan=False)`` works)."""
        return json_safe({
            "rows": self.rows,
            "n_columns": len(self.columns),
            "columns": [c.to_dict() for c in self.columns],
            "target": self.target,
            "task": self.task.to_dict() if self.task else None,
            "findings": [f.to_dict() for f in self.findings],
            "target_suggestions": [s.to_dict() for s in self.target_suggestions],
            "duplicate_rows": self.duplicate_rows,
            "memory_bytes": self.memory_bytes,
            "missing_cell_fraction": self.missing_cell_fraction,
            "seconds": self.seconds,
            "notes": self.notes,
        })


def profile_table(frame: pd.DataFrame, *, target: str | None = None,
                  codes: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> Profile:
    """Describe a table: column roles, the target's task, findings and target suggestions.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as read (see ``core.ingest._read.read_table``).
    target : str, optional
        The column to predict. Without it, only target-free findings are made.
    codes : dict, optional
        Text columns already factorized by the reader (``LoadedTable.codes``).

    Returns
    -------
    Profile

    Raises
    ------
    TabwrightError
        If ``target`` is not a column of ``frame`` (the message suggests close names), or two
        columns share a name.

    Examples
    --------
    >>> frame = pd.DataFrame({"x": range(200), "y": [0, 1] * 100})
    >>> profile = profile_table(frame, target="y")
    >>> profile.task.task, profile.column("x").role
    ('binary', 'identifier')
    """
    start = time.perf_counter()
    names = [str(c) for c in frame.columns]
    if target is not None and target not in names:
        raise unknown_column(target, names)
    columns = infer_roles(frame, codes=codes)
    task = None
    if target is not None:
        # An unusable target is not an error here: find_issues reports it as a finding.
        with contextlib.suppress(TabwrightError):
            task = detect_task(frame.iloc[:, names.index(target)])
    duplicates = count_duplicate_rows(frame)
    findings = find_issues(frame, columns, target=target, task=task.task if task else None,
                           duplicate_rows=duplicates)
    n_rows = len(frame)
    missing_cells = sum(c.missing_fraction * n_rows for c in columns)
    cells = n_rows * len(columns)
    return Profile(
        rows=n_rows, columns=columns, target=target, task=task, findings=findings,
        target_suggestions=suggest_targets(frame, columns), duplicate_rows=duplicates,
        memory_bytes=_memory_bytes(frame),
        missing_cell_fraction=missing_cells / cells if cells else 0.0,
        seconds=time.perf_counter() - start,
        notes=_sampling_notes(n_rows, sum(c.role == "numeric" and c.name != target
                                          for c in columns)),
    )


def _sampling_notes(n_rows: int, n_numeric: int) -> list[str]:
    """What the near-copy check left out on a wide table (see ``correlation_sample``)."""
    rows, compared = correlation_sample(n_rows, n_numeric)
    if compared == n_numeric and rows == min(n_rows, CORRELATION_SAMPLE_ROWS):
        return []
    among = (f"the {compared:,} most complete of {n_numeric:,} numeric columns"
             if compared < n_numeric else f"the {n_numeric:,} numeric columns")
    return [f"Near-copies were looked for among {among}, on {rows:,} random rows of "
            f"{n_rows:,}: comparing every pair of so many columns grows with their square."]


def _memory_bytes(frame: pd.DataFrame) -> int:
    """Deep memory use. Strings are measured on a sample of rows and scaled up for big tables,
    as measuring each of millions of strings takes longer than the rest of the profile."""
    n_rows = len(frame)
    dtypes = frame.dtypes.to_numpy()
    # What frame.memory_usage() sums, without the Series it builds per column (slow when wide).
    total = int(frame.index.nbytes) + sum(
        n_rows * dtype.itemsize if isinstance(dtype, np.dtype) else frame.iloc[:, i].nbytes
        for i, dtype in enumerate(dtypes))
    if n_rows == 0:
        return total
    rows = np.arange(n_rows) if n_rows <= MEMORY_SAMPLE_ROWS else \
        np.random.default_rng(0).choice(n_rows, MEMORY_SAMPLE_ROWS, replace=False)
    for i, dtype in enumerate(dtypes):
        if pd.api.types.is_string_dtype(dtype):  # object columns included
            sample = frame.iloc[rows, i]
            strings = sample.memory_usage(deep=True, index=False) - sample.memory_usage(index=False)
            total += int(strings * n_rows / rows.size)
    return total
