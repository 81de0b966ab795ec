"""Leaks hidden in pairs: two numeric columns that together reproduce a numeric target.

A column computed from the target and one other column (``price_per_m2 = price / m2``) gives
the answer away only together with that column: neither predicts ``price`` well alone, so the
single-column leakage check misses it, yet ``price_per_m2 × m2`` is the price. This module
finds such pairs for regression targets; classification targets are labels, and arithmetic on
labels means nothing (a product of two columns that is exactly 0 or 1 is a rule, which the
single-column check and the models find), so they are not tested.

How, on :data:`PAIR_SAMPLE_ROWS` labelled rows:

1. **Cheap screen.** Every usable column (numbers, at most :data:`PAIR_MAX_MISSING` missing,
   not constant, not already a copy of the target on its own: :data:`PAIR_ALONE`) is
   correlated with the target, straight and in the log domain. The :data:`PAIR_CANDIDATES`
   strongest in each domain are the candidates ``a``. For each, what a partner must be is
   known: ``y − a`` for a sum (or, with the sign flipped, a difference), ``y + a`` for the
   difference ``b − a``; ``log|y| − log|a|`` for a product (flipped: the ratio ``a / b``),
   ``log|y| + log|a|`` for the ratio ``b / a``. One matrix product correlates those with every
   column (pairwise-complete, so missing values do not blur it), and partners at
   :data:`PAIR_SCREEN` or above go on. So at most 2 domains × 2 × :data:`PAIR_CANDIDATES` × p
   pair-directions are screened (320,000 for a 5,000-column table, in a few matrix products),
   and at most :data:`PAIR_MAX_CHECKED` pairs are checked exactly.
2. **Exact check.** ``y ≈ f(a, b)`` row by row, within :data:`PAIR_TOLERANCE` of the row's
   own value (so rounding the stored values to a few digits still passes) but never looser
   than that share of the target's spread, on at least :data:`PAIR_SHARE` of the rows that
   the target's median alone does not already match (a near-constant target is not
   "reproduced" by anything), and only where the target takes more than
   :data:`~core.ingest._roles.REGRESSION_MIN_VALUES` values there (small codes match small
   codes by chance: soybean's ``temp`` is ``leaves ÷ fruit.pods × 2`` on all its rows). Sums
   and differences must hold as written: adding needs one unit. Products and ratios may carry
   a unit scale (price per m² in thousands, a share in percent), fitted as the median of
   ``y / f(a, b)`` (:func:`_unit_scale`), and are judged on rows without zeros, as a zero
   factor makes a product zero whatever the other value.
3. **Which column came from the target.** :func:`_derivation` reads how the numbers were
   written (see :class:`PairLeak`): a column whose values are exactly the formula's result
   rounded to its own decimals (:data:`PAIR_ROUNDED_SHARE`, :data:`PAIR_ROUNDED_MEAN`), or
   the only one carrying every digit of a division, was computed; if the target is the one
   computed, the pair may be honest inputs of a formula. Without such evidence
   :func:`_guess` names the likelier column and the finding says it is a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.formatting import format_number
from core.ingest._roles import REGRESSION_MIN_VALUES
from core.settings import thread_limit

PAIR_SAMPLE_ROWS = 2_000
"""Labelled rows drawn at random to look for pairs."""
PAIR_MAX_MISSING = 0.5
"""Columns missing in more than this share of the sampled rows are not paired."""
PAIR_ALONE = 0.999
"""|Pearson r| with the target (straight or log–log) from which a column reproduces it on its
own: the single-column leakage finding reports it, and it is not paired."""
PAIR_CANDIDATES = 16
"""Columns most correlated with the target, in each domain, that are paired with every other."""
PAIR_SCREEN = 0.99
"""|r| between a column and what the formula says the partner must be, from which the pair is
checked exactly."""
PAIR_MAX_CHECKED = 64
"""Most pairs checked exactly, best screened first."""
PAIR_TOLERANCE = 0.01
"""A row is reproduced when the formula is within 1% of its value (and of the target's
interquartile range)."""
PAIR_SHARE = 0.95
"""Share of rows that must be reproduced for a pair to be reported."""
PAIR_ROUNDED_SHARE = 0.99
"""Share of a column's values that must be written in a decimal step (e.g. cents) for that step
to be the column's, and share of rows on which a value must sit within half that step of the
formula's result to look rounded from it..."""
PAIR_ROUNDED_MEAN = 0.1
"""...and the mean gap, in rounding steps, from which it needed rounding at all (rounding
leaves 0.25 on average; exact arithmetic about 1e-12)."""
PAIR_ROUNDED_MARGIN = 3.0
"""Standard errors by which the widest mean gap must exceed every other value's that also looks
rounded; closer, either could have been rounded from the other two, and the numbers cannot
tell."""

