"""Tests for emdenoise_gui.core.metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emdenoise_gui.core import metrics


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def texture(shape=(64, 64), seed=0) -> np.ndarray:
    """A structured [0, 1] image: sinusoids plus an offset."""
    y, x = np.mgrid[: shape[0], : shape[1]]
    return 0.5 + 0.2 * np.sin(x / 3.0) * np.cos(y / 5.0) + 0.1 * rng(seed).random(shape)


def test_mse_and_psnr_of_known_error():
    ref = np.full((32, 32), 0.5)
    img = ref + np.where(np.arange(32) % 2 == 0, 0.1, -0.1)[None, :]
    assert metrics.mse(ref, img) == pytest.approx(0.01)
    assert metrics.psnr(ref, img) == pytest.approx(10 * math.log10(1 / 0.01))  # 20 dB
    assert metrics.psnr(ref, img, data_range=255.0) == pytest.approx(10 * math.log10(255**2 / 0.01))
    assert metrics.psnr(ref, ref.copy()) == math.inf


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        metrics.mse(np.zeros((4, 4)), np.zeros((4, 5)))


def test_ssim_identical_is_one_and_falls_with_noise():
    ref = texture()
    assert metrics.ssim(ref, ref) == pytest.approx(1.0)
    scores = [
        metrics.ssim(ref, np.clip(ref + rng(1).normal(0, s, ref.shape), 0, 1))
        for s in (0.02, 0.1, 0.3)
    ]
    assert 1.0 > scores[0] > scores[1] > scores[2]


def test_ssim_on_tiny_images():
    ref = texture((5, 5))
    noisy = ref + rng(2).normal(0, 0.1, ref.shape)
    assert metrics.ssim(ref, ref) == pytest.approx(1.0)
    assert metrics.ssim(ref, noisy) < 1.0
    assert metrics.ssim(texture((3, 8)), texture((3, 8))) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="3 px"):
        metrics.ssim(np.zeros((2, 8)), np.zeros((2, 8)))


def test_line_profile_on_ramp_is_exact():
    image = np.tile(np.arange(50, dtype=np.float64) * 0.02, (30, 1))  # value = 0.02 * x
    distance, values = metrics.line_profile(image, (10, 5), (10, 45))
    assert distance.dtype == np.float64 and values.dtype == np.float64
    assert distance.shape == values.shape == (41,)
    np.testing.assert_allclose(distance, np.arange(41.0))
    np.testing.assert_allclose(values, 0.02 * np.arange(5, 46))
    # Diagonal (3-4-5 triangle): 5 px long -> 6 samples, ends included.
    d, v = metrics.line_profile(image, (0, 0), (4, 3))
    np.testing.assert_allclose(d, np.arange(6.0))
    np.testing.assert_allclose(v, 0.02 * np.linspace(0, 3, 6))


def test_line_profile_width_averages_across_the_line():
    y = np.arange(40, dtype=np.float64)[:, None]
    image = np.tile(y**2, (1, 40))  # varies across a horizontal line only
    _, thin = metrics.line_profile(image, (20, 5), (20, 30), width=1)
    _, wide = metrics.line_profile(image, (20, 5), (20, 30), width=3)
    np.testing.assert_allclose(thin, 400.0)
    np.testing.assert_allclose(wide, (19**2 + 20**2 + 21**2) / 3)
    noisy = rng(3).normal(0, 1, (60, 60))
    _, one = metrics.line_profile(noisy, (30, 5), (30, 55), width=1)
    _, nine = metrics.line_profile(noisy, (30, 5), (30, 55), width=9)
    assert nine.std() < 0.5 * one.std()
    with pytest.raises(ValueError, match="width"):
        metrics.line_profile(noisy, (0, 0), (5, 5), width=0)


def test_iqr_functions():
    values = rng(4).normal(0, 1, 1000)
    q75, q25 = np.percentile(values, [75, 25])
    assert metrics.iqr(values) == pytest.approx(q75 - q25)
    image = np.zeros((20, 30))
    image[5:10, 10:20] = values[:50].reshape(5, 10)
    assert metrics.iqr_rect(image, (5, 10, 10, 20)) == pytest.approx(
        np.subtract(*np.percentile(values[:50], [75, 25]))
    )
    assert metrics.iqr_rect(np.full((8, 8), 3.0), (0, 0, 8, 8)) == 0.0
    ramp = np.tile(np.arange(21.0), (5, 1))
    assert metrics.iqr_line(ramp, (2, 0), (2, 20)) == pytest.approx(10.0)


@pytest.mark.parametrize(
    "rect", [(5, 5, 5, 8), (6, 0, 5, 3), (-1, 0, 3, 3), (0, 0, 9, 3), (0, 0, 3, 9), (0, 0, 2.5, 3)]
)
def test_iqr_rect_rejects_bad_rects(rect):
    with pytest.raises(ValueError, match="rect"):
        metrics.iqr_rect(np.zeros((8, 8)), rect)


def test_high_pass_removes_constant_and_keeps_fine_detail():
    flat = metrics.high_pass(np.full((40, 50), 0.7))
    assert flat.dtype == np.float32 and flat.shape == (40, 50)
    assert np.abs(flat).max() < 1e-6
    x = np.arange(128, dtype=np.float64)
    slow = np.tile(np.sin(2 * np.pi * x / 128), (16, 1))
    fast = np.tile(np.sin(2 * np.pi * x / 4), (16, 1))
    assert np.abs(metrics.high_pass(slow)[:, 20:-20]).max() < 0.05
    assert metrics.high_pass(fast)[:, 20:-20].std() > 0.9 * fast.std()


@pytest.mark.parametrize("axis", [0, 1])
def test_radial_spectrum_peaks_at_sinusoid_frequency(axis):
    shape = (64, 128)  # non-square
    y, x = np.mgrid[: shape[0], : shape[1]].astype(np.float64)
    coord = (y, x)[axis]
    f0 = 0.125  # cycles/px, on the frequency grid of both axes
    image = np.sin(2 * np.pi * f0 * coord)
    freq, power = metrics.radial_power_spectrum(image)
    assert freq.shape == power.shape == (65,)
    assert freq[0] == 0 and freq[-1] == pytest.approx(0.5)
    assert freq[np.argmax(power)] == pytest.approx(f0)
    freq_nm, power_nm = metrics.radial_power_spectrum(image, pixel_size_nm=4.0)
    np.testing.assert_allclose(power_nm, power)
    assert freq_nm[np.argmax(power_nm)] == pytest.approx(f0 / 4.0)  # cycles/nm


def test_radial_spectrum_of_white_noise_is_flat_at_its_variance():
    image = rng(5).normal(0, 0.2, (256, 256))
    for window in (True, False):
        freq, power = metrics.radial_power_spectrum(image, window=window)
        band = power[8:]  # skip the few-sample low bins
        assert band.mean() == pytest.approx(0.04, rel=0.1)
        halves = np.array_split(band, 2)
        assert halves[0].mean() == pytest.approx(halves[1].mean(), rel=0.1)
    smooth = np.cumsum(np.cumsum(image, axis=0), axis=1)  # red spectrum: falls with frequency
    _, red = metrics.radial_power_spectrum(smooth)
    assert red[5] > 100 * red[-1]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32])
def test_line_profile_reads_only_the_pixels_by_the_line_and_matches_map_coordinates(dtype):
    """Order 1 gathers the four pixels around each sample (in the image's own dtype) instead of a float64 copy
    of the whole image: the same values as scipy's bilinear map_coordinates, ends off the image clamped."""
    from scipy import ndimage

    image = (np.random.default_rng(3).random((41, 57)) * 200).astype(dtype)
    for p0, p1, width in [((-3.0, -2.5), (44.2, 60.1), 1), ((5.5, 3.25), (30.75, 50.5), 3), ((20, 0), (20, 56), 2)]:
        distance, values = metrics.line_profile(image, p0, p1, width=width)
        cubic_path = metrics.line_profile(image, p0, p1, width=width, order=3)[1]  # map_coordinates itself
        assert values.dtype == np.float64 and values.shape == cubic_path.shape
        n = len(distance)
        t = np.linspace(0, 1, n)
        points = np.array(p0, float)[:, None] + (np.array(p1, float) - np.array(p0, float))[:, None] * t
        length = np.hypot(p1[0] - p0[0], p1[1] - p0[1])
        normal = np.array([p1[1] - p0[1], -(p1[0] - p0[0])]) / length
        offsets = np.arange(width) - (width - 1) / 2
        coords = (points[:, None, :] + normal[:, None, None] * offsets[None, :, None]).reshape(2, -1)
        expected = ndimage.map_coordinates(image.astype(np.float64), coords, order=1, mode="nearest")
        np.testing.assert_allclose(values, expected.reshape(width, n).mean(axis=0), rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("shape", [(300, 257), (41, 700), (9, 9000)])
def test_large_images_are_measured_in_bands_with_the_whole_images_result(monkeypatch, shape):
    """Comparing one 16000 x 16000 slice made float64 copies of whole images (22 GB, killed): bands of rows,
    each with the SSIM window's reach around it, give scikit-image's numbers for the whole image."""
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(5)
    ref = rng.random(shape).astype(np.float32)
    img = np.clip(ref + rng.normal(0, 0.1, shape), 0, 1).astype(np.float32)
    whole_ssim = structural_similarity(ref.astype(np.float64), img.astype(np.float64), data_range=1.0, win_size=7)
    whole_mse = float(np.mean((ref.astype(np.float64) - img.astype(np.float64)) ** 2))
    monkeypatch.setattr(metrics, "BAND_PX", 1000)  # bands of a few rows
    assert metrics.ssim(ref, img) == pytest.approx(whole_ssim, abs=1e-12)
    assert metrics.mse(ref, img) == pytest.approx(whole_mse, rel=1e-12)

