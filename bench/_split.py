"""The quality benchmark's protocol, shared by bench/quality.py (tabwright, in the app's venv)
and bench/peers.py (AutoGluon and FLAML, in the separate peer venv): which tables, how a table
is read, the seed-0 80/20 split, the dummy and the primary metric, and the two scikit-learn
references. Only pandas, numpy and scikit-learn here: peers.py must not import tabwright's core.

The split is cut on row positions after rows with a missing target are dropped, exactly as
``core.train`` cuts it (``train_test_split(np.arange(n), test_size=0.2, random_state=0,
stratify=y)``, stratified for classification), so every contender is tested on the same rows.
:func:`split_fingerprint` names the test rows; peers.json records it and quality.py checks it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, mean_squared_error, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

ROOT = Path(__file__).resolve().parents[1]
SUITES = {"public": ROOT.parent / "shared" / "datasets",
          "more": ROOT.parent / "shared" / "datasets-more"}
PRIMARY = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}
SEED, TEST_SIZE = 0, 0.2

# core.ingest's MISSING_MARKERS: cells read as missing. With these, pandas reads all 16 tables
# into the same frame as core.ingest.read_table: same dtypes, same values, same missing cells
# (None in text columns), same rows; bench/quality.py checks the split's fingerprint.
MISSING_MARKERS = ("", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "none",
                   "?", "-", "--", "#N/A")


def tables(suite: str = "all", names=None) -> list[dict]:
    """Manifest entries of the suite ('public', 'more' or 'all'), each with 'suite' and 'path'."""
    out = []
    for key, folder in SUITES.items():
        if suite not in ("all", key):
            continue
        for entry in json.loads((folder / "datasets.json").read_text())["datasets"]:
            if names and entry["name"] not in names:
                continue
            out.append({**entry, "suite": key, "path": folder / entry["file"]})
    return out


def read_csv(path) -> pd.DataFrame:
    """A benchmark CSV as plain pandas reads it, with tabwright's missing-value markers."""
    frame = pd.read_csv(path, na_values=list(MISSING_MARKERS), keep_default_na=False,
                        skipinitialspace=True, low_memory=False)
    frame.columns = [str(c).strip() for c in frame.columns]
    # core.ingest leaves None (not NaN) in text columns; SimpleImputer and OrdinalEncoder treat
    # the two differently (None is a category of its own), so the references need the same.
    for column in frame.columns[frame.dtypes == object]:
        values = frame[column]
        if values.isna().any():
            frame[column] = values.where(values.notna(), None)
    return frame


def split(frame: pd.DataFrame, target: str, task: str):
    """(frame without missing targets, train positions, test positions): the seed-0 80/20 split."""
    frame = frame[frame[target].notna()]
    stratify = frame[target] if task != "regression" else None
    train_idx, test_idx = train_test_split(np.arange(len(frame)), test_size=TEST_SIZE,
                                           random_state=SEED, stratify=stratify)
    return frame, train_idx, test_idx


def split_fingerprint(frame: pd.DataFrame, test_idx) -> str:
    """Short digest of the test rows' labels, in order: equal digests, equal splits."""
    labels = np.asarray(frame.index[test_idx], dtype=np.int64)
    return hashlib.sha256(labels.tobytes()).hexdigest()[:16]


def dummy_score(task, y_train, y_test) -> float:
    if task == "binary":
        return 0.5
    if task == "multiclass":
        return float((y_test == y_train.mode().iloc[0]).mean())
    return float(np.sqrt(np.mean((y_test - y_train.mean()) ** 2)))


def score(task, y_true, prediction, positive=None) -> float:
    """The primary metric: ``prediction`` is P(``positive``) for binary, else predicted values."""
    if task == "binary":
        return float(roc_auc_score(np.asarray(y_true) == positive, prediction))
    if task == "multiclass":
        return float(accuracy_score(y_true, prediction))
    return float(np.sqrt(mean_squared_error(y_true, prediction)))


def model_score(task, y_true, model, X) -> float:
    """The primary metric of a fitted scikit-learn-style model on ``X``."""
    if task == "binary":
        return score(task, y_true, model.predict_proba(X)[:, 1], model.classes_[1])
    return score(task, y_true, model.predict(X))


def greater_is_better(task) -> bool:
    return task != "regression"


def reference_models(task, X):
    """scikit-learn's HistGradientBoosting with defaults and a linear pipeline, unfitted."""
    numeric = [c for c in X if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])]
    other = [c for c in X if c not in numeric]
    linear_prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), other)])
    tree_prep = ColumnTransformer([
        ("num", "passthrough", numeric),
        ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                               encoded_missing_value=-1), other)])
    if task == "regression":
        return {"linear": make_pipeline(linear_prep, Ridge()),
                "HGB defaults": make_pipeline(tree_prep, HistGradientBoostingRegressor(random_state=0))}
    return {"linear": make_pipeline(linear_prep, LogisticRegression(max_iter=2000)),
            "HGB defaults": make_pipeline(tree_prep, HistGradientBoostingClassifier(random_state=0))}

