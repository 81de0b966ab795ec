"""The few transformers scikit-learn does not ship, kept small and dependency-free.

They live in their own module so that an exported model needs only ``core.transformers``
(and scikit-learn) to load, and so the standalone ``train.py`` script can inline their source.
Each follows scikit-learn's estimator contract: parameters in ``__init__``, fitted state in
attributes ending with ``_``, ``get_feature_names_out`` for readable feature names.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

DATETIME_PARTS = ("year", "month", "day", "dayofweek", "hour", "dayofyear", "quarter")


class DatetimeParts(TransformerMixin, BaseEstimator):
    """Turn datetime columns into numeric parts (year, month, day of week, ...).

    Values that are not dates become missing, so an imputer after this step fills them.

    Parameters
    ----------
    parts : tuple of str
        Any of ``DATETIME_PARTS``.
    """

    def __init__(self, parts: tuple[str, ...] = ("year", "month", "dayofweek")) -> None:
        self.parts = parts

    def fit(self, X, y=None):
        frame = _as_frame(X)
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = frame.shape[1]
        return self

    def transform(self, X):
        check_is_fitted(self, "feature_names_in_")
        frame = _as_frame(X)
        out = {}
        for column in frame.columns:
            values = pd.to_datetime(frame[column], errors="coerce", format="mixed")
            for part in self.parts:
                out[f"{column}_{part}"] = getattr(values.dt, part).astype("float64")
        return pd.DataFrame(out, index=frame.index).to_numpy(dtype="float64")

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "feature_names_in_")
        return np.asarray([f"{c}_{p}" for c in self.feature_names_in_ for p in self.parts],
                          dtype=object)


class OutlierClipper(TransformerMixin, BaseEstimator):
    """Clip numbers to bounds learned on the training data.

    Parameters
    ----------
    method : {"clip_iqr", "clip_quantile"}
        ``clip_iqr``: [Q1 − 3·IQR, Q3 + 3·IQR] (Tukey's far-out fences);
        ``clip_quantile``: the 1st and 99th percentiles.
    """

    def __init__(self, method: str = "clip_iqr") -> None:
        self.method = method

    def fit(self, X, y=None):
        values = np.asarray(X, dtype="float64")
        self.n_features_in_ = values.shape[1]
        if self.method == "clip_quantile":
            self.lower_ = np.nanpercentile(values, 1, axis=0)
            self.upper_ = np.nanpercentile(values, 99, axis=0)
        else:
            q1, q3 = np.nanpercentile(values, [25, 75], axis=0)
            iqr = q3 - q1
            self.lower_, self.upper_ = q1 - 3 * iqr, q3 + 3 * iqr
        return self

    def transform(self, X):
        check_is_fitted(self, "lower_")
        return np.clip(np.asarray(X, dtype="float64"), self.lower_, self.upper_)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features if input_features is not None else
                          [f"x{i}" for i in range(self.n_features_in_)], dtype=object)


class ToNumber(TransformerMixin, BaseEstimator):
    """Read numbers written as text ("$1,234.50", "45%", "1 200") as floats.

    Used when a user gives a text column the numeric role; values that still do not parse
    become missing, for the imputer after this step.
    """

    def fit(self, X, y=None):
        return _remember_columns(self, X)

    def transform(self, X):
        frame = _as_frame(X)
        out = np.empty(frame.shape, dtype="float64")
        for i, column in enumerate(frame.columns):
            values = frame[column]
            if not pd.api.types.is_numeric_dtype(values):
                values = values.astype(str).str.replace(r"[\s$€£¥%,]", "", regex=True)
            out[:, i] = pd.to_numeric(values, errors="coerce")
        return out

    def get_feature_names_out(self, input_features=None):
        return self.feature_names_in_


class Float32(TransformerMixin, BaseEstimator):
    """Cast a branch's output to 32-bit floats, the last step of each branch.

    Each branch casting its own output keeps every part of the prepared matrix, and the
    matrix stacked from them, at half the memory of ``float64``; the steps before it compute
    in ``float64`` as usual. Used for linear and neural models when the recipe's
    ``precision`` is ``float32``: they fit on ``float32`` data without copying it.
    """

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        if hasattr(X, "tocsr"):  # a sparse matrix
            return X.astype(np.float32)
        return np.asarray(X, dtype=np.float32)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features if input_features is not None else
                          [f"x{i}" for i in range(self.n_features_in_)], dtype=object)


class TextColumn(TransformerMixin, BaseEstimator):
    """Pass one text column to a vectoriser as a flat list of strings (missing → "")."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        frame = _as_frame(X)
        return frame.iloc[:, 0].fillna("").astype(str).to_numpy()

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features if input_features is not None else ["text"], dtype=object)


