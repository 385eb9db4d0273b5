"""An image item that draws a slice at no more than the screen's resolution.

pyqtgraph converts the whole image it is given to screen colours at every new slice or contrast: 0.4 s of
the GUI thread for an 8000 x 8000 float slice, though a 600 px pane shows one pixel in thirteen of it. Zoomed
out, :class:`ScreenImageItem` hands it every k-th row and column instead (k a power of two, at most the image
pixels per device pixel), stretched over the same place: what the screen shows is the same nearest-pixel
picture Qt draws of the whole image, at 1/k^2 of the work. Zoomed in to one image pixel per screen pixel or
more, the whole image is drawn, as before.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from emdenoise_gui.core.metrics import outlier_limits

#: Bins of the contrast histogram (pyqtgraph's own number).
HISTOGRAM_BINS = 500


class ScreenImageItem(pg.ImageItem):
    """A row-major ImageItem for (Y, X) images, drawn from every :attr:`step`-th pixel when zoomed out.

    :meth:`show` replaces ``setImage`` (``full`` keeps the image as given; ``image`` is what is drawn);
    :meth:`view_changed` follows the view's zoom and size (connected by the view that holds it)."""

    def __init__(self):
        super().__init__(axisOrder="row-major")
        self.full: np.ndarray | None = None
        self.step = 1

    def show(self, image: np.ndarray, levels: tuple[float, float]) -> None:
        """Draw ``image`` (Y, X) between ``levels`` (lo black, hi white), at this zoom's step."""
        self.full = image
        self.step = self.wanted_step()
        self._draw(levels)

    def clear(self) -> None:
        self.full = None
        super().clear()

    def view_changed(self) -> None:
        """The view zoomed or resized: draw again when the step changes (panning keeps it)."""
        step = self.wanted_step()
        if self.full is not None and step != self.step:
            self.step = step
            self._draw(None)

    def wanted_step(self) -> int:
        """The largest power of two not above the image pixels per device pixel of the view (1 when zoomed in,
        or before the view has a size)."""
        view = self.getViewBox()
        if view is None or self.full is None:
            return 1
        try:
            per_pixel = float(view.viewPixelSize()[0])
        except (ZeroDivisionError, TypeError, AttributeError):  # a view not laid out yet
            return 1
        scene = view.scene()
        screens = scene.views() if scene is not None else []
        ratio = screens[0].devicePixelRatioF() if screens else 1.0
        per_device_pixel = per_pixel / max(ratio, 1e-6)
        if not (math.isfinite(per_device_pixel) and per_device_pixel >= 2):
            return 1
        return 1 << int(math.floor(math.log2(per_device_pixel)))

    def getHistogram(self, bins="auto", step="auto", perChannel=False, targetImageSize=200, **kwargs):
        """pyqtgraph's histogram of the drawn image, over the bulk of its values when it has outliers
        (``core.metrics.outlier_limits``): twelve hot pixels of 65535 in a slice of 1012-1060 spread the
        contrast histogram over 0-68 000, its data and both limits in a sliver no one could drag."""
        image = self.image
        if isinstance(bins, str) and bins == "auto" and not perChannel and image is not None and image.size:
            if isinstance(step, str):  # "auto": as pyqtgraph samples it
                step = tuple(max(1, -(-n // targetImageSize)) for n in image.shape[:2])
            elif np.isscalar(step):
                step = (step, step)
            sampled = image[::step[0], ::step[1]]
            limits = outlier_limits(sampled)
            if limits is not None:
                lo, hi = limits
                with np.errstate(invalid="ignore"):
                    lo, hi = max(lo, float(np.nanmin(sampled))), min(hi, float(np.nanmax(sampled)))
                if image.dtype.kind in "ui":
                    width = max(1, math.ceil((hi - lo) / HISTOGRAM_BINS))
                    bins = np.arange(math.floor(lo), math.ceil(hi) + 1.01 * width, width)
                else:
                    bins = np.linspace(lo, hi, HISTOGRAM_BINS)
        return super().getHistogram(bins, step, perChannel, targetImageSize, **kwargs)

    def _draw(self, levels: tuple[float, float] | None) -> None:
        step, full = self.step, self.full
        shown = full if step == 1 else full[::step, ::step]
        self.setImage(shown, autoLevels=False, **({} if levels is None else {"levels": levels}))
        self.setRect(QtCore.QRectF(0, 0, full.shape[1], full.shape[0]))  # the image's own place, whatever the step
