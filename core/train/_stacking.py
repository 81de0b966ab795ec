"""Stacking: a linear meta-model learns how to combine models from their out-of-fold predictions.

Where the averaging ensemble gives each model a fixed share of the vote, a stacked model
learns the shares (and for classes, how far to trust each model's probabilities) with a
logistic regression, or for numbers a ridge regression with non-negative weights.

No leakage, in three places:

- **Training the meta-model.** It never sees a prediction a model made on its own training
  rows: its inputs are the *out-of-fold* predictions the cross-validation made anyway
  (each row predicted by the fold model that did not train on it), so stacking costs no
  extra fits of the models (AutoGluon's stacker reads its base models' out-of-fold
  predictions the same way, ``load_oof``).
- **Scoring the meta-model.** Its cross-validation score is cross-fitted on the same folds:
  the meta-model that predicts fold *g*'s rows is fitted only on the other folds' rows
  (:func:`cross_fitted`), and fold *g*'s inputs come from models that never saw fold *g*.
  What is left is second order: the other folds' inputs came from models that did see fold
  *g* while the meta-model learnt from them, which a linear model with a handful of weights
  cannot exploit. Fully nested cross-validation would refit every model k more times.
  Time-ordered validation is refused (:class:`core.recipe.Stacking`): there the other folds
  include the future.
- **The exported model.** The models are refitted on all training rows, as for averaging,
  and the meta-model is fitted on every row's out-of-fold predictions
  (:meth:`StackedClassifier.fit_out_of_fold`), not on predictions of the refitted models on
  their own rows (AutoGluon's ``refit_full`` does the same).

The exported models are scikit-learn's :class:`~sklearn.ensemble.StackingClassifier` and
:class:`~sklearn.ensemble.StackingRegressor` with that one extra method: cloned and fitted
from scratch (a learning curve, the generated ``train.py``), they compute out-of-fold
predictions themselves with ``cv`` folds, as scikit-learn does.

``passthrough`` (off by default) also hands the meta-model the prepared inputs: the linear
models' preparation, fitted on the meta-model's rows.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import StackingClassifier, StackingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import Bunch

META_FOLDS = 10
"""At most this many meta-model fits score a stack: leave-one-out's one-row folds are
gathered into this many groups (:func:`meta_fold_ids`)."""


class _FitOutOfFold:
    """What both stacked models add to scikit-learn's: fitting from out-of-fold predictions
    that were made elsewhere (the cross-validation's), instead of making them again."""

    def _fit_parts(self, X: Any, y: np.ndarray, predictions: list[np.ndarray], X_meta: Any,
                   y_meta: np.ndarray) -> Any:
        names, estimators = self._validate_estimators()
        if len(predictions) != len(estimators) or any(len(p) != len(y_meta) for p in predictions):
            raise ValueError(f"need one array of {len(y_meta)} out-of-fold predictions per "
                             f"model ({len(estimators)}), got {[len(p) for p in predictions]}")
        self._validate_final_estimator()
        self.estimators_ = [clone(estimator).fit(X, y) for estimator in estimators]
        self.named_estimators_ = Bunch(**dict(zip(names, self.estimators_)))
        if hasattr(self.estimators_[-1], "feature_names_in_"):
            self.feature_names_in_ = self.estimators_[-1].feature_names_in_
        self.stack_method_ = [self._method_name(name, estimator, self.stack_method)
                              for name, estimator in zip(names, estimators)]
        meta = self._concatenate_predictions(X_meta, [np.asarray(p) for p in predictions])
        self.final_estimator_.fit(meta, y_meta)
        return self

    def _concatenate_predictions(self, X: Any, predictions: list[np.ndarray]) -> np.ndarray:
        # The inputs handed through are selected by position (see positional): take the
        # training columns, in their order, from a frame that has more or reorders them.
        names = getattr(self, "feature_names_in_", None)
        if self.passthrough and isinstance(X, pd.DataFrame) and names is not None:
            X = X[list(names)]
        return super()._concatenate_predictions(X, predictions)


class StackedClassifier(_FitOutOfFold, StackingClassifier):
    """A :class:`~sklearn.ensemble.StackingClassifier` whose meta-model can learn from
    out-of-fold predictions computed elsewhere (:meth:`fit_out_of_fold`)."""

    def fit_out_of_fold(self, X: Any, y: Any, predictions: list[np.ndarray], X_meta: Any,
                        y_meta: Any) -> "StackedClassifier":
        """Fit the models on ``(X, y)`` and the meta-model on their out-of-fold predictions.

        Parameters
        ----------
        X, y
            The rows the models are fitted on (all training rows).
        predictions : list of ndarray
            For each model, in order, its out-of-fold class probabilities for the rows of
            ``X_meta``, columns in sorted class order.
        X_meta, y_meta
            The rows the predictions are for (their features matter with ``passthrough``).

        Returns
        -------
        StackedClassifier
            Fitted; ``predict`` and ``predict_proba`` are scikit-learn's.
        """
        self._label_encoder = LabelEncoder().fit(y)
        self.classes_ = self._label_encoder.classes_
        return self._fit_parts(X, self._label_encoder.transform(y), predictions, X_meta,
                               self._label_encoder.transform(y_meta))


class StackedRegressor(_FitOutOfFold, StackingRegressor):
    """A :class:`~sklearn.ensemble.StackingRegressor` whose meta-model can learn from
    out-of-fold predictions computed elsewhere (:meth:`fit_out_of_fold`)."""

    def fit_out_of_fold(self, X: Any, y: Any, predictions: list[np.ndarray], X_meta: Any,
                        y_meta: Any) -> "StackedRegressor":
        """As :meth:`StackedClassifier.fit_out_of_fold`, with predicted numbers."""
        return self._fit_parts(X, np.asarray(y, dtype=float), predictions, X_meta,
                               np.asarray(y_meta, dtype=float))


def meta_model(task: str, *, seed: int, class_weight: str = "none",
               passthrough: ColumnTransformer | None = None) -> Any:
    """The unfitted meta-model: regularised logistic regression for classes, ridge regression
    with non-negative weights for numbers (a model never counts against the target).

    With ``passthrough`` (the inputs' preparation, from :func:`positional`) it is a pipeline
    that prepares the inputs handed through and keeps the models' predictions as they are.
    """
    if task == "regression":
        model: Any = Ridge(alpha=1.0, positive=True)
    else:
        model = LogisticRegression(C=1.0, max_iter=1000, random_state=seed,
                                   class_weight=None if class_weight == "none" else class_weight)
    if passthrough is None:
        return model
    return Pipeline([("inputs", passthrough), ("model", model)])


def positional(prep: ColumnTransformer, features: list[str]) -> ColumnTransformer:
    """``prep`` selecting its columns by position from the end, where scikit-learn's stacking
    puts the inputs it hands through (after the predictions, which pass unchanged)."""
    at = {column: i - len(features) for i, column in enumerate(features)}
    return ColumnTransformer([(name, branch, [at[c] for c in columns])
                              for name, branch, columns in prep.transformers],
                             remainder="passthrough")


def stacked_model(estimators: list[tuple[str, Any]], task: str, *, folds: int, seed: int,
                  class_weight: str = "none", passthrough: ColumnTransformer | None = None) -> Any:
    """The unfitted stacked model over ``estimators`` (name, pipeline), with :func:`meta_model`.

    ``folds`` is how many folds it makes for itself when fitted from scratch (``fit``), not
    through :meth:`StackedClassifier.fit_out_of_fold`.
    """
    final = meta_model(task, seed=seed, class_weight=class_weight, passthrough=passthrough)
    if task == "regression":
        return StackedRegressor(estimators, final_estimator=final, cv=folds,
                                passthrough=passthrough is not None)
    return StackedClassifier(estimators, final_estimator=final, cv=folds,
                             stack_method="predict_proba", passthrough=passthrough is not None)


def fit_from_out_of_fold(model: Any, X: pd.DataFrame, y: pd.Series,
                         predictions: list[np.ndarray], X_meta: pd.DataFrame,
                         y_meta: pd.Series) -> Any:
    """Fit the stacked model inside ``model`` (``Pipeline([("model", stack)])``, maybe in a
    ``FixedThresholdClassifier``) with :meth:`StackedClassifier.fit_out_of_fold`.

    ``FixedThresholdClassifier.fit`` would clone its estimator and fit it from scratch, so
    the wrapper gets what its ``fit`` sets (``estimator_`` and the input names) from the
    stack fitted here.
    """
    inner = model.estimator if isinstance(model, FixedThresholdClassifier) else model
    inner.steps[-1][1].fit_out_of_fold(X, y, predictions, X_meta, y_meta)
    if isinstance(model, FixedThresholdClassifier):
        model.estimator_ = inner
        model.n_features_in_ = inner.n_features_in_
        if hasattr(inner, "feature_names_in_"):
            model.feature_names_in_ = inner.feature_names_in_
    return model


def refit_members(model: Any, X: pd.DataFrame, y: pd.Series) -> Any:
    """A copy of a fitted stacked ``model`` whose models are refitted on ``(X, y)`` and whose
    meta-model is kept (AutoGluon's ``refit_full``): the meta-model learnt how far to trust
    each model from out-of-fold predictions, which more rows for the models do not change in
    kind, and refitting it would cost every model ``cv`` more fits."""
    model = copy.deepcopy(model)
    inner = model.estimator_ if isinstance(model, FixedThresholdClassifier) else model
    stack = inner.steps[-1][1]
    target = (stack._label_encoder.transform(y) if hasattr(stack, "_label_encoder")
              else np.asarray(y, dtype=float))
    names, estimators = stack._validate_estimators()
    stack.estimators_ = [clone(estimator).fit(X, target) for estimator in estimators]
    stack.named_estimators_ = Bunch(**dict(zip(names, stack.estimators_)))
    return model


def meta_fold_ids(folds: list[tuple[np.ndarray, np.ndarray]], n_rows: int,
                  rows: np.ndarray) -> np.ndarray:
    """For each of ``rows``, which meta-model predicts it when a stack is cross-fitted.

    A row belongs to the last validation fold that holds it: the fold whose model made the
    out-of-fold prediction it carries (with repeated cross-validation, that prediction is the
    mean of every repeat's, and the fold is the last repeat's: any partition of the rows would do).
    More than :data:`META_FOLDS` folds (leave-one-out) are gathered into that many groups
    of neighbouring folds.

    Examples
    --------
    >>> import numpy as np
    >>> folds = [(np.array([2, 3]), np.array([0, 1])), (np.array([0, 1]), np.array([2, 3]))]
    >>> meta_fold_ids(folds, 4, np.arange(4)).tolist()
    [0, 0, 1, 1]
    """
    last = np.full(n_rows, -1)
    for i, (_, valid) in enumerate(folds):
        last[valid] = i
    ids = np.unique(last[rows], return_inverse=True)[1].ravel()
    n = int(ids.max()) + 1 if len(ids) else 0
    return ids * META_FOLDS // n if n > META_FOLDS else ids


def stack_inputs(predictions: list[np.ndarray], task: str, X: pd.DataFrame | None = None) -> np.ndarray:
    """The meta-model's input, as scikit-learn's stacking builds it: each model's predictions
    side by side (for two classes only the second class's probability: the first is one
    minus it), then the inputs when they are handed through."""
    parts = [p.reshape(-1, 1) if p.ndim == 1 else p[:, 1:] if task == "binary" else p
             for p in predictions]
    return np.hstack(parts if X is None else parts + [X])


def cross_fitted(final: Any, predictions: list[np.ndarray], y: np.ndarray, fold_ids: np.ndarray,
                 task: str, *, classes: np.ndarray | None = None,
                 X: pd.DataFrame | None = None) -> np.ndarray:
    """The meta-model's own out-of-fold predictions: each fold id's rows predicted by a copy
    of ``final`` fitted on the other ids' rows only.

    Returns
    -------
    ndarray
        Predicted numbers (regression), or a (rows × ``classes``) probability matrix; a class
        absent from a fit's rows gets probability 0 there.
    """
    inputs = stack_inputs(predictions, task, X)
    if task == "regression":
        out = np.full(len(y), np.nan)
    else:
        out = np.zeros((len(y), len(classes)))
    for fold in np.unique(fold_ids):
        held = fold_ids == fold
        model = clone(final).fit(inputs[~held], y[~held])
        if task == "regression":
            out[held] = model.predict(inputs[held])
        else:
            columns = np.searchsorted(classes, model.classes_)
            out[np.ix_(np.flatnonzero(held), columns)] = model.predict_proba(inputs[held])
    return out
