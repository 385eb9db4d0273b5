"""How much error a self-supervised model leaves on its held-back slices, against the app's own filters,
with no clean reference: Stein's estimates (``core.risk``) for the model, the model it started from, and the
SURE-tuned Gaussians the app falls back to (``gaussian-sure`` on the slice, ``gaussian-sure-avg`` with its
neighbours; ``core.sure``).

The blind-spot bar (the mean of a hidden pixel's neighbours) let through models far worse than those
filters: an NRRN self-trained on ssTEM (slices 50 nm apart) gave 25.76 dB where the 3x3 Gaussian gave
26.63, an N2V self-trained on FlyEM FIB-SEM 27.74 dB where the app's filter gave 30.30, each with exit 0.

Stacks are (3, S, S) float32 on the trainer's z-scored scale, [z-1, z, z+1] around a held-back slice z.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from emdenoise_gui.core import risk, sure

#: Held-back slices the errors are estimated on (evenly spread), and the side (px) of their central square:
#: about 0.4 megapixels, a few seconds for a lite model on a CPU (about 70 s for a paper-size NRRN).
SLICES = 3
SIDE = 384
#: The squares' side is a multiple of this (the N2V U-Net halves the image twice).
MULTIPLE = 32
#: px: slices narrower than this are not estimated on: the noise variance measured on them scatters by 12 %
#: at 32 px, 3 % at 128 (FlyEM crops), and the estimates with it (some below zero).
MIN_SIDE = 128

Denoiser = Callable[[np.ndarray], np.ndarray]


def held_back_stacks(volumes: Sequence[np.ndarray], held_back: Sequence[Sequence[int]], count: int = SLICES,
                     side: int = SIDE, usable: Callable[[np.ndarray], bool] | None = None) -> list[np.ndarray]:
    """Up to ``count`` (3, S, S) stacks around the held-back slices (``held_back[v]``, indices into the
    (Z, H, W) ``volumes[v]``), evenly spread over them all: the central S x S square (``side``, or the
    slices' shorter side, down to a multiple of :data:`MULTIPLE`), the neighbours reflected at the stack's
    ends as inference does. Volumes whose slices are under :data:`MIN_SIDE` px are left out; with ``usable``
    (a test of a stack, e.g. :func:`estimable`), the stacks are spread over those of up to 4 x ``count``
    evenly spread candidates that pass it (a FIB-SEM stack's last, held-back slices are often blank)."""
    places = [(v, int(z)) for v, zs in enumerate(held_back) for z in zs if min(volumes[v].shape[1:]) >= MIN_SIDE]
    tries = count if usable is None else 4 * count
    stacks = [_stack_at(volumes[v], z, side) for v, z in (places[i] for i in _spread(len(places), tries))]
    if usable is not None:
        stacks = [s for s in stacks if usable(s)]
    return [stacks[i] for i in _spread(len(stacks), count)]


def _spread(total: int, count: int) -> list[int]:
    """Up to ``count`` indices spread evenly over ``range(total)``, first and last included."""
    if total == 0:
        return []
    return [int(i) for i in np.unique(np.linspace(0, total - 1, min(count, total)).round().astype(int))]


def _stack_at(data: np.ndarray, z: int, side: int) -> np.ndarray:
    """The (3, S, S) float32 stack [z-1, z, z+1] of the (Z, H, W) ``data`` at its central square (see
    :func:`held_back_stacks`)."""
    depth, height, width = data.shape
    size = min(side, height, width) // MULTIPLE * MULTIPLE
    y0, x0 = (height - size) // 2, (width - size) // 2
    before = z - 1 if z > 0 else min(z + 1, depth - 1)
    after = z + 1 if z < depth - 1 else max(z - 1, 0)
    return np.stack([np.asarray(data[k, y0:y0 + size, x0:x0 + size], np.float32) for k in (before, z, after)])


def estimable(stack: np.ndarray) -> bool:
    """Whether the centre slice of a (3, S, S) ``stack`` can be estimated on (:func:`_noise_to_estimate_on`)."""
    return _noise_to_estimate_on(stack) is not None


def _noise_to_estimate_on(stack: np.ndarray) -> np.ndarray | None:
    """The (S, S) noise variance of the centre slice of a (3, S, S) ``stack`` (``core.risk.noise_variance``)
    where it can be estimated on: white noise (``core.risk.white_noise``) and some pixels with noise (not
    blank, not all clipped); None otherwise."""
    if not risk.white_noise(stack[1]):
        return None
    variance = risk.noise_variance(stack[1])
    return variance if variance.any() else None


def estimated_errors(model: Denoiser, stacks: Sequence[np.ndarray], start: Denoiser | None = None,
                     seed: int = 0) -> dict[str, float]:
    """Mean estimated squared errors over ``stacks`` ((3, S, S), see :func:`held_back_stacks`), in the
    stacks' squared units: ``val_risk`` of ``model`` and ``init_risk`` of ``start`` (the model a run started
    from, where given), each a denoiser of a (3, S, S) stack to its centre slice's (S, S) result;
    ``sure_risk`` and ``sure_avg_risk`` of the SURE-tuned Gaussian on the slice alone and on it with its
    neighbours (the filters ``gaussian-sure`` and ``gaussian-sure-avg``, each width as the app picks it),
    ``filter_risk`` the lower of the two. Stacks whose centre slice shows no noise (blank, clipped) or noise
    that is not white (``core.risk.white_noise``: there the estimate ranks the wrong way) are left out; {}
    when none is left, or when an estimate is not above zero (too little to go on: an estimate of zero for
    the filter failed every model)."""
    rng = np.random.default_rng(seed)
    noise = [(s, v) for s in stacks if (v := _noise_to_estimate_on(s)) is not None]  # each measured once
    if not noise:
        return {}
    stacks, variances = [s for s, _ in noise], [v for _, v in noise]

    def mean_error(denoisers: Sequence[Denoiser]) -> float:
        return float(np.mean([risk.estimated_error(d, s, v, rng) for d, s, v in zip(denoisers, stacks, variances)]))

    # each filter's width is picked once, on the stack as it is: picked again on a perturbed copy, a jump to
    # the next width would read as a derivative
    alone = [_centre_only(sure.sure_smoothing(s[1])) for s in stacks]
    with_neighbours = [sure.sure_smoothing(s) for s in stacks]
    errors = {"val_risk": mean_error([model] * len(stacks)), "sure_risk": mean_error(alone),
              "sure_avg_risk": mean_error(with_neighbours)}
    errors["filter_risk"] = min(errors["sure_risk"], errors["sure_avg_risk"])
    if start is not None:
        errors["init_risk"] = mean_error([start] * len(stacks))
    return errors if all(value > 0 for value in errors.values()) else {}


def filter_named(metrics: dict) -> str | None:
    """The SURE-tuned Gaussian with the lower estimate in a card's ``metrics`` (:func:`estimated_errors`):
    "gaussian-sure-avg" or "gaussian-sure"; None where the card has no estimates."""
    alone, with_neighbours = metrics.get("sure_risk"), metrics.get("sure_avg_risk")
    if alone is None or with_neighbours is None:
        return None
    return "gaussian-sure-avg" if with_neighbours <= alone else "gaussian-sure"


def _centre_only(smoothing: sure.Smoothing) -> Denoiser:
    """``smoothing`` applied to the centre slice of a (3, S, S) stack alone."""
    return lambda stack: smoothing(stack[1])
