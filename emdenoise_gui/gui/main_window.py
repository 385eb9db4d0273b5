"""The main window: panels, menus, drag-and-drop and the status bar, wired to the controller."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from emdenoise_gui import __version__
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io import READ_SUFFIXES
from emdenoise_gui.gui.controller import Controller
from emdenoise_gui.gui.dialogs import (
    SettingsDialog,
    TrainDialog,
    details_html,
    message_box,
    quit_question,
)
from emdenoise_gui.gui.panels.compare_view import CompareView
from emdenoise_gui.gui.panels.jobs_panel import JobsPanel
from emdenoise_gui.gui.panels.project_panel import ProjectPanel
from emdenoise_gui.gui.panels.zoo_panel import ZooPanel
from emdenoise_gui.gui.settings import qsettings
from emdenoise_gui.project.recent import recent_projects
from emdenoise_gui.project.records import CompareState

#: How long quitting waits for cancelled jobs (and the device probe) to stop, processing events meanwhile.
SHUTDOWN_WAIT_MS = 15_000
FILE_FILTER = f"EM stacks ({' '.join('*' + s for s in READ_SUFFIXES)});;All files (*)"
KEY = QtGui.QKeySequence


class SliceImage:
    """A one-slice stand-in stack for a preview: ``len`` 1, ``[0]`` the (Y, X) image."""

    def __init__(self, image):
        self.image = image

    def __len__(self) -> int:
        return 1

    def __getitem__(self, z):
        return self.image


class MainWindow(QtWidgets.QMainWindow):
    """Project (left), compare viewer (centre), model zoo (right), jobs (bottom).

    Closing with jobs running or waiting asks first (:meth:`confirm_quit`), then cancels them and
    waits for their threads (:meth:`stop_jobs`). Set ``force_close`` to skip the question, or
    ``quit_answer`` (True: cancel and quit, False: keep working) to answer it without a dialog.
    """

    device_found = QtCore.Signal(str)

    def __init__(self, controller: Controller | None = None):
        super().__init__()
        self.controller = controller or Controller(self)
        self.force_close = False
        self.quit_answer: bool | None = None
        self._stopping = False
        self._probe_thread: threading.Thread | None = None
        self.setWindowTitle(f"EMDenoise {__version__}")
        self.setAcceptDrops(True)
        self.viewer = CompareView()
        self.setCentralWidget(self.viewer)
        self.project_panel = ProjectPanel()
        self.zoo_panel = ZooPanel()
        self.jobs_panel = JobsPanel()
        self.docks = {
            "project": self._dock("Project", self.project_panel, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea),
            "zoo": self._dock("Model zoo", self.zoo_panel, QtCore.Qt.DockWidgetArea.RightDockWidgetArea),
            "jobs": self._dock("Jobs", self.jobs_panel, QtCore.Qt.DockWidgetArea.BottomDockWidgetArea),
        }
        self.device_label = QtWidgets.QLabel("device: …")
        self.statusBar().addPermanentWidget(self.device_label)
        self.denoiser = self.zoo_panel.current()
        self._build_menus()
        self._connect()
        self._gpu_timer = QtCore.QTimer(self)
        self._gpu_timer.timeout.connect(self._update_gpu_memory)
        self._save_view_timer = QtCore.QTimer(self, singleShot=True, interval=1000)
        self._save_view_timer.timeout.connect(self._store_view)
        self.resize(1500, 950)
        self._default_layout()
        self._restore_layout()
        self._probe_device()
        self._refresh()

    # -- construction ----------------------------------------------------------------------------------
    def _dock(self, title, widget, area) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(f"dock-{title}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, menu, text, slot, shortcut=None, tip=""):
        action = QtGui.QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "&New Project…", self.new_project_dialog, KEY.StandardKey.New)
        self._action(file, "Open &Project…", self.open_project_dialog, KEY("Ctrl+Shift+O"))
        self.recent_menu = file.addMenu("Recent Projects")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file.addSeparator()
        self.add_action = self._action(file, "&Add Stacks…", self.add_stacks_dialog, KEY.StandardKey.Open,
                                       "Add TIFF or MRC stacks to the project")
        self._action(file, "&Save Project", self.controller.save, KEY.StandardKey.Save,
                     "The project is also saved automatically after every change")
        file.addSeparator()
        self._action(file, "&Quit", self.close, KEY.StandardKey.Quit)
        edit = bar.addMenu("&Edit")
        undo = self.controller.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(KEY.StandardKey.Undo)
        redo = self.controller.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcut(KEY.StandardKey.Redo)
        edit.addAction(undo)
        edit.addAction(redo)
        edit.addSeparator()
        self._action(edit, "&Settings…", self.settings_dialog, KEY.StandardKey.Preferences)
        process = bar.addMenu("&Process")
        self._action(process, "&Preview Current Slice", self.preview_current, KEY("Ctrl+P"),
                     "Denoise only the slice on screen")
        self._action(process, "&Denoise Stack", self.denoise_current, KEY("Ctrl+D"),
                     "Denoise the whole selected stack(s) into the project's results folder")
        self._action(process, "&Train Model…", self.train_dialog, KEY("Ctrl+T"))
        process.addSeparator()
        self._action(process, "&Cancel All Jobs", self.controller.cancel_all, KEY("Ctrl+."))
        view = bar.addMenu("&View")
        for dock in self.findChildren(QtWidgets.QDockWidget):
            view.addAction(dock.toggleViewAction())
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&About EMDenoise", self.about)

    def _connect(self) -> None:
        c = self.controller
        c.project_changed.connect(self._refresh)
        c.warning.connect(self.warn)
        c.job_failed.connect(self.show_failure)
        c.job_added.connect(self.jobs_panel.add_job)
        c.status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        c.show_stack.connect(self.show_stack)
        c.show_result.connect(self.show_result)
        c.preview_ready.connect(self._show_preview)
        c.preview_partial.connect(lambda *args: self._show_preview(*args, partial=True))
        self.project_panel.stack_selected.connect(self.show_stack)
        self.project_panel.result_selected.connect(self.show_result)
        self.project_panel.add_requested.connect(self.add_stacks_dialog)
        self.project_panel.remove_requested.connect(c.remove_stack)
        self.project_panel.details_requested.connect(self.show_details)
        self.zoo_panel.chosen.connect(self._choose_denoiser)
        self.zoo_panel.message.connect(self.warn)
        self.viewer.hover.connect(lambda text: self.statusBar().showMessage(text))
        self.viewer.slice_changed.connect(lambda _z: self._save_view_timer.start())
        self.device_found.connect(self._device_ready)

    # -- projects and stacks --------------------------------------------------------------------------
    def _refresh(self) -> None:
        project = self.controller.project
        for stack_id, image in self.controller.thumbnails.items():
            self.project_panel.set_thumbnail(stack_id, image)
        self.project_panel.refresh(project)
        name = f"{project.name} — " if project else ""
        self.setWindowTitle(f"{name}EMDenoise {__version__}")
        self.add_action.setEnabled(project is not None)

    def new_project_dialog(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder for the new project")
        if folder:
            self.controller.new_project(folder)

    def open_project_dialog(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Open project folder")
        if folder:
            self.open_project(folder)

    def open_project(self, folder) -> bool:
        """Open a project and show what was on screen when it was last closed."""
        self._restoring = True  # selection signals during the rebuild must not overwrite the saved view
        try:
            if not self.controller.open_project(folder):
                return False
            project = self.controller.project
            view = project.view
            if view.result_id and self.controller.find_result(view.result_id):
                self.show_result(view.result_id)
                self.project_panel.refresh(project, select=("result", view.result_id))
            elif project.stacks:
                stack_id = view.stack_id if self.controller.find_stack(view.stack_id or "") else project.stacks[0].id
                self.show_stack(stack_id)
                self.project_panel.refresh(project, select=("stack", stack_id))
            if view.viewer is not None:
                self.viewer.restore_state(view.viewer.to_dict())
        finally:
            self._restoring = False
        return True

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for folder in recent_projects():
            self.recent_menu.addAction(str(folder), lambda f=folder: self.open_project(f))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def add_stacks_dialog(self) -> None:
        names, _ = QtWidgets.QFileDialog.getOpenFileNames(self, "Add EM stacks", "", FILE_FILTER)
        if names:
            self.controller.add_paths(names)

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.controller.add_paths(paths)

    def show_stack(self, stack_id: str) -> None:
        record = self.controller.find_stack(stack_id)
        if record is None or not Path(record.path).exists():
            return
        self.viewer.set_original(self.controller.stack_data(record.path), record.name)
        self.viewer.set_result(None, "")
        self._current = ("stack", stack_id)
        self._store_view()

    def show_result(self, result_id: str) -> None:
        c = self.controller
        result = c.find_result(result_id)
        record = c.find_stack(result.stack_id) if result else None
        if record is None or not Path(record.path).exists():
            return
        output = c.project.absolute(result)
        self.viewer.set_original(c.stack_data(record.path), record.name)
        if output.exists():
            self.viewer.set_result(c.stack_data(output), result.method, first_slice=result.slices[0])
        else:
            self.warn("Result file missing", f"{output} was moved or deleted.")
        self._current = ("result", result_id)
        self._store_view()

    def _show_preview(self, stack_id: str, z: int, image, denoiser, partial: bool = False) -> None:
        """Show a preview of slice ``z``; ``partial``: only the part on screen is done so far."""
        if self._current_stack_id() != stack_id:  # the user moved on to another stack meanwhile
            if not partial:
                self.statusBar().showMessage("Preview finished for a stack that is no longer shown", 5000)
            return
        label = f"preview: {denoiser.label}" + (" (part on screen; whole slice follows)" if partial else "")
        try:
            self.viewer.set_result(SliceImage(image), label, first_slice=z)
        except ValueError as exc:
            self.warn("Cannot show the preview", str(exc))
            return
        self.viewer.set_slice(z)

    def show_details(self, kind: str, ident: str) -> None:
        c = self.controller
        if kind == "stack":
            r = c.find_stack(ident)
            rows = [("File", r.path), ("Format", r.format), ("Shape (Z, Y, X)", " × ".join(map(str, r.shape))),
                    ("Type", r.dtype), ("Voxel (z, y, x)", r.voxel_size_nm or "unknown"), ("Added", r.added)]
            title = r.name
        else:
            r = c.find_result(ident)
            stack = c.find_stack(r.stack_id)
            rows = [("Input", stack.path if stack else r.stack_id), ("Output", str(c.project.absolute(r))),
                    ("Method", f"{r.method} ({r.kind})"), ("Model package", r.model_path or "—"),
                    ("Model sha256", r.model_sha256 or "—"), ("Slices", f"{r.slices[0]}–{r.slices[1] - 1}"),
                    ("Parameters", ", ".join(f"{k}={v}" for k, v in r.parameters.items())), ("Created", r.created)]
            title = f"Result {r.method}"
        box = QtWidgets.QMessageBox(self)
        box.setWindowTitle("Details")
        box.setTextFormat(QtCore.Qt.TextFormat.RichText)
        box.setText(details_html(title, rows))
        box.exec()

    # -- processing -------------------------------------------------------------------------------------
    def _choose_denoiser(self, denoiser) -> None:
        self.denoiser = denoiser
        self.statusBar().showMessage(f"Denoiser: {denoiser.label}", 4000)

    def _current_stack_id(self) -> str | None:
        kind, ident = getattr(self, "_current", (None, None))
        if kind == "result":
            result = self.controller.find_result(ident)
            return result.stack_id if result else None
        return ident

    def preview_current(self):
        stack_id = self._current_stack_id()
        if stack_id is None:
            self.warn("Nothing to preview", "Select a stack in the project first.")
            return None
        return self.controller.preview(stack_id, self.viewer.current_slice(), self.denoiser,
                                       self.viewer.visible_region())

    def denoise_current(self):
        ids = self.project_panel.selected_stack_ids() or [i for i in [self._current_stack_id()] if i]
        if not ids:
            self.warn("Nothing to denoise", "Select one or more stacks in the project first.")
            return None
        return self.controller.denoise(ids, self.denoiser)

    def train_dialog(self) -> None:
        from emdenoise_gui.zoo.registry import user_dir

        project = self.controller.project
        folder = user_dir()
        folder.mkdir(parents=True, exist_ok=True)
        dialog = TrainDialog(project.stacks if project else [], folder, self)
        if dialog.exec() and dialog.spec is not None:
            job = self.controller.train(dialog.spec)
            job.finished.connect(lambda _v: self.zoo_panel.refresh())

    def settings_dialog(self) -> None:
        dialog = SettingsDialog(self.controller.settings, self)
        if dialog.exec():
            self.controller.settings = dialog.result_settings()
            self.controller.settings.save()
            self._probe_device()

    # -- status bar: device and GPU memory -------------------------------------------------------------
    def _probe_device(self) -> None:
        """Find the device on a helper thread: importing torch takes about a second."""
        choice = self.controller.settings.device

        def probe():
            try:
                from emdenoise_gui.models.device import device_label, pick_device

                self.controller.settings.apply_threads()
                text = device_label(pick_device(choice))
            except Exception as exc:  # a missing GPU driver must not stop the app
                text = f"CPU (device '{choice}' unavailable: {exc})"
            try:
                self.device_found.emit(text)
            except RuntimeError:  # the window closed before the probe finished
                pass

        self._probe_thread = threading.Thread(target=probe, name="device-probe", daemon=True)
        self._probe_thread.start()

    def _device_ready(self, text: str) -> None:
        self.device_label.setText(f"device: {text}")
        self.device_text = text
        if "GiB" in text:
            self._gpu_timer.start(2000)

    def _update_gpu_memory(self) -> None:
        import torch

        used = torch.cuda.memory_allocated() / 2**30
        self.device_label.setText(f"device: {self.device_text} — {used:.2f} GiB in use")

    # -- layout, view state, closing ---------------------------------------------------------------------
    def _store_view(self) -> None:
        project = self.controller.project
        if project is None or getattr(self, "_restoring", False):
            return
        kind, ident = getattr(self, "_current", (None, None))
        project.view.stack_id = ident if kind == "stack" else self._current_stack_id()
        project.view.result_id = ident if kind == "result" else None
        project.view.slice_index = self.viewer.current_slice()
        try:
            project.view.viewer = CompareState.from_dict(self.viewer.state(), "view.viewer")
        except InputError:  # e.g. a view not laid out yet (no size): nothing worth restoring
            project.view.viewer = None
        self.controller.save()

    def _default_layout(self) -> None:
        """The images get most of the window; jobs a strip at the bottom, the side panels a column each."""
        horizontal, vertical = QtCore.Qt.Orientation.Horizontal, QtCore.Qt.Orientation.Vertical
        self.resizeDocks([self.docks["project"], self.docks["zoo"]], [270, 300], horizontal)
        self.resizeDocks([self.docks["jobs"]], [180], vertical)

    def _restore_layout(self) -> None:
        store = qsettings()
        geometry, state = store.value("window/geometry"), store.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if self._stopping:  # closed again while waiting for jobs to stop
            event.ignore()
            return
        active = self.controller.active_jobs()
        if active and not self.force_close and not self.confirm_quit(len(active)):
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
        self._store_view()
        store = qsettings()
        store.setValue("window/geometry", self.saveGeometry())
        store.setValue("window/state", self.saveState())
        store.sync()
        self.controller.close_project()
        event.accept()

    def confirm_quit(self, count: int) -> bool:
        """Ask whether to cancel ``count`` running or waiting jobs and quit (``quit_answer`` answers instead)."""
        if self.quit_answer is not None:
            return self.quit_answer
        box = quit_question(self, count)
        box.exec()
        return box.clickedButton() is box.quit_button

    def stop_jobs(self, timeout_ms: int | None = None) -> bool:
        """Cancel every job and wait up to ``timeout_ms`` (default :data:`SHUTDOWN_WAIT_MS`) for their
        threads (and the device probe) to end, processing events so the window keeps drawing; True if
        every job's thread ended in time."""
        timeout_ms = SHUTDOWN_WAIT_MS if timeout_ms is None else timeout_ms
        self._stopping = True
        deadline = time.monotonic() + timeout_ms / 1000
        try:
            count = len(self.controller.active_jobs())
            if count:
                self.statusBar().showMessage(f"Stopping {count} job(s)…")
            stopped = self.controller.shutdown_jobs(timeout_ms)
            probe = self._probe_thread  # a daemon thread: waited for only within the same bound
            while probe is not None and probe.is_alive() and time.monotonic() < deadline:
                QtCore.QCoreApplication.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
                probe.join(0.02)
            return stopped
        finally:
            self._stopping = False

    def _close_when_idle(self) -> None:
        if not self.isVisible() or any(j.active for j in self.controller.jobs):
            return
        if any(j.thread_running for j in self.controller.jobs):  # a thread is just finishing
            QtCore.QTimer.singleShot(50, self._close_when_idle)
            return
        self.close()

    def warn(self, title: str, text: str) -> None:
        """A warning dialog showing ``text``."""
        message_box(self, title, text).open()

    def show_failure(self, title: str, failure) -> None:
        """A failed job (``failure``: a ``workers.JobFailure``): its one line, and for an internal error
        the traceback behind the Details button."""
        message_box(self, title, failure.message, failure.details).open()

    def about(self) -> None:
        QtWidgets.QMessageBox.about(self, "About EMDenoise",
                                    f"<b>EMDenoise {__version__}</b><br>Deep-learning denoising for electron "
                                    "microscopy, on your own workstation.<br>Demo data: Janelia FlyEM, CC BY 3.0.")
