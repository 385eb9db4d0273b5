"""One histogram sets the contrast of both compare images, kept apart for plain and high-pass views.

Limits are grey values (or high-pass values: around 0) of the original, lo < hi; the result
shares them, except a residual, which keeps its own symmetric limits. The limits of the kind
not on screen are kept for when it is (switching High-pass off gives the old contrast back).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg

from emdenoise_gui.gui.imaging import auto_levels, level_sample, percentile_levels
from emdenoise_gui.gui.panels.profile_plot import format_value

KINDS = ("raw", "high_pass")
AUTO_PERCENTILES = (0.5, 99.5)


class Contrast:
    """A ``HistogramLUTWidget`` driving two ImageItems; limits per kind of image shown."""

    def __init__(self, items: list[pg.ImageItem]):
        self.items = items
        self.limits: dict[str, tuple[float, float] | None] = dict.fromkeys(KINDS)
        #: kinds whose limits were estimated on a flat slice (a blank first slice of a padded stack made every
        #: other slice white): estimated again on the next slice shown, until one has a spread or the user sets them
        self._stand_in: set[str] = set()
        self._applying = False
        self.shown = "raw"  # the kind on screen
        self.own_right = False  # the right image shows a residual with its own limits
        self.histogram = pg.HistogramLUTWidget()
        self.histogram.setImageItem(items[0])
        self.histogram.item.axis.setLabel("Grey value")
        self.histogram.setAccessibleName("Contrast")
        self.histogram.setToolTip("Contrast of both images: drag its limits")
        self.histogram.item.sigLevelsChanged.connect(self._on_changed)
        self.histogram.item.sigLookupTableChanged.connect(lambda _: items[1].setLookupTable(items[0].lut))

    def forget(self) -> None:
        """A new stack: limits are estimated again from its first slice shown."""
        self.limits = dict.fromkeys(KINDS)
        self._stand_in.clear()

    def show(self, kind: str, original: np.ndarray, own_right: bool) -> tuple[float, float]:
        """``kind`` of image is now on screen, ``original`` its (Y, X) left image: its limits (auto
        from the 0.5 / 99.5 percentiles the first time, and again while the slices shown were flat).
        ``own_right``: the right image keeps its own."""
        self.shown, self.own_right = kind, own_right
        if self.limits[kind] is None or kind in self._stand_in:
            self.limits[kind], flat = auto_levels(original, AUTO_PERCENTILES)
            (self._stand_in.add if flat else self._stand_in.discard)(kind)
        return self.limits[kind]

    def apply(self, levels) -> None:
        """Set the limits of what is on screen, on the histogram and both images."""
        lo, hi = (float(v) for v in levels)
        if (lo, hi) != self.limits[self.shown]:  # set, not the estimate show() made
            self._stand_in.discard(self.shown)
        self.limits[self.shown] = (lo, hi)
        self._applying = True
        try:
            self.histogram.item.setLevels(lo, hi)  # emits nothing when unchanged, so set the items too
        finally:
            self._applying = False
        self.items[0].setLevels((lo, hi))
        if not self.own_right:
            self.items[1].setLevels((lo, hi))

    def set(self, kind: str, lo: float, hi: float) -> None:
        """Limits for ``kind``: applied now if it is on screen, else kept for when it is."""
        self._stand_in.discard(kind)
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
        if not self._applying:  # dragged by the user
            self._stand_in.discard(self.shown)
        self.limits[self.shown] = (float(lo), float(hi))
        if not self.own_right:  # the residual keeps its own symmetric contrast
            self.items[1].setLevels((lo, hi))


def residual_image(original: np.ndarray, result: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """Original − result as float32 (Y, X), and its own symmetric limits (± the 99.5th percentile of
    the absolute residual), so what the denoiser removed shows as grey around mid-grey."""
    residual = np.subtract(original, result, dtype=np.float32)
    bound = percentile_levels(np.abs(level_sample(residual)), (0.0, AUTO_PERCENTILES[1]))[1]  # abs of the grid only
    return residual, (-bound, bound)


#: a result whose middle 99 % of values lies mostly outside the original's, or spans more than this many times
#: the original's (or less than its inverse), is on another scale (a [0, 1] float result beside uint16 data
#: showed black under the original's contrast). Wide: a good denoiser's result of very noisy data spans a
#: twentieth of the input, a preview of a flat box less
OTHER_SCALE = 100.0


@dataclass(frozen=True)
class ScaleMatch:
    """A result on another scale than its original, shown as ``gain * value + offset`` so the original's
    contrast fits it; ``lo``, ``hi``: the result's own 0.5 / 99.5 percentiles (its values, for the title)."""

    gain: float
    offset: float
    lo: float
    hi: float

    @classmethod
    def between(cls, original: np.ndarray, result: np.ndarray) -> "ScaleMatch | None":
        """The match from ``result``'s (Y, X) values to ``original``'s, or None when they share a scale. Where
        the result has no values (NaN: a region's preview), the original is not compared either."""
        original, result = level_sample(original), level_sample(result)
        known = np.isfinite(result)
        original, result = original[known], result[known]  # (N,) each
        if not result.size:
            return None
        (o_lo, o_hi), (r_lo, r_hi) = _levels(original), _levels(result)
        o_span, r_span = o_hi - o_lo, r_hi - r_lo
        overlap = min(o_hi, r_hi) - max(o_lo, r_lo)
        if 1 / OTHER_SCALE <= r_span / o_span <= OTHER_SCALE and overlap >= 0.5 * r_span:
            return None
        gain = o_span / r_span
        return cls(gain, o_lo - gain * r_lo, r_lo, r_hi)

    def shown(self, image: np.ndarray, kind: str) -> np.ndarray:
        """``image`` (Y, X) on the original's scale as float32: a high-pass (around 0) is scaled only."""
        out = np.multiply(image, np.float32(self.gain), dtype=np.float32)
        return out if kind == "high_pass" else np.add(out, np.float32(self.offset), out=out)

    def words(self) -> str:
        """The note a pane title carries (short: a title elides its middle)."""
        return f"another scale ({format_value(self.lo)}–{format_value(self.hi)}), stretched"


def _levels(values: np.ndarray) -> tuple[float, float]:
    """The :data:`AUTO_PERCENTILES` of (N,) values, their finite ones only; lo < hi (a flat set: (v, v + 1),
    none finite: (0, 1)), as :func:`percentile_levels` gives them for an image."""
    values = values[np.isfinite(values)]
    if not values.size:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(values, AUTO_PERCENTILES))
    return lo, hi if hi > lo else lo + 1.0
