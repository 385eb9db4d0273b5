"""Whether a denoise of a stack's slices fits this computer's memory, said before any work.

A job holds a few whole slices at once (the slice, its neighbours, the result and the network's per-slice
buffers), so its peak grows with the slice's area, not with the stack's depth: a 16384 x 16384 px slice needed
6.6 GB to filter and 9.4 GB with a lite model (big-data audit), and on a computer with less the system killed
the app or the command without a word. :func:`check_slice_memory` refuses such a job with one line saying what
it needs, what the computer has, and what to do, where the slice cannot fit in the memory the process may use
(the computer's, or a container's or batch job's limit when lower). Its figures are upper estimates; a job near
the limit still runs (the system's swap may hold it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from emdenoise_gui.core.atomic import size_words
from emdenoise_gui.core.errors import InputError

#: Peak memory of a job above the program itself, in bytes per pixel of one slice, by what denoises: measured
#: as the peak RSS of `emdenoise denoise --slices 1` on 2048^2 and 4096^2 uint16 stacks (the difference, so the
#: program's own memory falls out; /usr/bin/time, OMP_NUM_THREADS=2, 2026-12-07, Intel Xeon 2-core VM):
#: Gaussian 11, SURE Gaussian 10, NRRN lite 36, NRRN base 30, cyclic 12 B/px. The filters' is the 25 B/px of the
#: big-data audit's 16384^2 run (its 3-slice filters hold neighbours too); the models' is rounded up to 50 for
#: the families not measured (Xception, Noise2Void, the paper sizes).
BYTES_PER_PX = {"filter": 25, "model": 50}
#: The program itself with torch and a model loaded (measured the same way on a 512^2 slice: 0.08 GB for a
#: filter, 0.32-0.43 GB for the shipped models).
BASE_BYTES = 512 * 2**20
#: A cgroup v2 memory limit (a container, a Slurm job): the file saying it, "max" where there is none.
CGROUP_LIMIT = Path("/sys/fs/cgroup/memory.max")


def physical_memory() -> int | None:
    """Bytes of memory this process may use: the computer's RAM, or a container's lower limit; None where it
    cannot be read."""
    total = _windows_memory() if sys.platform == "win32" else _posix_memory()
    try:
        limit = int(CGROUP_LIMIT.read_text().strip())
    except (OSError, ValueError):  # no cgroup v2, or "max"
        return total
    return limit if total is None else min(total, limit)


def _posix_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None


def _windows_memory() -> int | None:
    import ctypes

    class Status(ctypes.Structure):
        _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong), ("total", ctypes.c_ulonglong),
                    ("available", ctypes.c_ulonglong), ("page_total", ctypes.c_ulonglong),
                    ("page_available", ctypes.c_ulonglong), ("virtual_total", ctypes.c_ulonglong),
                    ("virtual_available", ctypes.c_ulonglong), ("extended", ctypes.c_ulonglong)]

    status = Status()
    status.length = ctypes.sizeof(Status)
    try:
        return int(status.total) if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)) else None
    except (AttributeError, OSError):
        return None


def slice_memory(shape_yx: tuple[int, int], kind: str) -> int:
    """Estimated peak bytes of a job on slices of ``shape_yx`` (Y, X) px denoised by a ``kind`` ("filter" or
    "model"), the program included."""
    return BASE_BYTES + BYTES_PER_PX[kind] * int(shape_yx[0]) * int(shape_yx[1])


def check_slice_memory(shape_yx: tuple[int, int], kind: str, where, memory: int | None = None) -> None:
    """InputError before any work where a job on slices of ``shape_yx`` px denoised by a ``kind`` ("filter",
    "model") needs more than ``memory`` bytes (default :func:`physical_memory`; unknown: it runs)."""
    memory = physical_memory() if memory is None else memory
    need = slice_memory(shape_yx, kind)
    if memory is None or need <= memory:
        return
    rows, cols = (int(v) for v in shape_yx)
    raise InputError(f"its slices are {cols} x {rows} px: denoising one needs about {size_words(need)} of memory, "
                     f"and this computer lets EMDenoise use {size_words(memory)}; cut the slices into parts (e.g. "
                     "Fiji: Image > Stacks > Tools > Montage to Stack) or run it on a computer with more memory. "
                     "Nothing was written", where)
