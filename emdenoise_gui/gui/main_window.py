"""The main window: panels, menus, drag-and-drop and the status bar, wired to the controller.

It is built in two steps so that it is on screen at once: ``MainWindow(deferred=True)`` is the
frame (title, size and place, a "Starting…" line) and needs nothing but Qt; :meth:`MainWindow.build`
then loads the viewer, the filters and the jobs (seconds on a slow machine) and lays out the
panels, and emits ``built``. ``MainWindow()`` does both at once. Menus: ``menus.py``; the project
panel's right-click actions: ``item_actions.py``; the view saved with the project: ``view_saving.py``; the device
label: ``device_status.py``; Help: ``help.py``; appearance: ``theme.py``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from emdenoise_gui import __version__
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.gui import drops
from emdenoise_gui.gui.closing import WindowClosing
from emdenoise_gui.gui.fit_guard import DenoiseFitGuard
from emdenoise_gui.gui.item_actions import ItemActions
from emdenoise_gui.gui.settings import stored_layout
from emdenoise_gui.gui.view_saving import ViewSaving


def file_filter() -> str:
    """The file dialogs' filter: every stack file EMDenoise reads."""
    from emdenoise_gui.core.io import READ_SUFFIXES

    # an OME-Zarr store is a folder: a file dialog picks its zarr.json (or .zattrs), which stands for it
    return f"EM stacks ({' '.join('*' + s for s in READ_SUFFIXES)} zarr.json .zattrs);;All files (*)"


def __getattr__(name: str):
    if name == "FILE_FILTER":  # the readers are imported only when a file dialog needs them
        return file_filter()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _AfterFirstPaint(QtCore.QObject):
    """Calls ``then`` (once, from the event loop) after the widget it watches has been painted."""

    def __init__(self, widget: QtWidgets.QWidget, then):
        super().__init__(widget)
        self._then = then
        widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QtCore.QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QtCore.QTimer.singleShot(0, self._then)
        return False


class SliceImage:
    """A one-slice stand-in stack for a preview: ``len`` 1, ``[0]`` the (Y, X) image."""

    def __init__(self, image):
        self.image = image

    def __len__(self) -> int:
        return 1

    def __getitem__(self, z):
        return self.image


def _yx(region) -> tuple[int, int, int, int]:
    """The view's region (y0, x0, y1, x1), half-open px, as the jobs take it: (y0, y1, x0, x1)."""
    y0, x0, y1, x1 = (int(v) for v in region)
    return y0, y1, x0, x1


def _missing_text(record) -> str:
    """What the view says in place of a stack (or a result of it) whose file was moved or deleted."""
    return (f"Cannot show {record.name}: {record.path} was moved or deleted; put it back, locate it (right-click ▸ "
            "Locate File…), or remove it from the project")


