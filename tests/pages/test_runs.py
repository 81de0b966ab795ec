"""AppTest of the Runs page: the history, the production run, comparing two runs, and reopening one."""

from __future__ import annotations

import pytest

from core.deliver._history import RunStore, run_label
from core.recipe import Recipe
from tests.pages.conftest import SAMPLES, project_from_csv
from tests.pages.helpers_late import (  # noqa: F401
    OWNER,
    PROJECT_KEY,
    open_page,
    table_with,
    texts,
    titanic_project,
    trained_project,
    workspace,
)

pytestmark = pytest.mark.usefixtures("workspace")  # a fresh run history for every test


def _two_runs() -> tuple[str, str]:
    first = trained_project("logistic_regression", record=True, hypothesis="a linear baseline").run_id
    second = trained_project("decision_tree", record=True, hypothesis="a tree finds interactions").run_id
    return first, second


def test_lists_the_runs_and_compares_two():
    first, second = _two_runs()
    at = open_page("runs", titanic_project())
    history = table_with(at, "Hypothesis")
    assert list(history["Hypothesis"]) == ["a tree finds interactions", "a linear baseline"]
    assert list(history["Model"]) == ["Decision tree", "Logistic regression"]
    assert history["Test"].between(0.5, 1).all() and history["± std"].gt(0).all()
    assert history["Data"].str.startswith("titanic.csv · ").all()
    at.multiselect(key="runs_compare").select(second).select(first).run()
    page = texts(at)
    assert "Test roc_auc went from" in page and "with 1 recipe change(s)." in page
    changes = table_with(at, "Setting")
    assert list(changes["Setting"]) == ["models"]
    assert "logistic_regression" in changes["A"][0] and "decision_tree" in changes["B"][0]
    scores = table_with(at, "B is").set_index("Score")
    expected = RunStore().compare(first, second, owner=OWNER)["metrics"][0]
    assert scores.loc["CV ROC-AUC", "Change"] == expected["change"]
    assert "Hypothesis: a linear baseline" in page


def test_reopening_a_run_loads_its_choices():
    first, _ = _two_runs()
    at = open_page("runs", titanic_project("random_forest"))
    at.selectbox(key="runs_reopen").select(first).run()
    at.button(key="runs_reopen_button").click().run()
    after = at.session_state[PROJECT_KEY]
    stored = Recipe.from_dict(RunStore().get(first, owner=OWNER)["original_recipe"])
    assert after.recipe == stored
    assert [m.name for m in after.recipe.models] == ["logistic_regression"]
    assert at.title[0].value.endswith("Train")


def test_reopening_on_other_data_says_the_data_differs():
    first, _ = _two_runs()
    other = project_from_csv(SAMPLES / "german_credit.csv", "default")
    at = open_page("runs", other)
    at.selectbox(key="runs_reopen").select(first).run()
    warning = at.warning[0].value
    assert "is not the data this run used (titanic.csv" in warning
    assert not [b for b in at.button if b.key == "runs_reopen_button"]
    assert at.session_state[PROJECT_KEY].recipe == other.recipe


def test_no_runs_yet_points_to_train():
    at = open_page("runs", titanic_project())
    assert "No runs yet" in at.info[0].value


