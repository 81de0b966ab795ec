"""Reading the rows a database query returns into a table, never changing the database.

:func:`read_query` runs one query against a SQLAlchemy URL and returns a
:class:`~core.ingest._read.LoadedTable` named by the URL without its password. The password
is used to connect and then forgotten: it is in no name, message, note or recipe.

The database is read-only by construction, not by inspecting the query:

- PostgreSQL (psycopg 3): the connection starts with ``default_transaction_read_only=on`` and
  a ``statement_timeout``, the query runs in a ``READ ONLY`` transaction, and it is sent with
  the extended protocol, which takes one statement only (so ``SET ...; COMMIT; INSERT ...``
  cannot leave the read-only transaction). Rows stream in chunks, so a result bigger than the
  row limit is refused without being held in memory first.
- SQLite: the file is opened read-only (a ``file:...?mode=ro`` URI) with
  ``PRAGMA query_only=ON``, and an authorizer lets the query only read (neither stops
  ``ATTACH`` or ``VACUUM INTO`` from creating a new file); a progress handler stops a query
  that outlives the time limit.
- Other dialects: a read-only transaction where the dialect has one (MySQL, MariaDB, Oracle),
  and every transaction is rolled back, never committed.

Values arrive typed by the driver and are kept as a Parquet file's are (exact decimals become
floating-point numbers; binary data, JSON and arrays are left out, with a note); text columns
are then typed as a CSV's are (numbers, dates, true/false; see :mod:`core.ingest._read`), so
a date SQLite stores as text is a date. Every conversion is reported in ``conversions``.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import NullPool

from core import settings as limits_module
from core.errors import TabwrightError
from core.ingest._read import LoadedTable, _assemble, _coded, _shown, _typed_column
from core.settings import Limits

__all__ = ["PasswordRequired", "read_query"]

_CHUNK_ROWS = 10_000
"""Rows fetched at a time while a result streams in."""

_DRIVERS = {"postgresql": "psycopg", "sqlite": "pysqlite"}
"""The one driver tabwright uses for each database whose read-only guard it builds itself."""

_READ_ONLY_TRANSACTION = {
    "mysql": "START TRANSACTION READ ONLY",
    "mariadb": "START TRANSACTION READ ONLY",
    "oracle": "SET TRANSACTION READ ONLY",
}
"""The statement that makes the transaction read-only, for the other dialects that have one."""

_SQLITE_READS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                           sqlite3.SQLITE_RECURSIVE})
"""The only actions an SQLite query may take (see ``sqlite3.Connection.set_authorizer``)."""

_PASSWORD_PARAMETERS = ("password", "passwd", "pwd")
"""URL query parameters that carry a password: they never appear in the table's name."""

_URL_HINT = ("Write it as dialect://user@host:port/database, e.g. "
             "postgresql://analyst@db.example.com:5432/sales, or sqlite:///path/to/file.db.")
_QUERY_HINT = "Fix the query; running it in the database's own client first shows the problem too."
_AUTH_FAILED = ("password authentication failed", "no password supplied", "access denied for user",
                "authentication failed", "login failed for user")


class PasswordRequired(TabwrightError):
    """The database asked for a password and none was given (the command line then asks)."""


