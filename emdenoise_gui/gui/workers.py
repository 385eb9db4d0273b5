"""Background jobs: the core's event generators run on QThreads and report through signals.

A :class:`Job` owns one generator factory ``make(cancel_token) -> generator``.
It waits (status ``"waiting"``) until :meth:`Job.start` (the job queue,
``gui.job_queue``, decides when). Its worker then runs on its own QThread,
forwards events (of tile progress not yet taken only the newest; every training step
goes through, since each is a point of the loss curve, whose redraws are
throttled instead), and ends with exactly one of ``finished(value)``,
``failed(JobFailure)`` or ``cancelled()``; ``ended()`` follows once its
thread has stopped. ``cancel()`` is called from the GUI thread: a waiting job
ends at once without running; a running one only gets its token set and
stops at its next tile, layer or step. Exceptions never escape a worker: a failure
becomes a :class:`JobFailure`.

Keeping the window responsive (measured on 2 shared cores with a training and a model denoise
running: see tests/gui/test_responsiveness.py):

* Events reach the GUI thread in batches: the worker queues them and signals once until the GUI
  thread has taken them, and the GUI thread takes a job's events at most every EMIT_INTERVAL_S. A
  fast job (hundreds of training steps or tiles a second) costs the GUI thread at most 20 wake-ups
  a second, and ``state_changed`` once per batch; nothing is dropped but superseded progress.
* Each job thread gets its share of torch's CPU threads, one core kept for the GUI thread
  (:func:`job_threads`): torch otherwise starts a thread per core in every job, and on a machine with
  few cores the job threads then crowd out the window and each other (on 2 busy cores a tile took
  2-3 times longer with 2 threads than with 1).
* Garbage collection is kept short while jobs run: a full collection walks every Python object (with
  torch, Qt and pyqtgraph loaded, 300,000 or more: 0.1-0.25 s, holding the interpreter lock, so the
  window stops), and a job's set-up (importing torch's optimiser code, building a network) triggers
  several. While a job sets up (until its first fraction done) full collections wait; then every
  object that exists is frozen (``gc.freeze``), so later collections skip them (young ones still run).
  When the last job ends the objects are unfrozen and collected as usual.
"""

from __future__ import annotations

import gc
import itertools
import os
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from typing import Callable

from PySide6 import QtCore

from emdenoise_gui.core import events as ev
from emdenoise_gui.core.errors import (
    Cancelled,
    InputError,
    out_of_memory,
    system_failure,
)
from emdenoise_gui.core.events import CancelToken, Progress, RateMeter

#: The GUI thread takes a job's queued events at most this often (s).
EMIT_INTERVAL_S = 0.05
#: Cores left to the GUI thread while jobs compute with torch (see :func:`job_threads`).
GUI_CORES = 1
#: The full-collection threshold while a job sets up (collections of the young generations go on).
HELD_FULL_COLLECTIONS = 10**9
OUT_OF_MEMORY = ("out of memory: close other programs; for denoising, a smaller tile size in Settings (cyclic and "
                 "Xception models keep their own tile size: denoise a region or a smaller image); for training, a "
                 "smaller crop or batch (the wizard's Advanced settings)")
ACTIVE = ("waiting", "running", "cancelling")
_ids = itertools.count(1)
_live: set["Job"] = set()  # started jobs whose thread has not ended: kept alive until it has
_torch_threads: int | None = None  # torch's threads before any job changed them (Settings, or one per core)
_setting_up = 0  # started jobs that have not counted yet (GUI thread only)
_thresholds: tuple[int, ...] = gc.get_threshold()  # the collector's thresholds outside set-ups


def live_jobs() -> list["Job"]:
    """Every job whose thread was started and has not ended yet (any window, any queue)."""
    return list(_live)


