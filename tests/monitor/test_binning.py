"""Tests for core.monitor._binning: per-window counts and PSI, the same as check_drift's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.deliver._drift import OTHER, baseline_stats, check_drift, psi
from core.monitor._binning import bin_column, level_codes, psi_by_row

ROLES = {"x": "numeric", "colour": "categorical"}


def _frame(n: int, rng: np.random.Generator, *, shift: float = 0.0, colours=("red", "green")):
    return pd.DataFrame({"x": rng.normal(loc=shift, size=n), "colour": rng.choice(colours, n)})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=8),
       st.lists(st.lists(st.integers(0, 50), min_size=8, max_size=8), min_size=1, max_size=4))
def test_psi_by_row_is_core_psi_row_by_row(expected, rows):
    expected = np.asarray(expected) + 1e-3
    counts = np.asarray(rows)[:, : len(expected)]
    values = psi_by_row(expected, counts)
    for row, value in zip(counts, values):
        if row.sum() == 0:
            assert np.isnan(value)
        else:
            assert value == pytest.approx(psi(expected, row / row.sum()), rel=1e-12, abs=1e-12)


def test_window_psi_equals_check_drift_on_that_windows_rows():
    rng = np.random.default_rng(0)
    train = _frame(3000, rng)
    card = {"baseline": baseline_stats(train, ROLES)}
    parts = [_frame(400, rng), _frame(400, rng, shift=1.0, colours=("red", "green", "purple")),
             _frame(300, rng, colours=("green",))]
    parts[1].loc[:20, "x"] = np.nan
    frame = pd.concat(parts, ignore_index=True)
    windows = np.repeat([0, 1, 2], [400, 400, 300])
    for name, base in card["baseline"]["features"].items():
        binned = bin_column(base, frame[name], windows, 3)
        for w, part in enumerate(parts):
            expected = next(r for r in check_drift(card, part)["features"] if r["feature"] == name)
            assert binned.psi()[w] == pytest.approx(expected["psi"], rel=1e-12)
    x = bin_column(card["baseline"]["features"]["x"], frame["x"], windows, 3)
    assert x.missing.tolist() == [0, 21, 0]
    assert x.counts.sum(axis=1).tolist() == [400, 379, 300]


def test_rows_numbered_past_the_last_window_are_left_out():
    base = {"kind": "numeric", "edges": [0.0], "shares": [0.5, 0.5], "missing": 0.0}
    values = pd.Series([-1.0, 1.0, 1.0, np.nan, 5.0])
    binned = bin_column(base, values, np.array([0, 0, 1, 1, 2]), 2)
    assert binned.counts.tolist() == [[1, 1], [0, 1]]
    assert binned.missing.tolist() == [0, 1]
    assert binned.pooled().counts.tolist() == [[1, 2]]


def test_the_other_bin_counts_only_where_unknown_levels_appear():
    base = {"kind": "categorical", "levels": {"a": 0.6, "b": 0.4}, "missing": 0.0}
    values = pd.Series(["a", "b", "a", "a", "zzz", "b"])
    binned = bin_column(base, values, np.array([0, 0, 0, 1, 1, 1]), 2)
    assert binned.counts.tolist() == [[2, 1, 0], [1, 1, 1]]
    assert binned.psi()[0] == pytest.approx(psi(np.array([0.6, 0.4]), np.array([2, 1]) / 3))
    assert binned.psi()[1] == pytest.approx(psi(np.array([0.6, 0.4, 0.0]), np.ones(3) / 3))


def test_logged_numbers_and_booleans_find_their_text_levels():
    known = ["1", "0", "True", "False", "2.5", "red"]
    codes, missing = level_codes(pd.Series([1.0, 0.0, 2.5, 7.0, np.nan]), known)
    assert codes[:4].tolist() == [0, 1, 4, len(known)] and missing.tolist() == [0, 0, 0, 0, 1]
    codes, _ = level_codes(pd.Series([True, False]), ["True", "False"])
    assert codes.tolist() == [0, 1]
    codes, missing = level_codes(pd.Series(["red", None, 3, "blue"], dtype=object),
                                 ["red", "3", "blue"])
    assert codes[[0, 2, 3]].tolist() == [0, 1, 2] and missing.tolist() == [0, 1, 0, 0]


def test_categorical_dtype_is_coded_through_its_categories():
    values = pd.Series(pd.Categorical(["b", None, "a", "c", "b"]))
    codes, missing = level_codes(values, ["a", "b"])
    assert codes[[0, 2, 3, 4]].tolist() == [1, 0, 2, 1]
    assert missing.tolist() == [False, True, False, False, False]


def test_an_other_level_in_the_baseline_takes_unknown_values():
    rng = np.random.default_rng(1)
    train = pd.DataFrame({"colour": [f"c{i}" for i in rng.integers(0, 80, 4000)]})
    base = baseline_stats(train, {"colour": "categorical"})["features"]["colour"]
    assert OTHER in base["levels"]
    new = pd.DataFrame({"colour": [f"c{i}" for i in rng.integers(0, 120, 1000)]})
    binned = bin_column(base, new["colour"], np.zeros(1000, dtype=np.int64), 1)
    expected = check_drift({"baseline": {"features": {"colour": base}}}, new)["features"][0]["psi"]
    assert binned.psi()[0] == pytest.approx(expected, rel=1e-12)
