"""Drift per time window: every logged value binned once, counted per window, read as PSI.

Each feature (and the prediction) is binned exactly as :mod:`core.deliver._drift` bins it
against the model card's baseline: numbers by the baseline's inner decile edges
(the bin is the number of edges at or below the value), categories by the baseline's levels with
everything else in ``"(other)"``, missing values left out of the shares. The bin of every row
is computed once for all rows; ``np.bincount`` over ``window * slots + bin`` then gives the
counts of every window in one pass, so the cost does not grow with the number of windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.deliver._baseline import OTHER

PSI_FLOOR = 1e-4
"""The share floor of :func:`core.deliver._drift.psi` (an empty bin would make PSI infinite)."""


@dataclass(frozen=True)
class BinnedCounts:
    """Counts of one column's values per time window, in the baseline's bins.

    Attributes
    ----------
    counts : ndarray of shape (n_windows, n_bins)
        Non-missing values per window and bin. For categories the last bin is ``"(other)"``.
    missing : ndarray of shape (n_windows,)
        Missing values per window.
    expected : ndarray of shape (n_bins,)
        The baseline's share of each bin.
    other_is_optional : bool
        True for categories whose baseline has no ``"(other)"`` level: that bin then only
        counts in a window that has such values, as :func:`core.deliver._drift.check_drift`
        adds it only when it is seen.
    """

    counts: np.ndarray
    missing: np.ndarray
    expected: np.ndarray
    other_is_optional: bool = False

    def psi(self) -> np.ndarray:
        """PSI of every window against the baseline (NaN where a window has no values)."""
        value = psi_by_row(self.expected, self.counts)
        if self.other_is_optional and len(value):
            unused = self.counts[:, -1] == 0
            value[unused] = psi_by_row(self.expected[:-1], self.counts[unused, :-1])
        return value

    def pooled(self, rows: np.ndarray | slice = slice(None)) -> BinnedCounts:
        """The windows ``rows`` added together, as a one-window :class:`BinnedCounts`."""
        return BinnedCounts(self.counts[rows].sum(axis=0, keepdims=True),
                            np.atleast_1d(self.missing[rows].sum()), self.expected,
                            self.other_is_optional)


def psi_by_row(expected: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Population stability index of each row of ``counts`` against the ``expected`` shares.

    Row for row the same number as :func:`core.deliver._drift.psi` (shares floored at 1e-4 and
    re-normalised; the tests hold them equal), for all windows in one pass: hourly windows
    over months make some 100,000 window-feature pairs. A row without counts gives NaN.
    """
    counts = np.asarray(counts, dtype=float)
    if counts.size == 0 or counts.shape[1] == 0:
        return np.full(counts.shape[0], np.nan)
    e = np.clip(np.asarray(expected, dtype=float), PSI_FLOOR, None)
    e = e / e.sum()
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.clip(counts / totals, PSI_FLOOR, None)
        a = a / a.sum(axis=1, keepdims=True)
        value = np.sum((a - e) * np.log(a / e), axis=1)
    value[totals[:, 0] == 0] = np.nan
    return value


def bin_column(base: dict[str, Any], values: pd.Series, windows: np.ndarray, n_windows: int
               ) -> BinnedCounts:
    """Count ``values`` per window in the bins of the baseline ``base`` (one card entry).

    ``windows`` holds each row's window number; rows numbered ``n_windows`` or more are left out
    (rows without logged inputs are given such a number).
    """
    if base.get("kind") == "numeric":
        x = _as_float(values)
        inner = np.asarray(base.get("edges", []), dtype=float)
        missing = np.isnan(x)
        slots = _bin_numbers(x, inner)
        expected = np.asarray(base.get("shares", []), dtype=float)
        other_is_optional = False
    else:
        levels: dict[str, float] = base.get("levels", {})
        known = [k for k in levels if k != OTHER]
        slots, missing = level_codes(values, known)
        expected = np.array([levels[k] for k in known] + [levels.get(OTHER, 0.0)])
        other_is_optional = OTHER not in levels
    n_slots = len(expected) + 1  # the last slot holds missing values
    slots = np.where(missing, n_slots - 1, slots)
    cells = windows.astype(np.int64) * n_slots + slots
    table = np.bincount(cells, minlength=(n_windows + 1) * n_slots)
    table = table[: (n_windows + 1) * n_slots].reshape(n_windows + 1, n_slots)[:n_windows]
    return BinnedCounts(table[:, :-1], table[:, -1], expected, other_is_optional)


def _bin_numbers(x: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """``np.searchsorted(inner, x, side="right")`` for the few (at most 9) decile edges.

    One vectorised comparison per edge is some 40 times faster than a binary search per value,
    whose branches a processor cannot predict.
    """
    slots = np.zeros(len(x), dtype=np.int16)
    for edge in inner:
        slots += x >= edge
    return slots


def is_missing(values: pd.Series) -> np.ndarray:
    """Whether each value is missing (NaN, None, NaT), as a boolean array."""
    if values.dtype.kind == "f":
        return np.isnan(values.to_numpy())
    return values.isna().to_numpy()


def _as_float(values: pd.Series) -> np.ndarray:
    if values.dtype.kind in "fiub":
        return values.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def level_codes(values: pd.Series, known: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each value's position in ``known`` (``len(known)`` for anything else) and its missing mask.

    Values are factorised first (one hashing pass; a category column's codes are used as they
    are), so only the few distinct values are matched to the levels. The baseline keeps levels
    as text (``str`` of the training values); logged numbers and booleans are matched by
    value, so a logged ``1.0`` finds the level ``"1"`` and ``True`` finds ``"True"``.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, distinct = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, distinct = pd.factorize(values, use_na_sentinel=True)
    lookup = np.append(_match_levels(list(distinct), known), len(known))
    return lookup[codes], codes < 0


def _match_levels(distinct: list, known: list[str]) -> np.ndarray:
    """The position in ``known`` of each distinct value (``len(known)``: none)."""
    other = len(known)
    text = {level: i for i, level in enumerate(known)}
    numbers: dict[float, int] = {}
    for i, level in enumerate(known):
        number = {"true": 1.0, "false": 0.0}.get(level.strip().lower())
        if number is None:
            try:
                number = float(level)
            except ValueError:
                continue
        numbers.setdefault(number, i)
    out = np.full(len(distinct), other, dtype=np.int64)
    for j, value in enumerate(distinct):
        if isinstance(value, str):
            out[j] = text.get(value, other)
        elif isinstance(value, (bool, np.bool_)):
            out[j] = text.get(str(bool(value)), numbers.get(float(value), other))
        elif isinstance(value, (int, float, np.integer, np.floating)):
            out[j] = numbers.get(float(value), other)
        else:
            out[j] = text.get(str(value), other)
    return out