class ToString(TransformerMixin, BaseEstimator):
    """Cast categories to strings so mixed values (``7`` and ``"7"``) become one level.

    Missing values stay missing so the imputer after this step can see them.
    """

    def fit(self, X, y=None):
        return _remember_columns(self, X)

    def transform(self, X):
        frame = _as_frame(X)
        out = np.empty(frame.shape, dtype=object)
        for i, column in enumerate(frame.columns):
            values = frame[column]
            text = values.astype(str).to_numpy(dtype=object)
            text[values.isna().to_numpy()] = np.nan
            out[:, i] = text
        return out

    def get_feature_names_out(self, input_features=None):
        return self.feature_names_in_


class SplineBasis(TransformerMixin, BaseEstimator):
    """Every prepared input as it is, plus cubic B-splines of the inputs with many values.

    A linear model on these bends each input's effect (a generalised additive model, without
    interactions): blood glucose may matter little until it is high, age may rise and then
    fall. The input itself is kept, so the model still has its straight-line trend, and the
    splines stay constant outside the training range, so an unusual value at prediction time
    extends that trend instead of a cubic's swing. A column gets splines when it has at
    least ``2 * n_knots`` different values on the training rows (not one-hot or yes/no
    columns); its knots sit at quantiles of those rows, so every piece has data under it.

    Parameters
    ----------
    n_knots : int, default=5
        Knots per expanded column: ``n_knots + degree - 2`` spline columns each.
    degree : int, default=3
    """

    def __init__(self, n_knots: int = 5, degree: int = 3) -> None:
        self.n_knots = n_knots
        self.degree = degree

    def fit(self, X, y=None):
        from sklearn.preprocessing import SplineTransformer

        if isinstance(self.n_knots, bool) or not isinstance(self.n_knots, (int, np.integer)) \
                or self.n_knots < 3:
            raise ValueError(f"n_knots must be a whole number, 3 or more; got {self.n_knots!r}.")
        self.n_features_in_ = X.shape[1]
        source = X.tocsc() if hasattr(X, "tocsc") else X
        knots: dict[int, np.ndarray] = {}
        for j in range(X.shape[1]):
            values = _spline_column(source, j)
            values = values[np.isfinite(values)]
            if np.unique(values).size < 2 * self.n_knots:
                continue
            found = np.unique(np.quantile(values, np.linspace(0, 1, self.n_knots)))
            if found.size >= 3:
                knots[j] = found
        # One transformer per knot count, each over all its columns: one call per group at
        # prediction time, not one per column (a row through 50 bent inputs took 13 ms so).
        self.bent_ = sorted(knots)
        self.splines_ = []  # (input positions, fitted SplineTransformer over those columns)
        for count in sorted({k.size for k in knots.values()}):
            columns = [j for j in self.bent_ if knots[j].size == count]
            spline = SplineTransformer(knots=np.column_stack([knots[j] for j in columns]),
                                       degree=self.degree, extrapolation="constant",
                                       include_bias=False)
            data = np.column_stack([_spline_column(source, j) for j in columns])
            self.splines_.append((columns, spline.fit(np.nan_to_num(data))))
        return self

    def transform(self, X):
        check_is_fitted(self, "splines_")
        dtype = X.dtype if getattr(X, "dtype", None) == np.float32 else np.float64
        source = X.tocsc() if hasattr(X, "tocsc") and self.splines_ else X
        bases = [spline.transform(np.column_stack([_spline_column(source, j) for j in columns]))
                 .astype(dtype, copy=False) for columns, spline in self.splines_]
        if hasattr(X, "tocsr"):  # a sparse matrix stays sparse
            from scipy import sparse

            return sparse.hstack([X, *(sparse.csr_matrix(b) for b in bases)], format="csr")
        X = X.to_numpy() if hasattr(X, "to_numpy") else np.asarray(X)
        return np.hstack([X.astype(dtype, copy=False), *bases])

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "splines_")
        names = [str(c) for c in (input_features if input_features is not None else
                                  [f"x{i}" for i in range(self.n_features_in_)])]
        extra = [f"{names[j]}_spline{k}" for columns, spline in self.splines_ for j in columns
                 for k in range(spline.n_features_out_ // len(columns))]
        return np.asarray(names + extra, dtype=object)


def _spline_column(X, j: int) -> np.ndarray:
    """Column ``j`` of a dense matrix, a frame or a sparse column-major matrix, as floats."""
    if hasattr(X, "tocsc"):
        return np.asarray(X[:, j].toarray(), dtype=np.float64).ravel()
    if hasattr(X, "iloc"):
        return X.iloc[:, j].to_numpy(dtype=np.float64)
    return np.asarray(X[:, j], dtype=np.float64)


def _remember_columns(estimator, X):
    """Record the input columns (scikit-learn's fitted attributes) and return the estimator."""
    frame = _as_frame(X)
    estimator.n_features_in_ = frame.shape[1]
    estimator.feature_names_in_ = np.asarray(frame.columns, dtype=object)
    return estimator


def _as_frame(X) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    return pd.DataFrame(np.asarray(X, dtype=object))
