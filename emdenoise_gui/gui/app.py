"""``emdenoise-gui``: for now a minimal viewer window (the full app is issue 4).

It opens a TIFF/MRC stack (File > Open or a path argument) and shows it with a
slice slider and contrast control; bad files give a message box, never a
traceback. ``--screenshot FILE`` saves the window and exits (works offscreen).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from emdenoise_gui import __version__
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io import open_stack

FILE_FILTER = "EM images (*.tif *.tiff *.mrc *.mrcs *.map *.rec *.st);;All files (*)"
MAX_VIEW_SLICES = 64  # the minimal viewer loads at most this many slices


class ViewerWindow(QtWidgets.QMainWindow):
    """One stack in a pyqtgraph ImageView; File > Open, Quit."""

    def __init__(self):
        super().__init__()
        self.setWindowTitle(f"EMDenoise {__version__}")
        self.view = pg.ImageView()
        self.setCentralWidget(self.view)
        menu = self.menuBar().addMenu("&File")
        menu.addAction("&Open…", QtGui.QKeySequence.StandardKey.Open, self.open_dialog)
        menu.addAction("&Quit", QtGui.QKeySequence.StandardKey.Quit, self.close)
        self.statusBar().showMessage("Open a TIFF or MRC stack (Ctrl+O). The full app arrives with issue 4.")
        self.resize(900, 760)

    def open_dialog(self) -> None:
        name, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open EM stack", "", FILE_FILTER)
        if name:
            self.open_path(name)

    def open_path(self, path: str | Path) -> bool:
        """Show the stack at ``path``; a message box (not an exception) if it cannot be read."""
        try:
            with open_stack(path) as stack:
                depth = min(len(stack), MAX_VIEW_SLICES)
                data = stack.read(0, depth).astype(np.float32)
                meta = stack.meta
        except InputError as exc:
            QtWidgets.QMessageBox.warning(self, "Cannot open file", str(exc))
            return False
        self.view.setImage(data, axes={"t": 0, "y": 1, "x": 2})
        voxel = f"{meta.voxel_size_nm[2]:.4g} nm/px" if meta.voxel_size_nm else "pixel size unknown"
        shown = "" if depth == meta.shape[0] else f" (first {depth} slices shown)"
        self.statusBar().showMessage(
            f"{meta.path.name}: {meta.format}, {meta.shape[0]}x{meta.shape[1]}x{meta.shape[2]}, "
            f"{meta.dtype}, {voxel}{shown}")
        self.setWindowTitle(f"{meta.path.name} - EMDenoise {__version__}")
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emdenoise-gui", description="EMDenoise desktop app")
    parser.add_argument("file", nargs="?", help="a TIFF or MRC stack to open")
    parser.add_argument("--screenshot", metavar="FILE", help="save a picture of the window and exit")
    args = parser.parse_args(argv)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    window = ViewerWindow()
    window.show()
    if args.file:
        window.open_path(args.file)
    if args.screenshot:
        app.processEvents()
        ok = window.grab().save(args.screenshot)
        return 0 if ok else 1
    return app.exec()
