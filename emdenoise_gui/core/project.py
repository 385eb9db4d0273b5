"""Projects: a folder holding a versioned ``project.json`` and a ``results/`` folder.

A project records which input stacks the user opened (by absolute path: inputs
are never modified and never copied), which results were made from them
(files inside ``results/``, recorded relative to the project folder so the
folder can be moved), and where the viewer was (slice, zoom, toggles).

``project.json`` is saved atomically: written under a unique temporary name,
fsynced, then renamed over the old file, whose previous content is kept as
``project.json.bak``. Every problem a user can meet (a missing folder, broken
JSON, a file from a newer EMDenoise, a bad field) is an :class:`InputError`
that names the file or field and says what to do.

Recent projects are kept in ``recent.json`` in the user's config folder (or in
``$EMDENOISE_HOME`` when set); a damaged list reads as empty.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from emdenoise_gui.core import atomic
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io import StackMeta

PROJECT_FILE = "project.json"
BACKUP_FILE = PROJECT_FILE + ".bak"
RESULTS_DIR = "results"
PROJECT_VERSION = 1
#: Marks a JSON file as ours, so another tool's project.json is not taken for a project.
FORMAT_TAG = "emdenoise-project"
RESULT_KINDS = ("filter", "model")
DEFAULT_TOGGLES = {"high_pass": False, "residual": False, "mode": "side-by-side"}
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _now() -> str:
    """The local time as an ISO 8601 string with its UTC offset, to the second."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


# --- reading validated fields ---------------------------------------------------------

def _bad(where: str, what: str, value: Any = ...) -> InputError:
    found = "" if value is ... else f" (found {json.dumps(value, default=repr)[:60]})"
    return InputError(
        f"field '{where}' must be {what}{found}; fix it in a text editor, or restore "
        f"{BACKUP_FILE} (the previous save)"
    )


def _get(d: dict, key: str, where: str) -> Any:
    if key not in d:
        raise InputError(
            f"field '{where}{key}' is missing; the file was edited or damaged: add the field, "
            f"or restore {BACKUP_FILE} (the previous save)"
        )
    return d[key]


