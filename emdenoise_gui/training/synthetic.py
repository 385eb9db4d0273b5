"""Synthetic noise for supervised training: clean crops in, noisy crops as a microscope stores them out.

A :class:`NoiseModel` draws one noise level per sample: Poisson shot noise at a dose or,
with probability ``gaussian_p``, additive Gaussian noise with sigma (8-bit grey levels)
log-uniform over ``sigma``. The dose follows one of :data:`DOSE_DISTRIBUTIONS`: counts per
pixel at the *slice's* mean, log-uniform over ``dose`` (ours), or Ede & Beanland's scales,
counts per pixel at intensity 1 of the [0, 1] scale (models.md section 3): ``25 + Exp(75)``
for their low-dose training, ``U(200, 2500)`` for their ordinary-dose fine-tuning. The result
is clipped to [0, 1] and rounded to 256 levels, as uint8 data are. It also returns the statistics the ``zscore-slice`` normalisation would compute on the
whole noisy slice at inference, estimated on a fixed sample of that slice's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Artifacts ``train cyclic --artifacts`` synthesises on clean data (names of ``core.noise.NOISE_KINDS``).
ARTIFACT_KINDS = ("charge", "film")
#: Default crop (px) and batch of such a run (the shipped flyem-cyclic-artifacts recipe): the generator's
#: instance norm then sees about the field of view of an inference tile; 64 px crops would not.
ARTIFACT_CROP, ARTIFACT_BATCH = 240, 4
#: Pixels of a slice used to estimate its noisy mean and standard deviation.
STAT_SAMPLES = 8192

#: name -> what the dose means and how it is drawn (the CLI's ``--dose-dist`` help).
DOSE_DISTRIBUTIONS = {
    "log-uniform": "counts per pixel at the slice mean, log-uniform over --dose",
    "ede-low": "Ede & Beanland's low dose: 25 + Exp(mean 75) counts per pixel at full scale (--dose unused)",
    "ede-fine": "Ede & Beanland's fine-tuning: U(200, 2500) counts per pixel at full scale (--dose unused)",
}
#: Ede & Beanland's doses, counts per pixel at full scale: low = OFFSET + Exp(mean), fine = U(LOW, HIGH).
EDE_LOW_OFFSET, EDE_LOW_MEAN = 25.0, 75.0
EDE_FINE_LOW, EDE_FINE_HIGH = 200.0, 2500.0
#: Quantiles of the drawn doses a card reports as the range it was trained over.
RANGE_QUANTILES = (0.05, 0.95)


@dataclass(frozen=True)
class NoiseModel:
    """Noise levels for synthetic training data.

    dose: (low, high) Poisson counts per pixel at the slice mean, sampled log-uniformly.
    sigma: (low, high) Gaussian standard deviation in 8-bit grey levels, log-uniform.
    gaussian_p: probability that a sample gets Gaussian instead of Poisson noise.
    quantise: round to 1/255 (uint8 storage) after clipping to [0, 1].
    distribution: a key of :data:`DOSE_DISTRIBUTIONS`.
    """

    dose: tuple[float, float] = (25.0, 100.0)
    sigma: tuple[float, float] = (5.0, 80.0)
    gaussian_p: float = 0.0
    quantise: bool = True
    distribution: str = "log-uniform"

    def __post_init__(self):
        if self.distribution not in DOSE_DISTRIBUTIONS:
            raise ValueError(f"unknown dose distribution {self.distribution!r}; "
                             f"choose one of {', '.join(DOSE_DISTRIBUTIONS)}")

    def draw(self, rng: np.random.Generator) -> tuple[str, float]:
        """One sample's level: ("poisson", counts at the slice mean), ("poisson-full", counts at
        intensity 1) or ("gaussian", sigma in grey levels)."""
        if self.gaussian_p > 0 and rng.random() < self.gaussian_p:
            return "gaussian", float(np.exp(rng.uniform(*np.log(self.sigma))))
        if self.distribution == "ede-low":
            return "poisson-full", float(EDE_LOW_OFFSET + rng.exponential(EDE_LOW_MEAN))
        if self.distribution == "ede-fine":
            return "poisson-full", float(rng.uniform(EDE_FINE_LOW, EDE_FINE_HIGH))
        return "poisson", float(np.exp(rng.uniform(*np.log(self.dose))))

    def dose_range(self, mean_level: float) -> list[float] | None:
        """[low, high] Poisson counts per pixel at the image mean that the model is trained over; None when every
        sample is Gaussian (the card claimed a dose range the model never saw, and the zoo graded Poisson stacks
        in it "within its training range": training audit of 2026-12-07).

        ``mean_level``: the clean training data's mean on the [0, 1] scale; the Ede scales
        (counts at intensity 1) are converted with it and reported between the 5 and 95 %
        quantiles of their distribution (the exponential has no upper end).
        """
        if self.gaussian_p >= 1:
            return None
        if self.distribution == "log-uniform":
            return [float(self.dose[0]), float(self.dose[1])]
        q_lo, q_hi = RANGE_QUANTILES
        if self.distribution == "ede-low":
            low, high = (EDE_LOW_OFFSET - EDE_LOW_MEAN * np.log1p(-q) for q in (q_lo, q_hi))
        else:
            low, high = (EDE_FINE_LOW + q * (EDE_FINE_HIGH - EDE_FINE_LOW) for q in (q_lo, q_hi))
        return [round(float(low * mean_level), 1), round(float(high * mean_level), 1)]

    def apply(self, clean: np.ndarray, slice_mean: float, level: tuple[str, float],
              rng: np.random.Generator) -> np.ndarray:
        """Noisy float32 copy of ``clean`` (any shape, [0, 1] working scale) at ``level``.

        Poisson counts are ``clean * dose / slice_mean`` for a "poisson" level (the dose is
        counts at the slice's mean, as ``core.noise.poisson_dose`` applies it to a whole slice)
        and ``clean * dose`` for a "poisson-full" one (Ede & Beanland's scale).
        """
        kind, value = level
        image = np.maximum(np.asarray(clean, np.float64), 0.0)
        if kind.startswith("poisson"):
            scale = value if kind == "poisson-full" else value / max(slice_mean, 1e-6)
            noisy = rng.poisson(image * scale) / scale
        else:
            noisy = image + rng.normal(0.0, value / 255.0, image.shape)
        noisy = np.clip(noisy, 0.0, 1.0)
        if self.quantise:
            noisy = to_8bit_levels(noisy)
        return noisy.astype(np.float32)

    @classmethod
    def from_spec(cls, spec) -> "NoiseModel":
        """The noise a validated ``training.spec.RunSpec`` asks for."""
        return cls(tuple(spec.dose), tuple(spec.sigma), spec.gaussian_fraction, distribution=spec.dose_dist)

    def describe(self) -> str:
        if self.distribution == "ede-low":
            text = (f"Poisson, {EDE_LOW_OFFSET:g} + Exp(mean {EDE_LOW_MEAN:g}) counts per pixel at full scale "
                    "(Ede & Beanland's low dose)")
        elif self.distribution == "ede-fine":
            text = (f"Poisson, U({EDE_FINE_LOW:g}, {EDE_FINE_HIGH:g}) counts per pixel at full scale "
                    "(Ede & Beanland's fine-tuning)")
        else:
            text = f"Poisson, {self.dose[0]:g}-{self.dose[1]:g} counts per pixel at the mean"
        if self.gaussian_p >= 1:
            text = f"Gaussian, sigma {self.sigma[0]:g}-{self.sigma[1]:g} grey levels (8-bit)"
        elif self.gaussian_p > 0:
            text += (f"; {self.gaussian_p:.0%} of samples Gaussian sigma {self.sigma[0]:g}-{self.sigma[1]:g} "
                     "grey levels (8-bit)")
        return text + "; clipped and stored as 8-bit"


def to_8bit_levels(image: np.ndarray) -> np.ndarray:
    """``image`` on [0, 1] rounded to the 256 levels 8-bit storage keeps (k / 255), same dtype."""
    return np.round(image * 255.0) / 255.0


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


def moved_stats(noisy: tuple[float, float], clean: tuple[float, float],
                other_clean: tuple[float, float]) -> tuple[float, float]:
    """(mean, std) of another slice at the same noise level, from one slice's ``noisy`` (mean, std) and
    both slices' ``clean`` (mean, std), all on the [0, 1] scale: the noise adds to a slice's mean and
    variance what it adds to its neighbour's (for adjacent slices, whose clean intensities differ by
    about a percent, this is within the sampling error of ``noisy_stats``), so a triplet needs one draw
    of ``noisy_stats``, not three."""
    added_var = noisy[1] ** 2 - clean[1] ** 2
    mean = noisy[0] + other_clean[0] - clean[0]
    return float(mean), float(np.sqrt(max(other_clean[1] ** 2 + added_var, 1e-12)))
