"""Data-quality findings: what in a table will hurt a model, each with one suggested fix.

A finding says what was found (with numbers), why it matters for a model, and, where there is
a clear fix, a :class:`Suggestion` that the app turns into one button adding that step to the
recipe. Findings that know the target also check the target itself (missing, imbalanced, tiny
classes) and every feature against it (leakage).

Precision matters as much as recall: a finding nobody should act on teaches people to ignore
findings. Every threshold below is a named constant; ``docs/findings-calibration.md`` records
the synthetic and real tables they were calibrated on and what each produced.

Codes
-----
critical: ``target_leakage`` (near-perfect single feature), ``pair_leakage`` (two columns
whose sum, difference, product or ratio is the target, one of them visibly computed from it),
``target_unusable``.
warning: ``identifier``, ``constant``, ``missing_values`` (heavy), ``missing_target``,
``imbalanced_target``, ``high_cardinality``, ``text_dates``, ``numbers_as_text``,
``mixed_types``, ``few_rows``, ``small_classes`` (below the CV folds), ``label_variants``
(target labels that differ only in case or spaces), ``duplicate_rows``
(when rows are detailed enough that copies are unlikely to be chance), ``target_leakage``
(suspiciously strong), ``pair_leakage`` (when the numbers do not show which of the two was
computed from the target).
info: ``missing_values`` (moderate), ``near_constant``, ``duplicate_rows``, ``outliers``,
``correlated_features``, ``duplicate_columns``, ``class_weights``, ``small_classes``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from core.errors import TabwrightError
from core.explore._lookup import level_codes, lookup_score
from core.explore._pair_leaks import (
    PAIR_SAMPLE_ROWS,
    PAIR_TOLERANCE,
    PairLeak,
    _standardise,
    find_pair_leaks,
)
from core.explore._pair_leaks import _correlations as _pairwise_r
from core.explore._signal import complete_level_codes
from core.formatting import format_number, format_percent, json_safe
from core.ingest._roles import (
    MIXED_FRACTION,
    PARSE_FRACTION,
    SMALL_INTEGER_LEVELS,
    TASKS,
    ColumnInfo,
    describe_label_variants,
    detect_task,
    is_numeric,
    label_variants,
    suggest_targets,
    unknown_column,
)

SEVERITIES = ("info", "warning", "critical")
ACTIONS = ("drop_columns", "set_role", "set_encoding", "drop_duplicate_rows", "set_metric",
           "set_class_weight", "set_outliers", "add_missing_indicator", "set_imputation",
           "parse_dates", "set_target")

FEW_ROWS = 100
"""Fewer rows than this: every score is noisy."""
MIN_ROWS_TO_COMPARE = 30
"""Fewer rows than this are too few to compare groups, correlate columns or test for leaks."""
DETAILED_UNIQUE_FRACTION = 0.5
"""When some column is at least this unique, repeated rows are unlikely to be chance."""
HEAVY_MISSING = 0.4
"""Share of missing values from which a column gets its own warning."""
INFORMATIVE_MISSING = 0.1
"""Difference in target rate (or target mean, in standard deviations) between rows with and
without a value, from which "missing" is itself informative."""
NEAR_CONSTANT = 0.995
"""Share of the most common value from which a column is nearly constant."""
HIGH_CARDINALITY = 50
"""More distinct labels than this is high cardinality..."""
HIGH_CARDINALITY_SMALL = (15, 0.05)
"""...and so is more than 15 labels when that is over 5% of the rows."""
ROWS_PER_LABEL_FOR_ENCODING = 5
"""Fewer rows per label on average than this: too thin for target encoding; drop instead."""
OUTLIER_GAP = 0.5
"""An empty gap this wide (times the 1st–99th percentile range) sets outliers apart."""
OUTLIER_SKEW = 3.0
"""A column whose 99th percentile lies this many times further above the median than its 1st
percentile lies below is right-skewed, and is judged on a signed log scale."""
OUTLIER_MIN_ROWS = 50
"""Fewer values than this are too few to call any of them an outlier."""
CORRELATED = 0.95
"""|Pearson r| from which two numeric columns are near-copies."""
CORRELATION_SAMPLE_ROWS = 20_000
"""Rows drawn at random for correlations and for matching columns."""
CORRELATION_MAX_COLUMNS = 5_000
"""Most numeric columns compared pairwise for near-copies, as the work grows with the square
of their number; beyond it, the most complete and most varied ones are compared."""
CORRELATION_WORK = 25_000_000_000
"""Most multiply-adds spent correlating every pair (rows × columns², about a second on one
core): many columns are compared on fewer sampled rows..."""
CORRELATION_MIN_ROWS = 1_000
"""...but never fewer than this many (|r| ≥ 0.95 is unmistakable on a thousand rows)."""
IMBALANCED_SHARE = 0.4
"""A class with less than this share of an even split (0.2 of rows for two classes) makes the
target imbalanced."""
RARE_POSITIVE = 0.05
"""Positive share below which average precision is suggested over ROC AUC."""
SMALL_CLASS_ROWS = 10
"""Classes with fewer rows than this are reported..."""
CV_FOLDS = 5
"""...as a warning when below the number of cross-validation folds."""
LEAK_SAMPLE_ROWS = 5_000
"""Rows drawn at random to test every feature against the target."""
LEAK_BINS = 256
"""Numeric features with more distinct values than this are cut into this many quantile bins."""
LEAK_CRITICAL = {"binary": 0.99, "multiclass": 0.98, "regression": 0.98}
"""Cross-validated single-feature score (AUC, balanced accuracy, R²) from which a feature is a
leak."""
LEAK_WARNING = {"binary": 0.95, "multiclass": 0.95, "regression": 0.95}
"""Score from which a single feature is suspiciously strong."""
LEAK_RANK = 0.995
"""|Spearman rho| with a numeric target from which a feature is a transform of it."""

_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
_PRIME = np.uint64(1_099_511_628_211)


@dataclass
class Suggestion:
    """One fix the app can add to the recipe with a single click.

    Parameters
    ----------
    label : str
        Button text, e.g. "Drop CustomerId".
    action : str
        One of :data:`ACTIONS`.
    params : dict
        JSON-safe parameters of the action, e.g. ``{"columns": ["CustomerId"]}``.
    """

    label: str
    action: str
    params: dict

    def to_dict(self) -> dict:
        """The suggestion as JSON-safe data."""
        return json_safe({"label": self.label, "action": self.action, "params": self.params})


@dataclass
class Finding:
    """Something in the table that matters for a model.

    Parameters
    ----------
    code : str
        Stable identifier, e.g. ``"identifier"`` (see the module docstring).
    severity : str
        One of :data:`SEVERITIES`.
    columns : list of str
        The columns concerned (empty for whole-table findings).
    message : str
        What was found, in plain words, with numbers.
    suggestion : Suggestion or None
        The one-click fix, if there is a clear one.
    why : str
        One sentence: why it matters for a model.
    """

    code: str
    severity: str
    columns: list[str]
    message: str
    suggestion: Suggestion | None
    why: str

    def to_dict(self) -> dict:
        """The finding as JSON-safe data; ``suggestion`` is a dict or None."""
        return json_safe({
            "code": self.code, "severity": self.severity, "columns": self.columns,
            "message": self.message,
            "suggestion": self.suggestion.to_dict() if self.suggestion else None,
            "why": self.why,
        })


def _drop(columns: list[str]) -> Suggestion:
    return Suggestion(f"Drop {', '.join(columns)}", "drop_columns", {"columns": list(columns)})


def find_issues(frame: pd.DataFrame, columns: list[ColumnInfo], *, target: str | None = None,
                task: str | None = None, duplicate_rows: int | None = None) -> list[Finding]:
    """Everything in the table worth a learner's attention, most serious first.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    columns : list of ColumnInfo
        ``infer_roles(frame)``: its statistics are reused, not recomputed.
    target : str, optional
        The column to predict; enables the target checks and the leakage check.
    task : str, optional
        One of :data:`~core.ingest._roles.TASKS`, when the user chose it; detected from the target
        when not given.
    duplicate_rows : int, optional
        ``count_duplicate_rows(frame)`` when the caller already has it.

    Returns
    -------
    list of Finding
        Sorted critical, then warning, then info; within a severity, table-wide findings
        come first, then column by column, then those about the target.

    Raises
    ------
    TabwrightError
        If ``target`` is not a column, ``task`` is not a known task, or the target's values
        cannot support ``task`` (a target that cannot be predicted at all, with no ``task``
        given, is a ``target_unusable`` finding instead).

    Examples
    --------
    >>> frame = pd.DataFrame({"id": range(200), "x": [1.0, 2.0] * 100, "y": [0, 1] * 100})
    >>> from core.ingest._roles import infer_roles
    >>> [f.code for f in find_issues(frame, infer_roles(frame), target="y")]
    ['target_leakage', 'identifier']
    """
    names = [c.name for c in columns]
    if target is not None and target not in names:
        raise unknown_column(target, names)
    if task is not None and task not in TASKS:
        raise TabwrightError(f"The task must be one of {', '.join(TASKS)}, got {task!r}.",
                             "Leave the task empty to detect it from the target.")
    series = {c.name: frame.iloc[:, i] for i, c in enumerate(columns)}
    n_rows = len(frame)
    if duplicate_rows is None:
        duplicate_rows = count_duplicate_rows(frame)

    findings: list[Finding] = []
    if target is not None and task is None:
        try:
            task = detect_task(series[target]).task
        except TabwrightError as error:
            findings.append(_unusable_target(frame, columns, target, error))
    elif task is not None:
        _check_task(series[target], task)
    if n_rows < FEW_ROWS:
        findings.append(Finding(
            "few_rows", "warning", [], f"The table has only {n_rows} rows.", None,
            "With so few examples, scores swing from one split to the next and flexible "
            "models memorise rows; prefer simple models and cross-validation."))
    if duplicate_rows:
        findings.append(_duplicate_rows_finding(duplicate_rows, n_rows, columns))

    features = [c for c in columns if c.name != target]
    for column in features:
        findings.extend(_column_findings(column, series[column.name], n_rows))
    findings.extend(_missing_findings(features, series, series[target] if task else None, task))
    findings.extend(_correlated_findings(
        [c for c in features if c.role == "numeric"], series, n_rows))
    findings.extend(_duplicate_column_findings(features, series, n_rows))
    if task is not None:
        y = series[target]
        findings.extend(_missing_target_findings(target, y))
        if task in ("binary", "multiclass"):
            findings.extend(_class_findings(target, y, task))
        findings.extend(_leakage_findings(
            [c for c in features if c.role not in ("identifier", "constant")], series, y, task))
        if task == "regression":
            findings.extend(_pair_leak_findings(
                [c for c in features if c.role not in ("identifier", "constant")
                 and is_numeric(series[c.name].dtype)], series, y))
    findings.sort(key=lambda f: _SEVERITY_ORDER[f.severity])
    return findings


def _check_task(y: pd.Series, task: str) -> None:
    """Refuse a task the target's values cannot support (a chosen task may differ from the
    detected one, e.g. regression on whole numbers)."""
    if task == "regression" and not is_numeric(y.dtype):
        raise TabwrightError(f"Regression needs a numeric target, got '{y.name}' of type "
                             f"{y.dtype}.", "Choose classification for this target.")
    if task == "binary" and y.nunique() != 2:
        raise TabwrightError(f"Binary classification needs a target with two values, got "
                             f"{y.nunique()} in '{y.name}'.", "Choose multiclass instead.")


def _unusable_target(frame: pd.DataFrame, columns: list[ColumnInfo], target: str,
                     error: TabwrightError) -> Finding:
    others = [s for s in suggest_targets(frame, columns, limit=2) if s.column != target]
    return Finding(
        "target_unusable", "critical", [target], f"{error.message} {error.hint}".strip(),
        Suggestion(f"Use {others[0].column} as the target", "set_target",
                   {"column": others[0].column}) if others else None,
        "A model needs a target with at least two outcomes to learn from.")


def count_duplicate_rows(frame: pd.DataFrame) -> int:
    """Rows that repeat an earlier row exactly (as ``frame.duplicated().sum()``), fast.

    Columns are hashed one at a time, cheapest first, and after each one only the rows whose
    combined hash still collides are kept; one continuous column usually leaves none, so the
    text columns are rarely hashed at all. Hashes are 64-bit: a false match among a million rows
    has a probability of about 1e-8.
    """
    n_rows = len(frame)
    if n_rows < 2 or frame.shape[1] == 0:
        return 0
    dtypes = frame.dtypes.to_numpy()  # once: each frame.dtypes builds a Series of every column
    order = sorted(range(frame.shape[1]), key=lambda i: _hash_cost(dtypes[i]))
    rows = np.arange(n_rows)
    combined = np.zeros(n_rows, dtype=np.uint64)
    for i in order:
        column = frame.iloc[:, i]
        part = column if rows.size == n_rows else column.iloc[rows]
        if _hash_cost(part.dtype) == 0:
            part = part + 0.0  # -0.0 + 0.0 is 0.0: pandas counts 0.0 and -0.0 as equal
        hashed = pd.util.hash_pandas_object(part, index=False).to_numpy()
        combined = combined * _PRIME + hashed
        repeated = pd.Series(combined).duplicated(keep=False).to_numpy()
        rows, combined = rows[repeated], combined[repeated]
        if rows.size == 0:
            return 0
    return int(rows.size - pd.unique(combined).size)


def _hash_cost(dtype: object) -> int:
    if pd.api.types.is_float_dtype(dtype):
        return 0
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return 1
    return 2 if isinstance(dtype, pd.CategoricalDtype) else 3


def _duplicate_rows_finding(duplicates: int, n_rows: int, columns: list[ColumnInfo]) -> Finding:
    detailed = any(c.n_unique >= DETAILED_UNIQUE_FRACTION * n_rows
                   for c in columns if c.role != "constant")
    share = format_percent(duplicates / n_rows)
    if detailed:
        return Finding(
            "duplicate_rows", "warning", [],
            f"{_rows(duplicates)} ({share}) {_copies(duplicates)} of an earlier row, even "
            "though some columns are nearly unique: they look like records entered twice.",
            Suggestion("Drop duplicate rows", "drop_duplicate_rows", {}),
            "Copies can land in both the training and the test part, so the test score "
            "flatters the model.")
    return Finding(
        "duplicate_rows", "info", [],
        f"{_rows(duplicates)} ({share}) {_copies(duplicates)} of an earlier row. With columns "
        "this coarse, different records can match by chance; drop them only if they are the "
        "same record entered twice.",
        Suggestion("Drop duplicate rows", "drop_duplicate_rows", {}),
        "Repeated records get extra weight and can sit on both sides of a train/test split.")


def _column_findings(column: ColumnInfo, series: pd.Series, n_rows: int) -> list[Finding]:
    name, stats = column.name, column.stats
    if column.role == "identifier":
        return [Finding(
            "identifier", "warning", [name],
            f"'{name}' looks like an ID: {column.evidence}", _drop([name]),
            "An ID is different on every row, so a model can only memorise it; it says "
            "nothing about new rows.")]
    if column.role == "constant":
        return [Finding(
            "constant", "warning", [name], f"'{name}' never changes: {column.evidence}",
            _drop([name]), "A column with one value cannot help tell rows apart.")]

    found = []
    n_present = round(n_rows * (1 - column.missing_fraction))
    top = stats.get("top")
    if top and n_present and top[0][1] / n_present >= NEAR_CONSTANT:
        value, count = top[0]
        found.append(Finding(
            "near_constant", "info", [name],
            f"'{name}' is {value!r} in {format_percent(count / n_present)} of rows; only "
            f"{n_present - count:,} rows differ.", _drop([name]),
            "A handful of differing rows is too little to learn from and is easily "
            "overfitted; check whether those rows matter before dropping it."))

    numbers = stats.get("number_fraction", 0.0)
    if column.role in ("categorical", "text") and numbers >= PARSE_FRACTION:
        examples = _examples(stats.get("non_numbers", []))
        found.append(Finding(
            "numbers_as_text", "warning", [name],
            f"'{name}' holds numbers stored as text: {format_percent(numbers)} of values are "
            f"numbers{f', but not {examples}' if examples else ''}.",
            Suggestion(f"Treat {name} as numbers", "set_role", {"column": name,
                                                                "role": "numeric"}),
            "As text, each number is a separate label and the model cannot see that 10 is "
            "more than 9; as numbers, the odd values become missing."))
    elif column.role in ("categorical", "text") and numbers >= MIXED_FRACTION:
        examples = _examples(stats.get("non_numbers", []))
        found.append(Finding(
            "mixed_types", "warning", [name],
            f"'{name}' mixes numbers ({format_percent(numbers)} of values) with words such as "
            f"{examples}.",
            Suggestion(f"Treat {name} as numbers (words become missing)", "set_role",
                       {"column": name, "role": "numeric"}),
            "Mixed columns are treated as labels, which throws away the order of the "
            "numbers; if the words mean 'unknown', convert it to numbers."))
    elif column.role in ("categorical", "text") and stats.get("date_fraction", 0) >= PARSE_FRACTION:
        found.append(Finding(
            "text_dates", "warning", [name],
            f"'{name}' holds dates written as text ({format_percent(stats['date_fraction'])} "
            f"of values, e.g. {top[0][0]!r}).",
            Suggestion(f"Parse {name} as dates", "parse_dates", {"column": name}),
            "As text, every date is an unrelated label; parsed, a model can use the year, "
            "month, weekday and how recent it is."))
    elif column.role == "categorical" and _is_high_cardinality(column.n_unique, n_present):
        per_label = n_present / column.n_unique
        if per_label < ROWS_PER_LABEL_FOR_ENCODING:
            suggestion = _drop([name])
            advice = (f"with about {per_label:.1f} rows per label there is too little to learn "
                      "per label; dropping it is usually best")
        else:
            suggestion = Suggestion(f"Target-encode {name}", "set_encoding",
                                    {"column": name, "encoding": "target"})
            advice = "target encoding turns each label into one number learned from the data"
        found.append(Finding(
            "high_cardinality", "warning", [name],
            f"'{name}' has {column.n_unique:,} different labels in {n_present:,} rows: "
            f"{advice}.", suggestion,
            "One-hot encoding would create a column per label, most of them nearly empty, "
            "which is slow and invites overfitting."))

    if column.role == "numeric" and column.n_unique > SMALL_INTEGER_LEVELS:
        found.extend(_outlier_findings(column, series))
    return found


def _examples(values: list) -> str:
    return ", ".join(repr(v) for v in values)


def _is_high_cardinality(n_unique: int, n_present: int) -> bool:
    levels, share = HIGH_CARDINALITY_SMALL
    return n_unique > HIGH_CARDINALITY or (n_unique > levels and n_unique > share * n_present)


def _outlier_findings(column: ColumnInfo, series: pd.Series) -> list[Finding]:
    """Values set apart from the rest of the column by a wide empty gap.

    Only values beyond the 1st/99th percentiles are candidates; the outliers are those past
    the first gap wider than :data:`OUTLIER_GAP` times the 1st–99th percentile range. A long,
    continuous tail has no such gap and is left alone; typos (age 999), placeholders (-9999)
    and unit mix-ups (170 among heights in metres) stand apart. Right-skewed columns are
    judged on a signed log scale, where their natural tail is continuous.
    """
    s = column.stats
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    if np.count_nonzero(~np.isnan(values)) < OUTLIER_MIN_ROWS:
        return []
    skewed = s["p99"] - s["median"] >= OUTLIER_SKEW * (s["median"] - s["p01"])
    scale = _signed_log if skewed else np.asarray
    bulk = float(scale(s["p99"]) - scale(s["p01"]))
    if bulk <= 0:
        return []
    # The lower tail is mirrored so that both tails are read outwards from the bulk.
    upper = np.sort(values[values > s["p99"]])
    lower = -np.sort(values[values < s["p01"]])[::-1]
    high = _past_gap(scale(upper), float(scale(s["p99"])), OUTLIER_GAP * bulk)
    low = _past_gap(-scale(-lower), -float(scale(s["p01"])), OUTLIER_GAP * bulk)
    cut_high = upper[high] if high < upper.size else np.inf
    cut_low = -lower[low] if low < lower.size else -np.inf
    outlying = (values >= cut_high) | (values <= cut_low)
    if not outlying.any():
        return []
    extremes = values[outlying]
    kept = values[~outlying & ~np.isnan(values)]
    name = column.name
    shown = sorted(set(extremes.tolist()))
    listed = ", ".join(format_number(v) for v in shown[:5]) + (", …" if len(shown) > 5 else "")
    return [Finding(
        "outliers", "info", [name],
        f"'{name}' has {_rows(extremes.size, 'value')} far from all the others ({listed}); "
        f"the rest lie between {format_number(kept.min())} and {format_number(kept.max())}.",
        Suggestion(f"Clip extreme values of {name}", "set_outliers",
                   {"column": name, "method": "clip_iqr"}),
        "Isolated extreme values are often typos, placeholders like 9999 or mixed units; they "
        "pull linear models and distances far off, while tree models barely notice them.")]


def _past_gap(tail: np.ndarray, edge: float, gap: float) -> int:
    """Index of the first value of a sorted ascending tail that follows a step of ``gap`` or
    more (starting from ``edge``); ``tail.size`` when there is none."""
    steps = np.diff(np.concatenate(([edge], tail)))
    wide = np.flatnonzero(steps >= gap)
    return int(wide[0]) if wide.size else tail.size


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def _rows(count: int, noun: str = "row") -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _copies(count: int) -> str:
    return "is an exact copy" if count == 1 else "are exact copies"


def _missing_findings(features: list[ColumnInfo], series: dict[str, pd.Series],
                      target: pd.Series | None, task: str | None) -> list[Finding]:
    found = []
    moderate = []
    for column in features:
        share = column.missing_fraction
        if column.role == "constant" or share == 0:
            continue
        if share < HEAVY_MISSING:
            moderate.append(column)
            continue
        name = column.name
        informative = target is not None and _missing_is_informative(series[name], target, task)
        if informative or target is None:
            suggestion = Suggestion(f"Add a 'was missing' flag for {name}",
                                    "add_missing_indicator", {"columns": [name]})
            advice = ("rows without a value differ in the target, so record that it was "
                      "missing" if informative else "a 'was missing' flag keeps that fact")
        else:
            suggestion = _drop([name])
            advice = "missing rows look like the others in the target, so dropping it loses little"
        found.append(Finding(
            "missing_values", "warning", [name],
            f"'{name}' is missing in {format_percent(share)} of rows: {advice}.", suggestion,
            "Filling in this many gaps invents most of the column; the fact that a value is "
            "missing can matter more than the filled-in value."))
    if moderate:
        listed = ", ".join(f"'{c.name}' ({format_percent(c.missing_fraction)})"
                           for c in moderate[:8])
        more = f" and {len(moderate) - 8} more" if len(moderate) > 8 else ""
        found.append(Finding(
            "missing_values", "info", [c.name for c in moderate],
            f"Some values are missing in {len(moderate)} column"
            f"{'s' if len(moderate) > 1 else ''}: {listed}{more}. They will be filled in "
            "before training; you can choose how for each column in Prepare.", None,
            "Most models need a value in every cell, so gaps are imputed (e.g. with the median "
            "or the most common value), which is fine when few values are missing."))
    return found


def _missing_is_informative(feature: pd.Series, target: pd.Series, task: str) -> bool:
    """Whether rows missing ``feature`` differ in the target from rows that have it."""
    has_target = target.notna().to_numpy()
    missing = feature.isna().to_numpy()[has_target]
    y = target[has_target]
    if min(missing.sum(), (~missing).sum()) < MIN_ROWS_TO_COMPARE:
        return False
    if task == "regression":
        values = y.to_numpy(dtype="float64")
        gap = abs(values[missing].mean() - values[~missing].mean())
        return gap >= INFORMATIVE_MISSING * (values.std() or 1.0)
    codes = pd.factorize(y)[0]
    with_gap = np.bincount(codes[missing], minlength=codes.max() + 1) / missing.sum()
    without = np.bincount(codes[~missing], minlength=codes.max() + 1) / (~missing).sum()
    return 0.5 * np.abs(with_gap - without).sum() >= INFORMATIVE_MISSING


def _sample_positions(n_rows: int, size: int) -> np.ndarray:
    if n_rows <= size:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(0).choice(n_rows, size, replace=False))


def correlation_sample(n_rows: int, n_numeric: int) -> tuple[int, int]:
    """Rows and numeric columns the near-copy check compares, within :data:`CORRELATION_WORK`.

    Examples
    --------
    >>> correlation_sample(1_000_000, 30), correlation_sample(300, 5_000)
    ((20000, 30), (300, 5000))
    """
    columns = min(n_numeric, CORRELATION_MAX_COLUMNS)
    affordable = max(CORRELATION_MIN_ROWS, CORRELATION_WORK // max(columns, 1) ** 2)
    return min(n_rows, CORRELATION_SAMPLE_ROWS, affordable), columns


_CORRELATION_BLOCK = 1_024


def _correlated_findings(numeric: list[ColumnInfo], series: dict[str, pd.Series],
                         n_rows: int) -> list[Finding]:
    if len(numeric) < 2:
        return []
    n_sampled, n_compared = correlation_sample(n_rows, len(numeric))
    if n_compared < len(numeric):
        best = sorted(range(len(numeric)),
                      key=lambda i: (numeric[i].missing_fraction, -numeric[i].n_unique, i))
        numeric = [numeric[i] for i in sorted(best[:n_compared])]
    rows = _sample_positions(n_rows, n_sampled)
    x = np.empty((rows.size, len(numeric)))
    for k, column in enumerate(numeric):  # to_numpy then take: iloc costs ~60 µs a column
        x[:, k] = series[column.name].to_numpy(dtype="float64", na_value=np.nan)[rows]
    # Block by block against the columns before it, so memory stays at columns × block.
    # Values near the float limit overflow to inf or NaN: r is then undefined, not reported.
    pairs, r = [], {}
    with np.errstate(all="ignore"):
        _standardise(x)
        for start in range(0, len(numeric), _CORRELATION_BLOCK):
            end = start + _CORRELATION_BLOCK
            block = _pairwise_r(x[:, :end], x[:, start:end], MIN_ROWS_TO_COMPARE)
            for i, j in zip(*np.nonzero(np.abs(block) >= CORRELATED), strict=True):
                if i < j + start:
                    pairs.append((int(i), int(j) + start))
                    r[pairs[-1]] = float(block[i, j])
    pairs.sort()
    group = list(range(len(numeric)))

    def root(i: int) -> int:
        while group[i] != i:
            i = group[i]
        return i

    for i, j in pairs:
        group[root(j)] = root(i)
    members_of: dict[int, list[int]] = {}
    for i in range(len(numeric)):
        members_of.setdefault(root(i), []).append(i)
    pairs_of: dict[int, list[tuple[int, int]]] = {}
    for i, j in pairs:
        pairs_of.setdefault(root(i), []).append((i, j))
    found = []
    for leader in sorted(pairs_of):
        members = members_of[leader]
        keep = min(members, key=lambda i: (numeric[i].missing_fraction, i))
        drop = [numeric[i].name for i in members if i != keep]
        shown = pairs_of[leader][:3]
        described = "; ".join(f"'{numeric[i].name}' and '{numeric[j].name}' (r = {r[i, j]:.3f})"
                              for i, j in shown)
        found.append(Finding(
            "correlated_features", "info", [numeric[i].name for i in members],
            f"These columns move together almost exactly: {described}. Keeping "
            f"'{numeric[keep].name}' alone loses little.", _drop(drop),
            "Near-copies split the credit between them, so importances and linear "
            "coefficients become unstable; most models do just as well with one."))
    return found


def _duplicate_column_findings(features: list[ColumnInfo], series: dict[str, pd.Series],
                               n_rows: int) -> list[Finding]:
    """Columns that split the rows the same way under other labels (``pclass``, ``class``).

    Factorizing numbers values in order of first appearance, so two columns hold the same
    information exactly when their codes are equal: one pass per column, no pairs compared.
    """
    rows = _sample_positions(n_rows, CORRELATION_SAMPLE_ROWS)
    groups: dict[bytes, list[ColumnInfo]] = {}
    for column in features:
        if 2 <= column.n_unique <= HIGH_CARDINALITY and \
                column.role in ("numeric", "categorical", "boolean"):
            codes = _first_seen_codes(series[column.name].iloc[rows])
            if codes.size and codes.max() + 1 == codes.size:
                continue  # every value different: such columns all pair up one-to-one by chance
            groups.setdefault(codes.tobytes(), []).append(column)
    found = []
    for group in groups.values():
        if len(group) < 2:
            continue
        keep = next((c for c in group if c.role == "numeric"), group[0])
        kept_codes = None if rows.size == n_rows else _first_seen_codes(series[keep.name])
        same = [c.name for c in group if c is not keep and (
            kept_codes is None or np.array_equal(_first_seen_codes(series[c.name]), kept_codes))]
        if not same:
            continue
        names = " and ".join(f"'{n}'" for n in [keep.name, *same])
        pairs = _value_pairs(series[keep.name].iloc[rows], series[same[0]].iloc[rows])
        found.append(Finding(
            "duplicate_columns", "info", [keep.name, *same],
            f"{names} hold the same information under different names ({pairs}).",
            _drop(same),
            "A column repeated under another name adds nothing but splits importance and, "
            "for one-hot encoding, adds columns."))
    return found


def _first_seen_codes(values: pd.Series) -> np.ndarray:
    return pd.factorize(values, use_na_sentinel=False)[0]


def _value_pairs(a: pd.Series, b: pd.Series) -> str:
    pairs = pd.DataFrame({"a": a.to_numpy(), "b": b.to_numpy()}).dropna().drop_duplicates()
    shown = [f"{json_safe(x)!r} ↔ {json_safe(y)!r}"
             for x, y in pairs.head(3).itertuples(index=False)]
    return ", ".join(shown) + (", …" if len(pairs) > 3 else "")


def _missing_target_findings(name: str, y: pd.Series) -> list[Finding]:
    n_missing = int(y.isna().sum())
    if not n_missing:
        return []
    return [Finding(
        "missing_target", "warning", [name],
        f"{_rows(n_missing)} ({format_percent(n_missing / len(y))}) have no value in '{name}'; "
        "they will be left out of training and testing.", None,
        "Rows without an answer cannot teach or check the model; if many are missing, ask "
        "why, as the remaining rows may not represent everyone.")]


def _class_findings(name: str, y: pd.Series, task: str) -> list[Finding]:
    counts = y.value_counts()
    n = int(counts.sum())
    k = len(counts)
    largest, smallest = counts.index[0], counts.index[-1]
    found = []
    if counts.iloc[-1] / n < IMBALANCED_SHARE / k:
        constant_accuracy = format_percent(counts.iloc[0] / n)
        if task == "binary":
            metric = "average_precision" if counts.iloc[-1] / n < RARE_POSITIVE else "roc_auc"
            message = (f"'{name}' is {json_safe(smallest)!r} in only "
                       f"{format_percent(counts.iloc[-1] / n)} of rows ({counts.iloc[-1]:,} of "
                       f"{n:,}). Always predicting {json_safe(largest)!r} would be "
                       f"{constant_accuracy} accurate, so accuracy says little.")
        else:
            metric = "balanced_accuracy"
            message = (f"Classes of '{name}' are uneven: {json_safe(largest)!r} has "
                       f"{counts.iloc[0]:,} rows, {json_safe(smallest)!r} only "
                       f"{counts.iloc[-1]:,}. Always predicting {json_safe(largest)!r} would be "
                       f"{constant_accuracy} accurate, and accuracy hides how the small classes "
                       "fare.")
        found.append(Finding(
            "imbalanced_target", "warning", [name], message,
            Suggestion(f"Score models by {metric}", "set_metric", {"metric": metric}),
            "Accuracy rewards ignoring the rare class; a metric that looks at every class "
            "shows whether the model finds it."))
        found.append(Finding(
            "class_weights", "info", [name],
            f"Weighting rows by class makes each {json_safe(smallest)!r} row count as much as "
            f"{counts.iloc[0] / counts.iloc[-1]:.1f} {json_safe(largest)!r} rows in training.",
            Suggestion("Balance class weights", "set_class_weight", {"value": "balanced"}),
            "Without weights, a model can score well by mostly predicting the common class."))
    variants = label_variants(counts.index)
    if variants:
        found.append(Finding(
            "label_variants", "warning", [name], describe_label_variants(name, variants), None,
            "If they mean the same, write them one way in the data: as they are, the model "
            "learns one class as two, each from fewer rows, and is marked wrong when it picks "
            "the other spelling."))
    small = counts[counts < SMALL_CLASS_ROWS]
    if len(small):
        listed = ", ".join(f"{json_safe(c)!r} ({v})" for c, v in small.items())
        below_folds = bool((small < CV_FOLDS).any())
        found.append(Finding(
            "small_classes", "warning" if below_folds else "info", [name],
            f"{len(small)} class{'es' if len(small) > 1 else ''} of '{name}' "
            f"{'have' if len(small) > 1 else 'has'} fewer than {SMALL_CLASS_ROWS} rows: "
            f"{listed}.", None,
            (f"A class with fewer rows than the {CV_FOLDS} cross-validation folds cannot appear "
             "in every fold, so stratified CV fails or is unreliable; merge it with a similar "
             "class or collect more rows.") if below_folds else
            ("So few examples are hard to learn and their scores are noisy; consider merging "
             "them with similar classes or collecting more rows.")))
    return found


def _leakage_findings(features: list[ColumnInfo], series: dict[str, pd.Series], y: pd.Series,
                      task: str) -> list[Finding]:
    labelled = np.flatnonzero(y.notna().to_numpy())
    rows = labelled[_sample_positions(labelled.size, LEAK_SAMPLE_ROWS)]
    if rows.size < MIN_ROWS_TO_COMPARE:
        return []
    folds = np.random.default_rng(1).permutation(rows.size) % CV_FOLDS
    target = y.iloc[rows]
    if task == "regression":
        y_values = target.to_numpy(dtype="float64")
    else:
        y_values = pd.factorize(target, sort=True)[0]
    shared_codes, correlations = _numeric_leak_inputs(
        [c.name for c in features if is_numeric(series[c.name].dtype)], series, rows,
        y_values if task == "regression" else None)
    found = []
    for column in features:
        codes = shared_codes.get(column.name)
        if codes is None:
            codes = level_codes(series[column.name].iloc[rows], max_bins=LEAK_BINS)
        # One row's worth of pull toward every row's shares (or mean): light, so that a value
        # seen a few times already speaks for itself; LEAK_CRITICAL was calibrated with it.
        score = lookup_score(codes, y_values, folds, task, smoothing=1.0, prior="all rows",
                             multiclass="balanced accuracy")
        how = _lookup_wording(score, task, int(y_values.max()) + 1)
        if column.name in correlations:
            r, rho = correlations[column.name]
            if r * r > score:
                score, how = r * r, f"R² {r * r:.3f} from a straight line"
            if abs(rho) >= LEAK_RANK and abs(rho) > score:
                score, how = abs(rho), f"rank correlation {rho:+.3f} with the target"
        if score >= LEAK_CRITICAL[task]:
            found.append(_leak_finding(column.name, y.name, how, rows.size, critical=True))
        elif score >= LEAK_WARNING[task]:
            found.append(_leak_finding(column.name, y.name, how, rows.size, critical=False))
    return found


def _lookup_wording(score: float, task: str, n_classes: int) -> str:
    """The lookup score in words, with what guessing gets where that is not obvious."""
    if task == "regression":
        return f"R² {score:.3f}"
    if task == "binary":
        return f"AUC {score:.3f}"
    return (f"balanced accuracy {format_percent(score)}, where guessing gets "
            f"{format_percent(1 / n_classes)}")


def _numeric_leak_inputs(names: list[str], series: dict[str, pd.Series], rows: np.ndarray,
                         y: np.ndarray | None) -> tuple[dict[str, np.ndarray],
                                                        dict[str, tuple[float, float]]]:
    """What the leakage check needs of the named numeric columns on ``rows``, many at once:
    the level codes of those without missing values (:func:`complete_level_codes`) and, with
    a numeric target ``y``, :func:`_correlations` of every one (one matrix product per block
    of columns without missing values, one call for each other column)."""
    codes, correlations = {}, {}
    for start in range(0, len(names), _CORRELATION_BLOCK):
        block = names[start:start + _CORRELATION_BLOCK]
        x = np.column_stack([series[n].to_numpy(dtype="float64", na_value=np.nan)[rows]
                             for n in block])
        codes.update((block[k], column_codes) for k, column_codes
                     in complete_level_codes(x, max_bins=LEAK_BINS).items())
        if y is None:
            continue
        varied = ~np.isnan(x).any(axis=0) & (np.ptp(x, axis=0) > 0)
        if varied.any() and len(y) >= MIN_ROWS_TO_COMPARE and np.ptp(y) > 0:
            complete = x[:, varied]
            r = _pairwise_r(_standardise(complete.copy()), _standardise(y[:, None].copy()), 0)
            rho = _pairwise_r(_standardise(rankdata(complete, axis=0)),
                              _standardise(rankdata(y)[:, None]), 0)
            correlations.update(zip(np.asarray(block)[varied].tolist(),
                                    zip(r[:, 0].tolist(), rho[:, 0].tolist(), strict=True),
                                    strict=True))
        correlations.update((n, _correlations(x[:, k], y))
                            for k, n in enumerate(block) if not varied[k])
    return codes, correlations


def _correlations(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Pearson and Spearman correlation over the rows where ``x`` is present (0 if undefined)."""
    present = ~np.isnan(x)
    if present.sum() < MIN_ROWS_TO_COMPARE:
        return 0.0, 0.0
    x, y = x[present], y[present]
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0, 0.0
    return float(np.corrcoef(x, y)[0, 1]), float(np.corrcoef(rankdata(x), rankdata(y))[0, 1])


