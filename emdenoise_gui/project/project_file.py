"""Reading ``project.json``: its path from what the user picked, its text, its JSON, and whether it is ours;
and the lock that lets one writer at a time read, change and write it.

Each problem (a missing path, a folder that is no project, unreadable bytes, damaged JSON, NaN written by
hand, another program's project.json) is an :class:`InputError` naming the file and what to do."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Iterator

from emdenoise_gui.core import atomic, pid_lock
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.project.records import BACKUP_FILE, PROJECT_FILE

#: The lock held while project.json is read, changed and written (``<pid> <host> <time>``).
LOCK_FILE = PROJECT_FILE + ".lock"
#: How long a writer waits for another's lock (a save takes milliseconds, a CLI run's record well under a second;
#: the app saves on its window's thread).
LOCK_WAIT_S = 5.0
#: A lock older than this is a killed writer's, whatever machine wrote it (no save takes so long; one from a
#: cluster node killed while recording froze every save of the app 15 s).
LOCK_STALE_S = 120.0
_held: dict[str, int] = {}  # project folders whose lock this process holds -> depth (the lock is re-entrant)


class ProjectBusy(InputError):
    """Another live writer held the project's lock for the whole wait (the app tries again later); ``who``: that
    writer in a few words ("another program (pid 4242 on host) is saving it")."""

    who = "another program is saving it"


@contextlib.contextmanager
def writing(folder: str | Path, wait_s: float | None = None, take_over: bool = False,
            lock_name: str = LOCK_FILE) -> Iterator[None]:
    """Hold the lock of the project in ``folder`` while its file is read, changed and written, so that two
    writers (the app and ``emdenoise denoise --project``, two runs of it) never lose each other's records:
    two runs recording at once lost one result in three tries, and a result the app deleted came back.
    Re-entrant within a process; a killed holder's lock is taken over; a folder where no lock can be made
    (read-only) goes on without one, its save saying why it fails. :class:`ProjectBusy` after ``wait_s`` seconds
    (:data:`LOCK_WAIT_S` unless given: the app's window waits a fraction of a second and tries again later).
    ``take_over``: another writer's lock is taken as a killed one's (the user said so: the app at its close).
    ``lock_name``: the lock file's name in ``folder`` (another file of the folder kept the same way: a batch's
    record of which stack made each result, ``cli.several``)."""
    key = str(Path(folder).expanduser().resolve() / lock_name)
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    wait_s = LOCK_WAIT_S if wait_s is None else wait_s
    lock, deadline, held = Path(key), time.monotonic() + wait_s, False
    while True:
        try:
            held = pid_lock.take(lock)
        except OSError:
            break
        if held:
            break
        holder = pid_lock.holder(lock)
        if take_over or pid_lock.stale(lock, holder) or (holder is not None
                                                         and time.time() - holder[2] > LOCK_STALE_S):
            try:
                pid_lock.take_over(lock, holder)
            except OSError:  # not ours to remove (another user's, a folder so named): go on without the lock
                break
            continue
        if time.monotonic() > deadline:
            who = "another program" if holder is None else f"another program (pid {holder[0]} on {holder[1]})"
            busy = ProjectBusy(f"{who} has been saving this project for over {wait_s:.1f} s ({lock.name}): try "
                               f"again; if no EMDenoise is running, delete {lock}", lock.parent)
            busy.who = f"{who} is saving it"  # the app's words, without the command line's advice
            raise busy
        time.sleep(0.02)
    _held[key] = 1
    try:
        yield
    finally:
        del _held[key]
        holder = pid_lock.holder(lock) if held else None
        if holder is not None and holder[:2] == (os.getpid(), atomic.HOST):
            with contextlib.suppress(OSError):  # only ours: another writer may have taken over a lock thought stale
                lock.unlink()

#: Marks a JSON file as ours, so another tool's project.json is not taken for a project.
FORMAT_TAG = "emdenoise-project"


class _NotJson(ValueError):
    """NaN, Infinity or -Infinity in project.json (its text)."""


def _refuse_constant(name: str):
    raise _NotJson(name)


def is_project_text(text: str) -> bool:
    """Whether ``text`` reads as an EMDenoise project.json (of any version), not damage."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT_TAG


def _file_of(folder_or_file: str | Path) -> Path:
    """The project.json of a project folder or the file itself (absolute, links resolved)."""
    path = Path(folder_or_file).expanduser()
    if not path.exists():
        raise InputError("does not exist; check the name, or pick the project folder", path)
    if path.is_dir():
        file = path / PROJECT_FILE
        if not file.is_file():
            raise InputError("is not an EMDenoise project (no project.json inside); "
                             "pick a project folder or create a new project", path)
    elif path.name == PROJECT_FILE:
        file = path
    else:
        raise InputError("is not a project file; pick the project folder or its project.json", path)
    return file.resolve()


def read(folder_or_file: str | Path) -> tuple[Path, str, dict]:
    """(project.json's absolute path, its text, its JSON object) for a project folder or its file.

    The object's ``format`` is :data:`FORMAT_TAG`; its fields are not checked here (``Project.from_dict``)."""
    file = _file_of(folder_or_file)
    try:
        text = file.read_text(encoding="utf-8-sig")  # a byte-order mark (Notepad's) read as damage (project audit)
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(f"cannot be read ({why}); check the file and its permissions",
                         file) from exc
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except _NotJson as exc:  # Python reads NaN and Infinity; a save writes JSON only, and refused it ever after
        raise InputError(f"holds {exc} (written by hand?), which JSON does not allow, so the project could never "
                         "be saved again; replace it with a number or null in a text editor", file) from None
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than Python parses
        fix = (f"restore {BACKUP_FILE} from the same folder (the previous save) by renaming it to {PROJECT_FILE}"
               if (file.parent / BACKUP_FILE).exists() else
               "there is no backup beside it (never saved twice): repair it in a text editor, or make a new "
               "project and add the stacks again")
        raise InputError(f"is not valid JSON ({exc}); it is damaged: {fix}", file) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT_TAG:
        raise InputError("is not an EMDenoise project file (another program's "
                         "project.json?); pick another folder", file)
    return file, text, data
