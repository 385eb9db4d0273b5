"""OME-Zarr (NGFF) volumes: reading, creating outputs, and region writes for block processing.

A store is a folder (``NAME.zarr``). zarr-python 3 does the format (zarr v3 with sharding, or v2);
this module writes and reads the NGFF metadata around it, which is a few lines of JSON:

- NGFF 0.5 (the default): zarr v3, ``attributes.ome = {"version": "0.5", "multiscales": [...]}``;
  the image is sharded (:data:`SHARD_DEPTH` slices per shard file, chunks of one slice inside, so a
  viewer reads slice by slice and a folder does not hold a file per chunk);
- NGFF 0.4 (``version="0.4"``, for readers that do not handle zarr v3 yet): zarr v2,
  ``.zattrs["multiscales"]``, one chunk per slice.

Axes are ``z, y, x`` (type space, unit nanometer); the scale of level 0 is the voxel size in nm
(no unit when the size is unknown).
Reading accepts NGFF 0.1 to 0.5 images (their axes and voxel size read by :mod:`.ngff`) whose axes beyond
z, y, x have length 1 (t, c), or whose time points take the place of z slices (t, y, x: repeat scans;
channels are refused; planes stored x, y are read as y, x), takes level 0 of the first multiscale (its
scale times the multiscale's own, where both are given), and converts the axis
units it knows to nm.

Block processing (jobs/blocks.py) writes whole write units (:func:`write_depth` slices) straight
into an existing output store opened with ``open_image(path, "r+")``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import re
import threading
from pathlib import Path

import numpy as np

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io import ngff
from emdenoise_gui.core.io.stack import (
    Placement,
    StackMeta,
    check_dtype,
    check_shape,
    stored_dtype_extra,
)

SUFFIXES = (".zarr",)
DEFAULT_VERSION = "0.5"
VERSIONS = ("0.5", "0.4")
#: Slices per shard (NGFF 0.5) and the most pixels of a slice in one chunk (a side of 1024).
SHARD_DEPTH, CHUNK_SIDE = 16, 1024
#: an image's position in space (``stack.Placement``) is written, as the NGFF translation (in nm: needs the voxel size)
KEEPS_PLACEMENT = True
#: What of an input a Sink keeps (``writer.StackWriter``'s ``kept``): how the output was made.
KEEPS = frozenset({"description"})


def is_store(path: Path) -> bool:
    """Whether the folder ``path`` is a zarr store (v3 ``zarr.json`` or v2 ``.zgroup``/``.zarray``)."""
    return path.is_dir() and any((path / name).is_file() for name in ("zarr.json", ".zgroup", ".zarray"))


def image_store(path: Path) -> bool:
    """Whether the folder ``path`` is an OME-Zarr image: a group whose metadata has ``multiscales`` (NGFF 0.5
    in zarr.json's ``attributes.ome``, 0.4 in ``.zattrs``); read as JSON, without opening the store."""
    for name, keys in (("zarr.json", ("attributes", "ome")), (".zattrs", ())):
        try:
            node = json.loads((Path(path) / name).read_text(encoding="utf-8"))
            for key in keys:
                node = node.get(key, {})
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(node, dict) and "multiscales" in node:
            return True
    return False


def _zarr():
    import zarr

    return zarr


def multiscale_metadata(name: str, voxel_size_nm: tuple[float, float, float] | None, version: str,
                        translation_nm: tuple[float, float, float] | None = None) -> dict:
    """The NGFF ``multiscales`` entry of a one-level (Z, Y, X) image. An unknown voxel size is written
    as scale 1 with no unit on the axes (NGFF requires a scale), and read back as unknown.
    ``translation_nm``: the first voxel's (z, y, x) position in nm, written when the voxel size is known
    and it is not zero."""
    scale = list(voxel_size_nm) if voxel_size_nm else [1.0, 1.0, 1.0]
    unit = {"unit": "nanometer"} if voxel_size_nm else {}
    transforms = [{"type": "scale", "scale": scale}]
    if voxel_size_nm and translation_nm and any(translation_nm):
        transforms.append({"type": "translation", "translation": [float(v) for v in translation_nm]})
    entry = {
        "name": name,
        "axes": [{"name": a, "type": "space", **unit} for a in ngff.SPACE_AXES],
        "datasets": [{"path": "0", "coordinateTransformations": transforms}],
    }
    if version == "0.4":
        entry["version"] = "0.4"
    return entry


#: The most bytes of slices decoded together and kept by a reader (:meth:`_ArrayReader._slab_of`).
SLAB_BYTES = 128 * 2**20


class _ArrayReader:
    """Reads slice z of an N-D zarr array: ``z`` along its slice axis (None: the one plane), index 0 along
    the other axes of length 1, whole along the last two (y, x; x, y where ``transposed``, read as (y, x))."""

    def __init__(self, array, slice_axis: int | None, path: Path, transposed: bool = False):
        self.array, self.slice_axis, self.path, self.transposed = array, slice_axis, path, transposed
        self.ndim = len(array.shape)
        self._held: dict[Path, tuple[int, int]] | None = None  # the stored files at hold_still(): (size, mtime)
        self._slab: tuple[int, np.ndarray] | None = None  # (first slice, its slices as stored) last decoded
        self._lock = threading.Lock()  # the window thread and a job's read-ahead may share a reader

    def _slab_of(self, z: int) -> tuple[int, int]:
        """(first, stop) of the slices decoded together with ``z``: its chunk's whole depth along the slice axis
        where :data:`SLAB_BYTES` holds it, else an aligned part of it; (z, z + 1) for chunks one slice deep. A
        chunk 64 slices deep was decoded whole for each of its slices (64x the work: 1 s a 2048^2 slice)."""
        if self.slice_axis is None:
            return z, z + 1
        depth = int(self.array.chunks[self.slice_axis])
        plane = int(np.prod(self.array.shape[-2:])) * self.array.dtype.itemsize
        part = max(1, min(depth, SLAB_BYTES // max(1, plane)))
        if part == 1:
            return z, z + 1
        first = z - z % depth + (z % depth) // part * part
        return first, min(first + part, int(self.array.shape[self.slice_axis]))

    def _stored(self, z: int) -> np.ndarray:
        """Slice ``z`` as stored (before any transpose), from the last decoded slab where it is there."""
        first, stop = self._slab_of(z)
        if stop - first == 1:
            return np.asarray(self.array[self._index(z)])
        with self._lock:
            if self._slab is None or self._slab[0] != first:
                self._slab = (first, np.asarray(self.array[self._index(slice(first, stop))]))
            held = self._slab[1]
        return np.array(held[z - first])  # the other axes were indexed away: the slab is (slices, plane)

    def _index(self, z) -> tuple:
        return tuple(z if i == self.slice_axis else slice(None) if i >= self.ndim - 2 else 0
                     for i in range(self.ndim))

    def read(self, z: int) -> np.ndarray:
        """Slice ``z``; InputError once the store is gone (moved or deleted since it was opened: zarr read its
        chunks as zeros, and a job wrote a partly black result with exit 0), and after :meth:`hold_still` once
        a file holding slice ``z`` is gone or changed."""
        data = self._stored(z)
        if self.transposed:
            data = np.ascontiguousarray(data.T)
        if not is_store(self.path):
            raise InputError("was moved or deleted while it was read: put it back and run again", self.path)
        if self._held is not None:
            for unit in self._units(z):
                if unit in self._held and _stamp(unit) != self._held[unit]:
                    raise InputError(f"changed while it was read (its file {unit.relative_to(self.path)} was "
                                     "removed or rewritten; zarr reads a missing one as zeros): run again once "
                                     "nothing writes to it", self.path)
        return data

    def hold_still(self, slices: range | None = None) -> str:
        """Note the files the image's slices are stored in, their sizes and times (a job's start): a file that
        then goes or changes fails the read of its slices instead of giving zeros or another version's pixels.
        ``slices``: only those slices' files (a block of a block run); None: every file of the array that is
        there, found by listing its folder (one stat each, about 0.5 s for 32,000), and then returns
        :func:`missing_words` for the files not there ("" when none is missing)."""
        if slices is not None:
            units = [unit for z in slices for unit in self._units(z)]
            self._held = {unit: stamp for unit in units if (stamp := _stamp(unit)) is not None}
            return ""
        self._held, total = self.census()
        sharded = getattr(self.array, "shards", None) is not None
        return missing_words(total - len(self._held), total, "shards" if sharded else "chunks")

    def census(self) -> tuple[dict[Path, tuple[int, int]], int]:
        """(the stored files of the array that exist -> (size, mtime), how many the full grid has). The folder
        is listed, not every grid position looked up: a 20 KB store declaring 2^31 slices had every position
        listed, until memory ran out (untrusted-input audit of 2026-12-06). Files that hold no chunk, such as
        a .DS_Store, do not count."""
        folder, grid = self.path / self.array.path, self._grid()
        stored = {}
        for root, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                unit = Path(root, name)
                coords = _chunk_coords(unit.relative_to(folder).parts, len(grid))
                if coords is not None and all(c < n for c, n in zip(coords, grid)) \
                        and (stamp := _stamp(unit)) is not None:  # a chunk left past a shrunk shape is not one
                    stored[unit] = stamp
        return stored, math.prod(grid)

    def _units(self, z: int) -> list[Path]:
        """The files holding slice ``z``: its shards (chunks where the array has no shards) across y and x."""
        step, grid = getattr(self.array, "shards", None) or self.array.chunks, self._grid()
        return self._files([range(z // step[i], z // step[i] + 1) if i == self.slice_axis
                            else range(grid[i]) if i >= self.ndim - 2 else range(1) for i in range(self.ndim)])

    def _grid(self) -> list[int]:
        """Stored files along each axis: shards (chunks where the array has none) to cover its shape."""
        step = getattr(self.array, "shards", None) or self.array.chunks
        return [-(-size // part) for size, part in zip(self.array.shape, step)]

    def _files(self, ranges: list[range]) -> list[Path]:
        """The files of the stored-file grid positions ``ranges`` (one range per axis) span."""
        folder = self.path / self.array.path
        return [folder / self.array.metadata.encode_chunk_key(coords) for coords in itertools.product(*ranges)]

    def close(self) -> None:
        self._slab = None  # the app keeps a shown stack open while its project is: its slab goes with it


def _chunk_coords(parts: tuple[str, ...], ndim: int) -> tuple[int, ...] | None:
    """The grid position of a file at ``parts`` (relative to an array's folder) when it is one of the array's
    ``ndim``-D chunks or shards: numbers joined by "/" or "." (zarr v2), after "c/" or "c." (zarr v3's
    default encoding with either separator); None for any other file."""
    if len(parts) == 1 and "." in parts[0]:
        parts = tuple(parts[0].split("."))
    if parts and parts[0] == "c":
        parts = parts[1:]
    if len(parts) != ndim or not all(part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts)


def stored_files(array, path: Path, slices: range) -> list[Path]:
    """The files (shards, or chunks where the array has none) of the level-0 ``array`` of the store at
    ``path`` that hold ``slices`` (along its first axis)."""
    reader = _ArrayReader(array, 0, path)
    return list(dict.fromkeys(unit for z in slices for unit in reader._units(z)))


def _stamp(path: Path) -> tuple[int, int] | None:
    """(size in bytes, modification time in ns) of a file; None where it does not exist."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return info.st_size, info.st_mtime_ns


def open_image(path: Path, mode: str = "r"):
    """(zarr array of level 0, multiscales entry, NGFF version) of an OME-Zarr image, or InputError;
    ``mode`` "r+" to write regions into it (block processing)."""
    return _level0(_open_group(path, mode), path)


def _open_group(path: Path, mode: str = "r"):
    """The store's root zarr group, or InputError."""
    try:
        return _zarr().open_group(str(path), mode=mode)
    except Exception as exc:
        if mode == "r" and _is_plain_array(path):
            raise InputError("is a plain zarr array, not an OME-Zarr image (no group with multiscales metadata "
                             "around it): write it as OME-Zarr (e.g. ome-zarr-py's write_image) or as TIFF, "
                             "then open that", path) from exc
        raise InputError(f"cannot be opened as a zarr store ({exc}): its metadata is damaged or incomplete; copy it "
                         "again, or write it anew from the program that made it", path) from exc


def _is_plain_array(path: Path) -> bool:
    """Whether ``path`` is a zarr array on its own (v2 or v3), which is not an image EMDenoise can place."""
    try:
        _zarr().open_array(str(path), mode="r")
    except Exception:
        return False
    return True


@contextlib.contextmanager
def _malformed(path: Path):
    """Metadata of the wrong JSON type (a number for the "ome" object, axes as a string, a list as a unit)
    read inside this block: one InputError, not an internal error (untrusted-input audit of 2026-12-06)."""
    try:
        yield
    except (AttributeError, KeyError, TypeError, IndexError, ValueError) as exc:
        raise InputError(f"its OME-Zarr metadata is malformed ({type(exc).__name__}: {exc}): the program that "
                         "wrote it did not follow the NGFF format; write it anew, or save it as TIFF", path) from None


def _level0(group, path: Path):
    """(zarr array of level 0, multiscales entry, NGFF version) of the image in the root ``group``."""
    with _malformed(path):
        entry, version = ngff.first_multiscales(group, path)
    try:
        array = group[entry["datasets"][0]["path"]]
    except (KeyError, IndexError) as exc:
        raise InputError("its OME-Zarr metadata names an image level that is not in the store: it is "
                         "incomplete (copy it again)", path) from exc
    except Exception as exc:  # the level's own metadata unreadable (binary junk, bad JSON): zarr's error
        raise InputError(f"the metadata of its image level cannot be read ({type(exc).__name__}): the store "
                         "is damaged (copy it again)", path) from exc
    if getattr(array, "chunks", None) is None:  # a group: zarr's AttributeError was an internal error (I/O audit)
        raise InputError(f"its OME-Zarr metadata names an image level ({entry['datasets'][0]['path']}) that is a "
                         "group, not an array: the program that wrote it did not follow the NGFF format", path)
    steps = [*array.chunks, *(getattr(array, "shards", None) or ())]
    if any(int(step) < 1 for step in steps):  # zarr takes it; every chunk count then divided by zero
        raise InputError(f"its chunk size is 0 along an axis (chunks {tuple(array.chunks)}): the store's metadata "
                         "is damaged; write it anew", path)
    return array, entry, version


#: The folder in a store where block processing (``jobs.blocks``) records each block it finished; the
#: store's "emdenoise" attribute says how many blocks the run has ("blocks").
BLOCK_RECORDS = ".emdenoise-blocks"


#: Fewest slices per block of block processing, when the store writes fewer at once (NGFF 0.4: one slice
#: per chunk).
MIN_BLOCK_DEPTH = 8


def block_depth_for(array) -> int:
    """Slices per block of block processing into ``array``: its write depth, times what it takes to reach
    MIN_BLOCK_DEPTH."""
    unit = write_depth(array)
    return unit * max(1, -(-MIN_BLOCK_DEPTH // unit))


def _check_finished(path: Path, group, array) -> None:
    """InputError for a store (root zarr ``group``, level-0 ``array``) that block processing has not finished
    (stopped, failed or still running): the blocks not yet written would read as zeros."""
    ours = dict(group.attrs).get("emdenoise")
    if not isinstance(ours, dict) or "job" not in ours:
        return
    planned, records = ours.get("blocks"), path / BLOCK_RECORDS
    if not isinstance(planned, int):  # versions before 2026-12-06 recorded the count after creating the store
        if not records.is_dir():
            raise InputError("is an unfinished block run (stopped while it was created; it holds no result): "
                             "run the same `emdenoise denoise` command again, or delete it", path)
        planned = -(-int(array.shape[0]) // block_depth_for(array))
    # records are named by their blocks ("0-16"); another file there (a stray "._0-16") made a store one block
    # short read as finished (block audit)
    done = sum(1 for item in records.iterdir() if item.name[:1].isdigit()) if records.is_dir() else 0
    if done < planned:
        kept = previous_path(path)
        before = (f"; the result it replaces is kept as {kept.name} beside it until it finishes (to go back to that "
                  f"one, delete {path.name} and rename {kept.name} to {path.name})" if kept.is_dir() else "")
        raise InputError(f"is an unfinished block run ({done} of {planned} blocks written; the others would read as "
                         f"zeros): run the same `emdenoise denoise` command again to finish it, or delete it{before}",
                         path)


def unfinished_block_run(path: Path) -> bool:
    """Whether ``path`` is the store of a block run that has not written every block (its EMDenoise record
    count short of its plan: :func:`_check_finished`). False for any other store: finished, not EMDenoise's,
    or one whose image cannot be read (with channels, say, or damaged)."""
    try:
        group = _open_group(path)
        ours = dict(group.attrs).get("emdenoise")
        array = _level0(group, path)[0]
    except InputError:
        return False
    if not isinstance(ours, dict) or "job" not in ours:
        return False
    try:
        _check_finished(path, group, array)
    except InputError:
        return True
    return False


def previous_path(output: str | Path) -> Path:
    """Where a block run with ``--overwrite`` keeps the finished result it replaces until it has finished:
    ``.NAME.previous`` beside the store (a run that fails or is stopped leaves it there)."""
    output = Path(output)
    return output.with_name(f".{output.name}.previous")


def missing_words(missing: int, total: int, unit: str) -> str:
    """What ``missing`` of ``total`` chunks (or shards, ``unit``) not stored means; "" when none is missing."""
    if not missing:
        return ""
    return (f"{missing} of {total} {unit} are not stored and read as the fill value (usually 0): the store may be "
            "incomplete; copy it again if it should be whole")


def missing_chunks(path: Path) -> tuple[int, int, str]:
    """(units not stored, units in all, "chunks" or "shards") of the image's level-0 array: zarr reads a chunk
    that is not stored as its fill value (usually 0), so a store copied or written incompletely reads as partly
    black. A sharded array (NGFF 0.5) is counted in shards, the files it stores: zarr's chunk count for it
    multiplies the shards by their full size, so a complete store whose depth is not a multiple of the shard's
    read as "-12 of 20 chunks missing". Lists the store's keys: for ``emdenoise info``, not for every open."""
    array, _, _ = open_image(path)
    stored, total = _ArrayReader(array, None, path).census()
    return total - len(stored), total, "shards" if getattr(array, "shards", None) is not None else "chunks"


def open_file(path: Path):
    """(StackMeta, reader) for an OME-Zarr image folder; InputError for anything unreadable or unfinished."""
    group = _open_group(path)
    array, entry, version = _level0(group, path)
    _check_finished(path, group, array)
    shape = tuple(int(n) for n in array.shape)
    if len(shape) < 2:
        raise InputError(f"holds {len(shape)}-D data of shape {shape}, not an image", path)
    with _malformed(path):
        names = ngff.axis_names(entry, len(shape))
        transposed = ngff.transposed(names, path)
        axis = ngff.slice_axis(entry, names, shape, path)
        voxel, note = ngff.voxel_size(entry, names, names[axis] if axis is not None else "z")
        position = ngff.translation_nm(entry, names) if axis is not None and names[axis] == "z" else None
        translated = ngff.translated(entry)
    order = slice(None, None, -1 if transposed else 1)  # (y, x)
    zyx = check_shape(((shape[axis],) if axis is not None else ()) + shape[-2:][order], path)
    dtype = check_dtype(array.dtype, path)
    chunks = ((int(array.chunks[axis]) if axis is not None else 1),) + tuple(int(c) for c in array.chunks[-2:][order])
    extra = {"chunks": chunks, "ngff": version, **stored_dtype_extra(array.dtype, dtype)}
    if note and voxel and zyx[0] > 1:
        extra["note"] = note
    if position is not None:  # carried to the outputs that keep a position (MRC origin, OME-Zarr translation)
        extra["placement"] = Placement(origin=(position[2] * 10.0, position[1] * 10.0, position[0] * 10.0))
    elif translated:
        extra["translated"] = True
    meta = StackMeta(path=path, format=f"OME-Zarr {version}", shape=zyx, dtype=dtype, voxel_size_nm=voxel,
                     source=f"OME-Zarr {version} metadata" if voxel else "", raw_slices=False, extra=extra)
    return meta, _ArrayReader(array, axis, path, transposed)


def create(path: Path, shape: tuple[int, int, int], dtype: np.dtype,
           voxel_size_nm: tuple[float, float, float] | None, version: str | None = None,
           name: str | None = None, extra_attributes: dict | None = None, placement: Placement | None = None):
    """Create an empty (Z, Y, X) OME-Zarr image at ``path`` (a new folder); its level-0 zarr array.

    ``version``: the NGFF version, one of :data:`VERSIONS` (None: :data:`DEFAULT_VERSION`). Chunks are
    one slice deep (at most :data:`CHUNK_SIDE` square); NGFF 0.5 shards :data:`SHARD_DEPTH` slices
    together. ``extra_attributes`` go beside the NGFF metadata; ``placement``: where the image sits (an MRC
    input's, a crop's offset), written as the NGFF translation (:func:`multiscale_metadata`).
    """
    version = version or DEFAULT_VERSION
    if version not in VERSIONS:
        raise InputError(f"cannot write OME-Zarr version {version}; choose one of {', '.join(VERSIONS)}", path)
    zarr = _zarr()
    z, y, x = (int(n) for n in shape)
    chunks = (1, min(y, CHUNK_SIDE), min(x, CHUNK_SIDE))
    entry = multiscale_metadata(name or re.split(r"\.zarr", path.name.lstrip("."), flags=re.IGNORECASE)[0],
                                voxel_size_nm, version, placement.position_nm(voxel_size_nm) if placement else None)
    if version == "0.5":
        group = zarr.open_group(str(path), mode="w-", zarr_format=3)
        group.attrs["ome"] = {"version": "0.5", "multiscales": [entry]}
        shards = (min(z, SHARD_DEPTH), chunks[1] * -(-y // chunks[1]), chunks[2] * -(-x // chunks[2]))
        # zstd frames with their checksum: bytes damaged since are refused on read, not decoded into wrong pixels
        array = group.create_array("0", shape=(z, y, x), chunks=chunks, shards=shards, dtype=np.dtype(dtype),
                                   fill_value=0, dimension_names=list(ngff.SPACE_AXES),
                                   compressors=zarr.codecs.ZstdCodec(checksum=True))
    else:
        group = zarr.open_group(str(path), mode="w-", zarr_format=2)
        group.attrs["multiscales"] = [entry]
        array = group.create_array("0", shape=(z, y, x), chunks=chunks, dtype=np.dtype(dtype), fill_value=0,
                                   chunk_key_encoding={"name": "v2", "separator": "/"})
    if extra_attributes:
        group.attrs.update(extra_attributes)
    return array


def write_depth(array) -> int:
    """Slices that must be written together so that two writers never share a stored object
    (a shard in NGFF 0.5, one chunk slice in 0.4)."""
    shards = getattr(array, "shards", None)
    return int(shards[0]) if shards else int(array.chunks[0])


class Sink:
    """Slice-by-slice writes into a new OME-Zarr image (the StackWriter's sink for ``.zarr``).

    Slices are gathered per shard and written a whole shard at a time (a shard rewritten for every
    slice would cost its size each time).
    """

    def __init__(self, path: Path, shape, dtype, voxel_size_nm, version: str | None = None, placement=None,
                 description: str | None = None):
        """``placement``: where the image sits (``stack.Placement``), as :func:`create` takes it;
        ``description``: how it was made, kept in the "emdenoise" attribute as "made_by"."""
        self.path, self.description = path, description
        self.store_dtype = np.dtype(dtype)  # zarr stores any of the output types as they are
        self.array = create(path, shape, dtype, voxel_size_nm, version, placement=placement)
        self.depth = write_depth(self.array)
        self.pending: dict[int, np.ndarray] = {}

    def write(self, z: int, data: np.ndarray) -> None:
        self.pending[z] = data
        start = z - z % self.depth
        stop = min(start + self.depth, self.array.shape[0])
        if all(k in self.pending for k in range(start, stop)):
            self.array[start:stop] = np.stack([self.pending.pop(k) for k in range(start, stop)])

    def finish(self, stats, count: int) -> None:
        """Write what is left; record min, max and mean (``stats`` as in StackWriter) in the attributes."""
        if self.pending:
            raise RuntimeError(f"slices {sorted(self.pending)[:5]} were never completed into a shard")
        lo, hi, total, _ = stats
        zarr = _zarr()
        group = zarr.open_group(str(self.path), mode="r+")
        group.attrs["emdenoise"] = {"min": lo, "max": hi, "mean": total / count,
                                    **({"made_by": self.description} if self.description else {})}

    def close(self) -> None:
        pass