Operation = Literal["sum", "difference", "product", "ratio"]
Evidence = Literal["rounded", "full precision", "target rounded", "target full precision"]
Guess = Literal["name", "weaker"]

_STEP_DECIMALS = range(-3, 7)
"""Decimal steps tried, coarsest first: 1,000 down to 0.000001."""
_BLOCK = 1_024
"""Columns correlated at once (bounds memory on wide tables)."""


@dataclass(frozen=True)
class _Formula:
    symbol: str
    scaled: bool
    value: Callable[[np.ndarray, np.ndarray], np.ndarray]
    solve_first: Callable[[np.ndarray, np.ndarray], np.ndarray]
    solve_second: Callable[[np.ndarray, np.ndarray], np.ndarray]


# solve_first(y, second) and solve_second(y, first) undo value(first, second) = y (y already
# divided by the scale for products and ratios).
_FORMULAS: dict[str, _Formula] = {
    "sum": _Formula("+", False, lambda a, b: a + b, lambda y, b: y - b, lambda y, a: y - a),
    "difference": _Formula("−", False, lambda a, b: a - b, lambda y, b: y + b,
                           lambda y, a: a - y),
    "product": _Formula("×", True, lambda a, b: a * b, lambda y, b: y / b, lambda y, a: y / a),
    "ratio": _Formula("÷", True, lambda a, b: a / b, lambda y, b: y * b, lambda y, a: a / y),
}


@dataclass
class PairLeak:
    """Two columns whose sum, difference, product or ratio reproduces the target.

    Parameters
    ----------
    first, second : str
        The columns in formula order: ``first − second``, ``first ÷ second``.
    operation : str
        ``"sum"``, ``"difference"``, ``"product"`` or ``"ratio"``.
    scale : float
        Unit factor of a product or ratio (1 for sums and differences).
    share : float
        Share of the rows checked that the formula reproduces.
    rows : int
        Rows checked (those the target's median alone does not reproduce).
    derived : str
        The column to drop: computed from the target, or the guess.
    other : str
        The other column (the alternative when guessed).
    evidence : str or None
        What the numbers show: ``"rounded"`` (``derived``'s values are the formula's result
        rounded to ``step``), ``"full precision"`` (``derived`` alone carries every digit of a
        calculation; the target and the other column are written in steps of ``step`` or
        coarser), ``"target rounded"`` / ``"target full precision"`` (the same of the target:
        it was computed from the pair, which may then be honest inputs), or None.
    guess : str or None
        Why ``derived`` is named when the numbers do not show it: ``"name"`` (only its name
        contains every word of the target's name, as ``price_per_m2`` does ``price``) or
        ``"weaker"`` (it is the less correlated with the target on its own: a column built from
        the target carries what the other does not explain). None when ``evidence`` shows it.
    step : float or None
        The decimal step behind ``evidence``.
    """

    first: str
    second: str
    operation: Operation
    scale: float
    share: float
    rows: int
    derived: str
    other: str
    evidence: Evidence | None
    guess: Guess | None
    step: float | None

    @property
    def critical(self) -> bool:
        """Whether the numbers show which column was computed from the target."""
        return self.guess is None

    def formula(self) -> str:
        """The formula in words, e.g. ``'price_per_m2' × 'm2'`` or ``'a' ÷ 'b' × 1,000``."""
        text = f"'{self.first}' {_FORMULAS[self.operation].symbol} '{self.second}'"
        scale = float(f"{self.scale:.3g}")
        if scale == 1:
            return text
        return f"{text} × {format_number(scale)}" if scale > 1 else \
            f"{text} ÷ {format_number(float(f'{1 / scale:.3g}'))}"


