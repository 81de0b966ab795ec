"""Ingest: a file becomes a table, and each column gets a role with its evidence.

:func:`read_table` reads a CSV/TSV (bytes or a path, plain or compressed), a sheet of an Excel
workbook or a Parquet file into a :class:`LoadedTable` and says in plain words what it detected
and changed; :func:`infer_roles`
decides what each column is (numeric, categorical, identifier, ...) and :func:`detect_task`
what a target column implies (binary, multiclass, regression); :func:`role_table` and
:func:`role_overrides` let a person correct the roles. :func:`read_query` reads the rows of a
database query instead, read-only.
"""


from core.ingest._database import PasswordRequired, read_query
from core.ingest._read import (
    DELIMITER_NAMES,
    MISSING_MARKERS,
    LoadedTable,
    read_table,
    to_safe_csv,
)
from core.ingest._role_table import ROLE_HELP, role_overrides, role_table
from core.ingest._roles import (
    ColumnInfo,
    TargetSuggestion,
    TaskGuess,
    detect_task,
    infer_roles,
    suggest_targets,
    unknown_column,
)

__all__ = ['DELIMITER_NAMES', 'MISSING_MARKERS', 'ROLE_HELP', 'ColumnInfo', 'LoadedTable', 'PasswordRequired', 'TargetSuggestion', 'TaskGuess', 'detect_task', 'infer_roles', 'read_query', 'read_table', 'role_overrides', 'role_table', 'suggest_targets', 'to_safe_csv', 'unknown_column']