def _leak_finding(name: str, target: object, how: str, n_rows: int, *, critical: bool) -> Finding:
    if critical:
        message = (f"On its own, '{name}' predicts '{target}' almost perfectly ({how}, "
                   f"cross-validated on {n_rows:,} rows). A column this good is usually computed "
                   "from the target or recorded after the outcome.")
    else:
        message = (f"'{name}' is suspiciously strong on its own ({how}, cross-validated on "
                   f"{n_rows:,} rows). Check that it is known before the outcome happens.")
    return Finding(
        "target_leakage", "critical" if critical else "warning", [name], message, _drop([name]),
        "A column that gives the answer away makes the model look perfect in testing and fail "
        "in use, where the column is not known yet.")


def _pair_leak_findings(features: list[ColumnInfo], series: dict[str, pd.Series],
                        y: pd.Series) -> list[Finding]:
    """Two columns that together reproduce a numeric target (:mod:`core.explore._pair_leaks`)."""
    labelled = np.flatnonzero(y.notna().to_numpy())
    rows = labelled[_sample_positions(labelled.size, PAIR_SAMPLE_ROWS)]
    if rows.size < MIN_ROWS_TO_COMPARE or len(features) < 2:
        return []
    values = np.empty((rows.size, len(features)))
    for k, column in enumerate(features):  # to_numpy then take: iloc costs ~60 µs a column
        values[:, k] = series[column.name].to_numpy(dtype="float64", na_value=np.nan)[rows]
    leaks = find_pair_leaks([c.name for c in features], values,
                            y.iloc[rows].to_numpy(dtype="float64"), str(y.name),
                            min_rows=MIN_ROWS_TO_COMPARE)
    return [_pair_leak_finding(leak, str(y.name)) for leak in leaks]


