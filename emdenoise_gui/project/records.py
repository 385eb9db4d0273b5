"""The records a project file holds: input stacks, results made from them, and the view.

Each record validates itself in ``from_dict`` and raises an :class:`InputError` naming
the field (``stacks[2].shape``) and what it should hold, so a damaged or hand-edited
``project.json`` gets a message a user can act on.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np

from emdenoise_gui.core.errors import InputError

#: The project file, its previous save, and the folder (inside the project) results are written to.
PROJECT_FILE = "project.json"
BACKUP_FILE = PROJECT_FILE + ".bak"
RESULTS_DIR = "results"
RESULT_KINDS = ("filter", "model")
#: The compare view's display modes and the version of its saved state (:class:`CompareState`).
COMPARE_MODES = ("side_by_side", "split", "blink")
COMPARE_STATE_VERSION = 1
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _absolute(path: str) -> bool:
    """Whether ``path`` is absolute on this or another system (``/data/x.tif``, ``D:\\data\\x.tif``)."""
    return PurePosixPath(path).is_absolute() or PureWindowsPath(path).is_absolute()


def now_iso() -> str:
    """The local time as an ISO 8601 string with its UTC offset, to the second."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


# --- reading validated fields ---------------------------------------------------------

def file_size(path: str | Path) -> int | None:
    """The size in bytes of the file at ``path`` (:attr:`StackRecord.size_bytes`), or None for a folder (an
    OME-Zarr store) or a path that cannot be read."""
    try:
        info = Path(path).stat()
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


#: how :func:`sampled_digest` samples a file: this many windows of this many bytes, evenly spaced from its
#: first byte to its last (256 KiB read, at most 16 seeks, whatever the file's size)
DIGEST_WINDOWS, DIGEST_WINDOW_BYTES = 16, 16 * 1024


def sampled_digest(path: str | Path, size: int | None = ...) -> str | None:
    """A 32-hex-digit BLAKE2b digest of ``path``'s size and :data:`DIGEST_WINDOWS` windows of its bytes spread
    evenly over the file (the whole file when it is smaller), or None for a folder or a file that cannot be
    read (:attr:`StackRecord.sampled_digest`). Copies and moves keep it; a file rewritten with other pixels of the
    same size changes it unless every change falls between the windows. ``size``: its :func:`file_size` where
    the caller has it."""
    size = file_size(path) if size is ... else size
    if size is None:
        return None
    digest = hashlib.blake2b(str(size).encode(), digest_size=16)
    try:
        with open(path, "rb") as f:
            if size <= DIGEST_WINDOWS * DIGEST_WINDOW_BYTES:
                digest.update(f.read())
            else:
                step = (size - DIGEST_WINDOW_BYTES) / (DIGEST_WINDOWS - 1)
                for k in range(DIGEST_WINDOWS):
                    f.seek(round(k * step))
                    digest.update(f.read(DIGEST_WINDOW_BYTES))
    except OSError:
        return None
    return digest.hexdigest()


def bad_field(where: str, what: str, value: Any = ...) -> InputError:
    found = "" if value is ... else f" (found {json.dumps(value, default=repr)[:60]})"
    return InputError(
        f"field '{where}' must be {what}{found}; fix it in a text editor, or restore "
        f"{BACKUP_FILE} (the previous save)"
    )


def get_field(d: dict, key: str, where: str) -> Any:
    if key not in d:
        raise InputError(
            f"field '{where}{key}' is missing; the file was edited or damaged: add the field, "
            f"or restore {BACKUP_FILE} (the previous save)"
        )
    return d[key]