def find_pair_leaks(names: list[str], values: np.ndarray, y: np.ndarray, target: str, *,
                    min_rows: int) -> list[PairLeak]:
    """Pairs of columns whose sum, difference, product or ratio reproduces the target.

    Parameters
    ----------
    names : list of str
        Column names, one per column of ``values``.
    values : numpy.ndarray
        Float matrix, rows × columns, NaN where missing (a sample of the table's rows);
        infinities count as missing.
    y : numpy.ndarray
        The numeric target on the same rows (rows where it is not finite are left out).
    target : str
        The target's name (for the name evidence).
    min_rows : int
        Fewest rows on which a pair can be judged.

    Returns
    -------
    list of PairLeak
        Best reproduced first; a column named ``derived`` appears in no other pair.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> m2 = rng.integers(30, 200, 500).astype(float)
    >>> price = np.round(m2 * rng.lognormal(8, 0.3, 500), -2)
    >>> rooms = rng.integers(1, 6, 500).astype(float)
    >>> per_m2 = np.round(price / m2, 2)
    >>> (leak,) = find_pair_leaks(["m2", "rooms", "price_per_m2"],
    ...                           np.column_stack([m2, rooms, per_m2]), price, "price", min_rows=30)
    >>> leak.formula(), leak.derived, leak.evidence
    ("'price_per_m2' × 'm2'", 'price_per_m2', 'rounded')
    """
    kept = np.isfinite(y)
    values, y = np.where(np.isfinite(values[kept]), values[kept], np.nan), y[kept]
    usable = _usable(values, min_rows)
    if usable.size < 2 or np.ptp(y) == 0:
        return []
    # Small matrix products: BLAS threads fighting other work for the cores made them 40x
    # slower on a shared 2-core machine, so this runs on TABWRIGHT_THREADS (1). Values near
    # the float limit overflow: their correlations count as 0, their rows as not reproduced.
    with thread_limit(), np.errstate(all="ignore"):
        raw = values if usable.size == values.shape[1] else values[:, usable]
        log_y = _log_abs(y)
        domains = {"additive": (_standardise(raw.copy()), y),
                   "multiplicative": (_standardise(_log_abs(raw)), log_y)}
        r = {name: _correlations(x, _standardise(t[:, None].copy()), min_rows)[:, 0]
             for name, (x, t) in domains.items()}
        pairable = (np.abs(r["additive"]) < PAIR_ALONE) & (np.abs(r["multiplicative"]) < PAIR_ALONE)
        if pairable.sum() < 2:
            return []
        screened = [pair for name, (x, t) in domains.items()
                    for pair in _screen(x, raw, t, r[name], pairable, min_rows, domain=name)]
        screened.sort(key=lambda pair: -pair[0])
        leaks: list[PairLeak] = []
        checked: set[tuple[str, int, int]] = set()
        for _, operation, i, j in screened:
            if (operation, i, j) in checked or len(checked) == PAIR_MAX_CHECKED:
                continue
            checked.add((operation, i, j))
            # A column already named as computed from the target is not paired again (its near
            # copies would repeat the finding); its partner may be, with a second derived column.
            taken = {leak.derived for leak in leaks}
            first, second = names[usable[i]], names[usable[j]]
            if first in taken or second in taken:
                continue
            leak = _check(raw[:, i], raw[:, j], y, operation, first, second, target, min_rows)
            if leak is not None:
                leaks.append(leak)
    return sorted(leaks, key=lambda leak: -leak.share)


