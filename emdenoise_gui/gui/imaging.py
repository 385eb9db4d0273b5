"""Numpy images to Qt pictures (thumbnails, icons)."""

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
