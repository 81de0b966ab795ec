"""Wide-table benchmark: a 300-row × 5,000-column numeric table (gene-expression shape).

Generates the table with a binary and a regression target that depend on a few known columns
(``bench/out/wide_<task>_<seed>.csv``), then measures, each in a fresh process:

- **profile**: what the Data page runs (``load_data``, then ``set_target``), wall and CPU
  seconds (target ≤ 5 s for the profile);
- **auto mode**: ``tabwright train --time-budget B`` as a whole process, its wall time minus
  the time a process takes to start Python and import tabwright (target: budget + 10%), and
  the test score;
- **baselines** on the same split: a plain logistic / ridge regression on every column, and
  the same model on the known informative columns only (what knowing the answer buys).

    python bench/wide.py                           # both tasks, budgets 20 and 60, seed 0
    python bench/wide.py --tasks binary --budgets 20 --seeds 0 1 2

Scores are ROC AUC (binary) and R² (regression) on the 60 test rows, so they move by a few
hundredths from seed to seed; the load average is printed with every number.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
TARGETS = {"binary": "responder", "regression": "response"}
METRICS = {"binary": "roc_auc", "regression": "r2"}
INFORMATIVE = 10
MODULES = 50


def generate(task: str, *, rows: int = 300, columns: int = 5_000, seed: int = 0
             ) -> tuple[Path, list[str]]:
    """The CSV and its informative columns. Expression-like: columns come in correlated
    modules (genes regulated together), each with its own level and spread; the target
    is a linear signal of ``INFORMATIVE`` columns plus noise of half its spread."""
    rng = np.random.default_rng(seed)
    modules = rng.normal(size=(rows, MODULES))
    member = rng.integers(0, MODULES, columns)
    loading = rng.uniform(0.3, 0.9, columns)
    x = modules[:, member] * loading + rng.normal(size=(rows, columns)) * np.sqrt(1 - loading ** 2)
    x = (x * rng.uniform(0.5, 2, columns) + rng.uniform(2, 12, columns)).round(3)
    names = [f"gene_{i:05d}" for i in range(columns)]
    informative = rng.choice(columns, INFORMATIVE, replace=False)
    z = (x[:, informative] - x[:, informative].mean(0)) / x[:, informative].std(0)
    signal = z @ (rng.choice([-1, 1], INFORMATIVE) * rng.uniform(0.5, 1.5, INFORMATIVE))
    noisy = signal + rng.normal(scale=0.5 * signal.std(), size=rows)
    frame = pd.DataFrame(x, columns=names)
    frame[TARGETS[task]] = noisy.round(4) if task == "regression" else np.where(noisy > 0, "yes", "no")
    path = OUT / f"wide_{task}_{seed}.csv"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
    return path, [names[i] for i in informative]


def profile_child(path: str, target: str) -> dict:
    """In a fresh process: the Data page's load and target, timed."""
    sys.path.insert(0, str(ROOT))
    from core.project import Project, load_data, set_target

    wall, cpu = time.perf_counter(), time.process_time()
    loaded = load_data(Project(), path)
    load_wall, load_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    targeted = set_target(loaded, target)
    return {"load_s": load_wall, "load_cpu_s": load_cpu, "profile_s": loaded.profile.seconds,
            "target_s": time.perf_counter() - wall, "target_cpu_s": time.process_time() - cpu,
            "target_profile_s": targeted.profile.seconds,
            "findings": len(targeted.profile.findings)}


def _python(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          check=True)


def start_seconds() -> float:
    """Seconds a process takes to start Python and import tabwright's command line."""
    started = time.perf_counter()
    _python("-c", "import core.cli")
    return time.perf_counter() - started


def train(path: Path, target: str, *, budget: float | None = None,
          recipe: dict | None = None) -> dict:
    """``tabwright train`` as a whole process: wall seconds, its own seconds, test metrics."""
    with tempfile.TemporaryDirectory() as folder:
        args = ["-m", "core.cli", "train", str(path), "--target", target, "--quiet",
                "--out", f"{folder}/model"]
        if budget is not None:
            args += ["--time-budget", str(budget)]
        if recipe is not None:
            Path(folder, "recipe.json").write_text(json.dumps(recipe))
            args += ["--recipe", f"{folder}/recipe.json"]
        started = time.perf_counter()
        done = _python(*args)
        wall = time.perf_counter() - started
        metrics = json.loads(Path(folder, "model", "metrics.json").read_text())["test"]["metrics"]
        board = json.loads(Path(folder, "model", "leaderboard.json").read_text())
    own = re.search(r" in ([\d.]+) s", done.stdout)
    return {"wall_s": wall, "train_s": float(own[1]) if own else float("nan"),
            "metrics": metrics, "best": board[0]["label"]}


def baseline_recipe(task: str, target: str, drop: list[str]) -> dict:
    """A plain logistic or ridge regression with default settings, no search."""
    sys.path.insert(0, str(ROOT))
    from core.recipe import ModelChoice, Recipe

    model = "logistic_regression" if task == "binary" else "ridge"
    return json.loads(Recipe(target=target, task=task, auto=False, drop=drop,
                             models=[ModelChoice(model)]).to_json())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument("--budgets", nargs="*", type=float, default=[20.0, 60.0])
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(profile_child(*args.child)))
        return
    start = start_seconds()
    print(f"Starting Python and importing tabwright: {start:.2f} s (subtracted from wall times)")
    for task in args.tasks:
        target, metric = TARGETS[task], METRICS[task]
        for seed in args.seeds:
            path, informative = generate(task, seed=seed)
            print(f"\n{task}, seed {seed}: {path.relative_to(ROOT)} (300 × 5,000 + target)")
            load = os.getloadavg()[0]
            done = _python(__file__, "--child", str(path), target)
            p = json.loads(done.stdout)
            print(f"  profile: load_data {p['load_s']:.2f} s wall / {p['load_cpu_s']:.2f} s CPU "
                  f"(profile {p['profile_s']:.2f} s); set_target {p['target_s']:.2f} s wall / "
                  f"{p['target_cpu_s']:.2f} s CPU; {p['findings']} findings  [load {load:.2f}]")
            columns = pd.read_csv(path, nrows=0).columns
            others = [c for c in columns if c not in informative and c != target]
            for label, drop in (("plain, every column", []), ("plain, informative columns", others)):
                load = os.getloadavg()[0]
                run = train(path, target, recipe=baseline_recipe(task, target, drop))
                print(f"  baseline ({label}): test {metric} {run['metrics'][metric]:.3f}  "
                      f"[{run['wall_s']:.1f} s, load {load:.2f}]")
            for budget in args.budgets:
                load = os.getloadavg()[0]
                run = train(path, target, budget=budget)
                work = run["wall_s"] - start
                print(f"  auto {budget:g} s: process {run['wall_s']:.1f} s, minus start "
                      f"{work:.1f} s ({work / budget:.0%} of the budget), train() "
                      f"{run['train_s']:.1f} s; test {metric} {run['metrics'][metric]:.3f}; "
                      f"best: {run['best']}  [load {load:.2f}]")


if __name__ == "__main__":
    main()