def _usable(values: np.ndarray, min_rows: int) -> np.ndarray:
    """Columns with enough values that vary."""
    count = len(values) - np.isnan(values).sum(axis=0)
    enough = count >= max(min_rows, (1 - PAIR_MAX_MISSING) * len(values))
    # fmax and fmin skip NaN; a column with no value gives NaN, which is not greater.
    varies = np.fmax.reduce(values, axis=0) > np.fmin.reduce(values, axis=0)
    return np.flatnonzero(enough & varies)


def _log_abs(x: np.ndarray) -> np.ndarray:
    """log|x|, NaN where x is 0 or missing (products and ratios are screened on these)."""
    logs = np.log(np.abs(x))
    logs[np.isneginf(logs)] = np.nan
    return logs


def _standardise(x: np.ndarray) -> np.ndarray:
    """Centre and scale each column on its present values, in place (so that the sums of
    :func:`_correlations` do not cancel), and return it."""
    missing = np.isnan(x)
    if missing.any():
        count = np.maximum(len(x) - missing.sum(axis=0), 1)
        x -= np.where(missing, 0.0, x).sum(axis=0) / count
        filled = np.where(missing, 0.0, x)
    else:  # the usual case, without a temporary copy of the sample
        count = len(x)
        x -= x.mean(axis=0)
        filled = x
    scale = np.sqrt(np.einsum("ij,ij->j", filled, filled) / count)
    x /= np.where(scale > 0, scale, 1.0)
    return x


def _correlations(x: np.ndarray, t: np.ndarray, min_rows: int) -> np.ndarray:
    """Pearson r of every column of ``x`` with every column of ``t`` over the rows where both
    are present (0 where fewer than ``min_rows`` or undefined), columns × t-columns. Both
    come standardised (:func:`_standardise`)."""
    t_complete = not np.isnan(t).any()
    t_present = (~np.isnan(t)).astype("float64")
    t0 = np.nan_to_num(t)
    out = np.empty((x.shape[1], t.shape[1]))
    for start in range(0, x.shape[1], _BLOCK):
        block = x[:, start:start + _BLOCK]
        if t_complete and not np.isnan(block).any():
            # Nothing missing: both sides are standardised on the same rows, so r is the mean
            # product (one matrix product instead of six).
            out[start:start + _BLOCK] = block.T @ t / len(block)
            continue
        present = (~np.isnan(block)).astype("float64")
        b0 = np.nan_to_num(block)
        n = present.T @ t_present
        sx, sxx = b0.T @ t_present, (b0 * b0).T @ t_present
        st, stt = present.T @ t0, present.T @ (t0 * t0)
        with np.errstate(all="ignore"):
            cov = b0.T @ t0 - sx * st / n
            r = cov / np.sqrt((sxx - sx * sx / n) * (stt - st * st / n))
        out[start:start + _BLOCK] = np.where((n >= min_rows) & np.isfinite(r), r, 0.0)
    return np.clip(out, -1.0, 1.0)


# What a partner must be, for candidate a, up to an affine map: (residual, sign of r) ->
# (operation, is a the first operand?). Residual 0 is y − a, 1 is y + a (on log|·| for the
# multiplicative domain).
_MEANINGS = {
    "additive": {(0, 1): ("sum", True), (0, -1): ("difference", True),
                 (1, 1): ("difference", False)},
    "multiplicative": {(0, 1): ("product", True), (0, -1): ("ratio", True),
                       (1, 1): ("ratio", False)},
}


