"""tabwright's own estimators: CatBoost behind scikit-learn's estimator contract, fold
bagging, and histogram boosting whose early stopping copes with a class of one row.

CatBoost's own classes do not inherit scikit-learn's ``BaseEstimator`` (so scikit-learn cannot
read their tags), and pickling them keeps CatBoost types inside the file. These two wrappers fit
a CatBoost model on the pipeline's prepared numbers and keep the fitted model as CatBoost's own
binary format (``cbm``) in their state, so an exported model holds only these classes, numpy
arrays and bytes: skops loads it when ``core.estimators`` is trusted, as ``core.transformers``
is. CatBoost is imported only when a model is fitted or loaded.

Why CatBoost at all: on small tables its symmetric (oblivious) trees and ordered boosting
overfit less than scikit-learn's histogram boosting (``bench/family_probe.py``, and
docs/auto-mode.md for the paired auto-mode runs).

:class:`FoldBagClassifier` and :class:`FoldBagRegressor` fit one copy of a pipeline on each
cross-validation fold's training rows and average the copies' predictions (AutoGluon's bagged
models). On a few hundred rows one refit on every row leans on the chance of those rows;
the average of five models, each missing a different fifth, leans on it less.

:class:`RareClassBoostingClassifier` is scikit-learn's ``HistGradientBoostingClassifier`` but
for the rows it holds out to stop early: a class seen once stays in the training part, where
scikit-learn's stratified hold-out fails. Training uses it only when a class has at most two
rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted


class _CatBoost(BaseEstimator):
    """Shared parameters and state of :class:`CatBoostClassifier` / :class:`CatBoostRegressor`.

    Parameters
    ----------
    iterations : int
        Boosting rounds (trees).
    learning_rate : float or None
        None lets CatBoost choose it from the rows and rounds.
    depth : int
        Depth of each symmetric tree (2**depth leaves).
    l2_leaf_reg : float
        L2 penalty on leaf values.
    random_strength : float
        Noise added to split scores, a regulariser.
    random_state : int
    thread_count : int
    cat_features : list of int, optional
        Input positions holding category codes (the pipeline's native categories): CatBoost
        encodes them itself with ordered target statistics instead of splitting on the codes.
    one_hot_max_size : int or None
        Categories with at most this many levels are one-hot encoded instead (None: CatBoost's
        default).
    max_ctr_complexity : int or None
        Most categories combined into one target statistic (None: CatBoost's default).
    """

    def __init__(self, iterations: int = 500, learning_rate: float | None = None,
                 depth: int = 6, l2_leaf_reg: float = 3.0, random_strength: float = 1.0,
                 random_state: int = 0, thread_count: int = 1,
                 cat_features: list[int] | None = None, one_hot_max_size: int | None = None,
                 max_ctr_complexity: int | None = None) -> None:
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.depth = depth
        self.l2_leaf_reg = l2_leaf_reg
        self.random_strength = random_strength
        self.random_state = random_state
        self.thread_count = thread_count
        self.cat_features = cat_features
        self.one_hot_max_size = one_hot_max_size
        self.max_ctr_complexity = max_ctr_complexity

    def _options(self) -> dict[str, Any]:
        options = dict(iterations=int(self.iterations), depth=int(self.depth),
                       l2_leaf_reg=float(self.l2_leaf_reg),
                       random_strength=float(self.random_strength),
                       random_seed=int(self.random_state), thread_count=max(1, int(self.thread_count)),
                       verbose=False, allow_writing_files=False)
        for name in ("learning_rate", "one_hot_max_size", "max_ctr_complexity"):
            if getattr(self, name) is not None:
                options[name] = getattr(self, name)
        return options

    def _fit(self, model: Any, X, y, sample_weight) -> None:
        X = self._inputs(X)
        self.n_features_in_ = X.shape[1]
        model.fit(X, y, sample_weight=sample_weight, cat_features=list(self.cat_features or []))
        self.booster_ = model

    def _inputs(self, X):
        """``X`` as CatBoost takes it: 32-bit numbers, category codes as whole numbers."""
        values = _numbers(X)
        if not self.cat_features:
            return values
        frame = pd.DataFrame(values)
        for i in self.cat_features:
            frame[i] = np.nan_to_num(values[:, i], nan=-1.0).astype("int64")
        return frame

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        booster = state.pop("booster_", None)
        if booster is not None:
            state["booster_cbm_"] = bytes(booster._serialize_model())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        blob = state.pop("booster_cbm_", None)
        self.__dict__.update(state)
        if blob is not None:
            self.booster_ = self._booster_class()()
            self.booster_.load_model(blob=blob)

    def _raw(self, X):
        check_is_fitted(self, "booster_")
        return self._inputs(X)


class CatBoostClassifier(ClassifierMixin, _CatBoost):
    """CatBoost classification on prepared numbers; see :class:`_CatBoost` for parameters.

    ``class_weight="balanced"`` weighs classes inversely to their frequency.
    """

    def __init__(self, iterations: int = 500, learning_rate: float | None = None,
                 depth: int = 6, l2_leaf_reg: float = 3.0, random_strength: float = 1.0,
                 random_state: int = 0, thread_count: int = 1,
                 cat_features: list[int] | None = None, one_hot_max_size: int | None = None,
                 max_ctr_complexity: int | None = None, class_weight: str | None = None) -> None:
        super().__init__(iterations=iterations, learning_rate=learning_rate, depth=depth,
                         l2_leaf_reg=l2_leaf_reg, random_strength=random_strength,
                         random_state=random_state, thread_count=thread_count,
                         cat_features=cat_features, one_hot_max_size=one_hot_max_size,
                         max_ctr_complexity=max_ctr_complexity)
        self.class_weight = class_weight

    @staticmethod
    def _booster_class():
        from catboost import CatBoostClassifier as Booster
        return Booster

    def fit(self, X, y, sample_weight=None):
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        options = self._options()
        if len(self.classes_) > 2:
            options["loss_function"] = "MultiClass"
        if self.class_weight == "balanced":
            options["auto_class_weights"] = "Balanced"
        self._fit(self._booster_class()(**options), X, codes, sample_weight)
        return self

    def predict_proba(self, X) -> np.ndarray:
        return self.booster_.predict_proba(self._raw(X))

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class CatBoostRegressor(RegressorMixin, _CatBoost):
    """CatBoost regression (squared error) on prepared numbers; see :class:`_CatBoost`."""

    @staticmethod
    def _booster_class():
        from catboost import CatBoostRegressor as Booster
        return Booster

    def fit(self, X, y, sample_weight=None):
        self._fit(self._booster_class()(**self._options()), X,
                  np.asarray(y, dtype="float64"), sample_weight)
        return self

    def predict(self, X) -> np.ndarray:
        return np.asarray(self.booster_.predict(self._raw(X)), dtype="float64")


def _numbers(X) -> np.ndarray:
    values = X.to_numpy() if hasattr(X, "to_numpy") else X
    if hasattr(values, "toarray"):
        values = values.toarray()
    return np.asarray(values, dtype="float32")


BAG_FOLDS = 5
"""The folds tabwright bags over: a bag averages this many copies, each fitted without a
different fifth of the rows (the bags' own default, written out for train.py to copy)."""


class _FoldBag(BaseEstimator):
    """``estimator`` fitted once per fold of a shuffled ``folds``-fold split (stratified for a
    classifier), each copy on that fold's training rows; predictions are the copies' mean.

    The split depends only on ``seed`` and the rows, so refitting gives the same copies.
    """

    def __init__(self, estimator: Any = None, folds: int = 5, seed: int = 0) -> None:
        self.estimator = estimator
        self.folds = folds
        self.seed = seed

    def _folds(self, n_rows: int) -> int:
        return int(max(2, min(self.folds, n_rows)))

    def _fit_copies(self, X, y, splitter) -> None:
        rows = np.arange(len(y))
        parts = [train for train, _ in splitter.split(rows, y)]
        labels = np.asarray(y)
        self.estimators_ = []
        for train in parts:
            if hasattr(self, "classes_"):  # every copy learns every class, so columns align
                missing = np.setdiff1d(self.classes_, labels[train])
                if len(missing):
                    train = np.sort(np.concatenate([train, rows[np.isin(labels, missing)]]))
            X_part = X.iloc[train] if hasattr(X, "iloc") else X[train]
            y_part = y.iloc[train] if hasattr(y, "iloc") else labels[train]
            self.estimators_.append(clone(self.estimator).fit(X_part, y_part))
        names = getattr(self.estimators_[0], "feature_names_in_", None)
        if names is not None:
            self.feature_names_in_ = names
        self.n_features_in_ = X.shape[1]


class FoldBagClassifier(ClassifierMixin, _FoldBag):
    """Fold bagging for classification: the copies' mean probabilities (see :class:`_FoldBag`)."""

    def fit(self, X, y):
        self.classes_, counts = np.unique(np.asarray(y), return_counts=True)
        folds = self._folds(len(y))
        # Stratified while every class fills the folds; else plain folds, and a copy that
        # misses a class is given that class's rows (see _fit_copies).
        plain = KFold(folds, shuffle=True, random_state=self.seed)
        splitter = (StratifiedKFold(folds, shuffle=True, random_state=self.seed)
                    if counts.min() >= folds else plain)
        self._fit_copies(X, y, splitter)
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        return np.average(np.asarray([e.predict_proba(X) for e in self.estimators_]), axis=0)

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class FoldBagRegressor(RegressorMixin, _FoldBag):
    """Fold bagging for regression: the copies' mean prediction (see :class:`_FoldBag`)."""

    def fit(self, X, y):
        self._fit_copies(X, y, KFold(self._folds(len(y)), shuffle=True, random_state=self.seed))
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        return np.average(np.asarray([e.predict(X) for e in self.estimators_]), axis=0)


class RareClassBoostingClassifier(HistGradientBoostingClassifier):
    """scikit-learn's histogram boosting, whose early stopping copes with a class of one row.

    To decide when to stop, scikit-learn holds out a tenth of the rows stratified by class, and
    a stratified split needs two rows of every class: a cross-validation fold whose training
    part holds a single row of some class made every boosting fit fail. Here the rows of such
    classes stay in the training part and the others are split as scikit-learn splits them;
    with two rows of every class the fit is scikit-learn's own.
    """

    def fit(self, X, y, sample_weight=None, **fit_params):
        labels = np.asarray(y)
        values, counts = np.unique(labels, return_counts=True)
        stops = self.early_stopping is True or (self.early_stopping == "auto"
                                                and len(labels) > 10_000)
        if not stops or counts.min() >= 2 or fit_params.get("X_val") is not None:
            return super().fit(X, y, sample_weight, **fit_params)
        rows = np.arange(len(labels))
        alone = np.isin(labels, values[counts < 2])
        rest = rows[~alone]
        try:
            train, valid = train_test_split(rest, test_size=self.validation_fraction,
                                            stratify=labels[rest], random_state=self.random_state)
        except ValueError:  # fewer held-out rows than classes: a plain split of the same size
            train, valid = train_test_split(rest, test_size=self.validation_fraction,
                                            random_state=self.random_state)
        unseen = ~np.isin(labels[valid], labels[train])
        train = np.sort(np.concatenate([train, valid[unseen], rows[alone]]))
        valid = np.sort(valid[~unseen])
        if not valid.size:  # nothing left to stop on: every round is fitted, as without stopping
            stopping = self.early_stopping
            try:
                self.early_stopping = False
                return super().fit(X, y, sample_weight, **fit_params)
            finally:
                self.early_stopping = stopping
        weight = None if sample_weight is None else np.asarray(sample_weight)
        return super().fit(_safe_indexing(X, train), labels[train],
                           None if weight is None else weight[train],
                           X_val=_safe_indexing(X, valid), y_val=labels[valid],
                           sample_weight_val=None if weight is None else weight[valid])


FOLD_BAGS = (FoldBagClassifier, FoldBagRegressor)
"""The fold bags, for ``isinstance`` checks (explanations, reports, the fast path)."""

CATBOOSTS = (CatBoostClassifier, CatBoostRegressor)
