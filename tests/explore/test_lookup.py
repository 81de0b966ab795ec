"""The one-feature lookup score, checked against a row-by-row reference, and the level codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from core.explore._lookup import as_numbers, level_codes, lookup_score


def _reference(codes, y, folds, task, smoothing, prior, multiclass):
    """Each row predicted from the other folds' rows of its level, one row at a time."""
    classification = task != "regression"
    n_classes = int(y.max()) + 1 if classification else 0
    predictions = []
    for i in range(len(y)):
        train = folds != folds[i]
        base_rows = np.ones(len(y), bool) if prior == "all rows" else train
        same = train & (codes == codes[i])
        if classification:
            base = np.bincount(y[base_rows], minlength=n_classes) / base_rows.sum()
            counts = np.bincount(y[same], minlength=n_classes)
            predictions.append((counts + smoothing * base) / (same.sum() + smoothing))
        else:
            base = y[base_rows].mean()
            predictions.append((y[same].sum() + smoothing * base) / (same.sum() + smoothing))
    predicted = np.array(predictions)
    if task == "regression":
        return skm.r2_score(y, predicted)
    if task == "binary":
        return skm.roc_auc_score(y, predicted[:, 1])
    if multiclass == "balanced accuracy":
        return skm.balanced_accuracy_score(y, predicted.argmax(1))
    return np.mean([skm.roc_auc_score(y == k, predicted[:, k]) for k in range(n_classes)])


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("prior", ["train folds", "all rows"])
@pytest.mark.parametrize("multiclass", ["auc", "balanced accuracy"])
@pytest.mark.parametrize("smoothing", [1.0, 10.0])
def test_the_score_matches_a_row_by_row_reference(task, prior, multiclass, smoothing):
    rng = np.random.default_rng(len(task) + int(smoothing))
    n = 240
    codes = rng.integers(0, 12, n)
    codes[:3] = 12  # a level seen in one fold only: it gets the prior
    folds = rng.permutation(n) % 4
    if task == "regression":
        y = codes * 2.5 + rng.normal(scale=8, size=n) + 100
    else:
        y = (codes + rng.integers(0, 6, n)) % (2 if task == "binary" else 4)
    expected = _reference(codes, y, folds, task, smoothing, prior, multiclass)
    got = lookup_score(codes, y, folds, task, smoothing=smoothing, prior=prior,
                       multiclass=multiclass)
    assert got == pytest.approx(expected, abs=1e-12)


def test_a_perfect_feature_scores_one_and_a_useless_one_about_chance():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 3000)
    folds = rng.permutation(3000) % 3
    assert lookup_score(y.copy(), y, folds, "binary", smoothing=10.0) == 1.0
    noise = lookup_score(rng.integers(0, 8, 3000), y, folds, "binary", smoothing=10.0)
    assert abs(noise - 0.5) < 0.05


def test_a_constant_regression_target_scores_zero():
    folds = np.arange(60) % 3
    assert lookup_score(np.arange(60) % 5, np.ones(60), folds, "regression", smoothing=1.0,
                        prior="all rows") == 0.0


def test_the_prior_and_its_weight_change_the_score():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 40, 300)
    y = (codes % 2 + (rng.random(300) < 0.3)) % 2
    folds = np.arange(300) % 5
    scores = {(m, p): lookup_score(codes, y, folds, "binary", smoothing=m, prior=p)
              for m in (1.0, 10.0) for p in ("train folds", "all rows")}
    assert len(set(scores.values())) == 4


def test_numbers_are_binned_and_missing_values_get_their_own_level():
    values = pd.Series(np.r_[np.arange(1000.0), [np.nan] * 10])
    codes = level_codes(values, max_bins=16)
    assert np.unique(codes[:1000]).size == 16
    assert set(codes[1000:]) == {codes.max()} and codes.max() not in set(codes[:1000])
    assert (np.diff(codes[:1000]) >= 0).all()  # bins follow the order of the numbers


def test_few_distinct_numbers_and_categories_keep_one_level_per_value():
    assert level_codes(pd.Series([3, 1, 3, None]), max_bins=16).tolist() == [0, 1, 0, 2]
    assert level_codes(pd.Series(["b", "a", "b"]), max_bins=16).tolist() == [0, 1, 0]
    assert level_codes(pd.Series([], dtype=object), max_bins=16).tolist() == []


def test_numbers_of_a_categorical_role_are_not_binned():
    values = pd.Series(np.arange(100) % 40)
    assert np.unique(level_codes(values, max_bins=16, bin_numbers=False)).size == 40
    assert np.unique(level_codes(values, max_bins=16)).size == 16


def test_rare_levels_beyond_the_most_frequent_are_pooled():
    series = pd.Series(["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d", "e", None])
    codes = level_codes(series, max_bins=16, max_levels=2)
    assert codes.tolist() == [0] * 5 + [1] * 4 + [2] * 3 + [2, 2, 3]
    assert np.unique(level_codes(series, max_bins=16)).size == 6


def test_dates_are_numbers_and_text_is_not():
    dates = pd.Series(pd.to_datetime(["2024-01-01", None, "2024-01-03"]))
    numbers = as_numbers(dates)
    assert np.isnan(numbers[1]) and numbers[2] - numbers[0] == 2 * 86_400 * 10**9
    assert level_codes(dates, max_bins=16).tolist() == [0, 2, 1]
    assert as_numbers(pd.Series(["1", "2"])) is None
    assert as_numbers(pd.Series([True, False])) is None
    assert as_numbers(pd.Series([1, None], dtype="Int64")).tolist()[0] == 1.0
