"""The Gaussian smoothing that Stein's unbiased risk estimate (SURE) picks for an image or a slice and
its two neighbours: the app's own filters ``gaussian-sure`` and ``gaussian-sure-avg`` (core.baselines),
the fallback where no model fits and the bar a newly trained model must clear.

Images are float32 (H, W) on the working scale (roughly [0, 1]); a stack is (3, H, W) float32 of the
slices z-1, z, z+1. Widths are Gaussian sigmas in pixels.

SURE of an estimate f(x) of the clean slice from its noisy version x, with white noise of variance s^2
per pixel (mean over the pixels): mean((f(x) - x)^2) - s^2 + 2 s^2 mean(df_i / dx_i). It needs no
clean image, only s, measured in the slice (``core.assess.noise_sigma``); for Poisson noise the mean
variance makes it hold for any linear f. The neighbours' noise is independent of the slice's, so they
enter f as side information and only the slice's own share counts in the derivative.

On a stack, f = G_sigma(m + b * fine(x - n)): m the 3-slice mean, n the neighbours' mean, fine() what
is finer than :data:`DETAIL_PX` (the difference minus its Gaussian of that width). The slice's own
fine detail gets the weight b in [0, 2/3] (0: the plain 3-slice mean; 2/3: the slice's detail whole),
its coarse content always the 3-slice mean: what changes between adjacent slices at a fine scale is
structure (a membrane moved by a pixel), while a broad change of brightness between slices is an
artifact (charging, film, beam drift) that the mean averages out. The risk is a quadratic in b,
minimised in closed form for each width.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.ndimage as ndi

from emdenoise_gui.core import assess
from emdenoise_gui.core.assess import centre_crop, noise_sigma
from emdenoise_gui.core.fill import mend_window

#: Gaussian widths (sigma, px) SURE chooses among; 0 leaves the image as it is.
SURE_WIDTHS = (0.0, 0.4, 0.5, 0.6, 0.7, 0.85, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
TRUNCATE = 3.0  # kernel radius in sigmas
SURE_CROP = 1024  # px: the centre square the smoothing is chosen on
#: px: differences between a slice and its neighbours finer than this are weighed by SURE, coarser ones
#: are taken from the 3-slice mean (charge and film on FlyEM: 28.40 / 29.08 dB with it, 25.78 / 24.57
#: weighing them too, 28.27 / 28.37 the plain mean; at doses 25-300 within 0.06 dB of weighing all).
DETAIL_PX = 8.0
#: The largest weight of a slice's own fine detail: the slice's share of it whole (2/3 above the mean's 1/3).
MOST_DETAIL = 2.0 / 3.0


def _taps(sigma: float, then: float = 0.0) -> np.ndarray:
    """The 1-D impulse response of the Gaussian of width ``sigma`` px followed by one of ``then`` px."""
    radius = int(TRUNCATE * sigma + 0.5) + int(TRUNCATE * then + 0.5)
    taps = np.zeros(2 * radius + 1)
    taps[radius] = 1.0
    for width in (sigma, then):
        if width > 0.0:
            taps = ndi.gaussian_filter1d(taps, width, truncate=TRUNCATE, mode="constant")
    return taps


def centre_weight(sigma: float, then: float = 0.0) -> float:
    """The centre tap of the separable 2-D Gaussian of width ``sigma`` px (1.0 for sigma 0), or of it
    followed by the Gaussian of width ``then`` px."""
    taps = _taps(sigma, then)
    return float(taps[len(taps) // 2]) ** 2


def gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    """(H, W) float32 ``image`` smoothed by the Gaussian of width ``sigma`` px (a copy for 0)."""
    if sigma == 0.0:
        return np.array(image, dtype=np.float32)
    return ndi.gaussian_filter(np.asarray(image, dtype=np.float32), sigma, mode="mirror", truncate=TRUNCATE)


def _fine(image: np.ndarray) -> np.ndarray:
    """What of a (H, W) image is finer than :data:`DETAIL_PX`: the image minus its Gaussian of that width."""
    return image - gaussian(image, DETAIL_PX)


@dataclass(frozen=True)
class Smoothing:
    """What SURE picked: the Gaussian's width ``sigma`` (px) and, for a stack, ``detail``: the weight of
    the slice's own fine detail over the 3-slice mean (0: the plain mean; :data:`MOST_DETAIL`: the
    slice's fine detail whole). ``noise``: the noise sd measured in the slice, in its grey values (0.0
    where none was measured)."""

    sigma: float
    detail: float = MOST_DETAIL
    noise: float = 0.0
    #: False: a stack's neighbours are left out, the slice smoothed alone (they differ from it by more than
    #: its noise: unlike sections, a blank one beside it)
    neighbours: bool = True

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Apply to a (H, W) image or a (3, H, W) stack (z-1, z, z+1): (H, W) float32."""
        image = without_blank_neighbours(np.asarray(image, dtype=np.float32))
        if image.ndim == 3 and not self.neighbours:
            image = image[1]
        if image.ndim == 3:  # in place where it can be: a whole-slice filter of three 8000^2 slices
            mean = image.mean(axis=0, dtype=np.float32)
            if self.detail > 0.0:
                own = np.add(image[0], image[2])
                own *= np.float32(-0.5)
                own += image[1]  # the slice minus its neighbours' mean
                own -= gaussian(own, DETAIL_PX)  # its fine part
                own *= np.float32(self.detail)
                mean += own
                del own
            image = mean
        return gaussian(image, self.sigma)


