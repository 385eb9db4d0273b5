"""Projects: a folder holding a versioned ``project.json`` and a ``results/`` folder.

A project records which input stacks the user opened (by absolute path: inputs
are never modified and never copied; and relative to the project folder, so a
project moved together with its data finds them: ``relocate``), which results were made from them
(files inside ``results/``, recorded relative to the project folder so the
folder can be moved, or in an output folder of the user's choice, recorded by
absolute path; names from ``naming``), and where the viewer was (slice, zoom,
mode, tools, contrast). A project whose folder cannot be written is continued
elsewhere with :meth:`Project.save_as`.

``project.json`` is saved atomically: written under a unique temporary name,
fsynced, then renamed over the old file, whose previous content is kept as
``project.json.bak``. Every problem a user can meet (a missing folder, broken
JSON, a file from a newer EMDenoise, a bad field) is an :class:`InputError`
that names the file or field and says what to do.

Recent projects are kept in ``recent.json`` in the user's config folder (or in
``$EMDENOISE_HOME`` when set); a damaged list reads as empty.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emdenoise_gui.core import atomic, leftovers
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io import StackMeta, image_stem, omezarr
from emdenoise_gui.project import merge, project_file, relocate
from emdenoise_gui.project.identity import ResultIndex, SameFiles, next_id
from emdenoise_gui.project.naming import (
    DEFAULT_PATTERN,
    check_suffix,
    fresh_path,
    render,
)
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
    file_size,
    get_field,
    int_field,
    now_iso,
    plain_json,
    sampled_digest,
    str_field,
    unknown_entries,
)

PROJECT_VERSION = 1
#: The top-level fields of project.json this app reads and writes.
TOP_KEYS = ("format", "version", "name", "stacks", "results", "view")
FOLDER_GONE = ("the project folder no longer exists (moved, renamed or on a disconnected drive?); reconnect it, "
               "open it where it is now, or save to a new project")


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
    extra: top-level fields of a later EMDenoise, written back as they were read.
    """

    folder: Path
    name: str
    stacks: list[StackRecord] = field(default_factory=list)
    results: list[ResultRecord] = field(default_factory=list)
    view: ViewState = field(default_factory=ViewState)
    version: int = PROJECT_VERSION
    extra: dict = field(default_factory=dict, repr=False, compare=False)
    #: project.json as this object last read or wrote it (None: not yet): another writer's change shows
    _disk_text: str | None = field(default=None, repr=False, compare=False)
    #: where the last :meth:`save` kept another writer's version before writing this one (None: it did not)
    other_kept: Path | None = field(default=None, repr=False, compare=False)
    #: how many stacks and results the other writer had added, taken in by that save (:mod:`.merge`)
    merged: int = field(default=0, repr=False, compare=False)
    #: stacks found at a new place when the project was read: [(the path recorded before, the record)]
    relocated: list[tuple[str, StackRecord]] = field(default_factory=list, repr=False, compare=False)

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
    def create(cls, folder: str | Path, name: str | None = None, fill=None) -> "Project":
        """Make a new project in ``folder`` (created if needed, with ``results/``) and save it (``fill``: a
        function that fills the new Project in before that save).

        Raises InputError if ``folder`` is a file, already holds a ``project.json``,
        or cannot be created or written.
        """
        folder = Path(folder).expanduser().resolve()
        if folder.exists() and not folder.is_dir():
            raise InputError("is a file, not a folder; choose a folder for the new project", folder)
        check_not_in_store(folder)
        if (folder / PROJECT_FILE).exists():
            raise InputError("already holds a project (project.json): open it instead, "
                             "or choose an empty folder", folder)
        if (folder / BACKUP_FILE).exists():  # a new project's first saves would replace the only copy left
            raise InputError(f"holds {BACKUP_FILE}, the backup of a project whose {PROJECT_FILE} is gone: rename "
                             f"it to {PROJECT_FILE} and open the project, or choose another folder", folder)
        made = [p for p in (folder / RESULTS_DIR, *(folder / RESULTS_DIR).parents) if not p.exists()]
        try:
            (folder / RESULTS_DIR).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _remove_empty(made)
            raise InputError(f"cannot create the project folder ({exc.strerror}); "
                             "choose a folder you can write to", folder) from exc
        project = cls(folder=folder, name=name or folder.name or "project")
        project._first_save(made, fill)
        return project

    def _first_save(self, made: list[Path], fill=None) -> None:
        """``fill(self)`` if given, then the first save, under the project's lock: of two creators at once the
        second is refused, where it wrote an empty project over the first one's recorded result (runs of
        ``denoise --project`` naming one new folder). When it fails (a full disk, that refusal) the folders in
        ``made`` (made for this project) go again while empty: a retry elsewhere leaves nothing behind."""
        try:
            with project_file.writing(self.folder):
                if self.file.exists():
                    raise InputError("already holds a project (project.json): open it instead, or choose an empty "
                                     "folder", self.folder)
                if fill is not None:
                    fill(self)
                self.save()
        except BaseException:
            _remove_empty(made)
            raise

    @classmethod
    def open(cls, folder_or_file: str | Path) -> "Project":
        """Read the project in a folder, given the folder or its ``project.json``.

        Stacks whose input file is gone are kept (see :meth:`missing_inputs`).
        Raises InputError for a missing path, a folder that is not a project,
        unreadable or invalid JSON, a file from a newer EMDenoise, or a missing or
        ill-typed field (the message names the field).
        """
        file, text, data = project_file.read(folder_or_file)
        try:
            project = cls.from_dict(data, file.parent)
        except InputError as exc:
            raise InputError(exc.problem, file) from exc
        project._disk_text = text
        return project

    def to_dict(self) -> dict:
        """The JSON content of ``project.json``."""
        return {**self.extra, "format": project_file.FORMAT_TAG, "version": self.version, "name": self.name,
                "stacks": [dict(s.to_dict(), relative=self._relative(s)) for s in self.stacks],
                "results": [r.to_dict() for r in self.results],
                "view": self.view.to_dict()}

    def _relative(self, record: StackRecord) -> str | None:
        """What project.json keeps as a stack's path from the project folder: computed from where the file is,
        or, while it is missing, the value read (the place it was last found relative to the project)."""
        if record.relative is not None and not Path(record.path).exists():
            return record.relative
        return relocate.relative_path(record.path, self.folder)

    @classmethod
    def from_dict(cls, data: dict, folder: str | Path) -> "Project":
        """Validate the content of ``project.json`` (a dict) for the project in ``folder``.

        InputError (without a path) names the first bad field. A stack whose file is gone but lies at
        its ``relative`` path from ``folder`` (the project moved with its data) is taken from there:
        see :attr:`relocated`.
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
        relocated = []
        for i, (record, raw) in enumerate(zip(stacks, stacks_raw, strict=True)):
            if not Path(record.path).is_absolute():  # edited by hand: the project's folder, not wherever the app
                record.path = str((Path(folder) / record.path).resolve())  # was started from (project audit)
            relative = str_field(raw, "relative", f"stacks[{i}].", optional=True) if "relative" in raw else None
            record.relative = relative
            if relative is None or Path(record.path).exists():
                continue
            candidate = relocate.from_relative(folder, relative)
            if relocate.found_at(record, candidate):
                relocated.append((record.path, record))
                record.path = str(candidate.resolve())
        return cls(folder=Path(folder), name=str_field(data, "name", ""), stacks=stacks,
                   results=results, view=view, version=version, relocated=relocated,
                   extra=unknown_entries(data, TOP_KEYS))

    def _json_text(self) -> str:
        """project.json's text for the project as it is now (JSON only: no NaN)."""
        return json.dumps(plain_json(self.to_dict(), "the project"), indent=2, allow_nan=False) + "\n"

    def save(self, wait_s: float | None = None, take_over: bool = False) -> None:
        """Write ``project.json`` atomically, keeping the previous one as ``project.json.bak``.

        Raises InputError if the folder is gone or not writable (nothing is changed then);
        ``project_file.ProjectBusy`` if another writer holds the project's lock for ``wait_s`` seconds
        (``project_file.LOCK_WAIT_S`` unless given); ``take_over``: that lock is taken (the user said its holder
        is gone).
        """
        text = self._json_text()
        if not self.folder.is_dir():
            raise InputError(FOLDER_GONE, self.folder)
        self.other_kept, self.merged = None, 0
        with project_file.writing(self.folder, wait_s, take_over):  # no other writer interleaved
            self._write(text)

    def _write(self, text: str) -> None:
        """:meth:`save`'s read of the file on disk, the merge of another writer's additions, and the write."""
        try:
            on_disk = self.file.read_text(encoding="utf-8-sig") if self.file.is_file() else None
        except (OSError, UnicodeDecodeError):
            on_disk = None
        if on_disk == text:  # nothing to write
            self._disk_text = text
            return
        try:
            if self._disk_text is not None and on_disk is not None and on_disk != self._disk_text \
                    and project_file.is_project_text(on_disk):
                # another EMDenoise window (or program) saved this project since: never lose its version
                if text == self._disk_text:
                    return  # nothing changed here: its version stands
                quiet = merge.only_additions(self._disk_text, on_disk)  # e.g. denoise --project: nothing lost
                self.merged = merge.take_additions(self, on_disk)
                text = self._json_text()
                if quiet:
                    atomic.write_text(self.file, text, backup=self.folder / BACKUP_FILE)
                    self._disk_text = text
                    return
                stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
                kept, n = self.folder / f"project.other-{stamp}.json", 2
                while kept.exists():  # two in the same second: each kept version has its own file
                    kept, n = self.folder / f"project.other-{stamp}-{n}.json", n + 1
                self.other_kept = kept
                atomic.write_text(self.other_kept, on_disk)
            atomic.write_text(self.file, text, backup=self.folder / BACKUP_FILE)
        except OSError as exc:
            raise InputError(f"cannot save the project ({exc.strerror or exc}); check that the "
                             "folder is writable and the disk is not full", self.folder) from exc
        self._disk_text = text

    def take_in_additions(self) -> int:
        """Take in the stacks and results another writer (``emdenoise denoise --project``, another window)
        added to project.json since this object last read or wrote it, when it changed nothing else; how many
        were taken in (0 also when it changed more: :meth:`save` then keeps its version beside ours)."""
        try:
            on_disk = self.file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            return 0
        if on_disk == self._disk_text or not merge.only_additions(self._disk_text, on_disk):
            return 0
        taken = merge.take_additions(self, on_disk)
        self._disk_text = on_disk  # what this object is now based on: its next save writes over it quietly
        return taken

    # stacks

    def stack(self, stack_id: str) -> StackRecord:
        """The stack record with this id; KeyError if there is none."""
        for s in self.stacks:
            if s.id == stack_id:
                return s
        raise KeyError(f"no stack '{stack_id}' in project {self.name}")

    def add_stack(self, meta: StackMeta, name: str | None = None) -> StackRecord:
        """Record an input stack (from :func:`emdenoise_gui.core.io.open_stack`); return its record.

        The same file (same resolved path, or a link to it) added again returns the existing record.
        """
        return self.add_stacks([meta], [name])[0]

    def add_stacks(self, metas: list[StackMeta], names: list[str | None] | None = None) -> list[StackRecord]:
        """:meth:`add_stack` for many stacks at once (each file's identity read once, not once per
        stack recorded); returns a record per meta, in order, an existing one for a file already here."""
        same = SameFiles([s.path for s in self.stacks])
        number = int(next_id("s", [s.id for s in self.stacks])[1:])
        records = []
        for meta, name in zip(metas, names or [None] * len(metas), strict=True):
            path = Path(meta.path).expanduser().resolve()
            found = same.find(path)
            if found is not None:
                records.append(self.stacks[found])
                continue
            size = file_size(path)
            record = StackRecord(
                id=f"s{number}", path=str(path),
                name=name or path.name, shape=[int(n) for n in meta.shape],
                dtype=np.dtype(meta.dtype).name,
                voxel_size_nm=None if meta.voxel_size_nm is None
                else [float(v) for v in meta.voxel_size_nm],
                format=str(meta.format), added=now_iso(), size_bytes=size,
                sampled_digest=sampled_digest(path, size))
            self.stacks.append(record)
            same.add(record.path)
            number += 1
            records.append(record)
        return records

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

    def locate_stack(self, stack_id: str, path: str | Path) -> list[StackRecord]:
        """Point a stack at its file's new place ``path`` (the user found it); return the records changed:
        this one first, then the other missing stacks of its old folder found under the same names beside
        ``path``. Raises InputError when ``path`` is not the same data (another shape or data type, or not
        a stack) or is already another stack of the project; KeyError if there is no such stack.
        """
        record = self.stack(stack_id)
        path = Path(path).expanduser().resolve()
        others = [s for s in self.stacks if s is not record]
        found = SameFiles([s.path for s in others]).find(path)
        if found is not None:
            raise InputError(f"is already the stack '{others[found].name}' in this project: pick the file "
                             f"'{Path(record.path).name}' was moved to", path)
        why = relocate.mismatch(record, path)
        if why is not None:
            raise InputError(why, path)
        old_folder = Path(record.path).parent
        record.path = str(path)
        changed, same = [record], SameFiles([s.path for s in self.stacks])
        for other, new in relocate.siblings_moved(others, old_folder, path.parent):
            new = new.resolve()
            if same.find(new) is None:
                other.path = str(new)
                same.add(other.path)
                changed.append(other)
        return changed

    def missing_inputs(self) -> list[StackRecord]:
        """Stacks whose input file is no longer there (shown greyed out, never dropped)."""
        return [s for s in self.stacks if not Path(s.path).exists()]  # a file, or an OME-Zarr store folder

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

    def results_by_stack(self) -> dict[str, list[ResultRecord]]:
        """Every stack's result records (by stack id, oldest first), in one pass over the results."""
        grouped: dict[str, list[ResultRecord]] = {}
        for r in self.results:
            grouped.setdefault(r.stack_id, []).append(r)
        return grouped

    def absolute(self, result: ResultRecord) -> Path:
        """The absolute path of a result's file (inside ``results/``, or wherever it was written)."""
        if result.outside:
            return Path(result.path)
        return self.folder.joinpath(*result.path.split("/"))

    def _resolve(self, path: str | Path) -> Path:
        path = Path(path).expanduser()
        return (path if path.is_absolute() else self.folder / path).resolve()

    def is_inside(self, path: str | Path) -> bool:
        """Whether ``path`` (absolute, or relative to the project folder) lies inside
        the project's ``results/`` folder (the folder itself does not count). Nothing does when ``results``
        is a link to a folder elsewhere: a project received with ``results`` linked to another folder had
        its files there deleted as results, and new results written there were an internal error."""
        path, results = self._resolve(path), self.results_folder.resolve()
        if results.parent != self.folder.resolve():
            return False
        return path != results and path.is_relative_to(results)

    def result_path(self, stack_id: str, method: str, suffix: str = ".tif", folder: str | Path | None = None,
                    pattern: str = DEFAULT_PATTERN, exclude=(), reservations=None) -> Path:
        """A fresh absolute path for a new result of stack ``stack_id`` made by ``method``.

        The name is ``pattern`` filled in (``project.naming``: ``{stem}``, ``{method}``, ``{date}``),
        then ``suffix`` (".tif", ".mrc", ...); ``_2``, ``_3``, ... is added when a file of that name
        exists, a recorded result used it or a run is writing it (``leftovers.being_written``), so nothing
        is overwritten. ``folder``: where the
        result goes (default, and when empty: the project's ``results/``, made if missing; another
        folder must exist). ``exclude``: paths handed out already and not written yet (a batch).
        ``reservations`` (``leftovers.Reservations``): its paths count as handed out, each new name is claimed
        there, on disk, and one another run claimed at the same moment is passed over.
        InputError for a bad pattern, suffix or folder; KeyError for an unknown stack.
        """
        return self.result_paths([(stack_id, suffix)], method, folder, pattern, exclude, reservations)[0]

    def result_paths(self, items, method: str, folder: str | Path | None = None, pattern: str = DEFAULT_PATTERN,
                     exclude=(), reservations=None) -> list[Path]:
        """:meth:`result_path` for a batch: ``items`` are (stack id, suffix) pairs, each given a fresh path
        distinct from the others; the recorded results and ``exclude`` are looked at once (per stack, the
        batch of N stacks cost N^2 path resolutions on the GUI thread: 6 s for 400)."""
        target = self._results_target(folder)
        resolved = target.resolve()
        handed = [*exclude, *(reservations or ())]  # a reservation's paths are handed out already
        taken = {p.name for p in [*map(self.absolute, self.results), *map(Path, handed)]
                 if p.parent.resolve() == resolved} | leftovers.being_written(target)
        paths = []
        for stack_id, suffix in items:
            name = render(pattern, image_stem(self.stack(stack_id).name), method)
            while True:
                path = fresh_path(target.absolute(), name, check_suffix(suffix), taken)
                taken.add(path.name)
                if reservations is None or reservations.claim(path):
                    break
            paths.append(path)
        return paths

    def _results_target(self, folder: str | Path | None) -> Path:
        """The folder results go to: ``folder``, or the project's ``results/`` (made if missing) for None or
        ""; InputError where it cannot be used."""
        if folder not in (None, ""):
            target = Path(folder).expanduser()
            if target.exists() and not target.is_dir():
                raise InputError("the output folder is a file, not a folder; choose another output folder in "
                                 "Settings", target)
            if not target.is_dir():
                raise InputError("the output folder does not exist (moved, or a disconnected drive?); "
                                 "choose another output folder in Settings", target)
            return target
        if not self.folder.is_dir():  # made again here, it split the project in two (the renamed one got nothing)
            raise InputError(FOLDER_GONE, self.folder)
        try:
            self.results_folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the results folder ({exc.strerror}); check that "
                             "the project folder is writable", self.results_folder) from exc
        return self.results_folder

    def result_index(self) -> ResultIndex:
        """What :meth:`add_result` checks a new result against, built once for a batch of them."""
        paths: dict[str, str] = {}
        for r in self.results:
            paths.setdefault(r.path, r.id)
            paths.setdefault(str(self.absolute(r).resolve()), r.id)
        return ResultIndex(SameFiles([s.path for s in self.stacks]), paths)

    def add_result(self, stack_id: str, path: str | Path, kind: str, method: str, *,
                   parameters: dict | None = None, slices: tuple[int, int] | None = None,
                   model_path: str | Path | None = None,
                   model_sha256: str | None = None, index: ResultIndex | None = None) -> ResultRecord:
        """Record a finished result file made from stack ``stack_id``; return its record.

        Parameters
        ----------
        path: the output file (absolute, or relative to the project folder), from
            :meth:`result_path`. One inside ``results/`` is recorded relative to the project
            folder (it moves with the folder); one elsewhere (an output folder chosen in
            Settings) is recorded by its absolute path. It must not be an input.
        kind: ``"filter"`` or ``"model"``.
        method: the filter or model name.
        parameters: JSON-able job settings (numpy scalars and paths are converted).
        slices: (start, stop) input slices covered, stop exclusive; default all of them.
        model_path, model_sha256: the model package and the sha256 (hex) of its weights.
        index: :meth:`result_index`, made once for a batch of results and kept up to date here (each
            result checked against every stack and result by itself made recording N results N^2 work).

        Raises InputError for a folder, a path that is an input stack or already recorded,
        a bad kind, slice range or sha256; KeyError for an unknown stack.
        """
        stack = self.stack(stack_id)
        resolved = self._resolve(path)
        if (resolved.is_dir() and not omezarr.is_store(resolved)) or resolved == self.results_folder.resolve():
            raise InputError("is a folder; a result is a file or an OME-Zarr store (use result_path for a name)",
                             resolved)
        index = index or self.result_index()
        found = index.stacks.find(resolved)
        if found is not None:
            raise InputError(f"is the input stack '{self.stacks[found].name}'; EMDenoise never writes over "
                             "an input: choose another output name", resolved)
        rel = (resolved.relative_to(self.folder.resolve()).as_posix() if self.is_inside(resolved)
               else str(resolved))
        clash = index.paths.get(rel) or index.paths.get(str(resolved))
        if clash is not None:
            raise InputError(f"is already a result of this project ({clash}): another job wrote this file; "
                             "denoise again to get a result of its own", resolved)
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
            id=next_id("r", [r.id for r in self.results]), stack_id=stack_id, path=rel,
            kind=kind, method=str(method),
            model_path=None if model_path is None else str(model_path),
            model_sha256=model_sha256, parameters=params, created=now_iso(), slices=[start, stop])
        self.results.append(record)
        index.paths.setdefault(rel, record.id)
        index.paths.setdefault(str(resolved), record.id)
        return record

    def remove_result(self, result_id: str) -> ResultRecord:
        """Forget a result record (its file is the caller's to delete, after asking); return it.

        KeyError if there is no such result.
        """
        record = self.result(result_id)
        self.results.remove(record)
        if self.view.result_id == result_id:
            self.view.result_id = None
        return record

    def save_as(self, folder: str | Path) -> "Project":
        """This project's record copied into a new project folder ``folder``, saved there; return it.

        Stacks, views and the name are kept; results stay where their files are (those in this
        project's ``results/`` are recorded by absolute path), and new results go to the new
        folder's ``results/``. For a project whose folder cannot be written (read-only media,
        a colleague's share). Raises InputError as :meth:`create` does; nothing is written here.
        """
        def fill(target: Project) -> None:
            target.stacks = [StackRecord.from_dict(s.to_dict(), "stack") for s in self.stacks]
            target.results = [ResultRecord.from_dict(dict(r.to_dict(), path=str(self.absolute(r))), "result")
                              for r in self.results]
            target.view = ViewState.from_dict(self.view.to_dict(), "view")
            target.extra = dict(self.extra)

        return Project.create(folder, name=self.name, fill=fill)


def check_not_in_store(folder: Path) -> None:
    """InputError when ``folder`` (absolute) is, or is inside, a zarr store (an OME-Zarr image): a project made
    there put its files into the image, and a later ``--overwrite`` of the image deleted them (paths audit)."""
    store = next((f for f in (folder, *folder.parents) if omezarr.is_store(f)), None)
    if store is not None:  # (a plain folder named .zarr is no image: review)
        raise InputError(f"{'is' if store == folder else 'is inside'} the OME-Zarr store {store.name}, an image: "
                         "choose a folder outside it for the project", folder)


def _remove_empty(folders: list[Path]) -> None:
    """Remove each of ``folders`` (deepest first) while it is empty: those made for a project that failed."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()
