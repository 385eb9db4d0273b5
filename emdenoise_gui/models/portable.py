"""A zoo model as one self-contained torch module: normalisation, network and the way back.

Other tools (bioimage.io, deepImageJ, ilastik, plain PyTorch) call a model on a tensor and expect
a result in the input's units. :class:`PortableDenoiser` wraps one of our networks with the card's
content normalisation, so ``module(x)`` with ``x`` (B, C, Y, X) float32 in any intensity units
(C: the family's input slices, the centre one in the middle) returns (B, 1, Y, X) in the same
units, each number as ``core.normalise.Normaliser`` takes it from a slice:

- ``zscore-slice`` (NRRN, N2V): each input channel of each sample by the mean and standard deviation
  of its values clipped to their bulk (:func:`bulk_limits`; of the values as they are where the bulk
  is one value), as ``core.normalise.slice_stats``; the output mapped back with the centre channel's;
- ``minmax-tile`` (Xception): each sample to [0, 1] by its minimum and maximum, output mapped back;
- ``robust-slice`` (cyclic): each input channel of each sample to [-1, 1] by the 0.5 and 99.5
  percentiles of its 5x5 box-smoothed copy (edges mirrored half-sample, as scipy's "reflect"),
  the output (tanh, in [-1, 1]) mapped back with the centre channel's.

For both per-slice kinds each channel's network input is clipped to its bulk widened by
``STRAY_MARGIN`` times its span each way (:func:`stray_bounds`, not clipped where the bulk is one
value), so that a stray pixel (65535 among values of about 1500) neither sets the z-score nor reaches
the network far out of range.

The statistics are those of the tensor given (a tile, for a tool that tiles), where EMDenoise's
own predictor uses the whole slice; the percentiles and ranks come from the same regular subsample
of about ``PERCENTILE_SAMPLES`` px (above 512^2 px). On tiles of a few hundred pixels the two agree
closely (the bioimage.io export's test tensors compare them). Every number derived from the input's
size is a tensor, so a module traced at one size (``torch.jit.trace``) computes them afresh at
another. The legacy dataset-scale kinds have no such form here and are refused.
"""

from __future__ import annotations

import torch
from torch import nn

from emdenoise_gui.core.normalise import (
    EPS,
    PERCENTILE_SAMPLES,
    ROBUST_BOX,
    ROBUST_PERCENTILES,
    STATS_PERCENTILES,
    STRAY_MARGIN,
)
from emdenoise_gui.models.registry import family

KINDS = ("zscore-slice", "minmax-tile", "robust-slice")
_PERCENTILES = tuple(p / 100 for p in ROBUST_PERCENTILES)  # as quantiles, core.normalise.robust_range's


def _symmetric_pad(x: torch.Tensor, p: int) -> torch.Tensor:
    """(B, C, Y, X) -> (B, C, Y + 2p, X + 2p), edges mirrored with the edge pixel repeated (scipy's
    "reflect", numpy's "symmetric"); torch's own "reflect" leaves the edge pixel out."""
    x = torch.cat([x[..., :p].flip(-1), x, x[..., -p:].flip(-1)], dim=-1)
    return torch.cat([x[..., :p, :].flip(-2), x, x[..., -p:, :].flip(-2)], dim=-2)


def _length(x: torch.Tensor, dim: int) -> torch.Tensor:
    """``x``'s size along ``dim`` as a float64 scalar tensor: computed with tensor operations, so that a traced
    export keeps it dynamic instead of baking in the trace's size (a Python int would be a constant)."""
    return x.new_ones(x.shape[dim]).sum(dtype=torch.float64)


def _every(x: torch.Tensor, dim: int, step: torch.Tensor) -> torch.Tensor:
    """The indices 0, step, 2 step, ... along ``x``'s ``dim``, (ceil(size / step),) int64 on ``x``'s device: made
    from ``x`` itself, where a traced ``torch.arange(..., device=x.device)`` kept the trace's device as a constant
    (a module traced on the CPU then indexed a GPU tensor with CPU indices)."""
    index = x.new_ones(x.shape[dim], dtype=torch.long).cumsum(0) - 1
    return index[index % step == 0]


def _subsample(x: torch.Tensor, samples: int) -> torch.Tensor:
    """(B, C, Y, X) -> (B, C, n): each channel's regular subsample of about ``samples`` px, every step-th row
    and column from the first, step = max(1, floor(sqrt(Y X / samples))), as core.normalise takes them (so the
    numbers match); the step is a tensor (:func:`_length`)."""
    step = torch.clamp(torch.floor(torch.sqrt(_length(x, 2) * _length(x, 3) / samples)), min=1.0).long()
    return x.index_select(2, _every(x, 2, step)).index_select(3, _every(x, 3, step)).flatten(2)


def _sampled_quantiles(smooth: torch.Tensor, percentiles: torch.Tensor, samples: int) -> torch.Tensor:
    """(B, C, Y, X), (2,) -> (2, B, C): the quantiles of each channel's :func:`_subsample` of about ``samples``
    px, as core.normalise.robust_range takes them (a large slice stays under torch.quantile's 2^24 values)."""
    return torch.quantile(_subsample(smooth, samples), percentiles, dim=2)


