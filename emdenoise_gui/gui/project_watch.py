"""Stacks and results another writer added to the open project, taken in as they come.

``emdenoise denoise --project`` records its results in project.json while the app may have the project open.
The project folder is watched; when project.json changes, what the other writer added is taken in and shown,
provided it changed nothing else (``Project.take_in_additions``). Any other change is left to the next save,
which keeps the other version beside ours and says so. A network share often tells no watcher of another
machine's writes (NFS, SMB): project.json is also read again whenever the app becomes the active window (one
returns to it from the terminal or the cluster's web page where the run was started), so such results appear
then. Without the watcher, the app showed such results only after the project was opened again, and its next
save warned of a "project changed elsewhere" for each run.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui

#: Wait this long after the last change in the folder before reading project.json (ms): a save writes a
#: temporary file, renames it and writes the backup, each a change.
SETTLE_MS = 300


class ProjectWatch(QtCore.QObject):
    """Watches the folder of ``controller.project`` and calls ``controller.take_in_additions`` when it
    changes (after :data:`SETTLE_MS` of quiet)."""

    def __init__(self, controller):
        super().__init__(controller)
        self._controller = controller
        self._folder: str | None = None
        self._watcher = QtCore.QFileSystemWatcher(self)
        self._settle = QtCore.QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(controller.take_in_additions)
        self._watcher.directoryChanged.connect(lambda _path: self._settle.start())
        controller.project_changed.connect(self.follow)
        app = QtGui.QGuiApplication.instance()
        if app is not None:
            app.applicationStateChanged.connect(self.activated)

    def activated(self, state) -> None:
        """The app became the active one: look at project.json again (a share's writes tell no watcher)."""
        if state == QtCore.Qt.ApplicationState.ApplicationActive and self._controller.project is not None:
            self._settle.start()

    def follow(self) -> None:
        """Watch the open project's folder (none when no project is open)."""
        project = self._controller.project
        folder = None if project is None else str(project.folder)
        if folder == self._folder:
            return
        if self._folder is not None:
            self._watcher.removePath(self._folder)
        self._folder = folder
        if folder is not None and not self._watcher.addPath(folder):  # e.g. a share that cannot be watched
            self._folder = None
