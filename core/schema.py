"""The input schema of a trained model, and checking new data against it.

The schema is learned from the training rows: each feature's role, dtype, range (numbers),
allowed levels (categories) and share of missing values. New data for prediction, serving or
drift checks is validated against it: missing columns are an error that names them, extra
columns are ignored with a notice, unseen categories and out-of-range numbers are reported.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.errors import TabwrightError

MAX_LEVELS_LISTED = 200


def build_schema(X: pd.DataFrame, roles: dict[str, str]) -> dict[str, Any]:
    """JSON-safe description of the model's input columns, learned from training rows."""
    columns = []
    for name in X.columns:
        s = X[name]
        entry: dict[str, Any] = {"name": str(name), "role": roles.get(name, "categorical"),
                                 "dtype": str(s.dtype),
                                 "missing_fraction": round(float(s.isna().mean()), 6)}
        if entry["role"] == "numeric" and pd.api.types.is_numeric_dtype(s):
            values = s.dropna()
            entry["min"] = _num(values.min()) if len(values) else None
            entry["max"] = _num(values.max()) if len(values) else None
            entry["integer"] = bool(pd.api.types.is_integer_dtype(s))
        elif entry["role"] in ("categorical", "boolean"):
            levels = s.dropna().astype(str).value_counts()
            entry["levels"] = [str(v) for v in levels.index[:MAX_LEVELS_LISTED]]
            entry["n_levels"] = int(len(levels))
        columns.append(entry)
    return {"columns": columns}


def validate_input(frame: pd.DataFrame, schema: dict[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    """Check new data against the schema.

    Returns
    -------
    X : DataFrame
        The model's input columns, in training order (extra columns dropped).
    notices : list of str
        Things the user should know: ignored columns, unseen categories, out-of-range values.

    Raises
    ------
    TabwrightError
        When required columns are missing (the message names them).
    """
    expected = [c["name"] for c in schema["columns"]]
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        shown = ", ".join(repr(c) for c in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise TabwrightError(
            f"The data is missing {len(missing)} column(s) the model needs: {shown}{more}.",
            "Add them (empty values are allowed), or check the file is the right one.",
        )
    notices: list[str] = []
    extra = [c for c in frame.columns if c not in expected]
    if extra:
        shown = ", ".join(repr(str(c)) for c in extra[:10])
        notices.append(f"Ignored {len(extra)} column(s) the model does not use: {shown}"
                       f"{' …' if len(extra) > 10 else ''}.")
    X = frame[expected].copy()
    for entry in schema["columns"]:
        name, s = entry["name"], X[entry["name"]]
        if entry["role"] == "numeric":
            if not pd.api.types.is_numeric_dtype(s):
                converted = pd.to_numeric(s, errors="coerce")
                bad = int((converted.isna() & s.notna()).sum())
                if bad:
                    notices.append(f"{name!r}: {bad:,} value(s) are not numbers and were treated as missing.")
                X[name] = converted
                s = converted
            low, high = entry.get("min"), entry.get("max")
            if low is not None and high is not None:
                outside = int(((s < low) | (s > high)).sum())
                if outside:
                    notices.append(f"{name!r}: {outside:,} value(s) outside the training range "
                                   f"{_fmt(low)} – {_fmt(high)}; predictions there are extrapolations.")
        elif entry["role"] in ("categorical", "boolean") and entry.get("n_levels", 0) <= MAX_LEVELS_LISTED:
            known = set(entry.get("levels", []))
            text = s.dropna().astype(str)
            unseen = text[~text.isin(known)]
            if len(unseen):
                examples = ", ".join(repr(v) for v in unseen.unique()[:5])
                notices.append(f"{name!r}: {len(unseen):,} value(s) never seen in training "
                               f"(e.g. {examples}); the model treats them as unknown.")
    return X, notices


def records_to_frame(records: list[dict[str, Any]], schema: dict[str, Any]) -> pd.DataFrame:
    """JSON records (from the REST API) to a frame with the schema's dtypes where possible."""
    frame = pd.DataFrame.from_records(records)
    for entry in schema["columns"]:
        name = entry["name"]
        if name in frame and entry["role"] == "numeric":
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
        elif name in frame and entry["dtype"].startswith("datetime"):
            frame[name] = pd.to_datetime(frame[name], errors="coerce", format="mixed")
    return frame


def _num(value: Any) -> float | int | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (np.integer, int)):
        return int(value)
    return float(value)


def _fmt(value: float) -> str:
    return f"{value:,.4g}"
