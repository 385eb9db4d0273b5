"""Uneven illumination and shading: the image's smooth background, divided out or subtracted.

A microscopist's classical answer to support-film shading (multiplicative: it dims the image by a
smooth pattern) and charging (additive smooth blobs) is a flat-field correction against the image's
own heavily smoothed copy. These functions are the filters ``flat-field``, ``background-subtract``
and their 3-slice-mean versions ``flat-field-avg`` and ``background-subtract-avg`` of
``core.baselines``. Conventions as there: float32 images on the working scale, roughly [0, 1];
sizes in pixels.

The background is a Gaussian of :data:`BACKGROUND_SIGMA` px, computed on a 4x block-mean copy and
interpolated back (0.65 s instead of 6.1 s for a 4096^2 slice on a 2-core Zen 2; the two differ by
less than 1e-4 away from the border, up to 3.3e-3 at the border of an image whose sides are not
multiples of 4). It spans hundreds of pixels, so these filters
see the whole slice at once instead of tiles (``Filter.whole_slice``). What it costs: any real
structure larger than about 100 px (a nucleus, a dark blood vessel) is flattened with the shading.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi

#: Width (sigma, px) of the Gaussian background. On the quality benchmark's FlyEM film and charge
#: conditions (shading with a 64 px correlation length) 48 px scored best of 16, 32, 48 and 64.
BACKGROUND_SIGMA = 48.0
_BLOCK = 4  # px: the block-mean step of the background's low-resolution copy
_FLOOR = 1e-3  # a level (working-scale units) at or below which there is nothing to divide out
#: The least background a pixel is divided by, as a fraction of the slice's level: at most 4x gain, so
#: a dark region (resin, a hole) is not blown up into noise.
GAIN_FLOOR = 0.25


def outside(img: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels in perfectly flat 3 x 3 windows at the image's lowest or highest value, i.e.
    an aligned stack's zero margins or clipped regions: no data, left out of the background and level
    and passed through unchanged."""
    low, high = img == img.min(), img == img.max()
    window = np.ones((3, 3), bool)
    cores = ndi.binary_erosion(low, window, border_value=1) | ndi.binary_erosion(high, window, border_value=1)
    if not cores.any():  # no flat window at an extreme: the usual case
        return np.zeros(img.shape, bool)
    return (low | high) & ndi.binary_dilation(cores, window)  # with the region's edge pixels


def _smooth(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian of ``sigma`` px (reflected at the borders) of a float32 (H, W) image, computed on its 4x
    block means and interpolated back; float32 (H, W)."""
    h, w = img.shape
    padded = np.pad(img, ((0, -h % _BLOCK), (0, -w % _BLOCK)), mode="reflect")
    small = padded.reshape(padded.shape[0] // _BLOCK, _BLOCK, padded.shape[1] // _BLOCK, _BLOCK)
    small = ndi.gaussian_filter(small.mean(axis=(1, 3), dtype=np.float32), sigma / _BLOCK, mode="reflect")
    return ndi.zoom(small, _BLOCK, order=1, grid_mode=True, mode="nearest")[:h, :w].astype(np.float32)


def background(img: np.ndarray, sigma: float = BACKGROUND_SIGMA, valid: np.ndarray | None = None) -> np.ndarray:
    """The smooth background of a float32 (H, W) image: its Gaussian of ``sigma`` px, over the ``valid``
    pixels only where a (H, W) bool mask is given (a normalised convolution: a margin neither darkens
    nor brightens the data beside it); where no valid pixel is near, the valid pixels' mean. float32."""
    if valid is None or valid.all():  # the usual case: one smoothing, not two
        return _smooth(img, sigma)
    total = _smooth(np.where(valid, img, 0.0).astype(np.float32), sigma)
    share = _smooth(valid.astype(np.float32), sigma)
    near = share > 1e-3
    if near.all():
        return (total / share).astype(np.float32)
    level = float(img[valid].mean()) if valid.any() else 0.0
    return np.where(near, total / np.maximum(share, 1e-3), level).astype(np.float32)


def _corrected(img: np.ndarray, divide: bool) -> np.ndarray:
    valid = ~outside(img)
    if not valid.any():
        return img.astype(np.float32, copy=True)
    level = float(img[valid].mean(dtype=np.float64))
    if divide and level <= _FLOOR:
        return img.astype(np.float32, copy=True)
    back = background(img, valid=valid)
    out = img * (level / np.maximum(back, GAIN_FLOOR * level)) if divide else img - back + level
    return np.where(valid, out, img).astype(np.float32)


def divided(img: np.ndarray) -> np.ndarray:
    """Flat-field correction: ``img`` divided by its background, at its level (the mean of its data:
    margins and clipped regions left out, and passed through); float32 (H, W). An image whose level is
    not above :data:`_FLOOR` (black, or negative on the working scale) comes back unchanged (a copy)."""
    return _corrected(img, divide=True)


def subtracted(img: np.ndarray) -> np.ndarray:
    """Background subtraction: ``img`` less its background, at its level (as :func:`divided`); float32."""
    return _corrected(img, divide=False)
