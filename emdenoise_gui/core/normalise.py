"""Input normalisation of a model: stored in the card as a kind, computed from the image content.

A network only works on inputs scaled as its training data were. Current kinds derive
every number from the pixels themselves, so the same image stored as uint8, uint16
(x257, with an offset) or float32 reaches the network identically:

* ``zscore-slice``: each slice of the window by its own mean and standard deviation, of its values
  clipped to their 0.01 and 99.99 percentiles so a hot pixel does not set them (NRRN, N2V). The output is mapped back with the centre slice's.
* ``minmax-tile``: each tile by its own minimum and maximum to [0, 1] (Ede & Beanland's
  crop scaling; xception). The output is mapped back with the same numbers.
* ``robust-slice``: each slice by the 0.5 and 99.5 percentiles of a 5x5 box-smoothed copy
  to [-1, 1] (cyclic: its tanh output lives there). Smoothing keeps the noise out of the
  percentiles, so a noisy slice and a clean one of the same specimen map alike.

Legacy kinds (packages made before format 1.1, read for compatibility) depend on the
stack's working scale, that is on its dtype: ``unit`` (as is), ``signed-unit``
(``2x - 1``) and ``zscore-dataset`` (the card's stored ``mean`` and ``std``).
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi

from emdenoise_gui.core.fill import mend_window

CONTENT_KINDS = ("zscore-slice", "minmax-tile", "robust-slice")
PER_SLICE_KINDS = ("zscore-slice", "robust-slice")
#: The fewest pixels with data (not ``core.fill``) a slice's numbers are measured on; with fewer (a slice blank but
#: for a few pixels) they are measured on the whole window as it is.
MIN_DATA_PX = 64
PER_TILE_KINDS = ("minmax-tile",)
LEGACY_KINDS = ("unit", "signed-unit", "zscore-dataset")
KINDS = CONTENT_KINDS + LEGACY_KINDS
#: Floor of a scale (a standard deviation, a range) in these units: a flat image never divides by zero.
EPS = 1e-6
#: Pixels sampled (on a regular grid) for the robust percentiles of big slices.
PERCENTILE_SAMPLES = 512 * 512
#: The robust range: these percentiles (%) of a copy smoothed by a box this many px wide.
ROBUST_PERCENTILES = (0.5, 99.5)
ROBUST_BOX = 5
#: ``zscore-slice`` takes its mean and std of the values clipped to these percentiles (%)
STATS_PERCENTILES = (0.01, 99.99)
#: A per-slice kind's input slice is clipped to its bulk (the values at the ranks of STATS_PERCENTILES, at least
#: one pixel in from each end) widened by this many times the bulk's span each way: a stray pixel of 1e6 in data
#: of 0-0.52 reached the cyclic generator at about 1e7, its instance norms took the whole tile's scale from it
#: (0.017 grey off everywhere), and 2.5e5 overflowed float16 (NaN, "the model does not fit this data"; dtype
#: audit). Noise is never clipped: the bulk holds it (a fixed bound of 5 half-widths of the robust range clipped
#: the noise of a flat, noisy slice).
STRAY_MARGIN = 1.0


def slice_stats(image: np.ndarray, limits: tuple[float, float] | None = None) -> tuple[float, float]:
    """(mean, std) of an (H, W) image with its values clipped to their :data:`STATS_PERCENTILES` (by rank, at
    least the one most extreme value each side: :func:`_clip_limits`), accumulated
    in float64; std floored at 1e-6. A slice the clip leaves flat (a few pixels apart from one value) takes
    its std of the values as they are. ``limits``: the image's :func:`bulk_limits` where the caller has them.

    The clip keeps a few extreme pixels (a hot pixel, a speck of dust) from setting the scale of the whole
    slice: one pixel of 65535 among 60,000 of about 1500 doubled the std, and NRRN's result lost 3.4 dB;
    ordinary slices lose under 0.1 % of their std to it. The percentiles are taken on a grid of about
    PERCENTILE_SAMPLES px. A float32 image is not copied to float64 (a 4096^2 slice took 0.53 s that way):
    the sums run in float64 over float32 values and deviations, which agree with a float64 copy's to
    about 1e-7 relative.
    """
    data = np.asarray(image)
    if data.dtype not in (np.float32, np.float64):
        data = data.astype(np.float32)
    lo, hi = bulk_limits(data) if limits is None else (data.dtype.type(v) for v in limits)
    mean, std = _mean_std(np.clip(data, lo, hi) if data.min() < lo or data.max() > hi else data)
    if std < EPS and lo == hi:  # flat but for a few pixels, which the clip took away: by them, not by EPS (a
        mean, std = _mean_std(data)  # pixel 190 grey above reached 1.9e8 sd, past float16's range: NaN)
    return mean, max(std, EPS)


def bulk_limits(image: np.ndarray):
    """:func:`_clip_limits` of a regular grid of about :data:`PERCENTILE_SAMPLES` px of the (H, W) ``image`` (or
    of every so many values of a 1-D array of pixels): the bulk of its values, in its own type."""
    data = np.asarray(image)
    step = max(1, int(np.sqrt(data.size / PERCENTILE_SAMPLES)))
    return _clip_limits(data[::step, ::step].ravel() if data.ndim == 2 else data.ravel()[::step * step])


def _clip_limits(sample: np.ndarray):
    """The values of ``sample`` (1-D) at the ranks of :data:`STATS_PERCENTILES`, at least one value in from
    each end: interpolated percentiles of a slice under 10,000 px fell between its hot pixel and the next
    value, and the clip left the hot pixel's pull on the std (35.5 -> 65.2 on 96 x 96 px; dtype audit)."""
    n = sample.size
    k = max(1, int(n * STATS_PERCENTILES[0] / 100.0))
    if n <= 2 * k:
        return sample.min(), sample.max()
    lo, hi = np.partition(sample, (k, n - 1 - k))[[k, n - 1 - k]]
    return lo, hi


