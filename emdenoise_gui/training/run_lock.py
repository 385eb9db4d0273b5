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


def lock_path(output: Path) -> Path:
    """The lock of the model package folder ``output``: ``.NAME.training`` beside it."""
    return Path(output).with_name(f".{Path(output).name}.training")


def _holder(lock: Path) -> tuple[int, str, float] | None:
    """(pid, host, started as a Unix time) written in ``lock``; None where it cannot be read or parsed."""
    try:
        pid, host, started = lock.read_text(encoding="utf-8").split()
        return int(pid), host, float(started)
    except (OSError, ValueError):
        return None


#: Seconds after which a lock whose content cannot be read (its writer died between creating and writing
#: it) counts as stale.
UNREADABLE_STALE_S = 60.0


def _take(lock: Path) -> bool:
    """Create ``lock`` holding this process's pid, host and the time; False where it exists already. A lock
    that cannot be written whole (a full disk) is removed again: an empty one would refuse every later run."""
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {atomic.HOST} {time.time():.0f}\n")
    except BaseException:
        with contextlib.suppress(OSError):
            lock.unlink()
        raise
    return True


#: A lock's pid names another process when that one started this many seconds after the lock was written (a
#: holder starts before it writes its lock; the margin allows for the wall clock being stepped meanwhile).
REUSED_AFTER_S = 30.0


def _stale(lock: Path, holder: tuple[int, str, float] | None) -> bool:
    """Whether ``lock`` was left by a run that no longer runs: one on this machine whose process is gone (or
    whose pid now names a process started after the lock was written: pids are reused after a reboot, and
    such a lock was refused as "another training is writing this model now"), or one whose content cannot
    be read and that is older than :data:`UNREADABLE_STALE_S`."""
    if holder is not None:
        pid, host, locked = holder
        if host != atomic.HOST:
            return False
        started = atomic.process_started(pid)  # after a reboot the pid may name another process, started later
        return not atomic.process_alive(pid) or (started is not None and started > locked + REUSED_AFTER_S)
    try:
        return time.time() - lock.stat().st_mtime > UNREADABLE_STALE_S
    except OSError:
        return True  # gone meanwhile: try again


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
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()  # a killed run's: take it over
            continue
        where = "" if holder is None else (f" (process {holder[0]} on {holder[1]}, since "
                                           f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(holder[2]))})")
        raise InputError(f"another training is writing this model now{where}: wait for it to end, or choose "
                         f"another name; if no such run is going on, delete {lock}", output)
    else:
        raise InputError(f"another training took this model's lock {lock} just now; choose another name", output)
    try:
        yield lock
    finally:
        holder = _holder(lock)
        if holder is not None and holder[:2] == (os.getpid(), atomic.HOST):
            with contextlib.suppress(OSError):
                lock.unlink()
