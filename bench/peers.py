"""Measure the AutoML peers on the quality benchmark's tables: AutoGluon and FLAML, with the
scikit-learn references, on the same seed-0 80/20 splits as bench/quality.py.

Runs under the peer virtualenv's Python (``bash bench/peers-venv.sh`` creates it), never the
app's .venv, and does not import tabwright's ``core``: the tables, the reading, the split, the
dummy and the metric come from bench/_split.py, which quality.py uses too.

For each table, one at a time and each in its own process: the references (linear pipeline and
HistGradientBoosting with defaults), FLAML at 30 s and 60 s (``time_budget``, ``seed=0``) and
AutoGluon at 60 s (``time_limit``, default presets), each told the task and the primary metric
(ROC-AUC binary, accuracy multiclass, RMSE regression). Results go to bench/peers.json after
every run: per table the metric, the dummy, the split's fingerprint, and per peer its score,
fit, predict and wall seconds, the date, and the machine's load while it ran (1-minute load
average sampled every 2 s; CPU seconds the whole machine spent against the run's own). A
table/peer pair already in the file is skipped unless ``--force``; failed runs are retried.

    /work/bench-venv/bin/python bench/peers.py                      # all 16 tables, every peer
    /work/bench-venv/bin/python bench/peers.py --suite more --peers flaml30 flaml60
    /work/bench-venv/bin/python bench/peers.py --datasets titanic --force
    /work/bench-venv/bin/python bench/peers.py --report               # print peers.json
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import _split  # noqa: E402  (pandas and scikit-learn only)

OUT = ROOT / "bench" / "peers.json"

# key → (label in peers.json, kind, budget in seconds). The references write two labels.
PEERS = {
    "references": ("references", "references", None),
    "flaml30": ("FLAML 30 s", "flaml", 30),
    "flaml60": ("FLAML 60 s", "flaml", 60),
    "autogluon60": ("AutoGluon 60 s", "autogluon", 60),
}
REFERENCE_LABELS = ("linear", "HGB defaults")
VERSIONED = ("autogluon.tabular", "flaml", "lightgbm", "xgboost", "catboost", "scikit-learn",
             "pandas", "numpy", "torch")
AUTOGLUON_METRIC = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "root_mean_squared_error"}
FLAML_METRIC = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}


# --------------------------------------------------------------------------- worker (one run)


def load(entry):
    frame = _split.read_csv(entry["path"])
    frame, train_idx, test_idx = _split.split(frame, entry["target"], entry["task"])
    X = frame.drop(columns=[entry["target"]])
    y = frame[entry["target"]]
    return frame, train_idx, test_idx, X, y


def work(kind: str, name: str, budget: float | None) -> dict:
    """Fit one peer on one table's training rows and score it on the test rows."""
    entry = _split.tables(names=[name])[0]
    task, target = entry["task"], entry["target"]
    frame, train_idx, test_idx, X, y = load(entry)
    X_train, X_test, y_train, y_test = X.iloc[train_idx], X.iloc[test_idx], y.iloc[train_idx], y.iloc[test_idx]
    out = {"split": _split.split_fingerprint(frame, test_idx), "results": {}}
    if kind == "references":
        for label, model in _split.reference_models(task, X_train).items():
            t0 = time.perf_counter()
            model.fit(X_train, y_train)
            t1 = time.perf_counter()
            value = _split.model_score(task, y_test, model, X_test)
            out["results"][label] = {"score": value, "fit_s": t1 - t0, "predict_s": time.perf_counter() - t1}
        return out
    if kind == "flaml":
        from flaml import AutoML

        automl = AutoML()
        t0 = time.perf_counter()
        automl.fit(X_train, y_train, task="regression" if task == "regression" else "classification",
                   metric=FLAML_METRIC[task], time_budget=budget, seed=0, verbose=0)
        t1 = time.perf_counter()
        if task == "binary":
            value = _split.score(task, y_test, automl.predict_proba(X_test)[:, 1], automl.classes_[1])
        else:
            value = _split.score(task, y_test, automl.predict(X_test))
        out["results"][f"FLAML {budget:g} s"] = {
            "score": value, "fit_s": t1 - t0, "predict_s": time.perf_counter() - t1,
            "model": str(automl.best_estimator), "config": automl.best_config}
        return out
    if kind == "autogluon":
        from autogluon.tabular import TabularPredictor

        with tempfile.TemporaryDirectory(prefix="peers-ag-") as path:
            predictor = TabularPredictor(label=target, problem_type=task, eval_metric=AUTOGLUON_METRIC[task],
                                         path=path, verbosity=0)
            t0 = time.perf_counter()
            predictor.fit(frame.iloc[train_idx], time_limit=budget)
            t1 = time.perf_counter()
            if task == "binary":
                positive = predictor.positive_class
                value = _split.score(task, y_test, predictor.predict_proba(X_test)[positive], positive)
            else:
                value = _split.score(task, y_test, predictor.predict(X_test))
            predict_s = time.perf_counter() - t1
            n_models = len(predictor.model_names())
            best = predictor.model_best
        out["results"][f"AutoGluon {budget:g} s"] = {
            "score": value, "fit_s": t1 - t0, "predict_s": predict_s, "model": best, "n_models": n_models,
            "presets": "default (medium_quality)"}
        return out
    raise ValueError(kind)


