"""Synthetic noise for the quality benchmarks and the "add noise" command.

Every function takes a clean image scaled to [0, 1] (float, shape (H, W)) and a
:class:`numpy.random.Generator`, and returns float32 (H, W). Results are NOT
clipped: the metric protocol (docs/benchmarks.md) clips to [0, 1] afterwards.
The conditions follow Ede & Beanland (Poisson dose), NRRN Table 2 (Poisson
peak, Gaussian on the 8-bit scale) and Quan et al. (charge and film noise,
here synthetic stand-ins).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

# Reference area for the blob density of `charge`: n_blobs is per 512 x 512 px.
_BLOB_REFERENCE_AREA = 512 * 512


def _as_image(clean: np.ndarray, *, non_negative: bool = False) -> np.ndarray:
    """Return ``clean`` as a finite 2-D float64 array, or raise ValueError."""
    image = np.asarray(clean, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D image (H, W), got shape {image.shape}")
    if not np.all(np.isfinite(image)):
        raise ValueError("the image contains NaN or infinite values")
    if non_negative and image.size and image.min() < 0:
        raise ValueError(
            "Poisson noise needs non-negative intensities; scale the image to [0, 1] first"
        )
    return image


def _poisson_scaled(image: np.ndarray, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson-sample ``image * scale`` counts and divide by ``scale`` again."""
    return (rng.poisson(image * scale) / scale).astype(np.float32)


def poisson_dose(clean: np.ndarray, dose: float, rng: np.random.Generator) -> np.ndarray:
    """Shot noise at a given electron dose (Ede & Beanland).

    The image is scaled so that its mean is ``dose`` counts per pixel,
    Poisson-sampled and scaled back by the same factor, so the expected value
    of every pixel is unchanged and its variance is ``clean * mean(clean) / dose``.

    Parameters
    ----------
    clean: float array (H, W), intensities in [0, 1], non-negative.
    dose: mean counts per pixel (electrons/px), > 0.
    rng: random generator.

    Returns float32 (H, W) on the input's intensity scale, not clipped.
    Raises ValueError if ``dose <= 0``; an all-black image comes back black (no signal, no counts).
    """
    image = _as_image(clean, non_negative=True)
    if not dose > 0:
        raise ValueError(f"dose must be > 0 counts per pixel, got {dose}")
    mean = float(image.mean()) if image.size else 0.0
    if mean <= 0:  # no signal, no counts: a black (missing) section stays black; it stopped the whole stack
        return np.zeros(image.shape, np.float32)
    return _poisson_scaled(image, dose / mean, rng)


def poisson_peak(clean: np.ndarray, peak: float, rng: np.random.Generator) -> np.ndarray:
    """Shot noise at a given peak count (NRRN Table 2: peak 1, 4, 8, 30).

    The image is scaled so that its maximum is ``peak`` counts, Poisson-sampled
    and scaled back by the same factor; output values are therefore multiples
    of ``max(clean) / peak``.

    Parameters
    ----------
    clean: float array (H, W), intensities in [0, 1], non-negative.
    peak: counts at the brightest pixel, > 0.
    rng: random generator.

    Returns float32 (H, W), not clipped.
    Raises ValueError if ``peak <= 0``; an all-black image comes back black.
    """
    image = _as_image(clean, non_negative=True)
    if not peak > 0:
        raise ValueError(f"peak must be > 0 counts, got {peak}")
    top = float(image.max()) if image.size else 0.0
    if top <= 0:  # no signal, no counts (as poisson_dose)
        return np.zeros(image.shape, np.float32)
    return _poisson_scaled(image, peak / top, rng)


