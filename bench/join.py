"""Join benchmark: a one-to-many join with every default feature and a per-row cutoff.

Generates (seeded) a main table of customers, one row each with a signup date (the moment of
prediction), and an orders table: customer_id, amount (float), category (text, 20 values),
order_date, quantity (int), about 5 % of orders from customers not in the main table. Then,
in a fresh process, it times :func:`core.ingest.suggest_joins`, :func:`core.ingest.default_join`
and :func:`core.ingest.apply_joins` (the default join, whose cutoff is each row's signup date),
and the same join through the exported script (:func:`core.ingest.join_script`):

    python bench/join.py                        # 100k customers, 5M orders
    python bench/join.py --main 10000 --related 500000
    python bench/join.py --snapshots 20     # 5,000 customers, each on 20 rows with own dates

Targets (issue 17): 100k × 5M with a per-row cutoff ≤ 10 s, and the process's peak memory
≤ 3× the two loaded tables. Peak memory is the peak resident set during the join (VmHWM, reset
just before it) minus the resident set before the tables were made, so it includes the tables
themselves; "tables" is what making them added to the resident set (text as shared Python
strings, as :func:`core.ingest.read_table` makes it; "deep MB", pandas' count, counts every
string again). The suggestion's peak, measured the same way, is printed too.
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


def generate(n_main: int, n_related: int, *, snapshots: int = 1, seed: int = 0
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers with a signup date and plan, and their orders over four years.

    With ``snapshots`` > 1 each customer is on that many main rows, each with its own date
    (a customer scored on several days), so each row sees a different part of its orders.
    """
    rng = np.random.default_rng(seed)
    start = np.datetime64("2020-01-01T00:00:00", "s")
    n_customers = max(n_main // snapshots, 1)
    customers = pd.DataFrame({
        "customer_id": rng.permutation(n_main) % n_customers + 1,
        "signup_date": (start + rng.integers(365, 3 * 365, n_main) * np.timedelta64(1, "D")
                        ).astype("datetime64[ns]"),
        "plan": np.array(["free", "basic", "pro"], dtype=object)[rng.integers(0, 3, n_main)],
        "age": rng.integers(18, 80, n_main),
    })
    categories = np.array([f"category_{i:02d}" for i in range(20)], dtype=object)
    seconds = rng.integers(0, 4 * 365 * 86_400, n_related)
    orders = pd.DataFrame({
        "customer_id": rng.integers(1, int(n_customers * 1.05) + 1, n_related),
        "amount": rng.gamma(2.0, 30.0, n_related).round(2),
        "category": categories[rng.integers(0, 20, n_related)],
        "order_date": (start + seconds * np.timedelta64(1, "s")).astype("datetime64[ns]"),
        "quantity": rng.integers(1, 10, n_related),
    })
    return customers, orders


def _status_mb(field: str) -> float:
    """A field of /proc/self/status in MB (VmHWM: this process's peak resident set)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    """Make VmHWM start again from the current resident set (Linux ≥ 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


def measure(n_main: int, n_related: int, snapshots: int) -> dict:
    """Run in a child process: generate, then time each step and report the peak memory."""
    sys.path.insert(0, str(ROOT))
    from core.ingest import apply_joins, default_join, join_script, suggest_joins

    before = _status_mb("VmRSS")
    customers, orders = generate(n_main, n_related, snapshots=snapshots)
    loaded = _status_mb("VmRSS")
    _reset_peak()
    t0 = time.perf_counter()
    suggestions = suggest_joins(customers, orders, name="orders")
    t1 = time.perf_counter()
    join = default_join(customers, orders, suggestions[0], name="orders")
    t2 = time.perf_counter()
    suggest_peak = _status_mb("VmHWM")
    _reset_peak()
    t3 = time.perf_counter()
    result = apply_joins(customers, {"orders": orders}, [join])
    t4 = time.perf_counter()
    apply_peak = _status_mb("VmHWM")
    del result
    namespace: dict = {}
    exec(compile(join_script([join]), "join_script", "exec"), namespace)
    t5 = time.perf_counter()
    namespace["apply_joins"](customers, {"orders": orders})
    t6 = time.perf_counter()
    tables = loaded - before
    return {"main": n_main, "related": n_related, "features": len(join.aggregates),
            "suggest_s": t1 - t0, "default_s": t2 - t1, "apply_s": t4 - t3,
            "script_s": t6 - t5, "tables_mb": tables,
            "deep_mb": (customers.memory_usage(deep=True).sum()
                        + orders.memory_usage(deep=True).sum()) / 2**20,
            "suggest_peak_ratio": (suggest_peak - before) / tables,
            "apply_peak_mb": apply_peak - before,
            "apply_peak_ratio": (apply_peak - before) / tables,
            "best_key": f"{suggestions[0].main_key} = {suggestions[0].related_key}",
            "relation": suggestions[0].relation}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--main", type=int, default=100_000)
    parser.add_argument("--related", type=int, default=5_000_000)
    parser.add_argument("--snapshots", type=int, default=1,
                        help="main rows per customer, each with its own date (default 1)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.main, args.related, args.snapshots)))
        return
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, __file__, "--child", "--main", str(args.main),
                           "--related", str(args.related), "--snapshots", str(args.snapshots)],
                          capture_output=True, text=True,
                          env=env, check=True)
    r = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"main {r['main']:,} rows, related {r['related']:,} rows; suggested "
          f"{r['best_key']} ({r['relation']}), {r['features']} features with a per-row cutoff")
    print(f"{'suggest s':>10} {'default s':>10} {'apply s':>8} {'script s':>9} "
          f"{'tables MB':>10} {'deep MB':>8} {'peak MB':>8} {'peak/tables':>11} "
          f"{'(suggest)':>9} {'load':>5}")
    print(f"{r['suggest_s']:>10.2f} {r['default_s']:>10.2f} {r['apply_s']:>8.2f} "
          f"{r['script_s']:>9.2f} {r['tables_mb']:>10.0f} {r['deep_mb']:>8.0f} "
          f"{r['apply_peak_mb']:>8.0f} {r['apply_peak_ratio']:>11.2f} "
          f"{r['suggest_peak_ratio']:>9.2f} {os.getloadavg()[0]:>5.2f}")


if __name__ == "__main__":
    main()
