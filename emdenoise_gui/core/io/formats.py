"""The FORMATS registry: which module reads and writes which file, and the checks on paths.

A format is one module with ``SUFFIXES``, ``open_file(path) -> (StackMeta, reader)`` and either
``create(path, shape, dtype, voxel_size_nm) -> (offset, stored dtype)`` plus
``finish(path, stats, count)`` (a file of contiguous raw pixels: TIFF, MRC) or a ``Sink`` class
(OME-Zarr, a folder). Adding a format means adding a module and a :class:`Format` line here.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable

from emdenoise_gui.core import atomic
from emdenoise_gui.core.errors import InputError, system_failure
from emdenoise_gui.core.io import mrc, omezarr, tiff
from emdenoise_gui.core.io.stack import Stack


@dataclass(frozen=True)
class Format:
    """A file format: its name, the module doing the work, and how its content is recognised.

    claims: ``claims(head)`` is True when the first 1024 bytes of a file are this format's.
    """

    name: str
    label: str
    module: ModuleType
    claims: Callable[[bytes], bool]

    @property
    def suffixes(self) -> tuple[str, ...]:
        return self.module.SUFFIXES


FORMATS: dict[str, Format] = {
    "tiff": Format("tiff", "TIFF", tiff, lambda head: head[:4] in tiff.MAGIC),
    "mrc": Format("mrc", "MRC", mrc, mrc.is_mrc_header),
    "omezarr": Format("omezarr", "OME-Zarr", omezarr, lambda head: False),  # a folder: see sniff
}
SUPPORTED = "TIFF (.tif, .tiff), MRC (.mrc, .mrcs, .map, .rec, .st) or OME-Zarr (.zarr folder)"
#: Every suffix some format reads, e.g. for an open-file dialog's filter.
READ_SUFFIXES = tuple(s for f in FORMATS.values() for s in f.suffixes)


def _by_suffix(path: Path) -> Format | None:
    suffix = path.suffix.lower()
    return next((f for f in FORMATS.values() if suffix in f.suffixes), None)


#: Compressed suffixes people put on EM files, and the command that unpacks them.
COMPRESSED = {".gz": "gunzip -k", ".bz2": "bunzip2 -k", ".xz": "unxz -k", ".zst": "unzstd", ".zip": "unzip"}


def _unreadable(exc: OSError, path: Path, advice: str = "") -> InputError:
    """The InputError for a file the system would not let us stat or read: a failing disk or a dropped share
    said as such, else the system's words and ``advice``."""
    failure = system_failure(exc)
    return InputError(failure.problem if failure is not None else f"cannot be read ({exc.strerror or exc}){advice}",
                      path)


def sniff(path: Path) -> Format:
    """The format of a readable file, from its name and first bytes, else InputError saying why not."""
    try:
        info = path.stat()
    except OSError as exc:  # pathlib's exists() raises all but these: a dropped share (ESTALE), a disk error
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
            raise InputError("file not found; check the name and folder", path) from None
        raise _unreadable(exc, path) from None
    if stat.S_ISDIR(info.st_mode):
        if omezarr.is_store(path):
            return FORMATS["omezarr"]
        raise InputError(f"is a folder, not an image file or zarr store; give a {SUPPORTED}", path)
    if path.name in ("zarr.json", ".zattrs", ".zgroup", ".zarray") and omezarr.is_store(path.parent):
        # "unsupported file type '.json'" before (I/O audit): the app's file dialogs take it for its store
        raise InputError(f"is a file of the OME-Zarr store {path.parent}; give the store's folder instead", path)
    if not stat.S_ISREG(info.st_mode):  # a FIFO would block the read below forever
        raise InputError(f"is not a regular file (a pipe, socket or device); give a {SUPPORTED} file", path)
    size = info.st_size
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        raise _unreadable(exc, path, "; check its permissions") from exc
    if size == 0:
        raise InputError("is empty (0 bytes); it was probably not copied completely", path)
    suffix = path.suffix.lower()
    if suffix in COMPRESSED:
        raise InputError(f"is compressed ({suffix}); decompress it first (e.g. `{COMPRESSED[suffix]} "
                         f"{path.name}`, or 7-Zip on Windows) and open the {path.stem} file", path)
    named, tiff_content = _by_suffix(path), FORMATS["tiff"].claims(head)
    if named is FORMATS["mrc"]:
        if tiff_content:
            raise InputError(f"is a TIFF file with an MRC name ({suffix}); rename it to .tif and open it again",
                             path)
        return named
    if named is FORMATS["tiff"]:
        if not tiff_content:
            raise InputError("is not a TIFF file (it does not start with a TIFF header): it is damaged or "
                             "another format with a .tif name", path)
        return named
    for fmt in FORMATS.values():
        if fmt.claims(head):
            return fmt
    raise InputError(f"unsupported file type '{suffix or 'no extension'}'; EMDenoise reads {SUPPORTED}", path)


