"""Every resource cap tabwright enforces, as a named setting with a documented default.

Each limit can be changed with an environment variable ``TABWRIGHT_<NAME>`` (upper case), e.g.
``TABWRIGHT_MAX_ROWS=2000000``. Limits are checked before the heavy work starts, so a file that
is too big is refused in milliseconds with a message naming the limit and how to raise it.
The README lists every limit (a test keeps it honest), and ``.streamlit/config.toml``'s
``server.maxUploadSize`` agrees with :attr:`Limits.max_upload_bytes`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields

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
        default=2_000, metadata={"doc": "Most columns in one file."}
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

    @classmethod
    def describe(cls) -> list[tuple[str, object, str]]:
        """(name, default, doc) for every limit, for the README and the app."""
        return [(f.name, f.default, f.metadata["doc"]) for f in fields(cls)]


def current() -> Limits:
    """The limits in force for this process."""
    return Limits.from_env()
