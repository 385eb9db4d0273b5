"""How the main window closes: it asks about running jobs, lets a model import or export finish,
cancels the jobs and waits for their threads, lets the panels' background sums finish, saves the view,
the layout and the project, and only then goes (a window never disappears while its jobs still write).

``WindowClosing`` is a mixin of ``main_window.MainWindow``; it uses the window's ``controller``,
``device``, ``force_close``, ``quit_answer`` and ``_store_view``.
"""

from __future__ import annotations

import time

from PySide6 import QtCore, QtGui, QtWidgets

from emdenoise_gui.gui.lifetime import pool_done, wait_drawing
from emdenoise_gui.gui.settings import qsettings

#: How long quitting waits for cancelled jobs (and the device probe) to stop, processing events meanwhile.
SHUTDOWN_WAIT_MS = 15_000
#: How long quitting waits for the device probe once the jobs have stopped (it writes nothing).
PROBE_WAIT_S = 0.5
#: How long closing waits for each panel's background computations (a high-pass takes about a second).
POOL_WAIT_MS = 3000
#: How often a close that waits for the zoo's import or export looks whether it is done.
TRANSFER_POLL_MS = 100


class WindowClosing:
    """closeEvent and what it needs: the question, stopping the jobs, closing once they have stopped."""

    _closing_after_transfer = False  # a close waits for the zoo's import or export
    _jobs_at_quit: set = frozenset()  # the jobs running when that close was asked for

    def take_over_asked(self, why: str) -> bool:
        """At a project's close another program holds its lock: whether to take it and save
        (``dialogs.take_over_asked``; the controller's ``ask_take_over``)."""
        from emdenoise_gui.gui.dialogs import take_over_asked

        return take_over_asked(self, why)

    def quit_now(self) -> None:
        """Quit without asking (Ctrl+C or SIGTERM in the terminal): close open dialogs, cancel the jobs
        and close, as File ▸ Quit answered with "Cancel jobs and quit"."""
        for widget in QtWidgets.QApplication.topLevelWidgets():
            if isinstance(widget, QtWidgets.QDialog) and widget.isVisible():
                widget.quitting = True  # a dialog that asks before closing (the wizard) closes without asking
                widget.reject()
        self.quit_answer = True
        QtCore.QTimer.singleShot(0, self.close)  # after the dialogs' own event loops have returned

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self.is_built:  # closed while starting: nothing runs yet
            event.accept()
            return
        if self._stopping:  # closed again while waiting for jobs to stop
            event.ignore()
            return
        active = self.controller.active_jobs()
        if active and not self.force_close and not self.confirm_quit(len(active)):
            event.ignore()
            return
        if self.zoo_panel.transferring:
            # a model import or export is copying (seconds; it cannot stop half-way without losing the
            # user's request): the window stays and closes once it is done, as for jobs still stopping
            if not self._closing_after_transfer:  # one wait, however often Quit is pressed
                self._closing_after_transfer = True
                self._jobs_at_quit = set(active)  # the ones the user agreed to cancel (if any)
                self.force_close = True
                self.statusBar().showMessage(f"{self.zoo_panel.transferring} The window closes when it is done")
                QtCore.QTimer.singleShot(TRANSFER_POLL_MS, self._close_when_transferred)
            event.ignore()
            return
        if not self.stop_jobs():
            # a slow tile or step is still finishing: destroying its thread now would abort the app and
            # leave partial files; the window stays (no process without a window) and closes once they stop
            self.force_close = True
            self.statusBar().showMessage("Waiting for the cancelled jobs to stop; the window closes then")
            for job in self.controller.jobs:
                if job.thread_running:
                    job.ended.connect(self._close_when_idle)
            event.ignore()
            return
        self._closing = True
        self.zoo_panel.shutdown()  # its speed timing stops at the next tile
        for pool in self.findChildren(QtCore.QThreadPool):  # the views' background sums: let them finish
            pool.clear()
            wait_drawing(pool_done(pool), POOL_WAIT_MS / 1000)
        self._save_view_timer.stop()
        self._store_view()
        if self.remember_layout:
            store = qsettings()
            store.setValue("window/geometry", self.saveGeometry())
            store.setValue("window/state", self.saveState())
            store.sync()
        self.controller.save_pending_now()  # closed projects a finished job recorded results in
        self.controller.close_project()
        event.accept()

    def confirm_quit(self, count: int) -> bool:
        """Ask whether to cancel ``count`` running or waiting jobs and quit (``quit_answer`` answers instead)."""
        from emdenoise_gui.gui.dialogs import quit_question

        if self.quit_answer is not None:
            return self.quit_answer
        box = quit_question(self, count)
        box.exec()
        return box.clickedButton() is box.quit_button

    def stop_jobs(self, timeout_ms: int | None = None) -> bool:
        """Cancel every job and wait up to ``timeout_ms`` (default :data:`SHUTDOWN_WAIT_MS`) for their
        threads to end, processing events so the window keeps drawing; True if every job's thread ended
        in time. The device probe (importing torch) is waited for at most :data:`PROBE_WAIT_S` more: it
        writes nothing, and the process ends within ``lifetime.EXIT_GRACE_S`` anyway."""
        timeout_ms = SHUTDOWN_WAIT_MS if timeout_ms is None else timeout_ms
        self._stopping = True
        deadline = time.monotonic() + timeout_ms / 1000
        try:
            count = len(self.controller.active_jobs())
            if count:
                self.statusBar().showMessage(f"Stopping {count} job(s)…")
            stopped = self.controller.shutdown_jobs(timeout_ms)
            self.device.wait(min(deadline, time.monotonic() + PROBE_WAIT_S))
            return stopped
        finally:
            self._stopping = False

    def _close_when_transferred(self) -> None:
        if self.zoo_panel.transferring:
            QtCore.QTimer.singleShot(TRANSFER_POLL_MS, self._close_when_transferred)
            return
        self._closing_after_transfer = False
        if self.zoo_panel.transfer_failed:  # its message is on screen: the user reads it, then quits again
            self.force_close = False
            self.statusBar().showMessage("Not closed: the model import or export failed (see the message)", 10000)
        elif self.isVisible():
            if not set(self.controller.active_jobs()) <= self._jobs_at_quit:
                self.force_close = False  # a job started during the wait: ask before cancelling it
            self.close()

    def _close_when_idle(self) -> None:
        if not self.isVisible() or any(j.active for j in self.controller.jobs):
            return
        if any(j.thread_running for j in self.controller.jobs):  # a thread is just finishing
            QtCore.QTimer.singleShot(50, self._close_when_idle)
            return
        self.close()

