"""The prediction log keeps every prediction and feedback, survives crashes, and never fails one."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.deliver._log import (
    MERGE_SEGMENTS,
    PredictionLog,
    log_folder,
    model_identity,
    request_id,
    row_ids,
)
from core.errors import TabwrightError

ROOT = Path(__file__).resolve().parents[2]
CARD = {
    "task": "binary", "classes": [0, 1], "project": "titanic",
    "input_schema": {"columns": [
        {"name": "age", "role": "numeric", "dtype": "float64"},
        {"name": "fare", "role": "numeric", "dtype": "float64"},
        {"name": "town", "role": "categorical", "dtype": "object"},
        {"name": "alone", "role": "boolean", "dtype": "bool"},
    ]},
}
RECORDS = [{"age": 30.0, "fare": 7.25, "town": "Cork", "alone": True},
           {"age": None, "fare": 80.0, "town": None, "alone": False},
           {"age": 4.0, "fare": 16.7, "town": "Southampton", "alone": False}]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _log(folder, **kwargs) -> PredictionLog:
    kwargs.setdefault("background", False)
    kwargs.setdefault("card", CARD)
    return PredictionLog(folder, **kwargs)


def _serve(log: PredictionLog, records: list[dict], *, rid: str | None = None, run_id: str = "run-a",
           latency_ms: float = 1.5) -> list[str]:
    """What the server does per request: journal its records and predictions."""
    ids = row_ids(rid or request_id(), len(records))
    predictions = [i % 2 for i in range(len(records))]
    proba = [{"0": 1 - 0.1 * (i + 1), "1": 0.1 * (i + 1)} for i in range(len(records))]
    log.record(run_id=run_id, ids=ids, records=records, predictions=predictions,
               probabilities=proba, latency_ms=latency_ms)
    return ids


# --------------------------------------------------------------------------- identity and ids


def test_model_identity_names_the_project_and_the_run():
    assert model_identity({"project": "../Titanic survival", "run_id": "20250101-120000-abcdef"}) == \
        ("_Titanic_survival", "20250101-120000-abcdef")
    project, run_id = model_identity({"task": "binary"}, b"model")
    assert project == "default" and run_id.startswith("bundle-") and len(run_id) == 19
    assert model_identity({"task": "binary"}, b"model") == (project, run_id)
    assert model_identity({"task": "binary"}, b"other")[1] != run_id
    assert model_identity({"task": "binary"})[1] != model_identity({"task": "regression"})[1]
    assert log_folder("a b", workspace="/w") == Path("/w/logs/a_b")


def test_request_ids_use_the_clients_header_made_safe():
    assert request_id("order-17:a.b") == "order-17:a.b"
    assert request_id("../../etc/passwd\n") == "....etcpasswd"
    assert len(request_id()) == 32 and request_id() != request_id()
    assert len(request_id("x" * 500)) == 64
    assert len(request_id("///")) == 32  # nothing left: a new one
    assert row_ids("r", 1) == ["r"] and row_ids("r", 3) == ["r.0", "r.1", "r.2"]


# --------------------------------------------------------------------------- round trip


def test_served_requests_round_trip_with_their_columns_and_types(tmp_path):
    clock = Clock()
    with _log(tmp_path, clock=clock) as log:
        one = _serve(log, RECORDS[:1], rid="single", latency_ms=2.0)
        clock.now += 1
        many = _serve(log, RECORDS, latency_ms=3.0)
        frame = log.read()
    assert one == ["single"] and len(many) == 3 and many[0].endswith(".0")
    assert list(frame.columns) == ["time", "run_id", "request_id", "latency_ms", "prediction",
                                   "proba:0", "proba:1", "input:age", "input:fare", "input:town",
                                   "input:alone"]
    assert str(frame["time"].dtype) == "datetime64[ns, UTC]"
    assert frame["request_id"].tolist() == one + many
    assert frame["run_id"].tolist() == ["run-a"] * 4
    assert frame["latency_ms"].tolist() == [2.0, 3.0, 3.0, 3.0]
    assert frame["prediction"].tolist() == ["0", "0", "1", "0"]
    assert frame["proba:1"].tolist() == pytest.approx([0.1, 0.1, 0.2, 0.3])
    assert frame["input:age"].dtype == np.float64 and np.isnan(frame["input:age"].iloc[2])
    assert frame["input:town"].tolist() == ["Cork", "Cork", None, "Southampton"]
    assert frame["input:alone"].tolist() == ["True", "True", "False", "False"]
    assert frame["time"].iloc[0] == pd.Timestamp(clock.now - 1, unit="s", tz="UTC")
    assert frame.attrs["inputs"] == ["full"]


def test_a_batch_is_one_segment_with_the_same_columns(tmp_path):
    frame = pd.DataFrame(RECORDS * 2 + [{"age": 1, "fare": 2, "town": "Cobh", "alone": True}])
    frame["target"] = 1  # not an input: not logged
    proba = np.linspace(0, 1, len(frame))
    with _log(tmp_path) as log:
        ids = log.record_frame(run_id="run-b", frame=frame, predictions=np.array([0, 1] * 3 + [1]),
                               proba=np.c_[1 - proba, proba], classes=[0, 1], latency_ms=12.5)
        out = log.read()
        assert len(list(tmp_path.glob("pred-*.parquet"))) == 1
    assert out["request_id"].tolist() == ids and ids[0].endswith(".0") and len(set(ids)) == 7
    assert out["prediction"].tolist() == ["0", "1"] * 3 + ["1"]
    assert out["proba:1"].tolist() == pytest.approx(proba.tolist())
    assert out["input:age"].tolist()[:3] == [30.0, pytest.approx(np.nan, nan_ok=True), 4.0]
    assert out["input:town"].tolist()[:2] == ["Cork", None]
    assert "input:target" not in out and (out["latency_ms"] == 12.5).all()


@pytest.mark.parametrize("task,predictions,dtype", [
    ("regression", [1.5, 2.0], "float64"),
    ("clustering", [0, 3], "int64"),
])
def test_the_prediction_column_has_the_tasks_type(tmp_path, task, predictions, dtype):
    card = {**CARD, "task": task, "classes": None}
    with _log(tmp_path / "served", card=card) as served, _log(tmp_path / "batch", card=card) as batch:
        served.record(run_id="r", ids=["a", "b"], records=RECORDS[:2], predictions=predictions,
                      probabilities=None, latency_ms=1)
        batch.record_frame(run_id="r", frame=pd.DataFrame(RECORDS[:2]),
                           predictions=np.asarray(predictions), proba=None, classes=None,
                           latency_ms=1)
        for log in (served, batch):
            frame = log.read()
            assert str(frame["prediction"].dtype) == dtype
            assert frame["prediction"].tolist() == predictions
            assert not [c for c in frame.columns if c.startswith("proba:")]


def test_inputs_modes_full_hashed_and_none(tmp_path):
    folder = tmp_path / "log"
    with _log(folder, inputs="hashed") as hashed:
        _serve(hashed, RECORDS, rid="h")
        # the same rows from a batch (ints, not floats; NaN, not None) hash the same
        frame = pd.DataFrame(RECORDS)
        frame.loc[2, "age"] = 4
        hashed.record_frame(run_id="r", frame=frame, predictions=np.zeros(3), proba=None,
                            classes=None, latency_ms=1)
    with _log(folder, inputs="none") as none:
        _serve(none, RECORDS[:1], rid="n")
    with _log(folder, inputs="full") as full:
        _serve(full, RECORDS[:1], rid="f")
        out = full.read()
    assert out.attrs["inputs"] == ["full", "hashed", "none"]
    by_id = out.set_index("request_id")
    served_hashes = by_id.loc[["h.0", "h.1", "h.2"], "input_hash"].tolist()
    batch_hashes = out["input_hash"].iloc[3:6].tolist()
    assert served_hashes == batch_hashes and len(set(served_hashes)) == 3
    assert all(len(h) == 64 for h in served_hashes)
    assert by_id.loc["h.0", "input:age"] != by_id.loc["h.0", "input:age"]  # NaN: not kept
    assert pd.isna(by_id.loc["n", "input_hash"]) and pd.isna(by_id.loc["n", "input:town"])
    assert by_id.loc["f", "input:town"] == "Cork" and pd.isna(by_id.loc["f", "input_hash"])
    only_hashed = full.read(columns=["request_id", "input_hash"])
    assert list(only_hashed.columns) == ["request_id", "input_hash"]
    with pytest.raises(TabwrightError, match="must be one of full, hashed, none"):
        PredictionLog(folder, inputs="some")


def test_reads_filter_by_time_run_and_columns(tmp_path):
    clock = Clock(1_700_000_000.0)
    with _log(tmp_path, clock=clock) as log:
        for i in range(10):
            _serve(log, RECORDS[:1], rid=f"r{i}", run_id="old" if i < 5 else "new")
            clock.now += 60
        log.flush()
        clock.now += 60
        log.record_frame(run_id="new", frame=pd.DataFrame(RECORDS), predictions=np.ones(3),
                         proba=None, classes=None, latency_ms=1)
        start = pd.Timestamp(1_700_000_000.0 + 120, unit="s", tz="UTC")
        window = log.read(since=start, until=start + pd.Timedelta(minutes=3))
        assert window["request_id"].tolist() == ["r2", "r3", "r4"]
        assert log.read(since=(start + pd.Timedelta(minutes=9)).tz_localize(None))[
            "request_id"].str.contains(r"\.").all()  # naive times are UTC: only the batch
        assert log.read(since=1_700_000_000.0 + 540)["request_id"].tolist()[0] == "r9"
        assert log.read(run_id="old")["request_id"].tolist() == [f"r{i}" for i in range(5)]
        narrow = log.read(columns=["time", "prediction"], run_id="new")
        assert list(narrow.columns) == ["time", "prediction"] and len(narrow) == 8
        assert narrow["time"].is_monotonic_increasing
        assert log.read(since="2100-01-01").empty


def test_an_empty_log_reads_as_empty_frames(tmp_path):
    log = _log(tmp_path)
    frame = log.read()
    assert frame.empty and str(frame["time"].dtype) == "datetime64[ns, UTC]"
    assert frame.attrs["inputs"] == []
    feedback = log.read_feedback()
    assert list(feedback.columns) == ["request_id", "actual", "received"] and feedback.empty
    assert log.health()["rows"] == 0 and log.health()["oldest"] is None


# --------------------------------------------------------------------------- the background


def test_the_background_thread_turns_the_journal_into_segments(tmp_path, monkeypatch):
    monkeypatch.setattr("core.deliver._log.SEAL_SECONDS", 0.05)
    log = PredictionLog(tmp_path, card=CARD)
    try:
        _serve(log, RECORDS)
        deadline = time.monotonic() + 10
        while not list(tmp_path.glob("pred-*.parquet")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert list(tmp_path.glob("pred-*.parquet"))
        assert not list(tmp_path.glob("journal-*")) and not list(tmp_path.glob("sealed-*"))
        # read by another process's view of the folder: segments only, no journal needed
        assert len(PredictionLog(tmp_path, background=False).read()) == 3
        assert log.health()["rows"] == 3 and log.health()["pending"] == 0
    finally:
        log.close()


def test_many_small_segments_are_merged_and_a_crash_midway_doubles_nothing(tmp_path):
    with _log(tmp_path) as log:
        for i in range(MERGE_SEGMENTS + 2):
            _serve(log, RECORDS[:2], rid=f"r{i}")
            log.flush()
            if i == 0:
                first = next(tmp_path.glob("pred-*.parquet"))
                kept = first.read_bytes()
        merged = [p for p in tmp_path.glob("pred-*.parquet") if "-m" in p.name]
        assert len(merged) == 1 and not first.exists()
        assert len(list(tmp_path.glob("pred-*.parquet"))) < MERGE_SEGMENTS
        frame = log.read()
    want = [f"r{i}.{j}" for i in range(MERGE_SEGMENTS + 2) for j in range(2)]
    assert frame["request_id"].tolist() == want
    # a process killed after writing the merged segment, before deleting its sources
    first.write_bytes(kept)
    reader = _log(tmp_path, background=False)
    assert reader.read()["request_id"].tolist() == want
    assert not first.exists()  # maintenance deleted the leftover source


# --------------------------------------------------------------------------- crashes


def _crashing_writer(folder: Path, script: str) -> None:
    """Run ``script`` in a process that records into ``folder`` and is then SIGKILLed."""
    code = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from core.deliver._log import PredictionLog
        card = {CARD!r}
        log = PredictionLog({str(folder)!r}, card=card, background=False)
        def serve(rid, n):
            log.record(run_id="crashed", ids=[f"{{rid}}.{{i}}" for i in range(n)] if n > 1 else [rid],
                       records=[{{"age": 1.0, "fare": 2.0, "town": "Cork", "alone": True}}] * n,
                       predictions=[1] * n, probabilities=None, latency_ms=1.0)
    """) + textwrap.dedent(script) + "\nos.kill(os.getpid(), signal.SIGKILL)\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == -9, done.stderr.decode()


