"""Ingest benchmark: load + column roles + findings time and peak memory.

Generates mixed CSVs (numbers, numbers written as text, categories, booleans, dates, an ID,
missing values) of 100k and 1M rows × 20 columns (and 1M × 30 for the big-data path), then
measures each stage in a fresh process so peak memory is that stage's own:

    python bench/ingest.py                 # 100k×20, 1M×20, 1M×30
    python bench/ingest.py --rows 100000 --cols 20

Targets (issue 2): 1M × 20 ≤ 5 s and peak memory ≤ 3× the loaded frame; 100k ≤ 1 s.
Peak memory is the process's peak resident set size minus its size after imports.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"


def generate(path: Path, rows: int, cols: int, seed: int = 0) -> None:
    """A mixed CSV like real exports: one ID, numbers, text numbers, categories, dates, flags."""
    if path.exists():
        return
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {"customer_id": np.arange(1, rows + 1)}
    kinds = ["float", "int", "cat", "money", "bool", "date", "cat_many", "pct"]
    for i in range(cols - 2):
        kind = kinds[i % len(kinds)]
        name = f"{kind}_{i}"
        if kind == "float":
            values = rng.normal(50, 15, rows).round(3).astype(object)
        elif kind == "int":
            values = rng.integers(0, 100, rows).astype(object)
        elif kind == "cat":
            values = rng.choice(np.array(["north", "south", "east", "west", "centre"]), rows).astype(object)
        elif kind == "money":
            values = np.char.add("$", np.char.mod("%.2f", rng.gamma(2, 500, rows))).astype(object)
        elif kind == "bool":
            values = rng.choice(np.array(["yes", "no"]), rows).astype(object)
        elif kind == "date":
            start = np.datetime64("2020-01-01")
            values = (start + rng.integers(0, 1500, rows).astype("timedelta64[D]")).astype(str).astype(object)
        elif kind == "cat_many":
            values = np.char.add("P", rng.integers(0, 3000, rows).astype(str)).astype(object)
        else:
            values = np.char.add(np.char.mod("%.1f", rng.uniform(0, 100, rows)), "%").astype(object)
        mask = rng.random(rows) < 0.03
        values[mask] = ""
        data[name] = values
    data["target"] = rng.integers(0, 2, rows)
    pd.DataFrame(data).to_csv(path, index=False)


def measure(path: str) -> dict:
    """Run in a child process: time each stage, report peak RSS growth."""
    sys.path.insert(0, str(ROOT))
    from core.explore import find_issues
    from core.ingest import infer_roles, read_table

    base = _rss_peak_mb()
    t0 = time.perf_counter()
    table = read_table(path)
    t1 = time.perf_counter()
    columns = infer_roles(table.frame)
    t2 = time.perf_counter()
    findings = find_issues(table.frame, columns, target="target", task="binary")
    t3 = time.perf_counter()
    frame_mb = table.frame.memory_usage(deep=True).sum() / 2**20
    return {"rows": len(table.frame), "cols": table.frame.shape[1], "file_mb": table.n_bytes / 2**20,
            "load_s": t1 - t0, "roles_s": t2 - t1, "findings_s": t3 - t2, "total_s": t3 - t0,
            "frame_mb": frame_mb, "peak_mb": _rss_peak_mb() - base,
            "findings": len(findings)}


def _rss_peak_mb() -> float:
    """This process's peak resident set (VmHWM; ru_maxrss would include the parent's peak,
    since it survives fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*")
    parser.add_argument("--cols", type=int, default=None)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    sizes = [(r, args.cols or 20) for r in args.rows] if args.rows else \
        [(100_000, 20), (1_000_000, 20), (1_000_000, 30)]
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"{'rows':>10} {'cols':>5} {'file MB':>8} {'load s':>7} {'roles s':>8} {'find s':>7} "
          f"{'total s':>8} {'frame MB':>9} {'peak MB':>8} {'peak/frame':>10}")
    for rows, cols in sizes:
        path = OUT / f"ingest_{rows}x{cols}.csv"
        generate(path, rows, cols)
        env = os.environ | {"OMP_NUM_THREADS": "1"}
        done = subprocess.run([sys.executable, __file__, "--child", str(path)], capture_output=True,
                              text=True, env=env, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{r['rows']:>10,} {r['cols']:>5} {r['file_mb']:>8.1f} {r['load_s']:>7.2f} "
              f"{r['roles_s']:>8.2f} {r['findings_s']:>7.2f} {r['total_s']:>8.2f} "
              f"{r['frame_mb']:>9.1f} {r['peak_mb']:>8.1f} {r['peak_mb'] / r['frame_mb']:>10.2f}",
              flush=True)


if __name__ == "__main__":
    main()
