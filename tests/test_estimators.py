"""Tests for core.estimators: CatBoost behind scikit-learn's contract, saved without its types."""

from __future__ import annotations

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.model_selection import cross_val_predict

from core.estimators import CatBoostClassifier, CatBoostRegressor


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    X[:, 3] = rng.integers(0, 5, size=n)  # category codes
    X[rng.random(n) < 0.1, 1] = np.nan
    signal = X[:, 0] + np.where(X[:, 3] == 2, 1.5, 0.0)
    return X, signal


def test_a_classifier_fits_labels_of_any_kind_and_keeps_their_order():
    X, signal = _data()
    y = np.where(signal > 0.3, "yes", "no")
    model = CatBoostClassifier(iterations=60, cat_features=[3]).fit(X, y)
    assert is_classifier(model) and list(model.classes_) == ["no", "yes"]
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(model.predict(X)) <= {"no", "yes"}
    assert (model.predict(X) == y).mean() > 0.8


def test_three_classes_and_a_regression():
    X, signal = _data()
    y = np.digitize(signal, [-0.5, 0.5])
    model = CatBoostClassifier(iterations=60).fit(X, y)
    assert model.predict_proba(X).shape == (len(X), 3)
    regressor = CatBoostRegressor(iterations=100, cat_features=[3]).fit(X, signal)
    assert is_regressor(regressor)
    assert np.corrcoef(regressor.predict(X), signal)[0, 1] > 0.9


def test_the_same_seed_gives_the_same_model_and_clone_keeps_the_settings():
    X, signal = _data()
    y = (signal > 0).astype(int)
    first = CatBoostClassifier(iterations=50, depth=4, random_state=3).fit(X, y)
    again = clone(first).fit(X, y)
    assert again.get_params() == first.get_params()
    assert np.array_equal(first.predict_proba(X), again.predict_proba(X))


def test_categories_are_encoded_by_catboost_not_split_on_as_numbers():
    X, signal = _data(400)
    y = (signal > 0.5).astype(int)
    as_codes = CatBoostClassifier(iterations=80).fit(X, y).predict_proba(X)
    as_categories = CatBoostClassifier(iterations=80, cat_features=[3]).fit(X, y).predict_proba(X)
    assert not np.allclose(as_codes, as_categories)


def test_balanced_class_weight_raises_the_rare_class():
    X, signal = _data(400)
    y = (signal > 1.4).astype(int)
    plain = CatBoostClassifier(iterations=60).fit(X, y).predict_proba(X)[:, 1].mean()
    balanced = CatBoostClassifier(iterations=60, class_weight="balanced").fit(X, y)
    assert balanced.predict_proba(X)[:, 1].mean() > plain


@pytest.mark.parametrize("dump, load", [
    (pickle.dumps, pickle.loads),
    (lambda m: sio.dumps(m), lambda b: sio.loads(b, trusted=sio.get_untrusted_types(data=b))),
])
def test_a_saved_model_predicts_the_same_and_holds_no_catboost_object(dump, load):
    X, signal = _data()
    model = CatBoostRegressor(iterations=40, cat_features=[3]).fit(X, signal)
    blob = dump(model)
    assert b"catboost.core" not in blob
    restored = load(blob)
    assert np.array_equal(restored.predict(X), model.predict(X))


def test_skops_needs_only_the_wrapper_trusted():
    X, signal = _data()
    blob = sio.dumps(CatBoostClassifier(iterations=20).fit(X, signal > 0))
    untrusted = sio.get_untrusted_types(data=blob)
    assert [t for t in untrusted if "catboost" in t.lower()] == ["core.estimators.CatBoostClassifier"]


def test_it_works_inside_scikit_learn_tools(tmp_path):
    X, signal = _data()
    frame = pd.DataFrame(X, columns=list("abcd"))
    proba = cross_val_predict(CatBoostClassifier(iterations=30), frame, signal > 0, cv=3,
                              method="predict_proba")
    assert proba.shape == (len(X), 2)
    path = tmp_path / "model.joblib"
    joblib.dump(CatBoostClassifier(iterations=30).fit(frame, signal > 0), path)
    assert joblib.load(path).predict(frame.head(3)).shape == (3,)
