"""Training in a worker process, with a bounded number running at once.

A :class:`TrainingJob` runs :func:`core.train._runner.train` in a **child process**, so a training
never holds the server's GIL: the Streamlit server keeps answering every session while models
fit. A monitor thread in the server owns the child. It first takes a slot from the
process-wide :class:`TrainingQueue` (at most ``Limits.max_concurrent_trainings`` trainings run
at once; the others wait in arrival order and know their position), then starts the child,
sends it the work, keeps the newest :class:`~core.train._runner.Progress` it reports (the page polls
:attr:`TrainingJob.progress`), passes on a cancel, and receives the result, the
:class:`~core.errors.TabwrightError` message and hint, or a plain description of a bug.

Children come from a ``multiprocessing`` *forkserver* (never a plain ``fork`` of the
multithreaded server) that has already imported :mod:`core.train._runner`, so a child starts in
a fraction of a second instead of importing pandas and scikit-learn again. The work is
pickled to the child (``work`` must be picklable: a function of an importable module or a
``functools.partial`` of one, e.g. of :func:`core.train._runner.train`), together with the server's
current environment, so settings such as ``TABWRIGHT_MAX_ENCODED_FEATURES`` apply in the child
as they do in the server. Unlike multiprocessing's default, a child does not re-run the
server's ``__main__`` (under Streamlit that is the page script itself). Work that cannot be
pickled (a lambda, a closure) still runs, on the monitor thread in this process as before,
and a warning says so.

Children run at a lower CPU priority (:data:`NICENESS`): on a busy machine the server's page
runs come first, and training uses the CPU time left over.

Nothing can make a job hang:

* a child that ignores Cancel for ``cancel_grace`` seconds (default 20) is killed, and so is
  one that runs ``Limits.max_training_seconds`` plus a safety margin; ``.error`` and ``.hint``
  say which;
* a child that dies (killed, out of memory) fails the job with a plain message;
* children are daemonic: they are terminated when the server exits normally, and exit by
  themselves when the server dies (their control pipe closes).

Memory: everything a training allocates lives in the child and is returned to the operating
system when the child exits; the server only keeps the result it received (the fitted
pipeline and the train/test rows). Work and result go through the pipe pickled with their
arrays out of band (protocol 5): the sender copies nothing, and the receiver rebuilds the
arrays on the buffers it read, so a frame costs its size once on each side, not three times.
A work object may also have ``pack(result)`` (run in the child before sending) and
``restore(result)`` (run here), as :class:`core.train._runner.TrainWork` does to send row numbers
instead of rows.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from multiprocessing import forkserver, spawn
from multiprocessing.connection import wait as wait_for
from typing import Any, Callable

from core.errors import Cancelled, TabwrightError
from core.recipe import Recipe
from core.run import CancelToken, Progress, TrainResult
from core.settings import current as current_limits

log = logging.getLogger(__name__)

# Modules the forkserver imports once, so every child starts with them loaded (a missing
# optional one, e.g. optuna, is skipped).
PRELOAD = ["core.train._runner", "core.evaluate._heldout", "core.ingest._roles", "optuna"]
# Trainings run at this lower CPU priority (Unix nice), so on a busy machine the server's page
# runs come first and training takes the CPU time left over: pages stay quick under load.
NICENESS = 10
# Seconds a child may keep running after Cancel before it is killed.
CANCEL_GRACE_SECONDS = 20.0
# How far past ``Limits.max_training_seconds`` a child may run before it is killed.
OVERTIME_FACTOR, OVERTIME_SECONDS = 1.1, 60.0
_POLL_SECONDS = 0.2
_CHILD_NAME = "tabwright-training"

_BUG_HINT = "This is a bug in tabwright; your data and choices are kept. Try another model."


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


# ---- the worker processes ------------------------------------------------------------------

_CONTEXT: Any = None
_CONTEXT_LOCK = threading.Lock()
# Process.start() and the final join touch multiprocessing's shared bookkeeping of children:
# one at a time.
_PROCESS_LOCK = threading.Lock()


def _without_main(get_preparation_data: Callable[[str], dict]) -> Callable[[str], dict]:
    """``multiprocessing.spawn.get_preparation_data``, minus ``__main__`` for our children.

    multiprocessing makes every child re-run the parent's ``__main__`` before it starts. In
    the server that is the wrong thing to run: Streamlit installs the page script being run as
    ``__main__`` (so each child would run ``app.py`` in bare mode), and a launcher script
    imports the whole UI. A training child needs nothing from ``__main__`` (its work is
    pickled by module name), so our children skip it; other processes are untouched.
    """
    def preparation_data(name: str) -> dict:
        data = get_preparation_data(name)
        if name == _CHILD_NAME:
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
        return data

    preparation_data.tabwright_without_main = True  # type: ignore[attr-defined]
    return preparation_data


def _context() -> Any:
    """The forkserver context, with :data:`PRELOAD` set before the server first starts."""
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            if not getattr(spawn.get_preparation_data, "tabwright_without_main", False):
                spawn.get_preparation_data = _without_main(spawn.get_preparation_data)
            _CONTEXT = context
        return _CONTEXT


_WARMED = threading.Event()


def warm_up() -> None:
    """Start the forkserver now (it imports :data:`PRELOAD`, a few seconds) in the background.

    Optional: the first training otherwise waits for it. Only the first call does anything,
    so a page script may call it on every run.
    """

    with _CONTEXT_LOCK:
        if _WARMED.is_set():
            return
        _WARMED.set()
    _context()
    threading.Thread(target=forkserver.ensure_running, daemon=True,
                     name="tabwright-forkserver-warm-up").start()


def _child_main(to_parent: Any, from_parent: Any) -> None:
    """The child: receive the environment and the work, run it, send back what happened.

    Messages to the parent: ``("progress", Progress)`` any number of times, then exactly one
    of ``("result", value)``, ``("cancelled",)``, ``("error", message, hint)`` or
    ``("bug", description)``. From the parent: the environment, the pickled work, and later
    ``"cancel"``; end of file means the parent is gone, and the child exits at once.
    """
    try:
        os.nice(NICENESS)  # before any thread starts, so the OpenMP threads inherit it
    except OSError:
        pass
    environ = from_parent.recv()
    os.environ.clear()
    os.environ.update(environ)
    sending = threading.Lock()

    def send(message: tuple) -> None:
        with sending:
            to_parent.send(message)

    try:
        work = _receive(from_parent, from_parent.recv())
    except (EOFError, OSError):
        return  # the server is gone
    except Exception as exc:  # e.g. a function that only exists in the server's __main__
        traceback.print_exc()
        send(("bug", f"the training could not be loaded in its worker process "
                     f"({type(exc).__name__}: {exc})"))
        return
    token = CancelToken()

    def listen() -> None:
        try:
            while True:
                if from_parent.recv() == "cancel":
                    token.cancel()
        except (EOFError, OSError):
            os._exit(3)  # the server is gone (or finished with us): nobody wants the result

    threading.Thread(target=listen, daemon=True, name="tabwright-control").start()
    try:
        message: tuple = ("result", work(progress=lambda p: send(("progress", p)), cancel=token))
        pack = getattr(work, "pack", None)
        if pack is not None:
            message = ("result", pack(message[1]))
        del work  # e.g. what the training no longer needs, before the result is pickled
    except Cancelled:
        message = ("cancelled",)
    except TabwrightError as exc:
        message = ("error", exc.message, exc.hint)
    except Exception as exc:  # a bug: say so plainly, the traceback goes to the server's log
        traceback.print_exc()
        message = ("bug", f"{type(exc).__name__}: {exc}")
    try:
        if message[0] == "result":
            parts = _pickled(message)  # first, so a failure sends nothing
            with sending:
                _send_parts(to_parent, parts, tag="parts")
        else:
            send(message)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        traceback.print_exc()
        send(("bug", f"the result could not be sent back ({type(exc).__name__}: {exc})"))
    sys.stderr.flush()


def _death_message(exitcode: int | None) -> tuple[str, str]:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if -exitcode == signal.SIGKILL:
            return (f"The training process was killed ({name}) before it finished; this usually "
                    "means the machine ran out of memory.",
                    "Your data and choices are kept. Try fewer rows (sample the data), fewer or "
                    "lighter models, or fewer trainings at once.")
        return (f"The training process was stopped by {name} before it finished.",
                "Your data and choices are kept: train again.")
    return (f"The training process ended unexpectedly (exit code {exitcode}) before it finished.",
            "Your data and choices are kept: train again. If it happens again, the server's log "
            "says why.")


@dataclass(frozen=True)
class RunContext:
    """What a training started from, kept with its job until its result is collected.

    The data and the recipe may change while the job runs; comparing them with these tells
    whether the finished run still belongs to the project (see
    :func:`core.project.collect_training`).

    Attributes
    ----------
    hypothesis : str
        What the user expected the run to show, saved with it in the run history.
    data_name : str
        The data's file name, as the run history shows it.
    data_fingerprint : str
        :func:`core.run.fingerprint` of the data the job trains on.
    recipe : Recipe
        A copy of the recipe the job trains with.
    """

    hypothesis: str
    data_name: str
    data_fingerprint: str
    recipe: Recipe


class TrainingJob:
    """One training in a worker process, watched by a monitor thread in this process.

    Parameters
    ----------
    work : callable
        ``work(progress=..., cancel=...)`` returning the result, e.g. a ``functools.partial``
        of :func:`core.train._runner.train`. Picklable, so it can run in the child process.
    context : RunContext, optional
        What the training started from; the job only keeps it for whoever collects the result.
    queue : TrainingQueue, optional
        Defaults to the process-wide queue.
    cancel_grace : float, optional
        Seconds a child may run on after :meth:`cancel` before it is killed (default 20).
    time_limit : float, optional
        Seconds a child may run in all before it is killed. Default
        ``Limits.max_training_seconds`` × 1.1 + 60 s, read when the training starts.
    """

    def __init__(self, work: Callable[..., Any], *, context: RunContext | None = None,
                 queue: TrainingQueue | None = None, cancel_grace: float = CANCEL_GRACE_SECONDS,
                 time_limit: float | None = None) -> None:
        self.cancel_token = CancelToken()
        self.queue = queue or shared_queue()
        self.progress = Progress(0.0, "Waiting to start")
        self.context = context
        # Set once the finished job's result has been recorded, so a rerun never records it twice.
        self.collected: bool = False
        self.result: TrainResult | None = None
        self.error: str | None = None
        self.hint: str = ""
        self.state = "queued"  # queued → running → done | failed | cancelled
        self.started = time.monotonic()
        self.finished: float | None = None
        self.cancel_grace = cancel_grace
        self.time_limit = time_limit
        self.pid: int | None = None  # the child's, while it runs
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

    # ---- the monitor thread ----

    def _run(self) -> None:
        try:
            self.queue.acquire(self, self.cancel_token)
        except Cancelled:
            self.state, self.finished = "cancelled", time.monotonic()
            return
        self.state = "running"
        try:
            try:
                payload = _pickled(self._work)
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                # A lambda or a closure: run it here, on this thread, as before processes.
                log.warning("Training work %s cannot be pickled (%s); it runs on a thread in the "
                            "server process instead of a worker process.",
                            getattr(self._work, "__qualname__", type(self._work).__name__), exc)
                self._run_here()
            else:
                self._run_in_child(payload)
        except TabwrightError as exc:  # e.g. a malformed limit in the environment
            self._fail(exc.message, exc.hint)
        except Exception as exc:  # the monitor itself failed: keep the app alive, say so
            traceback.print_exc()
            self._fail(f"Training failed unexpectedly ({type(exc).__name__}: {exc}).", _BUG_HINT)
        finally:
            self.pid = None
            self.finished = time.monotonic()
            self._work = None  # e.g. its frame: a finished job keeps only its result
            self.queue.release()

    def _fail(self, error: str, hint: str, state: str = "failed") -> None:
        self.error, self.hint, self.state = error, hint, state

    def _finish(self, message: tuple) -> None:
        kind = message[0]
        if kind == "result":
            self.result = message[1]
            self.state = "cancelled" if getattr(self.result, "cancelled", False) else "done"
        elif kind == "cancelled":
            self.state = "cancelled"
        elif kind == "error":
            self._fail(message[1], message[2])
        else:
            self._fail(f"Training failed unexpectedly ({message[1]}).", _BUG_HINT)

    def _run_here(self) -> None:
        try:
            message: tuple = ("result", self._work(progress=self._report, cancel=self.cancel_token))
        except Cancelled:
            message = ("cancelled",)
        except TabwrightError as exc:
            message = ("error", exc.message, exc.hint)
        except Exception as exc:
            traceback.print_exc()
            message = ("bug", f"{type(exc).__name__}: {exc}")
        self._finish(message)

    def _run_in_child(self, payload: tuple[bytes, list[memoryview]]) -> None:
        limit = self.time_limit
        if limit is None:
            limit = current_limits().max_training_seconds * OVERTIME_FACTOR + OVERTIME_SECONDS
        context = _context()
        from_child, child_out = context.Pipe(duplex=False)
        child_in, to_child = context.Pipe(duplex=False)
        process = context.Process(target=_child_main, args=(child_out, child_in), daemon=True,
                                  name=_CHILD_NAME)
        self.progress = Progress(0.0, "Starting")
        final: tuple | None = None
        killed: str | None = None
        sender: threading.Thread | None = None
        started = False
        try:
            with _PROCESS_LOCK:
                process.start()
            started = True
            self.pid = process.pid
            child_out.close()  # the child has its own copies now; ours would hide its exit
            child_in.close()
            began = time.monotonic()
            # A big frame takes a while to go through the pipe: send it beside the watch, which
            # keeps counting toward the kills even if the child never reads it.
            sender = threading.Thread(target=_send_work, args=(to_child, payload), daemon=True,
                                      name="tabwright-send-work")
            del payload
            sender.start()
            final, killed = self._watch(process, from_child, to_child, sender, began, limit)
        finally:
            if sender is not None and sender.is_alive():  # the child is not reading: stop it
                process.kill()
                sender.join()
            # Closing our end tells a child that has answered to exit now, whatever threads a
            # library left behind in it.
            to_child.close()
            exitcode = None
            if started:
                if not wait_for([process.sentinel], timeout=10):
                    process.kill()
                with _PROCESS_LOCK:  # one reader of the exit status at a time
                    process.join()
                exitcode = process.exitcode
                process.close()
            for connection in (from_child, child_out, child_in):
                connection.close()
        if final is not None:
            restore = getattr(self._work, "restore", None)
            if final[0] == "result" and restore is not None:
                final = ("result", restore(final[1]))
            self._finish(final)
        elif killed == "cancel":
            self._fail(f"The training did not stop within {self.cancel_grace:g} s of Cancel, so "
                       "it was stopped forcibly; nothing from it was kept.",
                       "Your data and choices are kept.", state="cancelled")
        elif killed == "time":
            self._fail(f"The training ran for more than {limit:.0f} s, past the time limit, and "
                       "was stopped.", "Lower the time budget or choose fewer models; the limit is "
                       "TABWRIGHT_MAX_TRAINING_SECONDS.")
        else:
            self._fail(*_death_message(exitcode))

    def _watch(self, process: Any, from_child: Any, to_child: Any, sender: threading.Thread,
               began: float, limit: float) -> tuple[tuple | None, str | None]:
        """Follow the child until its final message, its death, or a kill: (final, killed)."""
        asked: float | None = None  # when Cancel was first seen
        delivered = False
        while True:
            ready = wait_for([from_child, process.sentinel], timeout=_POLL_SECONDS)
            try:
                while from_child.poll():  # everything waiting: only the newest progress stays
                    message = from_child.recv()
                    if message[0] == "parts":
                        return _receive(from_child, message[1]), None
                    if message[0] != "progress":
                        return message, None
                    self.progress = message[1]
            except (EOFError, OSError):
                return None, None  # the child closed its end without answering: it is gone
            if process.sentinel in ready:
                return None, None
            now = time.monotonic()
            if self.cancel_token.cancelled and asked is None:
                asked = now
            if asked is not None and not delivered and not sender.is_alive():
                delivered = True  # after the work, never interleaved with it
                try:
                    to_child.send("cancel")
                except OSError:
                    pass
            if asked is not None and now - asked > self.cancel_grace:
                log.warning("Training process %s ignored Cancel for %g s: killing it.",
                            process.pid, self.cancel_grace)
                process.kill()
                return None, "cancel"
            if now - began > limit:
                log.warning("Training process %s ran past %.0f s: killing it.", process.pid, limit)
                process.kill()
                return None, "time"


def _pickled(value: Any) -> tuple[bytes, list[memoryview]]:
    """``value`` pickled with its big arrays out of band (protocol 5): a small pickle, and
    views of the arrays' own memory, so nothing the size of the data is copied to send it."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    return head, [buffer.raw() for buffer in buffers]


