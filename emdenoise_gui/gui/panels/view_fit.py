"""What the compare view's image views show: the whole image fitted, or where the user put it.

pyqtgraph's auto-range is off; :class:`ViewFit` keeps a goal instead: ``"fit"`` (the whole
image, re-fitted whenever the views resize), a kept rectangle (a mode change or a restored
view: its centre and height are kept while the width changes), or None once the user panned
or zoomed. Coordinates are view px of the original image ([x, y, w, h] rectangles).
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6 import QtCore


class ViewFit:
    """The fitting goal of ``view`` (the left view; the right one is linked to it)."""

    def __init__(self, view: pg.ViewBox):
        self.view = view
        self.goal: str | QtCore.QRectF | None = "fit"
        self.shape: tuple[int, int] | None = None  # (Y, X) px of the image shown
        self.ratio = 1.0  # an image px's screen width over its height: x nm / y nm (pyqtgraph's aspect ratio)

    def set_pixel_size(self, voxel_nm: tuple[float, float, float] | None, views) -> None:
        """Draw pixels of ``voxel_nm`` (z, y, x) as their true shape in ``views`` (square when unknown): pixels
        of 2 nm by 4 nm were drawn square, the image squashed to half its height (viewer audit)."""
        y, x = (float(voxel_nm[1]), float(voxel_nm[2])) if voxel_nm else (1.0, 1.0)
        ratio = x / y if y > 0 and x > 0 and math.isfinite(x / y) else 1.0
        if ratio != self.ratio:
            self.ratio = ratio
            for view in views:
                view.setAspectLocked(True, ratio=ratio)

    def fit(self) -> None:
        """Fit the whole image, and keep it fitted until the user pans or zooms."""
        self.goal = "fit"
        self.apply()

    def forget(self, *_) -> None:
        """The user panned or zoomed: leave the view where they put it."""
        self.goal = None

    def keep(self, rect: QtCore.QRectF | None = None) -> None:
        """Keep ``rect`` (default: what is on screen, unless the goal is "fit") across resizes."""
        if rect is not None or self.goal is None:
            self.goal = rect if rect is not None else self.view.viewRect()
        self.apply()

    def zoom(self, factor: float) -> None:
        """Zoom in (``factor`` > 1) or out around the centre; the user's view from then on."""
        if self.shape is not None:
            self.view.scaleBy((1 / factor, 1 / factor))
            self.forget()

    def pan(self, right: float, down: float) -> None:
        """Move the view by ``right`` of its visible width and ``down`` of its height (negative: left, up);
        the user's view from then on."""
        if self.shape is not None:
            rect = self.view.viewRect()
            self.view.translateBy(x=right * rect.width(), y=down * rect.height())
            self.forget()

    def apply(self) -> None:
        """Re-fit the image, or keep a kept view's centre and height, after the views resized.

        Views resize when the mode shows or hides the right one; linked views then push
        their stale ranges at each other, so the goal is applied again at every resize.
        """
        view, goal = self.view, self.goal
        size = view.boundingRect()
        if goal is None or self.shape is None or size.height() <= 0:
            return
        if goal == "fit":
            goal = QtCore.QRectF(0, 0, self.shape[1], self.shape[0])
            if goal.width() * self.ratio / goal.height() > size.width() / size.height():
                view.setRange(goal, padding=0)
                return
        half = goal.height() * size.width() / size.height() / self.ratio / 2
        centre = goal.center().x()
        view.setRange(xRange=(centre - half, centre + half), yRange=(goal.top(), goal.bottom()), padding=0)

    def visible_region(self) -> tuple[int, int, int, int] | None:
        """(y0, y1, x0, x1) px of the image on screen, clipped to it; None without an image."""
        if self.shape is None:
            return None
        rect = self.view.viewRect()
        height, width = self.shape
        y0, y1 = max(0, int(rect.top())), min(height, math.ceil(rect.bottom()))
        x0, x1 = max(0, int(rect.left())), min(width, math.ceil(rect.right()))
        return (y0, y1, x0, x1) if y1 > y0 and x1 > x0 else None
