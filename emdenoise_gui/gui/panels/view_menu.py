"""The right-click menu of the compare view's images: figures and the Region tool's jobs.

:class:`ImageViewBox` is the views' ViewBox: a right click (without dragging) asks for the
menu instead of pyqtgraph's axis menu. :class:`ViewMenu` holds the entries; the compare view
shows it and receives what they ask for.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from emdenoise_gui.gui.panels import figure
from emdenoise_gui.gui.panels.background import Background

FILE_FILTERS = "PNG image (*.png);;SVG drawing (*.svg)"


class ImageViewBox(pg.ViewBox):
    """A ViewBox whose right click emits ``menu_requested(QPoint)`` (global screen position)."""

    menu_requested = QtCore.Signal(object)

    def raiseContextMenu(self, ev) -> None:
        self.menu_requested.emit(ev.screenPos().toPoint())


class ViewMenu(QtWidgets.QMenu):
    """Save figure…, Copy figure, Include line profile; Preview / Denoise this region.

    ``view`` is the compare view: it has ``region()``, ``has_image()``, ``line_action``,
    ``region_action``, ``figure_name()`` and the ``region_*_requested`` signals.
    """

    def __init__(self, view):
        super().__init__(view)
        self.view = view
        self.save_action = self.addAction("Save figure…", self.save_dialog)
        self.save_action.setToolTip("Both images side by side at full resolution, with titles and scale bar, "
                                    "as PNG or SVG")
        self.copy_action = self.addAction("Copy figure to clipboard", self.copy)
        self.profile_action = self.addAction("Include line profile in figure")
        self.profile_action.setCheckable(True)
        self.addSeparator()
        self.preview_action = self.addAction(
            "Preview this region", lambda: view.region_preview_requested.emit(view.region()))
        self.denoise_action = self.addAction(
            "Denoise this region", lambda: view.region_denoise_requested.emit(view.region()))
        self.addSeparator()
        self.fit_action = self.addAction("Fit image to window (0)", view.reset_view)
        self.setToolTipsVisible(True)
        self.background = Background(self)
        self.background.done.connect(self._done)
        self.background.failed.connect(self._not_saved)
        self._copies = 0  # the number of the last copy asked for: an earlier one that ends later is dropped

    def update_entries(self) -> None:
        """Enable what makes sense now: figures need an image, region jobs the Region tool."""
        has_image = self.view.has_image()
        for action in (self.save_action, self.copy_action, self.fit_action):
            action.setEnabled(has_image)
        self.profile_action.setEnabled(has_image and self.view.line_action.isChecked())
        region = self.view.region() is not None
        tip = "" if region else "Switch on the Region tool in the toolbar first"
        for action in (self.preview_action, self.denoise_action):
            action.setEnabled(region)
            action.setToolTip(tip)

    def show_at(self, position) -> None:
        self.update_entries()
        self.popup(position)

    def with_profile(self) -> bool:
        return self.profile_action.isChecked() and self.profile_action.isEnabled()

    def save_dialog(self) -> None:
        """Ask for a file name and save the figure there (PNG or SVG by the suffix); the file is
        written on a background thread (encoding a 4096^2 figure takes seconds)."""
        name, chosen = QtWidgets.QFileDialog.getSaveFileName(
            self.view, "Save figure", self.view.figure_name() + ".png", FILE_FILTERS)
        if name:
            path = Path(name)
            if path.suffix.lower() not in figure.SUFFIXES:  # no suffix typed: the chosen file type's
                from emdenoise_gui.gui.dialogs import with_suffix_asked

                path = with_suffix_asked(self.view, path, ".svg" if "svg" in chosen.lower() else ".png")
            if path is not None:
                self.save(path)

    def save(self, path: Path) -> None:
        """Compose the figure now and write it to ``path`` in the background."""
        with _busy():
            composed = figure.Figure(self.view, self.with_profile())
        self.view.hover.emit(f"Saving the figure to {path}…")
        self.background.submit(("save", str(path)), composed.save, path)

    def _done(self, key, value) -> None:
        if key[0] == "save":
            self.view.hover.emit(f"Figure saved to {value}")
        elif key[1] == self._copies:  # the clipboard is the GUI thread's
            QtWidgets.QApplication.clipboard().setImage(value)
            self.view.hover.emit(f"Figure copied ({value.width()} × {value.height()} px): paste it into "
                                 "slides or a document")

    def _not_saved(self, key, message: str) -> None:
        what = f"saved to {key[1]}" if key[0] == "save" else "copied"
        QtWidgets.QMessageBox.warning(self.view, "Figure not " + what.split()[0],
                                      f"The figure was not {what}:\n{message}")

    def copy(self) -> None:
        """Compose the figure now and paint it in the background (seconds for a large slice), then put it
        on the clipboard."""
        with _busy():
            composed = figure.Figure(self.view, self.with_profile())
        self._copies += 1
        self.view.hover.emit("Copying the figure…")
        self.background.submit(("copy", self._copies), composed.to_image)


@contextlib.contextmanager
def _busy():
    """A wait cursor for the fraction of a second a large figure takes to compose."""
    QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QtWidgets.QApplication.restoreOverrideCursor()