def _send_parts(connection: Any, parts: tuple[bytes, list[memoryview]], tag: str | None = None
                ) -> None:
    """The sizes (as ``(tag, sizes)`` with a tag), the pickle and each array buffer, as
    separate messages (see :func:`_receive`)."""
    head, views = parts
    sizes = [len(head)] + [view.nbytes for view in views]
    connection.send(sizes if tag is None else (tag, sizes))
    connection.send_bytes(head)
    for view in views:
        connection.send_bytes(view)


def _receive(connection: Any, sizes: list[int]) -> Any:
    """What :func:`_send_parts` sent: the arrays are rebuilt on the received buffers (writable
    ``bytearray`` objects) without another copy, so a million-row frame costs its own size once."""
    head = connection.recv_bytes()
    buffers = []
    for size in sizes[1:]:
        buffer = bytearray(size)
        connection.recv_bytes_into(buffer)
        buffers.append(buffer)
    return pickle.loads(head, buffers=buffers)


def _send_work(to_child: Any, payload: tuple[bytes, list[memoryview]]) -> None:
    """The server's environment, then the pickled work (see :func:`_child_main`)."""
    try:
        to_child.send(dict(os.environ))
        _send_parts(to_child, payload)
    except (OSError, ValueError, TypeError):
        pass  # the child died or was killed: the watch finds out and says so
