"""Project stages: pure functions, stale results cleared visibly, the brief re-judges only;
a finished training is recorded once and becomes the result only if its inputs still hold."""

import dataclasses
import threading

import pytest

from core.deliver import RunStore
from core.errors import TabwrightError
from core.project import (
    Project,
    collect_training,
    load_data,
    set_target,
    update_recipe,
    with_result,
)
from core.recipe import ModelChoice
from core.train import RunContext, TrainingJob, train


@pytest.fixture(scope="module")
def titanic(sample_dir):
    return set_target(load_data(Project(), str(sample_dir / "titanic.csv"), name="titanic.csv"),
                      "survived")


def test_load_data_profiles_and_recommends(titanic):
    assert titanic.table.frame.shape == (891, 14)
    assert titanic.recipe.task == "binary" and titanic.recipe.metric is None
    assert titanic.profile.task.task == "binary"


def test_changing_a_training_choice_clears_the_result(titanic):
    trained = with_result(titanic, object())
    recipe = trained.recipe.copy()
    recipe.seed = 7
    updated = update_recipe(trained, recipe)
    assert updated.result is None and "cleared" in updated.cleared
    assert trained.result is not None  # the old project is untouched


def test_moving_the_bar_keeps_the_model(titanic):
    trained = with_result(titanic, object())
    recipe = trained.recipe.copy()
    recipe.brief.bar_metric, recipe.brief.bar_value = "roc_auc", 0.8
    recipe.brief.problem = "Who survives?"
    updated = update_recipe(trained, recipe)
    assert updated.result is trained.result and updated.cleared is None
    recipe = updated.recipe.copy()
    recipe.brief.interpretable = True  # this one changes which models may be trained
    assert update_recipe(updated, recipe).result is None


def test_bad_choices_keep_the_old_project(titanic):
    recipe = titanic.recipe.copy()
    recipe.split.test_size = 0.9
    with pytest.raises(TabwrightError):
        update_recipe(titanic, recipe)
    with pytest.raises(TabwrightError):
        set_target(titanic, "no such column")
    assert titanic.recipe.split.test_size == 0.2


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A fresh ``TABWRIGHT_WORKSPACE``, so the run history starts empty."""
    monkeypatch.setenv("TABWRIGHT_WORKSPACE", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def trained(titanic):
    """Titanic with one quick model, and the run that recipe trains."""
    recipe = titanic.recipe.copy()
    recipe.auto, recipe.models = False, [ModelChoice("dummy")]
    project = update_recipe(titanic, recipe)
    return project, train(project.frame, project.recipe, inferred_roles=project.effective_roles())


def finished_job(project, result, *, hypothesis=""):
    """A job that started from ``project`` and finished with ``result``.

    Its work is a lambda, so it runs on a thread here rather than in a worker process.
    """
    context = RunContext(hypothesis=hypothesis, data_name=project.table.name,
                         data_fingerprint=project.table.fingerprint, recipe=project.recipe.copy())
    job = TrainingJob(lambda progress, cancel: result, context=context).start()
    job.wait()
    return job


def test_a_finished_training_is_recorded_once_and_becomes_the_result(trained, workspace):
    project, result = trained
    job = finished_job(project, result, hypothesis="The baseline is hard to beat")
    collected = collect_training(project, job, owner="alice")
    assert collected.project.result is result and collected.project.run_id == collected.run_id
    assert project.result is None  # the project it was given is untouched
    assert collected.messages == (("success", f"Training finished in {result.seconds:.1f} s."),)
    run = RunStore().get(collected.run_id, owner="alice")
    assert (run["hypothesis"], run["data_name"]) == ("The baseline is hard to beat", "titanic.csv")
    assert job.collected and collect_training(collected.project, job, owner="alice") is None
    assert len(RunStore().list_runs(owner="alice")) == 1


def test_a_run_trained_on_changed_inputs_is_saved_but_not_the_result(trained, workspace):
    project, result = trained
    job = finished_job(project, result)
    recipe = project.recipe.copy()
    recipe.seed = 7
    changed = update_recipe(project, recipe)
    collected = collect_training(changed, job, owner="alice")
    assert collected.project is changed and changed.result is None
    assert RunStore().get(collected.run_id, owner="alice")["fingerprint"] == result.fingerprint
    [(kind, text)] = collected.messages
    assert kind == "warning"
    assert text.startswith("You changed the data or a choice while this model trained: the run "
                           "is saved in **Runs**, but it is not the current model.")


def test_a_cancelled_run_keeps_its_best_model_and_says_so(trained, workspace):
    project, result = trained
    job = finished_job(project, dataclasses.replace(result, cancelled=True))
    collected = collect_training(project, job, owner="alice")
    assert collected.project.result.cancelled
    assert collected.messages == (
        ("warning", "Training was cancelled: the best model finished so far is kept."),)


def test_a_run_the_history_cannot_save_is_still_the_result(trained, workspace):
    project, result = trained
    (workspace / "runs").write_text("not a folder")
    collected = collect_training(project, finished_job(project, result), owner="alice")
    assert collected.run_id is None
    assert collected.project.result is result and collected.project.run_id is None
    (kind, text), finished = collected.messages
    assert kind == "warning" and text.startswith("The run could not be saved in the history: ")
    assert finished[0] == "success"


def test_a_running_or_failed_job_has_nothing_to_collect(titanic):
    release = threading.Event()
    running = TrainingJob(lambda progress, cancel: release.wait(30)).start()
    try:
        assert collect_training(titanic, running, owner="alice") is None
        assert not running.collected  # collected later, once it has finished
    finally:
        release.set()
        running.wait()

    def fail(progress, cancel):
        raise TabwrightError("The target has one class.", "Choose another target.")

    failed = TrainingJob(fail)
    failed.start().wait()
    assert failed.state == "failed"
    assert collect_training(titanic, failed, owner="alice") is None and failed.collected
