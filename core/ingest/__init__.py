"""Ingest: a file becomes a table, and each column gets a role with its evidence.

:func:`read_table` reads a CSV/TSV (bytes or a path, plain or compressed) into a
:class:`LoadedTable` and says in plain words what it detected and changed; :func:`infer_roles`
decides what each column is (numeric, categorical, identifier, ...) and :func:`detect_task`
what a target column implies (binary, multiclass, regression).
"""


from core.ingest._read import MISSING_MARKERS, LoadedTable, read_table, to_safe_csv
from core.ingest._roles import (
    ColumnInfo,
    TargetSuggestion,
    TaskGuess,
    detect_task,
    infer_roles,
    suggest_targets,
    unknown_column,
)

__all__ = ['ColumnInfo', 'LoadedTable', 'MISSING_MARKERS', 'TargetSuggestion', 'TaskGuess', 'detect_task', 'infer_roles', 'read_table', 'suggest_targets', 'to_safe_csv', 'unknown_column']