def bulk_limits(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C, Y, X) float32 -> (low, high), each (B, C, 1, 1) in ``x``'s units: core.normalise.bulk_limits of
    each channel, the values at the ranks of STATS_PERCENTILES of its :func:`_subsample` of about
    PERCENTILE_SAMPLES px, at least one value in from each end (a subsample of 2 values or fewer: its minimum
    and maximum). The rank is a tensor too: the subsample sorted and taken at tensor indices."""
    sample = _subsample(x, PERCENTILE_SAMPLES).sort(dim=2).values  # (B, C, n)
    n = _length(sample, 2)
    k = torch.clamp(torch.floor(n * STATS_PERCENTILES[0] / 100.0), min=1.0)  # core.normalise._clip_limits's
    k = k * (n > 2 * k).to(k.dtype)  # no room for k in from each end: the ends
    low, high = sample.index_select(2, torch.stack([k, n - 1 - k]).long()).unbind(2)  # (B, C) each
    return low[..., None, None], high[..., None, None]


def zscore_params(x: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C, Y, X) float32 and its :func:`bulk_limits` -> (mean, std), each (B, C, 1, 1): core.normalise.slice_stats
    of each channel, of its values clipped to [low, high]; a channel whose bulk is one value (flat but for a few
    pixels, which the clip would take away) takes them of its values as they are. std floored at EPS. (slice_stats
    falls back where the clipped std is under EPS and the bulk is one value: the clipped values are then all equal,
    so the bulk alone decides.)"""
    values = torch.where(high > low, x.clamp(low, high), x)
    mean = values.mean(dim=(2, 3), keepdim=True)
    return mean, values.std(dim=(2, 3), keepdim=True, unbiased=False).clamp_min(EPS)


def stray_bounds(low: torch.Tensor, high: torch.Tensor, offset: torch.Tensor,
                 scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each (B, C, 1, 1): a channel's bulk [low, high] (:func:`bulk_limits`) and its (offset, scale) -> (lowest,
    highest) network input ((x - offset) / scale) that is not a stray, as core.normalise._stray_bounds: the bulk
    widened by STRAY_MARGIN times its span each way; -inf and inf (no clip) where the bulk is one value."""
    margin = STRAY_MARGIN * (high - low)
    one_value = ~(high > low)
    return (((low - margin - offset) / scale).masked_fill(one_value, float("-inf")),
            ((high + margin - offset) / scale).masked_fill(one_value, float("inf")))


def robust_params(x: torch.Tensor, percentiles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C, Y, X) float32 -> (middle, half-width), each (B, C, 1, 1), of the ``percentiles`` (2,) range
    of each channel's box-smoothed copy: (x - middle) / half-width maps that range to [-1, 1]."""
    smooth = nn.functional.avg_pool2d(_symmetric_pad(x, ROBUST_BOX // 2), ROBUST_BOX, stride=1)
    q = _sampled_quantiles(smooth, percentiles.to(x.dtype), PERCENTILE_SAMPLES)  # (2, B, C)
    lo, hi = q[0], q[1]
    hi = torch.where(hi - lo > EPS, hi, lo + 1.0)
    return ((lo + hi) / 2)[..., None, None], ((hi - lo) / 2)[..., None, None]


class PortableDenoiser(nn.Module):
    """``family``'s network built with ``architecture`` (the card's), normalised as ``normalisation``
    (a kind of :data:`KINDS`); ``pad`` px of mirrored image around the input (the network's halo)
    so that pixels near the edge see image, not zeros. Its state dict is the network's under ``net.``;
    ``net``: that network already built (with its weights), else a fresh one is built."""

    def __init__(self, family_name: str, architecture: dict, normalisation: str, pad: int = 0,
                 net: nn.Module | None = None):
        super().__init__()
        self.pad = int(pad)
        if normalisation not in KINDS:
            raise ValueError(f"normalisation {normalisation!r} has no portable form (only {', '.join(KINDS)})")
        info = family(family_name)
        self.net = net if net is not None else info.build(**architecture)
        self.kind = normalisation
        self.slices = info.input_slices
        self.register_buffer("percentiles", torch.tensor(_PERCENTILES), persistent=False)  # robust-slice

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, Y, X) float32 in the image's units -> (B, 1, Y, X) in the same units."""
        centre = self.slices // 2
        if self.kind == "minmax-tile":  # Ede & Beanland's crop scaling, the prediction clipped to [0, 1]
            offset = x.amin(dim=(1, 2, 3), keepdim=True)
            scale = (x.amax(dim=(1, 2, 3), keepdim=True) - offset).clamp_min(EPS)
            z = (x - offset) / scale
        else:  # per channel, as core.normalise.Normaliser.forward: scaled, then strays clipped
            low, high = bulk_limits(x)
            if self.kind == "zscore-slice":
                offset, scale = zscore_params(x, low, high)
            else:
                offset, scale = robust_params(x, self.percentiles)
            z = ((x - offset) / scale).clamp(*stray_bounds(low, high, offset, scale))
            offset, scale = offset[:, centre:centre + 1], scale[:, centre:centre + 1]
        if self.pad:  # the image mirrored at its edges, as EMDenoise's tiler does, instead of zeros
            p = self.pad
            y = self.net.denoise(nn.functional.pad(z, (p, p, p, p), mode="reflect"))[..., p:-p, p:-p]
        else:
            y = self.net.denoise(z)
        if self.kind == "minmax-tile":
            y = y.clamp(0.0, 1.0)
        # a blank centre slice (one value: a missing section, padding) is returned as it is, as EMDenoise's
        # predictor does: scaled by its zero spread, the network made a grey pattern of it
        given = x[:, centre:centre + 1]
        blank = given.amax(dim=(2, 3), keepdim=True) == given.amin(dim=(2, 3), keepdim=True)
        return torch.where(blank, given, y * scale + offset)
