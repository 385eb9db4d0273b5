"""Short computations off the GUI thread: the compare view's (high-pass, flattest region) and the
wizard's measurements (similarity, dose, training speed).

The view hands a function and its arguments to :class:`Background` with a key; the function
runs on a private thread pool and its return value comes back in the GUI thread as the
``done(key, value)`` signal. Whether a value is still wanted (the slice or stack may have
changed meanwhile) is for the receiver to decide from the key. Functions must not touch Qt
widgets; numpy and scipy release the GIL in their heavy loops, so the window stays responsive.
"""

from __future__ import annotations

import itertools
import threading
import traceback
from typing import Callable

from PySide6 import QtCore

#: Threads for view computations: one for the original and one for the result slice.
THREADS = 2


class Background(QtCore.QObject):
    """A thread pool whose results arrive as signals in the thread that owns this object.

    Signals: ``done(key, value)`` with the function's return value; ``failed(key, message)``
    with the exception's text when it raised (the traceback goes to the log via ``details``).
    """

    done = QtCore.Signal(object, object)
    failed = QtCore.Signal(object, str)

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.pool = QtCore.QThreadPool(self)
        self.pool.setMaxThreadCount(THREADS)
        self.pending: set = set()
        self.details = ""  # the last failure's traceback, for a bug report
        # emitted from a pool thread, delivered in ours: the connection is queued by thread affinity
        self._relay = _Relay()
        self._relay.moveToThread(self.thread())
        self._relay.finished.connect(self._on_finished)

    def submit(self, key, function, *args) -> bool:
        """Run ``function(*args)`` on the pool unless ``key`` is already running; True if started."""
        if key in self.pending:
            return False
        self.pending.add(key)
        relay = self._relay

        def run() -> None:
            try:
                relay.finished.emit(key, True, function(*args))
            except Exception as exc:  # reported in the GUI thread, never lost in the pool
                relay.finished.emit(key, False, (f"{type(exc).__name__}: {exc}", traceback.format_exc()))

        self.pool.start(run)
        return True

    def wait(self, msecs: int = -1) -> bool:
        """Block until every submitted function has returned (tests and shutdown only)."""
        return self.pool.waitForDone(msecs)

    def _on_finished(self, key, ok: bool, value) -> None:
        self.pending.discard(key)
        if ok:
            self.done.emit(key, value)
        else:
            self.details = value[1]
            self.failed.emit(key, value[0])


class _Relay(QtCore.QObject):
    finished = QtCore.Signal(object, bool, object)


class _CallbackRelay(QtCore.QObject):
    done = QtCore.Signal(int, object, object)  # ticket, result, error


_callback_relay: _CallbackRelay | None = None
#: ticket -> callback, on the GUI thread only: a worker thread never holds a widget (a widget's last
#: reference dropped on a worker thread would destroy it there)
_callbacks: dict[int, Callable] = {}
_tickets = itertools.count()


def _deliver(ticket: int, result, error) -> None:
    callback = _callbacks.pop(ticket, None)
    if callback is None:
        return
    try:
        callback(result, error)
    except RuntimeError as exc:  # the page that asked was closed meanwhile: nothing to show
        if "already deleted" not in str(exc):
            raise


def run_later(work: Callable[[], object], on_done: Callable[[object, BaseException | None], None]) -> threading.Thread:
    """Call ``work()`` on a helper thread, then ``on_done(result, error)`` on the GUI thread.

    ``error`` is the exception ``work`` raised (``result`` None then). ``work`` must not hold Qt
    objects; ``on_done`` stays on the GUI thread. Callers check in ``on_done`` that what they measured
    is still what the user is looking at.
    """
    global _callback_relay
    if _callback_relay is None:  # created on the GUI thread, so its queued signal is delivered there
        _callback_relay = _CallbackRelay()
        _callback_relay.done.connect(_deliver)
    ticket = next(_tickets)
    _callbacks[ticket] = on_done
    relay = _callback_relay

    def body() -> None:
        try:
            result, error = work(), None
        except Exception as exc:  # noqa: BLE001 - handed to the page, which says what went wrong
            result, error = None, exc.with_traceback(None)
        try:
            relay.done.emit(ticket, result, error)
        except RuntimeError:  # the app is closing
            pass

    thread = threading.Thread(target=body, name="emdenoise-measure", daemon=True)
    thread.start()
    return thread
