"""Run history: record, list, compare, owner isolation, loading only our own bundles, and the
production run of each project with its append-only log."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing

import numpy as np
import pytest

from core.deliver._history import (
    SCHEMA_VERSION,
    RunStore,
    comparison_tables,
    history_table,
    project_name,
    promotions_table,
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
    assert list(table.columns) == ["When (UTC)", "Production", "Model", "Hypothesis", "Note", "Test", "CV",
                                   "± std", "Metric", "Duration (s)", "Data"]
    assert list(table["Production"]) == ["", ""]  # nothing promoted yet
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


# ---- projects and the production run --------------------------------------------------------

# runs.sqlite as tabwright wrote it before projects (user_version 0).
_SCHEMA_BEFORE_PROJECTS = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, owner TEXT NOT NULL, created TEXT NOT NULL, data_name TEXT NOT NULL,
    fingerprint TEXT NOT NULL, task TEXT NOT NULL, target TEXT, model TEXT NOT NULL,
    model_label TEXT NOT NULL, metric TEXT NOT NULL, cv_mean REAL, cv_std REAL,
    test_metrics TEXT NOT NULL, recipe TEXT NOT NULL, original_recipe TEXT NOT NULL,
    leaderboard TEXT NOT NULL, n_train INTEGER, n_test INTEGER, threshold REAL, duration REAL,
    hypothesis TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '', bundle_path TEXT NOT NULL,
    previous_run_id TEXT
);
CREATE INDEX runs_by_owner ON runs (owner, created);
CREATE INDEX runs_by_data ON runs (owner, fingerprint, created);
"""


@pytest.fixture(scope="module")
def recorded_history(tmp_path_factory, two_results):
    """A history with three runs of titanic.csv, recorded once (writing a bundle takes seconds)."""
    store = RunStore(tmp_path_factory.mktemp("recorded"))
    return store.db_path, [store.record(two_results[i % 2], data_name="titanic.csv") for i in range(3)]


@pytest.fixture
def three_runs(store, recorded_history):
    """Three runs of titanic.csv (project "titanic"), oldest first, none in production.

    A copy of :func:`recorded_history` made the test's own (the bundles stay behind: the
    production run is the history's business, not the model files').
    """
    source, run_ids = recorded_history
    with closing(sqlite3.connect(source)) as recorded, closing(sqlite3.connect(store.db_path)) as mine:
        recorded.backup(mine)
    return run_ids


@pytest.mark.parametrize("data_name, project", [
    ("Titanic Survival.csv", "titanic-survival"),
    ("titanic.csv", "titanic"),
    ("/data/exports/Données été 2024 (v2).CSV", "donnees-ete-2024-v2"),
    ("sales__2024.parquet", "sales__2024"),
    ("--weird--.csv", "weird"),
    ("数据.csv", "data"),
    ("x" * 100 + ".csv", "x" * 64),
])
def test_project_name_is_the_file_stem_as_a_slug(data_name, project):
    assert project_name(data_name) == project


def test_a_run_belongs_to_a_project(store, two_results):
    by_default = store.record(two_results[0], data_name="Titanic Survival.csv")
    named = store.record(two_results[0], data_name="titanic.csv", project="passengers_2024")
    runs = {r["run_id"]: r for r in store.list_runs()}
    assert runs[by_default]["project"] == "titanic-survival" and runs[named]["project"] == "passengers_2024"
    assert runs[by_default]["production"] is False and store.get(named)["project"] == "passengers_2024"
    # The run's bundle says where it belongs, for the server and for retraining from the folder.
    card = store.load_model(named)[1]
    assert (card["run_id"], card["project"]) == (named, "passengers_2024")
    assert store.projects() == ["passengers_2024", "titanic-survival"]  # newest run first
    for bad in ("Titanic Survival", "", "-x", "x_", "a/b", "x" * 65):
        with pytest.raises(TabwrightError, match="A project name must be 1 to 64 of a-z"):
            store.record(two_results[0], data_name="titanic.csv", project=bad)
    assert len(store.list_runs()) == 2  # and nothing half-written
    assert sorted(p.name for p in store.runs_dir.iterdir()) == sorted([by_default, named])


