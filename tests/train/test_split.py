"""Tests for core.train._split: the held-out test set, the cross-validation scheme, outlier rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    LeaveOneOut,
    RepeatedKFold,
    RepeatedStratifiedKFold,
    StratifiedKFold,
    TimeSeriesSplit,
    train_test_split,
)

from core.errors import TabwrightError
from core.prepare import FeaturePlan
from core.recipe import ColumnPrep, Recipe
from core.train._split import (
    check_target,
    clean_rows,
    fold_indices,
    make_cv,
    outlier_row_mask,
    split_train_test,
)


def _recipe(**kw) -> Recipe:
    recipe = Recipe(target="y", auto=False, seed=3)
    for path, value in kw.items():
        part, _, name = path.partition("__")
        setattr(getattr(recipe, part) if name else recipe, name or part, value)
    return recipe


def _frame(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "x": rng.normal(size=n),
        "shop": [f"s{i % 20}" for i in range(n)],
        "date": pd.date_range("2020-01-01", periods=n, freq="D").astype(str)[rng.permutation(n)],
        "y": np.where(np.arange(n) % 5 == 0, "rare", "common"),
    })


PLAN = FeaturePlan(roles={"x": "numeric", "shop": "categorical"})
BALANCED = pd.Series(["a", "b"] * 50)


# --------------------------------------------------------------------------- make_cv


def test_auto_is_stratified_for_classes_and_kfold_for_numbers():
    cv, text = make_cv(_recipe(), "binary", BALANCED, n_rows=100)
    assert isinstance(cv, StratifiedKFold) and cv.n_splits == 5 and cv.shuffle
    assert cv.random_state == 3
    assert text == "5-fold stratified cross-validation"
    cv, text = make_cv(_recipe(), "regression", pd.Series(np.arange(100.0)), n_rows=100)
    assert isinstance(cv, KFold) and cv.n_splits == 5 and cv.random_state == 3
    assert text == "5-fold cross-validation"


def test_auto_follows_a_time_or_group_column():
    cv, text = make_cv(_recipe(split__time_column="date", validation__folds=4), "binary",
                       BALANCED, n_rows=100)
    assert isinstance(cv, TimeSeriesSplit) and cv.n_splits == 4
    assert text == "4 expanding time-ordered folds by 'date'"
    cv, text = make_cv(_recipe(split__group_column="shop"), "binary", BALANCED, n_rows=100)
    assert isinstance(cv, GroupKFold) and cv.n_splits == 5
    assert text == "5-fold group cross-validation by 'shop'"


def test_explicit_schemes():
    cv, text = make_cv(_recipe(validation__scheme="kfold", validation__folds=3), "binary",
                       BALANCED, n_rows=100)
    assert type(cv) is KFold and cv.n_splits == 3 and text == "3-fold cross-validation"
    cv, text = make_cv(_recipe(validation__scheme="repeated", validation__repeats=4), "binary",
                       BALANCED, n_rows=100)
    assert isinstance(cv, RepeatedStratifiedKFold) and cv.get_n_splits() == 20
    assert text == "5-fold cross-validation repeated 4×"
    cv, _ = make_cv(_recipe(validation__scheme="repeated"), "regression",
                    pd.Series(np.arange(100.0)), n_rows=100)
    assert isinstance(cv, RepeatedKFold) and cv.get_n_splits() == 10


def test_stratified_folds_are_reduced_for_a_rare_class():
    y = pd.Series(["a"] * 50 + ["b"] * 3)
    cv, text = make_cv(_recipe(), "binary", y, n_rows=53)
    assert isinstance(cv, StratifiedKFold) and cv.n_splits == 3
    assert text == "3-fold stratified cross-validation (reduced to 3: the rarest class has 3 rows)"
    cv, text = make_cv(_recipe(validation__scheme="repeated"), "binary", y, n_rows=53)
    assert cv.get_n_splits() == 3 * 2 and "(reduced to 3" in text


def test_a_class_with_a_single_row_falls_back_to_plain_kfold():
    y = pd.Series(["a"] * 50 + ["b"])
    cv, text = make_cv(_recipe(), "binary", y, n_rows=51)
    assert type(cv) is KFold and cv.n_splits == 5
    assert text == "5-fold cross-validation (plain k-fold: a class has a single training row)"


def test_leave_one_out_is_refused_above_500_rows():
    cv, text = make_cv(_recipe(validation__scheme="loo"), "binary", BALANCED, n_rows=500)
    assert isinstance(cv, LeaveOneOut) and text == "leave-one-out (500 fits)"
    with pytest.raises(TabwrightError, match="501 training rows it is too slow") as info:
        make_cv(_recipe(validation__scheme="loo"), "binary", BALANCED, n_rows=501)
    assert "k-fold" in info.value.hint


# --------------------------------------------------------------------------- the test split


def test_random_split_keeps_the_test_share_and_the_class_balance():
    frame = _frame(200)
    X_train, X_test, y_train, y_test, note = split_train_test(
        frame, PLAN, _recipe(split__test_size=0.25), "binary")
    assert len(X_test) == 50 and len(X_train) == 150
    assert list(X_train.columns) == ["x", "shop"]  # feature columns only, in plan order
    assert set(X_train.index).isdisjoint(X_test.index)
    assert (y_test == "rare").sum() == 10  # stratified: exactly the 20% of the whole table
    assert (y_train.index == X_train.index).all()
    assert note == "Test set: 50 rows (25%) held out, stratified by class; used once, at the end."
    again = split_train_test(frame, PLAN, _recipe(split__test_size=0.25), "binary")
    assert list(again[1].index) == list(X_test.index)  # the seed fixes the split


def test_regression_split_is_not_stratified():
    frame = _frame(100).assign(y=np.arange(100.0))
    _, X_test, _, _, note = split_train_test(frame, PLAN, _recipe(), "regression")
    assert len(X_test) == 20 and "stratified" not in note


def test_time_split_tests_on_the_latest_rows():
    frame = _frame(100)
    X_train, X_test, _, _, note = split_train_test(frame, PLAN, _recipe(split__time_column="date"),
                                                   "binary")
    assert len(X_test) == 20
    assert frame.loc[X_train.index, "date"].max() < frame.loc[X_test.index, "date"].min()
    assert note.startswith("Test set: the latest 20 rows by 'date' (20%)")


def test_group_split_keeps_each_group_on_one_side():
    frame = _frame(200)
    X_train, X_test, _, _, note = split_train_test(frame, PLAN, _recipe(split__group_column="shop"),
                                                   "binary")
    assert set(X_train["shop"]).isdisjoint(X_test["shop"])
    assert len(set(X_test["shop"])) == 4  # 20% of 20 groups
    assert "no group is on both sides" in note


def test_a_class_seen_once_stays_in_the_training_part_and_the_rest_is_stratified():
    frame = _frame(200)
    frame.loc[[7, 150], "y"] = ["solo", "other"]  # two classes with one row each
    X_train, X_test, y_train, y_test, note = split_train_test(frame, PLAN, _recipe(), "multiclass")
    assert len(X_test) == 40 and {7, 150} <= set(X_train.index)
    assert set(y_test) <= set(y_train) and set(y_train) == set(frame["y"])
    assert (y_test == "rare").sum() == 8  # the others still stratified: 20% of the 40 "rare"
    assert note.endswith("2 rows of classes seen once stay in the training part, so the model "
                         "knows every class (they are not tested).")
    # without such a class the split is scikit-learn's stratified split, as it always was
    plain = _frame(200)
    _, X_test, _, _, _ = split_train_test(plain, PLAN, _recipe(), "binary")
    expected = train_test_split(np.arange(200), test_size=0.2, random_state=3, stratify=plain["y"])[1]
    assert list(X_test.index) == list(expected)


def test_many_small_classes_still_leave_a_row_of_each_to_train_on():
    """10 classes of 2 rows and 40 of one: stratifying the 20 shared rows needs a row of every
    class on each side, so the test set shrinks to what allows that."""
    y = [f"c{i}" for i in range(10)] * 2 + [f"s{i}" for i in range(40)]
    frame = pd.DataFrame({"x": np.arange(60.0), "shop": ["a"] * 60, "y": y})
    X_train, X_test, y_train, y_test, note = split_train_test(frame, PLAN, _recipe(), "multiclass")
    assert len(X_test) == 10 and set(y_test) <= set(y_train) and set(y_train) == set(y)
    assert "stratified by class" in note
    tiny = pd.DataFrame({"x": [1.0, 2, 3, 4], "shop": ["a"] * 4, "y": ["p", "p", "q", "q"]})
    with pytest.raises(TabwrightError, match="too few rows per class"):
        split_train_test(tiny.iloc[[0, 2, 3]].assign(y=["p", "q", "r"]), PLAN, _recipe(), "multiclass")


def test_a_class_only_in_the_test_rows_is_refused_before_any_training():
    frame = _frame(100).assign(date=pd.date_range("2020-01-01", periods=100, freq="D").astype(str))
    frame.loc[95, "y"] = "new"  # appears only among the latest rows
    with pytest.raises(TabwrightError, match="test rows hold target values no training row has: 'new'"):
        split_train_test(frame, PLAN, _recipe(split__time_column="date"), "multiclass")


def test_a_training_part_with_one_class_is_refused():
    frame = _frame(50).assign(date=pd.date_range("2020-01-01", periods=50, freq="D").astype(str),
                              y=["a"] * 40 + ["b"] * 10)
    with pytest.raises(TabwrightError, match="only one class after the split"):
        split_train_test(frame, PLAN, _recipe(split__time_column="date"), "binary")


def test_time_ordered_folds_validate_on_later_rows():
    frame = _frame(60)
    recipe = _recipe(split__time_column="date", validation__folds=3)
    X, y = frame[["x", "shop"]], frame["y"]
    cv, _ = make_cv(recipe, "binary", y, n_rows=len(X))
    dates = pd.to_datetime(frame["date"]).to_numpy()
    folds = list(fold_indices(cv, X, y, frame, recipe))
    assert len(folds) == 3
    for train_idx, valid_idx in folds:
        assert dates[train_idx].max() < dates[valid_idx].min()


def test_rows_with_a_missing_time_are_each_used_once_and_tested_on_not_trained_on():
    frame = _frame(100)
    missing = frame.index[[3, 17, 50]]
    frame.loc[missing, "date"] = [None, "not a date", ""]
    X_train, X_test, _, _, note = split_train_test(frame, PLAN, _recipe(split__time_column="date"),
                                                   "binary")
    assert "3 rows without a readable time count as the latest" in note
    assert len(X_train) + len(X_test) == 100 and X_train.index.is_unique and X_test.index.is_unique
    assert set(X_train.index).isdisjoint(X_test.index)
    assert set(missing) <= set(X_test.index)  # an unknown time might be the future
    known = pd.to_datetime(frame["date"], errors="coerce")
    assert known[X_train.index].max() < known[X_test.index].min()
    recipe = _recipe(split__time_column="date", validation__folds=3)
    X, y = frame[["x", "shop"]], frame["y"]
    cv, _ = make_cv(recipe, "binary", y, n_rows=len(X))
    for train_idx, valid_idx in fold_indices(cv, X, y, frame, recipe):
        assert set(train_idx).isdisjoint(valid_idx) and len(set(train_idx)) == len(train_idx)
        assert not set(np.flatnonzero(known.isna())) & set(train_idx)


# --------------------------------------------------------------------------- rows and target


def test_outlier_row_mask_drops_far_out_rows_only_where_asked():
    X = pd.DataFrame({"price": [10.0, 11, 12, 13, 14, 15, 1000, np.nan],
                      "size": [1.0, 2, 3, 4, 5, 6, 7, 5000]})
    recipe = Recipe(target="y")
    assert outlier_row_mask(X, recipe).all()  # nothing asked: every row kept
    recipe.preparation.columns["price"] = ColumnPrep(outliers="drop_rows")
    recipe.preparation.columns["size"] = ColumnPrep(outliers="clip_iqr")  # clipped, not dropped
    recipe.preparation.columns["absent"] = ColumnPrep(outliers="drop_rows")
    keep = outlier_row_mask(X, recipe)
    assert keep.tolist() == [True] * 6 + [False, True]  # 1000 dropped, the missing price kept


def test_clean_rows_drops_missing_targets_and_duplicates_with_notes():
    frame = pd.DataFrame({"x": list(range(12)) + [0, 0], "y": ["a", "b"] * 6 + [None, "a"]})
    notes: list[str] = []
    data = clean_rows(frame, Recipe(target="y", drop_duplicate_rows=True), notes)
    assert len(data) == 12
    assert notes == ["Dropped 1 rows with no value in the target 'y'.", "Dropped 1 duplicate rows."]
    with pytest.raises(TabwrightError, match="Only 9 rows have a target value"):
        clean_rows(frame.head(9), Recipe(target="y"), [])


def test_check_target_refuses_what_cannot_be_learned():
    assert check_target(pd.Series([1.5, 2.5], name="y"), "regression").tolist() == [1.5, 2.5]
    with pytest.raises(TabwrightError, match="regression target must be numbers"):
        check_target(pd.Series(["a", "b"], name="y"), "regression")
    with pytest.raises(TabwrightError, match="only one class"):
        check_target(pd.Series(["a", "a"], name="y"), "binary")
    with pytest.raises(TabwrightError, match="exactly 2 classes, got 3"):
        check_target(pd.Series(["a", "b", "c"], name="y"), "binary")
    assert len(check_target(pd.Series(["a", "b", "c"], name="y"), "multiclass")) == 3
