"""Tiled processing of images of any size, blended seam-free.

An image is reflection-padded so that a regular grid of tiles covers it with every
image pixel well inside at least one tile; each tile is processed, weighted, summed,
and divided by the summed weights. A :class:`TilePlan` says how:

* **band** (the fast default): neighbouring tiles share only ``overlap`` px. The outer
  ``guard`` px of every tile, where a network sees its zero padding instead of image
  (its receptive-field radius), get almost no weight; between the guards a raised-cosine
  ramp hands over from one tile to the next. The cost per finished pixel is
  ``(tile / (tile - overlap))**2`` network pixels, near 1 for a small receptive field.
  Tiles shrink (to a multiple of ``multiple``) so that equal tiles just cover the image:
  a 520 px slice takes two 304 px tiles per axis, not three of 512.
* **gaussian** (the papers' mode, "quality: paper"): tiles of a fixed side at a stride
  (512 / 256: every pixel computed four times), weighted by a 2-D Gaussian (sigma =
  tile/8, floored so its corners never vanish; Ede & Beanland / cyclic-paper blending,
  models.md section 4). A local network's outer halo px (computed from its zero padding) weigh
  next to nothing where another tile covers them, so the result equals the whole image's.

Images smaller than a tile get one tile per axis, rounded up to a multiple of
``multiple`` pixels (networks that downsample need sizes divisible by 2**k), their borders half
an overlap inside it (at most LONE_TILE_MARGIN px in the papers' mode, whatever its tile side).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Generator, Iterator

import numpy as np

from emdenoise_gui.core.events import CancelToken, run_to_end

#: Gaussian weights are floored at this fraction of their maximum (corners never vanish).
WEIGHT_FLOOR = 1e-3
#: An image that fits in one Gaussian (paper) tile keeps its borders at most this far inside it: the papers'
#: 512 / 256 layout's margin. Half a larger tile's overlap padded a 64 px image by 1024 px per side at tile 4096
#: (67 s instead of 3 s) and bought nothing: with one tile there are no seams to hide.
LONE_TILE_MARGIN = 128
#: Band weights are floored far lower: the guard px hold what the network computed from its zero
#: padding and must not leak into the result; every image pixel lies outside some tile's guard.
BAND_FLOOR = 1e-12

TileFn = Callable[[np.ndarray], np.ndarray]


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


@dataclass(frozen=True)
class TilePlan:
    """How to tile: ``tile`` side (px, the largest a tile gets), ``overlap`` (px shared by
    neighbouring tiles), ``guard`` (px at each tile edge that get almost no weight; band
    window only), ``window`` ("band" or "gaussian") and ``fixed`` (keep the tile side;
    else band tiles shrink to just cover the image). ``at_least``: ``tile`` is the smallest side
    instead (whole-tile contexts: the fewest tiles of at least that side cover the image, none smaller)."""

    tile: int = 512
    overlap: int = 256
    guard: int = 0
    window: str = "gaussian"
    fixed: bool = True
    at_least: bool = False

    def __post_init__(self):
        if self.tile < 1 or not 0 <= self.overlap < self.tile:
            raise ValueError(f"need tile >= 1 and 0 <= overlap < tile, got tile {self.tile}, overlap {self.overlap}")
        if self.window not in ("band", "gaussian") or not 0 <= 2 * self.guard <= self.overlap:
            raise ValueError(f"bad tile plan: window {self.window!r}, guard {self.guard}, overlap {self.overlap}")

    @classmethod
    def paper(cls, tile: int = 512, stride: int = 256, guard: int = 0) -> "TilePlan":
        """The papers' tiling: ``tile`` px tiles every ``stride`` px, Gaussian-weighted; the outer ``guard`` px
        of a tile (a network's reach: what it computed from its zero padding) weigh next to nothing where
        another tile covers them (needs an overlap of at least 2 * ``guard``)."""
        if not 1 <= stride <= tile:
            raise ValueError(f"need 1 <= stride <= tile, got tile {tile}, stride {stride}")
        return cls(tile, tile - stride, guard, "gaussian", True)

    @classmethod
    def band(cls, tile: int, halo: int, ramp: int = 16, fixed: bool = False) -> "TilePlan":
        """Band blending for a network whose outputs depend on inputs up to ``halo`` px away:
        the guard is the halo, the tiles overlap by 2 * halo + ``ramp`` px. A ``fixed`` tile (a training
        crop) keeps its side and overlaps by at most half of it; other tiles grow to twice the overlap (a
        16 px tile cut NRRN's guard to 4 px of its 8, and made one tile per pixel: 16 GiB for a 4096^2 slice; inference audit)."""
        overlap = 2 * halo + ramp
        if fixed:
            overlap = min(overlap, tile // 2)
        else:
            tile = max(tile, 2 * overlap)
        return cls(tile, overlap, min(halo, overlap // 2), "band", fixed)

    @classmethod
    def whole_tile(cls, tile: int, fixed: bool = False, overlap: int | None = None) -> "TilePlan":
        """Band blending for functions whose outputs depend on the whole tile (instance norm, per-tile
        normalisation, a noise level estimated per tile): ``overlap`` px (default a quarter tile), a
        guard of a quarter of it."""
        overlap = tile // 4 if overlap is None else overlap
        plan = cls.band(tile, overlap // 4, overlap // 2, fixed)
        return plan if fixed else replace(plan, at_least=True)

    @property
    def cost(self) -> float:
        """Network pixels computed per finished pixel on a large image (1.0 = no overlap)."""
        return (self.tile / (self.tile - self.overlap)) ** 2


@dataclass(frozen=True)
class TileGrid:
    """Tile layout for an image of ``height`` x ``width`` pixels.

    Attributes: ``tile`` and ``stride`` per axis as (y, x); ``pad`` as
    ((top, bottom), (left, right)) reflection padding in pixels; ``origins``
    are the (y, x) corners of the tiles in padded coordinates; ``plan`` the TilePlan.
    """

    height: int
    width: int
    tile: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[tuple[int, int], tuple[int, int]]
    origins: tuple[tuple[int, int], ...]
    plan: TilePlan

    @classmethod
    def build(cls, height: int, width: int, plan: TilePlan = TilePlan(), multiple: int = 16) -> "TileGrid":
        """Lay out ``plan``'s tiles over a (height, width) image."""
        tiles, strides, pads, starts = [], [], [], []
        for size in (height, width):
            tile, stride, pad, count = _axis(size, plan, multiple)
            tiles.append(tile)
            strides.append(stride)
            pads.append(pad)
            starts.append([i * stride for i in range(count)])
        origins = tuple((y, x) for y in starts[0] for x in starts[1])
        return cls(height, width, tuple(tiles), tuple(strides), tuple(pads), origins, plan)

    @property
    def padded_shape(self) -> tuple[int, int]:
        return (self.height + sum(self.pad[0]), self.width + sum(self.pad[1]))

    def __len__(self) -> int:
        return len(self.origins)

    def weights(self) -> np.ndarray:
        """(th, tw) float32 blending window of this grid's tiles, maximum 1, floored (WEIGHT_FLOOR, BAND_FLOOR)."""
        guard = self.plan.guard
        if self.plan.window == "gaussian":  # the guard px (what the network computed from its zero padding) all
            # but left out where tiles overlap: weighed in, NRRN lite's seams reached 2.7 grey levels at 64 / 48
            outside = [np.minimum(np.arange(t), t - 1 - np.arange(t)) < guard if t > s else np.zeros(t, bool)
                       for t, s in zip(self.tile, self.stride)]
            floor = np.where(outside[0][:, None] | outside[1][None, :], BAND_FLOOR, 1.0)
            return (gaussian_weights(self.tile) * floor).astype(np.float32)
        axes = [band_window(t, t - s, guard) if t > s else np.ones(t) for t, s in zip(self.tile, self.stride)]
        return np.maximum(np.outer(axes[0], axes[1]), BAND_FLOOR).astype(np.float32)


def _axis(size: int, plan: TilePlan, multiple: int) -> tuple[int, int, tuple[int, int], int]:
    """(tile, stride, (pad before, after), tile count) along one image axis of ``size`` px."""
    if plan.window == "gaussian" or plan.fixed:
        tile, overlap = plan.tile, plan.overlap
        if size <= tile:  # one tile, centred on the image, its borders half the overlap inside it, as with many
            # tiles (an image just under a tile had 4 px to the network's zero padding, and its outer pixels
            # differed from the band tiling's by up to 5 grey levels), as far as the tile allows; a local network's
            # Gaussian tile (a guard) may pass the plan's side for it (a 512 px image in 512 px tiles had no margin:
            # up to 9 grey levels off; inference audit), a training crop keeps its side
            margin = overlap // 2 if plan.window == "band" else min(overlap // 2, LONE_TILE_MARGIN)
            wanted = _round_up(size + 2 * margin, multiple)
            grows = plan.window == "gaussian" and plan.guard > 0
            tile = wanted if grows else max(_round_up(size, multiple), min(tile, wanted))
            before = (tile - size) // 2
            return tile, tile, (before, tile - size - before), 1
        if plan.window == "band" and _round_up(overlap, multiple) < tile:
            overlap = _round_up(overlap, multiple)  # strides stay multiples: downsampling nets align
        stride = tile - overlap
        margin = overlap // 2  # image borders fall this far inside the first tile
        count = -(-(size + 2 * margin - tile) // stride) + 1
    else:
        overlap = _round_up(plan.overlap, multiple)  # strides stay multiples: downsampling nets align
        step = max(multiple, plan.tile - overlap)  # an overlap rounded up to the tile: a tile per px before
        count = max(1, size // step if plan.at_least else -(-size // step))  # tiles >= or <= plan.tile
        tile = _round_up(-(-size // count) + overlap, multiple)
        stride = tile - overlap
    total = (count - 1) * stride + tile
    extra = total - size
    return tile, stride, (extra // 2, extra - extra // 2), count


def gaussian_weights(tile: tuple[int, int], floor: float = WEIGHT_FLOOR) -> np.ndarray:
    """(th, tw) float64 Gaussian window, sigma = side/8, centre 1, floored at ``floor``."""
    axes = []
    for n in tile:
        centre, sigma = (n - 1) / 2.0, n / 8.0
        axes.append(np.exp(-((np.arange(n) - centre) ** 2) / (2.0 * sigma**2)))
    weights = np.outer(axes[0], axes[1])
    return np.maximum(weights / weights.max(), floor)


def band_window(n: int, overlap: int, guard: int) -> np.ndarray:
    """(n,) float64 window: 0 over the outer ``guard`` px at each end, a raised-cosine ramp up to 1
    over the next ``overlap - 2 * guard`` px, 1 inside. Two neighbours' ramps over their shared
    ``overlap`` px sum to 1."""
    ramp = max(1, overlap - 2 * guard)
    i = np.arange(n, dtype=np.float64)
    edge = np.minimum(i, n - 1 - i) - guard + 0.5  # distance into the ramp, in px
    return np.where(edge <= 0, 0.0, np.where(edge >= ramp, 1.0, 0.5 - 0.5 * np.cos(np.pi * edge / ramp)))


def pad_reflect(image: np.ndarray, pad) -> np.ndarray:
    """Reflection-pad the last two axes of ``image`` by ``pad`` = ((top, bottom), (left, right)).

    Works for pads larger than the image (numpy reflects repeatedly).
    """
    widths = [(0, 0)] * (image.ndim - 2) + [tuple(pad[0]), tuple(pad[1])]
    return np.pad(image, widths, mode="reflect" if min(image.shape[-2:]) > 1 else "edge")


def _axis_index(start: int, n: int, size: int, edge: bool) -> slice | np.ndarray:
    """Where ``n`` padded positions from ``start`` (image coordinates; negative or past the end in the
    padding) read an axis of ``size`` px: a slice inside the image, else the indices :func:`pad_reflect`
    gives them (numpy's "reflect": period 2 (size - 1); with ``edge``, its "edge": the nearest pixel)."""
    if 0 <= start and start + n <= size:
        return slice(start, start + n)
    if edge or size == 1:
        return np.clip(np.arange(start, start + n), 0, size - 1)
    period = 2 * (size - 1)
    index = np.mod(np.arange(start, start + n), period)
    return np.where(index < size, index, period - index)


def cut_tile(image: np.ndarray, grid: "TileGrid", origin: tuple[int, int]) -> np.ndarray:
    """The tile at ``origin`` (padded coordinates) of ``image`` ((H, W) or (C, H, W)) as reflection-padded
    by ``grid.pad``, cut without padding the whole image: equal to ``pad_reflect(image, grid.pad)``'s."""
    (top, _), (left, _) = grid.pad
    (th, tw), (y, x) = grid.tile, origin
    edge = min(image.shape[-2:]) <= 1  # as pad_reflect: an image of one row or column is padded with it
    rows = _axis_index(y - top, th, image.shape[-2], edge)
    cols = _axis_index(x - left, tw, image.shape[-1], edge)
    if isinstance(rows, slice) and isinstance(cols, slice):
        return image[..., rows, cols]
    rows = np.arange(rows.start, rows.stop) if isinstance(rows, slice) else rows
    cols = np.arange(cols.start, cols.stop) if isinstance(cols, slice) else cols
    return image[..., rows[:, None], cols[None, :]]


def iter_tiles(image: np.ndarray, grid: TileGrid, batch_size: int) -> Iterator[tuple[list, np.ndarray]]:
    """Batches of (origins, tiles (B, [C,] th, tw)) of ``image`` as padded by ``grid``."""
    for start in range(0, len(grid.origins), batch_size):
        origins = grid.origins[start:start + batch_size]
        yield list(origins), np.stack([cut_tile(image, grid, origin) for origin in origins])


def _normalised(acc: np.ndarray, grid: TileGrid, weights: np.ndarray) -> np.ndarray:
    """The image's part of ``acc`` (the padded weighted sum) divided in place by the summed weights, which
    are added up a band of rows at a time (a whole-image array of them cost 4 bytes a pixel more); the
    weights are summed in the tiles' order, as one array would have them. Returns a (H, W) view of ``acc``."""
    (top, _), (left, _) = grid.pad
    th, tw = grid.tile
    out = acc[top:top + grid.height, left:left + grid.width]
    for y0 in range(0, grid.height, th):
        y1 = min(grid.height, y0 + th)
        norm = np.zeros((y1 - y0, acc.shape[1]), dtype=np.float32)  # the band's rows, padded width
        for y, x in grid.origins:
            lo, hi = max(y, top + y0), min(y + th, top + y1)
            if lo < hi:
                norm[lo - top - y0:hi - top - y0, x:x + tw] += weights[lo - y:hi - y]
        np.divide(out[y0:y1], norm[:, left:left + grid.width], out=out[y0:y1])
    return out


def blend_tiles(
    image: np.ndarray,
    fn: TileFn,
    plan: TilePlan = TilePlan(),
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
    plan: the tiling (default: the papers' 512 px tiles at stride 256).
    batch_size: tiles per call of ``fn``.
    multiple: tile sides (and band strides) are multiples of this many pixels.
    cancel: checked before every batch.

    Yields (tiles done, tiles in all) after each batch and returns (``yield
    from`` gives it) the (H, W) float32 weighted blend of ``fn``'s outputs (a view
    of a padded array). Memory: the float32 image (the caller's, when it is
    float32 already), one padded float32 sum and a batch of tiles; tiles are cut
    with their reflections, never from a padded copy of the image.
    """
    height, width = image.shape[-2:]
    grid = TileGrid.build(height, width, plan, multiple)
    image = image.astype(np.float32, copy=False)
    weights = grid.weights()
    acc = np.zeros(grid.padded_shape, dtype=np.float32)
    th, tw = grid.tile
    done = 0
    for origins, tiles in iter_tiles(image, grid, batch_size):
        if cancel is not None:
            cancel.raise_if_cancelled()
        out = np.asarray(fn(tiles))
        if out.shape != (len(origins), th, tw):
            raise ValueError(f"tile function returned {out.shape}, expected {(len(origins), th, tw)}")
        for (y, x), result in zip(origins, out):
            acc[y:y + th, x:x + tw] += weights * result
        done += len(origins)
        yield done, len(grid)
    del image  # the result needs no input: free it (where the caller holds no other reference) first
    return _normalised(acc, grid, weights)


def process_tiled(image: np.ndarray, fn: TileFn, **kwargs) -> np.ndarray:
    """:func:`blend_tiles` run to the end: the (H, W) float32 blended result."""
    return run_to_end(blend_tiles(image, fn, **kwargs))