def test_promote_moves_the_badge_and_logs_who_and_why(store, three_runs, two_results, monkeypatch):
    first, second, _ = three_runs
    monkeypatch.setattr("getpass.getuser", lambda: "ann")
    assert store.production("titanic") is None and store.production_details("titanic") is None
    entry = store.promote(first, note="  best recall on last month  ")
    assert entry | {"time": "t"} == {"time": "t", "action": "promote", "run_id": first,
                                     "previous_run_id": None, "who": "ann",
                                     "note": "best recall on last month", "project": "titanic"}
    assert store.production("titanic") == first
    assert [r["run_id"] for r in store.list_runs() if r["production"]] == [first]
    assert store.get(first)["production"] is True and store.get(second)["production"] is False
    store.promote(second, note="retrained on May", who="bob")
    assert store.production("titanic") == second
    assert [r["run_id"] for r in store.list_runs() if r["production"]] == [second]
    details = store.production_details("titanic")
    assert details | {"since": "t"} == {"run_id": second, "since": "t", "action": "promote",
                                        "who": "bob", "note": "retrained on May"}
    log = store.promotions("titanic")
    assert [(e["action"], e["run_id"], e["previous_run_id"], e["who"]) for e in log] == [
        ("promote", second, first, "bob"), ("promote", first, None, "ann")]
    assert details["since"] == log[0]["time"] and log[0]["time"] > log[1]["time"]
    badges = history_table(store.list_runs())
    assert list(badges["Production"]) == ["", "🏆 production", ""]  # newest first: third, second, first


def test_promote_needs_a_reason_and_a_run_that_is_not_in_production_already(store, three_runs):
    first = three_runs[0]
    for blank in ("", "   "):
        with pytest.raises(TabwrightError) as no_reason:
            store.promote(first, note=blank)
        assert no_reason.value.message == "A note saying why is required to promote a run, got an empty one."
    with pytest.raises(TabwrightError, match="The note must be at most 10,000 characters"):
        store.promote(first, note="x" * 10_001)
    assert store.production("titanic") is None and store.promotions("titanic") == []
    store.promote(first, note="first")
    with pytest.raises(TabwrightError, match=f"Run '{first}' is already in production for 'titanic'."):
        store.promote(first, note="again")
    with pytest.raises(TabwrightError, match="There is no run '20990101-000000-abcdef' in your history."):
        store.promote("20990101-000000-abcdef", note="ghost")
    with pytest.raises(TabwrightError, match="Who made the change must be a name"):
        store.promote(three_runs[1], note="why not", who="  ")
    assert len(store.promotions("titanic")) == 1


def test_who_defaults_to_the_login_name_or_unknown(store, three_runs, monkeypatch):
    def no_login():
        raise KeyError("getpwuid(): uid not found: 1234")

    monkeypatch.setattr("getpass.getuser", no_login)
    assert store.promote(three_runs[0], note="first")["who"] == "unknown"
    monkeypatch.setattr("getpass.getuser", lambda: "carol")
    assert store.promote(three_runs[1], note="second")["who"] == "carol"


def test_rollback_goes_back_one_production_run_at_a_time(store, three_runs):
    a, b, c = three_runs
    with pytest.raises(TabwrightError, match="'titanic' has no earlier production run to roll back to."):
        store.rollback("titanic", note="oops")
    assert store.rollback_target("titanic") is None
    for run_id in (a, b, c):
        store.promote(run_id, note=f"promote {run_id}")
    assert store.rollback_target("titanic") == b
    with pytest.raises(TabwrightError, match="required to roll back"):
        store.rollback("titanic", note=" ")
    entry = store.rollback("titanic", note="c mislabels new customers", who="dan")
    assert (entry["action"], entry["run_id"], entry["previous_run_id"]) == ("rollback", b, c)
    assert store.production("titanic") == b and store.production_details("titanic")["action"] == "rollback"
    store.rollback("titanic", note="b too")
    assert store.production("titanic") == a and store.rollback_target("titanic") is None
    with pytest.raises(TabwrightError, match="no earlier production run"):
        store.rollback("titanic", note="and a?")
    assert store.production("titanic") == a
    # A promotion after rollbacks stacks on the run it replaces.
    store.promote(c, note="c fixed")
    assert store.rollback_target("titanic") == a
    actions = [(e["action"], e["run_id"]) for e in reversed(store.promotions("titanic"))]
    assert actions == [("promote", a), ("promote", b), ("promote", c), ("rollback", b),
                       ("rollback", a), ("promote", c)]


