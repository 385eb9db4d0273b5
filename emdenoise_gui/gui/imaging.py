"""Numpy images to Qt pictures (thumbnails, icons, figures) and contrast limits for display."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui


def stretch_to_uint8(image: np.ndarray, low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """(H, W) any real dtype -> (H, W) uint8, percentiles ``low``..``high`` mapped to 0..255."""
    data = np.asarray(image, dtype=np.float32)
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return np.zeros(data.shape, np.uint8)
    lo, hi = np.percentile(finite, [low, high])
    scaled = (np.nan_to_num(data, nan=lo) - lo) / max(hi - lo, 1e-12)
    return (np.clip(scaled, 0, 1) * 255).astype(np.uint8)


#: Longest side read when contrast limits are estimated: percentiles of a 4096^2 slice take 0.2 s.
LEVELS_SIDE = 1024


def level_sample(image: np.ndarray) -> np.ndarray:
    """The pixels of a (Y, X) ``image`` contrast limits are read from: a regular grid of about
    :data:`LEVELS_SIDE` px a side (the whole image when smaller); a view, not a copy."""
    step = max(1, -(-max(image.shape) // LEVELS_SIDE))
    return image[::step, ::step]


def percentile_levels(image: np.ndarray, percentiles=(0.5, 99.5)) -> tuple[float, float]:
    """Contrast limits (lo < hi, in the image's values) from two percentiles of a (Y, X) image.

    Images longer than :data:`LEVELS_SIDE` px are read on a regular grid of about that many
    px a side (exact for smaller ones). NaN and infinite values are left out (an image of -inf edges
    showed black at every contrast); a flat image gives (v, v + 1), one with no finite value (0, 1).
    """
    return auto_levels(image, percentiles)[0]


def auto_levels(image: np.ndarray, percentiles=(0.5, 99.5)) -> tuple[tuple[float, float], bool]:
    """(:func:`percentile_levels` of ``image``, whether they are a stand-in: the percentiles met, the image
    flat or without a finite value, so they say nothing of the stack's range)."""
    sample = np.asarray(level_sample(image))
    if sample.dtype.kind == "f":
        sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return (0.0, 1.0), True
    lo, hi = (float(v) for v in np.percentile(sample, percentiles))
    return ((lo, hi), False) if hi > lo else ((lo, lo + 1.0), True)


def render_levels(image: np.ndarray, levels: tuple[float, float], lut: np.ndarray | None = None) -> QtGui.QImage:
    """(H, W) array shown between ``levels`` (lo black, hi white) as an owned QImage.

    ``lut`` (N, 3) uint8 colours replaces the grey ramp when given (a colour map set on the
    histogram). NaN (no result there) is black.
    """
    lo, hi = (float(v) for v in levels)
    image = np.asarray(image)
    if image.dtype in (np.uint8, np.uint16):  # one table look-up per pixel instead of float arithmetic
        index = _to_index(np.arange(np.iinfo(image.dtype).max + 1, dtype=np.float32), lo, hi)[image]
    else:
        index = _to_index(image.astype(np.float32, copy=False), lo, hi)
    height, width = index.shape
    if lut is None:
        data, fmt, line = np.ascontiguousarray(index), QtGui.QImage.Format.Format_Grayscale8, width
    else:
        table = np.asarray(lut, dtype=np.uint8)[:, :3]
        table = table[np.linspace(0, len(table) - 1, 256).round().astype(int)]
        data, fmt, line = np.ascontiguousarray(table[index]), QtGui.QImage.Format.Format_RGB888, 3 * width
    return QtGui.QImage(data.data, width, height, line, fmt).copy()  # detach from the numpy buffer


def _to_index(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """float32 values -> uint8 0..255 between ``lo`` and ``hi`` (NaN -> 0)."""
    scaled = values - np.float32(lo)  # a new array, then worked on in place
    scaled *= np.float32(255 / max(hi - lo, 1e-12))
    np.clip(scaled, 0, 255, out=scaled)
    np.nan_to_num(scaled, copy=False, nan=0.0)
    return scaled.astype(np.uint8)


def to_qimage(image: np.ndarray) -> QtGui.QImage:
    """(H, W) array -> an owned 8-bit greyscale QImage (contrast-stretched)."""
    data = np.ascontiguousarray(stretch_to_uint8(image))
    height, width = data.shape
    qimage = QtGui.QImage(data.data, width, height, width, QtGui.QImage.Format.Format_Grayscale8)
    return qimage.copy()  # detach from the numpy buffer


def thumbnail(image: np.ndarray, size: int = 64) -> QtGui.QPixmap:
    """A square-bounded pixmap of at most ``size`` px, keeping the aspect ratio."""
    step = max(1, max(image.shape) // (size * 2))
    pixmap = QtGui.QPixmap.fromImage(to_qimage(image[::step, ::step]))
    return pixmap.scaled(size, size, aspectMode=QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                         mode=QtCore.Qt.TransformationMode.SmoothTransformation)
