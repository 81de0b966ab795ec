"""Monitoring a model from its card: read its prediction log and feedback, report, take outcomes.

The page and ``tabwright monitor`` / ``tabwright feedback`` share these steps. Only the
model card is needed, never the model itself: monitoring loads no pickle and no
scikit-learn model code, so it starts fast and is safe to run on any bundle's ``model.json``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from core.deliver._log import PredictionLog
from core.errors import TabwrightError
from core.monitor._windows import MonitorReport, Thresholds, as_utc, monitor_report

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(h|hours?|d|days?|w|weeks?)\s*$", re.IGNORECASE)
ID_COLUMNS = ("id", "request_id", "row_id")
"""Column names taken for the ids of an outcomes file, in this order, when none is named."""
ACTUAL_COLUMNS = ("actual", "outcome", "label", "truth", "y")
"""Column names taken for the true values (after the model's target), when none is named."""


def read_card(model_dir: str | Path) -> dict[str, Any]:
    """The model card (``model.json``) of a bundle folder, or of the file itself.

    Raises
    ------
    TabwrightError
        When there is no card there or it is not valid JSON.
    """
    path = Path(model_dir)
    card_file = path / "model.json" if path.is_dir() else path.with_name("model.json")
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TabwrightError(f"No model card at {str(card_file)!r}.",
                             "Pass the folder 'tabwright train --out DIR' wrote (it holds "
                             "model.json).") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TabwrightError(f"The model card {str(card_file)!r} cannot be read: {exc}.",
                             "Write the bundle again with 'tabwright train --out DIR'.") from None
    if not isinstance(card, dict) or "task" not in card:
        raise TabwrightError(f"{str(card_file)!r} is not a tabwright model card.",
                             "Pass the folder 'tabwright train --out DIR' wrote.")
    return card


def parse_since(text: str | None, *, now: pd.Timestamp | None = None) -> pd.Timestamp | None:
    """``--since``: a duration back from now (``24h``, ``7d``, ``2w``) or a date/time (UTC).

    Examples
    --------
    >>> parse_since("7d", now=pd.Timestamp("2026-12-03", tz="UTC"))
    Timestamp('2026-11-26 00:00:00+0000', tz='UTC')
    >>> parse_since("2026-11-01")
    Timestamp('2026-11-01 00:00:00+0000', tz='UTC')
    """
    if text is None or not str(text).strip():
        return None
    now = pd.Timestamp.now(tz="UTC") if now is None else now
    relative = _RELATIVE.match(str(text))
    if relative:
        amount, unit = float(relative.group(1)), relative.group(2)[0].lower()
        name = {"h": "hours", "d": "days", "w": "weeks"}[unit]
        return now - pd.Timedelta(**{name: amount})
    try:
        moment = pd.Timestamp(str(text).strip())
    except ValueError:
        moment = None
    if moment is None or pd.isna(moment):
        raise TabwrightError(f"--since must be a duration such as 7d or 24h, or a date such as "
                             f"2026-11-01, got {text!r}.", "Use e.g. --since 7d.")
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")


def open_log(card: dict[str, Any], *, workspace: str | Path | None = None,
             model_bytes: bytes | None = None) -> PredictionLog:
    """The card's project log, opened to read (no background thread).

    A card without a ``run_id`` (a bundle ``tabwright train --out`` wrote) names its rows by
    the hash of ``model_bytes``, its ``model.joblib``, as the server that logged them did.
    """
    return PredictionLog.for_card(card, workspace=workspace, model_bytes=model_bytes,
                                  background=False)


def monitor_card(card: dict[str, Any], *, window: str = "day", since: Any = None,
                 now: Any = None, thresholds: Thresholds | None = None,
                 workspace: str | Path | None = None,
                 model_bytes: bytes | None = None) -> MonitorReport:
    """Monitor the model a card describes from its project's prediction log and feedback.

    Only the card's run is read (``card["run_id"]``, else the model's hash from
    ``model_bytes``, see :func:`open_log`); ``since`` limits the rows read, so a long log is
    not loaded to report its last day.
    """
    log = open_log(card, workspace=workspace, model_bytes=model_bytes)
    try:
        # A duration ("1d") counts back from the period's end, not from the wall clock.
        start = since if isinstance(since, pd.Timestamp) or since is None \
            else parse_since(since, now=None if now is None else as_utc(now, "now"))
        rows = log.read(since=start, run_id=log.run_id, categories=True)
        feedback = log.read_feedback()
    finally:
        log.close()
    return monitor_report(rows, feedback, {**card, "run_id": log.run_id}, window=window,
                          since=start, now=now, thresholds=thresholds)


def outcome_columns(frame: pd.DataFrame, card: dict[str, Any], *, id_column: str | None = None,
                    actual_column: str | None = None) -> tuple[str, str]:
    """The id and true-value columns of an outcomes table: the named ones, else the usual names
    (the model's target first for the values).

    Raises
    ------
    TabwrightError
        When a named column is missing or none of the usual names is there.
    """
    columns = [str(c) for c in frame.columns]

    def pick(named: str | None, usual: tuple[str, ...], what: str, flag: str) -> str:
        if named is not None:
            if named not in columns:
                raise TabwrightError(f"The file has no column {named!r} for the {what}.",
                                     f"Its columns: {', '.join(columns[:20])}.")
            return named
        found = next((c for c in usual if c in columns), None)
        if found is None:
            raise TabwrightError(f"The file has no column for the {what} ({' or '.join(usual)}).",
                                 f"Name it with {flag}; the file's columns: {', '.join(columns[:20])}.")
        return found

    ids = pick(id_column, ID_COLUMNS, "prediction ids", "--id-column")
    usual = tuple(dict.fromkeys(([str(card["target"])] if card.get("target") else []) + list(ACTUAL_COLUMNS)))
    return ids, pick(actual_column, usual, "true values", "--actual-column")


def add_outcomes(card: dict[str, Any], frame: pd.DataFrame, *, id_column: str | None = None,
                 actual_column: str | None = None,
                 workspace: str | Path | None = None) -> dict[str, Any]:
    """Store a table of prediction ids and true values as feedback (see
    :meth:`core.deliver._log.PredictionLog.add_feedback` for the counts returned)."""
    ids, actual = outcome_columns(frame, card, id_column=id_column, actual_column=actual_column)
    log = open_log(card, workspace=workspace)
    try:
        values = frame[actual].astype(object).where(frame[actual].notna(), None)
        out = log.add_feedback(frame[ids].astype(str).tolist(), values.tolist(),
                               task=card.get("task"), classes=card.get("classes"))
    finally:
        log.close()
    return {**out, "id_column": ids, "actual_column": actual}