def without_blank_neighbours(image: np.ndarray) -> np.ndarray:
    """A (3, H, W) stack with a blank neighbour (one value: a missing section) replaced by the other one, or by
    the slice where both are blank; ``image`` itself when neither is, or when it is a (H, W) image. A blank
    section took a third of its neighbours' brightness into their mix (filters audit)."""
    if image.ndim != 3:
        return image
    blank = [float(s.min()) == float(s.max()) for s in (image[0], image[2])]
    if not any(blank) or float(image[1].min()) == float(image[1].max()):
        return image
    if all(blank):
        return np.stack([image[1]] * 3)
    other = image[2] if blank[0] else image[0]
    return np.stack([other, image[1], other])


def sure_smoothing(image: np.ndarray) -> Smoothing:
    """The :class:`Smoothing` with the least estimated error on slice z of ``image``: a (H, W) image
    (the width alone) or a (3, H, W) stack (the width, the weight of the slice's fine detail, and whether
    the neighbours help at all: where the slice's structure is not theirs (``assess.ALIKE``) and the slice
    alone has the lower estimate; on unlike sections the 3-slice mix came out below the noisy input, ssTEM at dose
    100 25.6 dB from 26.3, the slice alone 30.2; filters audit), chosen on the central :data:`SURE_CROP` px
    square. A slice without measurable noise (blank, clipped) is left as it is, and a blank neighbour is
    not used (:func:`without_blank_neighbours`): a blank section took a third of its neighbours'
    brightness and gave them a third of its black.

    On an image with little noise or fine detail it picks a narrow kernel or none, where the fixed 3x3
    Gaussian blurred away more signal than noise (ssTEM at dose 300: 28.3 dB from a 31.4 dB input); on a
    stack whose slices differ in fine detail more than in noise it keeps the slice's own detail, where
    the plain 3-slice mean blurred structure along z (FlyEM at dose 300: 33.15 dB, 34.33 with the detail
    weighed; docs/benchmarks.md)."""
    image = without_blank_neighbours(np.asarray(image))
    if image.ndim == 3 and np.array_equal(image[0], image[1]) and np.array_equal(image[2], image[1]):
        image = image[1]  # a one-slice stack is its own neighbours: their noise is its noise, not independent
    centre = image[1] if image.ndim == 3 else image
    noise = noise_sigma(centre)
    if not np.isfinite(noise) or noise <= 0.0:
        return Smoothing(0.0, neighbours=False)
    # an aligned stack's fill mended and left out of the estimate: picked on the fill, the 3-slice filter lost
    # 1.6 dB where every slice has data (borders audit; core.fill)
    crops, fill = mend_window(np.stack([centre_crop(s, SURE_CROP) for s in (image if image.ndim == 3 else [image])]))
    valid = None if fill is None or fill.all() else ~fill
    crops = [_bulk(c) for c in crops]  # float64
    x = crops[len(crops) // 2]
    variance = noise * noise
    unlike = image.ndim == 2
    if image.ndim == 3:
        mean, detail = sum(crops) / 3.0, _fine(crops[1] - 0.5 * (crops[0] + crops[2])).astype(np.float64)
        # the slice alone is weighed against the mix only where its structure is not its neighbours' (unlike
        # sections): on alike slices the estimate would take a broad artifact on one slice (charging, film),
        # which the mix averages out, for structure to keep
        similarity = assess.structure_similarity(crops[1], 0.5 * (crops[0] + crops[2]), valid)
        unlike = similarity is not None and similarity < assess.ALIKE
    alone_risk, alone = np.inf, Smoothing(0.0, MOST_DETAIL, noise, neighbours=False)
    mixed_risk, mixed = np.inf, alone
    for sigma in SURE_WIDTHS:  # width 0 on an image: the image itself, whose risk is the noise variance
        w0 = centre_weight(sigma)
        if unlike:
            own = _where(gaussian(x, sigma).astype(np.float64) - x, valid)  # the slice smoothed, minus the slice
            risk = float(np.mean(own * own)) - variance + 2.0 * variance * w0
            if risk < alone_risk:
                alone_risk, alone = risk, Smoothing(sigma, MOST_DETAIL, noise, neighbours=False)
        if image.ndim == 3:
            weight, risk = _best_detail(_where(gaussian(mean, sigma).astype(np.float64) - x, valid),
                                        _where(gaussian(detail, sigma).astype(np.float64), valid), variance,
                                        w0, w0 - centre_weight(sigma, DETAIL_PX))
            if risk < mixed_risk:
                mixed_risk, mixed = risk, Smoothing(sigma, weight, noise)
    return alone if image.ndim == 2 or alone_risk < mixed_risk else mixed


def _where(values: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """The (H, W) ``values`` at the ``valid`` pixels (1-D), or all of them where that mask is None."""
    return values if valid is None else values[valid]


def _bulk(crop: np.ndarray) -> np.ndarray:
    """``crop`` with its outliers (``metrics.outlier_limits``: a hot or dead pixel) replaced by the median of
    their 3 x 3 neighbourhood: the width is picked for the bulk. One pixel of 65535 among values of 948-2120
    took the residual's mean and SURE picked 0.4 px for 1.25 on every scale, the slice 6.4 dB down (dtype
    audit of 2026-12-07); clipped to the limits, it still moved the pick a step."""
    from emdenoise_gui.core.metrics import outlier_limits

    limits = outlier_limits(crop)
    if limits is None:
        return crop
    outside = (crop < limits[0]) | (crop > limits[1])
    return np.where(outside, ndi.median_filter(crop, size=3, mode="mirror"), crop)


def _best_detail(base: np.ndarray, detail: np.ndarray, variance: float, w0: float, w_detail: float
                 ) -> tuple[float, float]:
    """(weight b, risk) minimising SURE of G m + b G fine(x - n) over b in [0, MOST_DETAIL], given
    ``base`` = G m - x and ``detail`` = G fine(x - n) (float64 (H, W)), ``w0`` the centre tap of G and
    ``w_detail`` that of G fine(): the residual is base + b detail, and the derivative w0 / 3 + b w_detail,
    so the risk is quadratic in b."""
    bb, bd, dd = float(np.mean(base * base)), float(np.mean(base * detail)), float(np.mean(detail * detail))

    def risk(b: float) -> float:
        return bb + 2.0 * b * bd + b * b * dd - variance + 2.0 * variance * (w0 / 3.0 + b * w_detail)

    weight = float(np.clip(-(bd + variance * w_detail) / dd, 0.0, MOST_DETAIL)) if dd > 0.0 else 0.0
    return weight, risk(weight)


def sure_width(image: np.ndarray) -> tuple[float, float]:
    """(sigma px, noise sd) of the SURE-picked Gaussian for a (H, W) image on its own."""
    picked = sure_smoothing(np.asarray(image))
    return picked.sigma, picked.noise