def _mean_std(data: np.ndarray) -> tuple[float, float]:
    """(mean, std) of a float32 or float64 array, the sums in float64."""
    mean = float(data.mean(dtype=np.float64))
    centred = data - data.dtype.type(mean)
    np.square(centred, out=centred)
    return mean, float(np.sqrt(centred.mean(dtype=np.float64)))


def robust_range(image: np.ndarray, valid: np.ndarray | None = None) -> tuple[float, float]:
    """(p0.5, p99.5) of the 5x5 box-smoothed (H, W) image, in its own units, at the ``valid`` pixels where that
    (H, W) bool mask is given; hi > lo.

    The percentiles are taken on every step-th row and column (about PERCENTILE_SAMPLES px), and the
    box means are computed at those pixels only (:func:`_sampled_box_means`): a 4096^2 slice took about
    0.3 s smoothed whole, 0.04 s so (2-core Zen 4).
    """
    data = np.asarray(image, np.float32)
    step = max(1, int(np.sqrt(data.size / PERCENTILE_SAMPLES)))
    smooth = _sampled_box_means(data, step)
    if valid is not None and valid[::step, ::step].any():
        smooth = smooth[valid[::step, ::step]]
    lo, hi = (float(v) for v in np.percentile(smooth, ROBUST_PERCENTILES))
    return lo, hi if hi - lo > EPS else lo + 1.0


def _sampled_box_means(data: np.ndarray, step: int) -> np.ndarray:
    """``ndi.uniform_filter(data, ROBUST_BOX, mode="reflect")[::step, ::step]`` for an (H, W) float32
    image, computing only the sampled pixels: rows first, then columns, each a float32 mean of the
    ROBUST_BOX mirrored neighbours (scipy's order and rounding; equal to about 1e-7 relative)."""
    radius = ROBUST_BOX // 2
    if step == 1 or min(data.shape) <= radius:  # every pixel, or mirrored more than once: scipy's filter
        return ndi.uniform_filter(data, size=ROBUST_BOX, mode="reflect")[::step, ::step]
    rows = _mirrored_windows(data.shape[0], step, radius)  # (ROBUST_BOX, samples)
    cols = _mirrored_windows(data.shape[1], step, radius)
    by_rows = data[rows[0]].astype(np.float64)  # (sampled rows, W)
    for k in range(1, ROBUST_BOX):
        by_rows += data[rows[k]]
    by_rows = (by_rows / ROBUST_BOX).astype(np.float32)
    return (by_rows[:, cols].astype(np.float64).sum(axis=1) / ROBUST_BOX).astype(np.float32)


def _mirrored_windows(n: int, step: int, radius: int) -> np.ndarray:
    """(2 * radius + 1, ceil(n / step)) indices of each sample's neighbours along an axis of ``n`` px,
    mirrored at the ends with the edge pixel repeated (scipy's "reflect"); needs n > radius."""
    index = np.arange(0, n, step)[None, :] + np.arange(-radius, radius + 1)[:, None]
    index = np.where(index < 0, -index - 1, index)
    return np.where(index >= n, 2 * n - index - 1, index)


def slice_params(kind: str, image: np.ndarray, valid: np.ndarray | None = None) -> tuple[float, float]:
    """(offset, scale) of a per-slice kind for one (H, W) image (at its ``valid`` pixels where that (H, W) bool
    mask is given): network input = (x - offset) / scale.

    ``zscore-slice``: (mean, std); ``robust-slice``: the middle and half-width of
    :func:`robust_range`, so the range maps to [-1, 1].
    """
    if kind == "zscore-slice":
        return slice_stats(image if valid is None else np.asarray(image)[valid])
    lo, hi = robust_range(image, valid)
    return (lo + hi) / 2.0, (hi - lo) / 2.0


def _stray_bounds(limits, offset: float, scale: float) -> tuple[float, float]:
    """(low, high) in network input units ((x - offset) / scale) past which a pixel of an image whose
    :func:`bulk_limits` are ``limits`` is a stray: that bulk widened by :data:`STRAY_MARGIN` times its span each
    way."""
    lo, hi = (float(v) for v in limits)
    if not hi > lo:  # a bulk of one value (padding but for a few pixels): those pixels are the image, not strays
        return -np.inf, np.inf
    margin = STRAY_MARGIN * (hi - lo)
    return (lo - margin - offset) / scale, (hi + margin - offset) / scale


