"""Serving speed: single-row latency over HTTP at 1 and 20 concurrent clients, and batch time.

Usage::

    PYTHONPATH=. .venv/bin/python bench/serve.py [BUNDLE_DIR] [--requests 500]

Without a bundle it trains a logistic regression on the titanic sample and writes its bundle
to a temporary folder. The server (``core.serve.run_server``) runs in a subprocess on
127.0.0.1 at a free port; clients are httpx over loopback with keep-alive connections. Each
level sends a bounded number of requests after a short warm-up. Last, ``predict_table`` is
timed on 100,000 rows drawn from the training data.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.export import load_bundle, write_bundle  # noqa: E402
from core.predict import predict_table  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bundle(tmp: Path) -> Path:
    from core.data import read_table
    from core.recipe import ModelChoice, Recipe
    from core.train import train

    table = read_table(REPO / "sample_data" / "titanic.csv")
    result = train(table.frame, Recipe(target="survived", auto=False,
                                       models=[ModelChoice("logistic_regression")]))
    return write_bundle(result, tmp / "bundle", data_name="titanic.csv")


def _records(frame: pd.DataFrame) -> list[dict]:
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in rows]


def _rows_like(card: dict, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows drawn from the model card's baseline: numbers within the training deciles,
    categories with their training shares (with the training share of missing values)."""
    rng = np.random.default_rng(seed)
    columns = {}
    for column in card["input_schema"]["columns"]:
        name = column["name"]
        base = card["baseline"]["features"][name]
        missing = rng.random(n) < base.get("missing", 0.0)
        if base["kind"] == "numeric" and base["shares"]:
            edges = [column.get("min", 0.0)] + base["edges"] + [column.get("max", 1.0)]
            bins = rng.choice(len(base["shares"]), size=n, p=np.asarray(base["shares"]) / sum(base["shares"]))
            low, high = np.asarray(edges)[bins], np.asarray(edges)[bins + 1]
            values = pd.Series(low + rng.random(n) * (high - low))
            if column.get("integer"):
                values = values.round()
        else:
            levels = [k for k in base.get("levels", {}) if k != "(other)"] or ["x"]
            shares = np.asarray([base["levels"][k] for k in levels])
            values = pd.Series(rng.choice(levels, size=n, p=shares / shares.sum()), dtype=object)
            if column["dtype"] == "bool":
                values = values.map({"True": True, "False": False})
        columns[name] = values.where(~missing, None) if missing.any() else values
    return pd.DataFrame(columns)


async def _level(url: str, records: list[dict], *, clients: int, total: int) -> list[float]:
    latencies: list[float] = []
    per_client = total // clients
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        async def worker(offset: int) -> None:
            for i in range(per_client):
                body = {"records": [records[(offset + i * clients) % len(records)]]}
                start = time.perf_counter()
                response = await client.post("/predict", json=body)
                latencies.append((time.perf_counter() - start) * 1000)
                response.raise_for_status()

        await asyncio.gather(*[worker(k) for k in range(clients)])  # warm-up round below
    return latencies


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    arr = np.asarray(values)
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99)), float(arr.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", nargs="?", help="a bundle folder written by tabwright")
    parser.add_argument("--requests", type=int, default=500, help="requests per level")
    parser.add_argument("--batch-rows", type=int, default=100_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(args.bundle) if args.bundle else _bundle(Path(tmp))
        model, card = load_bundle(bundle)
        records = _records(_rows_like(card, 200, seed=1))
        port = _free_port()
        env = dict(os.environ, PYTHONPATH=str(REPO))
        server = subprocess.Popen(
            [sys.executable, "-c",
             f"from core.serve import run_server; run_server({str(bundle)!r}, host='127.0.0.1', port={port})"],
            cwd=REPO, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            asyncio.run(_level(url, records, clients=4, total=40))  # warm-up
            rows = []
            for clients in (1, 20):
                started = time.perf_counter()
                latencies = asyncio.run(_level(url, records, clients=clients, total=args.requests))
                seconds = time.perf_counter() - started
                p50, p99, mean = _percentiles(latencies)
                rows.append((f"1 row, {clients} client(s)", len(latencies), p50, p99, mean,
                             len(latencies) / seconds))
        finally:
            server.terminate()
            server.wait(timeout=10)

        big = _rows_like(card, args.batch_rows, seed=2)
        started = time.perf_counter()
        predictions, _ = predict_table(model, card, big)
        batch_seconds = time.perf_counter() - started
        assert len(predictions) == len(big)

    print(f"\nModel: {', '.join(card['model']['labels'])} ({card['task']}), "
          f"{len(card['input_schema']['columns'])} input columns; {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'level':<24}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'req/s':>8}")
    for name, n, p50, p99, mean, rate in rows:
        print(f"{name:<24}{n:>9}{p50:>9.1f}{p99:>9.1f}{mean:>9.1f}{rate:>8.0f}")
    print(f"{'predict_table batch':<24}{args.batch_rows:>9,} rows in {batch_seconds:.2f} s "
          f"({args.batch_rows / batch_seconds:,.0f} rows/s)")


if __name__ == "__main__":
    main()
