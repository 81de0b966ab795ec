"""The whole ``tabwright train --time-budget B`` process against its budget.

Times the command as a user runs it — a fresh interpreter reading the file, searching,
refitting, evaluating, finalizing and writing the bundle — and prints the wall time, the
time the run itself reports, and how far over or under B + 10% it ended. The target
(issue #18): within B + 10%, plus a few seconds of interpreter start.

    python bench/train_process.py                                # bank_marketing and adult, 60 s
    python bench/train_process.py --datasets churn --budgets 30 60
    python bench/train_process.py --datasets doctor_contacts   # shared/datasets-more too
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

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = (ROOT.parent / "shared" / "datasets", ROOT.parent / "shared" / "datasets-more")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=["bank_marketing", "adult"])
    parser.add_argument("--budgets", nargs="*", type=float, default=[60.0])
    args = parser.parse_args()
    manifest = {d["name"]: {**d, "path": folder / d["file"]} for folder in FOLDERS
                if (folder / "datasets.json").is_file()
                for d in json.loads((folder / "datasets.json").read_text())["datasets"]}
    print(f"{'dataset':<16} {'rows':>7} {'budget':>6} {'wall':>7} {'run':>7} {'vs B+10%':>9}  load")
    for name in args.datasets:
        entry = manifest[name]
        for budget in args.budgets:
            with tempfile.TemporaryDirectory() as out:
                load = os.getloadavg()[0]
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", "core.cli", "train", str(entry["path"]),
                     "--target", entry["target"], "--time-budget", f"{budget:g}", "--out", out,
                     "--quiet"], capture_output=True, text=True, cwd=ROOT)
                wall = time.perf_counter() - started
            if done.returncode != 0:
                print(f"{name}: failed: {done.stderr.strip()[-300:]}")
                continue
            found = re.search(r"in ([0-9.]+) s\s*$", done.stdout.strip())
            run = float(found[1]) if found else float("nan")
            over = wall - 1.1 * budget
            print(f"{name:<16} {entry['rows']:>7,} {budget:>5g}s {wall:>6.1f}s {run:>6.1f}s "
                  f"{over:>+8.1f}s  {load:.1f}", flush=True)


if __name__ == "__main__":
    main()
