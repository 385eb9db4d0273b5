"""Writing the open project's file from the app, and taking in what other writers added to it.

A save on the window's thread waits at most :data:`GUI_WAIT_S` for another writer's lock (a killed writer on
another machine holds it until it is ``project_file.LOCK_STALE_S`` old: every save froze the window 5 s), then
says so in the status line and tries again every :data:`RETRY_MS` until it is written; so do the saves of
projects no longer open that a finishing job recorded results in (:meth:`ProjectSaving.save_later`). Closing
the project waits :data:`CLOSE_WAIT_S`, then asks whether to take the lock (``ask_take_over``): quitting
dropped the results recorded since, without a word.

``ProjectSaving`` is a mixin of ``controller.Controller``; it uses its ``project``, ``thumbnails``,
``thumbnail_maker`` and signals.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.project.project_file import ProjectBusy

#: How long a save from the window waits for another writer's lock (s).
GUI_WAIT_S = 0.2
#: How often a save held back by another writer's lock is tried again (ms).
RETRY_MS = 3000
#: How long the save at a project's close waits for another writer's lock before it asks (s).
CLOSE_WAIT_S = 1.0


class ProjectSaving:
    """:meth:`save`, its retry timer, :meth:`take_in_additions`."""

    def _start_project_saving(self) -> None:
        self._save_warned = False  # the "cannot save" question was asked for this project
        self._save_retry = QtCore.QTimer(self, singleShot=True)
        self._save_retry.setInterval(RETRY_MS)
        self._save_retry.timeout.connect(self._retry_saves)
        #: projects no longer open whose results a job recorded while another writer held their lock
        self._saves_pending: list = []
        self._open_save_pending = False  # the open project's last save met another writer's lock
        #: ``ask_take_over(why) -> bool``, set by the window: at a close, whether to take another writer's lock
        #: (its holder gone); None (no window, a test): the close's save fails as any other
        self.ask_take_over = None

    def save(self, wait_s: float | None = GUI_WAIT_S, closing: bool = False) -> bool:
        """Save the project; True if it was written. Another writer's lock held for ``wait_s`` seconds (None:
        ``project_file.LOCK_WAIT_S``) leaves a status line and a try again in :data:`RETRY_MS`; ``closing``
        (the project is closed next: no later try) asks ``ask_take_over`` instead, and takes the lock if told
        to. The first other failure for a project emits ``save_failed`` (the window offers Save Project As);
        later ones only a status line."""
        self._open_save_pending = False
        if not self._saves_pending:
            self._save_retry.stop()
        if self.project is None:
            return False
        try:
            try:
                self.project.save(wait_s=wait_s)
            except ProjectBusy as exc:
                if closing and self.ask_take_over is not None and self.ask_take_over(exc.who):
                    self.project.save(wait_s=wait_s, take_over=True)
                else:
                    raise
        except ProjectBusy as exc:
            if not closing:
                self.status.emit(f"Project not saved yet: {exc.who}. Trying again every {RETRY_MS // 1000} s")
                self._open_save_pending = True
                self._save_retry.start()
                return False
            if self.ask_take_over is not None:  # the user chose to close without saving: not asked again, and no
                self.status.emit(f"Project {self.project.name} closed without saving: {exc.who}")  # Save As offer
                return False  # for it (it showed after the next project opened, and acted on that one: review)
            return self._save_refused(exc)
        except InputError as exc:
            return self._save_refused(exc)
        self._save_warned = False
        if self.project.other_kept is not None:
            taken = (f"What it added ({self.project.merged} stacks and results in all) is in this window's project "
                     "now; "
                     if self.project.merged else "It added no stacks or results; ")
            self.warning.emit("Project changed elsewhere", f"Another EMDenoise window (or program) saved this project "
                              f"since it was opened here. {taken}anything else it changed (a removal, the view) is "
                              f"kept only in its version, {self.project.other_kept.name} in the project folder (a "
                              "copy of its project.json).")
        if self.project.merged:
            self._show_taken_in()
        return True

    def save_later(self, project) -> None:
        """Save ``project`` (not the open one: a job's results recorded after it was closed) when another
        writer's lock lets it; tried every :data:`RETRY_MS` (it waited 5 s on the window's thread and dropped
        the record: job lifecycle audit of 2026-12-07)."""
        if project not in self._saves_pending:
            self._saves_pending.append(project)
        self._save_retry.start()

    def save_pending_now(self) -> None:
        """At quit: save the closed projects :meth:`save_later` holds, asking (``ask_take_over``) where another
        program still holds one's lock; what is not saved is said (it went without a word: review)."""
        pending, self._saves_pending = self._saves_pending, []
        for project in pending:
            try:
                try:
                    project.save(wait_s=CLOSE_WAIT_S)
                except ProjectBusy as exc:
                    ask = self.ask_take_over
                    if ask is None or not ask(f"{exc.who} (the project {project.name}, not open here)"):
                        raise
                    project.save(take_over=True)
            except InputError as exc:
                self.warning.emit("Result not added", f"The results recorded in the project {project.name} since "
                                                      f"it was closed here were not saved there: {exc}")

    def _retry_saves(self) -> None:
        """The timer: the open project's save, and those of closed projects left for later."""
        pending, self._saves_pending = self._saves_pending, []
        for project in pending:
            try:
                project.save(wait_s=GUI_WAIT_S)
            except ProjectBusy:
                self._saves_pending.append(project)
            except InputError as exc:
                self.warning.emit("Result not added", f"Recording a result in the project {project.name} (not "
                                                      f"open here) failed: {exc}")
            else:
                self.status.emit(f"The project {project.name} (not open here) was saved")
        if self.project is not None and self._open_save_pending:
            self.save()
        if self._saves_pending:
            self._save_retry.start()

    def _save_refused(self, exc: InputError) -> bool:
        """A save that failed: ``save_failed`` the first time for a project, a status line after; False."""
        if not self._save_warned:
            self._save_warned = True
            self.save_failed.emit(str(exc))
        else:
            self.status.emit(f"Project not saved: {exc.problem} (File ▸ Save Project As…)")  # the lock's too
        return False

    def take_in_additions(self) -> int:
        """Take in the stacks and results another writer (``emdenoise denoise --project``, another window)
        added to the open project's file, when it changed nothing else, and show them; how many."""
        taken = 0 if self.project is None else self.project.take_in_additions()
        if taken:
            self._show_taken_in()
            self.status.emit(f"{taken} stack(s) and result(s) recorded by another program (emdenoise denoise "
                             "--project, another window) were added to the project")
        return taken

    def _show_taken_in(self) -> None:
        """The panel shows stacks and results taken in from another writer, with thumbnails."""
        for record in self.project.stacks:
            if record.id not in self.thumbnails and Path(record.path).exists():
                self.thumbnail_maker.request(record.id, record.path)
        self.project_changed.emit()