# --------------------------------------------------------------------------- the machine's load


def _cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot (user+nice+system+irq+softirq+steal)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    busy = fields[0] + fields[1] + fields[2] + sum(fields[5:8])
    return busy / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class LoadWatch:
    """The 1-minute load average every ``every`` seconds, and CPU seconds: machine vs the run."""

    def __init__(self, every: float = 2.0):
        self.every, self.samples, self._stop = every, [], threading.Event()

    def __enter__(self):
        self.before = [round(v, 2) for v in os.getloadavg()]
        self.cpu0, self.own0, self.t0 = _cpu_seconds(), _children_cpu(), time.perf_counter()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        wall = time.perf_counter() - self.t0
        machine, own = _cpu_seconds() - self.cpu0, _children_cpu() - self.own0
        samples = self.samples or [os.getloadavg()[0]]
        self.record = {
            "before": self.before, "after": [round(v, 2) for v in os.getloadavg()],
            "mean_1min": round(sum(samples) / len(samples), 2), "max_1min": round(max(samples), 2),
            "cores": os.cpu_count(),
            "run_cpu_s": round(own, 1), "machine_cpu_s": round(machine, 1),
            # cores' worth of work that others did while the run went on; approximate: CPU of
            # processes the run left behind (not waited for) counts as others'
            "others_cores": round(max(0.0, machine - own) / wall, 2) if wall else None,
        }
        return False


# --------------------------------------------------------------------------- driver


def versions() -> dict:
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def read_results() -> dict:
    if OUT.exists():
        return json.loads(OUT.read_text())
    return {"about": ("Peer scores on the seed-0 80/20 splits of bench/_split.py, written by "
                      "bench/peers.py and read by bench/quality.py. Scores are the primary metric "
                      "(roc_auc binary, accuracy multiclass, rmse regression) on the test rows."),
            "tables": {}}


def write_results(data: dict) -> None:
    tmp = OUT.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=float) + "\n")
    tmp.replace(OUT)


def done(table: dict, key: str) -> bool:
    label, kind, _ = PEERS[key]
    labels = REFERENCE_LABELS if kind == "references" else (label,)
    return all("score" in table.get("peers", {}).get(x, {}) for x in labels)


def run_one(key: str, entry: dict, timeout_pad: float) -> tuple[dict, dict, float]:
    label, kind, budget = PEERS[key]
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, entry["name"],
           "" if budget is None else str(budget)]
    timeout = (600 if budget is None else 3 * budget) + timeout_pad
    # In a scratch folder: FLAML's CatBoost writes catboost_<time>/ to the working directory
    # (and leaves it behind when stopped).
    with tempfile.NamedTemporaryFile("r", suffix=".json", prefix="peers-") as result, \
            tempfile.TemporaryDirectory(prefix="peers-cwd-") as scratch:
        t0 = time.perf_counter()
        with LoadWatch() as watch:
            try:
                proc = subprocess.run(cmd + [result.name], capture_output=True, text=True, timeout=timeout,
                                      cwd=scratch)
                error = None if proc.returncode == 0 else (
                    f"exit {proc.returncode}: " + (proc.stderr or proc.stdout).strip()[-2000:])
            except subprocess.TimeoutExpired:
                error = f"timed out after {timeout:g} s"
        wall = time.perf_counter() - t0
        payload = json.loads(result.read()) if error is None else {"error": error}
    return payload, watch.record, wall