class MainWindow(WindowClosing, DenoiseFitGuard, ItemActions, ViewSaving, QtWidgets.QMainWindow):
    """Project (left), compare viewer (centre), model zoo (right), jobs (bottom).

    Closing (``closing.WindowClosing``) with jobs running or waiting asks first, then cancels them and
    waits for their threads. Set ``force_close`` to skip the question, or ``quit_answer`` (True:
    cancel and quit, False: keep working) to answer it without a dialog. ``remember_layout`` False (a
    screenshot) neither restores nor saves the window's size and dock layout: the picture shows the default.
    """

    built = QtCore.Signal()

    def __init__(self, controller=None, deferred: bool = False, remember_layout: bool = True):
        super().__init__()
        self.controller = controller  # a gui.controller.Controller; made by build() when None
        self.force_close = False
        self.quit_answer: bool | None = None
        self.is_built = False
        self._stopping = self._restoring = self._closing = self._building = False
        self._current: tuple[str | None, str | None] = (None, None)
        self._current_file: str | None = None  # its file: the same id in another project is another stack
        self._cannot_shown: tuple | None = None  # (what, why) of the last "Cannot show" dialog (_warn_once)
        self._shown_project = None
        self._preview: tuple | None = None  # (the preview job, the slice it previews) of the last preview asked for
        self.setWindowTitle(f"EMDenoise {__version__}")
        starting = QtWidgets.QLabel("Starting EMDenoise…")
        starting.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(starting)
        self.statusBar().showMessage("Loading the viewer, the filters and the model zoo…")
        self.resize(1500, 950)
        self.remember_layout = remember_layout
        geometry = stored_layout("window/geometry") if remember_layout else None
        if geometry is not None:
            self.restoreGeometry(geometry)
        if not deferred:
            self.build()

    # -- construction ----------------------------------------------------------------------------------
    def build_when_shown(self, fallback_ms: int = 1000) -> None:
        """:meth:`build` once the frame has been painted (it is on screen first), at the latest after
        ``fallback_ms`` (a window started minimised is never painted)."""
        _AfterFirstPaint(self.centralWidget(), self.build)
        QtCore.QTimer.singleShot(fallback_ms, self.build)

    def build(self) -> None:
        """Load the panels and the controller and lay them out (once; ``built`` follows). A failure is said in
        the window's status bar as well as the error dialog, and not tried again (the docks would double)."""
        if self.is_built or self._building:  # once: the first paint and the fallback timer both call it
            return
        self._building = True
        try:
            self._build()
        except Exception as exc:  # the window said "Loading the viewer…" for ever
            self.statusBar().showMessage(f"EMDenoise could not load its panels ({type(exc).__name__}: {exc}); "
                                         "please report it")
            raise

    def _build(self) -> None:
        from emdenoise_gui.gui import theme
        from emdenoise_gui.gui.controller import Controller
        from emdenoise_gui.gui.device_status import DeviceStatus
        from emdenoise_gui.gui.menus import build_menus
        from emdenoise_gui.gui.panels.compare_view import CompareView
        from emdenoise_gui.gui.panels.jobs_panel import JobsPanel
        from emdenoise_gui.gui.panels.project_panel import ProjectPanel
        from emdenoise_gui.gui.panels.zoo_panel import ZooPanel

        self.controller = self.controller or Controller(self)
        self.viewer = CompareView()
        self.setCentralWidget(self.viewer)
        self.project_panel = ProjectPanel()
        self.zoo_panel = ZooPanel()
        self.jobs_panel = JobsPanel()
        self._drop_forwarder = drops.ForwardDrops(self)
        self.docks = {
            "project": self._dock("Project", self.project_panel, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea),
            "zoo": self._dock("Model zoo", self.zoo_panel, QtCore.Qt.DockWidgetArea.RightDockWidgetArea),
            "jobs": self._dock("Jobs", self.jobs_panel, QtCore.Qt.DockWidgetArea.BottomDockWidgetArea),
        }
        # Tab goes through the panels as they are laid out: project, images, zoo, jobs (the images came last)
        project, viewer, zoo, jobs = self.project_panel, self.viewer, self.zoo_panel, self.jobs_panel
        chain = [project.tree, project.add_button, project.remove_button, *viewer.graphics, viewer.slider,
                 viewer.spin, viewer.histogram, viewer.profile_plot, zoo.search, zoo.list, zoo.details, zoo.import_button,
                 zoo.export_button, zoo.delete_button, zoo.resume_button, jobs.table, jobs.tabs, jobs.log]
        for first, second in zip(chain, chain[1:]):
            QtWidgets.QWidget.setTabOrder(first, second)
        self.device = DeviceStatus(self)
        self.device.fell_back.connect(lambda text, s=self.controller: (
            self.zoo_panel.set_compute("auto", s.settings.tile_px, s.settings.stride_px),
            s.warning.emit("Device not available", text)))
        self.statusBar().addPermanentWidget(self.device.label)
        self.denoiser = self.zoo_panel.current()
        self.menu_actions = build_menus(self)
        self._connect()
        self._start_view_saving()
        self._default_layout()
        state = stored_layout("window/state") if self.remember_layout else None
        if state is not None:
            self.restoreState(state)
        theme.restyle_plots(QtWidgets.QApplication.instance(), self.controller.settings.appearance)
        self.setAcceptDrops(True)
        self.is_built = True
        self.statusBar().clearMessage()
        self._refresh()
        self.device.probe(self.controller.settings)
        self.built.emit()

    def _dock(self, title, widget, area) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(f"dock-{title}")
        dock.setWidget(widget)
        dock.setAcceptDrops(True)
        dock.installEventFilter(self._drop_forwarder)
        self.addDockWidget(area, dock)
        return dock

    def _connect(self) -> None:
        c = self.controller
        c.project_changed.connect(self._refresh)
        c.warning.connect(self.warn)
        c.save_failed.connect(self._save_failed)
        c.thumbnail_changed.connect(lambda i: self.project_panel.set_thumbnail(i, self.controller.thumbnails[i]))
        c.job_failed.connect(self.show_failure)
        c.job_added.connect(self.jobs_panel.add_job)
        c.job_removed.connect(self.jobs_panel.remove_job)
        c.job_added.connect(self._watch_training)
        c.status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        c.show_stack.connect(self.show_stack)
        c.show_result.connect(self.show_result)
        c.preview_ready.connect(self._show_preview)
        c.preview_partial.connect(lambda *args: self._show_preview(*args, partial=True))
        panel = self.project_panel
        panel.stack_selected.connect(self.show_stack)
        panel.result_selected.connect(self.show_result)
        panel.add_requested.connect(self.add_stacks_dialog)
        panel.remove_requested.connect(c.remove_stack)
        panel.details_requested.connect(self.show_details)
        panel.reveal_requested.connect(self.reveal)
        panel.delete_result_requested.connect(self.delete_result)
        panel.locate_requested.connect(self.locate_stack_dialog)
        self.zoo_panel.chosen.connect(self._choose_denoiser)
        self.zoo_panel.model_user = c.model_user
        c.ask_take_over = self.take_over_asked
        self.zoo_panel.message.connect(self.warn)
        self.zoo_panel.status.connect(self.statusBar().showMessage)  # "" clears it
        self.zoo_panel.resume_requested.connect(self.train_wizard)
        self.viewer.region_preview_requested.connect(self.preview_region)
        self.viewer.region_denoise_requested.connect(self.denoise_region)
        self.viewer.hover.connect(lambda text: self.statusBar().showMessage(text))
        self.viewer.slice_changed.connect(lambda _z: self._save_view_timer.start())
        self.viewer.state_changed.connect(lambda: self._save_view_timer.start())  # the timer is made later
        self.viewer.slice_changed.connect(self._slice_moved)

    # -- projects and stacks --------------------------------------------------------------------------
    def _refresh(self) -> None:
        project = self.controller.project
        if project is not self._shown_project:  # another project: its stack ids name other files
            self._shown_project = project
            self.project_panel.clear_thumbnails()
            for stack_id, image in self.controller.thumbnails.items():
                self.project_panel.set_thumbnail(stack_id, image)
        self.project_panel.refresh(project)
        if self._shown_file() != self._current_file:  # removed, or another project: not left on screen
            self._current, self._current_file = (None, None), None
            self.viewer.clear()
            self.zoo_panel.forget_stack()
        name = f"{project.name} — " if project else ""
        self.setWindowTitle(f"{name}EMDenoise {__version__}")

    def _shown_file(self) -> str | None:
        """The file of the stack or result the window shows (``_current``) as the open project records
        it now; None when nothing is shown or the project no longer holds it."""
        kind, ident = self._current
        c = self.controller
        if kind == "stack":
            record = c.find_stack(ident)
            return None if record is None else str(record.path)
        result = c.find_result(ident) if kind == "result" else None
        return None if result is None else str(c.project.absolute(result))

    def ensure_project(self, count: int = 0) -> bool:
        """True when a project is open, else after offering to create one (for ``count`` dropped files;
        0: stacks about to be chosen) and the user did."""
        if self.controller.project is not None:
            return True
        folder = self.choose_new_project_folder(count)
        if folder and (Path(folder) / "project.json").is_file():  # the folder holds a project: use it
            return self.open_project(folder)
        return bool(folder) and self.controller.new_project(folder)

    def choose_new_project_folder(self, count: int) -> str | None:
        """Ask whether to create a project, then for its folder; None if the user declines."""
        from emdenoise_gui.gui.dialogs import new_project_question

        box = new_project_question(self, count)
        box.exec()
        if box.clickedButton() is not box.yes_button:
            return None
        return QtWidgets.QFileDialog.getExistingDirectory(self, "Folder for the new project") or None

    def new_project_dialog(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder for the new project")
        if folder:
            self.flush_view()
            self.controller.new_project(folder)

    def open_project_dialog(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Open project folder")
        if folder:
            self.open_project(folder)

    def open_project(self, folder) -> bool:
        """Open a project and show what was on screen when it was last closed."""
        self.flush_view()  # into the project open until now
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
            self._save_view_timer.stop()  # what is on screen is what the project holds
        return True

    def fill_recent(self) -> None:
        from emdenoise_gui.project.recent import recent_projects

        self.recent_menu.clear()
        for folder in recent_projects():
            self.recent_menu.addAction(str(folder), lambda f=folder: self.open_project(f))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def add_stacks_dialog(self) -> None:
        if not self.ensure_project():
            return
        names, _ = QtWidgets.QFileDialog.getOpenFileNames(self, "Add EM stacks", "", file_filter())
        if names:
            self.controller.add_paths(names)

    def save_as_dialog(self) -> None:
        if self.controller.project is None:
            self.warn("No project open", "Open or create a project first.")
            return
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder to go on with the project in")
        if folder:
            self.flush_view()  # the copy holds what is on screen
            self.controller.save_project_as(folder)

    def _save_failed(self, why: str) -> None:
        if not self._closing:  # closing: the view state is all that is lost, no question then
            self.offer_save_as(why)

    def offer_save_as(self, why: str) -> None:
        """Say once that the project cannot be saved and offer File ▸ Save Project As (non-blocking)."""
        from emdenoise_gui.gui.dialogs import save_failed_question

        box = save_failed_question(self, why)
        box.yes_button.clicked.connect(lambda: QtCore.QTimer.singleShot(0, self.save_as_dialog))
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        drops.accepts(event)

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        drops.receive(self, event)

    def show_stack(self, stack_id: str) -> None:
        record = self.controller.find_stack(stack_id)
        if record is None:
            return
        self._current, self._current_file = ("stack", stack_id), str(record.path)
        self.project_panel.mark_shown("stack", stack_id)
        if not Path(record.path).exists():  # said in the view (Preview and Denoise then say it in a dialog)
            self.viewer.clear(_missing_text(record))
            return
        try:
            self.viewer.set_original(self.controller.unchanged_stack(record), record.name)
        except (InputError, ValueError, OSError) as exc:  # damaged or replaced since it was added
            self._cannot_show(record, exc)
            return
        self._cannot_shown = None
        self.viewer.set_result(None, "")
        self._assess(record)
        self._save_view_timer.start()

    def _assess(self, record) -> None:
        """Let the zoo mark which models fit this stack (measured off the GUI thread) and preselect one."""
        settings = self.controller.settings
        self.zoo_panel.set_compute(settings.device, settings.tile_px, settings.stride_px)
        voxel = tuple(record.voxel_size_nm) if record.voxel_size_nm else None
        self.zoo_panel.assess_stack(self.stack_key(record.id), record.path, voxel)

    def show_result(self, result_id: str) -> None:
        c = self.controller
        result = c.find_result(result_id)
        record = c.find_stack(result.stack_id) if result else None
        if record is None:
            return
        if not Path(record.path).exists():  # the highlighted result and the stack on screen would differ
            self._current, self._current_file = ("result", result_id), str(c.project.absolute(result))
            self.project_panel.mark_shown("result", result_id)
            self.viewer.clear(_missing_text(record))
            return
        from emdenoise_gui.gui.panels.slices import RegionOf
        from emdenoise_gui.jobs.denoise import method_title

        output = c.project.absolute(result)
        self._current, self._current_file = ("result", result_id), str(output)
        self.project_panel.mark_shown("result", result_id)
        try:
            original, name = c.unchanged_stack(record), record.name
            region = result.parameters.get("region")
            if region:  # a result of a drawn region: the original is cut to match
                original, name = RegionOf(original, region), f"{record.name} (region y {region[0]}:{region[1]}, " \
                                                              f"x {region[2]}:{region[3]})"
            self.viewer.set_original(original, name)
        except (InputError, ValueError, OSError) as exc:
            self._cannot_show(record, exc)
            return
        self._assess(record)
        if not output.exists():
            self._warn_once(("result", result_id, "missing"), "Result file missing", f"{output} was moved or deleted.")
        else:
            try:
                self.viewer.set_result(c.stack_data(output), method_title(result.kind, result.method),
                                       first_slice=result.slices[0])
            except (InputError, ValueError, OSError) as exc:  # replaced or damaged since it was made
                text = str(exc) if getattr(exc, "path", None) else f"{output}: {exc}"  # the path said once
                self._warn_once(("result", result_id, text), "Cannot show the result", text)
            else:
                self._cannot_shown = None
        self._save_view_timer.start()

    def _cannot_show(self, record, exc: Exception) -> None:
        """An empty viewer and a dialog saying why the stack ``record`` cannot be shown (damaged or replaced); the
        same reason for the same stack again (opening a project shows it, selects it, restores the view) is not
        asked about again until another stack was shown."""
        self.viewer.clear(f"Cannot show {record.name}")
        self._warn_once((record.id, str(exc)), f"Cannot show {record.name}", str(exc))

    def _warn_once(self, key: tuple, title: str, text: str) -> None:
        """A dialog, unless the last one was for the same ``key`` (what, and why) and nothing was shown since:
        opening a project shows the current stack or result, selects it and restores the view, each of which
        asked again."""
        if key != self._cannot_shown:
            self._cannot_shown = key
            self.warn(title, text)

    def _show_preview(self, stack_id: str, z: int, image, denoiser, partial: bool = False) -> None:
        """Show a preview of slice ``z``; ``partial``: only the part on screen is done so far."""
        if self._current_stack_id() != stack_id:  # the user moved on to another stack meanwhile
            if not partial:
                self.statusBar().showMessage("Preview finished for a stack that is no longer shown", 5000)
            return
        if self.viewer.slice_loader.target() != z:  # ... or to another slice: stay there (the view jumped back)
            return
        label = f"preview: {denoiser.title}" + (" (part on screen; whole slice follows)" if partial else "")
        try:
            self.viewer.set_result(SliceImage(image), label, first_slice=z)
        except ValueError as exc:
            self.warn("Cannot show the preview", str(exc))
            return
        self.viewer.set_slice(z)

    # -- processing -------------------------------------------------------------------------------------
    def _choose_denoiser(self, denoiser) -> None:
        self.denoiser = denoiser
        if denoiser is not None:
            self.statusBar().showMessage(f"Denoiser: {denoiser.title}", 4000)

    def _current_stack_id(self) -> str | None:
        kind, ident = self._current
        if kind == "result":
            result = self.controller.find_result(ident)
            return result.stack_id if result else None
        return ident

    def preview_current(self):
        stack_id = self._current_stack_id()
        if stack_id is None:
            self.warn("Nothing to preview", "Select a stack in the project first.")
            return None
        kind, ident = self._current
        shown = self.controller.find_result(ident) if kind == "result" else None
        if shown is not None and shown.parameters.get("region"):  # a region's result beside its cut original: a
            z = self.viewer.current_slice()  # whole slice's preview cannot be shown there (two error dialogs)
            self.show_stack(stack_id)
            self.viewer.set_slice(z)
        z = self.viewer.slice_loader.target()  # the slice asked for, while a slow one is read
        return self._previewing(self.controller.preview(stack_id, z, self.denoiser, self.viewer.visible_region()))

    def _previewing(self, job):
        """Remember the preview ``job`` of the slice on screen (None: none started); returns it."""
        self._preview = (job, self.viewer.current_slice()) if job is not None else None
        return job

    def _slice_moved(self, z: int) -> None:
        """Another slice on screen: a preview of the one left behind is stopped (its result would not be shown)."""
        job, previewed = self._preview or (None, z)
        if job is not None and job.active and previewed != z:
            job.cancel()
            self.statusBar().showMessage(f"Preview of slice {previewed} stopped: Ctrl+P previews this slice", 5000)

    def denoise_current(self):
        """Denoise the selected stacks (or the one shown) with the selected denoiser now, without the fit
        checks of Process ▸ Denoise Stack (``fit_guard.denoise_command``); the job, or None."""
        ids = self.project_panel.selected_stack_ids() or [i for i in [self._current_stack_id()] if i]
        if not ids:
            self.warn("Nothing to denoise", "Select one or more stacks in the project first.")
            return None
        return self.controller.denoise(ids, self.denoiser)

    def preview_region(self, region):
        """Right-click > Preview this region: denoise only the drawn region of the slice on screen."""
        stack_id = self._current_stack_id()
        if stack_id is None or self._current[0] != "stack":
            self.warn("Nothing to preview", "Show a stack (not a result) and draw the region on it first.")
            return None
        return self._previewing(self.controller.preview(stack_id, self.viewer.current_slice(), self.denoiser,
                                                        region=_yx(region)))

    def denoise_region(self, region):
        """Right-click > Denoise this region: every slice of the stack on screen, only inside the region."""
        stack_id = self._current_stack_id()
        if stack_id is None or self._current[0] != "stack":
            self.warn("Nothing to denoise", "Show a stack (not a result) and draw the region on it first.")
            return None
        return self.controller.denoise([stack_id], self.denoiser, region=_yx(region))

    def train_wizard(self, resume: str = ""):
        """Process > Train or Fine-tune Model: the guided wizard on the stack on screen; with ``resume`` (a
        paused run's checkpoint folder, from the zoo panel) it opens on its training page. The new model
        is selected in the zoo when the wizard closes."""
        from emdenoise_gui.gui.wizard import TrainWizard

        record = self.controller.find_stack(self._current_stack_id() or "")
        wizard = TrainWizard(self.controller, record.path if record else "", resume, self)
        wizard.finished.connect(lambda _result, w=wizard: self._wizard_closed(w))
        wizard.finished.connect(wizard.deleteLater)  # each one closed stayed, with its plots: 6.6 MB an open
        wizard.open()
        return wizard

    def _watch_training(self, job) -> None:
        """List the zoo again when a training ends: its model, or its paused run, is written then, often
        after the wizard that started it has closed (they stayed out of the zoo until the app restarted)."""
        if job.kind == "train":
            job.ended.connect(lambda: None if self._closing else self.zoo_panel.refresh())

    def _wizard_closed(self, wizard) -> None:
        package = wizard.state.package
        self.zoo_panel.refresh(select=f"model:{package}" if package else None)

    def settings_dialog(self) -> None:
        from emdenoise_gui.gui import theme
        from emdenoise_gui.gui.dialogs import SettingsDialog

        old = self.controller.settings
        dialog = SettingsDialog(old, self)
        if dialog.exec():
            new = self.controller.settings = dialog.result_settings()
            problem = new.save()
            if problem:
                QtWidgets.QMessageBox.warning(self, "Settings not saved", problem)
            if new.appearance != old.appearance:
                theme.apply(QtWidgets.QApplication.instance(), new.appearance)
            if (new.device, new.threads) != (old.device, old.threads):
                self.device.probe(new)
            self.zoo_panel.set_compute(new.device, new.tile_px, new.stride_px)  # the estimate for the new tiling

    # -- help -------------------------------------------------------------------------------------------
    def show_shortcuts(self):
        from emdenoise_gui.gui.help import shortcuts_dialog

        dialog = shortcuts_dialog(self)
        dialog.show()
        return dialog

    def show_system(self):
        from emdenoise_gui.gui.help import system_dialog

        dialog = system_dialog(self)
        dialog.show()
        return dialog

    def show_guide(self):
        from emdenoise_gui.gui.help import guide_dialog

        dialog = guide_dialog(self)
        dialog.show()
        return dialog

    # -- layout, view state, closing ---------------------------------------------------------------------
    def _default_layout(self) -> None:
        """The images get most of the window; jobs a strip at the bottom, the side panels a column each."""
        horizontal, vertical = QtCore.Qt.Orientation.Horizontal, QtCore.Qt.Orientation.Vertical
        self.resizeDocks([self.docks["project"], self.docks["zoo"]], [260, 350], horizontal)  # zoo names uncut
        self.resizeDocks([self.docks["jobs"]], [180], vertical)

    def warn(self, title: str, text: str) -> None:
        """A warning dialog showing ``text``."""
        from emdenoise_gui.gui.dialogs import message_box

        message_box(self, title, text).open()

    def show_failure(self, title: str, failure) -> None:
        """A failed job (``failure``: a ``workers.JobFailure``): its one line, and for an internal error
        the traceback behind the Details button."""
        from emdenoise_gui.gui.dialogs import message_box

        message_box(self, title, failure.message, failure.details).open()

    def about(self) -> None:
        QtWidgets.QMessageBox.about(self, "About EMDenoise",
                                    f"<b>EMDenoise {__version__}</b><br>Deep-learning denoising for electron "
                                    "microscopy, on your own workstation.<br>Demo data: Janelia FlyEM, CC BY 3.0.")
