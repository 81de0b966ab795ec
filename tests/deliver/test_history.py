"""Run history: record, list, compare, owner isolation, and loading only our own bundles."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest

from core.deliver._history import RunStore
from core.errors import TabwrightError
from core.ingest._read import read_table
from core.recipe import ModelChoice, Recipe
from core.train._runner import train


@pytest.fixture(scope="module")
def two_results(sample_dir):
    frame = read_table(sample_dir / "titanic.csv").frame
    first = train(frame, Recipe(target="survived", auto=False,
                                models=[ModelChoice("logistic_regression")]))
    changed = Recipe(target="survived", auto=False, drop=["class", "embark_town"],
                     models=[ModelChoice("logistic_regression", {"C": 0.1})])
    return first, train(frame, changed)


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "workspace")


def test_record_list_and_get(store, two_results):
    first, second = two_results
    a = store.record(first, data_name="titanic.csv", hypothesis="a baseline")
    b = store.record(second, data_name="titanic.csv", hypothesis="fewer redundant columns")
    runs = store.list_runs()
    assert [r["run_id"] for r in runs] == [b, a]  # newest first
    assert runs[0]["previous_run_id"] == a and runs[1]["previous_run_id"] is None
    assert runs[1]["cv_mean"] == first.leaderboard[0]["roc_auc"]
    assert runs[1]["test_metrics"]["roc_auc"] == first.evaluation["metrics"]["roc_auc"]
    got = store.get(b)
    assert got["hypothesis"] == "fewer redundant columns" and got["model_label"] == "Logistic regression"
    assert got["recipe"]["drop"] == ["class", "embark_town"]
    assert got["original_recipe"]["models"][0]["params"] == {"C": 0.1}
    assert got["fingerprint"] == first.fingerprint and got["task"] == "binary"
    assert (store.workspace / got["bundle_path"] / "model.joblib").is_file()
    store.set_note(b, "keep this one")
    assert store.get(b)["note"] == "keep this one"


def test_compare_shows_recipe_and_metric_changes(store, two_results):
    a = store.record(two_results[0], data_name="titanic.csv")
    b = store.record(two_results[1], data_name="titanic.csv")
    result = store.compare(a, b)
    paths = {c["path"]: c for c in result["recipe_changes"]}
    assert paths["drop"]["old"] == [] and paths["drop"]["new"] == ["class", "embark_town"]
    assert paths["models"]["new"][0]["params"] == {"C": 0.1}
    auc = next(m for m in result["metrics"] if m["kind"] == "test" and m["name"] == "roc_auc")
    want = two_results[1].evaluation["metrics"]["roc_auc"] - two_results[0].evaluation["metrics"]["roc_auc"]
    assert auc["change"] == pytest.approx(want) and auc["better"] == (want > 0)
    log_loss = next(m for m in result["metrics"] if m["name"] == "log_loss")
    assert log_loss["better"] == (log_loss["change"] < 0)  # lower is better
    assert result["same_data"] is True and "roc_auc" in result["summary"]


def test_owners_never_see_each_other(store, two_results):
    mine = store.record(two_results[0], data_name="titanic.csv", owner="ann")
    theirs = store.record(two_results[0], data_name="titanic.csv", owner="bob")
    assert [r["run_id"] for r in store.list_runs(owner="ann")] == [mine]
    assert store.list_runs(owner="local") == []
    assert store.get(theirs, owner="bob")["run_id"] == theirs
    # Someone else's run reads exactly like a run that does not exist.
    with pytest.raises(TabwrightError) as other:
        store.get(theirs, owner="ann")
    with pytest.raises(TabwrightError) as missing:
        store.get("20990101-000000-abcdef", owner="ann")
    assert other.value.message.replace(theirs, "X") == missing.value.message.replace("20990101-000000-abcdef", "X")
    for call in (lambda: store.load_model(theirs, owner="ann"),
                 lambda: store.set_note(theirs, "mine now", owner="ann"),
                 lambda: store.compare(mine, theirs, owner="ann")):
        with pytest.raises(TabwrightError):
            call()
    assert store.get(theirs, owner="bob")["note"] == ""
    # previous_run_id never links across owners.
    assert store.get(theirs, owner="bob")["previous_run_id"] is None


def test_load_model_predicts_and_refuses_paths_outside_the_workspace(store, two_results):
    result = two_results[0]
    run_id = store.record(result, data_name="titanic.csv")
    model, card = store.load_model(run_id)
    assert np.array_equal(model.predict(result.X_test), result.pipeline.predict(result.X_test))
    assert card["target"] == "survived"
    with sqlite3.connect(store.db_path) as con:  # a tampered row must not load a stranger's file
        con.execute("UPDATE runs SET bundle_path = '../../elsewhere' WHERE run_id = ?", (run_id,))
    with pytest.raises(TabwrightError, match="not stored in this workspace"):
        store.load_model(run_id)
    with pytest.raises(TabwrightError):
        store.get("../../etc/passwd")


def test_default_workspace_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TABWRIGHT_WORKSPACE", str(tmp_path / "ws"))
    store = RunStore()
    assert store.db_path == tmp_path / "ws" / "runs.sqlite"
    with sqlite3.connect(store.db_path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_many_threads_can_record_at_once(store, two_results):
    ids, errors = [], []

    def work():
        try:
            ids.append(store.record(two_results[0], data_name="titanic.csv", owner="t"))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(ids)) == 4
    runs = store.list_runs(owner="t")
    assert len(runs) == 4
    # Each run links to an earlier one, except the first.
    assert sum(r["previous_run_id"] is None for r in runs) == 1
