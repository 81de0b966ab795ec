"""Trainings in worker processes: the queue bound, progress, cancel, errors, deaths, a real run.

Work functions run in a child process, so they are module-level (picklable) and talk to the
test through files, not shared Python objects.
"""

import functools
import os
import sys
import threading
import time
import types

import numpy as np
import pandas as pd

from core.errors import TabwrightError
from core.recipe import ModelChoice, Recipe
from core.run import Progress, TrainResult, fingerprint
from core.train._jobs import NICENESS, RunContext, TrainingJob, TrainingQueue, warm_up
from core.train._runner import TrainWork, train


def slow_work(seconds, log_path, *, progress, cancel):
    """Log its start and end (with its pid) to ``log_path``, report progress, honour cancel."""
    with open(log_path, "a") as log:
        log.write(f"+1 {os.getpid()} {time.time()}\n")
    progress(Progress(0.5, "half way"))
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        cancel.check()
        time.sleep(0.01)
    with open(log_path, "a") as log:
        log.write(f"-1 {os.getpid()} {time.time()}\n")
    return "model"


def echo_work(frame, *, progress, cancel):
    frame["a"] += frame["a"]  # the received arrays are writable
    frame["b"] *= 2
    return frame


def stubborn_work(*, progress, cancel):
    """Never looks at the cancel token."""
    progress(Progress(0.1, "not listening"))
    time.sleep(60)
    return "too late"


def failing_work(*, progress, cancel):
    raise TabwrightError("The target has one class.", "Choose another target.")


def buggy_work(*, progress, cancel):
    return {}["missing"]


def dying_work(*, progress, cancel):
    progress(Progress(0.2, "about to die"))
    os._exit(7)


def env_work(*, progress, cancel):
    return os.environ.get("TABWRIGHT_JOBS_TEST"), os.getpid(), os.nice(0)


