"""Run a short measurement (similarity, dose, training speed) off the GUI thread, answer on it."""

from __future__ import annotations

import threading
from typing import Callable

from PySide6 import QtCore


class _Relay(QtCore.QObject):
    done = QtCore.Signal(object, object, object)  # callback, result, error


_relay: _Relay | None = None


def _deliver(callback, result, error) -> None:
    try:
        callback(result, error)
    except RuntimeError as exc:  # the page that asked was closed meanwhile: nothing to show
        if "already deleted" not in str(exc):
            raise


def run_later(work: Callable[[], object], on_done: Callable[[object, BaseException | None], None]) -> threading.Thread:
    """Call ``work()`` on a helper thread, then ``on_done(result, error)`` on the GUI thread.

    ``error`` is the exception ``work`` raised (``result`` None then). Callers check in
    ``on_done`` that what they measured is still what the user is looking at.
    """
    global _relay
    if _relay is None:  # created on the GUI thread, so its queued signal is delivered there
        _relay = _Relay()
        _relay.done.connect(_deliver)

    def body() -> None:
        try:
            result, error = work(), None
        except Exception as exc:  # noqa: BLE001 - handed to the page, which says what went wrong
            result, error = None, exc
        try:
            _relay.done.emit(on_done, result, error)
        except RuntimeError:  # the app is closing
            pass

    thread = threading.Thread(target=body, name="wizard-measure", daemon=True)
    thread.start()
    return thread