def read_query(
    url: str,
    query: str,
    *,
    password: str | None = None,
    limits: Limits | None = None,
) -> LoadedTable:
    """Run ``query`` against the database at ``url`` and return its rows as a table.

    Parameters
    ----------
    url : str
        A SQLAlchemy URL, e.g. ``postgresql://analyst@db:5432/sales`` (psycopg 3) or
        ``sqlite:///path/to/file.db``. It may hold a password, though ``password`` is better.
    query : str
        One statement that returns rows (``SELECT ...``, ``WITH ... SELECT ...``).
    password : str, optional
        The password; it replaces one in the URL.
    limits : Limits, optional
        ``max_rows``, ``max_columns`` and ``db_timeout_seconds``; defaults to
        :func:`core.settings.current`.

    Returns
    -------
    LoadedTable
        ``source_format`` ``"sql"``; ``name`` is the URL without its password; ``fingerprint``
        the SHA-256 of the rows read (column names, types and values).

    Raises
    ------
    PasswordRequired
        When the database asked for a password and none was given.
    TabwrightError
        For a malformed URL, an unknown dialect or driver, a refused connection, a wrong
        password, an error in the query, a timeout, a write refused by the read-only guard, a
        result with no rows or no columns, or one past the row or column limits.

    Examples
    --------
    >>> table = read_query("sqlite:///shop.db", "SELECT * FROM customers")  # doctest: +SKIP
    >>> table.name, table.summary()  # doctest: +SKIP
    ('sqlite:///shop.db', '80 rows × 10 columns, database query')
    """
    limits = limits or limits_module.current()
    parsed = _parse_url(url, password)
    shown = _without_password(parsed)
    if not query.strip():
        raise TabwrightError("The query is empty.",
                             "Write a query that returns rows, e.g. SELECT * FROM customers.")
    engine = _engine(parsed, limits)
    try:
        names, rows = _run(engine, query, limits=limits,
                           password_given=parsed.password is not None)
    finally:
        engine.dispose()
    if not rows:
        raise TabwrightError("The query returned no rows.",
                             "Check its WHERE clause and that the tables it reads hold data.")
    if len(rows) > limits.max_rows:
        raise TabwrightError(
            f"The query must return at most {limits.max_rows:,} rows (limit max_rows), got more.",
            "Add a WHERE clause or a LIMIT to the query, or set TABWRIGHT_MAX_ROWS to raise it.")
    limits.check_shape(len(rows), len(names), what="The query's result")
    frame, conversions, notes, codes = _typed_frame(names, rows, limits=limits)
    return LoadedTable(frame=frame, name=shown, encoding="", delimiter="", decimal=".",
                       n_bytes=0, fingerprint=_fingerprint(frame), conversions=conversions,
                       notes=notes, codes=codes, source_format="sql")


# --------------------------------------------------------------------------- the URL


def _parse_url(url: str, password: str | None) -> URL:
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError):
        # The URL itself is not repeated: it may hold a password.
        raise TabwrightError("The database URL is not valid.", _URL_HINT) from None
    return parsed if password is None else parsed.set(password=password)


def _without_password(url: URL) -> str:
    """The URL as text with no password, neither the user's nor one in a query parameter."""
    query = {k: v for k, v in url.query.items() if k.lower() not in _PASSWORD_PARAMETERS}
    bare = URL.create(url.drivername, username=url.username, host=url.host, port=url.port,
                      database=url.database, query=query)  # URL.set(password=None) keeps it
    return bare.render_as_string(hide_password=False)


def _engine(url: URL, limits: Limits) -> Engine:
    """An engine whose connections start read-only, as far as the dialect allows."""
    try:
        dialect = url.get_dialect()
    except NoSuchModuleError:
        backend = url.drivername.split("+")[0]
        raise TabwrightError(
            f"tabwright does not know the database kind {backend!r}"
            + (f" with the driver {url.get_driver_name()!r}." if "+" in url.drivername else "."),
            f"Use postgresql://… or sqlite:///… (other databases need their SQLAlchemy dialect "
            f"and driver installed in tabwright's environment). {_URL_HINT}") from None
    backend, driver = url.get_backend_name(), url.get_driver_name()
    wanted = _DRIVERS.get(backend)
    if (wanted is not None and driver != wanted) or getattr(dialect, "is_async", False):
        raise TabwrightError(
            f"tabwright cannot read {backend} databases through the driver {driver!r}.",
            f"Write the URL as {backend}://… (tabwright uses {wanted})." if wanted
            else "Use the dialect's regular (not asyncio) driver in the URL.")
    timeout = limits.db_timeout_seconds
    if backend == "postgresql":
        connect_args: dict[str, Any] = {
            "options": f"-c default_transaction_read_only=on -c statement_timeout={timeout * 1000}",
            "connect_timeout": timeout,
        }
    elif backend == "sqlite":
        url, connect_args = _read_only_sqlite(url), {"timeout": timeout}
    else:
        connect_args = {}
    try:
        return create_engine(url, poolclass=NullPool, connect_args=connect_args,
                             hide_parameters=True)
    except ImportError:
        raise TabwrightError(
            f"The {driver} driver for {backend} databases is not installed.",
            "Use postgresql://… or sqlite:///…, or install that driver in tabwright's "
            "environment.") from None
    except ArgumentError:
        raise TabwrightError(f"The database URL is not valid for {backend}.", _URL_HINT) from None


