"""Disk work off the compute thread: slices read ahead and results written behind.

A stack job reads a slice (and its neighbours), computes for seconds, and writes the
result. :class:`ReadAhead` reads the slices a job will ask for, in the order it will
ask, on a background thread up to ``depth`` slices ahead; :class:`WriteBehind` writes
finished slices on another thread while the next one is computed. Both queues are
bounded, so memory stays at a few slices whatever the stack's depth. Errors on either
thread reach the job's thread at its next call, with their own message.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable

import numpy as np

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


class ReadAhead:
    """Calls ``read(z)`` for each z of ``order`` on a background thread, at most ``depth`` ahead.

    ``next(z)`` returns the next slice of ``order`` (which must be ``z``); ``close()`` stops
    the thread (also when the consumer stops early).
    """

    def __init__(self, read: Callable[[int], np.ndarray], order: list[int], depth: int = 1):
        self._order, self._position = list(order), 0
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(read,), name="emdenoise-read-ahead", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, read) -> None:
        for z in self._order:
            try:
                item = (z, read(z))
            except BaseException as exc:  # handed to the consumer, who raises it
                self._put(_Failure(exc))
                return
            if not self._put(item):
                return

    def next(self, z: int) -> np.ndarray:
        """The next slice read; it must be slice ``z`` (the order the reader was given)."""
        if self._position >= len(self._order) or self._order[self._position] != z:
            raise RuntimeError(f"read-ahead order broken: asked for slice {z}, planned "
                               f"{self._order[self._position] if self._position < len(self._order) else 'none'}")
        item = self._queue.get()
        if isinstance(item, _Failure):
            self.close()
            raise item.error
        self._position += 1
        return item[1]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class WriteBehind:
    """Calls ``write(index, data)`` on a background thread, at most ``depth`` slices queued.

    ``put`` raises the writer's error, if it failed, at the next call; ``finish()`` waits for
    every queued slice to be written (and raises a write error); ``abort()`` drops the rest.
    """

    def __init__(self, write: Callable[[int, np.ndarray], None], depth: int = 1):
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(write,), name="emdenoise-write-behind", daemon=True)
        self._thread.start()

    def _run(self, write) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if self._error is None:
                try:
                    write(*item)
                except BaseException as exc:
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def put(self, index: int, data: np.ndarray) -> None:
        self._raise()
        self._queue.put((index, data))

    def finish(self) -> None:
        self._queue.put(_DONE)
        self._thread.join()
        self._raise()

    def abort(self) -> None:
        """Stop after the slice being written; queued slices are dropped (the output is discarded)."""
        self._error = self._error or RuntimeError("aborted")
        self._queue.put(_DONE)
        self._thread.join()
        self._error = None