def cpu_cores() -> int:
    """The CPU cores this process may run on (its affinity, where the platform tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def thread_limit() -> int:
    """The most CPU threads the app's work should use: one per core it may run on (:func:`cpu_cores`), or fewer
    where the environment's OMP_NUM_THREADS says so (a shared machine's or a batch scheduler's limit, which torch
    honours by itself until Settings ▸ CPU threads "all" set one per core past it)."""
    cores = cpu_cores()
    try:  # a list ("4,2": per nesting level) starts with the outermost level's, the one torch takes
        limit = int(os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip())
    except ValueError:  # unset, or not a number
        return cores
    return min(cores, limit) if limit > 0 else cores


def _set_up(change: int) -> None:
    """Count jobs setting up (+1 when one starts, -1 when it counts or ends): full garbage collections
    wait while any does; when none does, every object now alive is frozen out of collections."""
    global _setting_up, _thresholds
    if change > 0 and _setting_up == 0:
        _thresholds = gc.get_threshold()
        gc.set_threshold(*_thresholds[:2], HELD_FULL_COLLECTIONS)
    _setting_up += change
    if _setting_up == 0:
        gc.set_threshold(*_thresholds)
        gc.freeze()


def _thaw_objects() -> None:
    """Collect the frozen objects again, once no job runs."""
    if not _live and not _setting_up:
        gc.unfreeze()


def set_thread_cap(count: int) -> None:
    """The most torch threads a job takes from now on (Settings ▸ CPU threads; running jobs take it at their next
    event)."""
    global _torch_threads
    _torch_threads = count


def job_threads(cores: int, jobs: int, cap: int | None = None) -> int:
    """Torch CPU threads for each of ``jobs`` jobs running at once on ``cores`` cores: the cores less
    GUI_CORES, shared out; at least 1, at most ``cap`` (the threads torch had, e.g. from Settings).
    2 cores: 1 thread per job; 8 cores: 7 for one job, 3 each for two."""
    share = max(1, (cores - GUI_CORES) // max(1, jobs))
    return min(share, cap) if cap else share


@dataclass(frozen=True)
class JobFailure:
    """Why a job failed: the exception raised and its formatted traceback, kept apart.

    ``exception`` is the object raised (its ``__traceback__`` is dropped so the job's
    frames and arrays are freed); ``traceback_text`` is the whole traceback as text.
    """

    exception: BaseException
    traceback_text: str

    @classmethod
    def capture(cls, exc: BaseException) -> "JobFailure":
        """The failure for ``exc``, caught just now."""
        text = "".join(traceback.format_exception(exc))
        chained, seen = exc, set()
        while chained is not None and id(chained) not in seen:
            seen.add(id(chained))
            chained.__traceback__ = None
            chained = chained.__cause__ or chained.__context__
        return cls(exc, text)

    @property
    def internal(self) -> bool:
        """True for a bug (anything but an InputError, running out of memory or a failing disk or share)."""
        return (not isinstance(self.exception, InputError) and not out_of_memory(self.exception)
                and system_failure(self.exception) is None)

    @property
    def message(self) -> str:
        """One line for the user: the InputError's message, or, for a bug, what happened and what to do."""
        if out_of_memory(self.exception):
            return OUT_OF_MEMORY
        if isinstance(self.exception, InputError):
            return str(self.exception)
        failure = system_failure(self.exception)
        if failure is not None:
            return str(failure)
        lines = str(self.exception).strip().splitlines()
        name = type(self.exception).__name__
        cause = f"{name}: {lines[0]}" if lines else name
        return f"EMDenoise hit an internal error ({cause}); please report it with the text under Show Details."

    @property
    def details(self) -> str:
        """What goes behind a dialog's Details button: the traceback of an internal error, else ""."""
        return self.traceback_text if self.internal else ""

    def __str__(self) -> str:
        return self.message


class _Worker(QtCore.QObject):
    ready = QtCore.Signal()  # events wait in the queue; not signalled again until they are taken
    finished = QtCore.Signal(object)
    failed = QtCore.Signal(object)
    cancelled = QtCore.Signal()

    def __init__(self, make: Callable, token: CancelToken):
        super().__init__()
        self._make, self._token = make, token
        self._events: deque = deque()
        self._lock = threading.Lock()
        self._signalled = False
        self._threads: int | None = None  # torch threads this thread was given
        self._cores = 1

    def _post(self, item) -> None:
        """Queue ``item`` for the GUI thread (worker thread): a Progress replaces a Progress queued just
        before it (only the newest counts); signal unless a signal is still untaken."""
        with self._lock:
            if isinstance(item, Progress) and self._events and isinstance(self._events[-1], Progress):
                self._events[-1] = item
            else:
                self._events.append(item)
            if self._signalled:
                return
            self._signalled = True
        self.ready.emit()

    def take(self) -> list:
        """The events queued so far, oldest first (GUI thread); a later one signals again."""
        with self._lock:
            self._signalled = False
            items = list(self._events)
            self._events.clear()
        return items

    def _fit_threads(self) -> None:
        """Give this thread its share of torch's CPU threads (:func:`job_threads`) once torch is loaded,
        and again when the number of running jobs changes (checked at every event)."""
        global _torch_threads
        torch = sys.modules.get("torch")
        if torch is None or getattr(torch.__spec__, "_initializing", False):  # not loaded (a filter job) or loading
            return
        if _torch_threads is None:
            _torch_threads = torch.get_num_threads()
        threads = job_threads(self._cores, len(_live), _torch_threads)
        if threads != self._threads:
            torch.set_num_threads(threads)  # this thread's (OpenMP) threads, and those of threads it starts
            self._threads = threads

    @QtCore.Slot()
    def run(self) -> None:
        try:
            self._run()
        finally:  # the thread ends as soon as the work does, whatever the GUI thread is doing
            QtCore.QThread.currentThread().quit()

    def _run(self) -> None:
        finished_event = None
        try:
            self._cores = cpu_cores()
            self._fit_threads()
            gen = self._make(self._token)
            while True:
                try:
                    item = next(gen)
                except StopIteration as stop:
                    value = stop.value if finished_event is None else finished_event
                    break
                self._fit_threads()
                self._post(item)
                if isinstance(item, ev.Finished):
                    finished_event = item
            if getattr(value, "cancelled", False):
                self.cancelled.emit()
            else:
                self.finished.emit(value)
        except Cancelled:
            self.cancelled.emit()
        except Exception as exc:  # report, never crash the app (MemoryError included)
            self.failed.emit(JobFailure.capture(exc))


