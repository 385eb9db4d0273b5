"""Tile grids, Gaussian weights and blending on images of any size."""

import numpy as np
import pytest

from emdenoise_gui.core.errors import Cancelled
from emdenoise_gui.core.events import CancelToken
from emdenoise_gui.core.tiling import (
    TileGrid,
    TilePlan,
    blend_tiles,
    gaussian_weights,
    process_tiled,
)


@pytest.mark.parametrize("shape", [(1000, 700), (512, 512), (513, 1025), (100, 37), (8, 8), (300, 2000)])
def test_grid_covers_image_with_margin(shape):
    grid = TileGrid.build(*shape, TilePlan.paper(512, 256))
    (top, bottom), (left, right) = grid.pad
    ph, pw = grid.padded_shape
    th, tw = grid.tile
    assert max(y for y, _ in grid.origins) + th == ph
    assert max(x for _, x in grid.origins) + tw == pw
    for size, pad, t in ((shape[0], grid.pad[0], th), (shape[1], grid.pad[1], tw)):
        if size > 512:  # image borders lie at least (tile - stride) / 2 inside a tile
            assert min(pad) >= 128
        else:
            assert t % 16 == 0 and t >= size


def test_weights_floor_and_sigma():
    w = gaussian_weights((512, 512))
    assert w.max() == pytest.approx(1.0)
    assert w.min() >= 1e-3  # corners never vanish
    # sigma = tile / 8 = 64 px: moving 64 px from (256, 256) scales the weight by
    # exp(-((320 - c)^2 - (256 - c)^2) / (2 sigma^2)) with c = 255.5
    expected = np.exp(-((320 - 255.5) ** 2 - (256 - 255.5) ** 2) / (2 * 64**2))
    assert w[256, 320] / w[256, 256] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("shape", [(1000, 700), (100, 37), (300, 1300)])
def test_identity_reproduces_input(shape):
    image = np.random.default_rng(0).random(shape).astype(np.float32) * 65535
    out = process_tiled(image, lambda b: b, plan=TilePlan.paper(256, 128), batch_size=3)
    assert out.dtype == np.float32 and out.shape == shape
    np.testing.assert_allclose(out, image, rtol=1e-6, atol=1e-6)


def test_multichannel_tiles_reach_the_function():
    stack = np.stack([np.full((300, 200), v, np.float32) for v in (1.0, 2.0, 3.0)])
    out = process_tiled(stack, lambda b: b.mean(axis=1), plan=TilePlan.paper(128, 64))
    np.testing.assert_allclose(out, 2.0, atol=1e-6)


def test_blend_is_smooth_for_tile_dependent_function():
    # a function that adds a per-tile constant: blending must spread it smoothly, never jump
    counter = iter(range(1000))
    out = process_tiled(np.zeros((700, 700), np.float32), lambda b: b + next(counter), plan=TilePlan.paper(256, 128))
    assert np.abs(np.diff(out, axis=1)).max() < 0.5


def test_progress_and_cancel():
    token = CancelToken()
    gen = blend_tiles(np.zeros((600, 600), np.float32), lambda b: b, plan=TilePlan.paper(256, 128), cancel=token)
    done, total = next(gen)
    assert (done, total) == (1, total) and total > 4
    token.cancel()
    with pytest.raises(Cancelled):
        next(gen)


def test_bad_function_output_is_reported():
    with pytest.raises(ValueError, match="tile function returned"):
        process_tiled(np.zeros((64, 64), np.float32), lambda b: b[:, :10], plan=TilePlan.paper(64, 32))


def test_an_image_under_one_tile_keeps_its_borders_half_an_overlap_inside_it():
    """The paper's tiling of a 200 x 300 image used one 208 x 304 tile: its outer pixels sat 4 px from the
    network's zero padding and differed from the band tiling's by up to 5 grey levels."""
    grid = TileGrid.build(200, 300, TilePlan(tile=512, overlap=256, window="gaussian"))
    assert len(grid) == 1 and min(grid.pad[0]) >= 128 and min(grid.pad[1]) >= 104  # 512 caps the 300 px axis
    assert grid.tile == (464, 512)
    local = TileGrid.build(200, 300, TilePlan.paper(512, 256, guard=7))  # a local network's: the margin kept
    assert local.tile == (464, 560) and min(local.pad[1]) >= 128
    crop = TileGrid.build(200, 200, TilePlan.band(240, 31, 16, fixed=True))  # a training crop keeps its side
    assert crop.tile == (240, 240)
    small = TileGrid.build(40, 40, TilePlan(tile=512, overlap=256, window="gaussian"))
    assert small.tile == (304, 304) and min(small.pad[0]) == 132


def test_an_image_of_one_tile_side_keeps_its_margin_and_equals_the_larger_images_result():
    """A 512 px image in the papers' 512 px tiles had no margin at all (506-512 px, under 6): its outer ring
    came from the network's zero padding, up to 9 grey levels off (inference audit). Checked with a function
    that sees 6 px around each pixel (a 13 px box mean of a zero-padded tile), tiled as a local network of that
    reach is: the lone tile's result equals the same pixels' inside a larger image's tiling."""
    from scipy import ndimage

    def box(batch):
        return np.stack([ndimage.uniform_filter(tile, 13, mode="constant") for tile in batch])

    image = np.random.default_rng(4).random((600, 600)).astype(np.float32)
    part = np.ascontiguousarray(image[44:556, 44:556])  # 512 x 512
    grid = TileGrid.build(512, 512, TilePlan.paper(512, 256, guard=7))
    assert len(grid) == 1 and min(min(grid.pad[0]), min(grid.pad[1])) >= 128
    reference = ndimage.uniform_filter(np.pad(part, 200, mode="reflect"), 13, mode="constant")[200:-200, 200:-200]
    np.testing.assert_allclose(process_tiled(part, box, plan=TilePlan.paper(512, 256, guard=7)), reference, atol=1e-5)


def test_an_image_under_a_large_paper_tile_is_padded_as_under_the_papers_own_tile():
    """Paper mode at tile 4096 padded a 64 px image by 1024 px per side (a 2112 px tile: 67 s instead of 3 s for
    3 x 64 x 64 with a shipped model). One tile has no seams to hide: it gets the papers' 512 / 256 margin,
    so even a whole-tile function (its output depends on the tile's mean) gives the default's result."""
    large, default = (TileGrid.build(64, 90, TilePlan.paper(t, t // 2)) for t in (4096, 512))
    assert large.tile == default.tile == (320, 352) and large.pad == default.pad
    image = np.random.default_rng(3).random((64, 90)).astype(np.float32)
    centred = [process_tiled(image, lambda b: b - b.mean(axis=(1, 2), keepdims=True), plan=TilePlan.paper(t, t // 2))
               for t in (4096, 512)]
    np.testing.assert_array_equal(*centred)
    assert TileGrid.build(3000, 3000, TilePlan.paper(4096, 2048)).tile == (3264, 3264)  # not 4096 for one tile
