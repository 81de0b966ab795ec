"""Bagging, model by model: is the mean of five fold models better than one refit on the same
training rows? Each auto-mode portfolio configuration, on split seeds the benchmark never uses,
scored on the held-out rows. docs/auto-mode.md ("Tried and not adopted") has a run's numbers.

    OMP_NUM_THREADS=1 python bench/bag_probe.py titanic,pima 1,2,3 > runs.jsonl
    python bench/bag_probe.py --summary runs.jsonl

Each line of the output is one configuration on one split: the primary metric of the refit,
the bag, their mean (``both``) and the refit weighted as one sixth (``bagfull``). The summary
counts wins and averages the gain (metric points; relative for RMSE), by table and by
configuration.
"""

from __future__ import annotations

import collections
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _split  # noqa: E402
from core import catalogue  # noqa: E402
from core.ingest import infer_roles, read_table  # noqa: E402
from core.prepare._pipeline import build_pipeline, plan_features  # noqa: E402
from core.recipe import Recipe  # noqa: E402


def score(task, y, pred, classes):
    if task == "binary":
        return _split.score(task, y, pred[:, 1], positive=classes[1])
    if task == "multiclass":
        return _split.score(task, y, classes[pred.argmax(axis=1)])
    return _split.score(task, y, pred)


def predict(m, X, task):
    return m.predict(X) if task == "regression" else m.predict_proba(X)


def probe(names, seeds):
    for entry in _split.tables("all", names):
        target, task = entry["target"], entry["task"]
        full = read_table(entry["path"]).frame
        full = full[full[target].notna()].reset_index(drop=True)
        roles = {c.name: c.role for c in infer_roles(full.drop(columns=[target]))}
        for seed in seeds:
            strat = full[target] if task != "regression" else None
            tr, te = train_test_split(np.arange(len(full)), test_size=0.2, random_state=seed,
                                      stratify=strat)
            train, test = full.iloc[tr].reset_index(drop=True), full.iloc[te]
            recipe = Recipe(target=target, task=task, seed=0)
            plan = plan_features(train, recipe, roles)
            X, y = train.drop(columns=[target]), train[target]
            Xt, yt = test.drop(columns=[target]), test[target]
            portfolio = catalogue.auto_portfolio(task, n_rows=len(train), n_features=len(plan.roles))
            for i, (model, params) in enumerate(portfolio):
                if model == "dummy":
                    continue
                pipe = build_pipeline(plan, recipe, model, params, task=task)
                started = time.time()
                refit = clone(pipe).fit(X, y)
                p_refit = predict(refit, Xt, task)
                cv = (KFold(5, shuffle=True, random_state=0) if task == "regression"
                      else StratifiedKFold(5, shuffle=True, random_state=0))
                p_bag = np.mean([predict(clone(pipe).fit(X.iloc[a], y.iloc[a]), Xt, task)
                                 for a, _ in cv.split(X, y)], axis=0)
                classes = None if task == "regression" else np.asarray(refit.classes_)
                print(json.dumps(dict(
                    table=entry["name"], seed=seed, config=f"{i}:{model}", task=task,
                    refit=score(task, yt, p_refit, classes), bag=score(task, yt, p_bag, classes),
                    both=score(task, yt, (p_refit + p_bag) / 2, classes),
                    bagfull=score(task, yt, (p_refit + 5 * p_bag) / 6, classes),
                    secs=time.time() - started)), flush=True)


def gain(row, key):
    d = row[key] - row["refit"]
    return -d / row["refit"] if row["task"] == "regression" else d


def summary(paths):
    rows = [json.loads(line) for path in paths for line in open(path)]
    for key in ("bag", "both", "bagfull"):
        by_table, by_config = collections.defaultdict(list), collections.defaultdict(list)
        for r in rows:
            by_table[r["table"]].append(gain(r, key))
            by_config[r["config"]].append(gain(r, key))
        gains = [gain(r, key) for r in rows]
        better, worse = sum(g > 1e-12 for g in gains), sum(g < -1e-12 for g in gains)
        print(f"== {key} vs refit: better {better} worse {worse} of {len(gains)}, "
              f"mean {sum(gains) / len(gains):+.4f}")
        print("  by table: " + ", ".join(f"{t} {np.mean(v):+.4f}" for t, v in by_table.items()))
        print("  by config: " + ", ".join(f"{c} {np.mean(v):+.4f}" for c, v in sorted(by_config.items())))


if __name__ == "__main__":
    if sys.argv[1] == "--summary":
        summary(sys.argv[2:])
    else:
        probe(sys.argv[1].split(","), [int(s) for s in sys.argv[2].split(",")])