class Job(QtCore.QObject):
    """One background job with a title, a kind ("preview", "denoise", "batch", "train") and a state.

    ``status`` is "waiting", "running", "cancelling", "done", "failed" or "cancelled";
    ``lane`` is set by the job queue ("device" or "filter"); ``failure`` is the
    :class:`JobFailure` of a failed job (``message`` its one line). ``stage`` is the text of
    the job's last ``core.events.Stage`` ("loading model", ...); ``counting`` turns True with
    the first event that gives a fraction done (a Progress with a total, a training step):
    until then ``progress`` means nothing and a display shows a busy indicator.

    Signals (all delivered on the GUI thread): ``event(object)`` for every event in order,
    ``finished(object)``, ``failed(JobFailure)``, ``cancelled()``, ``state_changed()`` after
    changes of ``status`` / ``progress`` / ``eta_s`` / ``stage`` (once per batch of events),
    and ``ended()`` once the job's thread has stopped (at once for a job cancelled while waiting).
    """

    event = QtCore.Signal(object)
    finished = QtCore.Signal(object)
    failed = QtCore.Signal(object)
    cancelled = QtCore.Signal()
    state_changed = QtCore.Signal()
    ended = QtCore.Signal()

    def __init__(self, title: str, kind: str, make: Callable, parent=None):
        super().__init__(parent)
        self.id, self.title, self.kind = next(_ids), title, kind
        self.lane: str | None = None
        self.uses: tuple[str, ...] = ()  # model packages (folders or zoo names) it needs: not to be deleted under it
        self.status = "waiting"
        self.progress = 0.0  # 0..1
        self.counting = False
        self._setting_up = False
        self.stage = ""
        self.eta_s: float | None = None
        self.message = ""
        self.failure: JobFailure | None = None
        self.log: list[str] = []
        self.started_at: float | None = None
        self._meter: RateMeter | None = None  # the ETA's, from the job's first count
        self.ended_at: float | None = None
        self._token = CancelToken()
        self._thread = QtCore.QThread()
        self._thread.setObjectName(f"job-{self.id}")
        self._worker = _Worker(make, self._token)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._thread.finished.connect(self._on_thread_finished)
        # bound slots of this GUI-thread object: Qt queues them to the GUI thread (a lambda would run
        # on the worker thread and race with cancel())
        self._worker.ready.connect(self._on_ready)
        self._last_take = 0.0
        self._take_timer = QtCore.QTimer(self)  # takes events that came sooner than EMIT_INTERVAL_S
        self._take_timer.setSingleShot(True)
        self._take_timer.timeout.connect(self._take_events)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)

    # -- control (GUI thread) ----------------------------------------------------------------------
    def start(self) -> None:
        """Run the job on its thread (once; a job no longer waiting is left alone)."""
        if self.status != "waiting":
            return
        self.status, self.started_at = "running", time.perf_counter()
        self.add_log(f"started: {self.title}")
        _live.add(self)
        self._setting_up = True
        _set_up(+1)
        self._thread.start()
        self.state_changed.emit()

    def cancel(self, reason: str = "cancelled while waiting: it never ran") -> None:
        """Stop a running job at its next tile or step; end a waiting one now (``reason`` logged)."""
        if self.status == "waiting":
            self._token.cancel()
            self.add_log(reason)
            self._end("cancelled", self.cancelled, log=False)
            self.ended.emit()
        elif self.status == "running":
            self._token.cancel()
            self.status = "cancelling"
            self.add_log("cancel requested: stopping at the next tile or step")
            self.state_changed.emit()

    def set_paused(self, paused: bool) -> None:
        """Hold a running job at its next pause point (training: between steps), or let it go on."""
        if paused:
            self._token.pause()
        else:
            self._token.resume()
        self.add_log("paused" if paused else "resumed")
        self.state_changed.emit()

    @property
    def paused(self) -> bool:
        return self._token.paused and self.running

    @property
    def running(self) -> bool:
        return self.status in ("running", "cancelling")

    @property
    def active(self) -> bool:
        """Waiting, running or cancelling: not ended yet."""
        return self.status in ACTIVE

    @property
    def thread_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, ms: int = 30000) -> bool:
        """Block until the thread ends (tests and shutdown only)."""
        return self._thread.wait(ms)

    def add_log(self, line: str) -> None:
        self.log.append(f"{time.strftime('%H:%M:%S')}  {line}")

    # -- worker callbacks (GUI thread, queued) -------------------------------------------------------
    @QtCore.Slot(object)
    def _on_finished(self, value) -> None:
        self._take_events()  # every event before the end, whatever order the signals came in
        self._end("done", self.finished, value)

    @QtCore.Slot(object)
    def _on_failed(self, failure: JobFailure) -> None:
        self._take_events()
        self.failure, self.message = failure, failure.message
        self._end("failed", self.failed, failure)

    @QtCore.Slot()
    def _on_cancelled(self) -> None:
        self._take_events()
        self._end("cancelled", self.cancelled)

    @QtCore.Slot()
    def _on_thread_finished(self) -> None:
        _live.discard(self)
        _thaw_objects()
        self.ended.emit()

    @QtCore.Slot()
    def _on_ready(self) -> None:
        wait_s = EMIT_INTERVAL_S - (time.perf_counter() - self._last_take)
        if wait_s <= 0:
            self._take_events()
        elif not self._take_timer.isActive():
            self._take_timer.start(int(wait_s * 1000) + 1)

    @QtCore.Slot()
    def _take_events(self) -> None:
        self._take_timer.stop()
        self._last_take = time.perf_counter()
        items = self._worker.take()
        for item in items:
            self._on_event(item)
        if items:
            self.state_changed.emit()

    def _on_event(self, item) -> None:
        if isinstance(item, Progress) and item.total:
            self._count()
            self.progress = item.done / item.total
            if self._meter is None or self._meter.total != item.total or item.done < self._meter.base:
                self._meter = RateMeter(item.total, base=item.done)  # from the first count: not the set-up
            self.eta_s = self._meter.eta(item.done)
        elif isinstance(item, ev.StepDone):
            self._count()
            self.progress, self.eta_s = item.step / item.total_steps, item.eta_s
        elif isinstance(item, ev.Stage):
            self.stage = item.text
            self.add_log(f"{item.text}…")
        elif isinstance(item, ev.Validated):
            self.add_log(f"validation at step {item.step}: " +
                         ", ".join(f"{k} {v:.4g}" for k, v in item.metrics.items()))
        elif isinstance(item, ev.Started):
            self.add_log(f"{item.family} ({item.config}) on {item.device}, {item.parameters / 1e6:.3f} M parameters")
        elif isinstance(item, ev.CheckpointSaved):
            self.add_log(f"checkpoint saved at step {item.step}: {item.path}")
        elif isinstance(item, ev.Message):  # a note the CLI prints: the app kept it nowhere
            self.add_log(item.text)
        self.event.emit(item)

    def _count(self) -> None:
        """The job gives fractions done from now on: its set-up is over."""
        self.counting = True
        self._set_up_done()

    def _set_up_done(self) -> None:
        if self._setting_up:
            self._setting_up = False
            _set_up(-1)

    def _end(self, status: str, signal, *value, log: bool = True) -> None:
        self._set_up_done()  # also when it ended before counting
        self.status, self.ended_at = status, time.perf_counter()
        if status == "done":
            self.progress, self.eta_s = 1.0, 0.0
        if status == "failed":
            self.add_log(f"failed: {self.message}")
        elif log:
            self.add_log(status)
        self._thread.quit()
        signal.emit(*value)
        self.state_changed.emit()
