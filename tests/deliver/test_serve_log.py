"""A real ``tabwright serve`` logs what it predicts, takes feedback, shows /metrics and /health,
loses no answered prediction when killed, and follows the production run."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from core.cli import main
from core.deliver._export import model_card, write_bundle
from core.deliver._history import RunStore
from core.deliver._log import PredictionLog, log_folder, model_identity
from core.deliver._serve import DRIFT_MIN_RECORDS, create_app
from core.ingest._read import read_table
from core.monitor import monitor_card
from core.recipe import ModelChoice, Recipe
from core.train._runner import train

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def titanic(sample_dir):
    return read_table(sample_dir / "titanic.csv").frame


@pytest.fixture(scope="module")
def trained(titanic):
    return train(titanic, Recipe(target="survived", auto=False,
                                 models=[ModelChoice("logistic_regression")]))


@pytest.fixture(scope="module")
def bundle(trained, tmp_path_factory):
    return write_bundle(trained, tmp_path_factory.mktemp("bundle") / "m", data_name="titanic.csv")


def _records(X: pd.DataFrame) -> list[dict]:
    rows = X.astype(object).where(X.notna(), None).to_dict("records")
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in rows]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python -m core.cli serve ...`` on a free port, with its own workspace."""

    def __init__(self, workspace: Path, *args: str) -> None:
        self.port = _free_port()
        env = os.environ | {"PYTHONPATH": str(ROOT), "TABWRIGHT_WORKSPACE": str(workspace)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "serve", *args, "--port", str(self.port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the server did not start: {self.process.stderr.read()!r}")
            time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.process.wait(timeout=30)


def test_served_predictions_and_feedback_are_logged_and_shown(bundle, trained, tmp_path):
    server = Server(tmp_path, str(bundle), "--trust")
    try:
        records = _records(trained.X_test.head(4))
        with httpx.Client(base_url=server.url, timeout=30) as client:
            one = client.post("/predict", json={"records": records[:1]},
                              headers={"X-Request-ID": "order 17"}).json()
            three = client.post("/predict", json={"records": records[1:]}).json()
            assert one["request_id"] == "order17" and one["ids"] == ["order17"]
            assert three["ids"] == [f"{three['request_id']}.{i}" for i in range(3)]
            feedback = client.post("/feedback", json={"feedback": [
                {"id": "order17", "actual": 1}, {"id": three["ids"][2], "actual": "0"},
                {"id": "order17", "actual": 0}, {"id": "unheard-of", "actual": 1},
                {"id": three["ids"][0], "actual": "yes"}]}).json()
            assert {k: feedback[k] for k in ("rows", "accepted", "unknown", "invalid", "duplicate")} \
                == {"rows": 5, "accepted": 2, "unknown": 1, "invalid": 1, "duplicate": 1}
            malformed = client.post("/feedback", json={"feedback": [{"actual": 1}]})
            assert malformed.status_code == 422
            assert malformed.json()["errors"] == ["feedback[0].id: 'id' is required"]
            health = client.get("/health").json()
            metrics = client.get("/metrics")
    finally:
        server.stop()
    card = json.loads((bundle / "model.json").read_text())
    project, run_id = model_identity(card, (bundle / "model.joblib").read_bytes())
    assert health["run_id"] == run_id and health["project"] == project
    assert health["log"]["ok"] and health["log"]["errors"] == 0 and health["log"]["inputs"] == "full"
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'tabwright_requests_total{endpoint="/predict",status="200"} 2.0' in text
    assert 'tabwright_requests_total{endpoint="/feedback",status="422"} 1.0' in text
    assert 'tabwright_request_seconds_count{endpoint="/predict"} 2.0' in text
    assert "tabwright_rows_predicted_total 4.0" in text
    predicted = [p for body in (one, three) for p in body["predictions"]]
    for label in (0, 1):
        count = float(predicted.count(label))
        if count:
            assert f'tabwright_predictions_total{{label="{label}"}} {count}' in text
    assert "tabwright_log_errors_total 0.0" in text

    log = PredictionLog(log_folder(project, workspace=tmp_path), background=False)
    rows = log.read()
    assert rows["request_id"].tolist() == one["ids"] + three["ids"]
    assert (rows["run_id"] == run_id).all()
    assert rows["prediction"].tolist() == [str(p) for p in predicted]
    assert rows["proba:1"].tolist() == [p["1"] for body in (one, three) for p in body["probabilities"]]
    assert rows["input:age"].tolist()[:1] == [records[0]["age"] if records[0]["age"] is not None
                                              else pytest.approx(np.nan, nan_ok=True)]
    assert rows["input:sex"].tolist() == [r["sex"] for r in records]
    assert (rows["latency_ms"] > 0).all() and (rows["latency_ms"] < 5_000).all()
    kept = log.read_feedback()
    assert kept["request_id"].tolist() == ["order17", three["ids"][2]]
    assert kept["actual"].tolist() == ["1", "0"]
    # ... and the monitor sees the four predictions and the two outcomes, as `tabwright monitor`
    report = monitor_card(card, window="hour", workspace=tmp_path,
                          model_bytes=(bundle / "model.joblib").read_bytes())
    assert int(report.windows["rows"].sum()) == 4 and int(report.windows["requests"].sum()) == 2
    assert int(report.windows["labelled"].sum()) == 2


def test_no_answered_prediction_is_lost_when_the_server_is_killed(bundle, trained, tmp_path):
    server = Server(tmp_path, str(bundle), "--trust", "--log-inputs", "hashed")
    answered: list[str] = []
    failures: list[Exception] = []
    stop = threading.Event()
    records = _records(trained.X_test.head(50))

    def client(k: int) -> None:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            i = 0
            while not stop.is_set():
                try:
                    body = http.post("/predict", json={"records": [records[(k + i) % 50]] * (1 + i % 3)}
                                     ).json()
                except (httpx.HTTPError, ValueError) as exc:
                    failures.append(exc)
                    return
                answered.extend(body["ids"])
                i += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(2.5)  # past a background seal: some rows in segments, some in the journal
    server.stop(signal.SIGKILL)
    stop.set()
    for thread in threads:
        thread.join(timeout=20)
    assert server.process.returncode == -signal.SIGKILL
    assert len(answered) > 100 and failures  # the kill cut requests short
    folder = log_folder(model_identity(json.loads((bundle / "model.json").read_text()))[0],
                        workspace=tmp_path)
    assert list(folder.glob("journal-*.jsonl"))  # what the killed server was writing
    log = PredictionLog(folder, background=False)
    logged = log.read(columns=["request_id", "input_hash"])
    assert log.health()["ok"] and log.health()["errors"] == 0
    assert set(answered) <= set(logged["request_id"])
    assert logged["request_id"].is_unique and logged["input_hash"].notna().all()
    assert logged.attrs["inputs"] == ["hashed"]
    assert not list(folder.glob("journal-*")) and not list(folder.glob("sealed-*"))


@pytest.mark.parametrize("args, fragment", [
    ([], "got neither"),
    (["BUNDLE", "--production", "titanic"], "not both"),
    (["BUNDLE", "--no-log", "--log-inputs", "none"], "does not apply"),
    (["--production", "Not A Project"], "project name"),
    (["BUNDLE", "--port", "99999"], "The port must be between 1 and 65535, got 99999."),
    (["BUNDLE", "--host", "999.1.1.1"], "'999.1.1.1' is not an address this machine can listen on"),
    (["BUNDLE", "--port", "HELD"], "Cannot listen on 127.0.0.1:"),
])
def test_bad_serve_arguments_exit_2_in_one_line(args, fragment, bundle, capsys):
    with socket.socket() as held:  # a port another program listens on
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = str(held.getsockname()[1])
        code = main(["serve", *[str(bundle) if a == "BUNDLE" else port if a == "HELD" else a
                                for a in args]])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and fragment in lines[0], lines


def test_a_project_without_a_production_run_is_refused_by_the_real_command(tmp_path):
    env = os.environ | {"PYTHONPATH": str(ROOT), "TABWRIGHT_WORKSPACE": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "core.cli", "serve", "--production", "titanic"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "tabwright: The project 'titanic' has no run in production. Promote one of its runs on "
        "the Runs page first, then start the server again."]


# --------------------------------------------------------------------------- in process


def test_without_a_log_feedback_is_refused_and_health_says_so(trained):
    client = TestClient(create_app(trained.pipeline, model_card(trained, data_name="titanic.csv")))
    body = client.post("/predict", json={"records": _records(trained.X_test.head(2))}).json()
    assert len(body["ids"]) == 2
    response = client.post("/feedback", json={"feedback": [{"id": body["ids"][0], "actual": 1}]})
    assert response.status_code == 409 and "no prediction log" in response.json()["detail"]
    assert client.get("/health").json()["log"] is None


def test_input_drift_on_metrics_follows_the_records_served(trained, tmp_path):
    card = model_card(trained, data_name="titanic.csv")
    app = create_app(trained.pipeline, card, log=PredictionLog(tmp_path, card=card))
    client = TestClient(app)
    records = _records(trained.X_test)
    for record in records[:DRIFT_MIN_RECORDS]:  # like the training data
        client.post("/predict", json={"records": [record]})
    app.state.monitor.measure_drift()
    calm = _psi(client.get("/metrics").text)
    shifted = [{**r, "age": 70.0, "sex": "female"} for r in records]
    client.post("/predict", json={"records": shifted * 40})  # the ring keeps the latest 10k
    app.state.monitor.measure_drift()
    drifted = _psi(client.get("/metrics").text)
    assert set(calm) == set(drifted) >= {"age", "sex", "fare"}
    assert calm["age"] < 0.25 and calm["sex"] < 0.25
    assert drifted["age"] > 1 and drifted["sex"] > 0.25 and drifted["fare"] < 0.25
    app.state.log.close()


def _psi(text: str) -> dict[str, float]:
    return {m[1]: float(m[2]) for m in re.finditer(
        r'^tabwright_input_drift_psi\{feature="([^"]+)"\} (\S+)$', text, re.M)}


def test_regression_predictions_show_as_a_histogram(titanic):
    result = train(titanic, Recipe(target="fare", auto=False, models=[ModelChoice("ridge")]))
    card = model_card(result, data_name="titanic.csv")
    client = TestClient(create_app(result.pipeline, card))
    body = client.post("/predict", json={"records": _records(result.X_test.head(30))}).json()
    text = client.get("/metrics").text
    edges = card["baseline"]["target"]["edges"]
    values = np.asarray(body["predictions"])
    assert f"tabwright_prediction_value_count {float(len(values))}" in text
    below = float((values <= edges[0]).sum())
    assert f'tabwright_prediction_value_bucket{{le="{edges[0]:.6g}"}} {below}' in text
    assert "tabwright_predictions_total" not in text


# --------------------------------------------------------------------------- production


@pytest.mark.slow
def test_serving_the_production_run_follows_a_promotion_without_dropping_requests(
        titanic, trained, tmp_path, monkeypatch):
    monkeypatch.setenv("TABWRIGHT_WORKSPACE", str(tmp_path))  # the server's: its signing key
    store = RunStore(tmp_path)
    first = store.record(trained, data_name="titanic.csv")
    other = train(titanic, Recipe(target="survived", auto=False,
                                  models=[ModelChoice("hist_gradient_boosting")]))
    second = store.record(other, data_name="titanic.csv")
    store.promote(first, note="the first model")
    server = Server(tmp_path, "--production", "titanic")
    statuses: list[int] = []
    served_by: set[str] = set()
    stop = threading.Event()
    record = _records(trained.X_test.head(1))

    def client() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            while not stop.is_set():
                statuses.append(http.post("/predict", json={"records": record}).status_code)

    thread = threading.Thread(target=client)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert http.get("/health").json()["run_id"] == first
            thread.start()
            time.sleep(0.5)
            store.promote(second, note="boosting is better")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                health = http.get("/health").json()
                served_by.add(health["run_id"])
                if health["run_id"] == second:
                    break
                time.sleep(0.2)
            time.sleep(0.5)
    finally:
        stop.set()
        thread.join(timeout=30)
        server.stop()
    assert served_by == {first, second} and health["project"] == "titanic"
    assert len(statuses) > 50 and set(statuses) == {200}
    rows = PredictionLog(log_folder("titanic", workspace=tmp_path), background=False).read()
    assert set(rows["run_id"]) == {first, second}
    assert len(rows) == len(statuses)