def _dict(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise _bad(where, "an object {...}", value)
    return value


def _str(d: dict, key: str, where: str, optional: bool = False) -> str | None:
    value = _get(d, key, where)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise _bad(where + key, "a non-empty text" + (" or null" if optional else ""), value)
    return value


def _time(d: dict, key: str, where: str) -> str:
    value = _str(d, key, where)
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise _bad(where + key, "a date and time like 2024-05-01T12:00:00+02:00", value) from None
    return value


def _int(d: dict, key: str, where: str, minimum: int | None = None) -> int:
    value = _get(d, key, where)
    if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
        what = "a whole number" + ("" if minimum is None else f" >= {minimum}")
        raise _bad(where + key, what, value)
    return value


def _numbers(d: dict, key: str, where: str, n: int, kind: type, optional: bool = False,
             positive: bool = False) -> list | None:
    """A list of ``n`` ints (``kind=int``) or finite numbers (``kind=float``), or None if optional."""
    value = _get(d, key, where)
    if value is None and optional:
        return None
    ok = isinstance(value, list) and len(value) == n
    if ok:
        for v in value:
            if isinstance(v, bool) or not isinstance(v, (int, float) if kind is float else int):
                ok = False
            elif not math.isfinite(v) or (positive and v <= 0):
                ok = False
    if not ok:
        noun = "whole numbers" if kind is int else "numbers"
        what = f"a list of {n} {'positive ' if positive else ''}{noun}" + (" or null" if optional else "")
        raise _bad(where + key, what, value)
    return [kind(v) for v in value]


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


def _plain(value: Any, what: str) -> Any:
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
    """

    id: str
    path: str
    name: str
    shape: list[int]
    dtype: str
    voxel_size_nm: list[float] | None
    format: str
    added: str

    def to_dict(self) -> dict:
        return {"id": self.id, "path": self.path, "name": self.name, "shape": list(self.shape),
                "dtype": self.dtype, "voxel_size_nm": None if self.voxel_size_nm is None
                else list(self.voxel_size_nm), "format": self.format, "added": self.added}

    @classmethod
    def from_dict(cls, d: Any, where: str = "stack") -> "StackRecord":
        """Validate and build; InputError naming the field (prefixed by ``where``) if bad."""
        d = _dict(d, where)
        w = where + "."
        dtype = _str(d, "dtype", w)
        try:
            np.dtype(dtype)
        except TypeError:
            raise _bad(w + "dtype", "a numpy type name like 'uint8'", dtype) from None
        shape = _numbers(d, "shape", w, 3, int, positive=True)
        return cls(id=_str(d, "id", w), path=_str(d, "path", w), name=_str(d, "name", w),
                   shape=shape, dtype=dtype,
                   voxel_size_nm=_numbers(d, "voxel_size_nm", w, 3, float, optional=True, positive=True),
                   format=_str(d, "format", w), added=_time(d, "added", w))


@dataclass
class ResultRecord:
    """A finished result file made from one stack (failed jobs are not recorded).

    Attributes
    ----------
    id: short unique id, ``"r1"``, ``"r2"``, ...
    stack_id: id of the input :class:`StackRecord`.
    path: the output file, relative to the project folder, with ``/`` separators,
        always inside ``results/`` (e.g. ``"results/cells_bm3d_001.tif"``).
    kind: ``"filter"`` (a classical filter) or ``"model"`` (a network).
    method: the filter name or the model name.
    model_path: the model package used, as text, or None.
    model_sha256: sha256 of the model weights (64 lowercase hex digits), or None.
    parameters: JSON-able settings of the job (tile, stride, slices, dtype, device, ...).
    created: when the result was recorded, ISO 8601 text.
    slices: [start, stop): the input slices the result covers (0-based, stop exclusive).
    status: always ``"done"``.
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

    def to_dict(self) -> dict:
        return {"id": self.id, "stack_id": self.stack_id, "path": self.path, "kind": self.kind,
                "method": self.method, "model_path": self.model_path,
                "model_sha256": self.model_sha256, "parameters": self.parameters,
                "created": self.created, "slices": list(self.slices), "status": self.status}

    @classmethod
    def from_dict(cls, d: Any, where: str = "result") -> "ResultRecord":
        """Validate and build; InputError naming the field (prefixed by ``where``) if bad."""
        d = _dict(d, where)
        w = where + "."
        path = _str(d, "path", w)
        parts = path.split("/")
        if parts[0] != RESULTS_DIR or len(parts) < 2 or ".." in parts or "\\" in path:
            raise _bad(w + "path", f"a path inside the project's {RESULTS_DIR}/ folder, like "
                       f"'{RESULTS_DIR}/name.tif'", path)
        kind = _str(d, "kind", w)
        if kind not in RESULT_KINDS:
            raise _bad(w + "kind", " or ".join(f"'{k}'" for k in RESULT_KINDS), kind)
        sha = _str(d, "model_sha256", w, optional=True)
        if sha is not None and not _SHA256.fullmatch(sha):
            raise _bad(w + "model_sha256", "64 lowercase hex digits or null", sha)
        slices = _numbers(d, "slices", w, 2, int)
        if not 0 <= slices[0] < slices[1]:
            raise _bad(w + "slices", "[start, stop] with 0 <= start < stop", slices)
        status = _str(d, "status", w)
        if status != "done":
            raise _bad(w + "status", "'done'", status)
        params = _get(d, "parameters", w)
        _dict(params, w + "parameters")
        return cls(id=_str(d, "id", w), stack_id=_str(d, "stack_id", w), path=path, kind=kind,
                   method=_str(d, "method", w), model_path=_str(d, "model_path", w, optional=True),
                   model_sha256=sha, parameters=params, created=_time(d, "created", w),
                   slices=slices, status=status)


@dataclass
class ViewState:
    """Where the viewer was, so reopening a project shows the same picture.

    Attributes
    ----------
    stack_id: the shown stack's id, or None.
    result_id: the shown result's id, or None.
    slice_index: the shown slice (0-based).
    rect: the visible region [x, y, w, h] in pixels of the image (w, h > 0), or None for "fit".
    toggles: display switches, e.g. ``{"high_pass": False, "residual": False,
        "mode": "side-by-side"}``; values are bool, number, text or None.
    contrast: display range [lo, hi] in image intensity units (lo <= hi), or None for auto.
    viewer: anything else the viewer keeps (line and rectangle tools, ...), JSON values only.
    """

    stack_id: str | None = None
    result_id: str | None = None
    slice_index: int = 0
    rect: list[float] | None = None
    toggles: dict = field(default_factory=lambda: dict(DEFAULT_TOGGLES))
    contrast: list[float] | None = None
    viewer: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"stack_id": self.stack_id, "result_id": self.result_id,
                "slice_index": self.slice_index,
                "rect": None if self.rect is None else list(self.rect),
                "toggles": dict(self.toggles),
                "contrast": None if self.contrast is None else list(self.contrast),
                "viewer": _plain(self.viewer, "view.viewer")}

    @classmethod
    def from_dict(cls, d: Any, where: str = "view") -> "ViewState":
        """Validate and build; InputError naming the field (prefixed by ``where``) if bad."""
        d = _dict(d, where)
        w = where + "."
        rect = _numbers(d, "rect", w, 4, float, optional=True)
        if rect is not None and not (rect[2] > 0 and rect[3] > 0):
            raise _bad(w + "rect", "[x, y, w, h] with w > 0 and h > 0, or null", rect)
        contrast = _numbers(d, "contrast", w, 2, float, optional=True)
        if contrast is not None and contrast[0] > contrast[1]:
            raise _bad(w + "contrast", "[lo, hi] with lo <= hi, or null", contrast)
        toggles = _dict(_get(d, "toggles", w), w + "toggles")
        for key, value in toggles.items():
            if not isinstance(value, (bool, int, float, str, type(None))):
                raise _bad(f"{w}toggles.{key}", "true/false, a number or a text", value)
        return cls(stack_id=_str(d, "stack_id", w, optional=True),
                   result_id=_str(d, "result_id", w, optional=True),
                   slice_index=_int(d, "slice_index", w, minimum=0), rect=rect,
                   toggles=toggles, contrast=contrast,
                   viewer=_dict(d.get("viewer", {}), w + "viewer"))


