"""Scale bars: a round length (1, 2 or 5 x 10^n nm or µm) that fits what is on screen.

On screen the bar follows zoom, pan and resize and is never more than :data:`FRACTION` of
the visible width; in an exported figure it is sized on the whole image the same way.
"""

from __future__ import annotations

import math

import pyqtgraph as pg

from emdenoise_gui.gui.panels.profile_plot import format_nm

#: Longest bar as a fraction of the width it is drawn over.
FRACTION = 0.25


def nice_length(target: float) -> float:
    """The largest 1, 2 or 5 x 10^k not above ``target`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(target))
    return max(m * power for m in (1, 2, 5) if m * power <= target * (1 + 1e-9))


def bar_length_nm(width_px: float, pixel_nm: float, fraction: float = FRACTION) -> float:
    """Round bar length in nm for a width of ``width_px`` px of ``pixel_nm`` nm: at most ``fraction`` of it."""
    return nice_length(max(width_px, 1e-9) * pixel_nm * fraction)


class ScaleBar(pg.ScaleBar):
    """A white bar with its length above it, at the bottom right of a view; sized on the visible width.

    ``pixel_nm`` is the x pixel size in nm. Redrawn when the view's range or size changes. ``sized_by``: the
    view whose visible width sets the length (default its own): linked views a pixel apart in width showed
    500 nm beside 200 nm at the same zoom.
    """

    def __init__(self, pixel_nm: float, sized_by: pg.ViewBox | None = None):
        super().__init__(size=1.0, width=6, brush="w", pen=pg.mkPen("k"), suffix="", offset=(-20, -20))
        self.pixel_nm = float(pixel_nm)
        self.length_nm, self.sized_by = 0.0, sized_by
        self.text.fill = pg.mkBrush(0, 0, 0, 170)  # readable over bright cytoplasm too: white, bold, on black
        self.text.setColor("w")
        font = self.text.textItem.font()
        font.setBold(True)
        self.text.setFont(font)
        self.setZValue(30)

    def updateBar(self) -> None:
        view = self.parentItem()
        if view is None:
            return
        visible_px = (self.sized_by or view).viewRect().width()
        if visible_px > 0:
            self.length_nm = bar_length_nm(visible_px, self.pixel_nm)
            self.size = self.length_nm / self.pixel_nm
            self.text.setText(format_nm(self.length_nm))
        super().updateBar()


def add_scale_bar(view: pg.ViewBox, pixel_nm: float, sized_by: pg.ViewBox | None = None) -> ScaleBar:
    """A :class:`ScaleBar` in ``view``, following its zoom and size (its length from ``sized_by``'s width)."""
    bar = ScaleBar(pixel_nm, sized_by)
    bar.setParentItem(view)  # connects sigRangeChanged
    view.sigResized.connect(bar.updateBar)
    bar.updateBar()
    return bar


def remove_scale_bar(view: pg.ViewBox, bar: ScaleBar) -> None:
    view.sigRangeChanged.disconnect(bar.updateBar)
    view.sigResized.disconnect(bar.updateBar)
    view.scene().removeItem(bar)
