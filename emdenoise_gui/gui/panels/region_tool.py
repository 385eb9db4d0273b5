"""The Region tool: a yellow dashed box the user drags over the part of a slice to preview or denoise.

The box is mirrored in both views like the IQR box. Coordinates are px of the original
image; regions are half-open (y0, x0, y1, x1), clipped to the image.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore

from emdenoise_gui.gui.panels.profile_plot import MirroredRect

REGION_PEN = pg.mkPen("#ffd23f", width=2, style=QtCore.Qt.PenStyle.DashLine)
#: A new region covers this fraction of the visible part of the image, centred on it.
START_FRACTION = 0.5


class RegionTool:
    """A :class:`MirroredRect` in ``views`` that is placed over the visible part when switched on."""

    def __init__(self, views):
        self.box = MirroredRect(views, REGION_PEN)
        self.box.setVisible(False)
        self.on = False
        self._shape: tuple[int, int] | None = None
        self._placed = False

    def set_image(self, shape: tuple[int, int]) -> None:
        """A (Y, X) image of ``shape`` px is shown; a region of another image size is placed anew."""
        if shape != self._shape:
            self._shape, self._placed = shape, False
            self.box.set_bounds(*shape)

    def set_on(self, on: bool, visible: tuple[int, int, int, int] | None) -> None:
        """Show or hide the box; the first time on an image, put it over ``visible`` (y0, y1, x0, x1) px."""
        self.on = bool(on)
        shown = self.on and self._shape is not None
        if shown and not self._placed:
            y0, y1, x0, x1 = visible or (0, self._shape[0], 0, self._shape[1])
            height, width = (max(1, round((y1 - y0) * START_FRACTION)), max(1, round((x1 - x0) * START_FRACTION)))
            top, left = y0 + (y1 - y0 - height) // 2, x0 + (x1 - x0 - width) // 2
            self.box.set_rect((top, left, top + height, left + width))
            self._placed = True
        self.box.setVisible(shown)

    def region(self) -> tuple[int, int, int, int] | None:
        """Half-open (y0, x0, y1, x1) px clipped to the image; None when off, without an image or empty."""
        if not self.on or self._shape is None:
            return None
        return self.box.rect(self._shape)

    def set_region(self, rect: tuple[int, int, int, int]) -> None:
        """Move the box to half-open (y0, x0, y1, x1) px."""
        self.box.set_rect(rect)
        self._placed = True
