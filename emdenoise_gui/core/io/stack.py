"""The lazy (Z, Y, X) stack every format reader returns, and the checks all readers share.

Every stack is seen as (Z, Y, X): a 2-D image is a stack of depth 1. Reading is
slice by slice, with one positioned read of just that slice where the file stores
its pixels contiguously and uncompressed (:class:`RawSliceReader`), otherwise through the format's own
reader, so memory use does not grow with the depth of a stack. Voxel sizes are
carried in nanometres as (z, y, x).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from emdenoise_gui.core.errors import InputError, system_failure

#: Smallest image side we accept, in pixels: below this no filter or network makes sense.
MIN_SIDE = 8
#: dtypes that are read as stored; other real types are converted to float32 on read.
NATIVE_DTYPES = (np.uint8, np.int8, np.uint16, np.int16, np.float32)


@dataclass(frozen=True)
class Placement:
    """Where an image sits in space, as an MRC header says it: ``start`` (nxstart, nystart, nzstart) in voxels
    and ``origin`` (x, y, z) in Angstrom (either may be all zero). Read from an MRC header or an OME-Zarr
    translation (as the origin); written as either (``KEEPS_PLACEMENT`` of a format module)."""

    start: tuple[int, int, int] = (0, 0, 0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def cropped(self, z: int, y: int, x: int, voxel_size_nm) -> "Placement":
        """The placement of the part that begins ``z, y, x`` voxels into the map. As ChimeraX reads a map
        (MRC2014: the origin, when not zero, is the first voxel's position in Angstrom; else the start
        indices times the voxel size), a non-zero origin moves by the offset times the voxel size
        ((z, y, x) nm; the start indices when it is unknown), else the start indices move."""
        if not any((z, y, x)):
            return self
        if any(self.origin) and voxel_size_nm:
            vz, vy, vx = voxel_size_nm
            ox, oy, oz = self.origin
            return Placement(self.start, (ox + x * vx * 10.0, oy + y * vy * 10.0, oz + z * vz * 10.0))
        sx, sy, sz = self.start
        start = (sx + x, sy + y, sz + z)
        if all(-(1 << 31) <= v < 1 << 31 for v in start):
            return Placement(start, self.origin)
        if voxel_size_nm:  # past MRC's 32-bit start indices: said by the origin instead (untrusted-input audit)
            vz, vy, vx = voxel_size_nm
            return Placement((0, 0, 0), (start[0] * vx * 10.0, start[1] * vy * 10.0, start[2] * vz * 10.0))
        raise InputError(f"its start indices {self.start} moved by the slices and region asked for pass what an MRC "
                         "header holds, and without a voxel size no origin can say it: convert the whole map")

    def position_nm(self, voxel_size_nm) -> tuple[float, float, float] | None:
        """The first voxel's (z, y, x) position in nm, as :meth:`cropped` reads it (the origin when not zero,
        else the start indices times the (z, y, x) voxel size in nm); None when that needs an unknown voxel
        size."""
        if any(self.origin):
            ox, oy, oz = self.origin
            return oz / 10.0, oy / 10.0, ox / 10.0
        if not any(self.start):
            return 0.0, 0.0, 0.0
        if not voxel_size_nm:
            return None
        sx, sy, sz = self.start
        return tuple(float(s * v) for s, v in zip((sz, sy, sx), voxel_size_nm))


@dataclass(frozen=True)
class StackMeta:
    """What we know about a stack without reading its pixels.

    Attributes
    ----------
    path: the file.
    format: a short human name, e.g. ``"ImageJ TIFF"``, ``"MRC (mode 2)"``.
    shape: (Z, Y, X) in pixels.
    dtype: the dtype slices are returned in.
    voxel_size_nm: (z, y, x) in nanometres, or ``None`` when the file does not say.
    source: where the voxel size came from (e.g. ``"ImageJ metadata"``), or ``""``.
    raw_slices: whether slices are read straight from contiguous pixel bytes (no decoding).
    """

    path: Path
    format: str
    shape: tuple[int, int, int]
    dtype: np.dtype
    voxel_size_nm: tuple[float, float, float] | None = None
    source: str = ""
    raw_slices: bool = False
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize


def _permission_error(exc: BaseException) -> PermissionError | None:
    """The PermissionError behind ``exc`` (itself, or what a format library's own error wraps), or None."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, PermissionError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


class Stack:
    """A lazily read (Z, Y, X) stack. Use :func:`open_stack` to make one.

    ``stack[z]`` returns slice ``z`` as a new (Y, X) array of ``meta.dtype``;
    ``stack.read(a, b)`` returns slices ``a..b-1`` as (b-a, Y, X).
    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, meta: StackMeta, reader):
        self.meta = meta
        self._reader = reader
        self._lock = threading.Lock()  # the window's thread and a helper may read one stack: one read at a time

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.meta.shape

    @property
    def dtype(self) -> np.dtype:
        return self.meta.dtype

    @property
    def path(self) -> Path:
        return self.meta.path

    def __len__(self) -> int:
        return self.meta.shape[0]

    def __getitem__(self, z: int) -> np.ndarray:
        depth = self.meta.shape[0]
        if not -depth <= z < depth:
            raise IndexError(f"slice {z} is outside 0..{depth - 1}")
        z %= depth
        try:
            with self._lock:  # a TIFF reader seeks and reads one file handle
                data = self._reader.read(z)
        except InputError:
            raise
        except Exception as exc:  # the format library's own error: say which file and slice
            failure = system_failure(exc)  # a failing disk or a dropped share is not a damaged file
            denied = _permission_error(exc)  # e.g. one chunk file of an OME-Zarr store (I/O audit)
            why = failure.problem if failure is not None else (
                f"{denied.filename or 'a part of it'} cannot be read with your permissions; check its permissions "
                "(or ask whoever owns it)" if denied is not None else
                "the file was deleted or moved while it was read; put it back, or add it again"
                if isinstance(exc, FileNotFoundError) else f"{exc}; the file may be damaged or truncated")
            raise InputError(f"cannot read slice {z}: {why}", self.path) from exc
        data = np.asarray(data).reshape(self.meta.shape[1:])
        return data.astype(self.meta.dtype, copy=False)

    def hold_still(self, slices: range | None = None) -> str:
        """A job starts reading (``slices``: only these, e.g. one block of a block run): from now on a slice whose
        stored data has changed or gone since is refused (an OME-Zarr store's chunk files; raw TIFF and MRC
        readers check the file on every read already). Returns a note on data missing already (an OME-Zarr
        store's chunks not stored; only for the whole stack), else ""."""
        hold = getattr(self._reader, "hold_still", None)
        return hold(slices) if hold is not None else ""

    def read(self, start: int, stop: int) -> np.ndarray:
        """Slices ``start..stop-1`` as a (stop-start, Y, X) array of ``meta.dtype``."""
        return np.stack([self[z] for z in range(start, stop)])

    def __iter__(self) -> Iterator[np.ndarray]:
        for z in range(len(self)):
            yield self[z]

    def close(self) -> None:
        with self._lock:  # not under a read on another thread (the viewer's helper): it would fail half-way
            self._reader.close()

    def reopened(self) -> "Stack":
        """The same file opened again, as it is now (after :class:`FileChanged`: a viewer shows what is on
        disk); InputError when it is no longer a stack of this shape and type."""
        from emdenoise_gui.core.io import open_stack

        fresh = open_stack(self.path)
        if (fresh.shape, fresh.dtype) != (self.shape, self.dtype):
            fresh.close()
            raise InputError(f"was replaced by another stack ({'x'.join(map(str, fresh.shape))} "
                             f"{fresh.dtype.name}, not {'x'.join(map(str, self.shape))} {self.dtype.name}); "
                             "select it again, or remove it from the project and add the new file", self.path)
        self.close()
        return fresh

    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class FileChanged(InputError):
    """A raw stack's file is no longer the one opened (another file in its place, or written since, if only
    touched): a job stops; a viewer may open it again (:meth:`Stack.reopened`)."""


def _identity(stat: os.stat_result) -> tuple[int, int, int, int]:
    """Which file, and which version of it: device, inode, size (bytes), modification time (ns)."""
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


class RawSliceReader:
    """Reads slice z of contiguous raw pixels with one positioned file read.

    Not a memory map: a file replaced or cut short while it is open (saved over from another program)
    would make a mapped read crash the process (SIGBUS); a read that comes up short raises InputError.
    Each read holds one slice, whatever the depth of the stack. The file is opened for each read (no
    handle held: another program may replace it) and must still be the one opened: another file put in
    its place, or one written since, raises InputError (a job read its first slices from one stack and
    the rest from the file that replaced it, and recorded the mix as a finished result).
    """

    def __init__(self, path: Path, offset: int, shape: tuple[int, int, int], dtype: np.dtype):
        self.path, self.offset, self.shape, self.dtype = path, offset, shape, np.dtype(dtype)
        self.slice_bytes = shape[1] * shape[2] * self.dtype.itemsize
        self.identity = _identity(os.stat(path))

    def read(self, z: int) -> np.ndarray:
        count = self.shape[1] * self.shape[2]
        with open(self.path, "rb") as f:
            if _identity(os.fstat(f.fileno())) != self.identity:
                raise FileChanged("was replaced or changed since it was opened (saved over by another program?): "
                                  "its slices would mix two versions; wait until it is written, then open it "
                                  "again or run the job again", self.path)
            f.seek(self.offset + z * self.slice_bytes)
            data = np.fromfile(f, self.dtype, count)
        if data.size != count:
            raise InputError(f"cannot read slice {z}: the file ends before it (it was changed or cut short "
                             "since it was opened); add it again", self.path)
        return data.reshape(self.shape[1:])

    def close(self) -> None:
        pass


def check_dtype(dtype: np.dtype, path: Path) -> np.dtype:
    """The dtype slices of a file with pixels of ``dtype`` are returned in, or InputError."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        raise InputError(
            f"holds complex numbers ({dtype}), i.e. Fourier-space data; "
            "EMDenoise needs real-space images: export the real-space image first",
            path,
        )
    if dtype.kind == "b":
        raise InputError("is a 1-bit black-and-white image; EMDenoise needs greyscale data", path)
    if dtype.kind not in "uif":
        raise InputError(f"has pixels of unsupported type {dtype}", path)
    native = dtype.newbyteorder("=")
    return native if any(native == np.dtype(t) for t in NATIVE_DTYPES) else np.dtype(np.float32)


def stored_dtype_extra(stored: np.dtype, dtype: np.dtype) -> dict:
    """``{"stored_dtype": name}`` for ``StackMeta.extra`` when pixels stored as ``stored`` are returned as
    another type ``dtype`` (:func:`check_dtype`: int32, float64, ... read as float32), else ``{}``; byte
    order is not a type change."""
    native = np.dtype(stored).newbyteorder("=")
    return {} if native == dtype else {"stored_dtype": native.name}


def float32_loss(stored: str) -> str:
    """What reading pixels stored as the type named ``stored`` (``extra["stored_dtype"]``) as float32 loses, in
    words: nothing for float16 (every value is one of float32's), whole numbers beyond 2^24 for wider integers,
    digits beyond float32's seven for float64."""
    kind = np.dtype(stored)
    if kind.kind == "f" and kind.itemsize <= 4:
        return "every value is kept exactly"
    if kind.kind == "f":
        return "float64 digits beyond float32's seven are rounded"
    return "whole numbers beyond 16,777,216 (2^24) are rounded"


def check_shape(shape: tuple[int, ...], path: Path) -> tuple[int, int, int]:
    """(Z, Y, X) from a 2-D or 3-D shape, or InputError for 4-D+ or too small images."""
    if len(shape) > 3:
        raise InputError(
            f"holds {len(shape)}-D data of shape {tuple(shape)}; EMDenoise works on 2-D images "
            "and 3-D stacks: split channels or time points first (Fiji: Image > Hyperstacks > "
            "Reduce Dimensionality)",
            path,
        )
    if len(shape) < 2:
        raise InputError(f"holds {len(shape)}-D data of shape {tuple(shape)}, not an image", path)
    zyx = (1, *shape) if len(shape) == 2 else tuple(shape)
    if zyx[0] < 1:  # said "the image is only 16x16 pixels" of a store of shape (0, 16, 16) (convert audit)
        raise InputError(f"holds no slices (shape {tuple(shape)}): it is empty", path)
    if min(zyx[1:]) < MIN_SIDE:
        raise InputError(
            f"the image is only {zyx[2]}x{zyx[1]} pixels; EMDenoise needs at least "
            f"{MIN_SIDE}x{MIN_SIDE}",
            path,
        )
    return (int(zyx[0]), int(zyx[1]), int(zyx[2]))


def check_data_size(path: Path, offset: int, nbytes: int) -> None:
    """InputError if the file ends before ``offset + nbytes`` (a truncated or lying header)."""
    size = path.stat().st_size
    if offset + nbytes > size:
        raise InputError(
            f"the header declares {nbytes:,} bytes of pixel data from byte {offset:,}, but the "
            f"file has only {max(size - offset, 0):,}: it is truncated (copy it again)",
            path,
        )
