"""Lock files named by their holder: ``<pid> <host> <time>`` in a file created only if absent (O_EXCL).

A lock whose holder is gone is stale and may be taken over: one of this machine whose process no longer
runs (or whose pid now names a process started after the lock), or one whose content cannot be read and
that is older than a minute. Another machine's lock is never judged stale by its pid: no one here can see
its process. Used for one training per model package (``training.run_lock``) and one writer of a project's
file at a time (``project.project_file``)."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from emdenoise_gui.core import atomic


def holder(lock: Path) -> tuple[int, str, float] | None:
    """(pid, host, started as a Unix time) written in ``lock``; None where it cannot be read or parsed."""
    try:
        pid, host, started = lock.read_text(encoding="utf-8").split()
        return int(pid), host, float(started)
    except (OSError, ValueError):
        return None


#: Seconds after which a lock whose content cannot be read (its writer died between creating and writing
#: it) counts as stale.
UNREADABLE_STALE_S = 60.0


def take(lock: Path) -> bool:
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


def stale(lock: Path, holder: tuple[int, str, float] | None) -> bool:
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


def take_over(lock: Path, judged: tuple[int, str, float] | None) -> None:
    """Remove ``lock`` if it still holds ``judged`` (its :func:`holder` when it was found :func:`stale`): two
    waiters found one dead lock, the first removed it and took its own, and the second then removed that live
    one; both wrote the project at once and a stack was lost (concurrency audit: 9 of 31 tries). The lock is
    first renamed to a name of this process's alone, so what is looked at is what is removed; a live lock
    renamed so is put back (unless yet another was taken meanwhile)."""
    aside = lock.with_name(f"{lock.name}.{atomic.partial_tag()}.stale")
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return  # removed by another waiter: try to take it
    if holder(aside) != judged:  # taken afresh after it was judged: not ours to remove
        with contextlib.suppress(OSError):
            os.link(aside, lock)  # back, unless a newer one is there (link never replaces)
    with contextlib.suppress(OSError):
        aside.unlink()


def training_lock_path(package: Path) -> Path:
    """The lock a training holds on the model package folder ``package`` (``training.run_lock``), also read by
    the zoo (a paused run being resumed): ``.NAME.training`` beside it."""
    return Path(package).with_name(f".{Path(package).name}.training")


def live(lock: Path) -> bool:
    """Whether ``lock`` exists and its holder still runs (:func:`stale`)."""
    return lock.exists() and not stale(lock, holder(lock))
