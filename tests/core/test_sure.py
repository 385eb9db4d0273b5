"""Tests for emdenoise_gui.core.sure: the Gaussian smoothing Stein's unbiased risk estimate picks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from emdenoise_gui.core.baselines import apply_filter
from emdenoise_gui.core.sure import (
    DETAIL_PX,
    MOST_DETAIL,
    Smoothing,
    centre_weight,
    gaussian,
    sure_smoothing,
    sure_width,
)
from tests.core.conftest import NOISE_SIGMA, mse


def test_sure_gaussian_widens_with_the_noise_and_beats_the_3x3_gaussian_on_flyem(flyem):
    clean, _ = flyem
    widths = []
    for sd in (0.005, 0.05, 0.15):
        noisy = clean[1] + np.random.default_rng(1).normal(0.0, sd, clean[1].shape).astype(np.float32)
        width, noise = sure_width(noisy)
        widths.append(width)
        if sd < 0.05:  # the clean crop's own noise (about 0.015) dominates: not a reference for this one
            continue
        assert noise == pytest.approx(sd, rel=0.2)  # it measured the noise it was given
        sure, fixed = mse(apply_filter("gaussian-sure", noisy), clean[1]), mse(apply_filter("gaussian", noisy), clean[1])
        assert sure < fixed < mse(noisy, clean[1])
    assert widths[0] < widths[1] < widths[2]


def test_sure_gaussian_leaves_fine_detail_that_the_3x3_gaussian_blurs():
    # stripes 3 and 4 px apart (as membranes of finely sampled ssTEM) under faint noise: the 3x3 Gaussian
    # takes away more stripe than noise; SURE sees that what it would take is mostly signal and keeps it
    yy, xx = np.mgrid[:96, :96]
    clean = (0.5 + 0.15 * np.cos(2 * np.pi * xx / 3) + 0.15 * np.cos(2 * np.pi * yy / 4)).astype(np.float32)
    noisy = clean + np.random.default_rng(2).normal(0.0, 0.02, clean.shape).astype(np.float32)
    assert mse(apply_filter("gaussian", noisy), clean) > 10 * mse(noisy, clean)
    assert mse(apply_filter("gaussian-sure", noisy), clean) <= mse(noisy, clean)


def test_sure_risk_tracks_the_true_error_of_each_width(flyem):
    clean, noisy = flyem  # white noise of sd 0.05
    x = noisy[1]
    sd = NOISE_SIGMA
    for sigma in (0.5, 1.0, 2.0):
        smoothed = ndimage.gaussian_filter(x, sigma, mode="mirror", truncate=3.0)
        estimate = mse(smoothed, x) - sd**2 + 2 * sd**2 * centre_weight(sigma)
        assert estimate == pytest.approx(mse(smoothed, clean[1]), rel=0.15)


def test_the_risk_of_a_mix_with_the_neighbours_tracks_its_true_error(flyem):
    """The neighbours' noise is independent of the slice's: in G(m + b fine(x - n)) only the slice's own
    share enters the divergence term, and the estimate follows the true error of every weight."""
    clean, noisy = flyem
    x, sd = noisy[1], NOISE_SIGMA
    for b in (0.0, 0.3, MOST_DETAIL):
        for sigma in (0.6, 1.5):
            smoothed = Smoothing(sigma, b)(noisy)
            divergence = centre_weight(sigma) / 3 + b * (centre_weight(sigma) - centre_weight(sigma, DETAIL_PX))
            estimate = mse(smoothed, x) - sd**2 + 2 * sd**2 * divergence
            assert estimate == pytest.approx(mse(smoothed, clean[1]), rel=0.15)


def _shifted_neighbours(clean: np.ndarray, shift: int, sd: float, seed: int) -> np.ndarray:
    """(3, H, W): the centre slice with neighbours moved ``shift`` px (structure that changes along z),
    all with white noise of ``sd``."""
    stack = np.stack([np.roll(clean[1], shift, 1), clean[1], np.roll(clean[1], -shift, 1)])
    return stack + np.random.default_rng(seed).normal(0.0, sd, stack.shape).astype(np.float32)


def test_fine_detail_that_differs_from_the_neighbours_is_kept(flyem):
    """The 3-slice mean blurred structure that changes along z (FlyEM at dose 300: 1.2 dB below the slice's
    own detail weighed in); alike neighbours get the plain mean, neighbours 1 px off some of the slice's
    detail, 3 px off all it may have; the result beats the plain mean, and the slice alone where the
    neighbours still help (1 px), within 5 % where they do not (3 px: their coarse part is still used)."""
    clean, _ = flyem
    details = []
    for shift in (0, 1, 3):
        stack = _shifted_neighbours(clean, shift, 0.05, 4)
        picked = sure_smoothing(stack)
        details.append(picked.detail)
        mean = stack.mean(axis=0)
        plain_mean = mse(gaussian(mean, sure_width(mean)[0]), clean[1])  # the filter before the weighing
        alone = mse(apply_filter("gaussian-sure", stack[1]), clean[1])
        error = mse(picked(stack), clean[1])
        assert error < 0.95 * plain_mean and error < (0.9 if shift == 1 else 1.05) * alone
    assert details[0] == pytest.approx(0.0, abs=0.05)
    assert details[0] + 0.1 < details[1] < details[2]


def test_a_broad_change_of_one_slice_is_averaged_out_with_the_noise(flyem):
    """Charging or a film blob on one slice is a broad change of brightness, not structure: the coarse
    content comes from the 3-slice mean, so about a third of the blob is left, where weighing the whole
    difference kept it all (charge on FlyEM: 25.8 dB, 28.4 now, 28.3 the plain mean)."""
    clean, _ = flyem
    yy, xx = np.mgrid[:96, :96]
    blob = (0.3 * np.exp(-((yy - 48) ** 2 + (xx - 40) ** 2) / (2 * 20.0**2))).astype(np.float32)
    stack = _shifted_neighbours(clean, 1, 0.05, 5)
    stack[1] += blob
    picked = sure_smoothing(stack)
    left = picked(stack) - picked(stack - np.stack([0 * blob, blob, 0 * blob]))  # the blob's share (linear)
    assert np.abs(left).max() < 0.45 * blob.max()  # a third, and a little of its edge; all of it before
    assert mse(picked(stack), clean[1]) < 0.5 * mse(apply_filter("gaussian-sure", stack[1]), clean[1])


def test_the_picked_weight_is_near_the_best_one_a_clean_reference_would_pick(flyem):
    clean, noisy = flyem
    picked = sure_smoothing(noisy)
    errors = [mse(Smoothing(s, b)(noisy), clean[1]) for s in (0.5, 0.7, 1.0, 1.5, 2.0)
              for b in np.linspace(0.0, MOST_DETAIL, 9)]
    assert mse(picked(noisy), clean[1]) <= 1.05 * min(errors)


def test_a_slice_without_noise_is_left_as_it_is():
    flat = np.full((3, 32, 32), 0.25, np.float32)
    picked = sure_smoothing(flat)
    assert picked.sigma == 0.0
    np.testing.assert_allclose(picked(flat), flat[1], atol=1e-7)


def test_a_one_slice_stack_is_smoothed_as_the_image_it_is(flyem):
    """A single image read as a stack is its own neighbours (z-1 = z = z+1): the risk took their noise for
    independent, picked almost no smoothing and scored 23.9 dB where the image's own SURE Gaussian scored
    34.6 (review of 2026-12-06)."""
    clean, noisy = flyem
    same = np.stack([noisy[1]] * 3)
    assert sure_smoothing(same) == sure_smoothing(noisy[1])
    np.testing.assert_allclose(sure_smoothing(same)(same), sure_smoothing(noisy[1])(noisy[1]), atol=1e-6)
    assert mse(apply_filter("gaussian-sure-avg", same), clean[1]) < 0.5 * mse(noisy[1], clean[1])


def test_a_hot_pixel_does_not_pick_the_width():
    """One pixel of 65535 among values of about 1000-2000 took the residual's mean: SURE picked 0.4 px for 1.25 on
    every scale, and the slice came out 6.4 dB worse (dtype audit of 2026-12-07)."""
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:256, 0:256]
    clean = 1500 + 400 * np.sin(xx / 11.0) * np.cos(yy / 7.0)
    noisy = (clean + rng.normal(0, 80, clean.shape)).astype(np.float32)
    stack = np.stack([clean + rng.normal(0, 80, clean.shape) for _ in range(3)]).astype(np.float32)
    plain, plain_stack = sure_smoothing(noisy), sure_smoothing(stack)
    noisy[128, 128] = stack[1, 128, 128] = 65535
    assert sure_smoothing(noisy).sigma == plain.sigma >= 0.85
    assert sure_smoothing(stack).sigma == plain_stack.sigma