# --- files -----------------------------------------------------------------------------

def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (resolving links; by inode when both exist)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _safe(text: str, fallback: str) -> str:
    """``text`` reduced to filename-safe characters [A-Za-z0-9._-], at most 60 of them."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", text)
    text = re.sub(r"_{2,}", "_", text).strip("._-")[:60].rstrip("._-")
    return text or fallback


def _next_id(prefix: str, ids: list[str]) -> str:
    numbers = [int(i[len(prefix):]) for i in ids if re.fullmatch(re.escape(prefix) + r"\d+", i)]
    return f"{prefix}{max(numbers, default=0) + 1}"


# --- the project -----------------------------------------------------------------------

@dataclass
class Project:
    """An EMDenoise project: a folder with ``project.json`` and ``results/``.

    Make one with :meth:`create` or :meth:`open`; change it with the ``add_*`` and
    ``remove_*`` methods and the ``view`` record; write it with :meth:`save`
    (nothing is written until then, except by :meth:`create`).

    Attributes
    ----------
    folder: the project folder, absolute.
    name: display name (default: the folder's name).
    stacks: input stacks, in the order they were added.
    results: result records, in the order they were made.
    view: the viewer state.
    version: the file format version (:data:`PROJECT_VERSION`).
    """

    folder: Path
    name: str
    stacks: list[StackRecord] = field(default_factory=list)
    results: list[ResultRecord] = field(default_factory=list)
    view: ViewState = field(default_factory=ViewState)
    version: int = PROJECT_VERSION

    # paths

    @property
    def file(self) -> Path:
        """The project's ``project.json``."""
        return self.folder / PROJECT_FILE

    @property
    def results_folder(self) -> Path:
        """The folder every result file is written to (``<folder>/results``)."""
        return self.folder / RESULTS_DIR

    # create / open / save

    @classmethod
    def create(cls, folder: str | Path, name: str | None = None) -> "Project":
        """Make a new project in ``folder`` (created if needed, with ``results/``) and save it.

        Raises InputError if ``folder`` is a file, already holds a ``project.json``,
        or cannot be created or written.
        """
        folder = Path(folder).expanduser().resolve()
        if folder.exists() and not folder.is_dir():
            raise InputError("is a file, not a folder; choose a folder for the new project", folder)
        if (folder / PROJECT_FILE).exists():
            raise InputError("already holds a project (project.json): open it instead, "
                             "or choose an empty folder", folder)
        try:
            (folder / RESULTS_DIR).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the project folder ({exc.strerror}); "
                             "choose a folder you can write to", folder) from exc
        project = cls(folder=folder, name=name or folder.name or "project")
        project.save()
        return project

    @classmethod
    def open(cls, folder_or_file: str | Path) -> "Project":
        """Read the project in a folder, given the folder or its ``project.json``.

        Stacks whose input file is gone are kept (see :meth:`missing_inputs`).
        Raises InputError for a missing path, a folder that is not a project,
        unreadable or invalid JSON, a file from a newer EMDenoise, or a missing or
        ill-typed field (the message names the field).
        """
        path = Path(folder_or_file).expanduser()
        if not path.exists():
            raise InputError("does not exist; check the name, or pick the project folder", path)
        if path.is_dir():
            file = path / PROJECT_FILE
            if not file.is_file():
                raise InputError("is not an EMDenoise project (no project.json inside); "
                                 "pick a project folder or create a new project", path)
        elif path.name == PROJECT_FILE:
            file = path
        else:
            raise InputError("is not a project file; pick the project folder or its project.json",
                             path)
        file = file.resolve()
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise InputError(f"cannot be read ({why}); check the file and its permissions",
                             file) from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InputError(f"is not valid JSON ({exc}); it is damaged: restore {BACKUP_FILE} "
                             "from the same folder (the previous save) by renaming it to "
                             f"{PROJECT_FILE}", file) from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT_TAG:
            raise InputError("is not an EMDenoise project file (another program's "
                             "project.json?); pick another folder", file)
        try:
            return cls.from_dict(data, file.parent)
        except InputError as exc:
            raise InputError(exc.problem, file) from exc

    def to_dict(self) -> dict:
        """The JSON content of ``project.json``."""
        return {"format": FORMAT_TAG, "version": self.version, "name": self.name,
                "stacks": [s.to_dict() for s in self.stacks],
                "results": [r.to_dict() for r in self.results],
                "view": self.view.to_dict()}

    @classmethod
    def from_dict(cls, data: dict, folder: str | Path) -> "Project":
        """Validate the content of ``project.json`` (a dict) for the project in ``folder``.

        InputError (without a path) names the first bad field.
        """
        version = _int(data, "version", "", minimum=1)
        if version > PROJECT_VERSION:
            raise InputError(f"was made by a newer EMDenoise (version {version}; this app reads "
                             f"up to {PROJECT_VERSION}); update the app to open it")
        stacks_raw, results_raw = _get(data, "stacks", ""), _get(data, "results", "")
        for key, value in (("stacks", stacks_raw), ("results", results_raw)):
            if not isinstance(value, list):
                raise _bad(key, "a list [...]", value)
        stacks = [StackRecord.from_dict(s, f"stacks[{i}]") for i, s in enumerate(stacks_raw)]
        results = [ResultRecord.from_dict(r, f"results[{i}]") for i, r in enumerate(results_raw)]
        for key, records in (("stacks", stacks), ("results", results)):
            seen = set()
            for i, rec in enumerate(records):
                if rec.id in seen:
                    raise _bad(f"{key}[{i}].id", "unique", rec.id)
                seen.add(rec.id)
        stack_ids = {s.id for s in stacks}
        for i, r in enumerate(results):
            if r.stack_id not in stack_ids:
                raise _bad(f"results[{i}].stack_id", "the id of one of the stacks", r.stack_id)
        view = ViewState.from_dict(_get(data, "view", ""), "view")
        # The view is only a convenience: a stale reference is dropped, not an error.
        if view.stack_id not in stack_ids:
            view.stack_id = None
        if view.result_id not in {r.id for r in results}:
            view.result_id = None
        return cls(folder=Path(folder), name=_str(data, "name", ""), stacks=stacks,
                   results=results, view=view, version=version)

    def save(self) -> None:
        """Write ``project.json`` atomically, keeping the previous one as ``project.json.bak``.

        Raises InputError if the folder is gone or not writable (nothing is changed then).
        """
        text = json.dumps(_plain(self.to_dict(), "the project"), indent=2, allow_nan=False) + "\n"
        if not self.folder.is_dir():
            raise InputError("the project folder no longer exists (moved, renamed or on a "
                             "disconnected drive?); reconnect it or save to a new project",
                             self.folder)
        try:
            atomic.write_text(self.file, text, backup=self.folder / BACKUP_FILE)
        except OSError as exc:
            raise InputError(f"cannot save the project ({exc.strerror or exc}); check that the "
                             "folder is writable and the disk is not full", self.folder) from exc

    # stacks

    def stack(self, stack_id: str) -> StackRecord:
        """The stack record with this id; KeyError if there is none."""
        for s in self.stacks:
            if s.id == stack_id:
                return s
        raise KeyError(f"no stack '{stack_id}' in project {self.name}")

    def add_stack(self, meta: StackMeta, name: str | None = None) -> StackRecord:
        """Record an input stack (from :func:`emdenoise_gui.core.io.open_stack`); return its record.

        The same file (same resolved path) added again returns the existing record.
        """
        path = Path(meta.path).expanduser().resolve()
        for s in self.stacks:
            if _same_file(Path(s.path), path):
                return s
        record = StackRecord(
            id=_next_id("s", [s.id for s in self.stacks]), path=str(path),
            name=name or path.name, shape=[int(n) for n in meta.shape],
            dtype=np.dtype(meta.dtype).name,
            voxel_size_nm=None if meta.voxel_size_nm is None
            else [float(v) for v in meta.voxel_size_nm],
            format=str(meta.format), added=_now())
        self.stacks.append(record)
        return record

    def remove_stack(self, stack_id: str) -> list[ResultRecord]:
        """Forget a stack and its result records; delete no file.

        Returns the removed result records, so the caller can offer to delete their
        files (see :meth:`absolute`). KeyError if there is no such stack.
        """
        record = self.stack(stack_id)
        removed = self.results_for(stack_id)
        self.stacks.remove(record)
        self.results = [r for r in self.results if r.stack_id != stack_id]
        if self.view.stack_id == stack_id:
            self.view.stack_id = None
        if self.view.result_id in {r.id for r in removed}:
            self.view.result_id = None
        return removed

    def missing_inputs(self) -> list[StackRecord]:
        """Stacks whose input file is no longer there (shown greyed out, never dropped)."""
        return [s for s in self.stacks if not Path(s.path).is_file()]

    # results

    def result(self, result_id: str) -> ResultRecord:
        """The result record with this id; KeyError if there is none."""
        for r in self.results:
            if r.id == result_id:
                return r
        raise KeyError(f"no result '{result_id}' in project {self.name}")

    def results_for(self, stack_id: str) -> list[ResultRecord]:
        """The result records made from one stack, oldest first."""
        return [r for r in self.results if r.stack_id == stack_id]

    def absolute(self, result: ResultRecord) -> Path:
        """The absolute path of a result's file."""
        return self.folder.joinpath(*result.path.split("/"))

    def _resolve(self, path: str | Path) -> Path:
        path = Path(path).expanduser()
        return (path if path.is_absolute() else self.folder / path).resolve()

    def is_inside(self, path: str | Path) -> bool:
        """Whether ``path`` (absolute, or relative to the project folder) lies inside
        the project's ``results/`` folder (the folder itself does not count)."""
        path, results = self._resolve(path), self.results_folder.resolve()
        return path != results and path.is_relative_to(results)

    def result_path(self, stack_id: str, label: str, suffix: str = ".tif") -> Path:
        """A fresh absolute path ``results/<stack name>_<label>_NNN<suffix>`` for a new result.

        ``label`` (e.g. a filter or model name) is reduced to filename-safe
        characters. NNN counts up from the highest number used so far for the same
        stack and label (on disk or in the records), so it never collides. Makes
        ``results/`` if it is missing. KeyError for an unknown stack.
        """
        stack = self.stack(stack_id)
        suffix = suffix if suffix.startswith(".") else "." + suffix
        if not re.fullmatch(r"(\.[A-Za-z0-9]+)+", suffix):
            raise InputError(f"'{suffix}' is not a file extension; use e.g. .tif or .mrc")
        stem = f"{_safe(Path(stack.name).stem, 'stack')}_{_safe(label, 'result')}"
        pattern = re.compile(re.escape(stem) + r"_(\d+)" + re.escape(suffix), re.IGNORECASE)
        folder = self.results_folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the results folder ({exc.strerror}); check that "
                             "the project folder is writable", folder) from exc
        names = [p.name for p in folder.iterdir()] + [r.path.split("/")[-1] for r in self.results]
        used = [int(m.group(1)) for m in map(pattern.fullmatch, names) if m]
        n = max(used, default=0) + 1
        while (path := folder / f"{stem}_{n:03d}{suffix}").exists():
            n += 1
        return path

    def add_result(self, stack_id: str, path: str | Path, kind: str, method: str, *,
                   parameters: dict | None = None, slices: tuple[int, int] | None = None,
                   model_path: str | Path | None = None,
                   model_sha256: str | None = None) -> ResultRecord:
        """Record a finished result file made from stack ``stack_id``; return its record.

        Parameters
        ----------
        path: the output file (absolute, or relative to the project folder); it must
            lie inside ``results/`` (use :meth:`result_path`) and must not be an input.
        kind: ``"filter"`` or ``"model"``.
        method: the filter or model name.
        parameters: JSON-able job settings (numpy scalars and paths are converted).
        slices: (start, stop) input slices covered, stop exclusive; default all of them.
        model_path, model_sha256: the model package and the sha256 (hex) of its weights.

        Raises InputError for a path outside ``results/``, a path that is an input
        stack or already recorded, a bad kind, slice range or sha256; KeyError for
        an unknown stack.
        """
        stack = self.stack(stack_id)
        resolved = self._resolve(path)
        if not self.is_inside(resolved):
            raise InputError(f"is outside the project's {RESULTS_DIR}/ folder; results must be "
                             f"written to {self.results_folder} (use result_path)", resolved)
        for s in self.stacks:
            if _same_file(Path(s.path), resolved):
                raise InputError(f"is the input stack '{s.name}'; EMDenoise never writes over "
                                 "an input: choose another output name", resolved)
        rel = resolved.relative_to(self.folder.resolve()).as_posix()
        for r in self.results:
            if r.path == rel:
                raise InputError(f"is already recorded as result {r.id}; use a fresh name from "
                                 "result_path", resolved)
        if kind not in RESULT_KINDS:
            raise InputError(f"unknown result kind '{kind}'; use 'filter' or 'model'")
        if not method:
            raise InputError("a result needs a method (the filter or model name)")
        start, stop = (0, stack.shape[0]) if slices is None else (int(slices[0]), int(slices[1]))
        if not 0 <= start < stop <= stack.shape[0]:
            raise InputError(f"slices [{start}, {stop}) are not within the stack's "
                             f"{stack.shape[0]} slices (0-based, stop exclusive)")
        if model_sha256 is not None:
            model_sha256 = model_sha256.lower()
            if not _SHA256.fullmatch(model_sha256):
                raise InputError(f"'{model_sha256}' is not a sha256 (64 hex digits)")
        params = _plain(dict(parameters or {}), "the result's parameters")
        record = ResultRecord(
            id=_next_id("r", [r.id for r in self.results]), stack_id=stack_id, path=rel,
            kind=kind, method=str(method),
            model_path=None if model_path is None else str(model_path),
            model_sha256=model_sha256, parameters=params, created=_now(), slices=[start, stop])
        self.results.append(record)
        return record
