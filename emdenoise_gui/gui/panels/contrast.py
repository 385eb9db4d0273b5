"""One histogram sets the contrast of both compare images, kept apart for plain and high-pass views.

Limits are grey values (or high-pass values: around 0) of the original, lo < hi; the result
shares them, except a residual, which keeps its own symmetric limits. The limits of the kind
not on screen are kept for when it is (switching High-pass off gives the old contrast back).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from emdenoise_gui.gui.imaging import level_sample, percentile_levels

KINDS = ("raw", "high_pass")
AUTO_PERCENTILES = (0.5, 99.5)


class Contrast:
    """A ``HistogramLUTWidget`` driving two ImageItems; limits per kind of image shown."""

    def __init__(self, items: list[pg.ImageItem]):
        self.items = items
        self.limits: dict[str, tuple[float, float] | None] = dict.fromkeys(KINDS)
        self.shown = "raw"  # the kind on screen
        self.own_right = False  # the right image shows a residual with its own limits
        self.histogram = pg.HistogramLUTWidget()
        self.histogram.setImageItem(items[0])
        self.histogram.item.axis.setLabel("Grey value")
        self.histogram.item.sigLevelsChanged.connect(self._on_changed)
        self.histogram.item.sigLookupTableChanged.connect(lambda _: items[1].setLookupTable(items[0].lut))

    def forget(self) -> None:
        """A new stack: limits are estimated again from its first slice shown."""
        self.limits = dict.fromkeys(KINDS)

    def show(self, kind: str, original: np.ndarray, own_right: bool) -> tuple[float, float]:
        """``kind`` of image is now on screen, ``original`` its (Y, X) left image: its limits (auto
        from the 0.5 / 99.5 percentiles the first time). ``own_right``: the right image keeps its own."""
        self.shown, self.own_right = kind, own_right
        if self.limits[kind] is None:
            self.limits[kind] = percentile_levels(original, AUTO_PERCENTILES)
        return self.limits[kind]

    def apply(self, levels) -> None:
        """Set the limits of what is on screen, on the histogram and both images."""
        lo, hi = (float(v) for v in levels)
        self.limits[self.shown] = (lo, hi)
        self.histogram.item.setLevels(lo, hi)  # emits nothing when unchanged, so set the items too
        self.items[0].setLevels((lo, hi))
        if not self.own_right:
            self.items[1].setLevels((lo, hi))

    def set(self, kind: str, lo: float, hi: float) -> None:
        """Limits for ``kind``: applied now if it is on screen, else kept for when it is."""
        if kind == self.shown:
            self.apply((lo, hi))
        else:
            self.limits[kind] = (float(lo), float(hi))

    def lookup_table(self) -> np.ndarray | None:
        """The colour map as (256, 3) uint8, or None for plain grey."""
        item = self.histogram.item
        return None if item.gradient.isLookupTrivial() else item.getLookupTable(n=256, alpha=False)

    def _on_changed(self, histogram) -> None:
        lo, hi = histogram.getLevels()
        self.limits[self.shown] = (float(lo), float(hi))
        if not self.own_right:  # the residual keeps its own symmetric contrast
            self.items[1].setLevels((lo, hi))


def residual_image(original: np.ndarray, result: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """Original − result as float32 (Y, X), and its own symmetric limits (± the 99.5th percentile of
    the absolute residual), so what the denoiser removed shows as grey around mid-grey."""
    residual = np.subtract(original, result, dtype=np.float32)
    bound = percentile_levels(np.abs(level_sample(residual)), (0.0, AUTO_PERCENTILES[1]))[1]  # abs of the grid only
    return residual, (-bound, bound)