def gaussian(clean: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Additive white Gaussian noise N(0, sigma / 255) (NRRN Table 2).

    ``sigma`` is on the 8-bit 0..255 scale, as in NRRN (10, 25, 35, 75);
    Quan et al.'s sigma 0.05 on [0, 1] equals ``sigma=12.75`` here.

    Parameters
    ----------
    clean: float array (H, W), intensities in [0, 1].
    sigma: standard deviation in 8-bit grey levels, >= 0.
    rng: random generator.

    Returns float32 (H, W), not clipped.
    """
    image = _as_image(clean)
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0 (8-bit grey levels), got {sigma}")
    return (image + rng.normal(0.0, sigma / 255.0, image.shape)).astype(np.float32)


#: Most charging blobs per 512 x 512 px (far beyond any real charging; bounds the time).
MAX_BLOBS = 1000


def _blob_count(shape: tuple[int, int], n_blobs: float) -> int:
    """Blobs for an image of ``shape`` at ``n_blobs`` per 512 x 512 px (at least 1 if n_blobs > 0)."""
    if not 0 <= n_blobs <= MAX_BLOBS:
        raise ValueError(f"n_blobs must be between 0 and {MAX_BLOBS} per 512 x 512 px, got {n_blobs:g}")
    if n_blobs <= 0:
        return 0
    return max(1, round(n_blobs * shape[0] * shape[1] / _BLOB_REFERENCE_AREA))


def charge(
    clean: np.ndarray,
    rng: np.random.Generator,
    n_blobs: float = 6.0,
    amplitude: float = 0.3,
    radius: float = 32.0,
    sigma: float = 12.75,
) -> np.ndarray:
    """Synthetic charging artifacts (stand-in for Quan et al. case 2), additive.

    A sum of smooth blobs with random centres, random orientation, elongated
    Gaussian profiles (long-axis sigma ``radius * U(0.5, 1.5)`` px, short axis
    ``U(0.3, 1)`` times that) and signed amplitudes ``±amplitude * U(0.5, 1)``
    (bright or dark with equal odds), is added to the image, followed by
    additive Gaussian noise.

    Parameters
    ----------
    clean: float array (H, W), intensities in [0, 1].
    rng: random generator.
    n_blobs: blob density per 512 x 512 px; the count scales with image area,
        rounded, at least 1 when n_blobs > 0.
    amplitude: largest blob amplitude on the [0, 1] scale, >= 0.
    radius: typical blob radius (Gaussian sigma of the long axis) in px, > 0.
    sigma: additive Gaussian noise in 8-bit grey levels (12.75 = 0.05 on [0, 1]).

    Returns float32 (H, W), not clipped.
    """
    image = _as_image(clean)
    if amplitude < 0 or not radius > 0 or sigma < 0:
        raise ValueError(
            f"need amplitude >= 0, radius > 0 px, sigma >= 0; got {amplitude}, {radius}, {sigma}"
        )
    height, width = image.shape
    out = image.copy()
    for _ in range(_blob_count(image.shape, n_blobs)):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        s_long = radius * rng.uniform(0.5, 1.5)
        s_short = s_long * rng.uniform(0.3, 1.0)
        theta = rng.uniform(0, np.pi)
        amp = amplitude * rng.uniform(0.5, 1.0) * rng.choice((-1.0, 1.0))
        # Evaluate only inside +-4 sigma of the long axis: cost independent of image size.
        reach = int(math.ceil(4 * s_long))
        y0, y1 = max(0, int(cy) - reach), min(height, int(cy) + reach + 1)
        x0, x1 = max(0, int(cx) - reach), min(width, int(cx) + reach + 1)
        if y0 >= y1 or x0 >= x1:
            continue
        dy = np.arange(y0, y1)[:, None] + 0.5 - cy
        dx = np.arange(x0, x1)[None, :] + 0.5 - cx
        along = dy * math.sin(theta) + dx * math.cos(theta)
        across = dy * math.cos(theta) - dx * math.sin(theta)
        out[y0:y1, x0:x1] += amp * np.exp(-0.5 * ((along / s_long) ** 2 + (across / s_short) ** 2))
    out += rng.normal(0.0, sigma / 255.0, image.shape)
    return out.astype(np.float32)


def _smooth_field(shape: tuple[int, int], scale: float, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean white noise low-passed by a Gaussian of ``scale`` px, float64 (H, W).

    Filtered in the Fourier domain so the cost does not grow with ``scale``, on a periodic canvas of at
    least 4 ``scale`` px a side, cut to ``shape``: on a slice smaller than that every frequency but the mean
    vanished, and the "pattern" was one brightness for the whole slice (noise audit: scale 400 on 256 px
    slices made each slice 1.3x or 1.0x, no shading). A scale beyond the slice's longest side is taken as that
    side (the canvas stays within 4 times the slice a side); slices of 4 ``scale`` px and more get the field of
    before, to the bit.
    """
    scale = min(scale, max(shape))  # wider is a gradient across the slice all the same: the canvas stays <= 4x
    canvas = tuple(max(n, math.ceil(4 * scale)) for n in shape)
    noise = rng.standard_normal(canvas)
    fy = np.fft.fftfreq(canvas[0])[:, None]
    fx = np.fft.rfftfreq(canvas[1])[None, :]
    transfer = np.exp(-2.0 * (np.pi * scale) ** 2 * (fy**2 + fx**2))
    smooth = np.fft.irfft2(np.fft.rfft2(noise) * transfer, s=canvas)[:shape[0], :shape[1]]
    return smooth - smooth.mean()


def film(
    clean: np.ndarray,
    rng: np.random.Generator,
    strength: float = 0.3,
    scale: float = 64.0,
    sigma: float = 0.0,
) -> np.ndarray:
    """Smooth multiplicative absorption pattern (stand-in for Quan et al. case 4).

    ``I = C * N + n`` where N is a low-pass-filtered random field with
    correlation length ``scale`` px, normalised to mean 1 and range
    ``[1 - strength, 1 + strength]`` (strictly positive), and n is optional
    additive Gaussian noise. A black image stays black when ``sigma == 0``.

    Parameters
    ----------
    clean: float array (H, W), intensities in [0, 1].
    rng: random generator.
    strength: half-range of the pattern, 0 <= strength < 1 (dimensionless).
    scale: correlation length of the pattern in px, > 0.
    sigma: additive Gaussian noise in 8-bit grey levels, >= 0.

    Returns float32 (H, W), not clipped.
    """
    image = _as_image(clean)
    if not 0 <= strength < 1 or not scale > 0 or sigma < 0:
        raise ValueError(
            f"need 0 <= strength < 1, scale > 0 px, sigma >= 0; got {strength}, {scale}, {sigma}"
        )
    texture = _smooth_field(image.shape, scale, rng)
    peak = np.abs(texture).max() if texture.size else 0.0
    pattern = 1.0 + strength * texture / peak if peak > 0 else np.ones(image.shape)
    out = image * pattern
    if sigma > 0:
        out += rng.normal(0.0, sigma / 255.0, image.shape)
    return out.astype(np.float32)


@dataclass(frozen=True)
class NoiseKind:
    """One entry of the noise registry used by the CLI.

    ``function(clean, rng=..., **params)`` produces the noisy image; ``params``
    maps each parameter name to its default (the CLI shows ``n_blobs`` as
    ``--n-blobs``); ``description`` is one line for ``--help``. Artifacts a model can be trained to
    remove also have ``label`` and ``look``, their name and appearance in a microscopist's words (the
    card, the zoo's fit reason and the wizard's check boxes read them).
    """

    name: str
    function: Callable[..., np.ndarray]
    params: dict[str, float] = field(default_factory=dict)
    description: str = ""
    label: str = ""
    look: str = ""


NOISE_KINDS: dict[str, NoiseKind] = {
    kind.name: kind
    for kind in (
        NoiseKind(
            "poisson-dose",
            poisson_dose,
            {"dose": 100.0},
            "Poisson shot noise, image mean scaled to DOSE counts/px (Ede & Beanland)",
        ),
        NoiseKind(
            "poisson-peak",
            poisson_peak,
            {"peak": 8.0},
            "Poisson shot noise, image maximum scaled to PEAK counts (NRRN)",
        ),
        NoiseKind(
            "gaussian",
            gaussian,
            {"sigma": 25.0},
            "additive Gaussian noise, SIGMA in 8-bit grey levels (NRRN; 0.05 on [0,1] = 12.75)",
        ),
        NoiseKind(
            "charge",
            charge,
            {"n_blobs": 6.0, "amplitude": 0.3, "radius": 32.0, "sigma": 12.75},
            "bright/dark charging blobs plus Gaussian noise, additive (Quan et al. stand-in)",
            "charging",
            "smooth bright or dark blobs with Gaussian noise",
        ),
        NoiseKind(
            "film",
            film,
            {"strength": 0.3, "scale": 64.0, "sigma": 0.0},
            "smooth multiplicative absorption pattern (Quan et al. film-noise stand-in)",
            "film",
            "smooth multiplicative shading",
        ),
    )
}


def add_noise(clean: np.ndarray, kind: str, rng: np.random.Generator, **params: float) -> np.ndarray:
    """Apply the registered noise ``kind`` with ``params`` over its defaults.

    Parameters
    ----------
    clean: float array (H, W), intensities in [0, 1].
    kind: a key of :data:`NOISE_KINDS`.
    rng: random generator.
    params: overrides of the kind's defaults (see ``NOISE_KINDS[kind].params``).

    Returns float32 (H, W), not clipped.
    Raises ValueError naming the valid kinds or parameters on a bad name.
    """
    if kind not in NOISE_KINDS:
        raise ValueError(f"unknown noise kind {kind!r}; valid kinds: {', '.join(NOISE_KINDS)}")
    entry = NOISE_KINDS[kind]
    unknown = sorted(set(params) - set(entry.params))
    if unknown:
        raise ValueError(
            f"noise kind {kind!r} has no parameter(s) {', '.join(unknown)}; "
            f"valid: {', '.join(entry.params) or 'none'}"
        )
    return np.asarray(entry.function(clean, rng=rng, **{**entry.params, **params}), dtype=np.float32)


def slice_rng(seed: int, index: int) -> np.random.Generator:
    """Generator for slice ``index`` of a stack noised with ``seed``.

    Returns ``np.random.default_rng([seed, index])``: each slice has its own
    independent stream, so slice z gets the same noise whatever order or subset
    of slices is processed (and in parallel workers). Both must be >= 0.
    """
    return np.random.default_rng([seed, index])
