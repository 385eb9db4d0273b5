"""Tiled processing of images of any size with Gaussian-weighted blending.

An image is reflection-padded so that a regular grid of tiles (default 512 px,
stride 256) covers it with every image pixel well inside at least one tile;
each tile is processed, weighted by a 2-D Gaussian (sigma = tile/8, floored so
its corners never vanish), summed, and divided by the summed weights
(Ede & Beanland / cyclic-paper style blending, models.md section 4).

Images smaller than a tile get one tile per axis, rounded up to a multiple of
``multiple`` pixels (networks that downsample need sizes divisible by 2**k).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generator, Iterator

import numpy as np

from emdenoise_gui.core.events import CancelToken, run_to_end

#: Gaussian weights are floored at this fraction of their maximum.
WEIGHT_FLOOR = 1e-3

TileFn = Callable[[np.ndarray], np.ndarray]


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


@dataclass(frozen=True)
class TileGrid:
    """Tile layout for an image of ``height`` x ``width`` pixels.

    Attributes: ``tile`` and ``stride`` per axis as (y, x); ``pad`` as
    ((top, bottom), (left, right)) reflection padding in pixels; ``origins``
    are the (y, x) corners of the tiles in padded coordinates.
    """

    height: int
    width: int
    tile: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[tuple[int, int], tuple[int, int]]
    origins: tuple[tuple[int, int], ...]

    @classmethod
    def build(cls, height: int, width: int, tile: int = 512, stride: int = 256,
              multiple: int = 16) -> "TileGrid":
        """Lay out tiles of ``tile`` px with ``stride`` px steps over a (height, width) image."""
        if tile < 1 or stride < 1 or stride > tile:
            raise ValueError(f"need 1 <= stride <= tile, got tile {tile}, stride {stride}")
        tiles, strides, pads, starts = [], [], [], []
        for size in (height, width):
            if size <= tile:  # one tile per axis, centred on the image
                t = _round_up(size, multiple)
                before = (t - size) // 2
                tiles.append(t)
                strides.append(t)
                pads.append((before, t - size - before))
                starts.append([0])
                continue
            margin = (tile - stride) // 2  # image borders fall this far inside the first tile
            n = -(-(size + 2 * margin - tile) // stride) + 1
            total = (n - 1) * stride + tile
            extra = total - size - 2 * margin
            pads.append((margin + extra // 2, margin + extra - extra // 2))
            tiles.append(tile)
            strides.append(stride)
            starts.append([i * stride for i in range(n)])
        origins = tuple((y, x) for y in starts[0] for x in starts[1])
        return cls(height, width, tuple(tiles), tuple(strides), tuple(pads), origins)

    @property
    def padded_shape(self) -> tuple[int, int]:
        return (self.height + sum(self.pad[0]), self.width + sum(self.pad[1]))

    def __len__(self) -> int:
        return len(self.origins)


def gaussian_weights(tile: tuple[int, int], floor: float = WEIGHT_FLOOR) -> np.ndarray:
    """(th, tw) float64 Gaussian window, sigma = side/8, centre 1, floored at ``floor``."""
    axes = []
    for n in tile:
        centre, sigma = (n - 1) / 2.0, n / 8.0
        axes.append(np.exp(-((np.arange(n) - centre) ** 2) / (2.0 * sigma**2)))
    weights = np.outer(axes[0], axes[1])
    return np.maximum(weights / weights.max(), floor)


def pad_reflect(image: np.ndarray, pad) -> np.ndarray:
    """Reflection-pad the last two axes of ``image`` by ``pad`` = ((top, bottom), (left, right)).

    Works for pads larger than the image (numpy reflects repeatedly).
    """
    widths = [(0, 0)] * (image.ndim - 2) + [tuple(pad[0]), tuple(pad[1])]
    return np.pad(image, widths, mode="reflect" if min(image.shape[-2:]) > 1 else "edge")


def iter_tiles(padded: np.ndarray, grid: TileGrid, batch_size: int) -> Iterator[tuple[list, np.ndarray]]:
    """Batches of (origins, tiles (B, [C,] th, tw)) cut from a padded image."""
    th, tw = grid.tile
    for start in range(0, len(grid.origins), batch_size):
        origins = grid.origins[start:start + batch_size]
        tiles = np.stack([padded[..., y:y + th, x:x + tw] for y, x in origins])
        yield list(origins), tiles


def blend_tiles(
    image: np.ndarray,
    fn: TileFn,
    tile: int = 512,
    stride: int = 256,
    batch_size: int = 1,
    multiple: int = 16,
    cancel: CancelToken | None = None,
) -> Generator[tuple[int, int], None, np.ndarray]:
    """Apply ``fn`` tile by tile to ``image`` and blend the results; a generator.

    Parameters
    ----------
    image: (H, W) or (C, H, W) array, any real dtype; C channels (e.g. adjacent
        slices) travel together in each tile.
    fn: maps a float32 batch (B, th, tw) or (B, C, th, tw) to (B, th, tw).
    tile, stride: tile side and step in pixels.
    batch_size: tiles per call of ``fn``.
    multiple: tile sides of small images are rounded up to this many pixels.
    cancel: checked before every batch.

    Yields (tiles done, tiles in all) after each batch and returns (``yield
    from`` gives it) the (H, W) float32 Gaussian-weighted blend of ``fn``'s outputs.
    """
    height, width = image.shape[-2:]
    grid = TileGrid.build(height, width, tile, stride, multiple)
    padded = pad_reflect(image.astype(np.float32, copy=False), grid.pad)
    weights = gaussian_weights(grid.tile)
    acc = np.zeros(grid.padded_shape, dtype=np.float64)
    norm = np.zeros(grid.padded_shape, dtype=np.float64)
    th, tw = grid.tile
    done = 0
    for origins, tiles in iter_tiles(padded, grid, batch_size):
        if cancel is not None:
            cancel.raise_if_cancelled()
        out = np.asarray(fn(tiles))
        if out.shape != (len(origins), th, tw):
            raise ValueError(f"tile function returned {out.shape}, expected {(len(origins), th, tw)}")
        for (y, x), result in zip(origins, out):
            acc[y:y + th, x:x + tw] += weights * result
            norm[y:y + th, x:x + tw] += weights
        done += len(origins)
        yield done, len(grid)
    (top, _), (left, _) = grid.pad
    return (acc / norm)[top:top + height, left:left + width].astype(np.float32)


def process_tiled(image: np.ndarray, fn: TileFn, **kwargs) -> np.ndarray:
    """:func:`blend_tiles` run to the end: the (H, W) float32 blended result."""
    return run_to_end(blend_tiles(image, fn, **kwargs))
