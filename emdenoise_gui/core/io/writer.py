"""The atomic, streaming stack writer, whatever the output format.

A :class:`StackWriter` creates the file (or OME-Zarr folder) under a temporary name in the target
folder (the format module lays out empty contiguous pixels, or creates the store), takes slices one
at a time in any order (memory stays at one slice; a shard for OME-Zarr), and renames the output
into place only when :meth:`StackWriter.commit` runs. If the job fails or is cancelled the
temporary output is removed: nothing is written and nothing is overwritten.

Output dtypes: ``float32`` keeps the values as computed, on the input's
intensity scale; an integer dtype rounds and clips to that type's range
(see :func:`cast_to`).
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np

from emdenoise_gui.core import atomic, leftovers
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io.formats import output_format

#: An integer output type takes values up to this fraction of the data's span beyond its range (clipped:
#: a denoiser's overshoot at saturated pixels) ...
CLIP_MARGIN = 0.05
#: ... in at most this fraction of a slice's pixels; more means the data do not fit the type at all.
CLIP_FRACTION = 1e-3
#: What to do when the chosen output type cannot hold a result, in the CLI's words and the app's.
WIDER = "choose --dtype float32 (or a wider type; in the app: Settings ▸ Output pixel type)"


def cast_to(data: np.ndarray, dtype: np.dtype, where: str = "the data",
            span: tuple[float, float] | None = None) -> np.ndarray:
    """``data`` as ``dtype``: floats as they are, integers rounded and clipped to the type's range.

    InputError (naming ``where``) when more than CLIP_FRACTION of the values lie more than CLIP_MARGIN of
    the data's span (at least one level) outside the type's range: clipping would destroy the image
    (uint16 data stored as uint8 turns white, int16 as uint16 loses its negative values), so another type
    must be chosen (floating-point input too narrow for an integer type is refused before a job starts:
    ``jobs.stack.check_levels``). The margin is for a computed result's overshoot (floating-point
    ``data``); integer ``data`` holds stored values (``convert``), and any of them outside the type's
    range is refused (uint16 pixels up to 34,000 lost 3.5 % of them to int16's 32,767 without a word).
    ``span``: the data's (min, max) when the caller has them already."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return data.astype(dtype, copy=False)
    info = np.iinfo(dtype)
    if span is None:
        span = (float(np.min(data)), float(np.max(data))) if data.size else (0.0, 0.0)
    low, high = span
    if data.dtype.kind in "uib":
        if info.min <= low and high <= info.max:
            return data.astype(dtype, copy=False)
        outside = np.count_nonzero((data < info.min) | (data > info.max))
        raise InputError(f"{where} spans {low:g} to {high:g}, beyond {dtype}'s {info.min} to {info.max} in "
                         f"{outside:,} pixels ({outside / data.size:.2%}): stored as {dtype} they would be clipped; "
                         f"{WIDER}")
    margin = max(1.0, CLIP_MARGIN * (high - low))
    lowest, highest = info.min - margin, info.max + margin
    fits = lowest <= low and high <= highest  # the usual case: nothing to count
    outside = 0 if fits else np.count_nonzero((data < lowest) | (data > highest))
    if outside > CLIP_FRACTION * data.size:
        raise InputError(f"{where} spans {low:g} to {high:g}, beyond {dtype}'s {info.min} to {info.max} in "
                         f"{outside / data.size:.1%} of the pixels: stored as {dtype} they would be clipped; "
                         f"{WIDER}")
    return np.clip(np.rint(data), info.min, info.max).astype(dtype)


#: Pixels per band in which a written slice's statistics (sum, sum of squares) are taken in float64 (two
#: float64 copies of a whole 8000^2 slice were 1 GB, most of a filter run's peak memory), and in which a
#: slice that is a view into a larger array is written.
STATS_BAND_PX = 1 << 20

def _row_bands(data: np.ndarray):
    """``data[r0:r1]`` for bands of rows of (Y, X) ``data`` with about :data:`STATS_BAND_PX` pixels each."""
    rows = max(1, STATS_BAND_PX // max(1, data.shape[1]))
    for top in range(0, data.shape[0], rows):
        yield data[top:top + rows]


class RawFileSink:
    """Slice writes into a file of contiguous raw pixels laid out by a format module (TIFF, MRC)."""

    def __init__(self, module, path: Path, shape, dtype, voxel_size_nm, placement=None, kept: dict | None = None):
        self.module, self.path = module, path
        kept = {key: value for key, value in (kept or {}).items() if key in getattr(module, "KEEPS", ())}
        if placement is not None and getattr(module, "KEEPS_PLACEMENT", False):
            kept["placement"] = placement
        offset, self.store_dtype = module.create(path, shape, dtype, voxel_size_nm, **kept)
        self._fh = open(path, "r+b")
        self._offset = offset
        self._slice_bytes = shape[1] * shape[2] * self.store_dtype.itemsize

    def write(self, z: int, data: np.ndarray) -> None:
        """Write slice ``z`` ((Y, X), the file's type) from its own memory: no copy of a contiguous slice, and
        a band of rows at a time of one that is not (a view into a larger array)."""
        self._fh.seek(self._offset + z * self._slice_bytes)
        for band in [data] if data.flags.c_contiguous else _row_bands(data):
            self._fh.write(memoryview(np.ascontiguousarray(band)).cast("B"))
        self._fh.flush()  # a full disk shows up here, with a clear message, rather than at close

    def finish(self, stats, count: int) -> None:
        self.close()
        self.module.finish(self.path, stats, count)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _open_sink(module, path: Path, shape, dtype, voxel_size_nm, ngff: str | None, placement=None,
               kept: dict | None = None):
    """The format's own sink (a folder format; ``ngff`` its OME-Zarr version) or a raw-pixel file sink
    (``placement``: where the image sits, for an MRC or OME-Zarr output; ``kept``: see :class:`StackWriter`)."""
    if hasattr(module, "Sink"):
        description = (kept or {}).get("description") if "description" in getattr(module, "KEEPS", ()) else None
        return module.Sink(path, shape, dtype, voxel_size_nm, ngff, placement, description)
    return RawFileSink(module, path, shape, dtype, voxel_size_nm, placement, kept)


class StackWriter:
    """Write a (Z, Y, X) stack slice by slice to ``path``, atomically.

    Parameters
    ----------
    path: output file, ``.tif``/``.tiff``, ``.mrc``/``.mrcs``/``.map``, or a ``.zarr`` folder (OME-Zarr 0.5).
    shape: (Z, Y, X) in pixels.
    dtype: uint8, int8, uint16, int16 or float32.
    voxel_size_nm: (z, y, x) in nm, or None.
    overwrite: replace an existing ``path`` on commit (never an input: see ``io.check_output``).
    ngff: the OME-Zarr version of a ``.zarr`` output ("0.5", the default, or "0.4").
    placement: where the image sits (``stack.Placement``, already moved for a cropped output), kept by an MRC or OME-Zarr output.
    kept: what of the input a format can keep, written where the output's format module names it in ``KEEPS``:
        "white_is_zero" (True: 0 shows white, a TIFF's MINISWHITE), "volume_depth" (slices per volume of an
        MRC volume stack), "imagej_info" (an ImageJ TIFF's Info text: acquisition notes) and "description" (one
        line of how the output was made: ``jobs.stack.provenance``).

    Use as a context manager: ``write(z, slice)`` for every z, then ``commit()``.
    Leaving the block without ``commit()`` (an exception, a cancel) removes the
    temporary file.
    """

    def __init__(self, path, shape, dtype, voxel_size_nm=None, overwrite: bool = False, ngff: str | None = None,
                 placement=None, kept: dict | None = None):
        self.path = Path(path)
        self.format = output_format(self.path)
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        if self.dtype not in [np.dtype(t) for t in (np.uint8, np.int8, np.uint16, np.int16, np.float32)]:
            raise InputError(f"cannot write pixels of type {self.dtype}", self.path)
        self.voxel = voxel_size_nm
        self.overwrite = overwrite
        self.ngff = ngff
        self.placement = placement
        self.kept = dict(kept or {})
        self.tmp = atomic.private_staging(self.path)
        self.cleaned: list[Path] = []  # stale partials of killed runs removed from the folder (say so)
        self.restored: list[Path] = []  # outputs a killed run had moved aside to replace them, put back (say so)
        self._sink = None
        self._written = np.zeros(self.shape[0], dtype=bool)
        self._stats = [np.inf, -np.inf, 0.0, 0.0]  # min, max, sum, sum of squares
        self.store_dtype = self.dtype

    def __enter__(self) -> "StackWriter":
        self.restored = leftovers.restore_interrupted_swaps(self.path.parent)
        self.cleaned = leftovers.sweep(self.path.parent)
        module = self.format.module
        if not hasattr(module, "Sink"):  # a raw file takes its whole size (a store compresses)
            stored = getattr(module, "stored_type", np.dtype)(self.dtype)  # MRC widens uint8
            atomic.check_free_space(self.path.parent, int(np.prod(self.shape)) * stored.itemsize, self.path)
        try:
            self._sink = _open_sink(self.format.module, self.tmp, self.shape, self.dtype, self.voxel, self.ngff,
                                    self.placement, self.kept)
            self.store_dtype = self._sink.store_dtype
        except OSError as exc:
            self._discard()
            raise (atomic.write_failure(exc, self._nbytes(), self.path)
                   or InputError(f"cannot be written ({exc.strerror or exc})", self.path)) from None
        except BaseException:  # anything else (a bad header value, Ctrl-C): no staging file left behind
            self._discard()
            raise
        return self

    def write(self, z: int, data: np.ndarray) -> None:
        """Write slice ``z``; ``data`` (Y, X) of any real dtype is cast with :func:`cast_to`."""
        if data.shape != self.shape[1:]:
            raise ValueError(f"slice shape {data.shape} does not match {self.shape[1:]}")
        low, high = float(np.min(data)), float(np.max(data))
        if not (math.isfinite(low) and math.isfinite(high)):  # NaN propagates into min and max
            raise InputError(f"slice {z} of the result holds NaN or infinite values: the model does not fit this "
                             "data or its weights are damaged. Nothing was written", self.path)
        try:
            out = cast_to(data, self.dtype, f"slice {z} of the result", (low, high))
        except InputError as exc:
            raise InputError(f"{exc.problem}. Nothing was written", self.path) from None
        out = out.astype(self.store_dtype.newbyteorder("<"), copy=False)
        try:
            self._sink.write(z, out)
        except OSError as exc:
            raise (atomic.write_failure(exc, self._nbytes(), self.path) or exc) from None
        self._written[z] = True
        self._stats[0] = min(self._stats[0], float(out.min()))
        self._stats[1] = max(self._stats[1], float(out.max()))
        for rows in _row_bands(out):  # float64 copies of a band, not of the slice
            band = rows.astype(np.float64)
            self._stats[2] += float(band.sum())
            self._stats[3] += float(np.square(band, out=band).sum())

    def _nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.store_dtype.itemsize

    def commit(self) -> Path:
        """Finish the file and rename it into place; returns the final path."""
        if not self._written.all():
            missing = np.flatnonzero(~self._written)
            raise RuntimeError(f"slices {missing[:5].tolist()} were never written")
        try:
            self._sink.finish(tuple(self._stats), int(np.prod(self.shape)))
            self._sink = None
            atomic.fsync_tree(self.tmp)  # a power cut after the rename leaves the whole result, not an empty file
        except OSError as exc:
            self._discard()
            raise (atomic.write_failure(exc, self._nbytes(), self.path) or exc) from None
        if self.path.exists() and not self.overwrite:
            self._discard()
            raise InputError("appeared while we were writing; nothing was overwritten", self.path)
        try:
            if self.tmp.is_dir() and self.path.is_dir():
                atomic.replace_folder(self.tmp, self.path)
            else:
                os.replace(self.tmp, self.path)
        except KeyboardInterrupt as exc:  # a stop after the new folder went in (removing the old): it is whole
            if not os.path.lexists(self.tmp):
                exc.kept = f"{self.path} was written in full before the stop"
            raise
        except OSError as exc:  # the folder made read-only (or taken away) while the job ran
            self._discard()
            raise InputError(f"cannot be put in place ({exc.strerror or exc}): the folder {self.path.parent} can no "
                             "longer be written; make it writable or choose another output folder, and run again",
                             self.path) from None
        atomic.fsync_dir(self.path.parent)
        return self.path

    def _discard(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            try:
                self.tmp.unlink()
            except OSError:  # gone already, or its folder no longer lets it go: nothing more to do
                pass

    def __exit__(self, exc_type, *exc) -> None:
        if self._sink is not None or self.tmp.exists():
            self._discard()
