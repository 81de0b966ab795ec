"""The train/test split and the cross-validation scheme: how a run keeps its test rows honest.

The test split is cut first and used exactly once, at the very end of a run. Everything before
it (model comparison, tuning, ensembling, threshold tuning) uses the cross-validation folds
:func:`make_cv` describes, on the training part only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    KFold,
    LeaveOneOut,
    RepeatedKFold,
    RepeatedStratifiedKFold,
    StratifiedKFold,
    TimeSeriesSplit,
    train_test_split,
)

from core.errors import TabwrightError
from core.formatting import json_safe
from core.prepare import FeaturePlan
from core.recipe import Recipe

# Auto mode scores candidates on as few folds as hold this many validation rows: enough to
# rank models and weigh an ensemble reliably (see ``_Runner._narrow_folds``).
AUTO_VALIDATION_ROWS = 5_000


# Above this many training rows auto mode searches on a sample of this size (stratified for
# classes) and refits the chosen model on as many training rows as the budget allows: on a
# million rows one fit of the preparation alone takes ~10 s, which would leave a 60 s budget
# room for two models. Rankings on 100k rows hold on the full data; the refit uses them all.
AUTO_SEARCH_ROWS = 100_000


def clean_rows(frame: pd.DataFrame, recipe: Recipe, notes: list[str]) -> pd.DataFrame:
    data = frame
    missing = int(data[recipe.target].isna().sum())
    if missing:
        data = data[data[recipe.target].notna()]
        notes.append(f"Dropped {missing:,} rows with no value in the target {recipe.target!r}.")
    if recipe.drop_duplicate_rows:
        before = len(data)
        data = data.drop_duplicates()
        if before - len(data):
            notes.append(f"Dropped {before - len(data):,} duplicate rows.")
    if len(data) < 10:
        raise TabwrightError(
            f"Only {len(data)} rows have a target value; at least 10 are needed to train and test.",
            "Use a larger file, or a target column with fewer missing values.",
        )
    return data


def check_target(y: pd.Series, task: str) -> pd.Series:
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y):
            raise TabwrightError(
                f"A regression target must be numbers, got values like {y.iloc[0]!r}.",
                "Choose a numeric target, or a classification task.",
            )
        return y
    counts = y.value_counts()
    if len(counts) < 2:
        raise TabwrightError(
            f"The target {y.name!r} has only one class ({counts.index[0]!r}); there is nothing to tell apart.",
            "Choose another target, or add rows of the other classes.",
        )
    if task == "binary" and len(counts) > 2:
        raise TabwrightError(
            f"A binary task needs exactly 2 classes, got {len(counts)} in {y.name!r}.",
            "Choose the multiclass task, or a target with two values.",
        )
    return y


def split_train_test(data: pd.DataFrame, plan: FeaturePlan, recipe: Recipe, task: str
                     ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series, str]:
    """Cut the held-out test set: chronological, grouped, stratified or random."""
    s = recipe.split
    y = data[recipe.target]
    # Select rows and feature columns in one step: ``data[features]`` first would copy the
    # whole table once more (on a million rows, the biggest allocation of the run).
    columns = [data.columns.get_loc(c) for c in plan.features]
    X = np.zeros((len(data), 1))  # the splitters need only the row count
    if s.time_column:
        times = _time_values(data[s.time_column])
        order = np.argsort(times, kind="stable")
        cut = int(round(len(data) * (1 - s.test_size)))
        train_idx, test_idx = order[:cut], order[cut:]
        note = (f"Test set: the latest {len(test_idx):,} rows by {s.time_column!r} "
                f"({s.test_size:.0%}), so the model is tested on the future it will face.")
        unknown = int(np.isnat(times).sum())
        if unknown:
            note += (f" {unknown:,} rows without a readable time count as the latest: they "
                     "may be from the future, so they are tested on, never trained on.")
    elif s.group_column:
        splitter = GroupShuffleSplit(n_splits=1, test_size=s.test_size, random_state=recipe.seed)
        train_idx, test_idx = next(splitter.split(X, y, groups=data[s.group_column].astype(str)))
        note = (f"Test set: {s.test_size:.0%} of the groups in {s.group_column!r}, so no group "
                "is on both sides.")
    else:
        train_idx, test_idx, note = _random_split(y, recipe, task)
    X_train, X_test = data.iloc[train_idx, columns], data.iloc[test_idx, columns]
    y_train, y_test = y.iloc[train_idx], y.iloc[test_idx]
    if task != "regression" and y_train.nunique() < 2:
        raise TabwrightError("The training part has only one class after the split.",
                             "Use a smaller test fraction or a random split.")
    if task != "regression":
        unseen = [v for v in pd.unique(y_test) if v not in set(pd.unique(y_train))]
        if unseen:  # said now, before the search, not after it at the test evaluation
            shown = ", ".join(repr(json_safe(v)) for v in unseen[:5])
            raise TabwrightError(
                f"The test rows hold target values no training row has: {shown}.",
                "Use a random split, or merge or drop very rare classes before training.")
    return X_train, X_test, y_train, y_test, note


def _random_split(y: pd.Series, recipe: Recipe, task: str) -> tuple[np.ndarray, np.ndarray, str]:
    """A random test set, stratified by class for classification.

    A class seen on one row only cannot be on both sides: its rows stay in the training part,
    so the model knows every class, and the other rows are split stratified.
    """
    s = recipe.split
    idx = np.arange(len(y))
    n_test = int(math.ceil(s.test_size * len(y)))
    if task == "regression" or not s.stratify:
        train_idx, test_idx = train_test_split(idx, test_size=n_test, random_state=recipe.seed)
        return train_idx, test_idx, (f"Test set: {len(test_idx):,} rows ({s.test_size:.0%}) held "
                                     "out; used once, at the end.")
    once = y.map(y.value_counts()).to_numpy() < 2
    rest = idx[~once]
    classes = y.iloc[rest].nunique()
    n_test = min(n_test, rest.size - classes)  # a row of every class left to train on
    if n_test < 1:
        raise TabwrightError("There are too few rows per class to hold any out for a test.",
                             "Merge rare classes into broader ones, collect more rows, or pick "
                             "another target.")
    # scikit-learn stratifies only with a row of every class on each side
    stratify = y.iloc[rest] if 2 <= classes <= min(n_test, rest.size - n_test) else None
    train_idx, test_idx = train_test_split(rest, test_size=n_test, random_state=recipe.seed,
                                           stratify=stratify)
    if stratify is None:  # a class whose rows all fell among the test rows goes back to training
        labels = y.to_numpy()
        back = ~np.isin(labels[test_idx], labels[train_idx])
        train_idx, test_idx = np.concatenate([train_idx, test_idx[back]]), test_idx[~back]
    note = (f"Test set: {len(test_idx):,} rows ({s.test_size:.0%}) held out"
            f"{', stratified by class' if stratify is not None else ''}; used once, at the end.")
    if once.any():
        train_idx = np.sort(np.concatenate([train_idx, idx[once]]))
        note += (f" {int(once.sum()):,} row{'s' if once.sum() > 1 else ''} of classes seen once "
                 "stay in the training part, so the model knows every class (they are not "
                 "tested).")
    return train_idx, test_idx, note


def make_cv(recipe: Recipe, task: str, y: pd.Series, *, n_rows: int) -> tuple[Any, str]:
    """The cross-validation splitter for the training part, and a sentence describing it."""
    v = recipe.validation
    scheme = v.scheme
    classification = task != "regression"
    if scheme == "auto":
        if recipe.split.time_column:
            scheme = "timeseries"
        elif recipe.split.group_column:
            scheme = "group"
        else:
            scheme = "stratified" if classification else "kfold"
    folds = v.folds
    if classification and scheme in ("stratified", "repeated"):
        smallest = int(y.value_counts().min())
        if smallest < folds:
            if smallest < 2:
                scheme, note = "kfold", " (plain k-fold: a class has a single training row)"
            else:
                folds, note = smallest, f" (reduced to {smallest}: the rarest class has {smallest} rows)"
        else:
            note = ""
    else:
        note = ""
    seed = recipe.seed
    if scheme == "stratified":
        return (StratifiedKFold(folds, shuffle=True, random_state=seed),
                f"{folds}-fold stratified cross-validation{note}")
    if scheme == "repeated":
        cls = RepeatedStratifiedKFold if classification else RepeatedKFold
        return (cls(n_splits=folds, n_repeats=v.repeats, random_state=seed),
                f"{folds}-fold cross-validation repeated {v.repeats}×{note}")
    if scheme == "group":
        return GroupKFold(folds), f"{folds}-fold group cross-validation by {recipe.split.group_column!r}"
    if scheme == "timeseries":
        return (TimeSeriesSplit(folds),
                f"{folds} expanding time-ordered folds by {recipe.split.time_column!r}")
    if scheme == "loo":
        if n_rows > 500:
            raise TabwrightError(
                f"Leave-one-out needs one fit per row; with {n_rows:,} training rows it is too slow.",
                "Use k-fold cross-validation for more than 500 rows.",
            )
        return LeaveOneOut(), f"leave-one-out ({n_rows} fits)"
    return KFold(folds, shuffle=True, random_state=seed), f"{folds}-fold cross-validation{note}"


def time_order(values: pd.Series) -> np.ndarray:
    """Row positions from earliest to latest; rows whose time is missing or unreadable come
    last, so a chronological split tests on them rather than training on rows that may be
    from the future. Ties keep the file's order.

    (pandas' ``Series.argsort`` marks missing values with -1 and numbers the others within the
    non-missing rows only: taken as positions, a row would appear twice and another never.)

    >>> time_order(pd.Series(["2020-03-01", None, "2020-01-01", "2020-02-01"])).tolist()
    [2, 3, 0, 1]
    """
    return np.argsort(_time_values(values), kind="stable")


def _time_values(values: pd.Series) -> np.ndarray:
    """``values`` read as times in UTC (naive ones taken as UTC), NaT where unreadable."""
    times = pd.to_datetime(values, errors="coerce", format="mixed", utc=True)
    return times.to_numpy(dtype="datetime64[ns]")


def fold_indices(cv: Any, X: pd.DataFrame, y: pd.Series, data: pd.DataFrame, recipe: Recipe):
    groups = None
    if recipe.split.group_column:
        groups = data.loc[X.index, recipe.split.group_column].astype(str).to_numpy()
    if recipe.split.time_column:
        order = time_order(data.loc[X.index, recipe.split.time_column])
        for train_idx, valid_idx in cv.split(order):
            yield order[train_idx], order[valid_idx]
        return
    yield from cv.split(X, y, groups)


def outlier_row_mask(X: pd.DataFrame, recipe: Recipe) -> np.ndarray:
    """Rows to keep when some columns ask to drop outlier rows (training rows only)."""
    keep = np.ones(len(X), dtype=bool)
    for column, prep in recipe.preparation.columns.items():
        if prep.outliers == "drop_rows" and column in X.columns:
            values = pd.to_numeric(X[column], errors="coerce")
            q1, q3 = values.quantile([0.25, 0.75])
            iqr = q3 - q1
            inside = values.between(q1 - 3 * iqr, q3 + 3 * iqr) | values.isna()
            keep &= inside.to_numpy()
    return keep