def report(data: dict, entries: list[dict]) -> None:
    """Print what peers.json holds: per table each peer's score, wall seconds and the load."""
    labels = [*REFERENCE_LABELS, *(PEERS[k][0] for k in PEERS if k != "references")]
    head = f"{'dataset':<20}{'metric':<10}{'dummy':>10}" + "".join(f"{x:>16}" for x in labels)
    print(head + "\n" + "-" * len(head))
    for entry in entries:
        table = data["tables"].get(entry["name"])
        if not table:
            continue
        cells = []
        for label in labels:
            peer = table["peers"].get(label, {})
            if "score" in peer:
                value = f"{peer['score']:.4g}" if table["metric"] == "rmse" else f"{peer['score']:.4f}"
                cells.append(f"{value} ({peer['wall_s']:.0f}s)")
            else:
                cells.append("fail" if "error" in peer else "-")
        dummy = f"{table['dummy']:.4g}"
        print(f"{entry['name']:<20}{table['metric']:<10}{dummy:>10}" + "".join(f"{c:>16}" for c in cells))
    print("(wall seconds of the peer's whole process in brackets; linear and HGB share one process)")
    loads = [(label, peer["load"]) for e in entries for label, peer in
             data["tables"].get(e["name"], {}).get("peers", {}).items() if "load" in peer]
    if loads:
        means = [x["mean_1min"] for _, x in loads]
        others = [x["others_cores"] for _, x in loads if x.get("others_cores") is not None]
        dates = sorted(p["date"] for e in entries for p in data["tables"].get(e["name"], {})
                       .get("peers", {}).values() if "date" in p)
        print(f"runs from {dates[0]} to {dates[-1]} on {loads[0][1]['cores']} cores: 1-minute load "
              f"average {min(means):.1f}–{max(means):.1f} (mean {sum(means) / len(means):.1f}); other "
              f"processes kept {sum(others) / max(1, len(others)):.2f} cores busy on average")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=["public", "more", "all"], default="all")
    parser.add_argument("--datasets", nargs="*", help="only these tables")
    parser.add_argument("--peers", nargs="*", choices=list(PEERS), help="only these peers")
    parser.add_argument("--force", action="store_true", help="run again what peers.json already has")
    parser.add_argument("--timeout-pad", type=float, default=300,
                        help="seconds added to 3× the budget before a run is stopped")
    parser.add_argument("--report", action="store_true", help="only print what peers.json holds")
    parser.add_argument("--worker", nargs=4, metavar=("KIND", "TABLE", "BUDGET", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, name, budget, out = args.worker
        Path(out).write_text(json.dumps(work(kind, name, float(budget) if budget else None), default=str))
        return

    entries = _split.tables(args.suite, args.datasets)
    if args.datasets and len(entries) != len(set(args.datasets)):
        parser.error(f"unknown tables: {sorted(set(args.datasets) - {e['name'] for e in entries})}")
    keys = args.peers or list(PEERS)
    data = read_results()
    if args.report:
        report(data, entries)
        return
    data["environment"] = {**versions(), "machine": platform.machine(), "cores": os.cpu_count()}
    for entry in entries:
        name, task = entry["name"], entry["task"]
        frame, train_idx, test_idx, X, y = load(entry)
        fingerprint = _split.split_fingerprint(frame, test_idx)
        table = data["tables"].setdefault(name, {})
        if table.get("split") not in (None, fingerprint):
            print(f"{name}: the split changed since peers.json was written; running every peer again")
            table["peers"] = {}
        table.update({
            "suite": entry["suite"], "task": task, "metric": _split.PRIMARY[task], "rows": len(frame),
            "test_rows": len(test_idx), "split": fingerprint,
            "dummy": _split.dummy_score(task, y.iloc[train_idx], y.iloc[test_idx])})
        table.setdefault("peers", {})
        for key in keys:
            if done(table, key) and not args.force:
                continue
            payload, load_record, wall = run_one(key, entry, args.timeout_pad)
            stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
            if "error" in payload:
                label = PEERS[key][0]
                table["peers"][label] = {"error": payload["error"], "wall_s": wall, "date": stamp,
                                         "load": load_record}
                print(f"{name:<20} {label:<16} FAILED after {wall:.0f} s: {payload['error'][-300:]}",
                      flush=True)
            else:
                assert payload["split"] == fingerprint, f"{name}: the worker's split differs"
                table["peers"].pop(PEERS[key][0], None)  # an earlier failure of this run
                for label, result in payload["results"].items():
                    table["peers"][label] = {**result, "wall_s": wall, "date": stamp, "load": load_record}
                    print(f"{name:<20} {label:<16} {table['metric']} {result['score']:.4f}  "
                          f"(fit {result['fit_s']:.1f} s, wall {wall:.1f} s, load {load_record['mean_1min']}, "
                          f"others {load_record['others_cores']} cores)", flush=True)
            write_results(data)
    write_results(data)
    print()
    report(data, entries)


if __name__ == "__main__":
    main()
