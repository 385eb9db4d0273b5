"""Tiles scaled, cut and blended on the device the network runs on (the CUDA path).

On a GPU the network's share of a slice shrinks to milliseconds, and what the host does around
it (scaling the window, reflection padding, cutting tiles, per-tile min-max scaling, the weighted
blend, the inverse scaling) becomes most of a slice: 0.010-0.044 s/MP on two Zen 4 cores against
0.06-0.10 s/MP for the light paper-size networks' whole slice on an H200 (docs/benchmarks.md,
"the host's share of a slice"). Here the window goes to the device once, everything in between
stays there, and one (H, W) float32 result comes back.

The arithmetic is :func:`core.tiling.blend_tiles`' and :class:`core.normalise.Normaliser`'s, in
the same order, in float32 (the host's per-tile min-max keeps its minimum and range in float64), on
the same :class:`core.tiling.TileGrid`: the result equals the host path's within 1e-5 on the [0, 1]
working scale (tests/inference/test_device_tiles.py). Whole-slice buffers that do not fit in the
device's memory send the Predictor back to the host path (``Predictor._device_blend``).
"""

from __future__ import annotations

from typing import Callable, Generator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from emdenoise_gui.core.events import CancelToken
from emdenoise_gui.core.normalise import EPS
from emdenoise_gui.core.tiling import TileGrid, pad_reflect

#: (B, C, th, tw) float32 device tiles on the network's input scale -> (B, th, tw) float32 device output.
DeviceTileFn = Callable[[torch.Tensor], torch.Tensor]


def upload_scaled(window: np.ndarray, params: Sequence[tuple[float, float]], grid: TileGrid,
                  device: torch.device, bounds: Sequence[tuple[float, float]] | None = None) -> torch.Tensor:
    """The (C, H, W) working-scale ``window`` on ``device`` as (C, Hp, Wp) float32, channel k mapped
    to ``(x - offset_k) / scale_k`` (``params``; clipped to ``bounds[k]`` when given, as
    ``core.normalise.Normaliser.forward`` does) and reflection-padded by ``grid.pad``. Pads as wide as
    the image (small slices, where torch's reflection cannot) are made on the host first."""
    (top, bottom), (left, right) = grid.pad
    height, width = window.shape[-2:]
    on_device = top < height and bottom < height and left < width and right < width
    source = window if on_device else pad_reflect(window, grid.pad)
    # copy=True: on the CPU .to() would hand back the caller's own array, which is scaled in place next
    x = torch.from_numpy(np.ascontiguousarray(source, np.float32)).to(device, copy=True)
    for k, (offset, scale) in enumerate(params):
        x[k].sub_(np.float32(offset)).div_(np.float32(scale))
        if bounds is not None:
            x[k].clamp_(*bounds[k])
    if on_device and (top or bottom or left or right):
        x = F.pad(x[None], (left, right, top, bottom), mode="reflect")[0]
    return x


def minmax_scale(tiles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each tile of (B, C, h, w) to [0, 1] by its centre channel's min and max (``core.normalise.
    minmax_tiles`` on the device). Returns (scaled, lo (B,1,1), span (B,1,1)), all float32."""
    centre = tiles[:, tiles.shape[1] // 2].flatten(1)
    lo = centre.amin(dim=1)
    span = torch.clamp(centre.amax(dim=1) - lo, min=EPS)
    return (tiles - lo[:, None, None, None]) / span[:, None, None, None], lo[:, None, None], span[:, None, None]


def blend_on_device(padded: torch.Tensor, fn: DeviceTileFn, grid: TileGrid, batch_size: int,
                    inverse: tuple[float, float] = (0.0, 1.0), per_tile: bool = False,
                    cancel: CancelToken | None = None) -> Generator[tuple[int, int], None, np.ndarray]:
    """:func:`core.tiling.blend_tiles` for a window already on the device; a generator.

    ``padded``: (C, Hp, Wp) float32 from :func:`upload_scaled`. ``fn`` maps a (B, C, th, tw) batch to
    (B, th, tw). ``per_tile``: each tile min-max scaled before ``fn`` and its output clipped to [0, 1]
    and scaled back (``core.normalise.PER_TILE_KINDS``). ``inverse`` = (offset, scale): the result is
    ``blend * scale + offset``, the working scale. Yields (tiles done, tiles in all) after each batch;
    returns the (H, W) float32 result as a numpy array on the host.
    """
    th, tw = grid.tile
    weights = torch.from_numpy(grid.weights()).to(padded.device)
    acc = torch.zeros(grid.padded_shape, dtype=torch.float32, device=padded.device)
    norm = torch.zeros_like(acc)
    total = len(grid)
    for start in range(0, total, batch_size):
        if cancel is not None:
            cancel.raise_if_cancelled()
        origins = grid.origins[start:start + batch_size]
        tiles = torch.stack([padded[:, y:y + th, x:x + tw] for y, x in origins])
        if per_tile:
            scaled, lo, span = minmax_scale(tiles)
            out = torch.clamp(fn(scaled), 0.0, 1.0) * span + lo
        else:
            out = fn(tiles)
        if tuple(out.shape) != (len(origins), th, tw):
            raise ValueError(f"tile function returned {tuple(out.shape)}, expected {(len(origins), th, tw)}")
        for (y, x), result in zip(origins, out):
            acc[y:y + th, x:x + tw] += weights * result
            norm[y:y + th, x:x + tw] += weights
        yield start + len(origins), total
    (top, _), (left, _) = grid.pad
    del padded, tiles, out  # the last division and the copy back need no more device memory than acc
    region = (slice(top, top + grid.height), slice(left, left + grid.width))
    offset, scale = inverse
    result = acc[region].div_(norm[region])
    del norm
    result.mul_(np.float32(scale)).add_(np.float32(offset))
    return result.cpu().numpy()
