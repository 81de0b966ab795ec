"""Monitoring speed: ``monitor_report`` on a realistic million-row prediction log.

Trains a logistic regression on a benchmark table (default ``german_credit``: 20 inputs, 13 of
them text) with tabwright's own ``train`` and takes its model card, exactly as a bundle's
``model.json`` holds it. Then builds the log frame as the prediction-log store's ``read()``
hands it over (``core.deliver._log``): ``--rows`` records over ``--days`` days (rows drawn
from the table, older applicants in the last week so that drift shows up), mostly single-row
requests plus some batches of 10 to 100 rows (one time and latency per request, row ids
``"<request>.<i>"``), each row with its run id, latency, the model's prediction and
probabilities, and every input (``input:<column>``). Record ids are Arrow-backed text;
repeated text (inputs, predictions, run ids) is object columns of shared strings, as the store
turns its dictionary columns into them. ``--categories`` keeps that text as pandas
``category`` columns instead, to show what it would save. Outcomes come back for
``--labelled`` of the records, two days after their prediction.

Prints the seconds of each of ``--repeats`` calls of ``monitor_report`` (target: under 1 s for
1M rows × ~20 inputs × 30 daily windows on two cores), wall and CPU, with the load average:
the report runs on one core, so on a busy machine its CPU seconds say what it takes on a free
core better than the wall clock does::

    PYTHONPATH=. .venv/bin/python bench/monitor.py [--dataset german_credit] [--rows 1000000]
        [--days 30] [--labelled 0.05] [--repeats 5] [--window day] [--categories]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.deliver import model_card, predict_table
from core.monitor._windows import monitor_report
from core.recipe import ModelChoice, Recipe
from core.train._runner import train

DATASETS = REPO.parent / "shared" / "datasets"
TEXT = "string[pyarrow]"


def build_log(dataset: str, rows: int, days: int, labelled: float, *, categories: bool = False,
              seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, dict, pd.Timestamp, Any]:
    """A prediction log of ``rows`` records, its feedback, the trained model's card, now, and
    the training result itself."""
    meta = {d["name"]: d for d in json.loads((DATASETS / "datasets.json").read_text())["datasets"]}
    data = pd.read_csv(DATASETS / meta[dataset]["file"])
    target = meta[dataset]["target"]
    result = train(data, Recipe(target=target, auto=False,
                                models=[ModelChoice("logistic_regression")]))
    card = model_card(result, data_name=f"{dataset}.csv")
    card["run_id"] = "run-bench"
    inputs = [c["name"] for c in card["input_schema"]["columns"]]
    predictions, _ = predict_table(result.pipeline, card, data)

    rng = np.random.default_rng(seed)
    # Requests: 90% single rows, the rest batches of 10 to 100 consecutive rows.
    sizes = np.where(rng.random(rows) < 0.9, 1, rng.integers(10, 101, rows))
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), rows) + 1]
    sizes[-1] -= sizes.sum() - rows
    request = np.repeat(np.arange(len(sizes)), sizes)
    index = np.arange(rows) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    names = np.array([f"{rng.integers(2**63):016x}{i:016x}" for i in range(len(sizes))],
                     dtype=object)
    ids = np.where(np.repeat(sizes, sizes) == 1, names[request],
                   names[request] + "." + index.astype(str).astype(object))

    now = pd.Timestamp("2026-03-31 18:00", tz="UTC")
    seconds = np.sort(rng.uniform(0, days * 86400, len(sizes)))[request]
    times = now - pd.to_timedelta(days * 86400 - seconds, unit="s")
    latency = (rng.gamma(2.0, 4.0, len(sizes)) + sizes * 0.05)[request]
    # Drift: in the last week, two thirds of the rows come from the oldest third of the table.
    numeric = [c for c in inputs if pd.api.types.is_numeric_dtype(data[c])]
    older = np.flatnonzero(data[numeric[0]] >= data[numeric[0]].quantile(2 / 3))
    pick = rng.integers(0, len(data), rows)
    swap = (seconds > (days - 7) * 86400) & (rng.random(rows) < 2 / 3)
    pick[swap] = older[rng.integers(0, len(older), swap.sum())]

    def text(values: np.ndarray) -> pd.Series:
        column = pd.Series(values, dtype=object)
        return column.astype("category") if categories else column

    log = {"time": pd.Series(times), "run_id": text(np.full(rows, "run-bench", dtype=object)),
           "request_id": pd.Series(ids, dtype=TEXT), "latency_ms": latency,
           "prediction": text(predictions["prediction"].astype(str).to_numpy(dtype=object)[pick])}
    for c in card["classes"]:
        log[f"proba:{c}"] = predictions[f"proba_{c}"].to_numpy(dtype=float)[pick]
    for c in inputs:
        column = data[c].to_numpy()[pick]
        if pd.api.types.is_numeric_dtype(data[c]):
            log[f"input:{c}"] = column.astype(float)
        else:
            log[f"input:{c}"] = text(np.where(pd.isna(column), None, column.astype(str)))
    frame = pd.DataFrame(log)
    frame.attrs["inputs"] = ["full"]

    chosen = np.sort(rng.choice(rows, int(labelled * rows), replace=False))
    truth = data[target].astype(str).to_numpy(dtype=object)[pick]
    feedback = pd.DataFrame({"request_id": pd.Series(ids[chosen], dtype=TEXT),
                             "actual": truth[chosen],
                             "received": frame["time"].iloc[chosen].reset_index(drop=True)
                             + pd.Timedelta(days=2)})
    feedback = feedback[feedback["received"] <= now].reset_index(drop=True)
    return frame, feedback, card, now, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="german_credit")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--labelled", type=float, default=0.05,
                        help="share of records whose outcome comes back")
    parser.add_argument("--categories", action="store_true",
                        help="repeated text as pandas category columns (not shared strings)")
    parser.add_argument("--window", default="day", choices=("hour", "day", "week"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--end-to-end", action="store_true",
                        help="also write the log into a real prediction-log store and time "
                             "`tabwright monitor` (a fresh process) and the page's read + report")
    args = parser.parse_args()

    started = time.perf_counter()
    log, feedback, card, now, result = build_log(args.dataset, args.rows, args.days, args.labelled,
                                         categories=args.categories)
    n_inputs = sum(c.startswith("input:") for c in log.columns)
    print(f"log: {len(log):,} rows × {n_inputs} inputs over {args.days} days, "
          f"{len(feedback):,} outcomes; built in {time.perf_counter() - started:.1f} s")
    seconds, cpu = [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        report = monitor_report(log, feedback, card, window=args.window, now=now)
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        print(f"monitor_report: {seconds[-1]:.3f} s wall, {cpu[-1]:.3f} s CPU  "
              f"(load average {os.getloadavg()[0]:.2f})")
    print(f"best {min(seconds):.3f} s wall, median {float(np.median(seconds)):.3f} s; "
          f"median CPU {float(np.median(cpu)):.3f} s (what one free core would take); "
          f"{len(report.windows)} windows, {int(report.windows['labelled'].sum()):,} outcomes "
          f"joined; verdict {report.verdict}: {report.summary}")


    if args.end_to_end:
        end_to_end(log, card, now, result, args.dataset, args.window, args.repeats)


def end_to_end(log: pd.DataFrame, card: dict, now: pd.Timestamp, result: Any, dataset: str,
               window: str, repeats: int) -> None:
    """The log written by the store (batches of 10,000 rows, as ``tabwright predict --log``
    writes them), then ``tabwright monitor`` as a user runs it and ``monitor_card`` as the
    Monitor page calls it on its first render."""
    import subprocess
    import tempfile

    from streamlit.testing.v1 import AppTest

    from core.deliver import PredictionLog, RunStore
    from core.monitor import monitor_card

    workspace = Path(tempfile.mkdtemp(prefix="tabwright-bench-monitor-"))
    os.environ["TABWRIGHT_WORKSPACE"] = str(workspace)
    owner = "bench-session"
    run_id = RunStore().record(result, data_name=f"{dataset}.csv", owner=owner)
    card = RunStore().card(run_id, owner=owner)
    log = log.assign(run_id=run_id)
    bundle = workspace / "bundle"
    bundle.mkdir()
    (bundle / "model.json").write_text(json.dumps(card, default=str))
    inputs = [c for c in log.columns if c.startswith("input:")]
    classes = [str(c) for c in card["classes"]]
    # The store keeps 90 days (TABWRIGHT_LOG_MAX_DAYS): the log ends now, not on the fixed date.
    offset = pd.Timestamp.now(tz="UTC") - now
    started = time.perf_counter()
    for start in range(0, len(log), 10_000):
        part = log.iloc[start:start + 10_000]
        moment = (part["time"].iloc[0] + offset).timestamp()
        with PredictionLog.for_card(card, background=False, clock=lambda m=moment: m) as store:
            store.record_frame(run_id=run_id,
                               frame=part[inputs].set_axis([c[6:] for c in inputs], axis=1),
                               predictions=part["prediction"].to_numpy(),
                               proba=part[[f"proba:{c}" for c in classes]].to_numpy(),
                               classes=card["classes"], latency_ms=float(part["latency_ms"].iloc[0]))
    with PredictionLog.for_card(card, background=False) as store:
        size = sum(p.stat().st_size for p in store.folder.iterdir()) / 2**20
    print(f"store: {len(log):,} rows written in {time.perf_counter() - started:.1f} s, "
          f"{size:.0f} MB on disk")
    for _ in range(repeats):
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "core.cli", "monitor", str(bundle), "--window",
                               window, "--json", os.devnull], capture_output=True, text=True,
                              env=os.environ | {"PYTHONPATH": str(REPO)}, cwd=REPO)
        print(f"tabwright monitor (a new process): {time.perf_counter() - t0:.2f} s, exit "
              f"{done.returncode}  (load average {os.getloadavg()[0]:.2f})")
    for _ in range(repeats):
        t0 = time.perf_counter()
        report = monitor_card(card, window=window)
        print(f"page read + report (monitor_card): {time.perf_counter() - t0:.2f} s, "
              f"{int(report.windows['rows'].sum()):,} rows")
    for _ in range(repeats):  # the whole page, figures included, as the app draws it
        app = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
        app.session_state["tabwright_token"] = owner
        app.run()
        t0 = time.perf_counter()
        app.switch_page("pages/monitor.py").run()
        verdicts = [e.value for e in [*app.success, *app.warning, *app.error]][:1]
        print(f"Monitor page, first render (AppTest, a new session): {time.perf_counter() - t0:.2f} s"
              f"; {verdicts[0][:60] if verdicts else app.exception}")


if __name__ == "__main__":
    main()