def normalise_slices(kind: str, data: np.ndarray) -> np.ndarray:
    """(Z, H, W) -> float32, every slice by its own :func:`slice_params` (what inference does)."""
    return Normaliser({"kind": kind}, data).forward(data)


def minmax_tiles(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale each tile of ``batch`` (B, [C,] h, w) to [0, 1] by its centre channel's min and max.

    Returns (scaled float32 batch, lo (B,), span (B,)): ``original = scaled * span + lo``.
    """
    data = np.asarray(batch, np.float32)
    centre = data if data.ndim == 3 else data[:, data.shape[1] // 2]
    lo = centre.reshape(len(data), -1).min(axis=1).astype(np.float64)
    span = np.maximum(centre.reshape(len(data), -1).max(axis=1) - lo, EPS)
    shape = (-1,) + (1,) * (data.ndim - 1)
    return ((data - lo.reshape(shape)) / span.reshape(shape)).astype(np.float32), lo, span


class Normaliser:
    """The card's normalisation for one slice window (C, H, W) on the [0, 1] working scale.

    ``forward`` maps the window to the network's input scale (PER_TILE_KINDS leave it as is:
    the caller scales each tile with :func:`minmax_tiles`), ``inverse`` maps the (H, W)
    network output back to the working scale. ``blank``: whether the window's centre slice is one
    value (a blank slice, which inference returns as it is, a part of it too). ``mended``:
    ``core.fill.mend_window(window)`` where the caller has it (computed here when None).
    """

    def __init__(self, spec: dict, window: np.ndarray, mended: tuple[np.ndarray, np.ndarray | None] | None = None):
        self.kind = spec["kind"]
        centre = window[window.shape[0] // 2]
        self.blank = bool(centre.size) and centre.min() == centre.max()
        if self.kind not in KINDS:
            raise ValueError(f"unknown normalisation kind {self.kind!r}")
        self.per_slice: list[tuple[float, float]] | None = None
        #: per channel, (low, high) the network's input is clipped to (:data:`STRAY_MARGIN`), or None: not clipped
        self.bounds: list[tuple[float, float]] | None = None
        if self.kind in PER_SLICE_KINDS:
            # every slice's numbers from the window the network gets (core.fill.mend_window: the neighbours' fill
            # mended), where the centre slice has data: an aligned stack's fill (zero strips moving from slice to
            # slice) set 7-26 % of them, and NRRN lost 1 dB; a blank neighbour's zero spread made the mended one
            # 10^6 times too bright
            # (a whole volume, normalise_slices, as it is: the fill of its middle slice is not the others')
            if window.shape[0] not in (1, 3):
                mended, fill = window, None
            else:
                mended, fill = mend_window(window) if mended is None else mended
            valid = None if fill is None or np.count_nonzero(~fill) < MIN_DATA_PX else ~fill
            if fill is not None and valid is None:  # too few pixels with data to measure: the window as it is
                mended = window
            pixels = mended if valid is None else [s[valid] for s in mended]
            limits = [bulk_limits(s) for s in pixels]  # once per slice: the z-score's clip and the stray bounds
            self.per_slice = [slice_stats(p, lim) if self.kind == "zscore-slice" else slice_params(self.kind, s, valid)
                              for s, p, lim in zip(mended, pixels, limits)]
            self.offset, self.scale = self.per_slice[window.shape[0] // 2]
            self.bounds = [_stray_bounds(lim, offset, scale) for lim, (offset, scale) in zip(limits, self.per_slice)]
        elif self.kind in ("unit", "minmax-tile"):
            self.offset, self.scale = 0.0, 1.0
        elif self.kind == "signed-unit":
            self.offset, self.scale = 0.5, 0.5
        else:  # zscore-dataset
            self.offset, self.scale = float(spec["mean"]), float(spec["std"])

    def channel_params(self, channels: int) -> list[tuple[float, float]]:
        """(offset, scale) of each of a window's ``channels`` slices: input = (x - offset) / scale."""
        return list(self.per_slice or [(self.offset, self.scale)] * channels)

    def forward(self, window: np.ndarray) -> np.ndarray:
        """(C, H, W) working scale -> network input scale: a new float32 array (one slice-sized
        buffer per channel, no temporaries: a 4096^2 window is 200 MB)."""
        out = np.empty(window.shape, np.float32)
        for k, (offset, scale) in enumerate(self.channel_params(window.shape[0])):
            np.subtract(window[k], np.float32(offset), out=out[k], dtype=np.float32)
            out[k] /= np.float32(scale)
            if self.bounds is not None:
                np.clip(out[k], *self.bounds[k], out=out[k])
        return out

    def inverse(self, image: np.ndarray) -> np.ndarray:
        """(H, W) network output -> working scale, float32 (``image`` itself when it is float32)."""
        out = np.asarray(image, np.float32)
        out *= np.float32(self.scale)
        out += np.float32(self.offset)
        return out