def _read_only_sqlite(url: URL) -> URL:
    """The SQLite URL of the same file, opened read-only (nothing else from the URL: a user
    name or password means nothing to SQLite)."""
    if url.database in (None, "", ":memory:"):
        raise TabwrightError("The SQLite URL names no database file.",
                             "Write it as sqlite:///relative/path.db or "
                             "sqlite:////absolute/path.db (four slashes).")
    path = Path(url.database).expanduser()
    if not path.is_file():
        raise TabwrightError(f"No SQLite database file at {str(path)!r}.",
                             "Check the path: sqlite:///relative/path.db or "
                             "sqlite:////absolute/path.db (four slashes).")
    return URL.create(url.drivername, database=path.resolve().as_uri(),
                      query={"mode": "ro", "uri": "true"})


# --------------------------------------------------------------------------- running the query


def _run(engine: Engine, query: str, *, limits: Limits,
         password_given: bool) -> tuple[list[str], list[tuple]]:
    """Column names and rows (at most ``max_rows + 1``) of the query, read-only."""
    where = _where(engine.url)
    try:
        connection = engine.connect()
    except DBAPIError as exc:
        raise _connection_error(exc, where=where, user=engine.url.username,
                                password_given=password_given) from None
    with connection:
        try:
            if engine.dialect.name == "postgresql":
                return _stream_postgresql(connection, query, limit=limits.max_rows)
            return _fetch(connection, query, limits=limits)
        except (DBAPIError, engine.dialect.loaded_dbapi.Error) as exc:
            raise _query_error(exc, limits=limits) from None


def _stream_postgresql(connection: Connection, query: str, *,
                       limit: int) -> tuple[list[str], list[tuple]]:
    connection.exec_driver_sql("SET TRANSACTION READ ONLY")
    psycopg = connection.dialect.loaded_dbapi
    size = _CHUNK_ROWS if psycopg.capabilities.has_stream_chunked() else 1
    cursor = connection.connection.driver_connection.cursor()
    rows: list[tuple] = []
    for row in cursor.stream(query, size=size):  # the extended protocol: one statement only
        rows.append(row)
        if len(rows) > limit:
            break  # leaving the stream cancels the query
    names = [column.name for column in cursor.description or ()]
    return names, rows


def _fetch(connection: Connection, query: str, *, limits: Limits) -> tuple[list[str], list[tuple]]:
    dialect = connection.dialect.name
    if dialect == "sqlite":
        connection.exec_driver_sql("PRAGMA query_only = ON")
        sqlite = connection.connection.driver_connection
        sqlite.set_authorizer(_reads_only)
        sqlite.set_progress_handler(_stop_after(limits.db_timeout_seconds), 10_000)
    elif dialect in _READ_ONLY_TRANSACTION:
        connection.exec_driver_sql(_READ_ONLY_TRANSACTION[dialect])
    result = connection.execution_options(no_parameters=True, stream_results=True) \
        .exec_driver_sql(query)
    if not result.returns_rows:
        raise _no_columns()
    names = list(result.keys())
    rows: list[tuple] = []
    while len(rows) <= limits.max_rows and (batch := result.fetchmany(_CHUNK_ROWS)):
        rows.extend(batch)
    result.close()
    return names, rows[: limits.max_rows + 1]


def _reads_only(action: int, *_: str | None) -> int:
    return sqlite3.SQLITE_OK if action in _SQLITE_READS else sqlite3.SQLITE_DENY


def _stop_after(seconds: float) -> Callable[[], int]:
    """An SQLite progress handler that interrupts the query once ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    return lambda: int(time.monotonic() > deadline)


def _no_columns() -> TabwrightError:
    return TabwrightError("The query returned no columns: it is not a query that reads rows.",
                          "Write a query that returns rows, e.g. SELECT * FROM customers.")


# --------------------------------------------------------------------------- errors in words


def _where(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return "the SQLite file"
    return f"{url.host or 'localhost'}:{url.port}" if url.port else (url.host or "localhost")


def _reason(exc: BaseException) -> str:
    """The driver's own first line about what went wrong, without the connection preamble."""
    original = getattr(exc, "orig", None) or exc
    line = (str(original).strip().splitlines() or [type(original).__name__])[0]
    return re.sub(r"^.*\bfailed:\s*(FATAL:\s*)?", "", line).strip()


