"""How the app's process ends: Ctrl+C and SIGTERM close the window like File ▸ Quit, and once the
window is closed the process ends at once (:func:`end_process`), within :data:`EXIT_GRACE_S` at worst.

Signals. Python runs a signal handler only between bytecodes, and Qt's event loop runs none, so
a plain handler would wait for the next mouse move (and a KeyboardInterrupt raised inside a Qt slot
is swallowed). :func:`quit_on_signals` has the signal written to a socket that Qt watches; the
window then closes as after File ▸ Quit, cancelling running jobs without asking (their partial
files are removed, the project is saved). A second signal ends the process at once.

Exit. When the window has closed, every job has stopped and the project is saved, nothing is left
to lose; what remains is Python and the libraries tearing down, and that is where a quit could hang
or crash: a daemon thread still inside torch (the device probe importing it, the model zoo timing a
model) is killed mid-operation by the interpreter's teardown ("terminate called without an active
exception", an abort and a core dump that can take minutes to write), and torch's and OpenMP's
thread pools, pyqtgraph's clean-up and GPU drivers tear down in C++ destructors. So the app does not
tear down: :func:`end_process` runs the Python exit handlers (temporary folders), flushes the
output and leaves with ``os._exit``, under a native watchdog (``faulthandler``) that ends the
process after :data:`EXIT_GRACE_S` should an exit handler hang, printing where every thread was.
"""

from __future__ import annotations

import atexit
import faulthandler
import os
import signal
import socket
import sys
import threading
import time
from typing import Callable, TypeVar

from PySide6 import QtCore, QtWidgets

#: Seconds the process may take to end after its window closed before the watchdog ends it.
EXIT_GRACE_S = 5.0
QUIT_SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None),
                                 getattr(signal, "SIGHUP", None)) if s is not None)


class SignalQuitter(QtCore.QObject):
    """Watches the wake-up socket and calls ``quit_now()`` on the first quit signal."""

    def __init__(self, quit_now, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self._quit_now = quit_now
        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self._previous = {sig: signal.signal(sig, self._note) for sig in QUIT_SIGNALS}
        self.received: list[int] = []
        self._notifier = QtCore.QSocketNotifier(self._reader.fileno(), QtCore.QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._woke)

    def _note(self, signum, _frame) -> None:
        """The Python-level handler: a second quit signal while quitting ends the process now."""
        if self.received:
            os._exit(128 + signum)

    def _woke(self, *_args) -> None:
        try:
            data = self._reader.recv(64)
        except OSError:
            return
        if not data or self.received:
            return
        self.received.extend(data)
        print(f"emdenoise-gui: {signal.Signals(data[0]).name} received: cancelling jobs and quitting "
              "(send it again to stop at once)", file=sys.stderr, flush=True)
        self._quit_now()

    def uninstall(self) -> None:
        """Give the signals back their previous handlers (the app's window has gone)."""
        self._notifier.setEnabled(False)
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._reader.close()
        self._writer.close()


def quit_on_signals(window: QtWidgets.QWidget) -> SignalQuitter | None:
    """Make Ctrl+C, SIGTERM and SIGHUP call ``window.quit_now()``; None where signals cannot be
    watched (not the main thread)."""
    try:
        return SignalQuitter(window.quit_now, window)
    except ValueError:  # set_wakeup_fd and signal() work only in the main thread
        return None


def bounded_exit(grace_s: float = EXIT_GRACE_S) -> None:
    """End the process ``grace_s`` seconds from now if it is still running then, printing every
    thread's stack to stderr first (call it when the window has closed and the process should end)."""
    stream = sys.__stderr__
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):  # no console (a GUI launcher): nowhere to print
        stream = open(os.devnull, "w")  # noqa: SIM115 - kept open until the process ends
    faulthandler.dump_traceback_later(grace_s, exit=True, file=stream)


def end_process(code: int) -> None:
    """End the process with status ``code`` now (its window closed, its jobs stopped, its project saved):
    exit handlers, flushed output, ``os._exit``; the libraries are not torn down. Never returns."""
    bounded_exit()
    try:
        atexit._run_exitfuncs()  # e.g. the zoo's extracted packages; errors are printed by atexit itself
    finally:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except (AttributeError, OSError, ValueError):
                pass
        os._exit(code)


def wait_drawing(settled: Callable[[float], bool], timeout_s: float, user_input: bool = False) -> bool:
    """Wait up to ``timeout_s`` for work on other threads to end while the window keeps drawing: call
    ``settled(step_s)``, which waits at most ``step_s`` (about 20 ms) and says whether the work has ended,
    and process pending events between calls (user input only with ``user_input``: while the window
    closes a click must not start new work). True if it ended in time.

    Every wait of the GUI thread on a worker (quitting, stopping thumbnails, the device probe) goes
    through here: a plain ``join`` or ``waitForDone`` froze the window for its whole timeout."""
    flags = (QtCore.QEventLoop.ProcessEventsFlag.AllEvents if user_input
             else QtCore.QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
    deadline = time.monotonic() + timeout_s
    while True:
        if settled(0.02):
            return True
        if time.monotonic() >= deadline:
            return False
        QtCore.QCoreApplication.processEvents(flags, 50)


T = TypeVar("T")


def run_drawing(work: Callable[[], T], timeout_s: float) -> T:
    """Run ``work`` on a thread and wait for it while the window keeps drawing (:func:`wait_drawing`; what
    the user clicks or types meanwhile is held and delivered afterwards, not lost); return its value, or
    raise its exception here. TimeoutError when it has not ended within ``timeout_s``: the thread (a
    daemon) is left to end on its own, so ``work`` must keep what it finished where the caller finds it."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - raised again on the GUI thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="emdenoise-gui-wait", daemon=True)
    thread.start()
    if not wait_drawing(threads_ended([thread]), timeout_s):
        raise TimeoutError(f"not done within {timeout_s:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def threads_ended(threads) -> Callable[[float], bool]:
    """A ``settled`` for :func:`wait_drawing`: whether every thread in ``threads`` has ended (joins the
    first one still running for at most the step)."""
    def settled(step_s: float) -> bool:
        alive = [t for t in threads if t is not None and t.is_alive()]
        if alive:
            alive[0].join(step_s)
        return not any(t is not None and t.is_alive() for t in threads)
    return settled


def pool_done(pool: QtCore.QThreadPool) -> Callable[[float], bool]:
    """A ``settled`` for :func:`wait_drawing`: whether ``pool`` has run everything submitted to it."""
    return lambda step_s: pool.waitForDone(max(1, int(step_s * 1000)))
