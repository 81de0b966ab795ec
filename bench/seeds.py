"""Auto mode on other split seeds than the benchmark's, to compare two versions without tuning
to seed 0.

The quality benchmark (bench/quality.py) scores one 80/20 split per table, and on tables of a
few hundred rows one ROC-AUC point is within the spread between splits. Before keeping a
change to auto mode, run this on the old and the new version (e.g. in two worktrees, side by
side so both see the same machine load), on seeds the benchmark never uses, then compare:

    python bench/seeds.py --budget 30 --seeds 1 2 3 --json before.json      # old version
    python bench/seeds.py --budget 30 --seeds 1 2 3 --json after.json       # new version
    python bench/seeds.py --compare before.json after.json

Each run trains on the training rows only and its delivered model predicts the held-out rows
(as ``tabwright train`` then ``predict``). The comparison counts runs where the new version is
better, worse or equal, and gives its mean gain as a share of the dummy-to-model gap, per
table and overall; and how much the chosen model's cross-validation score promised beyond
its held-out score, in each version (runs written before the ``cv`` field are left out).
docs/auto-mode.md ("Tried and not adopted") has such comparisons.

Hard multiclass problems are rare among the benchmark tables (soybean and fishing are nearly
solved), so ``--binned K`` turns the five regression tables into K-class problems, the target
cut at its quantiles: real inputs, overlapping neighbouring classes, accuracy around a half.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _split  # noqa: E402
from core.ingest import infer_roles, read_table  # noqa: E402
from core.recipe import Recipe  # noqa: E402
from core.train import train  # noqa: E402

SMALL = ("titanic", "german_credit", "soybean", "life_expectancy", "biopsy", "pima",
         "participation", "housing", "fishing", "wages")
"""The tables under 3,000 training rows, where a split's luck matters most (the default)."""


REGRESSION = ("california_housing", "life_expectancy", "housing", "wages", "doctor_contacts")
"""The regression tables: with ``--binned K`` their targets become K quantile classes."""


def binned(frame, target: str, k: int):
    """The target cut into ``k`` classes of about equal size (fewer where values repeat):
    hard multiclass problems on real inputs, where neighbouring classes overlap."""
    codes = pd.qcut(frame[target], k, labels=False, duplicates="drop")
    return frame.assign(**{target: "q" + (codes + 1).astype(str)})


def run(names, seeds, budget, out, bins=None):
    rows = []
    for entry in _split.tables("all", names):
        target, task = entry["target"], entry["task"]
        frame = read_table(entry["path"]).frame
        frame = frame[frame[target].notna()]
        if bins:
            if task != "regression":
                continue
            frame, task = binned(frame, target, bins), "multiclass"
        roles = {c.name: c.role for c in infer_roles(frame.drop(columns=[target]))}
        for seed in seeds:
            if seed == _split.SEED:
                sys.exit(f"seed {seed} is the benchmark's own split; choose others")
            stratify = frame[target] if task != "regression" else None
            train_idx, test_idx = train_test_split(np.arange(len(frame)), test_size=_split.TEST_SIZE,
                                                   random_state=seed, stratify=stratify)
            started = time.perf_counter()
            result = train(frame.iloc[train_idx], Recipe(target=target, task=task,
                                                         time_budget=budget, seed=0),
                           inferred_roles=roles)
            seconds = time.perf_counter() - started
            y = frame[target]
            X_test = frame.drop(columns=[target]).iloc[test_idx]
            value = _split.model_score(task, y.iloc[test_idx].to_numpy(), result.delivered, X_test)
            row = {"dataset": entry["name"], "seed": seed, "task": task, "budget": budget,
                   "value": value, "dummy": _split.dummy_score(task, y.iloc[train_idx], y.iloc[test_idx]),
                   "seconds": seconds, "model": result.leaderboard[0]["label"],
                   # the chosen model's cross-validation score: how far it promised more than
                   # the held-out rows gave (the winner's curse) is compared too
                   "cv": result.leaderboard[0].get(_split.PRIMARY[task]),
                   "candidates": len(result.leaderboard)}
            print(f"{entry['name']:<18} seed {seed}  {_split.PRIMARY[task]} {value:.4f}  "
                  f"({seconds:.1f} s, {len(result.leaderboard)} candidates, {row['model'][:50]})",
                  flush=True)
            rows.append(row)
            if out:  # written as it goes: a long run keeps what it measured
                Path(out).write_text(json.dumps(rows, indent=2))
    return rows


def compare(before_file, after_file) -> None:
    before = {(r["dataset"], r["seed"]): r for r in json.loads(Path(before_file).read_text())}
    after = {(r["dataset"], r["seed"]): r for r in json.loads(Path(after_file).read_text())}
    per_table = defaultdict(list)
    better = worse = equal = 0
    for key in sorted(before.keys() & after.keys()):
        a, b = before[key], after[key]
        gain = _better_by(a, b["value"], a["value"])
        per_table[key[0]].append(gain)
        better += gain > 0
        worse += gain < 0
        equal += gain == 0
        print(f"{key[0]:<18} seed {key[1]}  {a['value']:.4f} → {b['value']:.4f}  {gain:+.3f}")
    gains = [g for v in per_table.values() for g in v]
    if not gains:
        sys.exit("no (dataset, seed) pair is in both files")
    print(f"\nafter vs before: better on {better}, worse on {worse}, equal on {equal} of "
          f"{len(gains)} runs; mean gain {np.mean(gains):+.4f} of the dummy-to-model gap")
    for name, values in sorted(per_table.items()):
        print(f"  {name:<18} {np.mean(values):+.4f}")
    promised = [(_optimism(before[k]), _optimism(after[k])) for k in sorted(before.keys() & after.keys())
                if before[k].get("cv") is not None and after[k].get("cv") is not None]
    if promised:
        was, now = np.mean(promised, axis=0)
        print(f"\ncross-validation score above the held-out score, as a share of the "
              f"dummy-to-model gap (mean over {len(promised)} runs): before {was:+.4f}, "
              f"after {now:+.4f}")


def _optimism(row) -> float:
    """How much better the chosen model's cross-validation score was than its held-out score,
    as a share of the dummy-to-model gap (positive: it promised more than it gave)."""
    return _better_by(row, row["cv"], row["value"])


def _better_by(row, value: float, than: float) -> float:
    """How much better ``value`` is than ``than`` on ``row``'s metric, as a share of the gap
    between ``row``'s model and its dummy."""
    sign = 1 if _split.greater_is_better(row["task"]) else -1
    return sign * (value - than) / (abs(row["value"] - row["dummy"]) or 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*",
                        help="default: the small tables, or with --binned the regression ones")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--json", help="write the runs here (as they finish)")
    parser.add_argument("--binned", type=int, metavar="K",
                        help="hard multiclass: the regression tables' targets cut into K "
                             "quantile classes (the other tables are left out)")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"),
                        help="compare two --json files instead of running")
    args = parser.parse_args()
    if args.compare:
        compare(*args.compare)
    else:
        names = args.datasets or list(REGRESSION if args.binned else SMALL)
        run(names, args.seeds, args.budget, args.json, args.binned)


if __name__ == "__main__":
    main()
