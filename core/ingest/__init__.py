"""Ingest: a file becomes a table, and each column gets a role with its evidence.

:func:`read_table` reads a CSV/TSV (bytes or a path, plain or compressed), a sheet of an Excel
workbook or a Parquet file into a :class:`LoadedTable` and says in plain words what it detected
and changed; :func:`infer_roles`
decides what each column is (numeric, categorical, identifier, ...) and :func:`detect_task`
what a target column implies (binary, multiclass, regression); :func:`role_table` and
:func:`role_overrides` let a person correct the roles. :func:`read_query` reads the rows of a
database query instead, read-only. A second table joins the first safely:
:func:`suggest_joins` finds the keys, :func:`default_join` proposes the features,
:func:`apply_joins` (or :func:`joined_table`, for loaded tables) never repeats a main row and,
with a cutoff, aggregates only events before each row's moment of prediction.

Names load on first use (PEP 562, as in :mod:`core.deliver`): a command that needs one stage
does not import the others.
"""

from core import lazy

_HOMES = {
    "PasswordRequired": "_database", "read_query": "_database", "DELIMITER_NAMES": "_read",
    "LoadedTable": "_read", "MISSING_MARKERS": "_read", "read_table": "_read",
    "to_safe_csv": "_read", "ROLE_HELP": "_role_table", "role_overrides": "_role_table",
    "role_table": "_role_table", "ColumnInfo": "_roles", "TargetSuggestion": "_roles",
    "TaskGuess": "_roles", "detect_task": "_roles", "infer_roles": "_roles",
    "label_variants": "_roles", "describe_label_variants": "_roles",
    "suggest_targets": "_roles", "unknown_column": "_roles", "JoinReport": "_join",
    "JoinResult": "_join", "JoinSuggestion": "_join", "apply_joins": "_join",
    "default_join": "_join", "describe_joins": "_join", "join_script": "_join",
    "suggest_joins": "_join", "joined_table": "_join_tables", "plan_joins": "_join_tables",
    "related_name": "_join_tables", "time_columns": "_join_tables",
    "aggregate_options": "_join_tables",
}
"""Each public name and the module that defines it."""

__all__, __getattr__, __dir__ = lazy.exports(__name__, _HOMES)
