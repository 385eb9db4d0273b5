"""How far a denoiser's result is from the clean image it cannot see: Stein's unbiased risk estimate (SURE)
of any denoiser, a network included, from the noisy image alone.

For a result f(y) of a noisy image y = x + n, with noise independent between pixels of variance v_i at
pixel i, the mean squared error to the clean x is estimated without x by

    mean((f(y) - y)^2) - mean(v) + 2 mean(v_i df_i/dy_i).

The derivatives of a network are estimated the Monte-Carlo way (Ramani, Blu & Unser 2008): for random
signs b, the mean of v_i b_i (f(y + e b) - f(y))_i / e. Shot noise makes v grow with the signal, and a
network smooths its bright and dark parts differently, so the variance is weighed pixel by pixel (with one
mean variance the estimate of the NRRN self-trained on FlyEM FIB-SEM at dose 25 read 0.0364 against a true
0.0315, and called it worse than the SURE-tuned Gaussian (true 0.0332); weighed, 0.0280 against 0.0298).

The variance at each pixel comes from :func:`noise_variance`: shot and read noise, v = a * level + b, fitted
to robust estimates of the noise in bands of local brightness.

The estimate assumes noise independent from pixel to pixel, as shot and read noise are (and as blind-spot
self-training itself assumes). On noise correlated between neighbouring pixels (a detector's afterglow,
resampled images) it is wrong, the wrong way round: white noise blurred by 0.5 px on FlyEM read the shipped
NRRN's error 2x the SURE-tuned Gaussian's where it was a third of it. :func:`white_noise` tells such images
apart, and callers estimate on none else. Clipped pixels (at the image's lowest or highest value) hold no
zero-mean noise: they get no variance, and pixels with none are left out of the estimate (31 % of pixels
clipped at 255 read 0.0130 against a true 0.0925 when they counted).

Images are (H, W) float arrays on any scale (the estimates are in its squared units); a stack handed to a
denoiser is (D, H, W), the slice that is denoised (and perturbed) at ``D // 2``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

from emdenoise_gui.core.assess import (
    _MAD_TO_SIGMA,
    _NOISE_KERNEL,
    centre_crop,
    noise_sigma,
)
from emdenoise_gui.core.shading import outside

#: Bands of local brightness the noise is measured in (equal numbers of pixels).
BANDS = 16
#: px: the box that gives a pixel's local brightness.
LEVEL_BOX = 5
#: The least variance a pixel is given, as a share of the mean of the bands' (a fit can dip below 0).
FLOOR = 0.05
#: Random sign patterns the derivatives are averaged over.
PROBES = 2
#: The step of the Monte-Carlo derivative, in noise standard deviations.
STEP = 0.1
#: The most the noise measured between pixels two apart may exceed that between neighbours (as a ratio of
#: variances) for the noise to count as white. Fine structure raises it too: shot noise gave 1.0-1.5 on FlyEM
#: at doses 25-300, 1.5-1.7 on ISBI ssTEM at dose 25 and 2.4-3.6 at doses 100-300; noise blurred by 0.5 px
#: 2.2-4.6, by 0.8 px 3.8-11; the raw FlyEM, ISBI and VNC stacks 3.2, 5.4 and 15. Below it a little
#: correlation still passes (blurred by 0.4 px: 1.3-1.5), and inflates a network's estimate by up to about
#: 20 % against a filter's: ``zoo.fit.CLEARLY_WORSE`` allows for that.
WHITE_RATIO = 2.0
#: px: the central square :func:`white_noise` looks at.
WHITE_CROP = 384


def noise_variance(image: np.ndarray) -> np.ndarray:
    """(H, W) float64: the noise variance at each pixel of ``image`` (H, W), in its squared grey values.

    The noise is measured as in ``core.assess.noise_sigma`` (Immerkaer's residual, robust median absolute
    deviation) in :data:`BANDS` bands of local brightness (a :data:`LEVEL_BOX` px box mean), and a line
    a * level + b is fitted through the bands: Poisson shot noise grows with the signal, read noise does not.
    Pixels at the image's lowest or highest value (clipped, saturated) and flat regions there
    (``shading.outside``, with their edge) get 0 and are left out of the fit. A flat image, or one with too
    few other pixels to measure, is all zeros."""
    data = np.asarray(image, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"expected a 2-D image (H, W), got shape {data.shape}")
    if min(data.shape) < 3:
        return np.zeros(data.shape)
    residual = ndimage.convolve(data, _NOISE_KERNEL, mode="reflect")
    level = ndimage.uniform_filter(data, LEVEL_BOX, mode="reflect")
    noisy = ~ndimage.binary_dilation(outside(data), np.ones((3, 3), bool))
    noisy &= (data > data.min()) & (data < data.max())
    valid = noisy.copy()
    valid[[0, -1], :] = valid[:, [0, -1]] = False  # the reflected border's residual is not noise
    if valid.sum() < BANDS * 16:
        return np.zeros(data.shape)
    levels, residuals = level[valid], residual[valid]
    order = np.argsort(levels, kind="stable")
    centres, variances = [], []
    for band in np.array_split(order, BANDS):
        r = residuals[band]
        mad = np.median(np.abs(r - np.median(r)))
        centres.append(levels[band].mean())
        variances.append((_MAD_TO_SIGMA * mad / 6.0) ** 2)
    centres, variances = np.array(centres), np.array(variances)
    mean = float(variances.mean())
    if mean <= 0.0:
        return np.zeros(data.shape)
    if np.ptp(centres) > 0.0:
        slope, offset = np.polyfit(centres, variances, 1)
    else:
        slope, offset = 0.0, mean
    return np.where(noisy, np.maximum(slope * level + offset, FLOOR * mean), 0.0)


def white_noise(image: np.ndarray) -> bool:
    """Whether the fine-scale content of ``image`` (H, W) is noise independent from pixel to pixel: the noise
    variance measured with Immerkaer's kernel spread over pixels two apart (``core.assess.noise_sigma``) is at
    most :data:`WHITE_RATIO` times that measured over neighbours (equal for white noise; far larger where neighbours share their noise,
    or where there is less noise than fine structure), on the central :data:`WHITE_CROP` px square. False for
    an image with no measurable noise."""
    data = centre_crop(np.asarray(image, dtype=np.float64), WHITE_CROP)
    near, apart = (noise_sigma(data, spread) ** 2 for spread in (1, 2))
    return near > 0 and apart <= WHITE_RATIO * near


def estimated_error(denoise: Callable[[np.ndarray], np.ndarray], stack: np.ndarray, variance: np.ndarray,
                    rng: np.random.Generator, probes: int = PROBES) -> float:
    """Stein's estimate of the mean squared error of ``denoise`` on the centre slice of ``stack``, over its
    pixels with noise (``variance`` above 0); NaN where there are none.

    ``denoise`` maps a (D, H, W) float32 stack to the (H, W) result for its slice ``D // 2``; ``variance``
    (H, W) is that slice's noise variance (:func:`noise_variance`). The derivatives come from ``probes``
    random sign patterns ``rng`` draws, each a step of :data:`STEP` noise standard deviations (exact for a
    linear denoiser). Returns the estimate in the squared units of ``stack``."""
    stack = np.asarray(stack, dtype=np.float32)
    counted = variance > 0
    if not counted.any():
        return float("nan")
    centre = stack.shape[0] // 2
    noisy = stack[centre].astype(np.float64)
    result = np.asarray(denoise(stack), dtype=np.float64)
    variance = variance[counted]
    step = STEP * float(np.sqrt(variance.mean()))
    divergence = 0.0
    for _ in range(probes):
        signs = rng.choice(np.array([-1.0, 1.0], np.float32), size=noisy.shape)
        moved = stack.copy()
        moved[centre] += np.float32(step) * signs
        change = np.asarray(denoise(moved), dtype=np.float64) - result
        divergence += float(np.mean(variance * signs[counted] * change[counted])) / step / probes
    return float(np.mean((result - noisy)[counted] ** 2) - variance.mean() + 2.0 * divergence)
