"""Band blending ("quality: fast"): tiles that overlap by a network's halo, and what that must keep."""

import numpy as np
import pytest
from scipy import ndimage

from emdenoise_gui.core.tiling import TileGrid, TilePlan, band_window, process_tiled


def box5_zero_padded(batch: np.ndarray) -> np.ndarray:
    """A local function with a 2 px halo that sees zeros beyond each tile, as a conv net does."""
    return np.stack([ndimage.uniform_filter(t, 5, mode="constant") for t in batch])


@pytest.mark.parametrize("shape", [(520, 520), (1000, 700), (100, 37), (8, 8), (2049, 300)])
def test_band_grid_covers_the_image_with_clean_tiles(shape):
    plan = TilePlan.band(512, halo=7)
    grid = TileGrid.build(*shape, plan, multiple=16)
    (th, tw), (sy, sx) = grid.tile, grid.stride
    assert th % 16 == 0 and tw % 16 == 0 and sy % 16 == 0 and sx % 16 == 0 and th <= 512 and tw <= 512
    ph, pw = grid.padded_shape
    assert max(y for y, _ in grid.origins) + th == ph and max(x for _, x in grid.origins) + tw == pw
    for pad in grid.pad:  # image pixels lie outside every tile's guard band
        assert min(pad) >= plan.guard


def test_small_slice_costs_far_fewer_pixels_than_paper_tiling():
    band, paper = (TileGrid.build(520, 520, plan, 16) for plan in (TilePlan.band(512, 7), TilePlan.paper(512, 256)))
    cost = [len(g) * g.tile[0] * g.tile[1] / 520**2 for g in (band, paper)]
    assert cost[0] < 1.5 and cost[1] > 8  # nine 512 px tiles before; four 304 px tiles now
    big = TileGrid.build(4096, 4096, TilePlan.band(512, 7), 16)
    assert len(big) * big.tile[0] * big.tile[1] / 4096**2 < 1.25


def test_neighbouring_ramps_sum_to_one():
    n, overlap, guard = 96, 40, 8
    w = band_window(n, overlap, guard)
    stride = n - overlap
    total = w[stride:] + w[:overlap]  # tile A's end and tile B's start over the shared px
    np.testing.assert_allclose(total[guard:overlap - guard], 1.0, atol=1e-12)
    assert w[:guard].max() == 0.0 and w[overlap:stride].min() == 1.0


@pytest.mark.parametrize("shape", [(700, 500), (61, 130)])
def test_local_function_equals_its_whole_image_result(shape):
    image = np.random.default_rng(1).random(shape).astype(np.float32)
    out = process_tiled(image, box5_zero_padded, plan=TilePlan.band(128, halo=2), batch_size=3)
    whole = ndimage.uniform_filter(image, 5, mode="mirror")  # numpy's "reflect" padding is scipy's "mirror"
    np.testing.assert_allclose(out, whole, atol=2e-6)


def test_identity_and_per_tile_offsets_blend_without_seams():
    image = np.random.default_rng(0).random((600, 650)).astype(np.float32) * 65535
    np.testing.assert_allclose(process_tiled(image, lambda b: b, plan=TilePlan.whole_tile(256)), image, rtol=1e-6)
    counter = iter(range(1000))
    out = process_tiled(np.zeros((700, 700), np.float32), lambda b: b + next(counter), plan=TilePlan.whole_tile(256))
    assert np.abs(np.diff(out, axis=1)).max() < 0.5 and np.abs(np.diff(out, axis=0)).max() < 0.5


def test_bad_plans_are_refused():
    with pytest.raises(ValueError):
        TilePlan(tile=64, overlap=64)
    with pytest.raises(ValueError):
        TilePlan(tile=64, overlap=8, guard=5, window="band")


@pytest.mark.parametrize("size,tiles,side", [(2048, 2, 1152), (4096, 4, 1152), (1792, 2, 1024), (1000, 1, 1136)])
def test_whole_tile_plans_never_cut_tiles_below_their_side(size, tiles, side):
    """The cyclic generator's instance norm wants tiles of at least 1024 px; a 2048 px slice got 3 x 3 tiles of
    816 px (smaller, and 1.4x the pixels of 2 x 2 tiles of 1152 px)."""
    grid = TileGrid.build(size, size, TilePlan.whole_tile(1024, overlap=128), 16)
    assert len(grid) == tiles * tiles and grid.tile == (side, side)
    assert min(grid.tile) >= 1024 or tiles == 1