def open_stack(path: str | Path) -> Stack:
    """Open a TIFF or MRC file or an OME-Zarr folder as a lazy (Z, Y, X) :class:`Stack`.

    Raises :class:`InputError` with a message naming the file and the problem for
    anything that is not a readable greyscale 2-D image or 3-D stack.
    """
    path = Path(path)
    staging = atomic.STAGING_NAME.match(path.name)
    if staging:  # it opened like a finished result, its unwritten slices zeros (convert audit)
        raise InputError(f"is the unfinished output of an EMDenoise run that was stopped or is still writing "
                         f"'{staging['name']}' (its slices not yet written read as zeros); the next run writing "
                         "into this folder removes it: copy it under another name to look at it anyway", path)
    meta, reader = sniff(path).module.open_file(path)
    return Stack(meta, reader)


def output_format(path: Path) -> Format:
    """The format an output file name asks for, or InputError."""
    fmt = _by_suffix(path)
    if fmt is None:
        raise InputError(f"cannot write '{path.suffix.lower() or 'no extension'}' files; name the output .tif, "
                         ".mrc or .zarr", path)
    return fmt


def result_suffix(source: str | Path) -> str:
    """The extension of a result made from ``source`` in its own format: its suffix, lower case, where
    it is one we write (all that we read), else ``.tif``."""
    suffix = Path(source).suffix.lower()
    return suffix if suffix in READ_SUFFIXES else ".tif"


def image_stem(name: str | Path) -> str:
    """A file name without its extension, an OME one's ".ome" too ("cells.ome.tif" -> "cells"): the stem a
    result's name is made from (results of "cells.ome.tif" were "cells.ome_gaussian.tif")."""
    stem = Path(name).stem
    return stem[:-4] if stem.lower().endswith(".ome") and len(stem) > 4 else stem


def same_file(a: Path, b: Path) -> bool:
    """Whether paths ``a`` and ``b`` name one file: the same resolved path, or (both existing) a hard link."""
    return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))


def _holds_project(store: Path) -> bool:
    """Whether the folder ``store`` or a folder in it holds a project file (``project.records.PROJECT_FILE``): a
    version before 2026-12-08 made projects in stores, and ``--overwrite`` of the store deleted them (audit)."""
    return (store / "project.json").is_file() or any(store.glob("*/project.json"))


def check_output(path: str | Path, inputs: list[str | Path] = (), overwrite: bool = False) -> Path:
    """Validate an output path before any work is done; return it.

    Refuses (InputError) an output that is one of ``inputs`` or a folder holding one, an existing file
    unless ``overwrite``, a folder, a missing or unwritable folder, or an unknown
    extension. The folder is probed by creating and removing a temporary file.
    """
    path = Path(path)
    output_format(path)
    if len(path.name.encode("utf-8", "surrogateescape")) > atomic.NAME_MAX:
        raise InputError(f"has a name of over {atomic.NAME_MAX} bytes, more than a file system takes: choose a "
                         "shorter name", path)
    for inp in inputs:
        inp = Path(inp)
        if same_file(inp, path):
            raise InputError(
                "is also an input; EMDenoise never writes over its input: choose another output name",
                path,
            )
        if path.resolve() in inp.resolve().parents:  # a store replaced whole would take the input with it
            raise InputError(f"holds the input {inp.name}; EMDenoise never writes over its input: choose "
                             "another output name", path)
        if inp.is_dir() and inp.resolve() in path.resolve().parents:  # nodes added to the input's hierarchy
            raise InputError(f"is inside the input store {inp.name}; EMDenoise never writes into its input: "
                             "choose a name outside it", path)
    if path.exists() and not path.is_dir() and output_format(path) is FORMATS["omezarr"]:
        raise InputError("is a file, not an OME-Zarr store (a folder); EMDenoise replaces only its own kind of "
                         "output: choose another name", path)
    if path.is_dir() and output_format(path) is not FORMATS["omezarr"]:
        raise InputError("is a folder; give a file name for the output", path)
    if path.is_dir() and overwrite and not omezarr.is_store(path):  # never replace a folder of other things
        raise InputError("is a folder that is not a zarr store; EMDenoise replaces only its own kind of "
                         "output: choose another name", path)
    if path.is_dir() and overwrite and _holds_project(path):
        raise InputError("holds an EMDenoise project (project.json) and its results, which EMDenoise never "
                         "deletes with a store: choose another name, or move the project out first", path)
    if path.exists() and not overwrite:
        raise InputError("already exists; choose another name or pass --overwrite", path)
    folder = path.parent if str(path.parent) else Path(".")
    if folder.exists() and not folder.is_dir():  # said "does not exist" (paths audit)
        raise InputError(f"the output folder {folder} is a file, not a folder: choose another place", path)
    if not folder.is_dir():
        raise InputError(f"the output folder {folder} does not exist; create it first", path)
    try:
        atomic.probe_writable(folder)
    except OSError as exc:
        raise InputError(
            f"cannot write into the folder {folder} ({exc.strerror}); choose a folder you can write to",
            path,
        ) from exc
    return path