def test_demote_leaves_no_production_run_and_a_rollback_undoes_it(store, three_runs):
    a, b, _ = three_runs
    with pytest.raises(TabwrightError, match="has no run in production to take out"):
        store.demote("titanic", note="stop")
    store.promote(a, note="a")
    store.promote(b, note="b")
    entry = store.demote("titanic", note="serving wrong answers")
    assert (entry["action"], entry["run_id"], entry["previous_run_id"]) == ("demote", None, b)
    assert store.production("titanic") is None and store.production_details("titanic") is None
    assert not any(r["production"] for r in store.list_runs())
    assert store.rollback_target("titanic") == b
    store.rollback("titanic", note="false alarm")
    assert store.production("titanic") == b
    store.rollback("titanic", note="and back to a")
    assert store.production("titanic") == a


def test_projects_and_owners_each_have_their_own_production_run(store, three_runs, two_results):
    titanic = three_runs[0]
    other = store.record(two_results[1], data_name="titanic.csv", project="titanic-v2")
    theirs = store.record(two_results[0], data_name="titanic.csv", owner="bob")
    store.promote(titanic, note="mine")
    store.promote(other, note="the v2 project")
    assert store.production("titanic") == titanic and store.production("titanic-v2") == other
    assert store.production("titanic", owner="bob") is None
    with pytest.raises(TabwrightError, match="There is no run"):  # someone else's run: not found
        store.promote(theirs, note="steal it")
    store.promote(theirs, note="bob's own", owner="bob")
    assert store.production("titanic", owner="bob") == theirs and store.production("titanic") == titanic
    assert [e["note"] for e in store.promotions("titanic", owner="bob")] == ["bob's own"]
    assert [e["note"] for e in store.promotions("titanic")] == ["mine"]
    with pytest.raises(TabwrightError, match="A project name must be"):
        store.production("Titanic")


def test_the_promotions_log_is_append_only(store, three_runs):
    store.promote(three_runs[0], note="first")
    with sqlite3.connect(store.db_path) as con:
        for statement in ("UPDATE promotions SET note = 'rewritten'", "DELETE FROM promotions"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                con.execute(statement)
    assert [e["note"] for e in store.promotions("titanic")] == ["first"]


def test_production_is_one_primary_key_lookup(store):
    with sqlite3.connect(store.db_path) as con:
        plan = " ".join(row[-1] for row in con.execute(
            "EXPLAIN QUERY PLAN SELECT run_id FROM production WHERE owner = ? AND project = ?", ("a", "b")))
        log_plan = " ".join(row[-1] for row in con.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM promotions WHERE owner = ? AND project = ? ORDER BY id DESC",
            ("a", "b")))
    assert "USING PRIMARY KEY (owner=? AND project=?)" in plan
    assert "USING INDEX promotions_by_project" in log_plan and "TEMP B-TREE" not in log_plan


