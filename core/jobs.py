"""Training in the background, with a bounded number running at once.

A :class:`TrainingJob` runs :func:`core.train.train` on a thread so the UI stays responsive;
the page polls :attr:`TrainingJob.progress` and can cancel. A process-wide
:class:`TrainingQueue` lets at most ``Limits.max_concurrent_trainings`` jobs train at once;
the others wait in arrival order and know their position.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import deque
from typing import Any, Callable

from core.errors import Cancelled, TabwrightError
from core.limits import current as current_limits
from core.train import CancelToken, Progress


class TrainingQueue:
    """First come, first served slots for trainings."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._lock = threading.Condition()
        self._running = 0
        self._waiting: deque[object] = deque()
        self.peak_running = 0

    def position(self, ticket: object) -> int:
        """0 when running or not queued; otherwise 1 for the next in line."""
        with self._lock:
            try:
                return self._waiting.index(ticket) + 1
            except ValueError:
                return 0

    def acquire(self, ticket: object, cancel: CancelToken) -> None:
        with self._lock:
            self._waiting.append(ticket)
            try:
                while self._running >= self.slots or self._waiting[0] is not ticket:
                    if cancel.cancelled:
                        raise Cancelled()
                    self._lock.wait(timeout=0.2)
            finally:
                self._waiting.remove(ticket)
            self._running += 1
            self.peak_running = max(self.peak_running, self._running)
            self._lock.notify_all()

    def release(self) -> None:
        with self._lock:
            self._running -= 1
            self._lock.notify_all()

    @property
    def running(self) -> int:
        with self._lock:
            return self._running


_QUEUE: TrainingQueue | None = None
_QUEUE_LOCK = threading.Lock()


def shared_queue() -> TrainingQueue:
    """The process-wide queue (sized from the limits when first used)."""
    global _QUEUE
    with _QUEUE_LOCK:
        if _QUEUE is None:
            _QUEUE = TrainingQueue(current_limits().max_concurrent_trainings)
        return _QUEUE


class TrainingJob:
    """One training on a background thread.

    Parameters
    ----------
    work : callable
        ``work(progress=..., cancel=...)`` returning the result, e.g. a ``functools.partial``
        of :func:`core.train.train`.
    queue : TrainingQueue, optional
        Defaults to the process-wide queue.
    """

    def __init__(self, work: Callable[..., Any], *, queue: TrainingQueue | None = None) -> None:
        self.cancel_token = CancelToken()
        self.queue = queue or shared_queue()
        self.progress = Progress(0.0, "Waiting to start")
        self.result: Any = None
        self.error: str | None = None
        self.hint: str = ""
        self.state = "queued"  # queued → running → done | failed | cancelled
        self.started = time.monotonic()
        self.finished: float | None = None
        self._work = work
        self._thread = threading.Thread(target=self._run, daemon=True, name="tabwright-training")

    def start(self) -> "TrainingJob":
        self._thread.start()
        return self

    def cancel(self) -> None:
        self.cancel_token.cancel()

    @property
    def queue_position(self) -> int:
        return self.queue.position(self) if self.state == "queued" else 0

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    def wait(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _report(self, progress: Progress) -> None:
        self.progress = progress

    def _run(self) -> None:
        try:
            self.queue.acquire(self, self.cancel_token)
        except Cancelled:
            self.state, self.finished = "cancelled", time.monotonic()
            return
        self.state = "running"
        try:
            self.result = self._work(progress=self._report, cancel=self.cancel_token)
            self.state = "cancelled" if getattr(self.result, "cancelled", False) else "done"
        except Cancelled:
            self.state = "cancelled"
        except TabwrightError as exc:
            self.error, self.hint, self.state = exc.message, exc.hint, "failed"
        except Exception as exc:  # a bug: keep the app alive and say so plainly
            traceback.print_exc()
            self.error = f"Training failed unexpectedly ({type(exc).__name__}: {exc})."
            self.hint = "This is a bug in tabwright; your data and choices are kept. Try another model."
            self.state = "failed"
        finally:
            self.finished = time.monotonic()
            self.queue.release()
