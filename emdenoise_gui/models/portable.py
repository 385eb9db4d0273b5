"""A zoo model as one self-contained torch module: normalisation, network and the way back.

Other tools (bioimage.io, deepImageJ, ilastik, plain PyTorch) call a model on a tensor and expect
a result in the input's units. :class:`PortableDenoiser` wraps one of our networks with the card's
content normalisation, so ``module(x)`` with ``x`` (B, C, Y, X) float32 in any intensity units
(C: the family's input slices, the centre one in the middle) returns (B, 1, Y, X) in the same
units:

- ``zscore-slice`` (NRRN, N2V): each input channel of each sample by its own mean and standard
  deviation over Y and X; the output mapped back with the centre channel's;
- ``minmax-tile`` (Xception): each sample to [0, 1] by its minimum and maximum, output mapped back.

The statistics are those of the tensor given (a tile, for a tool that tiles), where EMDenoise's
own predictor uses the whole slice: on tiles of a few hundred pixels the two agree closely (the
bioimage.io export's test tensors compare them). The cyclic family's percentile normalisation and
the legacy dataset-scale kinds have no such form here and are refused.
"""

from __future__ import annotations

import torch
from torch import nn

from emdenoise_gui.models.registry import family

KINDS = ("zscore-slice", "minmax-tile")
_EPS = 1e-6


class PortableDenoiser(nn.Module):
    """``family``'s network built with ``architecture`` (the card's), normalised as ``normalisation``
    (a kind of :data:`KINDS`); ``pad`` px of mirrored image around the input (the network's halo)
    so that pixels near the edge see image, not zeros. Its state dict is the network's under ``net.``."""

    def __init__(self, family_name: str, architecture: dict, normalisation: str, pad: int = 0):
        super().__init__()
        self.pad = int(pad)
        if normalisation not in KINDS:
            raise ValueError(f"normalisation {normalisation!r} has no portable form (only {', '.join(KINDS)})")
        info = family(family_name)
        self.net = info.build(**architecture)
        self.kind = normalisation
        self.slices = info.input_slices

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, Y, X) float32 in the image's units -> (B, 1, Y, X) in the same units."""
        centre = self.slices // 2
        if self.kind == "zscore-slice":
            mean = x.mean(dim=(2, 3), keepdim=True)
            std = x.std(dim=(2, 3), keepdim=True, unbiased=False).clamp_min(_EPS)
            z = (x - mean) / std
            offset, scale = mean[:, centre:centre + 1], std[:, centre:centre + 1]
        else:  # minmax-tile: Ede & Beanland's crop scaling, the prediction clipped to [0, 1]
            offset = x.amin(dim=(1, 2, 3), keepdim=True)
            scale = (x.amax(dim=(1, 2, 3), keepdim=True) - offset).clamp_min(_EPS)
            z = (x - offset) / scale
        if self.pad:  # the image mirrored at its edges, as EMDenoise's tiler does, instead of zeros
            p = self.pad
            y = self.net.denoise(nn.functional.pad(z, (p, p, p, p), mode="reflect"))[..., p:-p, p:-p]
        else:
            y = self.net.denoise(z)
        if self.kind == "minmax-tile":
            y = y.clamp(0.0, 1.0)
        return y * scale + offset
