"""Blending without whole-image copies: tiles cut with their reflections (no padded copy of the image) and
the weights summed a band of rows at a time (no whole-image array of them). The result is the one the
padded arrays gave, bit for bit (the reference below is that earlier way, kept as the test's oracle)."""

from __future__ import annotations

import numpy as np
import pytest

from emdenoise_gui.core.tiling import (
    TileGrid,
    TilePlan,
    cut_tile,
    pad_reflect,
    process_tiled,
)


def _padded_blend(image: np.ndarray, fn, plan: TilePlan, multiple: int = 16) -> np.ndarray:
    """The blend as it was computed with a padded copy and a whole-image weight sum."""
    grid = TileGrid.build(*image.shape[-2:], plan, multiple)
    padded = pad_reflect(image.astype(np.float32), grid.pad)
    weights = grid.weights()
    acc = np.zeros(grid.padded_shape, np.float32)
    norm = np.zeros(grid.padded_shape, np.float32)
    th, tw = grid.tile
    for y, x in grid.origins:
        acc[y:y + th, x:x + tw] += weights * fn(np.stack([padded[..., y:y + th, x:x + tw]]))[0]
        norm[y:y + th, x:x + tw] += weights
    (top, _), (left, _) = grid.pad
    region = (slice(top, top + grid.height), slice(left, left + grid.width))
    return np.divide(acc[region], norm[region], dtype=np.float32)


def _tile_dependent(batch: np.ndarray) -> np.ndarray:
    """A function whose output depends on the whole tile (as a network's does near its borders)."""
    tiles = batch if batch.ndim == 3 else batch.mean(axis=1)
    return (tiles - tiles.mean(axis=(1, 2), keepdims=True) * 0.3).astype(np.float32)


@pytest.mark.parametrize("shape", [(1, 40), (7, 300), (300, 7), (257, 1030), (520, 520), (3, 130, 170)])
@pytest.mark.parametrize("plan", [TilePlan.paper(128, 64), TilePlan.band(128, 10), TilePlan.whole_tile(96)])
def test_the_blend_equals_the_padded_arrays_bit_for_bit(shape, plan):
    image = np.random.default_rng(sum(shape)).random(shape, dtype=np.float32)
    np.testing.assert_array_equal(process_tiled(image, _tile_dependent, plan=plan, batch_size=1),
                                  _padded_blend(image, _tile_dependent, plan))


@pytest.mark.parametrize("shape", [(1, 1), (2, 5), (5, 2), (33, 47)])
def test_a_cut_tile_equals_the_padded_images_even_where_the_pad_exceeds_the_image(shape):
    image = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    grid = TileGrid.build(*shape, TilePlan.paper(64, 32))
    padded = pad_reflect(image, grid.pad)
    th, tw = grid.tile
    for y, x in grid.origins:
        np.testing.assert_array_equal(cut_tile(image, grid, (y, x)), padded[y:y + th, x:x + tw])


def test_no_whole_image_buffer_but_the_sum():
    """Besides the image and its padded weighted sum, the blend allocates only tiles and bands of rows."""
    import tracemalloc

    image = np.random.default_rng(0).random((1024, 1024), dtype=np.float32)  # 4 MB
    tracemalloc.start()
    result = process_tiled(image, lambda b: b.copy(), plan=TilePlan.band(256, 8), batch_size=1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_allclose(result, image, atol=1e-6)
    assert peak < 2.2 * image.nbytes  # the padded sum (1.2x), a band of weights and a few tiles: 1.75x (3.5x with a padded copy and a whole-image weight sum)
