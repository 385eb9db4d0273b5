"""What a stack is like, measured from its pixels: the facts the app uses to choose a model for it.

* :func:`adjacent_similarity`: how alike neighbouring slices are (NRRN learns from that).
* :func:`noise_sigma`: the pixel noise's standard deviation, in the image's grey values.
* :func:`flattest_region`: the window with the least structure (for the IQR box, dose estimates).
* :func:`estimate_dose`: shot-noise counts per pixel at the image mean, from flat regions.

All take images as (Y, X) arrays of any real dtype (stacks as anything with ``len`` and
``[z]`` giving such slices) and compute in float64; none changes its input.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from emdenoise_gui.core.fill import fill_mask
from emdenoise_gui.core.shading import outside

#: Side (px) of the centre crop each measurement reads: enough pixels, bounded time on 4096^2 slices.
CROP = 512
#: Immerkaer's noise kernel: zero on any locally linear image; 6 sigma on white noise of sigma.
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)
_MAD_TO_SIGMA = 1.4826


def centre_crop(image, size: int = CROP) -> np.ndarray:
    """The central ``size`` x ``size`` window of a (Y, X) image (smaller images whole), float64."""
    data = np.asarray(image)
    if data.ndim != 2:
        raise ValueError(f"expected a 2-D image (Y, X), got shape {data.shape}")
    y0, x0 = max(0, (data.shape[0] - size) // 2), max(0, (data.shape[1] - size) // 2)
    return np.asarray(data[y0:y0 + size, x0:x0 + size], dtype=np.float64)


def noise_sigma(image, spread: int = 1) -> float:
    """Standard deviation of the pixel noise of a (Y, X) image, in its grey values.

    Immerkaer's Laplacian-difference residual, made robust to edges with the median absolute
    deviation: structure that is locally linear gives no residual, white noise of ``sigma`` gives
    a residual of ``6 sigma``. Flat regions at the image's lowest or highest value (saturated or
    clipped, the zero margins of an aligned stack: ``shading.outside``) are left out: they hold no
    noise to measure, and where they were half of the window they made the estimate 0. 0.0 when
    nothing else is left; NaN for images smaller than 3 x 3 (than the kernel). ``spread``: the kernel's
    taps that many px apart (2: pixels two apart, which share no noise where neighbours do:
    ``core.risk.white_noise``).
    """
    data = centre_crop(image)
    if min(data.shape) < 2 * spread + 1:
        return math.nan
    kernel = np.zeros((2 * spread + 1,) * 2)
    kernel[::spread, ::spread] = _NOISE_KERNEL
    inner = (slice(spread, -spread),) * 2
    residual = ndimage.convolve(data, kernel, mode="reflect")[inner]
    missing = outside(data)
    if missing.any():  # and the residuals of the pixels the kernel reaches from there, which see their edge
        residual = residual[~ndimage.binary_dilation(missing, np.ones((2 * spread + 1,) * 2, bool))[inner]]
    if residual.size == 0:
        return 0.0
    mad = np.median(np.abs(residual - np.median(residual)))
    return float(_MAD_TO_SIGMA * mad / 6.0)


def _structure(image: np.ndarray) -> np.ndarray:
    """Band-passed (Y, X) float64: noise (< 2 px) and shading (> 16 px) removed, membranes kept."""
    return ndimage.gaussian_filter(image, 2.0) - ndimage.gaussian_filter(image, 16.0)


#: The structure similarity (:func:`adjacent_similarity`) from which neighbouring slices are alike: FIB-SEM
#: stacks a few nm apart give 0.7-0.95, ssTEM sections of 40-50 nm about 0.2-0.45.
ALIKE = 0.6


def adjacent_similarity(stack, pairs: int = 5) -> float | None:
    """Median correlation (-1..1) of the structure of adjacent slices; None for a single slice, or when
    no pair can be compared (flat slices: no structure to correlate).

    Up to ``pairs`` evenly spaced pairs (z, z+1) are compared on their centre crops after a
    band-pass, so independent noise and slow shading do not count. FIB-SEM stacks with slices
    a few nm apart give about 0.7-0.95; unrelated images about 0. NaN or infinite pixels take the
    crop's finite median (one infinite pixel per slice made a FIB-SEM stack read as 0.00, unrelated). An
    aligned stack's fill (``core.fill``) does not count.
    """
    depth = len(stack)
    if depth < 2:
        return None
    starts = np.unique(np.linspace(0, depth - 2, min(pairs, depth - 1)).round().astype(int))
    values = []
    for z in starts:
        a, b = (_finite(centre_crop(stack[int(k)])) for k in (z, z + 1))
        fills = [m for m in (fill_mask(a), fill_mask(b)) if m is not None] if a.shape == b.shape else []
        valid = ~np.logical_or.reduce(fills) if fills else None
        if a.shape == b.shape and (value := structure_similarity(a, b, valid)) is not None:
            values.append(value)
    return float(np.median(values)) if values else None


def structure_similarity(a: np.ndarray, b: np.ndarray, valid: np.ndarray | None = None) -> float | None:
    """The correlation (-1..1) of two (Y, X) images' band-passed structure (:func:`_structure`), or None
    when either has none (flat). ``valid``: a (Y, X) bool mask of the pixels with data in both (an aligned
    stack's fill left out: ``core.fill``); the others take each image's mean before the band-pass and do not
    count (the fill's edges read as structure: aligned FIB-SEM slices 0.93 alike read 0.54; borders audit)."""
    if valid is not None:
        if np.count_nonzero(valid) < 0.1 * valid.size:
            return None
        a, b = (np.where(valid, v, v[valid].mean()) for v in (a, b))
    a, b = _structure(a), _structure(b)
    if valid is not None:
        a, b = a[valid], b[valid]
    a, b = a - a.mean(), b - b.mean()
    denominator = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    return float((a * b).sum()) / denominator if denominator > 0 and math.isfinite(denominator) else None


def _finite(image: np.ndarray, bad: np.ndarray | None = None) -> np.ndarray:
    """``image`` with NaN or infinite pixels (``bad``: their mask, when the caller has it) set to its finite
    median (0 where it has none)."""
    bad = ~np.isfinite(image) if bad is None else bad
    if not bad.any():
        return image
    good = image[~bad]
    return np.where(bad, np.median(good) if good.size else 0.0, image)


def _window_sums(values: np.ndarray, size: int, step: int) -> np.ndarray:
    """Sums of ``values`` over every ``size`` x ``size`` window at multiples of ``step`` px: (NY, NX)."""
    table = np.zeros((values.shape[0] + 1, values.shape[1] + 1))
    table[1:, 1:] = values.cumsum(0).cumsum(1)
    ys = np.arange(0, values.shape[0] - size + 1, step)
    xs = np.arange(0, values.shape[1] - size + 1, step)
    y0, x0 = ys[:, None], xs[None, :]
    return table[y0 + size, x0 + size] - table[y0, x0 + size] - table[y0 + size, x0] + table[y0, x0]


def flat_windows(image, size: int, count: int = 1) -> list[tuple[int, int, int, int]]:
    """The ``count`` flattest ``size`` px windows of a (Y, X) image as half-open (y0, x0, y1, x1).

    "Flat" is the least band-passed structure (its variance in the window), among windows on a
    half-window grid, best first, not overlapping; windows that touch the image's
    extreme values (saturation, zero padding) or hold NaN or infinite pixels are skipped while others
    remain. ``size`` is clipped to the image. The image is read at a reduced scale when larger than 1024 px.
    """
    data = np.asarray(image)
    if data.ndim != 2 or data.size == 0:
        raise ValueError(f"expected a non-empty 2-D image (Y, X), got shape {data.shape}")
    shrink = max(1, int(math.ceil(max(data.shape) / 1024)))
    small = np.asarray(data[::shrink, ::shrink], dtype=np.float64)
    bad = ~np.isfinite(small)  # one NaN spread through every window's sums: the box then sat on it
    small = _finite(small, bad)
    side = max(1, min(int(size) // shrink, *small.shape))
    step = max(1, side // 2)
    band = _structure(small) if min(small.shape) > 8 else small - small.mean()
    energy = _window_sums(band * band, side, step)
    low, high = float(small.min()), float(small.max())
    clipped = _window_sums(((small <= low) | (small >= high) | bad).astype(np.float64), side, step) > 0
    score = np.where(clipped & ~clipped.all(), np.inf, energy)
    chosen: list[tuple[int, int]] = []
    for flat in np.argsort(score, axis=None, kind="stable"):
        iy, ix = np.unravel_index(flat, score.shape)
        if all(max(abs(iy - cy), abs(ix - cx)) >= 2 for cy, cx in chosen):  # no overlap
            chosen.append((int(iy), int(ix)))
        if len(chosen) == count:
            break
    full = min(int(size), *data.shape)
    out = []
    for iy, ix in chosen:
        y0 = min(iy * step * shrink, data.shape[0] - full)
        x0 = min(ix * step * shrink, data.shape[1] - full)
        out.append((y0, x0, y0 + full, x0 + full))
    return out


def flattest_region(image, size: int) -> tuple[int, int, int, int]:
    """The flattest ``size`` px window of a (Y, X) image, half-open (y0, x0, y1, x1) px."""
    return flat_windows(image, size, 1)[0]


def estimate_dose(image, size: int = 32, windows: int = 8) -> float | None:
    """Shot-noise dose (counts per pixel at the image mean) of a (Y, X) image, or None.

    For Poisson counts scaled by a gain ``k``, a flat region of mean ``m`` has variance ``k m``,
    so the dose at the image mean ``M`` is ``M m / var`` (``var`` from :func:`noise_sigma`, which
    ignores locally linear structure). The median over the ``windows``
    flattest ``size`` px windows; None when the image has no positive flat region (a zero or
    negative mean, no variance) or is stored with an offset that makes the estimate meaningless.
    """
    data = np.asarray(image, dtype=np.float64)
    mean = float(data.mean()) if data.size else 0.0
    if data.ndim != 2 or mean <= 0 or min(data.shape) < 8:
        return None
    doses = []
    for y0, x0, y1, x1 in flat_windows(data, size, windows):
        region = data[y0:y1, x0:x1]
        variance = noise_sigma(region) ** 2  # the residual ignores what structure is left in the window
        if variance > 0 and region.mean() > 0:
            doses.append(mean * float(region.mean()) / variance)
    return float(np.median(doses)) if doses else None
