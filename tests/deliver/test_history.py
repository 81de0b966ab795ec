"""Run history: record, list, compare, owner isolation, and loading only our own bundles."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest

from core.deliver._history import (
    RunStore,
    comparison_tables,
    history_table,
    run_label,
    run_summary,
    run_time,
)
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


def test_a_note_is_kept_shown_and_cleared(store, two_results, tmp_path):
    a = store.record(two_results[0], data_name="titanic.csv")
    b = store.record(two_results[1], data_name="titanic.csv")
    store.set_note(a, "  best so far, but slow  ")
    assert store.get(a)["note"] == "best so far, but slow"  # outer spaces are dropped
    reopened = RunStore(tmp_path / "workspace")
    assert {r["run_id"]: r["note"] for r in reopened.list_runs()} == {a: "best so far, but slow", b: ""}
    assert reopened.compare(a, b)["a"]["note"] == "best so far, but slow"
    reopened.set_note(a, "   ")  # a blank note clears it
    assert store.get(a)["note"] == ""


def test_a_note_on_an_unknown_run_or_too_long_is_refused(store, two_results):
    with pytest.raises(TabwrightError) as unknown:
        store.set_note("20990101-000000-abcdef", "hello")
    assert unknown.value.message == "There is no run '20990101-000000-abcdef' in your history."
    assert unknown.value.hint == "Pick a run from the list of your runs."
    with pytest.raises(TabwrightError, match="no run 'not a run id'"):
        store.set_note("not a run id", "hello")
    run_id = store.record(two_results[0], data_name="titanic.csv")
    with pytest.raises(TabwrightError, match="The note must be at most 10,000 characters, got 10,001."):
        store.set_note(run_id, "x" * 10_001)
    assert store.get(run_id)["note"] == ""


def test_runs_in_words_and_as_tables(store, two_results):
    a = store.record(two_results[0], data_name="titanic.csv", hypothesis="a baseline")
    b = store.record(two_results[1], data_name="titanic.csv")
    store.set_note(b, "fewer columns")
    runs = store.list_runs()
    test_auc = two_results[1].evaluation["metrics"]["roc_auc"]
    assert run_time("2024-05-01T12:03:04.123456+00:00") == "2024-05-01 12:03:04"
    assert run_label(runs[0]) == f"{run_time(runs[0]['created'])} · Logistic regression · test roc_auc {test_auc:.4f}"
    assert run_label(runs[0] | {"test_metrics": {}, "cv_mean": None}).endswith("· CV roc_auc n/a")
    long = run_label(runs[0] | {"model_label": "Ensemble of " + "Random forest × 2, " * 4})
    assert long.split(" · ")[1] == "Ensemble of Random forest × 2, Random f…"  # 40 characters
    assert run_summary(runs[1]) == (f"Logistic regression — CV roc_auc {runs[1]['cv_mean']:.4f} "
                                    f"± {runs[1]['cv_std']:.4f}")
    table = history_table(runs, current=a)
    assert list(table.columns) == ["When (UTC)", "Model", "Hypothesis", "Note", "Test", "CV", "± std",
                                   "Metric", "Duration (s)", "Data"]
    assert list(table["Note"]) == ["fewer columns", ""] and list(table["Hypothesis"]) == ["", "a baseline"]
    assert table["When (UTC)"][1].endswith("  ◀ current") and "current" not in table["When (UTC)"][0]
    assert table["Metric"][0] == "ROC-AUC" and table["Test"][0] == test_auc
    assert table["Data"][0] == f"titanic.csv · {runs[0]['fingerprint'][:8]}"
    scores, changes = comparison_tables(store.compare(a, b))
    assert list(scores.columns) == ["Score", "A", "B", "Change", "B is"]
    auc = scores.set_index("Score").loc["Test ROC-AUC"]
    assert auc["B is"] == ("✅ better" if auc["Change"] > 0 else "❌ worse" if auc["Change"] < 0 else "—")
    assert scores["Score"][0] == "CV ROC-AUC"
    shown = changes.set_index("Setting")
    assert shown.loc["drop", "A"] == "[]" and shown.loc["drop", "B"] == '["class", "embark_town"]'
    same = comparison_tables(store.compare(a, a))[1]
    assert same.empty and list(same.columns) == ["Setting", "A", "B"]


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