def _pair_leak_finding(leak: PairLeak, target: str) -> Finding:
    derived, other = leak.derived, leak.other
    found = (f"{leak.formula()} reproduces '{target}' on {format_percent(leak.share)} of "
             f"{_rows(leak.rows)} (within {format_percent(PAIR_TOLERANCE)}).")
    written = _decimals(leak.step) if leak.step is not None else ""
    if leak.evidence == "rounded":
        shown = (f"'{derived}' was computed from '{target}' and '{other}': its values are "
                 f"exactly that result rounded to {written}.")
    elif leak.evidence == "full precision":
        shown = (f"'{derived}' was computed from '{target}' and '{other}': it carries every "
                 f"digit of the calculation, while '{target}' and '{other}' are rounded to "
                 f"{written}.")
    else:
        lead = {"target rounded": f"'{target}' looks computed from the two: it is exactly their "
                                  f"result rounded to {written}.",
                "target full precision": f"'{target}' looks computed from the two: it carries "
                                         "every digit of the calculation."
                }.get(leak.evidence or "", "The numbers do not show which of the two was "
                                           f"computed from '{target}'.")
        reason = (f"its name contains '{target}'" if leak.guess == "name" else
                  "it is the weaker of the two on its own, as a column built from the target "
                  "carries what the other leaves out")
        shown = (f"{lead} If '{target}' is worked out from both and both are known before the "
                 "outcome, they are honest inputs and the target is simply a formula of them; "
                 f"if one of them is recorded afterwards, drop it: probably '{derived}' "
                 f"({reason}), otherwise '{other}'.")
    return Finding(
        "pair_leakage", "critical" if leak.critical else "warning", [derived, other],
        f"{found} {shown}", _drop([derived]),
        "Two columns that give the answer away together make the model look perfect in "
        "testing and fail in use, where the column computed from the target is not known yet.")


def _decimals(step: float) -> str:
    """A decimal step in words: "2 decimals", "whole numbers", "multiples of 100"."""
    if step < 1:
        places = round(-np.log10(step))
        return f"{places} decimal{'s' if places > 1 else ''}"
    return "whole numbers" if step == 1 else f"multiples of {format_number(step)}"
