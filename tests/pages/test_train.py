"""AppTest of the Train page: the plan, a real background training, cancel, and errors."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd

from core.deliver._history import RunStore
from core.project import update_recipe
from core.train._jobs import TrainingJob, shared_queue
from tests.pages.conftest import current, project_from_csv
from tests.pages.helpers_late import (  # noqa: F401
    JOB_KEY,
    OWNER,
    PROJECT_KEY,
    open_page,
    table_with,
    texts,
    titanic_project,
    wait_for_job,
    workspace,
)


def test_plan_is_shown_before_training(workspace):
    at = open_page("train", titanic_project("logistic_regression", "random_forest"))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows"] == "891"
    assert metrics["Train / test"] == "712 / 179"
    assert metrics["Optimising"] == "ROC-AUC"
    # Time and memory are measured from pilot fits on this data before training starts.
    low, high = metrics["Expected time"].split(" – ")
    assert low.startswith("~") and high.startswith("~")
    assert metrics["Memory at peak"].endswith(("MB", "GB"))
    assert metrics["Your data in memory"].endswith("MB")
    plan = at.dataframe[0].value
    assert list(plan["Model"]) == ["Baseline (no learning)", "Logistic regression", "Random forest"]
    assert all(fits.startswith("6 × ") for fits in plan["Fits × rows"])
    assert all(t.startswith("~") for t in plan["Time (est.)"])
    assert "5-fold stratified cross-validation" in texts(at)
    assert at.text_input(key="train_hypothesis").label == "What do you expect this run to show?"


def test_training_runs_in_the_background_and_shows_the_leaderboard(workspace):
    at = open_page("train", titanic_project())
    at.text_input(key="train_hypothesis").input("Logistic regression beats the baseline")
    at.button(key="train_start").click().run()
    job = at.session_state[JOB_KEY]
    assert job is not None
    if job.active:  # the live view: progress bar, Cancel, the Train button disabled
        assert at.get("progress") and at.button(key="train_cancel")
        assert at.button(key="train_start").disabled
    wait_for_job(at)
    assert not at.exception
    project = at.session_state[PROJECT_KEY]
    assert project.result is not None and project.run_id
    assert "Training finished in" in at.success[0].value
    board = table_with(at, "Fit time (s)")
    assert list(board["Model"]) == ["Logistic regression", "Baseline (no learning)"]
    assert 0.8 < board["ROC-AUC (CV mean)"][0] < 0.9 and board["± std"][0] > 0
    page = texts(at)
    assert "You expected: Logistic regression beats the baseline" in page
    assert "Test set: 179 rows (20%) held out" in page
    assert "See the evaluation →" in [link.label for link in at.get("page_link")]
    run = RunStore().get(project.run_id, owner=OWNER)
    assert run["hypothesis"] == "Logistic regression beats the baseline"


def test_cancel_stops_the_training_and_keeps_the_choices(workspace):
    project = titanic_project("logistic_regression", "random_forest", "hist_gradient_boosting",
                              "extra_trees", "mlp")
    at = open_page("train", project)
    at.button(key="train_start").click().run()
    job = at.session_state[JOB_KEY]
    deadline = time.monotonic() + 30
    while job.state == "queued" and time.monotonic() < deadline:
        time.sleep(0.05)
    at.run()
    at.button(key="train_cancel").click().run()
    assert job.cancel_token.cancelled
    wait_for_job(at)
    assert job.state == "cancelled"
    after = at.session_state[PROJECT_KEY]
    assert after.recipe == project.recipe
    if after.result is None:
        assert "Training cancelled" in at.info[0].value
    else:  # a model finished before the cancel reached the next fit: it is kept, and said so
        assert after.result.cancelled and "cancelled" in at.warning[0].value
    assert not at.button(key="train_start").disabled


def test_a_training_error_is_shown_with_its_hint_and_the_recipe_is_kept(workspace, monkeypatch):
    project = titanic_project()
    at = open_page("train", project)
    monkeypatch.setenv("TABWRIGHT_MAX_ENCODED_FEATURES", "5")
    at.button(key="train_start").click().run()
    wait_for_job(at)
    error = at.error[0].value
    assert "model inputs; the limit is 5." in error
    assert "raise TABWRIGHT_MAX_ENCODED_FEATURES" in error
    assert "Your choices are kept" in error
    after = at.session_state[PROJECT_KEY]
    assert after.result is None and after.recipe == project.recipe
    assert not at.button(key="train_start").disabled


def test_a_queued_training_says_how_many_are_ahead_and_starts_later(workspace):
    queue = shared_queue()
    release = threading.Event()
    blockers = [TrainingJob(lambda progress, cancel: release.wait(30)).start()
                for _ in range(queue.slots)]
    try:
        deadline = time.monotonic() + 10
        while queue.running < queue.slots and time.monotonic() < deadline:
            time.sleep(0.02)
        at = open_page("train", titanic_project())
        at.button(key="train_start").click().run()
        assert at.session_state[JOB_KEY].state == "queued"
        ahead = f"{queue.slots} trainings ahead of you"
        assert any(ahead in info.value for info in at.info)
    finally:
        release.set()
        for job in blockers:
            job.wait(10)
    wait_for_job(at)
    assert at.session_state[PROJECT_KEY].result is not None


def test_a_tight_budget_on_large_data_is_flagged_with_a_one_click_fix(workspace, tmp_path):
    rng = np.random.default_rng(3)
    n = 300_000
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n).round(4) for i in range(5)})
    frame["label"] = np.where(frame["x0"] + rng.normal(size=n) > 0, "yes", "no")
    path = tmp_path / "large.csv"
    frame.to_csv(path, index=False)
    project = project_from_csv(path, "label")
    recipe = project.recipe.copy()
    recipe.time_budget = 5.0
    project = update_recipe(project, recipe)
    at = open_page("train", project)
    assert not at.exception, [e.value for e in at.exception]
    warning = " ".join(w.value for w in at.warning)
    assert "A 5 s budget is tight for 240,000 training rows" in warning
    assert any("100,000-row sample of the 240,000 training rows" in c.value for c in at.caption)
    at.button(key="train_use_budget").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert current(at).recipe.time_budget > 5.0


def test_the_leaderboard_shows_the_column_it_is_ranked_by_when_that_is_not_the_metric():
    from pages._train_result import leaderboard_frame
    board = [{"label": "Ensemble", "accuracy": 0.46, "accuracy_std": 0.02, "log_loss": 1.21,
              "fit_seconds": 0.5, "status": "ok"},
             {"label": "Extra trees", "accuracy": 0.505, "accuracy_std": 0.03, "log_loss": 1.35,
              "fit_seconds": 0.2, "status": "ok"}]
    ranked = leaderboard_frame(board, "accuracy", "log_loss")
    assert list(ranked.columns[2:5]) == ["Accuracy (CV mean)", "± std", "Log loss (ranks)"]
    assert ranked["Log loss (ranks)"].tolist() == [1.21, 1.35]
    plain = leaderboard_frame(board, "accuracy", "accuracy")
    assert "Log loss (ranks)" not in plain.columns and list(plain.columns)[-2:] == [
        "Fit time (s)", "Notes"]