def test_reopening_after_a_crash_replays_journal_and_sealed_files_exactly_once(tmp_path):
    _crashing_writer(tmp_path, """
        for i in range(5):
            serve(f"a{i}", 1)
        log._seal()          # sealed, not yet converted
        for i in range(4):
            serve(f"b{i}", 2)
        os.write(log._fd, b'{"t": 1, "run": "cut sh')   # a line cut short by the kill
    """)
    assert len(list(tmp_path.glob("sealed-*.jsonl"))) == 1
    assert len(list(tmp_path.glob("journal-*.jsonl"))) == 1
    sealed = next(tmp_path.glob("sealed-*.jsonl")).read_bytes()
    with _log(tmp_path) as log:
        frame = log.read()
        assert log.health()["ok"]
    want = [f"a{i}" for i in range(5)] + [f"b{i}.{j}" for i in range(4) for j in range(2)]
    assert sorted(frame["request_id"]) == sorted(want)
    assert not list(tmp_path.glob("sealed-*")) and not list(tmp_path.glob("journal-*"))
    # killed after writing a segment but before deleting its sealed journal: the journal
    # comes back on the next open, and is recognised as converted
    segment = next(p for p in tmp_path.glob("pred-*.parquet"))
    (tmp_path / ("sealed-" + segment.name[len("pred-"):-len(".parquet")] + ".jsonl")).write_bytes(
        sealed)
    with _log(tmp_path) as log:
        assert sorted(log.read()["request_id"]) == sorted(want)
        assert not list(tmp_path.glob("sealed-*"))