def test_concurrent_promotions_leave_one_production_run_and_an_unbroken_log(store, three_runs):
    errors, done = [], []

    def work(offset):
        for i in range(8):
            run_id = three_runs[(i + offset) % 3]
            try:
                store.promote(run_id, note=f"thread {offset} step {i}", who=f"t{offset}")
                done.append(run_id)
            except TabwrightError as exc:  # only "already in production" may happen
                errors.append(exc.message)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all("already in production" in e for e in errors) and len(done) + len(errors) == 32
    log = list(reversed(store.promotions("titanic")))
    assert len(log) == len(done)
    # Each change started from the run the one before it left in production.
    assert log[0]["previous_run_id"] is None
    assert all(log[i]["previous_run_id"] == log[i - 1]["run_id"] for i in range(1, len(log)))
    assert store.production("titanic") == log[-1]["run_id"]
    with sqlite3.connect(store.db_path) as con:
        assert con.execute("SELECT COUNT(*) FROM production").fetchone()[0] == 1


def test_a_history_from_before_projects_is_upgraded_in_place(tmp_path, two_results):
    db = tmp_path / "old" / "runs.sqlite"
    db.parent.mkdir()
    with sqlite3.connect(db) as con:
        con.executescript(_SCHEMA_BEFORE_PROJECTS)
        con.execute(
            "INSERT INTO runs (run_id, owner, created, data_name, fingerprint, task, model, model_label, "
            "metric, test_metrics, recipe, original_recipe, leaderboard, bundle_path) VALUES "
            "('20240501-120304-abcdef', 'local', '2024-05-01T12:03:04+00:00', 'Titanic Survival.csv', "
            "'f00d', 'binary', 'logistic_regression', 'Logistic regression', 'roc_auc', '{}', '{}', '{}', "
            "'[]', 'runs/20240501-120304-abcdef')")
    store = RunStore(db)
    old = store.list_runs()[0]
    assert (old["project"], old["production"]) == ("titanic-survival", False)
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    store.promote("20240501-120304-abcdef", note="the old model still serves")
    new = store.record(two_results[0], data_name="Titanic Survival.csv")
    assert [r["project"] for r in RunStore(db).list_runs()] == ["titanic-survival"] * 2  # reopened: no change
    assert store.production("titanic-survival") == "20240501-120304-abcdef"
    assert store.rollback_target("titanic-survival") is None
    store.promote(new, note="retrained")
    assert store.rollback_target("titanic-survival") == "20240501-120304-abcdef"


def test_promotions_as_a_table(store, three_runs):
    a, b, _ = three_runs
    store.promote(a, note="first *try*", who="ann")
    store.promote(b, note="better", who="bob")
    store.demote("titanic", note="stop", who="cy")
    runs = store.list_runs()
    labels = {r["run_id"]: run_label(r) for r in runs}
    table = promotions_table(store.promotions("titanic"), runs)
    assert list(table.columns) == ["When (UTC)", "Change", "In production", "Before", "Who", "Why"]
    assert list(table["Change"]) == ["taken out", "promoted", "promoted"]
    assert list(table["In production"]) == ["—", labels[b], labels[a]]
    assert list(table["Before"]) == [labels[b], labels[a], "—"]
    assert list(table["Why"]) == ["stop", "better", "first *try*"] and list(table["Who"]) == ["cy", "bob", "ann"]
    empty = promotions_table([], runs)
    assert empty.empty and list(empty.columns) == list(table.columns)



def test_the_card_is_read_as_json_and_a_server_finds_the_latest_promotion_of_any_owner(
        store, two_results):
    mine = store.record(two_results[0], data_name="titanic.csv", owner="session-a")
    theirs = store.record(two_results[1], data_name="titanic.csv", owner="local")
    card = store.card(mine, owner="session-a")
    assert card["run_id"] == mine and card["project"] == "titanic"
    assert not (store.workspace / "runs" / mine / "model.skops").exists()  # the Export page makes it
    with pytest.raises(TabwrightError, match="There is no run"):
        store.card(mine, owner="local")
    assert store.serving("titanic") is None
    store.promote(theirs, note="from the command line")
    assert store.serving("titanic") == (theirs, "local")
    store.promote(mine, note="from the app", owner="session-a")
    assert store.serving("titanic") == (mine, "session-a")
    assert store.production("titanic") == theirs  # each owner's own production run is unchanged
