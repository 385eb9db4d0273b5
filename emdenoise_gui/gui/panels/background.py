"""Short computations for the compare view (high-pass, flattest region) off the GUI thread.

The view hands a function and its arguments to :class:`Background` with a key; the function
runs on a private thread pool and its return value comes back in the GUI thread as the
``done(key, value)`` signal. Whether a value is still wanted (the slice or stack may have
changed meanwhile) is for the receiver to decide from the key. Functions must not touch Qt
widgets; numpy and scipy release the GIL in their heavy loops, so the window stays responsive.
"""

from __future__ import annotations

import traceback

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
