"""What the app does, behind the main window: the open project, stacks, results and jobs.

The window calls these methods and listens to the signals; nothing here draws.
Every user-facing failure becomes ``warning(title, text)``, never an exception; a project
that cannot be saved says so once (``save_failed``), not at every click. Nothing slow runs
on the GUI thread: stack thumbnails are read in the background (``thumbnails``), and the
jobs (``jobs.denoise``, ``jobs.train``, which load the filters and torch) are imported when
the first one starts.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from PySide6 import QtCore, QtGui

from emdenoise_gui.core import leftovers
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.events import Message, PartialResult, Written
from emdenoise_gui.core.io import omezarr, open_stack
from emdenoise_gui.gui.drops import STORE_FILES, not_added, screen, unsearched_folders
from emdenoise_gui.gui.job_queue import JobQueue
from emdenoise_gui.gui.project_saving import CLOSE_WAIT_S, ProjectSaving
from emdenoise_gui.gui.project_watch import ProjectWatch
from emdenoise_gui.gui.result_recording import ResultRecording, folder_key
from emdenoise_gui.gui.settings import AppSettings
from emdenoise_gui.gui.stack_files import file_signature, read_bytes_state, read_state
from emdenoise_gui.gui.thumbnails import Thumbnails
from emdenoise_gui.gui.workers import Job
from emdenoise_gui.project.identity import restore
from emdenoise_gui.project.project import Project
from emdenoise_gui.project.recent import remember_project
from emdenoise_gui.project.relocate import describe_header


class _AddStacks(QtGui.QUndoCommand):
    """Undo forgets the stacks and the results made from them since (no file is deleted); redo brings
    back both (it once brought back the stacks alone, their results' records lost)."""

    def __init__(self, controller, records):
        super().__init__(f"Add {len(records)} stack(s)")
        self.controller, self.records, self.results = controller, records, []

    def redo(self):
        self.records, self.results = self.controller._restore_stacks(self.records, self.results)

    def undo(self):
        self.results = [r for record in self.records for r in self.controller._drop_stack(record.id)]


class _RemoveStack(QtGui.QUndoCommand):
    def __init__(self, controller, record, results):
        super().__init__(f"Remove {record.name}")
        self.controller, self.record, self.results = controller, record, results

    def redo(self):
        self.controller._drop_stack(self.record.id)

    def undo(self):
        ([self.record], self.results) = self.controller._restore_stacks([self.record], self.results)


#: Adding at least this many files says so in the status bar while their headers are read.
HEADERS_SAID = 50
#: How long adding files waits for their headers (s); the files not read by then are reported.
HEADER_WAIT_S = 120.0
#: missing stacks named in the "Missing input files" box (the rest counted)
MISSING_LISTED = 12
#: What to do about a stack whose file is gone, in the app's words.
LOCATE_HINT = "Right-click a stack ▸ Locate File… to point to its new place."


class Controller(QtCore.QObject, ResultRecording, ProjectSaving):
    """Holds the project and the jobs.

    Signals: ``project_changed()``, ``show_stack(str)``, ``show_result(str)``,
    ``preview_ready(str, int, object, object)`` (stack id, slice, (Y, X) array, denoiser), ``preview_partial``
    (the same, the part on screen only, NaN elsewhere), ``warning(str, str)``,
    ``job_failed(str, object)`` (title, ``workers.JobFailure``), ``job_added(object)``, ``status(str)``,
    ``save_failed(str)`` (why; once per project until a save works again), ``thumbnail_changed(str)``
    (a stack id whose ``thumbnails`` entry, a (h, w) float32 array, arrived).
    Every job starts through ``queue`` (a ``job_queue.JobQueue``).
    """

    project_changed = QtCore.Signal()
    show_stack = QtCore.Signal(str)
    show_result = QtCore.Signal(str)
    preview_ready = QtCore.Signal(str, int, object, object)
    preview_partial = QtCore.Signal(str, int, object, object)
    warning = QtCore.Signal(str, str)
    job_failed = QtCore.Signal(str, object)
    job_added = QtCore.Signal(object)
    job_removed = QtCore.Signal(object)  # an old ended job let go by the queue (``job_queue.KEPT_ENDED``)
    status = QtCore.Signal(str)
    save_failed = QtCore.Signal(str)
    thumbnail_changed = QtCore.Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.project: Project | None = None
        self.settings_reset: list[str] = []  # stored settings the app could not use (said at start by ``app``)
        self.settings = AppSettings.load(self.settings_reset)
        self.undo_stack = QtGui.QUndoStack(self)
        # outputs of denoise jobs not yet recorded: no other job, window or CLI run gets their names
        self._reserved = leftovers.Reservations()
        self.queue = JobQueue(self)
        self.queue.job_added.connect(self.job_added)
        self.queue.job_removed.connect(self.job_removed)
        self._stacks: dict[str, tuple] = {}  # path -> (open Stack, the file's signature when opened)
        self._verified: dict[str, tuple] = {}  # path -> the file's signature when its record was last checked
        self.thumbnails: dict[str, object] = {}  # stack id -> small (h, w) middle slice
        self.thumbnail_maker = Thumbnails(self)
        self.thumbnail_maker.ready.connect(self._thumbnail_arrived)
        self._start_project_saving()
        #: the folders of the projects the open one carries on (Save Project As): a job started there records here
        self._continues: set[Path] = set()
        self.project_watch = ProjectWatch(self)

    # -- projects ----------------------------------------------------------------------------------
    def new_project(self, folder: str | Path, remember: bool = True) -> bool:
        """Make a project in ``folder`` and open it; ``remember`` False keeps it off the recent list (a scratch
        project, e.g. a screenshot's)."""
        return self._set_project(lambda: Project.create(Path(folder)), remember)

    def open_project(self, folder: str | Path) -> bool:
        return self._set_project(lambda: Project.open(Path(folder)))

    def _set_project(self, make, remember: bool = True) -> bool:
        try:
            project = make()
        except InputError as exc:
            self.warning.emit("Cannot open project", str(exc))
            return False
        self.close_project()
        self.project = project
        if remember:
            remember_project(project.folder)
        self.undo_stack.clear()
        missing = project.missing_inputs()
        gone = {r.id for r in missing}
        for record in project.stacks:
            if record.id not in gone:
                self.thumbnail_maker.request(record.id, record.path)
        if missing:
            names = "\n".join(f"• {r.path}" for r in missing[:MISSING_LISTED])
            if len(missing) > MISSING_LISTED:  # the box must fit the screen: 300 lines hid its OK button
                names += f"\n… and {len(missing) - MISSING_LISTED} more (greyed out in the project panel)"
            self.warning.emit("Missing input files", f"These stacks were moved or deleted; they are shown greyed "
                                                     f"out until the files are back:\n{names}\n\n{LOCATE_HINT}")
        if project.relocated:
            names = ", ".join(record.name for _, record in project.relocated)
            self.status.emit(f"Found at their new place beside the project (it was moved with its data): {names}")
        self.project_changed.emit()
        return True

    def close_project(self) -> None:
        self.save(wait_s=CLOSE_WAIT_S, closing=True)  # another writer's lock still held then: take it? (asked)
        for stack, _ in self._stacks.values():
            stack.close()
        self._stacks, self._verified = {}, {}
        self.thumbnails = {}
        self.project = None
        self._save_warned = False
        self._continues = set()

    def save_project_as(self, folder: str | Path) -> bool:
        """Go on with the project in a new ``folder`` (``Project.save_as``): its record is copied
        there, results stay where they are, new results go to the new folder."""
        if self.project is None:
            return False
        try:
            project = self.project.save_as(folder)
        except InputError as exc:
            self.warning.emit("Cannot save the project there", str(exc))
            return False
        self._continues.add(folder_key(self.project.folder))
        self.project, self._save_warned = project, False
        remember_project(project.folder)
        self.undo_stack.clear()  # its commands hold the old folder's result records
        self.project_changed.emit()
        self.status.emit(f"The project continues in {project.folder}")
        return True

    def stack_data(self, path: str | Path):
        """An open lazy Stack for ``path``, kept open while the project is and opened again when the file
        was replaced meanwhile (its size or time changed: a reader holds the old header). InputError
        when it cannot be read."""
        key, signature = str(path), file_signature(path)
        held = self._stacks.get(key)
        if held is None or held[1] != signature:
            if held is not None:
                held[0].close()
                del self._stacks[key]
            self._stacks[key] = (open_stack(path), signature)
        return self._stacks[key][0]

    def unchanged_stack(self, record):
        """The open Stack of ``record`` (:meth:`stack_data`); InputError when the file is no longer the stack
        that was added (another shape or type: a file replaced under the same name), whose results would be
        recorded wrongly."""
        stack = self.stack_data(record.path)
        self._confirm(record, stack.meta, self._stacks[str(record.path)][1])  # stack_data's signature: no stat
        return stack

    def unchanged_stacks(self, records) -> None:
        """:meth:`unchanged_stack`'s check of each of ``records``, their headers and sampled bytes read on a thread
        while the window keeps drawing (``stack_files``); InputError for the first that changed or cannot be
        read, or when the files have not been read within HEADER_WAIT_S."""
        from emdenoise_gui.gui.lifetime import run_drawing

        if len(records) == 1:
            self.unchanged_stack(records[0])
            return
        checked = {r.path: self._verified.get(r.path) for r in records}
        states: list = []
        if len(records) >= HEADERS_SAID:
            self.status.emit(f"Reading {len(records)} stacks' headers…")
        try:
            run_drawing(lambda: states.extend(read_state(r.path, checked[r.path]) for r in records), HEADER_WAIT_S)
        except TimeoutError:
            late = records[len(states)] if len(states) < len(records) else records[-1]
            raise InputError(f"only {len(states)} of the {len(records)} stacks' files were read within "
                             f"{HEADER_WAIT_S:g} s (a slow or disconnected drive?): try again once the drive "
                             "answers", late.path) from None
        for record, (meta, signature, read_bytes) in zip(records, states):
            self._confirm(record, meta, signature, read_bytes)

    def _confirm(self, record, meta, signature: tuple, read_bytes: tuple | None = None) -> None:
        """InputError when the stack's header ``meta`` is no longer ``record``'s shape and type; once its file's
        ``signature`` changed, :meth:`_same_bytes` with ``read_bytes`` ((size, digest), read now when None)."""
        now, then = (list(meta.shape), str(meta.dtype)), (list(record.shape), record.dtype)
        if now != then:
            was, now_is = (describe_header(*v) for v in (then, now))
            raise InputError(f"changed on disk since it was added (was {was}, now {now_is}): remove it from the "
                             "project and add it again", record.path)
        if self._verified.get(record.path) != signature:  # the bytes are read again only once the file changed
            self._verified[record.path] = signature
            self._same_bytes(record, *(read_bytes or read_bytes_state(record.path)))

    def _same_bytes(self, record, size: int | None, digest: str | None) -> None:
        """Say once when ``record``'s file was rewritten with the same shape and type (other pixels, or other
        metadata), told by its ``size`` or its sampled bytes' ``digest`` (records.sampled_digest), then take it
        as it is now; its old results shown beside the new pixels were taken for its own without a word."""
        changed = [what for what, then, now in (("size", record.size_bytes, size),
                                                ("contents", record.sampled_digest, digest))
                   if then is not None and now is not None and now != then]
        if not changed:
            return
        made = len([r for r in self.project.results if r.stack_id == record.id]) if self.project else 0
        record.size_bytes, record.sampled_digest = size, digest
        before = f"; the {made} result(s) made from it before may be of other pixels" if made else ""
        self.warning.emit("Stack changed on disk", f"{record.path} was written again since it was added to "
                          f"the project (its {changed[0]} changed){before}. It is shown as it is now.")
        self.save()

    # -- stacks ---------------------------------------------------------------------------------------
    def add_paths(self, paths: list[str | Path]) -> tuple[list, list[tuple[Path, str]]]:
        """Add files and folders to the project; returns (added records, [(file, why rejected)]).

        Bad files never stop good ones; the rejected list is shown to the user in one message.
        """
        if self.project is None:
            self.warning.emit("No project", "Create or open a project first (File ▸ New Project).")
            return [], []
        notes, metas = [], []
        given = [Path(p) for p in paths]
        readable, rejected = screen(given)
        project = self.project
        for path, meta in self._read_headers(readable):
            if isinstance(meta, str):
                rejected.append((path, meta))
                continue
            if meta.extra.get("note"):  # e.g. which image series of a TIFF was read: never drop data silently
                notes.append(f"{path.name}: {meta.extra['note']}")
            metas.append(meta)
        if self.project is not project:  # closed while the headers were read (a quit signal): add nothing
            return [], []
        before = {r.id for r in self.project.stacks}
        added, present = [], []
        for record in self.project.add_stacks(metas):
            if record.id not in before and all(record.id != a.id for a in added):
                added.append(record)
            elif record.id in before and all(record.id != a.id for a in present):
                present.append(record)  # the same file (by any path or link) is in the project already
            if record.id not in self.thumbnails:
                self.thumbnail_maker.request(record.id, record.path)
        if added:
            self.undo_stack.push(_AddStacks(self, added))  # redo() saves and refreshes
            self.show_stack.emit(added[0].id)
        if present:
            names = ", ".join(r.name for r in present[:3]) + (f" and {len(present) - 3} more" if len(present) > 3 else "")
            notes.insert(0, f"{names} {'is' if len(present) == 1 else 'are'} in the project already")
            if not added:
                self.show_stack.emit(present[0].id)
        skipped = unsearched_folders(given)
        if skipped and added:  # said in the rejected list when nothing was found at all
            notes.append(f"sub-folders not searched: {', '.join(p.name for p in skipped[:3])}"
                         + (f" and {len(skipped) - 3} more" if len(skipped) > 3 else "") + ": add them too")
        if notes:
            self.status.emit("; ".join(notes))
        if rejected:
            self.warning.emit(*not_added(rejected, bool(added)))
        return added, rejected

    def _read_headers(self, paths: list[Path]) -> list[tuple[Path, object]]:
        """(path, its ``StackMeta`` or why it cannot be added) for each of ``paths``, read on a thread while
        the window keeps drawing (400 headers took 1.6 s on the GUI thread; a slow network drive far more).
        A file whose header has not come within :data:`HEADER_WAIT_S` is reported, not waited for."""
        from emdenoise_gui.gui.lifetime import run_drawing

        read: list[tuple[Path, object]] = []

        def work() -> None:
            for path in paths:
                try:
                    with open_stack(path) as stack:  # the header only: the pixels are read in the background
                        read.append((path, stack.meta))
                except InputError as exc:
                    read.append((path, exc.problem))

        if len(paths) >= HEADERS_SAID:
            self.status.emit(f"Reading {len(paths)} files…")
        try:
            run_drawing(work, HEADER_WAIT_S)
        except TimeoutError:
            done = list(read)
            late = [(path, f"its header was not read within {HEADER_WAIT_S:g} s (a slow or disconnected "
                           "drive?); add it again once the drive answers") for path in paths[len(done):]]
            return done + late
        return read

    def _thumbnail_arrived(self, stack_id: str, path: str, image) -> None:
        record = self.find_stack(stack_id)
        if record is None or record.path != path:  # another project, or the stack was removed
            return
        self.thumbnails[stack_id] = image
        self.thumbnail_changed.emit(stack_id)

    def find_stack(self, stack_id: str):
        """The project's stack record with this id, or None."""
        try:
            return self.project.stack(stack_id) if self.project else None
        except KeyError:
            return None

    def find_result(self, result_id: str):
        """The project's result record with this id, or None."""
        try:
            return self.project.result(result_id) if self.project else None
        except KeyError:
            return None

    def remove_stack(self, stack_id: str) -> None:
        record = self.find_stack(stack_id)
        if record is None:
            return
        results = self.project.results_for(stack_id)
        self.undo_stack.push(_RemoveStack(self, record, results))

    def locate_stack(self, stack_id: str, path: str | Path) -> bool:
        """Point a missing stack at the file ``path`` the user picked (``Project.locate_stack``: the same shape and
        data type, and the stack's old neighbours found beside it too); say what was found, or why not."""
        record = self.find_stack(stack_id)
        if record is None:
            return False
        path = Path(path)
        if path.name in STORE_FILES and omezarr.is_store(path.parent):  # picked inside the store: the store
            path = path.parent
        try:
            changed = self.project.locate_stack(stack_id, path)
        except InputError as exc:
            self.warning.emit("Not the same stack", str(exc))
            return False
        for found in changed:
            self.thumbnail_maker.request(found.id, found.path)
        self._changed()
        others = f", and {len(changed) - 1} more of its folder's stacks beside it" if len(changed) > 1 else ""
        self.status.emit(f"{record.name} is read from {record.path} now{others}")
        return True

    def delete_result(self, result_id: str) -> bool:
        """Delete a result's file and forget its record (the window asks the user first).

        A file that cannot be deleted keeps its record and says why; a file already gone only
        loses its record.
        """
        result = self.find_result(result_id)
        if result is None:
            return False
        path = self.project.absolute(result)
        kept = self.kept_file_reason(result)
        if kept:  # the record goes; the file stays where it is, and the user is told why
            self.project.remove_result(result_id)
            self._changed()
            self.warning.emit("Result removed, file kept", f"{path} {kept}: it was left in place.")
            return True
        held = self._stacks.pop(str(path), None)
        if held is not None:  # the viewer's reader of it: closed so the file can go (Windows)
            held[0].close()
        try:
            if path.is_dir() and omezarr.is_store(path):  # an OME-Zarr result is a folder the app wrote
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        except OSError as exc:
            self.warning.emit("Cannot delete the result", f"{path}: {exc.strerror or exc}; it stays in the project.")
            return False
        self.project.remove_result(result_id)
        self._changed()
        self.status.emit(f"Deleted {path.name}")
        return True

    def kept_file_reason(self, result) -> str:
        """Why the file of ``result`` must not be deleted with it ("" when it may): a file outside this project's
        results folder (written to another output folder, another project's after Save As, or a path edited into
        project.json) or one that is also a stack of this project is not only this result's."""
        path = self.project.absolute(result)
        if not self.project.is_inside(path):
            return "lies outside this project's results folder (another folder's or another project's file)"
        for stack in self.project.stacks:
            try:
                if Path(stack.path).exists() and path.exists() and os.path.samefile(stack.path, path):
                    return f"is also the stack {stack.name} of this project"
            except OSError:
                continue
        return ""

    def _drop_stack(self, stack_id: str) -> list:
        """Forget a stack and its results' records; returns those records (``ResultRecord``)."""
        removed = self.project.remove_stack(stack_id)
        self._changed()
        return removed

    def _restore_stacks(self, records, results) -> tuple[list, list]:
        """Bring back stack ``records`` and their ``results`` (``project.identity.restore``: ids handed out again
        since get fresh ones); returns them as restored."""
        restored = restore(self.project, records, results)
        self._changed()
        return restored

    def _changed(self) -> None:
        self.save()
        self.project_changed.emit()

    # -- jobs ------------------------------------------------------------------------------------------
    @property
    def jobs(self) -> list[Job]:
        """Every job started this session, oldest first."""
        return self.queue.jobs

    def submit(self, job: Job, denoiser=None) -> Job:
        """Start ``job`` through the job queue (``denoiser``: what it runs, which picks its lane)."""
        job.failed.connect(lambda failure, j=job: self.job_failed.emit(f"{j.title} failed", failure))
        # what a job says along the way (chunks not stored, an output put back) shows in the status bar; its log too
        job.event.connect(lambda item: self.status.emit(item.text) if isinstance(item, Message) else None)
        if denoiser is not None and denoiser.kind == "model" and getattr(denoiser, "path", None):
            job.uses = (denoiser.path,)
        return self.queue.submit(job, denoiser)

    def model_user(self, path: str, name: str) -> str:
        """The title of a waiting or running job that uses the model package at ``path`` (zoo name ``name``),
        or "": a denoise or preview running it, a fine-tuning run starting from it."""
        for job in self.active_jobs():
            for used in job.uses:
                if used == name or (used and Path(used).expanduser().resolve() == Path(path).resolve()):
                    return job.title
        return ""

    def _nothing_to_denoise_with(self, denoiser) -> bool:
        """Whether ``denoiser`` is None (the zoo's selection is a paused run or an unusable package): said."""
        if denoiser is None:
            self.warning.emit("Nothing to denoise with", "The entry selected in the Model zoo cannot denoise (a "
                              "paused training or an unusable package): select a model or a filter there first.")
        return denoiser is None

    def preview(self, stack_id: str, z: int, denoiser, visible=None, region=None) -> Job | None:
        """Denoise slice ``z``: the part on screen first (``visible`` (y0, y1, x0, x1) px; emitted as
        ``preview_partial``), then the whole slice (``preview_ready``); with ``region`` (y0, y1, x0, x1)
        only that part (NaN elsewhere)."""
        record = self._record(stack_id)
        if record is None or self._nothing_to_denoise_with(denoiser):
            return None
        try:  # a file replaced since it was added: its preview would be of another stack (as for denoise)
            self.unchanged_stack(record)
        except InputError as exc:
            self.warning.emit("Cannot preview", str(exc))
            return None
        from emdenoise_gui.jobs import denoise as denoise_jobs

        s = self.settings
        make = denoise_jobs.preview(record.path, z, denoiser, s.tile_px, s.stride_px, s.device, visible, region)
        what = "a region of slice" if region is not None else "slice"
        job = Job(f"Preview {what} {z} of {record.name} ({denoiser.title})", "preview", make, self)
        project = self.project

        def same_stack() -> bool:
            """The preview's stack is still ``stack_id`` of the open project: ids repeat in another project and
            once the last stack is removed (a preview of project A's s1 was shown over project B's s1)."""
            return self.project is project and self.find_stack(stack_id) is record

        job.event.connect(lambda item, s=stack_id, z=z, d=denoiser: self.preview_partial.emit(s, z, item.image, d)
                          if isinstance(item, PartialResult) and same_stack() else None)
        job.finished.connect(lambda image, s=stack_id, z=z, d=denoiser: self.preview_ready.emit(s, z, image, d)
                             if same_stack() else self.status.emit(f"The preview of {record.name} finished after it "
                                                                   "was removed or its project closed"))
        return self.submit(job, denoiser)

    def denoise(self, stack_ids: list[str], denoiser, region=None) -> Job | None:
        """Denoise whole stacks into the project's results folder (one job; a batch for several); with
        ``region`` (y0, y1, x0, x1) px, only that part of each slice of the first stack."""
        from emdenoise_gui.jobs import denoise as denoise_jobs

        records = [r for r in (self._record(i) for i in stack_ids) if r is not None]
        if not records or self._nothing_to_denoise_with(denoiser):
            return None
        project = self.project
        try:
            self.unchanged_stacks(records)
        except InputError as exc:
            self.warning.emit("Cannot denoise", str(exc))
            return None
        if self.project is not project or any(self.find_stack(r.id) is not r for r in records):  # while read
            self.status.emit("Denoise not started: the project changed while its stacks were read")
            return None
        s = self.settings
        if region is not None:
            records = records[:1]
        try:
            outputs = self.output_paths(records, denoiser.label + ("-region" if region is not None else ""))
        except InputError as exc:
            self.warning.emit("Cannot denoise", str(exc))
            return None
        if len(records) == 1:
            make = denoise_jobs.denoise(records[0].path, outputs[0], denoiser, s.tile_px, s.stride_px, s.output_dtype,
                                        s.device, region=region)
            what = "a region of " if region is not None else ""
            job = Job(f"Denoise {what}{records[0].name} ({denoiser.title})", "denoise", make, self)
        else:
            make = denoise_jobs.batch([(r.path, o) for r, o in zip(records, outputs)], denoiser, s.tile_px, s.stride_px,
                               s.output_dtype, s.device)
            job = Job(f"Batch-denoise {len(records)} stacks ({denoiser.title})", "batch", make, self)
        project = self.project
        used = {"tile": s.tile_px, "stride": s.stride_px, "dtype": s.output_dtype, "device": s.device}
        # only what the job said it wrote is recorded: a file found at an output's name after a failure is another
        # program's (another window, the CLI), whose result must not be labelled as this job's
        written: set[str] = set()
        job.event.connect(lambda item, w=written: w.add(item.path) if isinstance(item, Written) else None)
        record = lambda *_a, rs=records, os_=outputs, d=denoiser, p=project, u=used, w=written: (  # noqa: E731
            self._record_results(rs, os_, d, p, u, region, w))
        job.finished.connect(record)
        job.cancelled.connect(record)  # a cancelled batch keeps the stacks it finished
        job.failed.connect(record)  # ... and so does a failed one (each output is written whole or not at all)
        return self.submit(job, denoiser)

    def output_paths(self, records, method: str) -> list[Path]:
        """Fresh result paths for ``records`` made by ``method``: the Settings' output folder (default
        the project's ``results/``), name pattern and format ("same": each input's own); distinct
        even for inputs of the same name, and held (``_reserved``) until the job's results are recorded: a job
        queued meanwhile, another window or a CLI run gets other names."""
        s = self.settings
        return self.project.result_paths([(r.id, s.output_suffix(r.path)) for r in records], method,
                                         s.output_folder, s.name_pattern, reservations=self._reserved)

    def train(self, spec) -> Job:
        from emdenoise_gui.jobs.train import train_job

        job = Job(f"Train {spec.family} ({spec.config}) “{spec.name}”", "train", train_job(spec), self)
        job.uses = (spec.init,) if spec.init else ()  # its start model: opened when the job starts
        return self.submit(job)

    def cancel_all(self) -> None:
        """Drop the waiting jobs and stop the running ones (each at its next tile or step)."""
        self.queue.cancel_all()

    def running_jobs(self) -> list[Job]:
        return [j for j in self.jobs if j.running]

    def active_jobs(self) -> list[Job]:
        """Jobs running or waiting to run."""
        return self.queue.active()

    def shutdown_jobs(self, timeout_ms: int) -> bool:
        """Cancel every job and wait (processing events) up to ``timeout_ms`` for their threads to end,
        and for the thumbnail readers; True if they all did."""
        stopped = self.queue.shutdown(timeout_ms)
        if stopped:
            self._reserved.give_back_all()  # names of jobs that never ran
        return self.thumbnail_maker.stop(timeout_ms) and stopped

    def _record(self, stack_id: str):
        record = self.find_stack(stack_id)
        if record is not None and not Path(record.path).exists():
            self.warning.emit("Missing input", f"{record.path} was moved or deleted. {LOCATE_HINT}")
            return None
        return record