def test_a_live_writers_journal_is_not_taken_by_another_process(tmp_path):
    writer = _log(tmp_path)
    _serve(writer, RECORDS[:1], rid="live")
    journal = next(tmp_path.glob("journal-*.jsonl"))
    reader = _log(tmp_path)  # opens and maintains the folder while the writer is alive
    assert journal.exists() and reader.read().empty
    _serve(writer, RECORDS[:1], rid="still-live")
    writer.close()
    assert reader.read()["request_id"].tolist() == ["live", "still-live"]


# --------------------------------------------------------------------------- retention


def test_retention_by_age_deletes_old_segments_on_open(tmp_path):
    clock = Clock()
    with _log(tmp_path, clock=clock, max_days=10) as log:
        _serve(log, RECORDS[:1], rid="old")
        assert log.add_feedback(["old"], [1])["accepted"] == 1
        clock.now += 8 * 86400
        _serve(log, RECORDS[:1], rid="recent")
        assert log.add_feedback(["recent"], [0])["accepted"] == 1
    clock.now += 3 * 86400  # "old" is 11 days old now, "recent" 3
    with _log(tmp_path, clock=clock, max_days=10) as log:
        assert log.read()["request_id"].tolist() == ["recent"]
        assert log.read_feedback()["request_id"].tolist() == ["recent"]
        assert log.health()["rows"] == 1


