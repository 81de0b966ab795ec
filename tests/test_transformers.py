"""Tests for core.transformers: the small transformers scikit-learn does not ship."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from core.transformers import (
    DATETIME_PARTS,
    DatetimeParts,
    Float32,
    OutlierClipper,
    SplineBasis,
    TextColumn,
    ToNumber,
    ToString,
)

# --------------------------------------------------------------------------- DatetimeParts


def test_datetime_parts_splits_each_column_into_numbers():
    frame = pd.DataFrame({"when": ["2024-03-15 10:30", "2023-12-31", "not a date"]})
    step = DatetimeParts(parts=("year", "month", "day", "dayofweek", "hour")).fit(frame)
    out = step.transform(frame)
    assert out.dtype == np.float64 and out.shape == (3, 5)
    np.testing.assert_array_equal(out[0], [2024, 3, 15, 4, 10])  # a Friday
    np.testing.assert_array_equal(out[1], [2023, 12, 31, 6, 0])  # a Sunday
    assert np.isnan(out[2]).all()  # not a date: missing, for the imputer after it
    assert list(step.get_feature_names_out()) == ["when_year", "when_month", "when_day",
                                                  "when_dayofweek", "when_hour"]


def test_datetime_parts_defaults_and_several_columns():
    frame = pd.DataFrame({"a": ["2020-01-01"], "b": ["2021-06-15"]})
    step = DatetimeParts().fit(frame)
    assert step.n_features_in_ == 2
    assert list(step.get_feature_names_out()) == ["a_year", "a_month", "a_dayofweek",
                                                  "b_year", "b_month", "b_dayofweek"]
    np.testing.assert_array_equal(step.transform(frame), [[2020, 1, 2, 2021, 6, 1]])
    assert {"year", "month", "dayofweek", "quarter", "dayofyear"} <= set(DATETIME_PARTS)


def test_datetime_parts_must_be_fitted_first():
    with pytest.raises(NotFittedError):
        DatetimeParts().transform(pd.DataFrame({"a": ["2020-01-01"]}))


# --------------------------------------------------------------------------- OutlierClipper


def test_outlier_clipper_uses_tukeys_far_out_fences():
    train = np.array([[1.0], [2.0], [3.0], [4.0], [5.0], [100.0]])
    step = OutlierClipper().fit(train)
    q1, q3 = np.percentile(train[:, 0], [25, 75])
    assert step.lower_[0] == pytest.approx(q1 - 3 * (q3 - q1))
    assert step.upper_[0] == pytest.approx(q3 + 3 * (q3 - q1))
    out = step.transform(np.array([[-1000.0], [3.0], [1000.0]]))
    np.testing.assert_allclose(out[:, 0], [step.lower_[0], 3.0, step.upper_[0]])
    assert list(step.get_feature_names_out()) == ["x0"]
    assert list(step.get_feature_names_out(["price"])) == ["price"]


def test_outlier_clipper_quantile_bounds_per_column_ignoring_missing():
    column = np.arange(101, dtype=float)
    train = np.column_stack([column, column * 10])
    train[5, 0] = np.nan
    step = OutlierClipper(method="clip_quantile").fit(train)
    assert step.lower_[1] == pytest.approx(10.0) and step.upper_[1] == pytest.approx(990.0)
    assert step.lower_[0] == pytest.approx(np.nanpercentile(train[:, 0], 1))
    out = step.transform(np.array([[-5.0, 5000.0], [np.nan, 500.0]]))
    assert out[0, 0] == pytest.approx(step.lower_[0]) and out[0, 1] == pytest.approx(990.0)
    assert np.isnan(out[1, 0]) and out[1, 1] == 500.0  # missing stays missing


# --------------------------------------------------------------------------- ToNumber


def test_to_number_reads_numbers_written_as_text():
    frame = pd.DataFrame({"price": ["$1,234.50", "45%", "1 200", "n/a", None],
                          "count": [1, 2, 3, 4, 5]})
    step = ToNumber().fit(frame)
    out = step.transform(frame)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[:3, 0], [1234.5, 45.0, 1200.0])
    assert np.isnan(out[3, 0]) and np.isnan(out[4, 0])
    np.testing.assert_array_equal(out[:, 1], [1, 2, 3, 4, 5])
    assert list(step.get_feature_names_out()) == ["price", "count"]
    assert step.n_features_in_ == 2


def test_to_number_handles_currency_symbols():
    frame = pd.DataFrame({"p": ["€3", "£4.5", "¥1,000"]})
    np.testing.assert_array_equal(ToNumber().fit_transform(frame)[:, 0], [3.0, 4.5, 1000.0])


# --------------------------------------------------------------------------- Float32


def test_float32_casts_dense_and_sparse():
    dense = np.array([[1.5, 2.0], [3.0, 4.25]])
    step = Float32().fit(dense)
    out = step.transform(dense)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, dense.astype(np.float32))
    sparse = sp.csr_matrix(dense)
    sparse_out = step.transform(sparse)
    assert sp.issparse(sparse_out) and sparse_out.dtype == np.float32
    np.testing.assert_array_equal(sparse_out.toarray(), out)
    assert list(step.get_feature_names_out()) == ["x0", "x1"]
    assert list(step.get_feature_names_out(["a", "b"])) == ["a", "b"]


def test_float32_must_be_fitted_first():
    with pytest.raises(NotFittedError):
        Float32().transform(np.ones((1, 1)))


# --------------------------------------------------------------------------- TextColumn


def test_text_column_gives_a_flat_list_of_strings():
    frame = pd.DataFrame({"review": ["good", None, 3]})
    step = TextColumn().fit(frame)
    out = step.transform(frame)
    assert out.ndim == 1 and list(out) == ["good", "", "3"]
    assert list(step.get_feature_names_out()) == ["text"]
    assert list(step.get_feature_names_out(["review"])) == ["review"]
    assert list(TextColumn().fit_transform(np.array([["a"], ["b"]], dtype=object))) == ["a", "b"]


# --------------------------------------------------------------------------- ToString


def test_to_string_makes_mixed_values_one_level_and_keeps_missing():
    frame = pd.DataFrame({"code": pd.Series([7, "7", None, "x"], dtype=object),
                          "flag": [True, False, True, np.nan]})
    step = ToString().fit(frame)
    out = step.transform(frame)
    assert out.dtype == object and out.shape == (4, 2)
    assert out[0, 0] == out[1, 0] == "7"
    assert pd.isna(out[2, 0])  # missing stays missing, not the text "None"
    assert out[3, 0] == "x"
    assert list(out[:3, 1]) == ["True", "False", "True"]
    assert pd.isna(out[3, 1])
    assert list(step.get_feature_names_out()) == ["code", "flag"]


def test_transformers_work_inside_a_pipeline():
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    frame = pd.DataFrame({"price": ["$10", "$20", "bad"], "when": ["2020-01-01", "2021-02-02", ""]})
    prep = ColumnTransformer([
        ("price", make_pipeline(ToNumber(), SimpleImputer(strategy="median"), Float32()), ["price"]),
        ("when", make_pipeline(DatetimeParts(parts=("year",)), SimpleImputer()), ["when"]),
    ])
    out = prep.fit_transform(frame)
    np.testing.assert_allclose(out, [[10, 2020], [20, 2021], [15, 2020.5]])
    assert list(prep.get_feature_names_out()) == ["price__price", "when__when_year"]


# --------------------------------------------------------------------------- SplineBasis


def _spline_inputs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.normal(size=n),             # many values: expanded
                            rng.integers(0, 2, size=n),      # yes/no (one-hot): kept only
                            rng.integers(0, 4, size=n)]).astype(float)  # four levels: kept only


def test_spline_basis_expands_only_columns_with_many_values_and_keeps_every_input():
    X = _spline_inputs()
    step = SplineBasis(n_knots=5).fit(X)
    assert step.bent_ == [0]
    out = step.transform(X)
    assert out.shape == (200, 3 + 5 + 3 - 2)  # the inputs, then n_knots + degree - 2 splines
    np.testing.assert_array_equal(out[:, :3], X)
    names = list(step.get_feature_names_out(["age", "smoker", "stage"]))
    assert names[:3] == ["age", "smoker", "stage"] and names[3:] == [f"age_spline{k}" for k in range(6)]


def test_spline_basis_is_constant_outside_the_training_range():
    X = _spline_inputs()
    step = SplineBasis().fit(X)
    far = np.array([[X[:, 0].max() + 5, 0, 0], [X[:, 0].max() + 500, 0, 0],
                    [X[:, 0].min() - 50, 1, 3]])
    out = step.transform(far)
    np.testing.assert_allclose(out[0, 3:], out[1, 3:])  # no cubic swing far out
    assert out[1, 0] == far[1, 0]  # the input itself still carries the straight-line trend
    assert np.isfinite(out).all()


def test_spline_basis_lets_a_linear_model_fit_a_curve():
    from sklearn.linear_model import LinearRegression

    x = np.linspace(-3, 3, 300).reshape(-1, 1)
    y = x.ravel() ** 2  # a U shape: no straight line fits it
    straight = LinearRegression().fit(x, y).score(x, y)
    curved = LinearRegression().fit(SplineBasis().fit_transform(x), y).score(SplineBasis().fit_transform(x), y)
    assert straight < 0.05 and curved > 0.99


def test_spline_basis_keeps_sparse_input_sparse_and_float32_narrow():
    X = _spline_inputs()
    out = SplineBasis().fit(sp.csr_matrix(X)).transform(sp.csr_matrix(X))
    assert sp.issparse(out)
    np.testing.assert_allclose(out.toarray(), SplineBasis().fit_transform(X))
    assert SplineBasis().fit(X.astype(np.float32)).transform(X.astype(np.float32)).dtype == np.float32


def test_spline_basis_groups_inputs_by_knot_count_and_names_them_in_output_order():
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.normal(size=300), np.r_[np.zeros(240), rng.normal(size=60)],
                         rng.exponential(size=300)])  # the second: 80% zeros, fewer knots
    step = SplineBasis().fit(X)
    assert step.bent_ == [0, 1, 2] and len(step.splines_) == 2  # two knot counts, two calls
    names = list(step.get_feature_names_out(["a", "b", "c"]))
    out = step.transform(X)
    assert out.shape[1] == len(names)
    for columns, spline in step.splines_:  # each group's block sits where its names say
        width = spline.n_features_out_ // len(columns)
        for i, j in enumerate(columns):
            block = spline.transform(X[:, columns])[:, i * width:(i + 1) * width]
            first = names.index(f"{'abc'[j]}_spline0")
            np.testing.assert_array_equal(out[:, first:first + width], block)


@pytest.mark.parametrize("bad", [2, 0, -1, 2.5, True])
def test_spline_basis_refuses_too_few_knots(bad):
    with pytest.raises(ValueError, match="n_knots must be a whole number, 3 or more"):
        SplineBasis(n_knots=bad).fit(np.zeros((20, 1)))


def test_spline_basis_must_be_fitted_first():
    with pytest.raises(NotFittedError):
        SplineBasis().transform(np.zeros((2, 1)))
