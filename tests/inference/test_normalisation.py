"""A model sees the same input however a stack is stored: uint8, uint16 (x257, offset), float32."""

import numpy as np
import pytest
import tifffile
import torch

from emdenoise_gui.core import metrics
from emdenoise_gui.core.noise import poisson_dose, slice_rng
from emdenoise_gui.core.normalise import Normaliser, minmax_tiles, robust_range
from emdenoise_gui.jobs.denoise import denoise_model_job
from emdenoise_gui.models.registry import FAMILIES
from emdenoise_gui.zoo.card import ModelCard
from emdenoise_gui.zoo.package import write_package

#: (stored dtype, forward map from the [0, 255] uint8 values, inverse map back to [0, 1])
STORAGE = {
    "uint8": (lambda x: x.astype(np.uint8), lambda y: y / 255.0),
    "uint16x257": (lambda x: (x.astype(np.uint32) * 257).astype(np.uint16), lambda y: y / (255.0 * 257)),
    "uint16offset": (lambda x: (x.astype(np.uint32) * 200 + 3000).astype(np.uint16),
                     lambda y: (y - 3000.0) / (255.0 * 200)),
    "float32": (lambda x: (x.astype(np.float32) * 0.013 - 1.7), lambda y: (y + 1.7) / (255.0 * 0.013)),
}


@pytest.fixture
def noisy_u8(fibsem_crop):
    """(clean (6, 96, 80) on [0, 1], its Poisson-25 noisy copy as uint8 values)."""
    clean = tifffile.imread(fibsem_crop).astype(np.float32) / 255.0
    noisy = np.stack([poisson_dose(s, 25.0, slice_rng(0, z)) for z, s in enumerate(clean)])
    return clean, np.clip(np.rint(noisy * 255), 0, 255).astype(np.uint8)


def _package(tmp_path, family: str):
    """A seeded, untrained lite package of ``family`` with its current (content) normalisation."""
    info = FAMILIES[family]
    torch.manual_seed(0)
    model = info.build(**info.architecture("lite"))
    card = ModelCard(name=f"t-{family}", family=family, config="lite", architecture=info.architecture("lite"),
                     normalisation={"kind": info.normalisation}, weights_sha256="0" * 64, parameters=1,
                     training_crop=64)
    return write_package(tmp_path / f"pkg-{family}", card, model.state_dict()).path


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_same_psnr_whatever_the_storage(tmp_path, noisy_u8, family):
    clean, noisy = noisy_u8
    package = _package(tmp_path, family)
    scores = {}
    for name, (store, back) in STORAGE.items():
        src, out = tmp_path / f"{name}.tif", tmp_path / f"{name}-out.tif"
        tifffile.imwrite(src, store(noisy), imagej=True, metadata={"axes": "ZYX"})
        for _ in denoise_model_job(src, out, str(package), slices="1:4", device="cpu", tile=128, stride=64):
            pass
        result = back(tifffile.imread(out).astype(np.float64))
        scores[name] = np.mean([metrics.psnr(c, np.clip(r, 0, 1)) for c, r in zip(clean[1:4], result)])
    spread = max(scores.values()) - min(scores.values())
    assert spread < 0.1, scores


def test_zscore_slice_is_affine_invariant():
    rng = np.random.default_rng(0)
    window = rng.random((3, 40, 40)).astype(np.float32)
    a = Normaliser({"kind": "zscore-slice"}, window).forward(window)
    b = Normaliser({"kind": "zscore-slice"}, window * 7.0 + 3.0).forward(window * 7.0 + 3.0)
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_minmax_tiles_round_trip_and_robust_range_ignores_noise():
    rng = np.random.default_rng(1)
    batch = rng.random((2, 3, 16, 16)).astype(np.float32) * 5 + 2
    scaled, lo, span = minmax_tiles(batch)
    centre = scaled[:, 1]
    assert centre.min() == pytest.approx(0.0) and centre.max() == pytest.approx(1.0)
    np.testing.assert_allclose(centre * span[:, None, None] + lo[:, None, None], batch[:, 1], rtol=1e-5)
    ramp = np.tile(np.linspace(0.2, 0.8, 200, dtype=np.float32), (200, 1))
    noisy = ramp + rng.normal(0, 0.1, ramp.shape).astype(np.float32)
    lo_c, hi_c = robust_range(ramp)
    lo_n, hi_n = robust_range(noisy)
    assert abs(lo_n - lo_c) < 0.03 and abs(hi_n - hi_c) < 0.03  # the raw percentiles would be 0.25 wider


@pytest.mark.parametrize("shape, step", [((50, 37), 3), ((64, 64), 8), ((9, 200), 4), ((4, 30), 2), ((33, 31), 1)])
def test_sampled_box_means_equal_scipys_filter_at_the_samples(shape, step):
    """robust_range smooths only the pixels it samples: the same numbers as smoothing the whole slice
    (ends mirrored, edge pixel repeated; images narrower than the box fall back to scipy)."""
    from scipy import ndimage

    from emdenoise_gui.core.normalise import ROBUST_BOX, _sampled_box_means

    image = np.random.default_rng(7).gamma(2.0, 40.0, shape).astype(np.float32)
    expected = ndimage.uniform_filter(image, ROBUST_BOX, mode="reflect")[::step, ::step]
    got = _sampled_box_means(image, step)
    assert got.shape == expected.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.uint16])
def test_slice_stats_agree_with_a_float64_copy(dtype):
    from emdenoise_gui.core.normalise import STATS_PERCENTILES, slice_stats

    rng = np.random.default_rng(4)
    image = (rng.gamma(2.0, 40.0, (300, 200)) + 1000 * (dtype == np.uint16)).astype(dtype)
    reference = np.asarray(image, np.float64)
    reference = np.clip(reference, *np.percentile(reference, STATS_PERCENTILES))
    mean, std = slice_stats(image)
    assert mean == pytest.approx(reference.mean(), rel=1e-7) and std == pytest.approx(reference.std(), rel=1e-6)
    assert slice_stats(np.full((4, 4), 7, dtype)) == (7.0, 1e-6)  # a flat image: the floor


def test_a_hot_pixel_does_not_set_a_slices_scale():
    """One pixel of 65535 among 60,000 of about 1500 doubled the z-score's std: NRRN's slice lost 3.4 dB."""
    from emdenoise_gui.core.normalise import slice_stats

    image = (np.random.default_rng(5).normal(1500, 45, (200, 300))).astype(np.float32)
    plain = slice_stats(image)
    image[50, 50] = 65535
    mean, std = slice_stats(image)
    assert mean == pytest.approx(plain[0], rel=1e-3) and std == pytest.approx(plain[1], rel=1e-2)
