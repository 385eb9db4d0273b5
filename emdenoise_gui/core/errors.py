"""Errors a user can act on.

Every problem with a user's file or request is raised as :class:`InputError`
whose message names the file and says what is wrong and what to do. The CLI
prints it as one line and exits with status 2; the GUI shows it in a dialog.
"""

from __future__ import annotations

import errno
from pathlib import Path


class InputError(Exception):
    """A problem with user input: a file, a path or a parameter.

    Parameters
    ----------
    message:
        What is wrong and what to do about it, as one sentence.
    path:
        The file concerned, if any; it is prefixed to the message.
    """

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = None if path is None else Path(path)
        self.problem = message
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)


class Cancelled(Exception):
    """Raised inside a long job when its :class:`~emdenoise_gui.core.events.CancelToken` is set."""


#: errno values that mean a network share is gone (not the program's fault)
_SHARE_GONE = {getattr(errno, name) for name in ("ESTALE", "ENOTCONN", "EHOSTDOWN", "EHOSTUNREACH", "ETIMEDOUT",
                                                  "ENOLINK", "ECOMM", "EREMOTEIO") if hasattr(errno, name)}
#: errno values that mean a disk or device failed
_DEVICE_FAILED = {getattr(errno, name) for name in ("EIO", "ENODEV", "ENXIO", "ENOMEDIUM") if hasattr(errno, name)}
#: Windows error codes of a share gone (Python gives most of them errno EINVAL): the network path or name
#: not found (53, 67), an unexpected network error (59), the network name deleted (64), the semaphore
#: timeout of a share not answering (121), the network location unreachable (1231)
_WIN_SHARE_GONE = {53, 59, 64, 67, 121, 1231}
#: Windows error codes of a device failed: not ready (21), a CRC error (23), an I/O device error (1117),
#: the device not connected (1167)
_WIN_DEVICE_FAILED = {21, 23, 1117, 1167}


def system_failure(exc: BaseException) -> InputError | None:
    """The one-line InputError for an OSError a failing disk, device or network share raised (an input/output
    error, a stale file handle after a share dropped): a problem of the user's machine, not a bug to report;
    None for any other error."""
    if not isinstance(exc, OSError):
        return None
    windows = getattr(exc, "winerror", None)
    share_gone = exc.errno in _SHARE_GONE or windows in _WIN_SHARE_GONE
    if not share_gone and exc.errno not in _DEVICE_FAILED and windows not in _WIN_DEVICE_FAILED:
        return None
    advice = ("the network share it is on is gone or not answering: reconnect it, then try again"
              if share_gone else
              "the disk or device it is on reported an error: check it and its connection, then try again")
    return InputError(f"cannot be read or written ({exc.strerror or exc}): {advice}", exc.filename)


#: Words of a RuntimeError torch raises when the CPU's memory runs out ("[enforce fail at alloc_cpu.cpp]
#: DefaultCPUAllocator: can't allocate memory: you tried to allocate ... bytes").
_ALLOCATION_FAILED = ("DefaultCPUAllocator: can't allocate memory", "out of memory")


def out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is running out of memory: a MemoryError, torch's OutOfMemoryError (a RuntimeError), or
    the RuntimeError torch raises when the CPU's allocator fails (it was reported as an internal error to
    report; device audit)."""
    if isinstance(exc, MemoryError):
        return True
    return isinstance(exc, RuntimeError) and (type(exc).__name__ == "OutOfMemoryError"
                                              or any(words in str(exc) for words in _ALLOCATION_FAILED))
