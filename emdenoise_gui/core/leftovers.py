"""What runs that were killed (SIGKILL, a power cut, the out-of-memory killer) left behind, found and removed.

Every temporary name this app writes carries its writer: ``<pid>@<host>-<8 hex>`` (``atomic.partial_tag``).
A leftover is stale when its host is this machine and its process is gone (one without a pid, from an
older version, after a day); another machine's are never touched, since no pid here says whether its run
still writes (a folder shared over NFS, a cluster's array jobs). The names:

- ``.NAME.<tag>.partial``: a file or folder being written (results, model packages, zips, zoo imports);
- ``.NAME.old.<tag>.partial``: an output moved aside while its replacement is renamed in
  (``atomic.replace_folder``); put back when the output is missing, else removed;
- ``.NAME.<tag>.partial`` empty: a result name handed out and not written yet (``reserve``);
- ``NAME.<tag>.tmp``: a small text file being written (project.json and its backup);
- ``emdenoise-pkg-<tag>`` in the system's temporary folder: a model package unpacked from a .zip.

Before, only a result's own folder was swept: a killed zoo import, package write or project save left its
staging for good, one more each kill (kill audit of 2026-12-06).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path

from emdenoise_gui.core import atomic

#: ``.NAME.<tag>.partial`` (groups ``name``, ``pid``, ``host``).
PARTIAL = atomic.STAGING_NAME
#: ``NAME.<pid>@<host>-<hex>.tmp`` (with its writer only: a file of the user's named like it is not ours).
TEXT_TMP = re.compile(r"^(?P<name>.+)\.(?P<pid>\d+)@(?P<host>[A-Za-z0-9_-]+)-[0-9a-f]{8}\.tmp$")
#: A package unpacked from a zip into the system's temporary folder.
EXTRACTION_PREFIX = "emdenoise-pkg-"
EXTRACTION = re.compile(rf"^{re.escape(EXTRACTION_PREFIX)}{atomic.PARTIAL_TAG}")
#: A leftover without a pid (written by an older EMDenoise) is stale after this many seconds.
STALE_AFTER_S = 24 * 3600


def _stale(match: re.Match, item: Path) -> bool:
    """Whether the leftover ``item`` (its name matched as ``match``) is this machine's and its writer gone. One
    without a pid (an older version's) counts only as a file or an OME-Zarr store or copy moved aside, the
    kinds older versions left: a folder of other kind so named may be someone else's."""
    if match["host"] not in (None, atomic.HOST):
        return False
    if match["pid"]:
        return not atomic.process_alive(int(match["pid"]))
    if item.is_dir() and not match["name"].endswith((".zarr", atomic.OLD_SUFFIX)):
        return False
    return time.time() - item.stat().st_mtime > STALE_AFTER_S


def _remove(item: Path) -> None:
    if item.is_dir() and not item.is_symlink():
        shutil.rmtree(item)
    else:
        item.unlink()


def restore_interrupted_swaps(folder: Path) -> list[Path]:
    """Put back the outputs in ``folder`` that a killed run had moved aside to replace them
    (``atomic.replace_folder`` stopped between its two renames: the old copy is there, the output is not);
    returns the outputs put back. Another machine's or a live process's copies are left alone."""
    restored = []
    for item in _entries(folder):
        match = PARTIAL.match(item.name)
        if not match or not match["name"].endswith(atomic.OLD_SUFFIX) or match["host"] not in (None, atomic.HOST):
            continue
        target = item.with_name(match["name"][:-len(atomic.OLD_SUFFIX)])
        try:
            if (match["pid"] and not atomic.process_alive(int(match["pid"]))) and not os.path.lexists(target):
                os.rename(item, target)
                restored.append(target)
        except OSError:
            continue
    return restored


def sweep(folder: Path) -> list[Path]:
    """Remove the stale leftovers in ``folder`` (staging files and folders, text temps, copies moved aside
    whose output is back); returns what was removed. A copy moved aside whose output is missing is left for
    :func:`restore_interrupted_swaps`."""
    removed = []
    for item in _entries(folder):
        match = PARTIAL.match(item.name) or TEXT_TMP.match(item.name)
        if not match:
            continue
        name = match["name"]
        if match.re is PARTIAL and name.endswith(atomic.OLD_SUFFIX) \
                and not os.path.lexists(item.with_name(name[:-len(atomic.OLD_SUFFIX)])):
            continue
        try:
            if _stale(match, item):
                _remove(item)
                removed.append(item)
        except OSError:
            continue
    return removed


def being_written(folder: str | Path) -> set[str]:
    """Names of the outputs in ``folder`` that a run is writing or has named (staging of a live process of this
    machine, or of another machine: it may still write): a fresh name must not be one of them, or two runs
    writing at once chose the same name and the second failed after its work."""
    return {match["name"] for match, _item in _live_staging(folder)}


def _live_staging(folder: str | Path, mine: Path | None = None, named: str | None = None):
    """(match, path) of each staging name in ``folder`` whose writer may still write (copies moved aside
    apart, and ``mine``; only those of the output ``named``, casefolded, when given: only those are looked up,
    not every marker of the folder once per name claimed). An empty marker of
    another machine older than :data:`STALE_AFTER_S` is not counted: a run killed there (the out-of-memory
    killer, a batch system's kill) held its name for good."""
    for item in _entries(folder):
        match = PARTIAL.match(item.name)
        if not match or match["name"].endswith(atomic.OLD_SUFFIX) or item == mine:
            continue
        if named is not None and match["name"].casefold() != named:
            continue
        try:
            if _stale(match, item) or (match["host"] not in (None, atomic.HOST) and _abandoned_marker(item)):
                continue
        except OSError:  # gone meanwhile
            continue
        yield match, item


def _abandoned_marker(item: Path) -> bool:
    info = item.lstat()
    return stat.S_ISREG(info.st_mode) and info.st_size == 0 and time.time() - info.st_mtime > STALE_AFTER_S


def reserve(path: Path) -> Path | None:
    """Hold the name of ``path`` for this process: an empty staging file beside it (see :func:`being_written`),
    created and then checked against the others', so that of two runs naming it at the same moment at most
    one keeps it (a name already being written or named by another run is given way). Returns the marker,
    or None when the name is another run's; OSError where the folder takes no file. The marker goes when it
    is removed (:class:`Reservations`), or is swept as stale once this process is gone."""
    marker = atomic.private_staging(path)
    marker.touch(exist_ok=False)
    name = PARTIAL.match(marker.name)["name"].casefold()  # as staged: a long name is cut alike for every run
    if any(True for _match in _live_staging(path.parent, mine=marker, named=name)):
        with contextlib.suppress(OSError):
            marker.unlink()
        return None
    return marker


class Reservations:
    """Result paths this process handed out and has not written yet, each held on disk by a marker
    (:func:`reserve`), so that another window or a CLI run naming a result in the same folder meanwhile picks
    another name. Iterating gives the paths (for ``Project.result_paths``' ``exclude``)."""

    def __init__(self):
        self._markers: dict[Path, Path | None] = {}  # path -> its marker (None: the folder took none)

    def claim(self, path: Path) -> bool:
        """Hold ``path``'s name; False when another run holds or writes it (choose another name). A folder that
        takes no file holds nothing, and True: the result's own write will say what is wrong."""
        path = Path(path)
        if path in self._markers:
            return True
        try:
            marker = reserve(path)
        except OSError:
            marker = None
        else:
            if marker is None:
                return False
        self._markers[path] = marker
        return True

    def give_back(self, paths) -> None:
        """Free ``paths`` (written, or not to be written); a marker that cannot be removed (a share gone
        read-only) is left to be swept as stale."""
        for path in map(Path, paths):
            marker = self._markers.pop(path, None)
            if marker is not None:
                with contextlib.suppress(OSError):
                    marker.unlink(missing_ok=True)

    def give_back_all(self) -> None:
        self.give_back(list(self._markers))

    def __iter__(self):
        return iter(list(self._markers))


def extraction_folder() -> Path:
    """A new folder in the system's temporary folder for a package unpacked from a zip, named with this
    process (stale ones of killed runs are removed first)."""
    root = Path(tempfile.gettempdir())
    for item in _entries(root):
        match = EXTRACTION.match(item.name)
        try:
            if match and _stale(match, item):
                shutil.rmtree(item, ignore_errors=True)
        except OSError:
            continue
    return Path(tempfile.mkdtemp(prefix=f"{EXTRACTION_PREFIX}{atomic.partial_tag()}-"))


def _entries(folder: str | Path) -> list[Path]:
    """What ``folder`` holds, listed at once; empty when it cannot be listed (gone, unreadable: there is
    nothing of ours to clean there)."""
    try:
        return list(Path(folder).iterdir())
    except OSError:
        return []
