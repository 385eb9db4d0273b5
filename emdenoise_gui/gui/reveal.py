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


def _select_freedesktop(path: Path) -> bool:
    """Ask a freedesktop file manager (Files, Dolphin, Nemo, ...) over D-Bus to select ``path``."""
    try:
        from PySide6 import QtDBus
    except ImportError:
        return False
    bus = QtDBus.QDBusConnection.sessionBus()
    if not bus.isConnected():
        return False
    interface = QtDBus.QDBusInterface("org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
                                      "org.freedesktop.FileManager1", bus)
    if not interface.isValid():
        return False
    reply = interface.call("ShowItems", [QtCore.QUrl.fromLocalFile(str(path)).toString()], "")
    return reply.type() != QtDBus.QDBusMessage.MessageType.ErrorMessage


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
        command = _select_command(path)
        if command is not None:
            try:
                subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                return True
            except OSError:
                pass
        elif _select_freedesktop(path):
            return True
        path = path.parent
    return QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(path)))