def test_a_note_set_on_the_page_shows_in_the_list_and_the_comparison_and_can_be_cleared():
    first, second = _two_runs()
    at = open_page("runs", titanic_project())
    at.selectbox(key="runs_note_run").select(first).run()
    at.text_input(key="runs_note").input("solid, but *slow* to predict")
    at.button(key="runs_note_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert RunStore().get(first, owner=OWNER)["note"] == "solid, but *slow* to predict"
    assert "Note saved." in texts(at)
    assert list(table_with(at, "Note")["Note"]) == ["", "solid, but *slow* to predict"]
    assert at.text_input(key="runs_note").value == "solid, but *slow* to predict"
    at.multiselect(key="runs_compare").select(first).select(second).run()
    notes = [c.value for c in at.caption if c.value.startswith("Note:")]
    assert notes == ["Note: solid, but \\*slow\\* to predict"]  # shown as typed, not as Markdown
    at.selectbox(key="runs_note_run").select(second).run()
    assert at.text_input(key="runs_note").value == ""  # the other run's own (empty) note
    at.selectbox(key="runs_note_run").select(first).run()
    at.text_input(key="runs_note").input("")
    at.button(key="runs_note_save").click().run()
    assert RunStore().get(first, owner=OWNER)["note"] == ""
    assert "Note cleared." in texts(at)
    assert list(table_with(at, "Note")["Note"]) == ["", ""]


def _production_column(at) -> list[str]:
    return list(table_with(at, "Production")["Production"])


def test_promoting_and_rolling_back_on_the_page(monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "ann")
    first, second = _two_runs()
    labels = {r["run_id"]: run_label(r) for r in RunStore().list_runs(owner=OWNER)}
    at = open_page("runs", titanic_project())
    assert "No run of titanic is in production yet" in texts(at)
    assert _production_column(at) == ["", ""] and "No production changes yet." in texts(at)
    assert not [b for b in at.button if b.key == "runs_rollback"]  # nothing to roll back to

    at.selectbox(key="runs_promote_run").select(first)
    at.text_input(key="runs_promote_note").input("a *simple* model is enough")
    at.button(key="runs_promote").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert RunStore().production("titanic", owner=OWNER) == first
    page = texts(at)
    assert f"Promoted to production for titanic: {labels[first]}." in page
    assert f"In production: {labels[first]} since " in page
    assert "UTC, promoted by ann: a *simple* model is enough" in page  # shown as typed
    assert _production_column(at) == ["", "🏆 production"]  # newest first: second, first
    history = table_with(at, "Why")
    assert list(history["Change"]) == ["promoted"] and list(history["Who"]) == ["ann"]
    assert list(history["In production"]) == [labels[first]] and list(history["Before"]) == ["—"]
    assert not [b for b in at.button if b.key == "runs_rollback"]

    at.selectbox(key="runs_promote_run").select(second)
    at.text_input(key="runs_promote_note").input("trees catch the interactions")
    at.button(key="runs_promote").click().run()
    assert _production_column(at) == ["🏆 production", ""]  # the badge moved
    assert f"In production: {labels[second]} since " in texts(at)
    assert list(table_with(at, "Why")["Before"]) == [labels[first], "—"]

    rollback = at.button(key="runs_rollback")
    assert rollback.label == f"Roll back to {labels[first]}"
    at.text_input(key="runs_rollback_note").input("the tree misreads children")
    rollback.click().run()
    assert RunStore().production("titanic", owner=OWNER) == first
    page = texts(at)
    assert f"Rolled back titanic to {labels[first]}." in page
    assert "rolled back by ann: the tree misreads children" in page
    assert _production_column(at) == ["", "🏆 production"]
    assert list(table_with(at, "Why")["Change"]) == ["rolled back", "promoted", "promoted"]


def test_promoting_without_a_reason_is_refused():
    first, _ = _two_runs()
    at = open_page("runs", titanic_project())
    at.selectbox(key="runs_promote_run").select(first)
    at.button(key="runs_promote").click().run()
    assert "A note saying why is required to promote a run, got an empty one." in texts(at)
    assert RunStore().production("titanic", owner=OWNER) is None
    assert _production_column(at) == ["", ""]


def test_each_project_has_its_own_production_run():
    first, second = _two_runs()
    store = RunStore()
    other = store.record(trained_project().result, data_name="Passengers 1912.csv", owner=OWNER)
    store.promote(other, note="the other project's model", who="bob", owner=OWNER)
    at = open_page("runs", titanic_project())
    project_box = at.selectbox(key="runs_project")
    assert project_box.value == "titanic"  # the loaded data's project first
    assert project_box.options == ["passengers-1912", "titanic"]  # newest run first
    assert set(at.selectbox(key="runs_promote_run").options) == {
        run_label(r) for r in store.list_runs(owner=OWNER) if r["run_id"] in (first, second)}
    assert "No run of titanic is in production yet" in texts(at)
    assert _production_column(at) == ["🏆 production", "", ""]  # the other project's run
    project_box.select("passengers-1912").run()
    assert "promoted by bob: the other project's model" in texts(at)
    assert at.selectbox(key="runs_promote_run").options == [run_label(store.get(other, owner=OWNER))]
