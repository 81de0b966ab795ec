"""Every setting tabwright reads: resource caps and the environment, each named and documented.

:class:`Limits` holds the resource caps. Each limit can be changed with an environment variable ``TABWRIGHT_<NAME>`` (upper case), e.g.
``TABWRIGHT_MAX_ROWS=2000000``. Limits are checked before the heavy work starts, so a file that
is too big is refused in milliseconds with a message naming the limit and how to raise it.
The README lists every limit (a test keeps it honest), and ``.streamlit/config.toml``'s
``server.maxUploadSize`` agrees with :attr:`Limits.max_upload_bytes`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from core.errors import TabwrightError

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Resource caps. Every field is documented in its ``metadata['doc']``."""

    max_upload_bytes: int = dataclasses.field(
        default=1024 * MB, metadata={"doc": "Largest CSV accepted, in bytes (upload or path)."}
    )
    max_decompressed_bytes: int = dataclasses.field(
        default=1024 * MB,
        metadata={"doc": "Largest size a gzip/zip upload may expand to before it is refused."},
    )
    max_rows: int = dataclasses.field(
        default=5_000_000, metadata={"doc": "Most data rows read from one file."}
    )
    max_columns: int = dataclasses.field(
        default=100_000,
        metadata={"doc": "Most columns in one file: a sanity cap; max_cells bounds the size."},
    )
    # 100M cells: 800 MB of numbers in memory (text takes more). The journey peaks at about 3×
    # the table (README, Large data), so the server and max_concurrent_trainings such tables
    # at once fit in a 24 GB machine; a 1 GiB upload rarely holds more.
    max_cells: int = dataclasses.field(
        default=100_000_000,
        metadata={"doc": "Most cells (rows × columns) in one table, e.g. 5,000,000 × 20 or "
                         "20,000 × 5,000."},
    )
    max_field_chars: int = dataclasses.field(
        default=100_000, metadata={"doc": "Longest single cell, in characters."}
    )
    max_encoded_features: int = dataclasses.field(
        default=20_000,
        metadata={"doc": "Most model inputs after encoding (one-hot levels, TF-IDF terms), checked before fitting."},
    )
    max_training_seconds: int = dataclasses.field(
        default=3_600, metadata={"doc": "Longest time budget one training run may ask for."}
    )
    max_concurrent_trainings: int = dataclasses.field(
        default=2,
        metadata={"doc": "Trainings that run at once on this server; later ones wait in a queue."},
    )
    plot_sample_rows: int = dataclasses.field(
        default=20_000, metadata={"doc": "Rows drawn at random for interactive plots."}
    )
    profile_sample_rows: int = dataclasses.field(
        default=50_000, metadata={"doc": "Rows drawn at random for the full ydata-profiling report."}
    )
    db_timeout_seconds: int = dataclasses.field(
        default=120,
        metadata={"doc": "Longest time one database query may run (or take to connect), in seconds."},
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Limits":
        """Defaults, overridden by ``TABWRIGHT_<NAME>`` environment variables."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            key = f"TABWRIGHT_{f.name.upper()}"
            if key in environ:
                raw = environ[key]
                try:
                    value = int(raw)
                except ValueError:
                    raise TabwrightError(
                        f"{key} must be a whole number, got {raw!r}.",
                        f"Set {key} to a positive integer or unset it to use {f.default}.",
                    ) from None
                if value <= 0:
                    raise TabwrightError(
                        f"{key} must be positive, got {value}.",
                        f"Set {key} to a positive integer or unset it to use {f.default}.",
                    )
                values[f.name] = value
        return cls(**values)

    def check_shape(self, n_rows: int | None, n_columns: int, *, what: str = "The table",
                    at_least: bool = False) -> None:
        """Refuse a table over :attr:`max_columns`, :attr:`max_rows` or :attr:`max_cells`.

        Every reader calls it as soon as it knows the shape, before the heavy work.

        Parameters
        ----------
        n_rows : int or None
            Data rows; None when only the header is known yet (the cell limit waits).
        n_columns : int
            Columns.
        what : str, default="The table"
            What is refused, at the start of the message (e.g. "The query's result").
        at_least : bool, default=False
            The counts are lower bounds (part of the file was read): the message says so.

        Raises
        ------
        TabwrightError
            Naming the limit, its environment variable and the counts.

        Examples
        --------
        >>> try:
        ...     Limits(max_cells=1_000).check_shape(300, 5)
        ... except TabwrightError as error:
        ...     print(error.message)
        The table must have at most 1,000 cells (rows × columns, limit max_cells), got 300 × 5 = 1,500.
        """
        got = "at least " if at_least else ""
        if n_columns > self.max_columns:
            raise TabwrightError(
                f"{what} must have at most {self.max_columns:,} columns (limit max_columns), "
                f"got {got}{n_columns:,}.",
                "Set TABWRIGHT_MAX_COLUMNS to raise it, or remove columns you do not need.")
        if n_rows is None:
            return
        if n_rows > self.max_rows:
            raise TabwrightError(
                f"{what} must have at most {self.max_rows:,} rows (limit max_rows), "
                f"got {got}{n_rows:,}.",
                "Set TABWRIGHT_MAX_ROWS to raise it, or upload a sample of the rows.")
        if n_rows * n_columns > self.max_cells:
            raise TabwrightError(
                f"{what} must have at most {self.max_cells:,} cells (rows × columns, limit "
                f"max_cells), got {got}{n_rows:,} × {n_columns:,} = {n_rows * n_columns:,}.",
                "Set TABWRIGHT_MAX_CELLS to raise it, or upload a sample of the rows or fewer "
                "columns.")

    @classmethod
    def describe(cls) -> list[tuple[str, object, str]]:
        """(name, default, doc) for every limit, for the README and the app."""
        return [(f.name, f.default, f.metadata["doc"]) for f in fields(cls)]


def current() -> Limits:
    """The limits in force for this process."""
    return Limits.from_env()


# ---- the environment ------------------------------------------------------------------------
# Every other environment variable tabwright reads, with its default and what it does. The
# README lists each one (a test checks), and nothing else in the code reads TABWRIGHT_* names.

ENVIRONMENT: tuple[tuple[str, str, str], ...] = (
    ("TABWRIGHT_THREADS", "1",
     "OpenMP/BLAS threads per training or evaluation task. One is fastest on a small shared "
     "machine: HistGradientBoosting with one thread trained 10x faster under load than with two."),
    ("TABWRIGHT_WORKSPACE", "~/.tabwright",
     "Where run history, model bundles and the model-signing key live."),
    ("TABWRIGHT_DASK_SCHEDULER", "(unset)",
     "A Dask scheduler address (tcp://host:8786): cross-validation and tuning fits run there."),
    ("TABWRIGHT_REQUIRE_LOGIN", "(unset)",
     "1 to show only a login button to logged-out visitors (OpenID Connect, see the README)."),
    ("TABWRIGHT_POLL_SECONDS", "3600",
     "How long the Train page keeps redrawing a running training before it waits for a click."),
    ("TABWRIGHT_DEBUG", "(unset)",
     "1 to let the command line show the traceback of a bug instead of one line."),
    ("TABWRIGHT_DB_PASSWORD", "(unset)",
     "The database password for a query's URL on the command line (recipes never hold one); "
     "without it the command line asks for it when it runs in a terminal."),
    ("TABWRIGHT_LOG_MAX_DAYS", "90",
     "Prediction-log retention by age: logged predictions and feedback older than this many "
     "days are deleted."),
    ("TABWRIGHT_LOG_MAX_MB", "1024",
     "Prediction-log retention by size: past this many megabytes per project, the oldest "
     "logged predictions are deleted."),
)


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def threads() -> int:
    """Threads for numerical libraries in one task (``TABWRIGHT_THREADS``, default 1)."""
    raw = os.environ.get("TABWRIGHT_THREADS", "1")
    try:
        value = int(raw)
    except ValueError:
        raise TabwrightError(f"TABWRIGHT_THREADS must be a whole number, got {raw!r}.",
                             "Set it to a positive integer or unset it to use 1.") from None
    if value <= 0:
        raise TabwrightError(f"TABWRIGHT_THREADS must be positive, got {value}.",
                             "Set it to a positive integer or unset it to use 1.")
    return value


def thread_limit(limit: int | None = None) -> Any:
    """A context in which numerical libraries use ``limit`` threads (default :func:`threads`)."""
    return threadpool_limits(limits=limit or threads())


def workspace() -> Path:
    """The workspace folder (``$TABWRIGHT_WORKSPACE`` or ``~/.tabwright``), created if needed."""
    folder = Path(os.environ.get("TABWRIGHT_WORKSPACE") or "~/.tabwright").expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def dask_scheduler() -> str | None:
    """The Dask scheduler training sends its fits to (``TABWRIGHT_DASK_SCHEDULER``), if any."""
    return os.environ.get("TABWRIGHT_DASK_SCHEDULER") or None


def require_login() -> bool:
    """Whether this server asks people to log in (``TABWRIGHT_REQUIRE_LOGIN=1``)."""
    return _truthy("TABWRIGHT_REQUIRE_LOGIN")


def poll_seconds() -> float:
    """How long the Train page redraws a running training (``TABWRIGHT_POLL_SECONDS``)."""
    raw = os.environ.get("TABWRIGHT_POLL_SECONDS", "3600")
    try:
        return float(raw)
    except ValueError:
        raise TabwrightError(f"TABWRIGHT_POLL_SECONDS must be a number of seconds, got {raw!r}.",
                             "Set it to a number such as 0 or 3600, or unset it.") from None


def _positive_number(name: str, default: str) -> float:
    raw = os.environ.get(name, default)
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise TabwrightError(f"{name} must be a positive number, got {raw!r}.",
                             f"Set it to a number such as {default}, or unset it.")
    return value


def log_max_days() -> float:
    """Prediction-log retention by age, in days (``TABWRIGHT_LOG_MAX_DAYS``, default 90)."""
    return _positive_number("TABWRIGHT_LOG_MAX_DAYS", "90")


def log_max_bytes() -> int:
    """Prediction-log retention by size per project, in bytes (``TABWRIGHT_LOG_MAX_MB``,
    default 1024 MB)."""
    return int(_positive_number("TABWRIGHT_LOG_MAX_MB", "1024") * MB)


def db_password() -> str | None:
    """The database password the command line uses (``TABWRIGHT_DB_PASSWORD``), if set."""
    return os.environ.get("TABWRIGHT_DB_PASSWORD") or None


def debug() -> bool:
    """Whether the command line shows a bug's traceback (``TABWRIGHT_DEBUG``)."""
    return _truthy("TABWRIGHT_DEBUG")
