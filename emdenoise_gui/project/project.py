"""Projects: a folder holding a versioned ``project.json`` and a ``results/`` folder.

A project records which input stacks the user opened (by absolute path: inputs
are never modified and never copied), which results were made from them
(files inside ``results/``, recorded relative to the project folder so the
folder can be moved), and where the viewer was (slice, zoom, mode, tools, contrast).

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
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emdenoise_gui.core import atomic
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io import StackMeta
from emdenoise_gui.project.records import (
    BACKUP_FILE,
    PROJECT_FILE,
    RESULT_KINDS,
    RESULTS_DIR,
    SHA256_HEX,
    ResultRecord,
    StackRecord,
    ViewState,
    bad_field,
    get_field,
    int_field,
    now_iso,
    plain_json,
    str_field,
)

PROJECT_VERSION = 1
#: Marks a JSON file as ours, so another tool's project.json is not taken for a project.
FORMAT_TAG = "emdenoise-project"


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
        version = int_field(data, "version", "", minimum=1)
        if version > PROJECT_VERSION:
            raise InputError(f"was made by a newer EMDenoise (version {version}; this app reads "
                             f"up to {PROJECT_VERSION}); update the app to open it")
        stacks_raw, results_raw = get_field(data, "stacks", ""), get_field(data, "results", "")
        for key, value in (("stacks", stacks_raw), ("results", results_raw)):
            if not isinstance(value, list):
                raise bad_field(key, "a list [...]", value)
        stacks = [StackRecord.from_dict(s, f"stacks[{i}]") for i, s in enumerate(stacks_raw)]
        results = [ResultRecord.from_dict(r, f"results[{i}]") for i, r in enumerate(results_raw)]
        for key, records in (("stacks", stacks), ("results", results)):
            seen = set()
            for i, rec in enumerate(records):
                if rec.id in seen:
                    raise bad_field(f"{key}[{i}].id", "unique", rec.id)
                seen.add(rec.id)
        stack_ids = {s.id for s in stacks}
        for i, r in enumerate(results):
            if r.stack_id not in stack_ids:
                raise bad_field(f"results[{i}].stack_id", "the id of one of the stacks", r.stack_id)
        view = ViewState.from_dict(get_field(data, "view", ""), "view")
        # The view is only a convenience: a stale reference is dropped, not an error.
        if view.stack_id not in stack_ids:
            view.stack_id = None
        if view.result_id not in {r.id for r in results}:
            view.result_id = None
        return cls(folder=Path(folder), name=str_field(data, "name", ""), stacks=stacks,
                   results=results, view=view, version=version)

    def save(self) -> None:
        """Write ``project.json`` atomically, keeping the previous one as ``project.json.bak``.

        Raises InputError if the folder is gone or not writable (nothing is changed then).
        """
        text = json.dumps(plain_json(self.to_dict(), "the project"), indent=2, allow_nan=False) + "\n"
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
            format=str(meta.format), added=now_iso())
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
            if not SHA256_HEX.fullmatch(model_sha256):
                raise InputError(f"'{model_sha256}' is not a sha256 (64 hex digits)")
        params = plain_json(dict(parameters or {}), "the result's parameters")
        record = ResultRecord(
            id=_next_id("r", [r.id for r in self.results]), stack_id=stack_id, path=rel,
            kind=kind, method=str(method),
            model_path=None if model_path is None else str(model_path),
            model_sha256=model_sha256, parameters=params, created=now_iso(), slices=[start, stop])
        self.results.append(record)
        return record
