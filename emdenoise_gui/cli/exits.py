"""Exit statuses of the ``emdenoise`` command: 0 done, 1 an internal error, 2 bad input, 3 a model
trained and written that failed its held-back check (no better than the noisy input, its classical filter
or, self-supervised, the mean of each hidden pixel's neighbours: ``zoo.fit.validation_failure``), 130
cancelled (nothing written; a training run: stopped with a checkpoint).
What ends a run: these statuses, one-line messages, the handlers for Ctrl-C and SIGTERM."""

import contextlib
import os
import signal
import sys
import threading

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_UNUSABLE, EXIT_CANCELLED = 0, 1, 2, 3, 130


def one_line(text: str, limit: int = 400) -> str:
    """``text`` on one line (library messages, e.g. a torch state_dict mismatch, span many), shortened in the
    middle: its start names the file, its end says what to do (a 300-character path cut the advice off)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = limit * 2 // 5
    return flat[:head] + "…" + flat[len(flat) - (limit - head - 1):]


#: Signals that end a run like Ctrl-C: ``kill``, a cluster's time limit, and a closed terminal or dropped ssh.
STOPPING = ("SIGTERM", "SIGHUP")


def say(text: str, stream=None) -> None:
    """Print ``text`` to ``stream`` (stderr) and flush; a terminal that is gone (a hang-up: EIO) or closed is
    ignored: telling the user must never turn a clean stop into a crash."""
    try:
        print(text, file=stream or sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):
        pass


def silence_stdout() -> None:
    """Point stdout at /dev/null so Python's flush at exit does not raise into a closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a real file (tests capture it)
        pass


@contextlib.contextmanager
def signals_handled(handler, *names: str):
    """``handler`` for the signals ``names`` (e.g. "SIGINT", "SIGTERM"; those the platform lacks are skipped)
    inside the block, the previous handlers back after it. Only on the main thread, where Python lets a
    handler be set; elsewhere the block runs with the handlers as they are."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    numbers = [getattr(signal, name) for name in names if hasattr(signal, name)]
    previous = {number: signal.signal(number, handler) for number in numbers}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
