"""Show a file in the desktop's file manager (Explorer, Finder, or the Linux desktop's), selected where
the platform allows it, else its folder opened."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6 import QtCore, QtGui


def _select_command(path: Path) -> list[str] | None:
    """The command that opens ``path``'s folder with ``path`` selected, or None on this platform."""
    if sys.platform == "win32":
        return ["explorer", f"/select,{path}"]
    if sys.platform == "darwin":
        return ["open", "-R", str(path)]
    return None


#: D-Bus requests waiting for the file manager's answer (kept alive until it comes).
_PENDING: set = set()
#: How long the file manager may take to answer (it may be started for the request), ms.
DBUS_TIMEOUT_MS = 10_000


def _select_freedesktop(path: Path, otherwise) -> bool:
    """Ask a freedesktop file manager (Files, Dolphin, Nemo, ...) over D-Bus to select ``path``, without
    waiting for its answer: the call used to block the window until the file manager had started (up to
    D-Bus's 25 s). True if the request was sent; ``otherwise()`` runs on the GUI thread if it answers
    with an error (no file manager provides the interface)."""
    try:
        from PySide6 import QtDBus
    except ImportError:
        return False
    bus = QtDBus.QDBusConnection.sessionBus()
    if not bus.isConnected():
        return False
    message = QtDBus.QDBusMessage.createMethodCall("org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
                                                   "org.freedesktop.FileManager1", "ShowItems")
    message.setArguments([[QtCore.QUrl.fromLocalFile(str(path)).toString()], ""])
    watcher = QtDBus.QDBusPendingCallWatcher(bus.asyncCall(message, DBUS_TIMEOUT_MS))
    _PENDING.add(watcher)

    def answered(done) -> None:
        _PENDING.discard(watcher)
        if done.isError():
            otherwise()
        done.deleteLater()

    watcher.finished.connect(answered)
    return True


def reveal(path: str | Path) -> bool:
    """Show ``path`` (a file or folder) in the file manager; False if nothing could be opened.

    A missing file shows its folder, if that exists.
    """
    path = Path(path)
    if not path.exists():
        path = path.parent
        if not path.is_dir():
            return False
    if path.is_file():
        folder = path.parent
        command = _select_command(path)
        if command is not None:
            try:
                subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                return True
            except OSError:
                pass
        elif _select_freedesktop(path, lambda: _open_folder(folder)):
            return True
        path = folder
    return _open_folder(path)


def _open_folder(folder: Path) -> bool:
    return QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(folder)))
