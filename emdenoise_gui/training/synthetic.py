"""Synthetic noise for supervised training: clean crops in, noisy crops as a microscope stores them out.

A :class:`NoiseModel` draws one noise level per sample: Poisson shot noise at a dose
(counts per pixel at the *slice's* mean, log-uniform over ``dose``) or, with probability
``gaussian_p``, additive Gaussian noise with sigma (8-bit grey levels) log-uniform over
``sigma``. The result is clipped to [0, 1] and rounded to 256 levels, as uint8 data are.
It also returns the statistics the ``zscore-slice`` normalisation would compute on the
whole noisy slice at inference, estimated on a fixed sample of that slice's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Pixels of a slice used to estimate its noisy mean and standard deviation.
STAT_SAMPLES = 8192


@dataclass(frozen=True)
class NoiseModel:
    """Noise levels for synthetic training data.

    dose: (low, high) Poisson counts per pixel at the slice mean, sampled log-uniformly.
    sigma: (low, high) Gaussian standard deviation in 8-bit grey levels, log-uniform.
    gaussian_p: probability that a sample gets Gaussian instead of Poisson noise.
    quantise: round to 1/255 (uint8 storage) after clipping to [0, 1].
    """

    dose: tuple[float, float] = (25.0, 100.0)
    sigma: tuple[float, float] = (5.0, 80.0)
    gaussian_p: float = 0.0
    quantise: bool = True

    def draw(self, rng: np.random.Generator) -> tuple[str, float]:
        """("poisson", dose) or ("gaussian", sigma in grey levels) for one sample."""
        if self.gaussian_p > 0 and rng.random() < self.gaussian_p:
            return "gaussian", float(np.exp(rng.uniform(*np.log(self.sigma))))
        return "poisson", float(np.exp(rng.uniform(*np.log(self.dose))))

    def apply(self, clean: np.ndarray, slice_mean: float, level: tuple[str, float],
              rng: np.random.Generator) -> np.ndarray:
        """Noisy float32 copy of ``clean`` (any shape, [0, 1] working scale) at ``level``.

        Poisson counts are ``clean * dose / slice_mean``: the dose is counts at the slice's
        mean, as ``core.noise.poisson_dose`` applies it to a whole slice.
        """
        kind, value = level
        image = np.maximum(np.asarray(clean, np.float64), 0.0)
        if kind == "poisson":
            scale = value / max(slice_mean, 1e-6)
            noisy = rng.poisson(image * scale) / scale
        else:
            noisy = image + rng.normal(0.0, value / 255.0, image.shape)
        noisy = np.clip(noisy, 0.0, 1.0)
        if self.quantise:
            noisy = np.round(noisy * 255.0) / 255.0
        return noisy.astype(np.float32)

    def describe(self) -> str:
        text = f"Poisson, {self.dose[0]:g}-{self.dose[1]:g} counts per pixel at the mean"
        if self.gaussian_p > 0:
            text += (f"; {self.gaussian_p:.0%} of samples Gaussian sigma {self.sigma[0]:g}-{self.sigma[1]:g} "
                     "grey levels (8-bit)")
        return text + "; clipped and stored as 8-bit"


def stat_pixels(volume: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(Z, STAT_SAMPLES) float32: a fixed random sample of each slice's pixels."""
    z, h, w = volume.shape
    flat = volume.reshape(z, h * w)
    picks = rng.integers(0, h * w, size=min(STAT_SAMPLES, h * w))
    return np.ascontiguousarray(flat[:, picks])


def noisy_stats(model: NoiseModel, pixels: np.ndarray, slice_mean: float, level: tuple[str, float],
                rng: np.random.Generator) -> tuple[float, float]:
    """(mean, std) the noisy slice would have, from its sampled clean ``pixels`` (N,)."""
    sample = model.apply(pixels, slice_mean, level, rng).astype(np.float64)
    return float(sample.mean()), float(max(sample.std(), 1e-6))
