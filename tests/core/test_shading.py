"""Flat-field correction and background subtraction (``core.shading``) and their filters."""

import numpy as np
import pytest
import scipy.ndimage as ndi

from emdenoise_gui.core import shading
from emdenoise_gui.core.baselines import FILTERS, apply_filter
from emdenoise_gui.core.metrics import psnr


def smooth_field(shape, rng, scale=64.0, strength=0.3) -> np.ndarray:
    """A smooth random pattern of mean 1 and range about 1 +- ``strength`` (float32)."""
    field = ndi.gaussian_filter(rng.normal(size=shape), scale)
    field = (field - field.mean()) / (np.abs(field - field.mean()).max() + 1e-12)
    return (1.0 + strength * field).astype(np.float32)


def scene(shape, rng) -> np.ndarray:
    """Small bright and dark blobs (about 6 px) on mid grey: detail far finer than the shading."""
    spots = ndi.gaussian_filter(rng.normal(size=shape), 3.0)
    return (0.5 + 0.25 * spots / np.abs(spots).max()).astype(np.float32)


@pytest.mark.parametrize("shape", [(512, 640), (301, 257)])
def test_the_background_is_the_full_resolution_gaussian_to_half_a_percent(shape):
    rng = np.random.default_rng(0)
    image = (scene(shape, rng) * smooth_field(shape, rng) + rng.normal(0, 0.05, shape)).astype(np.float32)
    exact = ndi.gaussian_filter(image.astype(np.float64), shading.BACKGROUND_SIGMA, mode="reflect")
    fast = shading.background(image)
    assert fast.dtype == np.float32 and fast.shape == shape
    assert np.abs(fast - exact).max() < 5e-3  # at the border of odd sizes; far less inside
    assert np.abs(fast - exact)[50:-50, 50:-50].max() < 1e-3


def test_flat_field_divides_out_shading_and_subtraction_removes_blobs():
    rng = np.random.default_rng(1)
    clean = scene((512, 512), rng)
    shaded = clean * smooth_field(clean.shape, rng)
    blobs = clean + 0.3 * (smooth_field(clean.shape, rng) - 1.0)
    assert psnr(clean, np.clip(shading.divided(shaded), 0, 1)) > psnr(clean, np.clip(shaded, 0, 1)) + 8
    assert psnr(clean, np.clip(shading.subtracted(blobs), 0, 1)) > psnr(clean, np.clip(blobs, 0, 1)) + 8
    black = np.zeros((64, 64), np.float32)
    assert np.isfinite(shading.divided(black)).all()  # no division by a zero background


def test_the_shading_filters_see_the_whole_slice_and_denoise_after_it():
    from emdenoise_gui.core.events import run_to_end
    from emdenoise_gui.jobs.stack import filter_window

    rng = np.random.default_rng(2)
    clean = scene((400, 600), rng)
    noisy = (clean * smooth_field(clean.shape, rng) + rng.normal(0, 0.05, clean.shape)).astype(np.float32)
    flat = apply_filter("flat-field", noisy)
    assert psnr(clean, np.clip(flat, 0, 1)) > psnr(clean, np.clip(shading.divided(noisy), 0, 1))  # denoised too
    events = list(filter_window("flat-field", noisy[None], 128, None))  # a 128 px tile asked for: not used
    assert run_to_end(filter_window("flat-field", noisy[None], 128, None)) == pytest.approx(flat, abs=0)
    assert len(events) == 1 and all(FILTERS[n].whole_slice for n in
                                    ("flat-field", "background-subtract", "flat-field-avg", "background-subtract-avg"))


def test_a_zero_margin_neither_darkens_nor_haloes_the_data_beside_it():
    rng = np.random.default_rng(3)
    image = (0.5 + rng.normal(0, 0.02, (512, 512))).astype(np.float32)
    image[:, :128] = 0.0  # an aligned stack's margin
    for correct in (shading.divided, shading.subtracted):
        out = correct(image)
        assert np.all(out[:, :128] == 0.0)  # passed through
        data = out[:, 128:]
        assert abs(float(data[:, :16].mean()) - 0.5) < 0.01 and abs(float(data[:, 200:].mean()) - 0.5) < 0.01


def test_a_dark_region_is_not_blown_up():
    rng = np.random.default_rng(5)
    image = np.full((512, 512), 0.6, np.float32) + rng.normal(0, 0.01, (512, 512)).astype(np.float32)
    image[:, :256] = np.abs(rng.normal(0, 0.01, (512, 256)))  # resin or a hole, nearly black
    out = shading.divided(image)[:, 32:224]
    assert out.max() < 4 * 0.05 and out.std() < 4 * 0.01 * 1.5  # at most 4x gain (GAIN_FLOOR)
