"""Would another model family earn its place? CatBoost's defaults against HistGradientBoosting's,
5-fold cross-validation on the training rows of the benchmark's seed-0 split, one thread.

tabwright does not ship CatBoost; this asks whether adding it (issue #18 names it) is worth its
cost: a 97 MB wheel, its own serving path and skops trust, train.py. Run it under the peer
virtualenv, which has CatBoost through ``autogluon.tabular[all]`` (bench/peers-venv.sh):

    OMP_NUM_THREADS=1 /work/bench-venv/bin/python bench/family_probe.py titanic pima churn

Both models see the same inputs: text columns with more distinct values than half the rows
are dropped (identifiers), the other text columns are categories (CatBoost's ordered target
statistics; for HistGradientBoosting native categories up to 255 levels, codes beyond).
Scores are out-of-fold over all five folds; seconds are the five fits and predictions.
docs/auto-mode.md ("Ideas not done") has a run's numbers.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.model_selection import KFold, StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _split  # noqa: E402


def inputs(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, list[str]]:
    X = frame.drop(columns=[target])
    text = [c for c in X if not pd.api.types.is_numeric_dtype(X[c]) or X[c].dtype == bool]
    X = X.drop(columns=[c for c in text if X[c].nunique() > 0.5 * len(X)])
    cats = [c for c in text if c in X]
    for c in cats:
        X[c] = X[c].astype(object).where(X[c].notna(), "NA").astype(str)
    return X, cats


def boosting(task: str, X: pd.DataFrame, cats: list[str]):
    Xh = X.copy()
    for c in cats:
        category = Xh[c].astype("category")
        Xh[c] = category if X[c].nunique() <= 255 else category.cat.codes.astype(float)
    cls = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    return cls(categorical_features="from_dtype", random_state=0), Xh


def catboost(task: str, X: pd.DataFrame, cats: list[str]):
    from catboost import CatBoostClassifier, CatBoostRegressor

    cls = CatBoostRegressor if task == "regression" else CatBoostClassifier
    return cls(thread_count=1, verbose=0, random_seed=0, cat_features=cats, iterations=500,
               allow_writing_files=False), X


def out_of_fold(make, task, X, y, cats):
    cv = (KFold(5, shuffle=True, random_state=1) if task == "regression"
          else StratifiedKFold(5, shuffle=True, random_state=1))
    oof, classes, started = None, None, time.perf_counter()
    for train_idx, valid_idx in cv.split(X, y):
        model, Xm = make(task, X, cats)
        model.fit(Xm.iloc[train_idx], y.iloc[train_idx])
        pred = (model.predict(Xm.iloc[valid_idx]) if task == "regression"
                else model.predict_proba(Xm.iloc[valid_idx]))
        if oof is None:
            oof = np.zeros((len(X),) + pred.shape[1:])
        oof[valid_idx] = pred
        classes = None if task == "regression" else np.asarray(model.classes_)
    seconds = time.perf_counter() - started
    if task == "binary":
        return _split.score(task, y, oof[:, 1], positive=classes[1]), seconds
    if task == "multiclass":
        return _split.score(task, y, classes[oof.argmax(axis=1)]), seconds
    return _split.score(task, y, oof), seconds


def main(names: list[str]) -> None:
    for entry in _split.tables("all", names or None):
        target, task = entry["target"], entry["task"]
        frame, train_idx, _ = _split.split(_split.read_csv(entry["path"]), target, task)
        frame = frame.iloc[train_idx]
        X, cats = inputs(frame, target)
        y = frame[target]
        line = f"{entry['name']:<18} {_split.PRIMARY[task]:<8}"
        for label, make in (("HGB", boosting), ("CatBoost", catboost)):
            value, seconds = out_of_fold(make, task, X, y, cats)
            line += f"  {label} {value:.4f} ({seconds:.1f} s)"
        print(line, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
