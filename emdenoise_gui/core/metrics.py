"""Image-quality metrics and measurement tools, per image.

Full-reference metrics (MSE, PSNR, SSIM) follow docs/benchmarks.md: both images
are scaled to [0, 1] and clipped to [0, 1] by the caller, and ``data_range`` is 1.
The measurement tools (line profiles, interquartile ranges, high-pass view,
radial power spectrum) work on any float image; coordinates are (y, x) in px.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage
from skimage.metrics import structural_similarity

#: Images above this many pixels are measured in bands of rows: a few float64 copies of a band, not of the
#: image (comparing one 16000 x 16000 slice took 22 GB and was killed)
BAND_PX = 4_000_000


def _pair(ref: np.ndarray, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both images as arrays (not copied) of the same non-empty shape, or ValueError."""
    a, b = np.asarray(ref), np.asarray(img)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.size == 0:
        raise ValueError("images are empty")
    return a, b


def _bands(height: int, width: int, start: int = 0, stop: int | None = None):
    """(r0, r1) row ranges covering rows ``start`` to ``stop`` (default: the last) with about
    :data:`BAND_PX` pixels each (at least one row)."""
    stop = height if stop is None else stop
    rows = max(1, BAND_PX // max(width, 1))
    for r0 in range(start, stop, rows):
        yield r0, min(r0 + rows, stop)


def mse(ref: np.ndarray, img: np.ndarray) -> float:
    """Mean squared error between two float arrays of the same shape (H, W), summed in float64.

    In squared intensity units (images scaled to [0, 1] and clipped).
    """
    a, b = _pair(ref, img)
    if a.ndim != 2:
        return float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    total = 0.0
    for r0, r1 in _bands(*a.shape):
        diff = a[r0:r1].astype(np.float64) - b[r0:r1].astype(np.float64)
        total += float(np.einsum("ij,ij->", diff, diff))
    return total / a.size


def psnr(ref: np.ndarray, img: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB: ``10 * log10(data_range**2 / mse)``.

    ``ref`` and ``img`` are float arrays (H, W) scaled to [0, 1] and clipped;
    returns ``math.inf`` for identical images.
    """
    error = mse(ref, img)
    if error == 0:
        return math.inf
    return float(10.0 * math.log10(data_range**2 / error))


def ssim(ref: np.ndarray, img: np.ndarray, data_range: float = 1.0) -> float:
    """Structural similarity (scikit-image defaults: 7x7 uniform window), in [-1, 1].

    ``ref`` and ``img`` are float arrays (H, W) scaled to [0, 1] and clipped.
    Images under 7 px on a side use the largest odd window that fits (at
    least 3); smaller images raise ValueError. A large image is measured in bands of rows, each with
    the window's reach of rows around it, whose maps together are scikit-image's map of the whole
    image: the same mean (to rounding).
    """
    a, b = _pair(ref, img)
    side = min(a.shape)
    if side < 3:
        raise ValueError(f"SSIM needs images at least 3 px on each side, got shape {a.shape}")
    win_size = 7 if side >= 7 else (side if side % 2 else side - 1)
    if a.ndim != 2 or a.size <= BAND_PX:
        return float(structural_similarity(a.astype(np.float64), b.astype(np.float64), data_range=data_range,
                                           win_size=win_size))
    pad = (win_size - 1) // 2  # scikit-image averages the map without this border
    height, width = a.shape
    total = 0.0
    for r0, r1 in _bands(height, width, pad, height - pad):
        slab = slice(r0 - pad, r1 + pad)  # the rows every window of the band's rows reads
        _, full = structural_similarity(a[slab].astype(np.float64), b[slab].astype(np.float64),
                                        data_range=data_range, win_size=win_size, full=True)
        total += float(full[pad:pad + r1 - r0, pad:width - pad].sum(dtype=np.float64))
    return total / ((height - 2 * pad) * (width - 2 * pad))


def line_profile(
    image: np.ndarray,
    p0: tuple[float, float],
    p1: tuple[float, float],
    width: int = 1,
    order: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Intensities along the segment from ``p0 = (y0, x0)`` to ``p1 = (y1, x1)`` (px).

    One sample per pixel of length, both ends included
    (``N = round(length) + 1``), interpolated with spline ``order`` by
    :func:`scipy.ndimage.map_coordinates` (edge pixels repeat outside the
    image). With ``width > 1`` the profile is the mean over ``width`` parallel
    lines 1 px apart, centred on the segment.

    Parameters
    ----------
    image: float array (H, W).
    p0, p1: end points (y, x) in px, pixel centres at integer coordinates.
    width: number of parallel lines averaged, >= 1.
    order: spline order 0..5 (1 = bilinear).

    Returns ``(distance, values)``: float64 (N,) distance from p0 in px, and
    float64 (N,) intensities.
    """
    data = np.asarray(image)
    if data.ndim != 2:
        raise ValueError(f"expected a 2-D image (H, W), got shape {data.shape}")
    if int(width) != width or width < 1:
        raise ValueError(f"width must be a whole number of lines >= 1, got {width}")
    start = np.asarray(p0, dtype=np.float64)
    end = np.asarray(p1, dtype=np.float64)
    length = float(np.hypot(*(end - start)))
    n = int(round(length)) + 1
    t = np.linspace(0.0, 1.0, n)
    points = start[:, None] + (end - start)[:, None] * t[None, :]  # (2, N)
    if length > 0:
        normal = np.array([end[1] - start[1], -(end[0] - start[0])]) / length
    else:
        normal = np.zeros(2)
    offsets = np.arange(int(width)) - (int(width) - 1) / 2.0
    coords = points[:, None, :] + normal[:, None, None] * offsets[None, :, None]  # (2, W, N)
    if order == 1:  # the pixels next to the samples only: a diagonal across 8000^2 px read 0.5 GB as float64
        samples = _bilinear(data, coords.reshape(2, -1))
    else:
        samples = ndimage.map_coordinates(data.astype(np.float64), coords.reshape(2, -1), order=order, mode="nearest")
    values = samples.reshape(int(width), n).mean(axis=0)
    return t * length, values


def _bilinear(image: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """float64 (M,) values of a (H, W) image of any dtype at ``coords`` (2, M) (y, x) px, interpolated
    bilinearly from the four pixels around each point, coordinates clamped to the image (map_coordinates'
    order 1, mode "nearest")."""
    y = np.clip(coords[0], 0, image.shape[0] - 1)
    x = np.clip(coords[1], 0, image.shape[1] - 1)
    y0, x0 = np.floor(y).astype(np.intp), np.floor(x).astype(np.intp)
    y1, x1 = np.minimum(y0 + 1, image.shape[0] - 1), np.minimum(x0 + 1, image.shape[1] - 1)
    fy, fx = y - y0, x - x0
    at = lambda yy, xx: image[yy, xx].astype(np.float64)  # noqa: E731
    return (at(y0, x0) * (1 - fx) + at(y0, x1) * fx) * (1 - fy) + (at(y1, x0) * (1 - fx) + at(y1, x1) * fx) * fy


def iqr(values: np.ndarray) -> float:
    """Interquartile range (75th minus 25th percentile) of any float array, same units."""
    data = np.asarray(values, dtype=np.float64).ravel()
    if data.size == 0:
        raise ValueError("cannot take the interquartile range of no values")
    q75, q25 = np.percentile(data, [75, 25])
    return float(q75 - q25)


def iqr_line(
    image: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], width: int = 1
) -> float:
    """Interquartile range of :func:`line_profile` values from ``p0`` to ``p1`` (y, x px)."""
    return iqr(line_profile(image, p0, p1, width=width)[1])


def iqr_rect(image: np.ndarray, rect: tuple[int, int, int, int]) -> float:
    """Interquartile range of ``image[y0:y1, x0:x1]`` for ``rect = (y0, x0, y1, x1)``.

    ``image`` is a float array (H, W); bounds are half-open integer pixel
    indices and must satisfy ``0 <= y0 < y1 <= H`` and ``0 <= x0 < x1 <= W``,
    otherwise ValueError.
    """
    data = np.asarray(image)
    if data.ndim != 2:
        raise ValueError(f"expected a 2-D image (H, W), got shape {data.shape}")
    if len(rect) != 4 or any(int(v) != v for v in rect):
        raise ValueError(f"rect must be four whole pixel indices (y0, x0, y1, x1), got {rect}")
    y0, x0, y1, x1 = (int(v) for v in rect)
    height, width = data.shape
    if not (0 <= y0 < y1 <= height and 0 <= x0 < x1 <= width):
        raise ValueError(
            f"rect (y0, x0, y1, x1) = {tuple(rect)} is empty or outside the "
            f"{height}x{width} image; need 0 <= y0 < y1 <= {height} and 0 <= x0 < x1 <= {width}"
        )
    return iqr(data[y0:y1, x0:x1])


#: The bulk of an image's values lies between these percentiles; values further beyond them than
#: OUTLIER_SPANS times their span are outliers (hot, dead or saturated pixels, a stray 1e6 in float data)
OUTLIER_PERCENTILES = (0.5, 99.5)
OUTLIER_SPANS = 1.0
#: Percentiles are read on a regular grid of about this many px a side (the whole image when smaller).
SAMPLE_SIDE = 512


def lone_outliers(image: np.ndarray, limits: tuple[float, float]) -> np.ndarray:
    """Boolean mask, ``image``'s (Y, X) shape: the pixels beyond ``limits`` (:func:`outlier_limits`) whose
    3x3 neighbourhood's median lies within them, i.e. a hot or dead pixel or two, not a feature of several
    pixels (a 5x5 gold bead of 200 among values of 1012-1059 is kept)."""
    lo, hi = limits
    outside = (image < lo) | (image > hi)
    if not outside.any():
        return outside
    median = ndimage.median_filter(image, size=3, mode="mirror")
    return outside & (median >= lo) & (median <= hi)


def outlier_limits(image: np.ndarray) -> tuple[float, float] | None:
    """(lo, hi) outside which an image's values are outliers, in its own units, or None when it has none.

    ``image``: any shape and real dtype. The bulk is read from :data:`OUTLIER_PERCENTILES` of a regular
    grid of about :data:`SAMPLE_SIDE` px a side; the extremes from every pixel (one hot pixel counts).
    Infinite values count as outliers; NaN are left out. A flat bulk (no spread) gives None: nothing to
    tell outliers by.
    """
    data = np.asarray(image)
    if data.size == 0 or data.dtype.kind not in "uif":
        return None
    step = max(1, -(-max(data.shape) // SAMPLE_SIDE))
    sample = data[(slice(None, None, step),) * data.ndim].astype(np.float64).ravel()
    sample = sample[np.isfinite(sample)]
    if sample.size < 2:
        return None
    p_lo, p_hi = (float(v) for v in np.percentile(sample, OUTLIER_PERCENTILES))
    span = p_hi - p_lo
    if not span > 0:
        return None
    lo, hi = p_lo - OUTLIER_SPANS * span, p_hi + OUTLIER_SPANS * span
    with np.errstate(invalid="ignore"):
        low, high = float(np.nanmin(data)), float(np.nanmax(data))
    return (lo, hi) if low < lo or high > hi else None


# Default sigma 5 px: removes shading, charging gradients and dose drift that vary
# over tens of px, while membranes, vesicles and the pixel noise (1-5 px) stay.
def high_pass(image: np.ndarray, sigma: float = 5.0) -> np.ndarray:
    """Image minus its Gaussian low-pass of ``sigma`` px: float32 (H, W), mean about 0.

    The view used in before/after figures to show residual noise and fine detail. NaN or infinite
    pixels stay NaN and do not spread: the low-pass takes the image's finite median in their place
    (one NaN pixel blanked a 40 px square). Outliers (:func:`outlier_limits`) enter the low-pass at
    those limits, so a hot pixel shows as one bright pixel, not as a dark disc 20 px across that took
    the view's contrast with it; the pixel itself keeps its value. Computed in float32 (a display's
    precision: 0.01 grey levels at 16-bit values): an 8000^2 slice took 4.0 s and 1 GB more memory in
    float64, 1.5 s in float32.
    """
    data = np.array(image, dtype=np.float32)  # a copy: filled in place below
    bad = ~np.isfinite(data)
    any_bad = bool(bad.any())
    if any_bad:
        data[bad] = np.median(data[~bad]) if not bad.all() else 0.0
    limits = outlier_limits(data)
    smoothed = data if limits is None else np.clip(data, *limits).astype(np.float32, copy=False)
    out = ndimage.gaussian_filter(smoothed, sigma, mode="reflect", output=np.float32)
    np.subtract(data, out, out=out)
    if any_bad:
        out[bad] = np.nan
    return out


def radial_power_spectrum(
    image: np.ndarray, pixel_size_nm: float | None = None, window: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Azimuthally averaged power spectrum of a 2-D image, from 0 to Nyquist.

    The image (float, (H, W), any aspect ratio) has its mean subtracted, is
    optionally multiplied by a 2-D Hann window, and |FFT|^2 is divided by the
    sum of squared window weights, so white noise of variance s^2 gives power
    about s^2 at every frequency. Frequencies are binned to the nearest
    multiple of ``1 / max(H, W)`` cycles/px, bins 0 .. ``max(H, W) // 2``.

    Returns ``(frequency, power)``, both float64 (max(H, W) // 2 + 1,):
    bin frequencies in cycles/px, or cycles/nm when ``pixel_size_nm`` is
    given; power in squared intensity units.
    """
    data = np.asarray(image, dtype=np.float64)
    if data.ndim != 2 or data.size == 0:
        raise ValueError(f"expected a non-empty 2-D image (H, W), got shape {data.shape}")
    if pixel_size_nm is not None and not pixel_size_nm > 0:
        raise ValueError(f"pixel_size_nm must be > 0, got {pixel_size_nm}")
    height, width = data.shape
    data = data - data.mean()
    weights = np.ones_like(data)
    if window:  # periodic Hann: never all zero, even for 2 px
        # scipy.signal takes half a second to import: only when a spectrum is asked for
        from scipy.signal import windows

        weights = np.outer(windows.hann(height, sym=False), windows.hann(width, sym=False))
    norm = float(np.sum(weights**2))
    power2d = np.abs(np.fft.fft2(data * weights)) ** 2 / norm
    n = max(height, width)
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    bins = np.rint(np.hypot(fy, fx) * n).astype(np.int64).ravel()
    n_bins = n // 2 + 1
    keep = bins < n_bins
    sums = np.bincount(bins[keep], weights=power2d.ravel()[keep], minlength=n_bins)
    counts = np.bincount(bins[keep], minlength=n_bins)
    power = sums / np.maximum(counts, 1)
    frequency = np.arange(n_bins) / n
    if pixel_size_nm is not None:
        frequency = frequency / pixel_size_nm
    return frequency, power
