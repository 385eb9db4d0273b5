"""How far a network looks: the receptive-field halo that sets the tile overlap.

A denoised pixel depends on input pixels up to ``halo`` px away; in a tile, outputs
closer than that to the tile's edge see the network's zero padding instead of image.
Band blending (``core.tiling.TilePlan.band``) gives those pixels no weight, so the
tiled result equals the whole-image result while tiles overlap by only ~2 halos.

The halo is measured, not declared: the gradient of one output pixel with respect
to the input is nonzero exactly on the pixels it depends on. Networks whose outputs
depend on the whole tile (instance norm, per-tile normalisation) have no finite halo:
their family is marked ``context="tile"`` in the catalogue and never probed.
"""

from __future__ import annotations

import torch

from emdenoise_gui.core.errors import InputError

#: Probe sizes start here (px) and double until the dependence stops short of the probe's border.
FIRST_PROBE = 64

_CACHE: dict[tuple, int | None] = {}


def receptive_halo(model: torch.nn.Module, input_slices: int, multiple: int = 1, limit: int = 512,
                   key: tuple | None = None) -> int | None:
    """The px radius (Chebyshev) of the input region one output pixel of ``model.denoise`` depends on.

    ``model`` maps (1, input_slices, s, s) float32 to (1, 1, s, s); probes of s = 64, 128, ... up
    to ``limit`` px (multiples of ``multiple``) run on the model's device in float32. Returns None
    when the dependence reaches the border of the largest probe (a whole-tile context). ``key``
    (e.g. the weights' sha256) caches the answer for this process.
    """
    if key is not None and key in _CACHE:
        return _CACHE[key]
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(0)
    size, halo = max(FIRST_PROBE, multiple), None
    while size <= limit:
        size = -(-size // multiple) * multiple
        x = torch.randn(1, input_slices, size, size, generator=generator).to(device).requires_grad_(True)
        centre = size // 2
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(model.denoise(x)[0, 0, centre, centre], x)
        if not torch.isfinite(grad).all():
            raise InputError("the network computes NaN or infinite values: the model does not fit this data or "
                             "its weights are damaged. Nothing was written")
        reach = grad.abs().sum(dim=(0, 1)) > 0
        ys, xs = torch.nonzero(reach, as_tuple=True)
        radius = int(max((ys - centre).abs().max(), (xs - centre).abs().max())) if len(ys) else 0
        if radius < centre - 1:  # stopped short of the border: that is the halo
            halo = radius
            break
        size *= 2
    if key is not None:
        _CACHE[key] = halo
    return halo
