"""Background jobs: the core's event generators run on QThreads and report through signals.

A :class:`Job` owns one generator factory ``make(cancel_token) -> generator``.
It waits (status ``"waiting"``) until :meth:`Job.start` (the job queue,
``gui.job_queue``, decides when). Its worker then runs on its own QThread,
forwards events (tile progress throttled to 20 a second; every training step
goes through, since each is a point of the loss curve, whose redraws are
throttled instead), and ends with exactly one of ``finished(value)``,
``failed(JobFailure)`` or ``cancelled()``; ``ended()`` follows once its
thread has stopped. ``cancel()`` is called from the GUI thread: a waiting job
ends at once without running; a running one only gets its token set and
stops at its next tile or step. Exceptions never escape a worker: a failure
becomes a :class:`JobFailure`.
"""

from __future__ import annotations

import itertools
import time
import traceback
from dataclasses import dataclass
from typing import Callable

from PySide6 import QtCore

from emdenoise_gui.core import events as ev
from emdenoise_gui.core.errors import Cancelled, InputError
from emdenoise_gui.core.events import CancelToken, Progress, RateMeter

EMIT_INTERVAL_S = 0.05
OUT_OF_MEMORY = "out of memory: try a smaller tile size in Settings, or fewer slices"
ACTIVE = ("waiting", "running", "cancelling")
_ids = itertools.count(1)
_live: set["Job"] = set()  # started jobs whose thread has not ended: kept alive until it has


def live_jobs() -> list["Job"]:
    """Every job whose thread was started and has not ended yet (any window, any queue)."""
    return list(_live)


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
        """True for a bug (anything but an InputError or running out of memory)."""
        return not isinstance(self.exception, (InputError, MemoryError))

    @property
    def message(self) -> str:
        """One line for the user: the InputError's message, or, for a bug, what happened and what to do."""
        if isinstance(self.exception, MemoryError):
            return OUT_OF_MEMORY
        if isinstance(self.exception, InputError):
            return str(self.exception)
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
    event = QtCore.Signal(object)
    finished = QtCore.Signal(object)
    failed = QtCore.Signal(object)
    cancelled = QtCore.Signal()

    def __init__(self, make: Callable, token: CancelToken):
        super().__init__()
        self._make, self._token = make, token

    @QtCore.Slot()
    def run(self) -> None:
        try:
            self._run()
        finally:  # the thread ends as soon as the work does, whatever the GUI thread is doing
            QtCore.QThread.currentThread().quit()

    def _run(self) -> None:
        last, finished_event = 0.0, None
        try:
            gen = self._make(self._token)
            while True:
                try:
                    item = next(gen)
                except StopIteration as stop:
                    value = stop.value if finished_event is None else finished_event
                    break
                now = time.perf_counter()
                final = getattr(item, "done", None) == getattr(item, "total", 0)
                if isinstance(item, Progress) and not final and now - last < EMIT_INTERVAL_S:
                    continue
                last = now
                self.event.emit(item)
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
    :class:`JobFailure` of a failed job (``message`` its one line).

    Signals (all delivered on the GUI thread): ``event(object)``, ``finished(object)``,
    ``failed(JobFailure)``, ``cancelled()``, ``state_changed()`` after every change of
    ``status`` / ``progress`` / ``eta_s``, and ``ended()`` once the job's thread has
    stopped (at once for a job cancelled while waiting).
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
        self.status = "waiting"
        self.progress = 0.0  # 0..1
        self.eta_s: float | None = None
        self.message = ""
        self.failure: JobFailure | None = None
        self.log: list[str] = []
        self.started_at: float | None = None
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
        self._worker.event.connect(self._on_event)
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
        self._end("done", self.finished, value)

    @QtCore.Slot(object)
    def _on_failed(self, failure: JobFailure) -> None:
        self.failure, self.message = failure, failure.message
        self._end("failed", self.failed, failure)

    @QtCore.Slot()
    def _on_cancelled(self) -> None:
        self._end("cancelled", self.cancelled)

    @QtCore.Slot()
    def _on_thread_finished(self) -> None:
        _live.discard(self)
        self.ended.emit()

    @QtCore.Slot(object)
    def _on_event(self, item) -> None:
        if isinstance(item, Progress) and item.total:
            self.progress = item.done / item.total
            meter = RateMeter(item.total, start=self.started_at or time.perf_counter())
            self.eta_s = meter.eta(item.done)
        elif isinstance(item, ev.StepDone):
            self.progress, self.eta_s = item.step / item.total_steps, item.eta_s
        elif isinstance(item, ev.Validated):
            self.add_log(f"validation at step {item.step}: " +
                         ", ".join(f"{k} {v:.4g}" for k, v in item.metrics.items()))
        elif isinstance(item, ev.Started):
            self.add_log(f"{item.family} ({item.config}) on {item.device}, {item.parameters / 1e6:.3f} M parameters")
        elif isinstance(item, ev.CheckpointSaved):
            self.add_log(f"checkpoint saved at step {item.step}: {item.path}")
        self.event.emit(item)
        self.state_changed.emit()

    def _end(self, status: str, signal, *value, log: bool = True) -> None:
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