def test_retention_by_size_deletes_the_oldest_segments_first(tmp_path):
    clock = Clock()
    frame = pd.DataFrame({"age": np.arange(2000.0), "fare": 1.0, "town": "Cork", "alone": True})
    with _log(tmp_path, clock=clock) as log:
        batches = []
        for _ in range(4):
            batches.append(log.record_frame(run_id="r", frame=frame, predictions=np.ones(2000),
                                            proba=None, classes=None, latency_ms=1)[0])
            clock.now += 1
        size = max(p.stat().st_size for p in tmp_path.glob("pred-*.parquet"))
    with _log(tmp_path, clock=clock, max_bytes=int(size * 2.5)) as log:
        kept = log.read()["request_id"].str.endswith(".0")
        assert log.read()["request_id"][kept].tolist() == batches[2:]
        assert log.health()["bytes"] <= size * 2.5


# --------------------------------------------------------------------------- failures


def test_an_unwritable_folder_never_fails_a_prediction_and_shows_in_health(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log folder should be")
    log = _log(blocker / "logs" / "titanic")
    health = log.health()
    assert not health["ok"] and health["errors"] >= 1
    for _ in range(3):
        _serve(log, RECORDS[:1])
    ids = log.record_frame(run_id="r", frame=pd.DataFrame(RECORDS), predictions=np.ones(3),
                           proba=None, classes=None, latency_ms=1)
    assert len(ids) == 3
    health = log.health()
    assert not health["ok"] and health["errors"] >= 5
    assert "not-a-folder" in health["last_error"] and "Not a directory" in health["last_error"]
    log.close()


def test_a_full_disk_never_fails_a_prediction(tmp_path):
    """A real file-size limit (RLIMIT_FSIZE) makes every write past it fail, as a full disk does."""
    code = textwrap.dedent(f"""
        import resource, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from core.deliver._log import PredictionLog
        log = PredictionLog({str(tmp_path)!r}, card={CARD!r}, background=False)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))
        record = {{"age": 1.0, "fare": 2.0, "town": "Cork" * 20, "alone": True}}
        for i in range(50):
            log.record(run_id="r", ids=[str(i)], records=[record], predictions=[1],
                       probabilities=None, latency_ms=1.0)
        health = log.health()
        log.flush()
        print(health["ok"], health["errors"], "|", health["last_error"])
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    ok, errors, _, message = done.stdout.split(" ", 3)
    assert ok == "False" and 30 < int(errors) < 50 and "File too large" in message


# --------------------------------------------------------------------------- feedback


def test_feedback_counts_unknown_invalid_and_duplicate_ids(tmp_path):
    with _log(tmp_path) as log:
        ids = _serve(log, RECORDS) + _serve(log, RECORDS[:1], rid="solo")
        result = log.add_feedback(
            [ids[0], ids[1], ids[0], "nope", ids[2], "solo", 7.0],
            [1, "0", 0, 1, "maybe", 1.0, 1])
        assert result == {"rows": 7, "accepted": 3, "unknown": 2, "invalid": 1, "duplicate": 1,
                          "messages": result["messages"]}
        assert "'nope'" in result["messages"][0] and "'7'" in result["messages"][0]
        assert "'maybe'" in result["messages"][1] and "one of the classes 0, 1" in result["messages"][1]
        assert "given twice" in result["messages"][2]
        again = log.add_feedback(["solo", ids[2]], [0, 1])
        assert again["duplicate"] == 1 and again["accepted"] == 1
        feedback = log.read_feedback()
    assert feedback["request_id"].tolist() == [ids[0], ids[1], "solo", ids[2]]
    assert feedback["actual"].tolist() == ["1", "0", "1", "1"]
    assert str(feedback["received"].dtype) == "datetime64[ns, UTC]"


def test_regression_feedback_takes_numbers_only(tmp_path):
    card = {**CARD, "task": "regression", "classes": None}
    with _log(tmp_path, card=card) as log:
        log.record(run_id="r", ids=["a", "b", "c", "d", "e"], records=RECORDS[:1] * 5,
                   predictions=[1.0] * 5, probabilities=None, latency_ms=1)
        result = log.add_feedback(["a", "b", "c", "d", "e"], [2.5, "3.25", "lots", None, True],
                                  task="regression")
        assert (result["accepted"], result["invalid"]) == (2, 3)
        assert "must be a number" in result["messages"][0]
        assert log.read_feedback()["actual"].tolist() == [2.5, 3.25]
    # the task and classes come from the log itself when not given (the CLI's --project)
    reader = _log(tmp_path, card=None)
    assert reader.add_feedback(["c"], ["text"])["invalid"] == 1
    with pytest.raises(TabwrightError, match="one true value per id"):
        reader.add_feedback(["c"], [1, 2])


def test_clustering_takes_no_feedback(tmp_path):
    log = _log(tmp_path, card={**CARD, "task": "clustering", "classes": None})
    with pytest.raises(TabwrightError, match="clustering model has no true values"):
        log.add_feedback(["a"], [1])


# --------------------------------------------------------------------------- speed


@pytest.mark.slow
def test_a_million_rows_with_twenty_inputs_are_written_in_batches_and_read_back_whole(tmp_path):
    # How fast: bench/monitor.py --end-to-end and bench/serve.py (speed lives in benchmarks).
    n, rng = 100_000, np.random.default_rng(0)
    columns = {f"x{i}": rng.normal(size=n).round(2) for i in range(18)}
    columns |= {"town": rng.choice(["Cork", "Cobh", "Belfast"], n), "kind": rng.choice(["a", "b"], n)}
    schema = [{"name": f"x{i}", "role": "numeric", "dtype": "float64"} for i in range(18)]
    schema += [{"name": c, "role": "categorical", "dtype": "object"} for c in ("town", "kind")]
    card = {"task": "binary", "classes": [0, 1], "input_schema": {"columns": schema}}
    frame = pd.DataFrame(columns)
    with _log(tmp_path, card=card) as log:
        for _ in range(10):
            log.record_frame(run_id="r", frame=frame, predictions=rng.integers(0, 2, n),
                             proba=rng.random((n, 2)), classes=[0, 1], latency_ms=1)
        out = log.read()
        as_categories = log.read(categories=True)
    assert out.shape == as_categories.shape == (1_000_000, 5 + 2 + 20)
    assert out["input:town"].tolist()[:100] == frame["town"].tolist()[:100]
    assert isinstance(as_categories["input:town"].dtype, pd.CategoricalDtype)
    assert as_categories["input:town"].astype(str).tolist()[:100] == frame["town"].tolist()[:100]
