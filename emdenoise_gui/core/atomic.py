"""Atomic writes: a file or folder appears complete under its final name, or not at all.

Everything is first written under a hidden staging name beside the target (``.NAME.<pid>@<host>-<hex>.partial``
for folders and streamed files, unique to the writer, so two writers of one name never share it;
``NAME.<pid>@<host>-<hex>.tmp`` for small text files), then renamed with
``os.replace``, which is atomic on one file system. A failure removes the staging copy and leaves
the target as it was.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import socket
import sys
import uuid
from pathlib import Path
from typing import Iterator

from emdenoise_gui.core.errors import InputError


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` means the disk is full: an OSError with ENOSPC, or any error whose text carries it
    (shutil.Error collects OS errors as text, safetensors wraps them in its own error)."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    text = str(exc)
    return isinstance(exc, Exception) and ("No space left on device" in text or "os error 28" in text)


def disk_full(exc: BaseException, need_bytes: int, where: Path) -> InputError | None:
    """The one-line InputError for a full disk ("N MB needed", unless ``need_bytes`` is 0, at ``where``); None
    if ``exc`` is another error."""
    if not is_disk_full(exc):
        return None
    need = f": {size_words(need_bytes)} needed" if need_bytes > 0 else ""
    return InputError(f"the disk is full{need}; free some space or write elsewhere. Nothing was written", where)


def check_free_space(folder: Path, need_bytes: int, where: Path) -> None:
    """InputError before any work when the disk holding ``folder`` has less free space than ``need_bytes``
    (an output's exact size): a long job computed until the disk filled, then removed what it had written
    (big-data audit: 108 s of a lite model's work lost, hours on a large stack). A disk whose free space cannot
    be read passes (the write then says what is wrong)."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if need_bytes > free:
        raise InputError(f"the disk has too little space: {size_words(need_bytes)} needed, {size_words(free)} free "
                         f"on the disk holding {folder}; free some space or write elsewhere. Nothing was written",
                         where)


#: What a failed write's errno means to the user, and what to do (a full disk: :func:`disk_full`).
_WRITE_ADVICE = {
    getattr(errno, "EDQUOT", -1): "your disk quota is used up: free some space in it or write elsewhere",
    errno.EFBIG: "the file is larger than this file system allows (FAT32 takes at most 4 GB a file): write to "
                 "another disk, or to an OME-Zarr (.zarr) folder",
    errno.EIO: "the disk reported an input/output error: check the disk and its connection, or write elsewhere",
    errno.EROFS: "the disk is read-only: choose a folder on a disk you can write to",
    errno.EACCES: "permission denied: choose a folder you can write to",
    errno.EPERM: "permission denied: choose a folder you can write to",
    errno.ENAMETOOLONG: "the name is too long for this file system: choose a shorter name or folder",
    errno.ENOENT: "its folder was removed or renamed while it was written: choose the folder again",
}


def write_failure(exc: BaseException, need_bytes: int, where: Path) -> InputError | None:
    """The one-line InputError for a write the system refused (an OSError with an errno, or a library's error
    carrying one as "(os error N)", as safetensors' does: a full disk, a quota, a file too large, a disk error,
    a read-only disk, a name too long); None for any other error, and for a name taken meanwhile (EEXIST,
    ENOTEMPTY: the caller's to say)."""
    full = disk_full(exc, need_bytes, where)
    if full is not None:
        return full
    if isinstance(exc, (ConnectionError, TimeoutError)):  # a network's failure (a cluster): the caller's to say
        return None
    if not isinstance(exc, OSError):
        found = re.search(r"\(os error (\d+)\)", str(exc))
        if found is None:
            return None
        exc = OSError(int(found[1]), os.strerror(int(found[1])))
    if exc.errno in (errno.EEXIST, errno.ENOTEMPTY) or (exc.errno is None and not isinstance(exc, shutil.Error)):
        return None
    code, words = exc.errno, exc.strerror or str(exc)
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        words = str(exc.args[0][0][-1])  # a copy's (source, destination, why) list: the first why, e.g. "[Errno 5] ..."
        found = re.match(r"\[Errno (\d+)\] (.*?)(?::\s*'.*)?$", words)
        code, words = (int(found[1]), found[2]) if found else (None, words)
    advice = _WRITE_ADVICE.get(code, "check the disk, or write elsewhere")
    return InputError(f"cannot be written ({words}): {advice}. Nothing was written", where)


def size_words(nbytes: float) -> str:
    """'3.2 GB', '120 MB', '0.4 MB' or 'under 0.1 MB' (binary units): never '0 MB' for a small file."""
    mb = nbytes / 2**20
    if mb >= 1024:
        return f"{mb / 1024:.1f} GB"
    if mb >= 10:
        return f"{mb:.0f} MB"
    return f"{mb:.1f} MB" if mb >= 0.1 else "under 0.1 MB"


def probe_writable(folder: Path) -> None:
    """Create and remove a hidden file in ``folder``; OSError if nothing can be written there."""
    probe = Path(folder) / f".emdenoise-probe-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    probe.touch(exist_ok=False)
    probe.unlink()


def new_file_mode(folder: Path) -> int:
    """The permission bits a file created in ``folder`` gets (0o666 less the umask), read from one made and
    removed there: the umask itself can only be read by setting it, which races with other threads."""
    probe = Path(folder) / f".{partial_tag()}.mode.partial"
    fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    try:
        return os.fstat(fd).st_mode & 0o777
    finally:
        os.close(fd)
        probe.unlink()


def follow_umask(path: Path) -> None:
    """Give a file a library wrote as owner-only (safetensors: 0600 whatever the umask) the mode any new file
    gets beside it, so a shared zoo's colleagues can load the weights whose card they see (training audit)."""
    if os.name == "posix":
        os.chmod(path, new_file_mode(Path(path).parent))


def fsync_tree(path: Path) -> None:
    """Flush a staged file, or every file and folder under a staged folder, to the disk before it is renamed
    into place: after a power cut the final name then holds the whole new copy or the old one, never an
    empty or partial file. Folders are flushed on POSIX only."""
    path = Path(path)
    if path.is_dir():
        walked = list(os.walk(path))
        # one flush of the file system that holds it where Linux offers one: an NGFF 0.4 store's 32,000 chunk
        # files took minutes one by one
        if sum(len(files) for _root, _dirs, files in walked) <= MANY_FILES or not _flush_file_system(path):
            for root, _dirs, files in walked:
                for name in files:
                    fsync_tree(Path(root) / name)
        for root, _dirs, _files in walked:
            fsync_dir(Path(root))
        return
    try:  # Windows flushes only through a handle that may write (FlushFileBuffers)
        with open(path, "r+b" if os.name == "nt" else "rb") as fh:
            os.fsync(fh.fileno())
    except PermissionError:
        if os.name != "nt":  # a read-only file on Windows cannot be opened to flush: it is left to the system
            raise


#: Files in a staged folder above which :func:`fsync_tree` flushes its whole file system at once (Linux).
MANY_FILES = 256


def _flush_file_system(folder: Path) -> bool:
    """syncfs(2): write out everything cached for the file system holding ``folder``, errors reported (Linux
    5.8 and later); False where the system has no such call (then each file is flushed). Not sync(2): that
    waits for every mount, a dead network share's too, and on macOS returns before the data is written."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(folder, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), str(folder))
    finally:
        os.close(fd)
    return True


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX only; Windows cannot open folders)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text(path: Path, text: str, backup: Path | None = None) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` via a unique temp file, fsync and rename.

    With ``backup``, the previous ``path`` (if any) is first copied there, also atomically, so
    ``path`` itself is never absent. Raises OSError.
    """
    path = Path(path)
    _sweep(path.parent)
    tag = partial_tag()  # whose it is: a killed writer's is removed by the next (``core.leftovers``)
    tmp = path.with_name(f"{path.name}.{tag}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if backup is not None and path.is_file():
            bak_tmp = backup.with_name(f"{backup.name}.{tag}.tmp")
            try:
                shutil.copyfile(path, bak_tmp)
                os.replace(bak_tmp, backup)
            finally:
                bak_tmp.unlink(missing_ok=True)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def _sweep(folder: Path) -> None:
    """Remove the leftovers of killed runs in ``folder`` before writing there (``core.leftovers``)."""
    from emdenoise_gui.core import leftovers

    leftovers.sweep(folder)


def staging_path(target: Path) -> Path:
    """The hidden staging name of ``target``: ``.NAME.partial`` in the same folder."""
    target = Path(target)
    return target.with_name(f".{target.name}.partial")


#: The longest file name most file systems take, in bytes.
NAME_MAX = 255
#: This machine's short host name as a staging name carries it (letters, digits, ``_`` and ``-``): a folder
#: shared by several machines (NFS, a cluster's array jobs) holds partials whose writer no pid here can tell.
HOST = re.sub(r"[^A-Za-z0-9_-]", "", socket.gethostname().split(".")[0])[:32] or "host"


#: :func:`partial_tag` as a regular expression (groups ``pid``, ``host``); older versions wrote no host, or
#: no pid either.
PARTIAL_TAG = r"(?:(?P<pid>\d+)(?:@(?P<host>[A-Za-z0-9_-]+))?-)?[0-9a-f]{8}"
#: A private staging name (:func:`private_staging`): ``.NAME.<tag>.partial``, NAME the name it is written for.
STAGING_NAME = re.compile(rf"^\.(?P<name>.+)\.{PARTIAL_TAG}\.partial$")


def written_name(path: str | Path) -> str:
    """The name the file ``path`` is written for: NAME of a private staging name, else its own (a format that
    goes by the final name's ending, e.g. .ome.tif or .mrcs, reads it through the staging name)."""
    name = Path(path).name
    match = STAGING_NAME.match(name)
    return match["name"] if match else name


def process_started(pid: int) -> float | None:
    """When process ``pid`` started (Unix time, to 1/100 s); None where it is gone or this platform cannot say
    (Linux reads /proc; elsewhere None)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(line for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
        ticks = int(stat[stat.rindex(")") + 2:].split()[19])  # field 22, counted after the command's name
        return int(boot.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` on this machine still runs (True where the platform cannot say, or it is
    someone else's: a live writer's files must never be taken for a dead one's)."""
    if pid == os.getpid() or not 0 < pid < 1 << 31:  # no pid any system hands out: not ours to judge
        return True
    if os.name == "nt":  # os.kill(pid, 0) there sends Ctrl-C to a console group, and says nothing of a pid
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # someone else's live process, or a platform that cannot say
        return True
    return True


def _windows_process_alive(pid: int) -> bool:
    """Windows: whether ``pid`` names a running process (OpenProcess, GetExitCodeProcess); True where it
    cannot be opened for another reason than its absence (another user's process)."""
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() != 87  # ERROR_INVALID_PARAMETER: no such process
    try:
        code = ctypes.c_ulong()
        return not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) or code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def partial_tag() -> str:
    """``<pid>@<host>-<8 hex>``: the writer of a staging name, unique to this write."""
    return f"{os.getpid()}@{HOST}-{uuid.uuid4().hex[:8]}"


def private_staging(target: Path) -> Path:
    """A hidden staging name of ``target`` that no other writer uses: ``.NAME.<pid>@<host>-<hex>.partial``
    beside it, with NAME cut in the middle so the whole stays within :data:`NAME_MAX` bytes and its last two
    suffixes stay (``.ome.tif`` tells a writer the format; a 250-byte target name is fine)."""
    target = Path(target)
    tail = f".{partial_tag()}.partial"
    room = NAME_MAX - 1 - len(tail.encode())
    raw = target.name.encode("utf-8", "surrogateescape")
    if len(raw) > room:
        suffix = "".join(target.suffixes[-2:]).encode("utf-8", "surrogateescape")[-32:]
        raw = raw[:room - len(suffix)] + suffix
    name = raw.decode("utf-8", "ignore")  # a letter cut in two is dropped
    return target.with_name(f".{name}{tail}")


#: Added to a folder's name while :func:`replace_folder` keeps it aside.
OLD_SUFFIX = ".old"


def old_copy(target: Path) -> Path:
    """Where :func:`replace_folder` keeps ``target`` while it swaps: ``.NAME.old.<pid>@<host>-<hex>.partial``."""
    return private_staging(Path(target).with_name(Path(target).name + OLD_SUFFIX))


def replace_folder(staging: Path, target: Path) -> None:
    """Put the folder ``staging`` in place of the existing folder ``target`` (a folder is not replaced by one
    rename): ``target`` moved aside, ``staging`` renamed in, then the old copy removed. Whatever stops the
    second rename (Ctrl-C, ``kill``, an error) puts the old copy back, so ``target`` is one whole folder,
    old or new; after a kill -9 or a power cut between the renames the next writer in the folder puts the
    old copy back (``core.leftovers.restore_interrupted_swaps``). A stop while the old copy is removed
    leaves the new folder in place (and the rest of the copy for the next writer to remove)."""
    old = old_copy(target)
    os.replace(target, old)
    try:
        os.replace(staging, target)
    except BaseException:
        if os.path.lexists(staging):  # not renamed in (a stop just after the rename leaves the new one in place)
            os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def new_folder(target: Path, need_bytes: int = 0) -> Iterator[Path]:
    """Fill a fresh staging folder (yielded); on success it becomes ``target``, which must not exist.

    On any exception (Ctrl-C included) the staging folder is removed and ``target`` is untouched; a write
    the system refuses (a full disk: naming ``need_bytes``, what the folder takes) becomes one InputError
    naming ``target``. The folder is flushed to the disk before the rename.
    """
    target = Path(target)
    _sweep(target.parent)
    staging = private_staging(target)
    try:
        staging.mkdir(parents=True)
        yield staging
        fsync_tree(staging)
        os.replace(staging, target)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        failure = write_failure(exc, need_bytes, target)
        if failure is not None:
            raise failure from None
        raise
    fsync_dir(target.parent)


@contextlib.contextmanager
def new_file(target: Path, need_bytes: int = 0) -> Iterator[Path]:
    """Write a staging file (its path is yielded); on success it replaces ``target``.

    On any exception the staging file is removed and ``target`` is untouched; a write the system refuses
    becomes one InputError naming ``target`` (a full disk: and ``need_bytes``). The file is flushed to the
    disk before the rename.
    """
    target = Path(target)
    _sweep(target.parent)
    staging = private_staging(target)
    try:
        yield staging
        fsync_tree(staging)
        os.replace(staging, target)
    except BaseException as exc:
        staging.unlink(missing_ok=True)
        failure = write_failure(exc, need_bytes, target)
        if failure is not None:
            raise failure from None
        raise
    fsync_dir(target.parent)
