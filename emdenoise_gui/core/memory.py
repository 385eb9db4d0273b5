"""Whether a denoise of a stack's slices fits this computer's memory, said before any work.

A job holds a few whole slices at once (the slice, its neighbours, the result and the network's per-slice
buffers), so its peak grows with the slice's area, not with the stack's depth: a 16384 x 16384 px slice needed
6.6 GB to filter and 9.4 GB with a lite model (big-data audit), and on a computer with less the system killed
the app or the command without a word. :func:`check_slice_memory` refuses such a job with one line saying what
it needs, what the computer has, and what to do, where the slice cannot fit in the memory the process may use
(the computer's, or a container's or batch job's limit when lower; a tenth is left to the system and the app).
Its figures are measured and rounded up. A block run (``jobs.blocks``) holds a block's results too:
:func:`check_block_memory` checks it against this computer's memory, or on a Dask cluster against the smallest
worker's memory limit.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from emdenoise_gui.core.atomic import size_words
from emdenoise_gui.core.errors import InputError

#: Peak memory of a job above the program itself, in bytes per pixel of one slice, for uint16 input: the
#: difference of the peak RSS of `emdenoise denoise` on 2048^2 and 4096^2 stacks (/usr/bin/time, 2026-12-07, Intel
#: Xeon 2-core VM; two reviews measured more filters and types): Gaussian 21-25, SURE Gaussian 10, the 3-slice
#: means 29-36, the flat-field and background filters 45, NRRN lite 36, NRRN base 30, cyclic 12 B/px. A float32
#: input holds about 4.5 B/px more per byte of its pixels (Gaussian 30, 3-slice mean 46, NRRN lite 43), an integer
#: output about 4 more: INPUT_BYTE_PX, INTEGER_OUTPUT_PX. Measured the same way on 2026-12-08 (4096^2 against
#: 2048^2; the paper sizes, slower, 2048^2 against 1024^2): Xception lite 13, paper 26; Noise2Void lite 14, paper 12
#: (4096^2); cyclic paper 3 (its whole-tile network's 1.1 GB does not grow with the slice). Rounded up, by filter
#: kind and model family (the largest of its sizes); other families take DEFAULT_MODEL_BYTES_PER_PX.
FILTER_BYTES_PER_PX = {"one slice": 25, "neighbours": 40, "background": 50}
MODEL_BYTES_PER_PX = {"nrrn": 40, "cyclic": 16, "xception": 30, "n2v": 16}
DEFAULT_MODEL_BYTES_PER_PX = 50
INPUT_BYTE_PX, INTEGER_OUTPUT_PX = 5, 4
#: The program itself (measured the same way on a 512^2 slice: 0.08 GB with a filter, 0.32-0.43 GB with torch and
#: a shipped model loaded).
FILTER_BASE_BYTES, MODEL_BASE_BYTES = 128 * 2**20, 512 * 2**20
#: A block run holds its block's results in the output type, and zarr's encoded copy of them as it writes the block:
#: per slice of the block, bytes per slice pixel = BLOCK_OUTPUT_COPIES x the output's bytes + BLOCK_EXTRA_PX. Measured
#: as the difference of the peak RSS of `emdenoise denoise --scheduler here` on 16 x 1024^2 and 16 x 2048^2 uint16
#: stacks less the slice job's figure (/usr/bin/time, 2026-12-08, the same machine): Gaussian 7.1 (float32 output) /
#: 4.8 (uint16), 3-slice Gaussian 7.6 / 4.3, NRRN lite 9.3 (float32) B/px per slice of the block.
BLOCK_OUTPUT_COPIES, BLOCK_EXTRA_PX = 2, 2
#: Set to "off" to run a job the check would refuse (at the user's risk: the system may stop it).
SKIP_VARIABLE = "EMDENOISE_MEMORY_CHECK"
#: The share of the memory a job may take: the system and the app need the rest.
USABLE_SHARE = 0.9
#: Where Linux keeps the memory limits of control groups (a container, a Slurm or other batch job).
CGROUP_ROOT = Path("/sys/fs/cgroup")
#: A limit this high is none (cgroup v1 writes "no limit" as a number near 2^63).
NO_LIMIT = 2**62


def _for_types(figure: int, input_dtype, output_dtype) -> int:
    """``figure`` (B/px for uint16 input and a float output) for ``input_dtype`` and ``output_dtype``."""
    extra = INPUT_BYTE_PX * max(0, np.dtype(input_dtype).itemsize - 2)
    return figure + extra + (INTEGER_OUTPUT_PX if np.dtype(output_dtype).kind in "iu" else 0)


def filter_bytes_per_px(slices: int, whole_slice: bool, input_dtype=np.uint16, output_dtype=np.float32) -> int:
    """Bytes per slice pixel of a filter of ``slices`` slices (``whole_slice``: its background from the whole
    slice) on ``input_dtype`` pixels written as ``output_dtype``."""
    kind = "background" if whole_slice else "neighbours" if slices > 1 else "one slice"
    return _for_types(FILTER_BYTES_PER_PX[kind], input_dtype, output_dtype)


def model_bytes_per_px(family: str, input_dtype=np.uint16, output_dtype=np.float32) -> int:
    """Bytes per slice pixel of a network of ``family`` on ``input_dtype`` pixels written as ``output_dtype``."""
    return _for_types(MODEL_BYTES_PER_PX.get(family, DEFAULT_MODEL_BYTES_PER_PX), input_dtype, output_dtype)


def physical_memory() -> int | None:
    """Bytes of memory this process may use: the computer's RAM, or the lowest limit of the control groups it
    runs in (Linux: a container, a batch job) when lower; None where it cannot be read."""
    total = _windows_memory() if sys.platform == "win32" else _posix_memory()
    limits = [v for v in cgroup_limits() if 0 < v < NO_LIMIT]
    if not limits:
        return total
    return min(limits) if total is None else min(total, *limits)


def cgroup_limits(root: Path | None = None, membership: str | None = None) -> list[int]:
    """The memory limits (bytes) of the control groups this process is in and their parents: cgroup v2's
    ``memory.max`` and cgroup v1's ``memory.limit_in_bytes``, from its group up to the hierarchy's root;
    ``membership``: /proc/self/cgroup's text (read here when None). [] where there are none or nothing says."""
    root = CGROUP_ROOT if root is None else root
    if membership is None:
        try:
            membership = Path("/proc/self/cgroup").read_text()
        except OSError:
            return []
    found = []
    for line in membership.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, group = parts
        if controllers == "":  # v2
            found.extend(_up_the_tree(root, group, "memory.max"))
        elif "memory" in controllers.split(","):  # v1
            found.extend(_up_the_tree(root / "memory", group, "memory.limit_in_bytes"))
    return found


