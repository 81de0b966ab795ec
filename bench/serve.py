"""Serving speed: single-row latency over HTTP at 1 and 20 concurrent clients, and batch time.

Usage::

    PYTHONPATH=. .venv/bin/python bench/serve.py [BUNDLE_DIR] [--model hist_gradient_boosting|auto]
        [--requests 1000] [--runs 3] [--client raw|httpx] [--no-log]

Without a bundle it trains ``--model`` (default: logistic regression) on the titanic sample
and writes its bundle to a temporary folder. The server (``core.deliver._serve.run_server``, exactly
what ``tabwright serve`` runs) starts in a subprocess on 127.0.0.1 at a free port, with its
prediction log on (every request journaled before its response, full inputs) in a temporary
workspace, as ``tabwright serve`` does by default; ``--no-log`` serves without it. The bundle is
loaded with ``trust=True`` there (the temporary workspace has its own signing key): measure only
bundles you made.

The client. The benchmark runs on the same 2 cores as the server, so a heavy client steals
the CPU it is measuring (httpx spends about 1 ms of CPU per request). The default client is
therefore light but real: one asyncio stream (TCP connection, keep-alive) per simulated
client, each sending complete pre-encoded HTTP/1.1 ``POST /predict`` requests with a JSON
body of one record, one at a time. One latency sample is the full round trip of one request:
from writing the request bytes to having read the whole response (status line, headers,
``Content-Length`` bytes of body). Every response is checked: status 200, and a body whose
prediction equals what ``predict_table`` gives for that row in this process (probabilities
within 1e-12: a row batched with other rows can differ in the last bit, see
``core.deliver._serve``). Connections are opened before the clock starts, as a keep-alive client
would. ``--client httpx`` measures the same requests with ``httpx.AsyncClient`` instead.

Each level sends ``--requests`` requests after a warm-up; ``--runs`` repeats the levels
against the same server. The load average is printed with each run: other work on the
machine moves these numbers. The server's CPU time per request (user + system, from
``/proc``; all of its threads) moves much less with the load, and tells two server
versions apart when the latencies are noisy. ``--port PORT --pid PID`` measures a server
started by hand (a variant, or one under a profiler) instead of starting one.

Last, ``predict_table`` is timed on 100,000 rows drawn from the training data, alone and with
the prediction log recording them (``tabwright predict --log``: one segment, full inputs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.deliver import load_bundle, predict_table, write_bundle
from core.deliver._log import PredictionLog

TOLERANCE = 1e-12


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bundle(tmp: Path, model: str = "logistic_regression") -> Path:
    from core.ingest import read_table
    from core.recipe import ModelChoice, Recipe
    from core.train import train

    table = read_table(REPO / "sample_data" / "titanic.csv")
    if model == "auto":  # what auto mode exports: usually a soft-voting ensemble
        recipe = Recipe(target="survived", auto=True, time_budget=60)
    else:
        recipe = Recipe(target="survived", auto=False, models=[ModelChoice(model)])
    result = train(table.frame, recipe)
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


def _expected(model, card: dict, records: list[dict]) -> list[dict]:
    """What predict_table gives for each record alone, as the server's JSON would say it."""
    out = []
    for record in records:
        table, _ = predict_table(model, card, pd.DataFrame([record]))
        row = table.iloc[0]
        want = {"prediction": json.loads(json.dumps(row.iloc[0], default=lambda v: v.item()))}
        want["probabilities"] = {str(c): float(row[f"proba_{c}"]) for c in card.get("classes") or []
                                 if f"proba_{c}" in table}
        out.append(want)
    return out


def _check(body: bytes, want: dict) -> None:
    got = json.loads(body)
    if got["predictions"] != [want["prediction"]]:
        raise AssertionError(f"prediction {got['predictions']} != {want['prediction']}")
    if want["probabilities"]:
        proba = got["probabilities"][0]
        if set(proba) != set(want["probabilities"]) or any(
                not math.isclose(proba[k], v, rel_tol=0, abs_tol=TOLERANCE)
                for k, v in want["probabilities"].items()):
            raise AssertionError(f"probabilities {proba} != {want['probabilities']}")


def _request_bytes(port: int, record: dict) -> bytes:
    body = json.dumps({"records": [record]}, separators=(",", ":")).encode()
    head = (f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return head + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
        elif name.strip().lower() == "transfer-encoding":
            raise AssertionError("the benchmark client reads Content-Length bodies only")
    if length is None:
        raise AssertionError("response without Content-Length")
    return status, await reader.readexactly(length)


async def _level_raw(port: int, requests: list[bytes], expected: list[dict], *, clients: int,
                     total: int) -> list[float]:
    latencies: list[float] = []
    per_client = max(1, total // clients)
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(clients)]

    async def worker(k: int) -> None:
        reader, writer = streams[k]
        for i in range(per_client):
            j = (k + i * clients) % len(requests)
            start = time.perf_counter()
            writer.write(requests[j])
            status, body = await _read_response(reader)
            latencies.append((time.perf_counter() - start) * 1000)
            if status != 200:
                raise AssertionError(f"HTTP {status}: {body[:300]!r}")
            _check(body, expected[j])

    try:
        await asyncio.gather(*[worker(k) for k in range(clients)])
    finally:
        for _, writer in streams:
            writer.close()
    return latencies


async def _level_httpx(port: int, records: list[dict], expected: list[dict], *, clients: int,
                       total: int) -> list[float]:
    import httpx

    latencies: list[float] = []
    per_client = max(1, total // clients)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits,
                                 timeout=30) as client:
        async def worker(k: int) -> None:
            for i in range(per_client):
                j = (k + i * clients) % len(records)
                start = time.perf_counter()
                response = await client.post("/predict", json={"records": [records[j]]})
                latencies.append((time.perf_counter() - start) * 1000)
                response.raise_for_status()
                _check(response.content, expected[j])

        await asyncio.gather(*[worker(k) for k in range(clients)])
    return latencies


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    arr = np.asarray(values)
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99)), float(arr.mean())


