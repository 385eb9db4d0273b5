"""Background jobs: the core's event generators run on QThreads and report through signals.

A :class:`Job` owns one generator factory ``make(cancel_token) -> generator``.
Its worker runs on its own QThread, forwards events (tile progress throttled
to 20 a second; every training step goes through, since each is a point of the
loss curve, whose redraws are throttled instead), and ends with exactly one
of ``finished(value)``, ``failed(message)`` or ``cancelled()``. ``cancel()`` is
called from the GUI thread and only sets the token; the job stops at its next
tile or step. Exceptions never escape a worker: a failure becomes a message.
"""

from __future__ import annotations

import itertools
import time
import traceback
from typing import Callable

from PySide6 import QtCore

from emdenoise_gui.core.errors import Cancelled, InputError
from emdenoise_gui.core.events import CancelToken, Progress
from emdenoise_gui.core import events as ev

EMIT_INTERVAL_S = 0.05
_ids = itertools.count(1)


class _Worker(QtCore.QObject):
    event = QtCore.Signal(object)
    finished = QtCore.Signal(object)
    failed = QtCore.Signal(str)
    cancelled = QtCore.Signal()

    def __init__(self, make: Callable, token: CancelToken):
        super().__init__()
        self._make, self._token = make, token

    @QtCore.Slot()
    def run(self) -> None:
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
        except InputError as exc:
            self.failed.emit(str(exc))
        except MemoryError:
            self.failed.emit("out of memory: try a smaller tile size in Settings, or fewer slices")
        except Exception as exc:  # report, never crash the app
            self.failed.emit(f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=6)}")


class Job(QtCore.QObject):
    """One background job with a title, a kind ("preview", "denoise", "batch", "train") and a state.

    Signals (all delivered on the GUI thread): ``event(object)``, ``finished(object)``,
    ``failed(str)``, ``cancelled()``, and ``state_changed()`` after every change of
    ``status`` / ``progress`` / ``eta_s``.
    """

    event = QtCore.Signal(object)
    finished = QtCore.Signal(object)
    failed = QtCore.Signal(str)
    cancelled = QtCore.Signal()
    state_changed = QtCore.Signal()

    def __init__(self, title: str, kind: str, make: Callable, parent=None):
        super().__init__(parent)
        self.id, self.title, self.kind = next(_ids), title, kind
        self.status = "queued"
        self.progress = 0.0  # 0..1
        self.eta_s: float | None = None
        self.message = ""
        self.log: list[str] = []
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self._token = CancelToken()
        self._thread = QtCore.QThread()
        self._thread.setObjectName(f"job-{self.id}")
        self._worker = _Worker(make, self._token)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        # bound slots of this GUI-thread object: Qt queues them to the GUI thread (a lambda would run
        # on the worker thread and race with cancel())
        self._worker.event.connect(self._on_event)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)

    # -- control (GUI thread) ----------------------------------------------------------------------
    def start(self) -> None:
        self.status, self.started_at = "running", time.perf_counter()
        self.add_log(f"started: {self.title}")
        self._thread.start()
        self.state_changed.emit()

    def cancel(self) -> None:
        if self.status in ("running", "queued"):
            self._token.cancel()
            self.status = "cancelling"
            self.add_log("cancel requested: stopping at the next tile or step")
            self.state_changed.emit()

    @property
    def running(self) -> bool:
        return self.status in ("running", "cancelling")

    def wait(self, ms: int = 30000) -> bool:
        """Block until the thread ends (tests and shutdown only)."""
        return self._thread.wait(ms)

    def add_log(self, line: str) -> None:
        self.log.append(f"{time.strftime('%H:%M:%S')}  {line}")

    # -- worker callbacks (GUI thread, queued) -------------------------------------------------------
    @QtCore.Slot(object)
    def _on_finished(self, value) -> None:
        self._end("done", self.finished, value)

    @QtCore.Slot(str)
    def _on_failed(self, message: str) -> None:
        self._end("failed", self.failed, message)

    @QtCore.Slot()
    def _on_cancelled(self) -> None:
        self._end("cancelled", self.cancelled)

    @QtCore.Slot(object)
    def _on_event(self, item) -> None:
        if isinstance(item, Progress) and item.total:
            self.progress = item.done / item.total
            elapsed = time.perf_counter() - (self.started_at or time.perf_counter())
            self.eta_s = elapsed * (1 - self.progress) / self.progress if self.progress > 0 else None
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

    def _end(self, status: str, signal, *value) -> None:
        self.status, self.ended_at = status, time.perf_counter()
        if status == "done":
            self.progress, self.eta_s = 1.0, 0.0
        if status == "failed":
            self.message = value[0]
            self.add_log(f"failed: {value[0].splitlines()[0]}")
        else:
            self.add_log(status)
        self._thread.quit()
        signal.emit(*value)
        self.state_changed.emit()
