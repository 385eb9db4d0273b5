"""One training at a time per model package: a lock file beside the package's folder, held from the run's
start (or resume) to its end. Two runs of one name (two terminals, the wizard and the CLI, a paused run
resumed twice) shared one checkpoint folder, each saving over the other's, and the second to save crashed."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Iterator

from emdenoise_gui.core import atomic
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.pid_lock import holder as _holder
from emdenoise_gui.core.pid_lock import live as _live
from emdenoise_gui.core.pid_lock import stale as _stale
from emdenoise_gui.core.pid_lock import take as _take
from emdenoise_gui.core.pid_lock import take_over
from emdenoise_gui.core.pid_lock import training_lock_path as lock_path


def training_now(output: Path) -> bool:
    """Whether a live run holds the lock of the model package ``output`` (one killed does not)."""
    return _live(lock_path(output))


#: How another name is chosen: `denoise --adapt` names its model itself (two runs on one stack started together
#: were told to choose a name it has no option for; concurrency audit).
ELSEWHERE = "train: -o / --name; denoise --adapt takes a free name when run again"


@contextlib.contextmanager
def training_lock(output: Path) -> Iterator[Path]:
    """Hold the lock of the model package ``output`` while the block runs (the training), then remove it.

    A lock left by a run on this machine whose process is gone (killed) is taken over; InputError where a
    live run holds it, or a run on another machine (whose process no one here can see) does."""
    lock = lock_path(output)
    for _ in range(2):
        try:
            if _take(lock):
                break
        except OSError as exc:  # a name too long once the lock's suffix is added, a read-only disk
            raise (atomic.write_failure(exc, 0, output) or exc) from None
        holder = _holder(lock)
        if _stale(lock, holder):
            take_over(lock, holder)  # a killed run's (the one judged, not one taken meanwhile)
            continue
        where = "" if holder is None else (f" (process {holder[0]} on {holder[1]}, since "
                                           f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(holder[2]))})")
        raise InputError(f"another training is writing this model now{where}: wait for it to end, or choose "
                         f"another name ({ELSEWHERE}); if no such run is going on, delete {lock}", output)
    else:
        raise InputError(f"another training took this model's lock {lock} just now; choose another name "
                         f"({ELSEWHERE})", output)
    try:
        yield lock
    finally:
        holder = _holder(lock)
        if holder is not None and holder[:2] == (os.getpid(), atomic.HOST):
            with contextlib.suppress(OSError):
                lock.unlink()