def _screen(x: np.ndarray, raw: np.ndarray, t: np.ndarray, r: np.ndarray, pairable: np.ndarray,
            min_rows: int, *, domain: str) -> list[tuple[float, str, int, int]]:
    """(screen |r|, operation, first, second) for each pair whose partner matches what the
    formula requires, in one domain (``x`` standardised; ``t`` the target in that domain)."""
    strength = np.where(pairable, np.abs(r), -1.0)
    candidates = np.argsort(-strength, kind="stable")[:min(PAIR_CANDIDATES, int(pairable.sum()))]
    own = raw[:, candidates] if domain == "additive" else _log_abs(raw[:, candidates])
    needed = _standardise(np.column_stack([t[:, None] - own, t[:, None] + own]))
    r_needed = _correlations(x, needed, min_rows)
    found = []
    for b, col in zip(*np.nonzero((np.abs(r_needed) >= PAIR_SCREEN) & pairable[:, None]),
                      strict=True):
        a = int(candidates[col % candidates.size])
        key = (col // candidates.size, 1 if r_needed[b, col] > 0 else -1)
        if a == b or key not in _MEANINGS[domain]:
            continue
        operation, a_first = _MEANINGS[domain][key]
        found.append((float(abs(r_needed[b, col])), operation,
                      *((a, int(b)) if a_first else (int(b), a))))
    return found


def _check(first: np.ndarray, second: np.ndarray, y: np.ndarray, operation: str,
           first_name: str, second_name: str, target: str, min_rows: int) -> PairLeak | None:
    """The pair as a :class:`PairLeak` if ``operation`` reproduces ``y`` exactly enough."""
    formula = _FORMULAS[operation]
    rows = ~np.isnan(first) & ~np.isnan(second)
    if formula.scaled:
        # A zero makes a product zero whatever the rest: such rows prove nothing (codes of
        # "no symptom" multiply to the "no" of a 0/1 column).
        rows &= (first != 0) & (second != 0) & (y != 0)
    if rows.sum() < min_rows:
        return None
    first, second, y = first[rows], second[rows], y[rows]
    result = formula.value(first, second)
    scale = 1.0 if not formula.scaled else _unit_scale(y / result)
    if not scale > 0:
        return None
    q1, q3 = np.percentile(y, [25, 75])
    spread = (q3 - q1) or float(np.std(y))
    # The floor lets the float noise of a sum (0.1 + 0.2 − 0.3) pass where the target is 0.
    tolerance = np.maximum(PAIR_TOLERANCE * np.minimum(np.abs(y), spread), 1e-9 * spread)
    informative = np.abs(y - np.median(y)) > tolerance
    close = np.abs(y - scale * result) <= tolerance
    if informative.sum() < min_rows or \
            np.unique(y[informative]).size <= REGRESSION_MIN_VALUES:
        return None
    share = float(close[informative].mean())
    if share < PAIR_SHARE:
        return None
    computed, evidence, step = _derivation(first, second, y, scale, formula,
                                           (first_name, second_name, target))
    guess: Guess | None = None
    if computed in (None, target):
        computed, guess = _guess(first, second, y, first_name, second_name, target, operation)
    other = second_name if computed == first_name else first_name
    if operation in ("sum", "product"):  # the order is free: name the derived column first
        first_name, second_name = computed, other
    return PairLeak(first_name, second_name, operation, scale, share, int(informative.sum()),
                    computed, other, evidence, guess, step)


def _unit_scale(ratios: np.ndarray) -> float:
    """The median of ``y / f(a, b)``, or the round unit next to it (1,000, 1.2) when the data
    cannot tell them apart: within three standard errors of the median (1.85 × the median
    absolute deviation / √n for normal noise). The median's last digits are rounding noise
    that would blur the evidence of rounding; a scale such as 1 / 0.9 is kept as fitted."""
    fitted = float(np.median(ratios))
    rounded = float(f"{fitted:.3g}")
    error = 1.85 * float(np.median(np.abs(ratios - fitted))) / np.sqrt(ratios.size)
    return rounded if abs(rounded - fitted) <= 3 * error else fitted


def _derivation(first: np.ndarray, second: np.ndarray, y: np.ndarray, scale: float,
                formula: _Formula, names: tuple[str, str, str],
                ) -> tuple[str | None, Evidence | None, float | None]:
    """Which column was computed from the target, from how the numbers are written.

    Each of the three values is recomputed from the other two. A value stored as that result
    rounded to its own decimals sits within half a step of it on nearly every row, and about a
    quarter step away on average; a value recomputed from a rounded one lands much closer
    than its own step. A value that carries every digit of a division while the other two are
    written with few decimals was computed, too. Returns the computed column's name (``names``
    is first, second, target), the evidence and its step, or Nones when nothing shows.
    """
    first_name, second_name, target = names
    recomputed = {first_name: formula.solve_first(y / scale, second),
                  second_name: formula.solve_second(y / scale, first),
                  target: scale * formula.value(first, second)}
    stored = {first_name: first, second_name: second, target: y}
    steps = {name: _decimal_step(values) for name, values in stored.items()}
    rounded: dict[str, np.ndarray] = {}
    for name, values in stored.items():
        step = steps[name]
        if step is None:
            continue
        gap = np.abs(recomputed[name] - values) / step
        gap = gap[np.isfinite(gap)]
        # Half a step, and float noise: 3529.415 may be stored a hair either side of it.
        if gap.size and np.mean(gap <= 0.5 + 1e-6) >= PAIR_ROUNDED_SHARE and \
                gap.mean() >= PAIR_ROUNDED_MEAN:
            rounded[name] = gap
    written = [step for step in steps.values() if step is not None]
    full = [name for name, step in steps.items() if step is None]
    if rounded:
        # The rounded value has the widest gaps; one recomputed from it has them scaled down.
        # When two are about as wide, either could have been rounded from the other two.
        order = sorted(rounded, key=lambda name: -rounded[name].mean())
        computed = order[0]
        if any(not _clearly_wider(rounded[computed], rounded[name]) for name in order[1:]):
            return None, None, None
        return computed, "target rounded" if computed == target else "rounded", steps[computed]
    if len(full) == 1:
        computed = full[0]
        return (computed, "target full precision" if computed == target else "full precision",
                min(written))
    return None, None, None


def _clearly_wider(gap: np.ndarray, other: np.ndarray) -> bool:
    """Whether the mean of ``gap`` exceeds that of ``other`` by :data:`PAIR_ROUNDED_MARGIN`
    standard errors of the difference."""
    error = np.sqrt(gap.var() / gap.size + other.var() / other.size)
    return bool(gap.mean() - other.mean() > PAIR_ROUNDED_MARGIN * error)


def _guess(first: np.ndarray, second: np.ndarray, y: np.ndarray, first_name: str,
           second_name: str, target: str, operation: str) -> tuple[str, Guess]:
    """The column more likely computed from the target when the numbers do not say.

    A name is evidence only when it contains the target's whole name (``price_per_m2`` for
    ``price``): sharing one word is common among honest neighbours (``departure_delay`` for
    ``arrival_delay``, ``unit_price`` for ``total_price``).
    """
    words = _words(target)
    named = [bool(words) and words <= _words(first_name),
             bool(words) and words <= _words(second_name)]
    if named[0] != named[1]:
        return (first_name if named[0] else second_name), "name"
    domain = np.array if operation in ("sum", "difference") else _log_abs  # copies
    r = _correlations(_standardise(domain(np.column_stack([first, second]))),
                      _standardise(domain(y)[:, None]), 2)[:, 0]
    return (first_name if abs(r[0]) < abs(r[1]) else second_name), "weaker"


def _words(name: str) -> set[str]:
    """Lower-case words of three letters or more in a column name (``pricePerM2`` → price)."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return {w for w in re.split(r"[^a-z]+", spaced.lower()) if len(w) >= 3}


def _decimal_step(values: np.ndarray) -> float | None:
    """The coarsest power of ten (1,000 down to 0.000001) that nearly every value is a
    multiple of, or None when the values carry more digits than that (a division's result)."""
    values = values[np.isfinite(values)]
    for decimals in _STEP_DECIMALS:
        # Reading "3529.41" gives the float nearest to it, which rounding reproduces exactly;
        # arithmetic leaves its noise in the last digits (77.77 − 12.34 = 65.42999999999999),
        # so a computed column shows as carrying every digit.
        written = np.round(values, decimals) == values
        if written.mean() >= PAIR_ROUNDED_SHARE:
            return 10.0 ** -decimals
    return None
