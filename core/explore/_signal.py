"""The ability-to-learn check: do the features say anything about the target at all?

Before choosing models it pays to ask whether there is anything to learn. :func:`assess_signal`
answers in a few seconds on a sample of rows:

* **Predictive power per feature.** Each feature alone predicts the target with a one-feature
  model (:func:`~core.explore._lookup.lookup_score`, shared with the leakage finding: numbers
  cut into up to :data:`MAX_BINS` quantile bins, categories kept as they are, missing as its
  own value; each bin predicts the target's average in the other folds, shrunk toward the
  training folds' average with the weight of :data:`SMOOTHING` rows), scored with
  :data:`CV_FOLDS`-fold cross-validation. Power is normalised so that 0 is no
  better than always guessing the same thing and 1 is perfect: ``2·AUC − 1`` (the Gini
  coefficient) for classification, R² (floored at 0) for regression.
* **All features together.** A small gradient-boosting model (depth 3) on every usable
  feature, scored the same way, catches signal that lives in combinations. When the features
  outnumber the rows (a wide table: genes, sensors), a ridge model on the features most
  related to the target takes its place: with more columns than rows, a few strongly
  penalised coefficients are what can be learnt, and boosting would bin thousands of columns
  to overfit them.
* **Chance level.** The same per-feature check on a shuffled target shows how much power a
  useless feature gets by luck on this many rows; only power above it counts.
* **Label noise.** Rows identical in every feature (numbers rounded to
  :data:`NEAR_DIGITS` significant digits) but with different labels: no model can get all
  of them right.
* **Rows per class.** Classes with fewer rows than the validation folds.

It also knows what a model that learns nothing scores on each metric
(:func:`baseline_scores`), which is how a page explains why accuracy misleads on imbalanced
data, and which metric to prefer (:func:`recommend_metric`).

Everything returned is plain JSON data; pages and reports draw it.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.feature_selection import f_classif, f_regression
from sklearn.linear_model import RidgeClassifierCV, RidgeCV
from threadpoolctl import threadpool_limits

from core.catalogue import ROWS_PER_FEATURE
from core.errors import TabwrightError
from core.explore._lookup import as_numbers, level_codes, lookup_score
from core.formatting import format_number, format_percent, json_safe

CV_FOLDS = 3
"""Folds for every cross-validated score in the check."""
MAX_BINS = 16
"""Numeric features are cut into at most this many quantile bins for the one-feature model."""
MAX_LEVELS = 50
"""Categories beyond the most frequent this many are pooled into one "other" level."""
SMOOTHING = 10.0
"""Weight of the overall average in each bin's prediction (an m-estimate), so tiny bins and
rare categories do not memorise their few rows."""
TOGETHER_ROWS = 10_000
"""Rows (of the sample) the all-features model is cross-validated on; plenty for one AUC or R²."""
RIDGE_ALPHAS = tuple(10.0 ** np.arange(-2, 6))
"""Penalties the all-features ridge model (features outnumbering rows) chooses from, on the
features most related to the target (one per :data:`~core.catalogue.ROWS_PER_FEATURE` rows)."""
NEAR_DIGITS = 4
"""Significant digits numbers are rounded to when looking for near-identical rows."""
MIN_ROWS = 30
"""Fewer labelled rows than this: nothing can be said about signal."""
STRONG = 0.5
"""Power (above chance) from which the signal is called strong: AUC 0.75, R² 0.5."""
SOME = 0.1
"""Power (above chance) from which there is some signal: AUC 0.55, R² 0.1."""
NOISY_SHARE = 0.02
"""Share of rows in conflicting identical groups from which label noise is reported."""
SKIPPED_ROLES = {
    "identifier": "an identifier: every row differs, so there is nothing to generalise",
    "constant": "constant: one value carries no information",
    "text": "free text: it needs its own text model, so it is not scored here",
}


def assess_signal(frame: pd.DataFrame, target: str, task: str, *, roles: dict[str, str],
                  seed: int = 0, max_rows: int = 20_000, folds: int = 5) -> dict[str, Any]:
    """Check whether the features carry signal about ``target``, in a few seconds.

    Parameters
    ----------
    frame : DataFrame
        The table as read, target included.
    target : str
        The column to predict.
    task : {"binary", "multiclass", "regression"}
    roles : dict
        Column → role (inferred roles with the user's overrides); identifiers, constants and
        free text are not scored, and dropped columns should be left out of ``frame``.
    seed : int, default=0
        Seeds the row sample, the folds and the shuffled target.
    max_rows : int, default=20_000
        Rows drawn at random (seeded) above this size.
    folds : int, default=5
        The validation folds training will use: classes with fewer rows are flagged.

    Returns
    -------
    dict
        JSON-safe: ``task, target, metric ("AUC" or "R²"), rows_total, rows_used, note,
        features`` (best first: ``column, role, power, score``), ``skipped`` (``column,
        why``), ``together`` (``power, score``, or None), ``chance`` (power of the best
        feature on a shuffled target), ``label_noise`` (``groups, conflicting_rows, share,
        min_error_share, message``), ``classes`` (``label, rows, share, too_few``; None for
        regression), ``verdict`` ("strong", "some" or "weak"), ``headline``, ``advice``
        (list of sentences) and ``seconds``.

    Raises
    ------
    TabwrightError
        If the target is missing, the task is not a prediction task, or there are fewer than
        :data:`MIN_ROWS` labelled rows.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=500)
    >>> frame = pd.DataFrame({"x": x, "noise": rng.normal(size=500), "y": (x > 0).astype(int)})
    >>> report = assess_signal(frame, "y", "binary", roles={"x": "numeric", "noise": "numeric"})
    >>> report["verdict"], report["features"][0]["column"]
    ('strong', 'x')
    """
    started = time.perf_counter()
    if target not in frame.columns:
        raise TabwrightError(f"The target {target!r} is not a column of the data.",
                             "Choose the target on the Model page first.")
    if task not in ("binary", "multiclass", "regression"):
        raise TabwrightError(
            f"The ability-to-learn check needs a classification or regression task, got {task!r}.",
            "Choose a column to predict on the Model page.")
    labelled = frame[frame[target].notna()]
    n_total = len(labelled)
    if n_total < MIN_ROWS:
        raise TabwrightError(
            f"The check needs at least {MIN_ROWS} rows with a target value, got {n_total}.",
            "Collect more labelled rows before training a model.")
    classification = task != "regression"
    classes = _class_counts(labelled[target], folds) if classification else None

    rng = np.random.default_rng(seed)
    sample = labelled
    note = None
    if n_total > max_rows:
        sample = labelled.iloc[np.sort(rng.choice(n_total, max_rows, replace=False))]
        note = (f"Checked on a random sample of {max_rows:,} of {n_total:,} labelled rows "
                "(seeded, so the same every time).")
    y, fold = _encode_target(sample[target], task, rng)
    keep = fold >= 0
    if classification and not keep.all():
        sample, y, fold = sample[keep], y[keep], fold[keep]
        dropped = int((~keep).sum())
        note = ((note + " ") if note else "") + (
            f"{dropped} row{'s' if dropped != 1 else ''} of classes too small for "
            f"{CV_FOLDS}-fold checking {'were' if dropped != 1 else 'was'} left out.")
        y = pd.factorize(y, sort=True)[0]
    if classification and np.unique(y).size < 2:
        raise TabwrightError("After leaving out tiny classes only one class is left to check.",
                             "Collect more rows of the rare classes.")

    features, skipped = [], []
    for column in sample.columns:
        if column == target:
            continue
        role = roles.get(column, "categorical")
        if role in SKIPPED_ROLES:
            skipped.append({"column": column, "why": SKIPPED_ROLES[role]})
            continue
        features.append((column, role))
    codes, raw = _feature_codes(sample, features)
    shuffled = rng.permutation(y)
    scored = []
    chance = 0.0
    for column, role in features:
        score = lookup_score(codes[column], y, fold, task, smoothing=SMOOTHING)
        null = lookup_score(codes[column], shuffled, fold, task, smoothing=SMOOTHING)
        chance = max(chance, _power(null, task))
        scored.append({"column": column, "role": role, "power": _power(score, task),
                       "score": score})
    scored.sort(key=lambda f: -f["power"])
    together = None
    if len(features) >= 2:
        score = _together_score(raw, features, y, fold, task, seed)
        together = {"power": _power(score, task), "score": score}
    noise = _label_noise(sample, [c for c, _ in features], y, task)
    verdict, headline, advice = _verdict(target, task, scored, together, chance, noise, classes,
                                         folds)
    return json_safe({
        "task": task, "target": target, "metric": "R²" if task == "regression" else "AUC",
        "rows_total": n_total, "rows_used": int(len(y)), "note": note,
        "features": scored, "skipped": skipped, "together": together, "chance": chance,
        "label_noise": noise, "classes": classes, "verdict": verdict, "headline": headline,
        "advice": advice, "seconds": time.perf_counter() - started,
    })


def complete_level_codes(x: np.ndarray, *, max_bins: int) -> dict[int, np.ndarray]:
    """:func:`~core.explore._lookup.level_codes` of every column of ``x`` without a missing
    value, many columns at once (a wide table's thousands of measurements in one sort).

    Quantile bins depend on a column's values only through their order: a value's bin is
    the number of bin edges at or below the last rank its value holds (ties share it). So
    the codes are read off one :func:`level_codes` call on the ranks ``0..n−1`` (a column
    with at most ``max_bins`` distinct values is one level per value, as there). The levels
    are the same groups of rows as :func:`level_codes` gives, under other labels, which is
    all the lookup score looks at.

    Parameters
    ----------
    x : numpy.ndarray
        Rows × columns of numbers (float64, NaN for missing).
    max_bins : int
        As for :func:`level_codes`.

    Returns
    -------
    dict of int to numpy.ndarray
        Column index → codes, for the columns without missing values; the others are left to
        :func:`level_codes`, one at a time.
    """
    n_rows = x.shape[0]
    if n_rows == 0:
        return {}
    by_rank = level_codes(pd.Series(np.arange(n_rows, dtype="float64")), max_bins=max_bins)
    order = np.argsort(x, axis=0, kind="stable")  # missing values last
    ranked = np.take_along_axis(x, order, axis=0)
    last = np.ones_like(ranked, dtype=bool)  # the last position of each distinct value
    last[:-1] = ranked[1:] != ranked[:-1]
    position = np.where(last, np.arange(n_rows)[:, None], n_rows)
    last_rank = np.minimum.accumulate(position[::-1], axis=0)[::-1]
    value_number = np.cumsum(last, axis=0) - last  # 0 for the smallest value, 1 for the next...
    binned = last.sum(axis=0) > max_bins
    codes = np.empty_like(order)
    np.put_along_axis(codes, order, np.where(binned, by_rank[last_rank], value_number), axis=0)
    return {int(k): codes[:, k] for k in np.flatnonzero(~np.isnan(ranked[-1]))}


def _class_counts(y: pd.Series, folds: int) -> list[dict]:
    counts = y.value_counts()
    n = int(counts.sum())
    return [{"label": label, "rows": int(rows), "share": rows / n, "too_few": bool(rows < folds)}
            for label, rows in counts.items()]


def _encode_target(y: pd.Series, task: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Target values (class codes, or standardised numbers) and a fold per row (−1: left out).

    Classification folds are stratified: each class's rows are dealt round the folds in a
    random order. Classes with fewer rows than folds get −1 (they cannot be in every fold).
    """
    if task == "regression":
        values = y.to_numpy(dtype="float64")
        spread = values.std() or 1.0
        fold = rng.permutation(values.size) % CV_FOLDS
        return (values - values.mean()) / spread, fold
    codes = pd.factorize(y, sort=True)[0]
    fold = np.full(codes.size, -1)
    for label in np.unique(codes):
        where = np.flatnonzero(codes == label)
        if where.size >= CV_FOLDS:
            fold[rng.permutation(where)] = np.arange(where.size) % CV_FOLDS
    return codes, fold


_BLOCK = 1_024


def _feature_codes(sample: pd.DataFrame, features: list[tuple[str, str]]
                   ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Level codes for the one-feature model, and a numeric column for the joint model.

    Numbers (and dates) of a numeric or date role are binned for the one-feature model and
    kept as they are for the joint one; every other column enters both as its level codes.
    Complete number columns are binned many at a time (:func:`complete_level_codes`).
    """
    codes, raw = {}, {}
    for column, role in features:
        numbers = as_numbers(sample[column]) if role in ("numeric", "datetime") else None
        if numbers is not None:
            raw[column] = numbers
    numeric = list(raw)
    for start in range(0, len(numeric), _BLOCK):
        block = numeric[start:start + _BLOCK]
        found = complete_level_codes(np.column_stack([raw[c] for c in block]), max_bins=MAX_BINS)
        codes.update((block[k], column_codes) for k, column_codes in found.items())
    for column, role in features:
        if column not in codes:
            codes[column] = level_codes(sample[column], max_bins=MAX_BINS, max_levels=MAX_LEVELS,
                                        bin_numbers=column in raw)
        if column not in raw:
            raw[column] = codes[column].astype("float64")
    return codes, raw


def _auc(y: np.ndarray, probabilities: np.ndarray) -> float:
    """ROC-AUC from ranks (binary), or its macro one-vs-rest average (multiclass).

    The rank formula (Mann–Whitney U) gives the same value as ``sklearn.metrics.roc_auc_score``
    without its per-call validation, which dominates when scoring dozens of features.
    """
    if probabilities.shape[1] == 2:
        return _binary_auc(y == 1, probabilities[:, 1])
    aucs = [_binary_auc(y == k, probabilities[:, k]) for k in range(probabilities.shape[1])
            if 0 < np.count_nonzero(y == k) < y.size]
    return float(np.mean(aucs)) if aucs else 0.5


def _binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    n_pos = int(np.count_nonzero(positive))
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return 0.5
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _power(score: float, task: str) -> float:
    """0 = no better than a constant guess, 1 = perfect."""
    if task == "regression":
        return float(min(max(score, 0.0), 1.0))
    return float(min(max(2 * score - 1, 0.0), 1.0))


def _together_score(raw: dict[str, np.ndarray], features: list[tuple[str, str]], y: np.ndarray,
                    fold: np.ndarray, task: str, seed: int) -> float:
    """Cross-validated score of a small gradient-boosting model on every feature at once."""
    if len(y) > TOGETHER_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(y), TOGETHER_ROWS, replace=False))
        raw = {c: values[rows] for c, values in raw.items()}
        y, fold = y[rows], fold[rows]
    X = np.column_stack([raw[c] for c, _ in features])
    categorical = np.array([role not in ("numeric", "datetime") for _, role in features])
    if len(features) > len(y):
        return _ridge_score(X, categorical, y, fold, task)
    # About 120 trees per fold: a multiclass model grows one tree per class per iteration.
    n_trees = 1 if task != "multiclass" else int(y.max()) + 1
    iterations = max(8, min(40, 120 // n_trees))
    options = dict(max_iter=iterations, max_depth=3, learning_rate=min(0.3, 4 / iterations),
                   max_bins=63, early_stopping=False,
                   categorical_features=categorical if categorical.any() else None,
                   random_state=seed)
    if task == "regression":
        predicted = np.zeros(len(y))
    else:
        predicted = np.zeros((len(y), int(y.max()) + 1))
    # One thread: OpenMP's spin-waiting makes small fits many times slower on a busy machine.
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        for k in range(CV_FOLDS):
            train, test = fold != k, fold == k
            if task == "regression":
                model = HistGradientBoostingRegressor(**options).fit(X[train], y[train])
                predicted[test] = model.predict(X[test])
            else:
                model = HistGradientBoostingClassifier(**options).fit(X[train], y[train])
                predicted[np.ix_(test, model.classes_)] = model.predict_proba(X[test])
    if task == "regression":
        total = np.sum((y - y.mean()) ** 2)
        return float(1 - np.sum((y - predicted) ** 2) / total) if total else 0.0
    return _auc(y, predicted)


def _ridge_score(X: np.ndarray, categorical: np.ndarray, y: np.ndarray, fold: np.ndarray,
                 task: str) -> float:
    """Cross-validated score of a ridge model for a table with more features than rows.

    Categories are one-hot, missing numbers filled with the training folds' mean, every
    column standardised. The model keeps one feature per
    :data:`~core.catalogue.ROWS_PER_FEATURE` training rows, those most related to the target
    (F-test on the training folds), as auto mode's linear models do on a wide table; its
    penalty is chosen among :data:`RIDGE_ALPHAS` by leave-one-out on the training folds.
    """
    parts = [X[:, ~categorical]]
    for codes in X[:, categorical].T.astype(np.int64):
        parts.append(np.eye(int(codes.max()) + 1)[codes])
    X = np.hstack(parts)
    predicted = np.zeros(len(y)) if task == "regression" else np.zeros((len(y), int(y.max()) + 1))
    with warnings.catch_warnings(), threadpool_limits(limits=1), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for k in range(CV_FOLDS):
            train, test = fold != k, fold == k
            mean = np.nan_to_num(np.nanmean(X[train], axis=0))
            filled = np.where(np.isnan(X), mean, X)
            scale = filled[train].std(axis=0)
            filled = (filled - mean) / np.where(scale > 0, scale, 1.0)
            related = (f_regression if task == "regression" else f_classif)(filled[train],
                                                                            y[train])[0]
            keep = np.argsort(-np.nan_to_num(related), kind="stable")[
                :max(1, int(train.sum()) // ROWS_PER_FEATURE)]
            filled = filled[:, keep]
            if task == "regression":
                model = RidgeCV(alphas=RIDGE_ALPHAS).fit(filled[train], y[train])
                predicted[test] = model.predict(filled[test])
                continue
            model = RidgeClassifierCV(alphas=RIDGE_ALPHAS).fit(filled[train], y[train])
            decision = model.decision_function(filled[test])
            if decision.ndim == 1:
                decision = np.column_stack([-decision, decision])
            predicted[np.ix_(test, model.classes_)] = decision
    if task == "regression":
        total = np.sum((y - y.mean()) ** 2)
        return float(1 - np.sum((y - predicted) ** 2) / total) if total else 0.0
    return _auc(y, predicted)


def _label_noise(sample: pd.DataFrame, columns: list[str], y: np.ndarray, task: str) -> dict:
    """Rows identical in every checked feature whose targets disagree."""
    empty = {"groups": 0, "conflicting_rows": 0, "share": 0.0, "min_error_share": 0.0,
             "message": None}
    if not columns:
        return empty
    # Rows are grouped one column at a time; once every row stands alone (usually after the
    # first measurement), no later column can make two rows identical.
    group = np.zeros(len(y), dtype=np.int64)
    for column in columns:
        codes = _near_codes(sample[column])
        group = pd.factorize(group * (int(codes.max()) + 2) + codes + 1)[0]
        if group.max() + 1 == len(y):
            return empty
    n = len(y)
    if task == "regression":
        spread = 0.1 * (y.std() or 1.0)
        frame = pd.DataFrame({"g": group, "y": y})
        stats = frame.groupby("g")["y"].agg(["size", "min", "max"])
        bad = stats[(stats["size"] > 1) & (stats["max"] - stats["min"] > spread)]
        conflicting = int(bad["size"].sum())
        min_errors = 0
    else:
        n_classes = int(y.max()) + 1
        table = np.zeros((group.max() + 1, n_classes), dtype=np.int64)
        np.add.at(table, (group, y), 1)
        mixed = (table > 0).sum(1) > 1
        bad = table[mixed]
        conflicting = int(bad.sum())
        min_errors = int((bad.sum(1) - bad.max(1)).sum())
    share = conflicting / n
    message = None
    if share >= NOISY_SHARE:
        if task == "regression":
            message = (f"{format_percent(share)} of rows ({conflicting:,}) have the same values in "
                       "every feature as another row, yet targets that differ by more than a "
                       "tenth of the target's spread: part of the target is not explained by "
                       "these features.")
        else:
            message = (f"{format_percent(share)} of rows ({conflicting:,}) have the same values in "
                       f"every feature as a row with a different label, so no model can get all "
                       f"of them right: at least {format_percent(min_errors / n)} of rows will be "
                       "misclassified whatever the model.")
    return {"groups": int(len(bad)), "conflicting_rows": conflicting, "share": share,
            "min_error_share": min_errors / n, "message": message}


def _near_codes(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            magnitude = np.where(values == 0, 0, np.floor(np.log10(np.abs(values))))
            scale = 10.0 ** (NEAR_DIGITS - 1 - np.nan_to_num(magnitude))
            values = np.round(values * scale) / scale
        series = pd.Series(values)
    return pd.factorize(series, use_na_sentinel=True)[0]


def _verdict(target: str, task: str, scored: list[dict], together: dict | None, chance: float,
             noise: dict, classes: list[dict] | None, folds: int) -> tuple[str, str, list[str]]:
    metric = "R²" if task == "regression" else "AUC"
    best_single = scored[0] if scored else None
    candidates = [(s["power"], s["score"], f"'{s['column']}' alone") for s in scored[:1]]
    if together:
        candidates.append((together["power"], together["score"], "all features together"))
    if not candidates:
        return ("weak", "No feature could be checked: every column is an identifier, constant or "
                        "free text.",
                ["Add columns that describe each row (amounts, categories, dates) and check "
                 "the roles on the Data page."])
    power, score, source = max(candidates)
    lift = power - chance
    advice: list[str] = []
    if lift >= STRONG:
        verdict = "strong"
        headline = (f"Strong signal: the features predict '{target}' well ({metric} "
                    f"{score:.2f} from {source}).")
        advice.append("Go ahead: train models and compare them with the baseline on the Train page.")
        if together and best_single and best_single["power"] >= 0.9 * together["power"] \
                and best_single["power"] >= 0.8:
            advice.append(f"'{best_single['column']}' alone does nearly all the work. Check it is "
                          "known before the outcome happens; if it is recorded afterwards, it "
                          "leaks the answer.")
    elif lift >= SOME:
        verdict = "some"
        headline = (f"Some signal: the features say something about '{target}' ({metric} "
                    f"{score:.2f} from {source}), but not a lot.")
        advice.append("Expect a model that beats guessing, not a perfect one. Better features "
                      "usually help more than a fancier model: what else is known before the "
                      "outcome?")
    else:
        verdict = "weak"
        headline = (f"Weak signal — ML may not be the answer yet: the best {metric} is "
                    f"{score:.2f} ({source}), close to what a shuffled target gets by chance.")
        advice.append("More or better features are needed: information closer to the outcome, "
                      "more rows, or a check that the target is recorded correctly.")
    if chance >= SOME:
        advice.append(f"With this few rows a useless feature already reaches a power of "
                      f"{chance:.2f} by chance, so every score here is rough.")
    if noise.get("message"):
        advice.append(noise["message"])
    if classes:
        small = [c for c in classes if c["too_few"]]
        if small:
            listed = ", ".join(f"{c['label']!r} ({c['rows']})" for c in small[:5])
            advice.append(f"Too few rows for {folds}-fold validation in: {listed}. Merge rare "
                          "classes or collect more rows; validation scores will be unreliable.")
    return verdict, headline, advice


# ---------------------------------------------------------------------------- metrics


def baseline_scores(y: pd.Series, task: str) -> dict[str, Any]:
    """What a model that learns nothing scores on each metric, on this target.

    For classification the constant model always predicts the most frequent class (and the
    class shares as probabilities); for regression it predicts the mean (the median for MAE
    and median absolute error).

    Returns
    -------
    dict
        ``{"predicts": <what it predicts, in words>, "scores": {metric: value}}``, JSON-safe.

    Examples
    --------
    >>> out = baseline_scores(pd.Series([0] * 90 + [1] * 10), "binary")
    >>> out["scores"]["accuracy"], out["scores"]["balanced_accuracy"]
    (0.9, 0.5)
    """
    y = y.dropna()
    if y.empty:
        raise TabwrightError("The target has no values.", "Choose another target column.")
    if task == "regression":
        values = y.to_numpy(dtype="float64")
        mean, median = values.mean(), np.median(values)
        scores = {
            "rmse": float(np.sqrt(np.mean((values - mean) ** 2))),
            "mae": float(np.mean(np.abs(values - median))),
            "median_ae": float(np.median(np.abs(values - median))),
            "r2": 0.0,
        }
        if (values != 0).all():
            scores["mape"] = float(np.mean(np.abs(values - median) / np.abs(values)))
        return json_safe({"predicts": f"always {format_number(mean)} (the average)",
                          "scores": scores})
    counts = y.value_counts()
    n = int(counts.sum())
    majority = counts.index[0]
    share = counts.iloc[0] / n
    scores = {"accuracy": share, "balanced_accuracy": 1 / len(counts), "roc_auc": 0.5,
              "f1_macro": share / (1 + share) * 2 / len(counts), "mcc": 0.0}
    if task == "binary":
        positive = sorted(counts.index, key=str)[-1] if len(counts) == 2 else None
        positive_share = counts.get(positive, 0) / n
        scores["average_precision"] = positive_share
        scores["precision"] = 0.0 if positive != majority else positive_share
        scores["recall"] = 0.0 if positive != majority else 1.0
        scores["f1"] = 0.0 if positive != majority else 2 * share / (1 + share)
    return json_safe({"predicts": f"always {json_safe(majority)!r} ({format_percent(share)} of rows)",
                      "scores": scores})


def recommend_metric(y: pd.Series, task: str) -> tuple[str, str]:
    """The metric to rank models by for this target, and why, in one sentence.

    Examples
    --------
    >>> recommend_metric(pd.Series([0] * 97 + [1] * 3), "binary")[0]
    'average_precision'
    """
    if task == "regression":
        return "rmse", ("RMSE is in the target's own units and weighs big misses more; choose "
                        "MAE if every unit of error costs the same.")
    if task == "clustering":
        return "silhouette", "Without a target, separation between groups is what can be measured."
    shares = y.dropna().value_counts(normalize=True)
    smallest, largest = float(shares.iloc[-1]), float(shares.iloc[0])
    constant = format_percent(largest)
    if task == "binary":
        if smallest < 0.05:
            return "average_precision", (
                f"The rarer class is only {format_percent(smallest)} of rows: always predicting "
                f"the common one is {constant} accurate, and even ROC-AUC looks flattering. "
                "Average precision shows how well the rare cases are found.")
        if smallest < 0.2:
            return "roc_auc", (
                f"Classes are uneven ({format_percent(smallest)} vs {constant}): accuracy would "
                f"be {constant} for a model that learns nothing. ROC-AUC judges the ranking "
                "and is not fooled by the majority class.")
        return "roc_auc", ("ROC-AUC judges how well the model ranks positives above negatives, "
                           "whatever threshold you choose later.")
    if smallest < 0.4 / len(shares):
        return "balanced_accuracy", (
            f"Classes are uneven: always predicting the largest is {constant} accurate. Balanced "
            "accuracy counts every class equally, so a model must find the small ones too.")
    return "accuracy", "Classes are roughly balanced, so accuracy is easy to read and fair."
