"""A slice with rectangles the user draws on it: blank-region noise boxes, or one training region."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from emdenoise_gui.gui.imaging import thumbnail
from emdenoise_gui.gui.panels.background import run_later

#: Smallest side (px) of a blank-region box: the cyclic GAN trains on crops of at least this.
MIN_BOX = 32
PATCH_PREVIEWS = 6
PREVIEW_PX = 72


def read_slice(path: str) -> np.ndarray:
    """The middle slice of the stack at ``path`` as (Y, X) float32."""
    from emdenoise_gui.core.io import open_stack

    with open_stack(path) as stack:
        return np.asarray(stack[len(stack) // 2], dtype=np.float32)


def clear_row(row: QtWidgets.QBoxLayout) -> None:
    """Delete every widget of a row of thumbnails but its last item (the stretch that keeps them left)."""
    while row.count() > 1:
        widget = row.takeAt(0).widget()
        if widget is not None:
            widget.deleteLater()


class BoxCanvas(QtWidgets.QWidget):
    """Shows the middle slice of a stack; the user adds, moves, resizes and removes rectangles.

    ``single``: one region (yellow) instead of many noise boxes (pink). ``boxes()`` gives them as
    half-open (y0, y1, x0, x1) px clipped to the slice; ``changed()`` fires on every edit. With
    ``show_patches`` a row of thumbnails previews what is inside the boxes. ``name``: what a screen reader
    calls the slice view.
    """

    changed = QtCore.Signal()

    def __init__(self, single: bool = False, show_patches: bool = False, name: str = "", parent=None):
        super().__init__(parent)
        self.single = single
        self.image: np.ndarray | None = None
        self.path = ""
        self.rois: list[pg.RectROI] = []
        self.view = pg.GraphicsLayoutWidget()
        self.view.setAccessibleName(name)
        self.box = self.view.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.item)
        self.status = QtWidgets.QLabel("Loading the slice…")
        self.patches = QtWidgets.QHBoxLayout()
        self.patches.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)
        if show_patches:
            layout.addLayout(self.patches)
        self.setMinimumHeight(260)

    def load(self, path: str) -> None:
        """Show the middle slice of ``path`` (read off the GUI thread); clears the boxes."""
        self.path = path
        self.clear()
        self.image = None
        self.status.setText("Loading the slice…")
        def work():  # the percentiles too: a quarter second on a 2048 px slice
            image = read_slice(path)
            return image, np.percentile(image, [0.5, 99.5])

        run_later(work, lambda result, error, p=path: self._loaded(p, result, error))

    def _loaded(self, path: str, result, error) -> None:
        if path != self.path:
            return
        if error is not None:
            self.status.setText(f"Cannot show this stack: {error}")
            return
        self.image, (lo, hi) = result
        image = self.image
        self.item.setImage(image, levels=(float(lo), float(hi) if hi > lo else float(lo) + 1))
        self.box.autoRange(padding=0)
        if self.single:
            h, w = image.shape
            self.add_box((h // 4, 3 * h // 4, w // 4, 3 * w // 4))
        self._changed()

    def clear(self) -> None:
        for roi in self.rois:
            self.box.removeItem(roi)
        self.rois = []
        self._changed()

    def add_box(self, rect: tuple[int, int, int, int] | None = None, side: int = 96) -> None:
        """Add a rectangle (y0, y1, x0, x1) px; by default a ``side`` px square on the flattest place
        not covered yet (where blank resin or film usually is), at most a third of the image's shorter side (a
        96 px box covered a whole 96 px slice, membranes included: wizard audit), at least :data:`MIN_BOX`."""
        if self.image is None:
            return
        if rect is None:
            side = min(side, max(MIN_BOX, min(self.image.shape[:2]) // 3), *self.image.shape[:2])
            rect = self._free_flat_window(side)
        y0, y1, x0, x1 = rect
        pen = pg.mkPen("#ffd400" if self.single else "#ff4fa3", width=2)
        roi = pg.RectROI((x0, y0), (x1 - x0, y1 - y0), pen=pen, removable=not self.single,
                         maxBounds=QtCore.QRectF(0, 0, self.image.shape[1], self.image.shape[0]))
        roi.sigRegionChangeFinished.connect(self._changed)
        roi.sigRemoveRequested.connect(self._remove)
        self.box.addItem(roi)
        self.rois.append(roi)
        self._changed()

    def _free_flat_window(self, side: int) -> tuple[int, int, int, int]:
        from emdenoise_gui.core.assess import flat_windows

        taken = self.boxes()
        for y0, x0, y1, x1 in flat_windows(self.image, side, len(taken) + 8):
            if all(y1 <= a or y0 >= b or x1 <= c or x0 >= d for a, b, c, d in taken):
                return y0, y1, x0, x1
        y0, x0, y1, x1 = flat_windows(self.image, side, 1)[0]
        return y0, y1, x0, x1

    def _remove(self, roi) -> None:
        self.box.removeItem(roi)
        self.rois.remove(roi)
        self._changed()

    def boxes(self) -> list[tuple[int, int, int, int]]:
        """Every rectangle as half-open (y0, y1, x0, x1) px inside the slice (empty ones dropped)."""
        if self.image is None:
            return []
        h, w = self.image.shape
        out = []
        for roi in self.rois:
            (x, y), (sx, sy) = roi.pos(), roi.size()
            y0, x0 = max(0, int(round(y))), max(0, int(round(x)))
            y1, x1 = min(h, int(round(y + sy))), min(w, int(round(x + sx)))
            if y1 > y0 and x1 > x0:
                out.append((y0, y1, x0, x1))
        return out

    def _changed(self) -> None:
        boxes = self.boxes()
        if self.image is not None:
            area = sum((y1 - y0) * (x1 - x0) for y0, y1, x0, x1 in boxes)
            if self.single:
                self.status.setText("Drag the yellow box over the part to train on; drag its corner to resize.")
            else:
                self.status.setText(f"{len(boxes)} box{'es' if len(boxes) != 1 else ''}, {area:,} px² of noise. Drag a "
                                    "box onto blank resin or "
                                    "film; right-click a box to remove it.")
            self._show_patches(boxes)
        self.changed.emit()

    def _show_patches(self, boxes) -> None:
        clear_row(self.patches)
        for y0, y1, x0, x1 in boxes[:PATCH_PREVIEWS]:
            label = QtWidgets.QLabel()
            label.setPixmap(thumbnail(self.image[y0:y1, x0:x1], PREVIEW_PX))
            label.setToolTip(f"{x1 - x0} x {y1 - y0} px at x {x0}, y {y0}")
            self.patches.insertWidget(self.patches.count() - 1, label)