def dict_field(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise bad_field(where, "an object {...}", value)
    return value


def str_field(d: dict, key: str, where: str, optional: bool = False) -> str | None:
    value = get_field(d, key, where)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise bad_field(where + key, "a non-empty text" + (" or null" if optional else ""), value)
    return value


def time_field(d: dict, key: str, where: str) -> str:
    value = str_field(d, key, where)
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise bad_field(where + key, "a date and time like 2024-05-01T12:00:00+02:00", value) from None
    return value


def int_field(d: dict, key: str, where: str, minimum: int | None = None) -> int:
    value = get_field(d, key, where)
    if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
        what = "a whole number" + ("" if minimum is None else f" >= {minimum}")
        raise bad_field(where + key, what, value)
    return value


def number_list(d: dict, key: str, where: str, n: int, kind: type, optional: bool = False,
                positive: bool = False) -> list | None:
    """A list of ``n`` ints (``kind=int``) or finite numbers (``kind=float``), or None if optional."""
    value = get_field(d, key, where)
    if value is None and optional:
        return None
    ok = isinstance(value, list) and len(value) == n
    if ok:
        for v in value:
            if isinstance(v, bool) or not isinstance(v, (int, float) if kind is float else int):
                ok = False
            elif isinstance(v, int) and abs(v) >= 1 << 63:  # 10**400 overflowed math.isfinite: an internal error
                ok = False
            elif not math.isfinite(v) or (positive and v <= 0):
                ok = False
    if not ok:
        noun = "whole numbers" if kind is int else "numbers"
        what = f"a list of {n} {'positive ' if positive else ''}{noun}" + (" or null" if optional else "")
        raise bad_field(where + key, what, value)
    return [kind(v) for v in value]


def bool_field(d: dict, key: str, where: str) -> bool:
    value = get_field(d, key, where)
    if not isinstance(value, bool):
        raise bad_field(where + key, "true or false", value)
    return value


def unknown_entries(d: dict, known: tuple[str, ...]) -> dict:
    """The entries of ``d`` this app does not know: fields a later EMDenoise added to the same file version,
    kept so that opening and saving a project here does not drop them."""
    return {k: v for k, v in d.items() if k not in known}


def _json_default(value: Any) -> Any:
    """Turn numpy scalars/arrays, dtypes and paths into plain JSON values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.dtype, Path)):
        return str(value)
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def plain_json(value: Any, what: str) -> Any:
    """``value`` as plain JSON data (what a save then open gives back), or InputError."""
    try:
        return json.loads(json.dumps(value, default=_json_default, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} cannot be stored in the project file: {exc}") from exc


# --- records ---------------------------------------------------------------------------

@dataclass
class StackRecord:
    """An input stack the project refers to (never modified, never copied).

    Attributes
    ----------
    id: short unique id, ``"s1"``, ``"s2"``, ...
    path: absolute path of the input file, as text.
    name: display name (default: the file name).
    shape: [Z, Y, X] in pixels.
    dtype: numpy dtype name of the slices, e.g. ``"uint8"``.
    voxel_size_nm: [z, y, x] in nanometres, or None when the file does not say.
    format: the reader's short format name, e.g. ``"ImageJ TIFF"``.
    added: when it was added, ISO 8601 text.
    size_bytes: the file's size when it was added (None: a folder such as an OME-Zarr store, or a project written
        before it was recorded): a file rewritten with other pixels of the same shape and type, or another
        acquisition of that size found where it was, is told apart by it.
    sampled_digest: :func:`sampled_digest` of the file when it was added (None where ``size_bytes`` is, and in
        projects written before 2026-12-07): tells apart what the size alone does not (the same shape, type and
        compression, other pixels).
    extra: fields of a later EMDenoise, written back as they were read (:func:`unknown_entries`).
    """

    id: str
    path: str
    name: str
    shape: list[int]
    dtype: str
    voxel_size_nm: list[float] | None
    format: str
    added: str
    size_bytes: int | None = None
    sampled_digest: str | None = None
    extra: dict = field(default_factory=dict, repr=False, compare=False)
    #: its path relative to the project folder as last read from project.json (None: not given), written back
    #: while the file is missing: a project saved before its data arrived at the new place still finds it
    relative: str | None = field(default=None, repr=False, compare=False)

    #: the fields project.json holds for a stack ("relative": its path from the project folder, see Project)
    KEYS = ("id", "path", "name", "shape", "dtype", "voxel_size_nm", "format", "added", "relative", "size_bytes",
            "sampled_digest")

    def to_dict(self) -> dict:
        d = {**self.extra, "id": self.id, "path": self.path, "name": self.name, "shape": list(self.shape),
             "dtype": self.dtype, "voxel_size_nm": None if self.voxel_size_nm is None
             else list(self.voxel_size_nm), "format": self.format, "added": self.added}
        if self.size_bytes is not None:
            d["size_bytes"] = self.size_bytes
        if self.sampled_digest is not None:
            d["sampled_digest"] = self.sampled_digest
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str = "stack") -> "StackRecord":
        """Validate and build; InputError naming the field (prefixed by ``where``) if bad."""
        d = dict_field(d, where)
        w = where + "."
        dtype = str_field(d, "dtype", w)
        try:
            usable = np.dtype(dtype).kind in "uif" and np.dtype(dtype).itemsize <= 8
        except (TypeError, ValueError):  # ValueError: "(1000000000,1000000000)f8", an internal error
            usable = False
        if not usable:  # "O", "S10", "datetime64[ns]" were taken
            raise bad_field(w + "dtype", "a numpy type name of integers or floats like 'uint8'", dtype)
        shape = number_list(d, "shape", w, 3, int, positive=True)
        size = d.get("size_bytes")
        if size is not None and (type(size) is not int or size < 0):
            raise bad_field(w + "size_bytes", "a whole number of bytes, 0 or more, or absent", size)
        digest = d.get("sampled_digest")
        if digest is not None and not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{32}", digest)):
            raise bad_field(w + "sampled_digest", "32 hexadecimal digits, or absent", digest)
        return cls(id=str_field(d, "id", w), path=str_field(d, "path", w), name=str_field(d, "name", w),
                   shape=shape, dtype=dtype,
                   voxel_size_nm=number_list(d, "voxel_size_nm", w, 3, float, optional=True, positive=True),
                   format=str_field(d, "format", w), added=time_field(d, "added", w), size_bytes=size,
                   sampled_digest=digest, extra=unknown_entries(d, cls.KEYS))


@dataclass
class ResultRecord:
    """A finished result file made from one stack (failed jobs are not recorded).

    Attributes
    ----------
    id: short unique id, ``"r1"``, ``"r2"``, ...
    stack_id: id of the input :class:`StackRecord`.
    path: the output file: inside the project's ``results/``, relative to the project folder with
        ``/`` separators (e.g. ``"results/cells_bm3d.tif"``); elsewhere (an output folder chosen in
        Settings, or the results of a project saved under a new folder), its absolute path.
    kind: ``"filter"`` (a classical filter) or ``"model"`` (a network).
    method: the filter name or the model name.
    model_path: the model package used, as text, or None.
    model_sha256: sha256 of the model weights (64 lowercase hex digits), or None.
    parameters: JSON-able settings of the job (tile, stride, slices, dtype, device, ...).
    created: when the result was recorded, ISO 8601 text.
    slices: [start, stop): the input slices the result covers (0-based, stop exclusive).
    status: always ``"done"``.
    extra: fields of a later EMDenoise, written back as they were read (:func:`unknown_entries`).
    """

    id: str
    stack_id: str
    path: str
    kind: str
    method: str
    model_path: str | None
    model_sha256: str | None
    parameters: dict
    created: str
    slices: list[int]
    status: str = "done"
    extra: dict = field(default_factory=dict, repr=False, compare=False)

    KEYS = ("id", "stack_id", "path", "kind", "method", "model_path", "model_sha256", "parameters", "created",
            "slices", "status")

    @property
    def outside(self) -> bool:
        """True when the file lies outside the project folder (``path`` is absolute)."""
        return _absolute(self.path)

    def to_dict(self) -> dict:
        return {**self.extra, "id": self.id, "stack_id": self.stack_id, "path": self.path, "kind": self.kind,
                "method": self.method, "model_path": self.model_path,
                "model_sha256": self.model_sha256, "parameters": self.parameters,
                "created": self.created, "slices": list(self.slices), "status": self.status}

    @classmethod
    def from_dict(cls, d: Any, where: str = "result") -> "ResultRecord":
        """Validate and build; InputError naming the field (prefixed by ``where``) if bad."""
        d = dict_field(d, where)
        w = where + "."
        path = str_field(d, "path", w)
        parts = path.split("/")
        inside = parts[0] == RESULTS_DIR and len(parts) >= 2 and ".." not in parts and "\\" not in path
        if not (inside or _absolute(path)):
            raise bad_field(w + "path", f"a path inside the project's {RESULTS_DIR}/ folder, like "
                       f"'{RESULTS_DIR}/name.tif', or an absolute path", path)
        kind = str_field(d, "kind", w)
        if kind not in RESULT_KINDS:
            raise bad_field(w + "kind", " or ".join(f"'{k}'" for k in RESULT_KINDS), kind)
        sha = str_field(d, "model_sha256", w, optional=True)
        if sha is not None and not SHA256_HEX.fullmatch(sha):
            raise bad_field(w + "model_sha256", "64 lowercase hex digits or null", sha)
        slices = number_list(d, "slices", w, 2, int)
        if not 0 <= slices[0] < slices[1]:
            raise bad_field(w + "slices", "[start, stop] with 0 <= start < stop", slices)
        status = str_field(d, "status", w)
        if status != "done":
            raise bad_field(w + "status", "'done'", status)
        params = get_field(d, "parameters", w)
        dict_field(params, w + "parameters")
        if "region" in params:  # the part of each slice a region's result holds: the viewer cuts the original to it
            y0, y1, x0, x1 = number_list(params, "region", w + "parameters.", 4, int)
            if not (0 <= y0 < y1 and 0 <= x0 < x1):
                raise bad_field(w + "parameters.region", "[y0, y1, x0, x1] px with 0 <= y0 < y1 and 0 <= x0 < x1",
                                params["region"])
        return cls(id=str_field(d, "id", w), stack_id=str_field(d, "stack_id", w), path=path, kind=kind,
                   method=str_field(d, "method", w), model_path=str_field(d, "model_path", w, optional=True),
                   model_sha256=sha, parameters=params, created=time_field(d, "created", w),
                   slices=slices, status=status, extra=unknown_entries(d, cls.KEYS))


@dataclass
class CompareState:
    """What the compare view shows besides the images: the dict of ``CompareView.state()``, validated.

    Coordinates are in px of the original image, pixel centres at integers.

    Attributes
    ----------
    version: the layout of this record (:data:`COMPARE_STATE_VERSION`).
    slice: the shown slice (0-based).
    view_rect: the visible region [x, y, w, h] of the left view (w, h > 0), or None for "fit".
    mode: one of :data:`COMPARE_MODES`.
    high_pass, residual: the High-pass and Residual switches.
    line_tool, rect_tool: whether the line profile and the IQR box are shown.
    levels: contrast [lo, hi] in grey values (or high-pass values), lo <= hi, or None for auto.
    line: the profile line's end points [[y0, x0], [y1, x1]].
    rect: the IQR box as half-open [y0, x0, y1, x1] (whole px), or None when empty.
    divider_x: the split divider's x.
    """

    slice: int = 0
    view_rect: list[float] | None = None
    mode: str = "side_by_side"
    high_pass: bool = False
    residual: bool = False
    line_tool: bool = True
    rect_tool: bool = True
    levels: list[float] | None = None
    line: list[list[float]] | None = None
    rect: list[int] | None = None
    divider_x: float = 0.0
    version: int = COMPARE_STATE_VERSION
    #: fields of a later EMDenoise, written back as they were read (:func:`unknown_entries`)
    extra: dict = field(default_factory=dict, repr=False, compare=False)

    KEYS = ("version", "slice", "view_rect", "mode", "high_pass", "residual", "line_tool", "rect_tool", "levels",
            "line", "rect", "divider_x")

    def to_dict(self) -> dict:
        """The dict ``CompareView.restore_state`` takes (plain JSON values)."""
        copy = lambda v: None if v is None else list(v)  # noqa: E731
        return {**self.extra, "version": self.version, "slice": self.slice, "view_rect": copy(self.view_rect),
                "mode": self.mode, "high_pass": self.high_pass, "residual": self.residual,
                "line_tool": self.line_tool, "rect_tool": self.rect_tool, "levels": copy(self.levels),
                "line": None if self.line is None else [list(p) for p in self.line],
                "rect": copy(self.rect), "divider_x": self.divider_x}

    @classmethod
    def from_dict(cls, d: Any, where: str = "viewer") -> "CompareState":
        """Validate and build; InputError naming the field (prefixed by ``where``) if bad."""
        d = dict_field(d, where)
        w = where + "."
        version = int_field(d, "version", w, minimum=1)
        if version > COMPARE_STATE_VERSION:
            raise bad_field(w + "version", f"at most {COMPARE_STATE_VERSION} (this app's viewer state)", version)
        mode = str_field(d, "mode", w)
        if mode not in COMPARE_MODES:
            raise bad_field(w + "mode", " or ".join(f"'{m}'" for m in COMPARE_MODES), mode)
        view_rect = number_list(d, "view_rect", w, 4, float, optional=True)
        if view_rect is not None and not (view_rect[2] > 0 and view_rect[3] > 0):
            raise bad_field(w + "view_rect", "[x, y, w, h] with w > 0 and h > 0, or null", view_rect)
        levels = number_list(d, "levels", w, 2, float, optional=True)
        if levels is not None and levels[0] > levels[1]:
            raise bad_field(w + "levels", "[lo, hi] with lo <= hi, or null", levels)
        line = get_field(d, "line", w)
        if line is not None:
            if not isinstance(line, list) or len(line) != 2:
                raise bad_field(w + "line", "two points [[y0, x0], [y1, x1]], or null", line)
            line = [number_list({f"line[{i}]": p}, f"line[{i}]", w, 2, float) for i, p in enumerate(line)]
        rect = number_list(d, "rect", w, 4, int, optional=True)
        if rect is not None and not (rect[0] < rect[2] and rect[1] < rect[3]):
            raise bad_field(w + "rect", "[y0, x0, y1, x1] with y0 < y1 and x0 < x1, or null", rect)
        divider = get_field(d, "divider_x", w)
        if isinstance(divider, bool) or not isinstance(divider, (int, float)) or not math.isfinite(divider):
            raise bad_field(w + "divider_x", "a number", divider)
        return cls(slice=int_field(d, "slice", w, minimum=0), view_rect=view_rect, mode=mode,
                   high_pass=bool_field(d, "high_pass", w), residual=bool_field(d, "residual", w),
                   line_tool=bool_field(d, "line_tool", w), rect_tool=bool_field(d, "rect_tool", w),
                   levels=levels, line=line, rect=rect, divider_x=float(divider), version=version,
                   extra=unknown_entries(d, cls.KEYS))


@dataclass
class ViewState:
    """Where the viewer was, so reopening a project shows the same picture.

    Older files also hold ``rect``, ``toggles`` and ``contrast`` (never used); they are kept as they are.

    Attributes
    ----------
    stack_id: the shown stack's id, or None.
    result_id: the shown result's id, or None.
    slice_index: the shown slice (0-based).
    viewer: the compare view's state (:class:`CompareState`), or None when none was saved.
    """

    stack_id: str | None = None
    result_id: str | None = None
    slice_index: int = 0
    viewer: CompareState | None = None
    #: fields of a later EMDenoise (and the never-used ones of older files), written back as they were read
    extra: dict = field(default_factory=dict, repr=False, compare=False)

    KEYS = ("stack_id", "result_id", "slice_index", "viewer")

    def to_dict(self) -> dict:
        return {**self.extra, "stack_id": self.stack_id, "result_id": self.result_id,
                "slice_index": self.slice_index,
                "viewer": None if self.viewer is None else self.viewer.to_dict()}

    @classmethod
    def from_dict(cls, d: Any, where: str = "view") -> "ViewState":
        """Validate and build; InputError naming the field (prefixed by ``where``) if bad.

        ``viewer`` missing, null or ``{}`` (files saved before a view was shown) reads as None.
        """
        d = dict_field(d, where)
        w = where + "."
        viewer = d.get("viewer")
        return cls(stack_id=str_field(d, "stack_id", w, optional=True),
                   result_id=str_field(d, "result_id", w, optional=True),
                   slice_index=int_field(d, "slice_index", w, minimum=0),
                   viewer=CompareState.from_dict(viewer, w + "viewer") if viewer else None,
                   extra=unknown_entries(d, cls.KEYS))
