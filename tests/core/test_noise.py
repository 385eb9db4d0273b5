"""Tests for emdenoise_gui.core.noise: statistics, seeding and the registry."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from emdenoise_gui.core import metrics, noise

FLYEM = Path("/work/shared/data/fibsem_flyem_medulla_train1_250x250x250.tif")


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def ramp(shape=(64, 80)) -> np.ndarray:
    """Smooth test image in [0.1, 0.9]."""
    y, x = np.mgrid[: shape[0], : shape[1]]
    return 0.1 + 0.8 * (x + y) / (shape[0] + shape[1] - 2)


def test_poisson_dose_variance_scales_with_clean_over_dose():
    clean = np.full((256, 256), 0.2)
    clean[:, 128:] = 0.6  # mean 0.4
    dose = 100.0
    noisy = noise.poisson_dose(clean, dose, rng(1))
    assert noisy.dtype == np.float32 and noisy.shape == clean.shape
    scale = dose / 0.4  # counts per unit intensity
    for value, part in ((0.2, noisy[:, :128]), (0.6, noisy[:, 128:])):
        assert part.mean() == pytest.approx(value, rel=0.01)
        assert part.var() == pytest.approx(value / scale, rel=0.05)


def test_poisson_dose_lower_dose_is_noisier_and_mean_is_kept():
    clean = ramp((128, 128))
    errors = [metrics.mse(clean, noise.poisson_dose(clean, d, rng(2))) for d in (25, 300, 2500)]
    assert errors[0] > errors[1] > errors[2]
    assert noise.poisson_dose(clean, 25, rng(2)).mean() == pytest.approx(clean.mean(), rel=0.01)


def test_poisson_dose_rejects_a_bad_dose():
    with pytest.raises(ValueError, match="dose"):
        noise.poisson_dose(ramp(), 0, rng())
    with pytest.raises(ValueError, match="non-negative"):
        noise.poisson_dose(ramp() - 0.5, 100, rng())


def test_poisson_peak_quantises_to_max_over_peak():
    clean = ramp()
    clean[0, 0] = 0.8  # maximum
    peak = 4.0
    noisy = noise.poisson_peak(clean, peak, rng(3))
    counts = noisy.astype(np.float64) * peak / clean.max()
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-4)
    flat = noise.poisson_peak(np.full((200, 200), 0.8), peak, rng(4))
    assert flat.mean() == pytest.approx(0.8, rel=0.02)
    assert flat.var() == pytest.approx(0.8**2 / peak, rel=0.05)  # var = clean / scale
    # no signal, no counts: a black (missing) section stays black; it stopped the whole stack (noise audit)
    assert not noise.poisson_peak(np.zeros((4, 4)), peak, rng()).any()
    assert not noise.poisson_dose(np.zeros((4, 4)), 25.0, rng()).any()


@pytest.mark.skipif(not FLYEM.exists(), reason="shared FlyEM data not available")
def test_poisson_peak_input_psnr_on_flyem_rises_with_peak():
    import tifffile

    clean = tifffile.imread(FLYEM, key=range(0, 2))[0].astype(np.float64) / 255.0
    values = [
        metrics.psnr(clean, np.clip(noise.poisson_peak(clean, p, noise.slice_rng(7, 0)), 0, 1))
        for p in (1, 4, 8, 30)
    ]
    assert values == sorted(values) and len(set(values)) == 4
    # Same ballpark as NRRN's input row on EPFL data (5.98 / 10.19 / 12.52 / 17.66 dB).
    np.testing.assert_allclose(values, [5.98, 10.19, 12.52, 17.66], atol=1.5)


def test_gaussian_std_is_sigma_over_255():
    noisy = noise.gaussian(np.zeros((256, 256)), 25.0, rng(5))
    assert noisy.dtype == np.float32
    assert abs(noisy.mean()) < 0.002
    assert noisy.std() == pytest.approx(25.0 / 255.0, rel=0.02)
    # Quan's 0.05 on [0, 1] is 12.75 grey levels; results are not clipped.
    assert noise.gaussian(np.zeros((256, 256)), 12.75, rng(5)).std() == pytest.approx(0.05, rel=0.02)
    assert noisy.min() < 0


@pytest.mark.parametrize("kind", sorted(noise.NOISE_KINDS))
def test_same_seed_same_noise_other_seed_differs(kind):
    clean = ramp()
    a = noise.add_noise(clean, kind, rng(11))
    b = noise.add_noise(clean, kind, rng(11))
    c = noise.add_noise(clean, kind, rng(12))
    assert a.dtype == np.float32 and a.shape == clean.shape
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.allclose(a, clean)


@pytest.mark.parametrize("kind", sorted(noise.NOISE_KINDS))
def test_every_kind_handles_non_square_images(kind):
    clean = ramp((37, 91))
    out = noise.add_noise(clean, kind, rng(13))
    assert out.shape == (37, 91) and out.dtype == np.float32
    assert np.all(np.isfinite(out))


def test_slice_rng_is_independent_of_processing_order():
    stack = np.stack([ramp() * (1 - 0.1 * z) for z in range(4)])

    def noisy(z):
        return noise.poisson_dose(stack[z], 50, noise.slice_rng(42, z))

    forward = [noisy(z) for z in range(4)]
    backward = {z: noisy(z) for z in (3, 1, 2, 0)}
    subset = noisy(2)
    for z in range(4):
        np.testing.assert_array_equal(forward[z], backward[z])
    np.testing.assert_array_equal(forward[2], subset)
    assert not np.array_equal(noise.slice_rng(42, 0).random(8), noise.slice_rng(42, 1).random(8))
    assert not np.array_equal(noise.slice_rng(42, 0).random(8), noise.slice_rng(43, 0).random(8))
    # Seed and index are separate entropy words: (1, 0) and (0, 1) must not collide.
    assert not np.array_equal(noise.slice_rng(1, 0).random(8), noise.slice_rng(0, 1).random(8))
    np.testing.assert_array_equal(
        noise.slice_rng(5, 9).random(8), np.random.default_rng([5, 9]).random(8)
    )


def test_charge_adds_smooth_signed_blobs():
    clean = np.full((512, 512), 0.5)
    artifact = noise.charge(clean, rng(14), n_blobs=20, sigma=0.0) - clean
    assert artifact.max() > 0.1 and artifact.min() < -0.1  # bright and dark blobs
    assert np.abs(artifact).max() < 3 * 0.3  # bounded by a few overlapping amplitudes
    # Smooth: the high-pass residue is tiny compared with the blobs themselves.
    assert np.abs(metrics.high_pass(artifact, 2.0)).max() < 0.05 * np.abs(artifact).max()
    # Blob count scales with area: a big image gets many separate blobs, a tiny one at least 1.
    labels = np.abs(noise.charge(np.zeros((1024, 1024)), rng(15), sigma=0.0)) > 0.01
    assert ndimage.label(labels)[1] >= 10
    assert np.abs(noise.charge(np.zeros((37, 91)), rng(16), radius=10, sigma=0.0)).max() > 0


def test_charge_noise_level_and_no_op():
    clean = ramp((256, 256))
    np.testing.assert_allclose(
        noise.charge(clean, rng(17), n_blobs=0, sigma=0.0), clean.astype(np.float32)
    )
    residual = noise.charge(clean, rng(17), n_blobs=0) - clean
    assert residual.std() == pytest.approx(12.75 / 255, rel=0.03)


def test_film_is_multiplicative_positive_and_smooth():
    assert not np.any(noise.film(np.zeros((64, 64)), rng(18)))  # black stays black
    clean = np.full((256, 320), 0.5)
    pattern = noise.film(clean, rng(19), strength=0.4, scale=32).astype(np.float64) / 0.5
    assert pattern.min() >= 1 - 0.4 - 1e-6 and pattern.max() <= 1 + 0.4 + 1e-6
    assert pattern.min() > 0
    assert pattern.mean() == pytest.approx(1.0, abs=1e-5)
    assert pattern.max() - pattern.min() > 0.4  # the full range is used
    neighbour = np.corrcoef(pattern[:, :-1].ravel(), pattern[:, 1:].ravel())[0, 1]
    assert neighbour > 0.99
    # Multiplicative: the same pattern scales with the image.
    doubled = noise.film(2 * ramp(), rng(20)).astype(np.float64)
    single = noise.film(ramp(), rng(20)).astype(np.float64)
    np.testing.assert_allclose(doubled, 2 * single, rtol=1e-6)
    with pytest.raises(ValueError, match="strength"):
        noise.film(clean, rng(), strength=1.0)


def test_registry_params_match_function_signatures():
    cli_names = {"dose", "peak", "sigma", "n_blobs", "amplitude", "radius", "strength", "scale"}
    seen = set()
    for name, kind in noise.NOISE_KINDS.items():
        assert kind.name == name and kind.description and "\n" not in kind.description
        accepted = inspect.signature(kind.function).parameters
        assert "rng" in accepted
        for param, default in kind.params.items():
            assert param in accepted
            assert isinstance(default, float)
            seen.add(param)
            declared = accepted[param].default
            if declared is not inspect.Parameter.empty:
                assert declared == default
    assert cli_names <= seen
    assert set(noise.NOISE_KINDS) == {"poisson-dose", "poisson-peak", "gaussian", "charge", "film"}


def test_add_noise_fills_defaults_and_overrides():
    clean = ramp()
    default_sigma = noise.NOISE_KINDS["gaussian"].params["sigma"]
    np.testing.assert_array_equal(
        noise.add_noise(clean, "gaussian", rng(21)), noise.gaussian(clean, default_sigma, rng(21))
    )
    np.testing.assert_array_equal(
        noise.add_noise(clean, "poisson-dose", rng(22), dose=25.0),
        noise.poisson_dose(clean, 25.0, rng(22)),
    )


def test_add_noise_rejects_bad_names():
    with pytest.raises(ValueError, match="poisson-dose.*film"):
        noise.add_noise(ramp(), "salt", rng())
    with pytest.raises(ValueError, match="valid: dose"):
        noise.add_noise(ramp(), "poisson-dose", rng(), peak=3.0)
    with pytest.raises(ValueError, match="2-D"):
        noise.gaussian(np.zeros((2, 3, 4)), 10, rng())
