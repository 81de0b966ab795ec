"""Background trainings: progress, cancellation, errors, and a bound on how many run at once."""

import threading
import time

import pytest

from core.errors import TabwrightError
from core.jobs import TrainingJob, TrainingQueue
from core.train import Progress


def slow_work(seconds, log, lock):
    def work(*, progress, cancel):
        with lock:
            log.append(+1)
        progress(Progress(0.5, "half way"))
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            cancel.check()
            time.sleep(0.01)
        with lock:
            log.append(-1)
        return "model"
    return work


def test_queue_bounds_concurrent_trainings_and_reports_positions():
    queue = TrainingQueue(2)
    log, lock = [], threading.Lock()
    jobs = [TrainingJob(slow_work(0.4, log, lock), queue=queue) for _ in range(5)]
    for job in jobs:
        job.start()
        time.sleep(0.02)
    time.sleep(0.1)
    waiting = sorted(j.queue_position for j in jobs if j.state == "queued")
    assert waiting == [1, 2, 3]
    for job in jobs:
        job.wait(10)
    assert all(j.state == "done" and j.result == "model" for j in jobs)
    running, peak = 0, 0
    for step in log:
        running += step
        peak = max(peak, running)
    assert peak == 2 and queue.peak_running == 2


def test_cancel_while_queued_and_while_running():
    queue = TrainingQueue(1)
    log, lock = [], threading.Lock()
    first = TrainingJob(slow_work(5, log, lock), queue=queue).start()
    second = TrainingJob(slow_work(5, log, lock), queue=queue).start()
    time.sleep(0.2)
    assert first.state == "running" and second.state == "queued"
    assert first.progress.message == "half way"
    second.cancel()
    first.cancel()
    first.wait(5)
    second.wait(5)
    assert first.state == "cancelled" and second.state == "cancelled"
    assert queue.running == 0


def test_errors_are_kept_for_the_page():
    def bad(*, progress, cancel):
        raise TabwrightError("The target has one class.", "Choose another target.")

    job = TrainingJob(bad, queue=TrainingQueue(1)).start()
    job.wait(5)
    assert job.state == "failed"
    assert job.error == "The target has one class." and job.hint == "Choose another target."