def _connection_error(exc: DBAPIError, *, where: str, user: str | None,
                      password_given: bool) -> TabwrightError:
    reason = _reason(exc)
    lowered = str(exc.orig).lower()
    if any(text in lowered for text in _AUTH_FAILED):
        who = f" for the user {user!r}" if user else ""
        if not password_given:
            return PasswordRequired(f"The database at {where} asked for a password{who}, "
                                    "and none was given.", "Enter the password.")
        return TabwrightError(f"The database at {where} refused the password{who}.",
                              "Check the password, and the user name in the URL.")
    if "connection refused" in lowered:
        return TabwrightError(f"Could not connect to the database at {where}: the connection "
                              "was refused.",
                              "Check the host and port in the URL, and that the database "
                              "server is running and accepts connections from here.")
    return TabwrightError(f"Could not connect to the database at {where}: {reason}.",
                          "Check the host, port and database name in the URL, and that the "
                          "server accepts connections from here.")


def _query_error(exc: BaseException, *, limits: Limits) -> TabwrightError:
    original = getattr(exc, "orig", None) or exc
    state = getattr(original, "sqlstate", None) or ""
    reason = _reason(exc)
    lowered = reason.lower()
    if state == "57014" or lowered == "interrupted":
        return TabwrightError(
            f"The query ran longer than {limits.db_timeout_seconds:,} seconds "
            "(limit db_timeout_seconds) and was stopped.",
            "Make it faster (filter rows, read a sample) or set TABWRIGHT_DB_TIMEOUT_SECONDS "
            "to allow more time.")
    if "not authorized" in lowered or "authorization denied" in lowered:
        reason = "the connection lets a query read rows, nothing else"
    if state == "25006" or "readonly database" in lowered or reason.startswith("the connection"):
        return TabwrightError(f"The query tries to change the database, and tabwright only "
                              f"reads: {reason}.",
                              "Write a query that reads rows (SELECT …); tabwright never "
                              "changes a database.")
    if "multiple commands" in lowered or "one statement at a time" in lowered:
        return TabwrightError("The query must be one statement, got several.",
                              "Keep the one that returns the rows, without the others and "
                              "the semicolons between them.")
    if "didn't produce a result" in lowered:
        return _no_columns()
    if state == "42601" or "syntax error" in lowered:
        return TabwrightError(f"The query has a syntax error: {reason}.", _QUERY_HINT)
    return TabwrightError(f"The query failed: {reason}.", _QUERY_HINT)


# --------------------------------------------------------------------------- typed columns


def _typed_frame(names: list[str], rows: list[tuple], *, limits: Limits) -> tuple[
        pd.DataFrame, dict[str, str], list[str], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The rows as a frame of tabwright's column types: conversions, notes and text codes.

    Each column is typed as a Parquet file's is (:func:`core.ingest._read._typed_column`),
    except that text is then typed as a CSV's is.
    """
    if not names:
        raise _no_columns()
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise TabwrightError(f"The query returns the column {repeated[0]!r} more than once.",
                             "Give each column its own name with AS, e.g. "
                             "SELECT a.id AS order_id, b.id AS customer_id.")
    if len(names) > limits.max_columns:
        raise TabwrightError(
            f"The query must return at most {limits.max_columns:,} columns (limit max_columns), "
            f"got {len(names):,}.", "Select fewer columns, or set TABWRIGHT_MAX_COLUMNS to raise it.")
    notes: list[str] = []
    kept: list[str] = []
    results = []
    for name, values in zip(names, map(list, zip(*rows))):
        column = _arrow_column(values)
        typed = _typed_column(column, spreadsheet=pa.types.is_string(column.type))
        if typed is None:
            notes.append(f"Column {_shown(name)} was left out: it holds binary data, JSON or "
                         "arrays, which a model cannot use.")
            continue
        kept.append(name)
        results.append(_coded(typed))
    if not kept:
        raise TabwrightError("The query returned no column a model can use.",
                             "Select columns of numbers, text, dates or true/false values.")
    frame, conversions, codes = _assemble(kept, results, notes=notes)
    return frame, conversions, notes, codes


def _arrow_column(values: list[Any]) -> pa.ChunkedArray:
    """A column of driver values as Arrow: values of mixed types or of a type Arrow has no
    plain type for (UUIDs, network addresses, integers past 64 bits) as text."""
    try:
        column = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        column = None
    if column is None or isinstance(column.type, pa.ExtensionType):
        column = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    return pa.chunked_array([column])


def _fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 of the rows read: column names, then every value (with its type)."""
    digest = hashlib.sha256(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()