def _up_the_tree(top: Path, group: str, name: str) -> list[int]:
    """The ``name`` limits of ``group``'s folder under ``top`` and of every folder above it up to ``top``: a batch
    job's limit sits above its task's group, and a container's own group is mounted at ``top`` itself."""
    found, folder = [], top / group.strip("/")
    while True:
        found.extend(_limit(folder / name))
        if folder == top or top not in folder.parents:
            return found
        folder = folder.parent


def _limit(path: Path) -> list[int]:
    try:
        return [int(path.read_text().strip())]
    except (OSError, ValueError):  # no such group file, or "max"
        return []


def _posix_memory() -> int | None:
    try:
        total = int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None
    return total if total > 0 else None  # -1: "indeterminate"


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


def slice_memory(shape_yx: tuple[int, int], bytes_per_px: int, model: bool = True) -> int:
    """Estimated peak bytes of a job on slices of ``shape_yx`` (Y, X) px at ``bytes_per_px`` (see
    :func:`filter_bytes_per_px`, :func:`model_bytes_per_px`), the program (with torch and a ``model``) included."""
    return (MODEL_BASE_BYTES if model else FILTER_BASE_BYTES) + int(bytes_per_px) * int(shape_yx[0]) * int(shape_yx[1])


def block_bytes_per_px(bytes_per_px: int, depth: int, output_dtype) -> int:
    """Bytes per slice pixel of a block run with blocks of ``depth`` slices whose slice job takes ``bytes_per_px``
    (see :func:`filter_bytes_per_px`, :func:`model_bytes_per_px`), written as ``output_dtype``."""
    return int(bytes_per_px) + int(depth) * (BLOCK_OUTPUT_COPIES * np.dtype(output_dtype).itemsize + BLOCK_EXTRA_PX)


def check_slice_memory(shape_yx: tuple[int, int], bytes_per_px: int, where, memory: int | None = None,
                       writes: bool = True, model: bool = True) -> None:
    """InputError before the work where a job on slices of ``shape_yx`` px at ``bytes_per_px`` (``model``: with a
    network loaded) needs more than USABLE_SHARE of ``memory`` bytes (default :func:`physical_memory`; unknown: it
    runs; SKIP_VARIABLE "off": not checked). ``writes``: the job writes a file (the message says nothing was)."""
    rows, cols = (int(v) for v in shape_yx)
    _check(slice_memory(shape_yx, bytes_per_px, model), memory, f"its slices are {cols} x {rows} px: denoising one",
           "this computer lets EMDenoise use", "cut the slices into parts (e.g. Fiji: Image > Stacks > Tools > "
           "Montage to Stack), run it on a computer with more memory", where, writes)


def check_block_memory(shape_yx: tuple[int, int], depth: int, bytes_per_px: int, where, memory: int | None = None,
                       worker: bool = False, model: bool = True) -> None:
    """InputError before the work where a block run's blocks of ``depth`` slices of ``shape_yx`` px at
    ``bytes_per_px`` (:func:`block_bytes_per_px`) need more than USABLE_SHARE of ``memory`` bytes: this computer's
    (default :func:`physical_memory`), or with ``worker`` the least a task of a Dask cluster's workers may use (a
    worker's nanny restarts it past its limit, and the block fails again on the next one)."""
    rows, cols = (int(v) for v in shape_yx)
    usable, advice = ("a task of this cluster's workers may use", "Dask restarts a worker past its limit: run fewer "
                      "blocks per worker (fewer workers or threads) or give them more memory (--cluster-config "
                      "memory), or denoise without --scheduler") if worker else (
        "EMDenoise may use", "denoise without --scheduler (a slice at a time) or on a computer with more memory")
    _check(slice_memory(shape_yx, bytes_per_px, model), memory, f"a block of {depth} slices of {cols} x {rows} px",
           usable, advice, where, writes=False)


def _check(need: int, memory: int | None, problem: str, usable: str, advice: str, where, writes: bool) -> None:
    """InputError "``problem`` needs about ``need``, and ``usable`` (nine tenths of) ``memory``; ``advice``" where
    ``need`` is over USABLE_SHARE of ``memory`` (None: :func:`physical_memory`; unknown: no error); none with
    SKIP_VARIABLE "off"."""
    if os.environ.get(SKIP_VARIABLE, "").strip().lower() == "off":
        return
    memory = physical_memory() if memory is None else memory
    if memory is None or need <= USABLE_SHARE * memory:
        return
    raise InputError(f"{problem} needs about {size_words(need)} of memory, and {usable} "
                     f"{size_words(USABLE_SHARE * memory)} (nine tenths of {size_words(memory)}); {advice}; or set "
                     f"{SKIP_VARIABLE}=off to try anyway"
                     + (". Nothing was written" if writes else ""), where)
