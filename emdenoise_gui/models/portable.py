"""A zoo model as one self-contained torch module: normalisation, network and the way back.

Other tools (bioimage.io, deepImageJ, ilastik, plain PyTorch) call a model on a tensor and expect
a result in the input's units. :class:`PortableDenoiser` wraps one of our networks with the card's
content normalisation, so ``module(x)`` with ``x`` (B, C, Y, X) float32 in any intensity units
(C: the family's input slices, the centre one in the middle) returns (B, 1, Y, X) in the same
units:

- ``zscore-slice`` (NRRN, N2V): each input channel of each sample by its own mean and standard
  deviation over Y and X; the output mapped back with the centre channel's;
- ``minmax-tile`` (Xception): each sample to [0, 1] by its minimum and maximum, output mapped back;
- ``robust-slice`` (cyclic): each input channel of each sample to [-1, 1] by the 0.5 and 99.5
  percentiles of its 5x5 box-smoothed copy (edges mirrored half-sample, as scipy's "reflect"),
  the output (tanh, in [-1, 1]) mapped back with the centre channel's.

The statistics are those of the tensor given (a tile, for a tool that tiles), where EMDenoise's
own predictor uses the whole slice (and, above 512^2 px, percentiles of a regular subsample): on
tiles of a few hundred pixels the two agree closely (the bioimage.io export's test tensors compare
them). The legacy dataset-scale kinds have no such form here and are refused.
"""

from __future__ import annotations

import torch
from torch import nn

from emdenoise_gui.core.normalise import (
    EPS,
    PERCENTILE_SAMPLES,
    ROBUST_BOX,
    ROBUST_PERCENTILES,
)
from emdenoise_gui.models.registry import family

KINDS = ("zscore-slice", "minmax-tile", "robust-slice")
_PERCENTILES = tuple(p / 100 for p in ROBUST_PERCENTILES)  # as quantiles, core.normalise.robust_range's


def _symmetric_pad(x: torch.Tensor, p: int) -> torch.Tensor:
    """(B, C, Y, X) -> (B, C, Y + 2p, X + 2p), edges mirrored with the edge pixel repeated (scipy's
    "reflect", numpy's "symmetric"); torch's own "reflect" leaves the edge pixel out."""
    x = torch.cat([x[..., :p].flip(-1), x, x[..., -p:].flip(-1)], dim=-1)
    return torch.cat([x[..., :p, :].flip(-2), x, x[..., -p:, :].flip(-2)], dim=-2)


def _sampled_quantiles(smooth: torch.Tensor, percentiles: torch.Tensor, samples: int) -> torch.Tensor:
    """(B, C, Y, X), (2,) -> (2, B, C): the quantiles of each channel's regular subsample of about
    ``samples`` px, every step-th row and column as core.normalise.robust_range takes them (so the numbers
    match, and a large slice stays under torch.quantile's 2^24 values). The step is computed with tensor
    operations, so that a traced export keeps it dynamic instead of baking in the trace's size."""
    rows = smooth.new_ones(smooth.shape[2]).sum(dtype=torch.float64)
    cols = smooth.new_ones(smooth.shape[3]).sum(dtype=torch.float64)
    step = torch.clamp(torch.floor(torch.sqrt(rows * cols / samples)), min=1.0).long()
    sample = (smooth.index_select(2, torch.arange(0, rows.long(), step, device=smooth.device))
              .index_select(3, torch.arange(0, cols.long(), step, device=smooth.device)))
    return torch.quantile(sample.flatten(2), percentiles, dim=2)


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
        if self.kind == "zscore-slice":
            mean = x.mean(dim=(2, 3), keepdim=True)
            std = x.std(dim=(2, 3), keepdim=True, unbiased=False).clamp_min(EPS)
            z = (x - mean) / std
            offset, scale = mean[:, centre:centre + 1], std[:, centre:centre + 1]
        elif self.kind == "robust-slice":
            middle, half = robust_params(x, self.percentiles)
            z = (x - middle) / half
            offset, scale = middle[:, centre:centre + 1], half[:, centre:centre + 1]
        else:  # minmax-tile: Ede & Beanland's crop scaling, the prediction clipped to [0, 1]
            offset = x.amin(dim=(1, 2, 3), keepdim=True)
            scale = (x.amax(dim=(1, 2, 3), keepdim=True) - offset).clamp_min(EPS)
            z = (x - offset) / scale
        if self.pad:  # the image mirrored at its edges, as EMDenoise's tiler does, instead of zeros
            p = self.pad
            y = self.net.denoise(nn.functional.pad(z, (p, p, p, p), mode="reflect"))[..., p:-p, p:-p]
        else:
            y = self.net.denoise(z)
        if self.kind == "minmax-tile":
            y = y.clamp(0.0, 1.0)
        return y * scale + offset
