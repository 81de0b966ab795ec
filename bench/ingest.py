"""Ingest benchmark: load + column roles + findings time and peak memory.

Generates mixed CSVs (numbers, numbers written as text, categories, booleans, dates, an ID,
missing values) of 100k and 1M rows × 20 columns (and 1M × 30 for the big-data path), and a
1M × 20 table (numbers, categories, dates) as an Excel workbook and as Parquet, then measures
each stage in a fresh process so peak memory is that stage's own:

    python bench/ingest.py                 # CSV 100k×20, 1M×20, 1M×30; Excel and Parquet 1M×20
    python bench/ingest.py --rows 100000 --cols 20
    python bench/ingest.py --formats excel parquet
    python bench/ingest.py --formats excel --repeat 3   # each run 3 times: the machine is shared

Targets: CSV 1M × 20 ≤ 5 s and peak memory ≤ 3× the loaded frame, 100k ≤ 1 s (issue 2);
Excel 1M × 20 load ≤ 15 s and peak ≤ 3× the frame (issue 16), the same data as Parquet ≤ 2 s.
Peak memory is the process's peak resident set size minus its size after imports; a workbook's
sheet is read in a process of its own, whose peak is shown apart ("child MB"). Each row shows
the machine's load average (1 minute) when the run started: on 2 cores, a load of 4 leaves a
run about half a core, so its times are about double an idle machine's.
Generated files are kept in bench/out/ and reused: writing the 1M-row workbook with openpyxl
takes about 4 minutes, once.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook

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


def generate_typed(path: Path, rows: int) -> None:
    """The 20-column table of the Excel and Parquet rows (14 numbers, 4 categories, a date, a
    whole number), written as ``path`` (.xlsx or .parquet) unless it exists."""
    if path.exists():
        return
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"n{i}": rng.normal(size=rows) for i in range(14)})
    for i in range(4):
        frame[f"c{i}"] = rng.choice(["alpha", "beta", "gamma", "delta"], size=rows)
    frame["d"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, size=rows), unit="D")
    frame["k"] = rng.integers(0, 100, size=rows)
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
        return
    print(f"Writing {path.relative_to(ROOT)} once with openpyxl (about 4 minutes for a million "
          "rows); later runs reuse it.", flush=True)
    book = Workbook(write_only=True)  # streams rows out: the only way openpyxl writes 1M rows
    sheet = book.create_sheet("data")
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append(list(row))
    partial = path.with_suffix(".partial.xlsx")
    book.save(partial)
    partial.rename(path)


def measure(path: str) -> dict:
    """Run in a child process: time each stage, report peak RSS growth."""
    sys.path.insert(0, str(ROOT))
    from core.explore import find_issues
    from core.ingest import infer_roles, read_table

    base = _rss_peak_mb()
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    table = read_table(path)
    t1 = time.perf_counter()
    columns = infer_roles(table.frame)
    t2 = time.perf_counter()
    target = "target" if "target" in table.frame else None
    findings = find_issues(table.frame, columns, target=target, task="binary" if target else None)
    t3 = time.perf_counter()
    frame_mb = table.frame.memory_usage(deep=True).sum() / 2**20
    return {"rows": len(table.frame), "cols": table.frame.shape[1], "file_mb": table.n_bytes / 2**20,
            "load_s": t1 - t0, "roles_s": t2 - t1, "findings_s": t3 - t2, "total_s": t3 - t0,
            "frame_mb": frame_mb, "peak_mb": _rss_peak_mb() - base,
            "child_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "findings": len(findings), "load": load}


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
    parser.add_argument("--formats", nargs="*", default=["csv", "excel", "parquet"],
                        choices=["csv", "excel", "parquet"])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    sizes = [(r, args.cols or 20) for r in args.rows] if args.rows else \
        [(100_000, 20), (1_000_000, 20), (1_000_000, 30)]
    runs = [("csv", rows, cols, OUT / f"ingest_{rows}x{cols}.csv") for rows, cols in sizes
            if "csv" in args.formats]
    runs += [(kind, rows, 20, OUT / f"ingest_{rows}x20.{suffix}")
             for kind, suffix in (("excel", "xlsx"), ("parquet", "parquet")) if kind in args.formats
             for rows in (args.rows or [1_000_000])]
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"{'format':>7} {'rows':>10} {'cols':>5} {'file MB':>8} {'load s':>7} {'roles s':>8} "
          f"{'find s':>7} {'total s':>8} {'frame MB':>9} {'peak MB':>8} {'peak/frame':>10} "
          f"{'child MB':>9} {'load':>5}")
    for kind, rows, cols, path in runs:
        if kind == "csv":
            generate(path, rows, cols)
        else:
            generate_typed(path, rows)
        env = os.environ | {"OMP_NUM_THREADS": "1"}
        for _ in range(args.repeat):
            done = subprocess.run([sys.executable, __file__, "--child", str(path)],
                                  capture_output=True, text=True, env=env, check=True)
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{kind:>7} {r['rows']:>10,} {r['cols']:>5} {r['file_mb']:>8.1f} "
                  f"{r['load_s']:>7.2f} {r['roles_s']:>8.2f} {r['findings_s']:>7.2f} "
                  f"{r['total_s']:>8.2f} {r['frame_mb']:>9.1f} {r['peak_mb']:>8.1f} "
                  f"{r['peak_mb'] / r['frame_mb']:>10.2f} {r['child_mb']:>9.1f} {r['load']:>5.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