def _wait_healthy(port: int, server: subprocess.Popen | None) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline or (server is not None and server.poll() is not None):
            raise SystemExit("the server did not start")
        time.sleep(0.2)


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process so far (Linux ``/proc``), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, TypeError):
        return None


def _load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", nargs="?", help="a bundle folder written by tabwright")
    parser.add_argument("--model", default="logistic_regression",
                        help="model to train when no bundle is given (e.g. hist_gradient_boosting, "
                        "or auto: auto mode with a 60 s budget)")
    parser.add_argument("--requests", type=int, default=1000, help="requests per level")
    parser.add_argument("--clients", default="1,20", help="concurrent clients per level")
    parser.add_argument("--runs", type=int, default=1, help="repeat the levels this many times")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw")
    parser.add_argument("--batch-rows", type=int, default=100_000)
    parser.add_argument("--port", type=int, help="measure a server already serving BUNDLE_DIR "
                        "on 127.0.0.1:PORT instead of starting one (e.g. to profile it)")
    parser.add_argument("--pid", type=int, help="with --port: the server's process id, for its CPU time")
    parser.add_argument("--no-log", action="store_true", help="serve without the prediction log")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(args.bundle) if args.bundle else _bundle(Path(tmp), args.model)
        model, card = load_bundle(bundle)
        records = _records(_rows_like(card, 200, seed=1))
        expected = _expected(model, card, records)
        port = args.port or _free_port()
        requests = [_request_bytes(port, r) for r in records]
        env = dict(os.environ, PYTHONPATH=str(REPO), TABWRIGHT_WORKSPACE=str(Path(tmp) / "workspace"))
        server = None if args.port else subprocess.Popen(
            [sys.executable, "-c",
             f"from core.deliver import run_server; run_server({str(bundle)!r}, host='127.0.0.1', "
             f"port={port}, trust=True, log={not args.no_log})"],
            cwd=REPO, env=env)

        def level(clients: int, total: int) -> list[float]:
            if args.client == "httpx":
                return asyncio.run(_level_httpx(port, records, expected, clients=clients, total=total))
            return asyncio.run(_level_raw(port, requests, expected, clients=clients, total=total))

        runs = []
        try:
            _wait_healthy(port, server)
            level(4, 200)  # warm-up
            for _ in range(args.runs):
                rows = []
                load_before = _load()
                for clients in levels:
                    pid = server.pid if server else args.pid
                    cpu = _cpu_seconds(pid)
                    started = time.perf_counter()
                    latencies = level(clients, args.requests)
                    seconds = time.perf_counter() - started
                    cpu_after = _cpu_seconds(pid)
                    per_request = (cpu_after - cpu) * 1000 / len(latencies) if cpu is not None \
                        and cpu_after is not None else float("nan")
                    p50, p99, mean = _percentiles(latencies)
                    rows.append((f"1 row, {clients} client(s)", len(latencies), p50, p99, mean,
                                 len(latencies) / seconds, per_request))
                runs.append((load_before, _load(), rows))
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=10)

        big = _rows_like(card, args.batch_rows, seed=2)
        started = time.perf_counter()
        predictions, _ = predict_table(model, card, big)
        batch_seconds = time.perf_counter() - started
        assert len(predictions) == len(big)
        started = time.perf_counter()
        predictions, _ = predict_table(model, card, big)
        with PredictionLog(Path(tmp) / "batch-log", card=card, background=False) as log:
            columns = [f"proba_{c}" for c in card.get("classes") or []]
            log.record_frame(run_id="bench", frame=big, predictions=predictions.iloc[:, 0],
                             proba=predictions[columns].to_numpy() if columns else None,
                             classes=card.get("classes"), latency_ms=0.0)
        logged_seconds = time.perf_counter() - started
        assert log.health()["rows"] == len(big) and log.health()["ok"]

    print(f"\nModel: {', '.join(card['model']['labels'])} ({card['task']}), "
          f"{len(card['input_schema']['columns'])} input columns; {os.cpu_count()} CPUs; "
          f"client: {args.client}; every response checked against predict_table; "
          "prediction log " + ("as the server at --port was started" if args.port else
                               "off" if args.no_log else "on (full inputs)"))
    for i, (before, after, rows) in enumerate(runs, 1):
        print(f"run {i}: load average (1/5/15 min) {before} before, {after} after")
        print(f"{'level':<24}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'req/s':>8}"
              f"{'server CPU ms/req':>19}")
        for name, n, p50, p99, mean, rate, cpu in rows:
            print(f"{name:<24}{n:>9}{p50:>9.1f}{p99:>9.1f}{mean:>9.1f}{rate:>8.0f}{cpu:>19.2f}")
    print(f"{'predict_table batch':<24}{args.batch_rows:>9,} rows in {batch_seconds:.2f} s "
          f"({args.batch_rows / batch_seconds:,.0f} rows/s); load average {_load()}")
    print(f"{'... with the log on':<24}{args.batch_rows:>9,} rows in {logged_seconds:.2f} s "
          f"({args.batch_rows / logged_seconds:,.0f} rows/s): predict_table + record_frame")


if __name__ == "__main__":
    main()