def wait_until(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_queue_bounds_concurrent_trainings_and_reports_positions(tmp_path):
    queue = TrainingQueue(2)
    log = tmp_path / "log"
    jobs = [TrainingJob(functools.partial(slow_work, 0.6, log), queue=queue) for _ in range(5)]
    for job in jobs:
        job.start()
        time.sleep(0.02)
    time.sleep(0.1)
    waiting = sorted(j.queue_position for j in jobs if j.state == "queued")
    assert waiting == [1, 2, 3]
    for job in jobs:
        job.wait(30)
    assert all(j.state == "done" and j.result == "model" for j in jobs), [
        (j.state, j.error) for j in jobs]
    events = sorted((float(t), int(step)) for step, _, t in
                    (line.split() for line in log.read_text().splitlines()))
    pids = {line.split()[1] for line in log.read_text().splitlines()}
    assert len(pids) == 5 and str(os.getpid()) not in pids  # one child process per training
    running, peak = 0, 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    assert peak <= 2 and queue.peak_running == 2 and queue.running == 0


def test_progress_arrives_and_cancel_works_while_queued_and_while_running(tmp_path):
    queue = TrainingQueue(1)
    log = tmp_path / "log"
    first = TrainingJob(functools.partial(slow_work, 30, log), queue=queue).start()
    second = TrainingJob(functools.partial(slow_work, 30, log), queue=queue).start()
    assert wait_until(lambda: first.progress.message == "half way")
    assert first.state == "running" and second.state == "queued" and second.queue_position == 1
    assert first.pid and first.pid != os.getpid()
    second.cancel()
    first.cancel()
    first.wait(10)
    second.wait(10)
    assert first.state == "cancelled" and second.state == "cancelled"
    assert first.error is None and not first.active
    assert first.finished - first.started < 10
    assert queue.running == 0


def test_a_child_that_ignores_cancel_is_killed_after_the_grace_period():
    job = TrainingJob(stubborn_work, queue=TrainingQueue(1), cancel_grace=0.5).start()
    assert wait_until(lambda: job.progress.message == "not listening")
    asked = time.monotonic()
    job.cancel()
    job.wait(15)
    assert not job.active and time.monotonic() - asked < 5
    assert job.state == "cancelled" and job.result is None
    assert "did not stop within 0.5 s of Cancel" in job.error


def test_a_child_past_its_time_limit_is_killed():
    job = TrainingJob(stubborn_work, queue=TrainingQueue(1), time_limit=0.5).start()
    job.wait(15)
    assert job.state == "failed" and "past the time limit" in job.error
    assert "TABWRIGHT_MAX_TRAINING_SECONDS" in job.hint


def test_errors_are_kept_for_the_page():
    job = TrainingJob(failing_work, queue=TrainingQueue(1)).start()
    job.wait(15)
    assert job.state == "failed"
    assert job.error == "The target has one class." and job.hint == "Choose another target."


def test_an_unexpected_exception_is_a_plain_failure():
    job = TrainingJob(buggy_work, queue=TrainingQueue(1)).start()
    job.wait(15)
    assert job.state == "failed"
    assert job.error == "Training failed unexpectedly (KeyError: 'missing')."
    assert "bug in tabwright" in job.hint


def test_a_child_that_dies_fails_the_job_and_frees_the_slot():
    queue = TrainingQueue(1)
    job = TrainingJob(dying_work, queue=queue).start()
    job.wait(15)
    assert job.state == "failed" and not job.active
    assert "ended unexpectedly (exit code 7)" in job.error
    assert queue.running == 0


def test_a_killed_child_says_it_was_killed():
    job = TrainingJob(stubborn_work, queue=TrainingQueue(1)).start()
    assert wait_until(lambda: job.progress.message == "not listening")
    os.kill(job.pid, 9)
    job.wait(15)
    assert job.state == "failed" and "killed (SIGKILL)" in job.error
    assert "out of memory" in job.error


def test_the_child_sees_the_servers_environment_and_runs_at_a_lower_priority(monkeypatch):
    monkeypatch.setenv("TABWRIGHT_JOBS_TEST", "from the parent")
    job = TrainingJob(env_work, queue=TrainingQueue(1)).start()
    job.wait(15)
    value, pid, niceness = job.result
    assert value == "from the parent" and pid != os.getpid()
    assert niceness == min(os.nice(0) + NICENESS, 19)


def test_the_child_does_not_rerun_the_servers_main_script(tmp_path, monkeypatch):
    # Streamlit installs the page being run as __main__; multiprocessing would re-run it.
    marker = tmp_path / "ran"
    script = tmp_path / "fake_app.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(script)
    fake_main.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    job = TrainingJob(env_work, queue=TrainingQueue(1)).start()
    job.wait(15)
    assert job.state == "done" and not marker.exists()


def frame_work(frame, *, progress, cancel):
    return frame.shape, float(frame["a"].sum())


def test_a_big_frame_goes_to_the_child_and_back():
    frame = pd.DataFrame({"a": range(2_000_000), "b": 1.5, "c": "x"})
    job = TrainingJob(functools.partial(frame_work, frame), queue=TrainingQueue(1)).start()
    job.wait(60)
    assert job.state == "done", job.error
    assert job.result == ((2_000_000, 3), float(frame["a"].sum()))


def test_work_the_child_cannot_load_is_a_plain_failure(monkeypatch):
    module = types.ModuleType("tabwright_only_in_the_server")

    def here_only(*, progress, cancel):
        return "never"

    here_only.__module__ = module.__name__
    here_only.__qualname__ = "here_only"
    module.here_only = here_only
    monkeypatch.setitem(sys.modules, module.__name__, module)
    job = TrainingJob(here_only, queue=TrainingQueue(1)).start()
    job.wait(15)
    assert job.state == "failed"
    assert job.error.startswith("Training failed unexpectedly (the training could not be loaded")
    assert "ModuleNotFoundError" in job.error


def test_warm_up_starts_the_forkserver_once_in_the_background():
    from multiprocessing import forkserver

    started = time.monotonic()
    warm_up()
    warm_up()
    assert time.monotonic() - started < 0.5  # it does not wait for the imports
    assert wait_until(lambda: forkserver._forkserver._forkserver_pid is not None)
    job = TrainingJob(env_work, queue=TrainingQueue(1)).start()
    job.wait(15)
    assert job.state == "done"


def test_work_that_cannot_be_pickled_still_runs_on_a_thread():
    release = threading.Event()
    job = TrainingJob(lambda progress, cancel: release.wait(10), queue=TrainingQueue(1)).start()
    assert wait_until(lambda: job.state == "running")
    release.set()
    job.wait(10)
    assert job.state == "done" and job.result is True


def test_a_real_training_runs_end_to_end_in_a_worker_process():
    rows = 120
    frame = pd.DataFrame({"x": [i % 17 for i in range(rows)],
                          "colour": ["red", "blue", "green"] * (rows // 3),
                          "y": [int(i % 17 > 8) for i in range(rows)]})
    recipe = Recipe(target="y", task="binary", auto=False,
                    models=[ModelChoice("dummy"), ModelChoice("logistic_regression")])
    seen: list[str] = []
    context = RunContext(hypothesis="", data_name="toy.csv", data_fingerprint=fingerprint(frame),
                         recipe=recipe.copy())
    job = TrainingJob(functools.partial(train, frame, recipe), context=context,
                      queue=TrainingQueue(1)).start()
    while job.active:
        seen.append(job.progress.message)
        time.sleep(0.01)
    job.wait(60)
    assert job.state == "done", (job.error, job.hint)
    result = job.result
    assert isinstance(result, TrainResult) and result.n_train + result.n_test == rows
    assert result.best == "logistic_regression"
    assert result.pipeline.predict(frame.drop(columns=["y"]).head(3)).shape == (3,)
    assert any("Logistic regression" in m for m in seen)
    # The context stays with the job for whoever collects the result; the job never does.
    assert job.context is context and not job.collected


def test_a_cancelled_real_training_keeps_the_best_model():
    rows = 3000
    frame = pd.DataFrame({"x": [i % 17 for i in range(rows)],
                          "z": [(i * 7) % 13 for i in range(rows)],
                          "y": [int(i % 17 > 8) for i in range(rows)]})
    recipe = Recipe(target="y", task="binary", auto=True, time_budget=30)
    job = TrainingJob(functools.partial(train, frame, recipe), queue=TrainingQueue(1)).start()
    assert wait_until(lambda: len(job.progress.leaderboard) >= 1, timeout=30)
    job.cancel()
    job.wait(30)
    assert job.state == "cancelled" and job.error is None
    assert job.result is not None and job.result.cancelled


def test_train_work_sends_row_numbers_and_the_server_takes_its_own_rows():
    """TrainWork: the worker lets the table go after the split and sends row numbers back;
    the rows the server rebuilds from its frame equal those of a training in this process."""
    rows = 400
    frame = pd.DataFrame({"x": np.arange(rows) % 17 * 0.5,
                          "colour": pd.Categorical(["red", "blue", "green", None] * (rows // 4)),
                          "note": ["a", "b", None, "d"] * (rows // 4),
                          "y": [int(i % 17 > 8) for i in range(rows)]})
    recipe = Recipe(target="y", task="binary", auto=False, models=[ModelChoice("logistic_regression")])
    work = TrainWork(frame, recipe)
    job = TrainingJob(work, queue=TrainingQueue(1)).start()
    job.wait(60)
    assert job.state == "done", (job.error, job.hint)
    here = train(frame, recipe)
    for name in ("X_train", "X_test", "y_train", "y_test"):
        got, want = getattr(job.result, name), getattr(here, name)
        if isinstance(want, pd.DataFrame):
            pd.testing.assert_frame_equal(got, want)
        else:
            pd.testing.assert_series_equal(got, want)
    assert work.frame is None  # the finished job keeps no reference to the data
    packed = TrainWork(frame, recipe).pack(here)
    assert type(packed.rows["X_train"]).__name__ == "_Rows" and len(packed.rows["X_train"].numbers) == here.n_train
    assert not isinstance(packed, type(here))  # no TrainResult ever holds row numbers for frames


def test_train_work_lets_the_table_go_before_the_search_and_the_refit(monkeypatch):
    """Nothing keeps the handed-over table alive once train has split it (a call's argument
    tuple did: 230 MB of a 1M-row table, through the whole training in the worker)."""
    import gc
    import weakref

    import core.train._runner as train_module

    rows = 400
    frame = pd.DataFrame({"x": np.arange(rows) % 17 * 0.5,
                          "note": ["a", "b", None, "d"] * (rows // 4),
                          "y": [int(i % 17 > 8) for i in range(rows)]})
    table = weakref.ref(frame)
    recipe = Recipe(target="y", task="binary", auto=False, models=[ModelChoice("logistic_regression")])
    work = TrainWork(frame, recipe, threads=1)  # with options: the call passes **options
    del frame
    alive = []
    refit = train_module._Runner.refit

    def spy(self, *args, **kwargs):
        gc.collect()
        alive.append(table() is not None)
        return refit(self, *args, **kwargs)

    monkeypatch.setattr(train_module._Runner, "refit", spy)
    result = work()
    assert alive == [False] and result.n_train + result.n_test == rows


def test_big_arrays_travel_out_of_band_and_come_back_writable():
    from core.train._jobs import _pickled

    frame = pd.DataFrame({"a": np.arange(200_000, dtype=np.float64), "b": np.ones(200_000)})
    head, views = _pickled(frame)
    assert len(head) < 10_000 and sum(v.nbytes for v in views) >= 3_200_000
    job = TrainingJob(functools.partial(echo_work, frame), queue=TrainingQueue(1)).start()
    job.wait(60)
    assert job.state == "done", (job.error, job.hint)
    back = job.result
    pd.testing.assert_frame_equal(back, frame * 2)
    back.iloc[0, 0] = -1.0  # rebuilt on writable buffers
