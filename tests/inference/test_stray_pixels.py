"""One stray pixel (a dead-pixel map value, a saturated speck) in float data (dtype audit of 2026-12-07): a pixel
of 1e6 in FIB-SEM data of 0-0.52 put the data in 5e-7 of the working scale, where the floors on a scale (1e-6)
took every slice for flat: the cyclic result was one value on every slice, NRRN lost 11 dB on all of them, exit
0; and 2.5e5 as a network input overflowed float16."""

import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.io import open_stack
from emdenoise_gui.core.normalise import PER_SLICE_KINDS, Normaliser
from emdenoise_gui.core.pipeline import IntensityScale, bulk_range
from emdenoise_gui.jobs.denoise import denoise_model_job
from emdenoise_gui.paths import shipped_models_dir


def test_the_working_scale_is_the_bulk_where_a_few_pixels_stretch_the_range():
    rng = np.random.default_rng(0)
    values = rng.uniform(0.0, 0.52, 100_000).astype(np.float32)
    lo, hi = bulk_range(0.0, 1e6, values)
    assert 0.0 <= lo < 0.01 and 0.52 < hi < 0.6
    assert bulk_range(0.0, 0.6, values) == (0.0, 0.6)  # an ordinary range stays as it is
    assert bulk_range(1012.0, 65535.0, rng.integers(1012, 1061, 100_000).astype(np.float32)) == (1012.0, 65535.0)
    assert bulk_range(5.0, 5.0, np.full(10, 5.0, np.float32)) == (5.0, 5.0)


def test_a_stray_pixel_is_clipped_to_the_bulk_and_noise_is_not():
    rng = np.random.default_rng(1)
    window = rng.normal(0.3, 0.02, (3, 128, 128)).astype(np.float32)  # a flat, noisy slice: noise alone
    for kind in PER_SLICE_KINDS:
        norm = Normaliser({"kind": kind}, window)
        scaled = norm.forward(window)
        for k, (low, high) in enumerate(norm.bounds):
            assert low < scaled[k].min() and scaled[k].max() < high
    window[1, 10, 10] = 1e6
    for kind in PER_SLICE_KINDS:
        norm = Normaliser({"kind": kind}, window)
        scaled = norm.forward(window)
        assert scaled[1, 10, 10] == norm.bounds[1][1] < 4 * np.delete(scaled[1].ravel(), 10 * 128 + 10).max()


@pytest.fixture
def stray(tmp_path, fibsem_crop):
    """(the 6x96x80 FIB-SEM crop as float32 in 0-0.52, the same with one pixel of 1e6 in slice 2)."""
    data = tifffile.imread(fibsem_crop).astype(np.float32) / 255.0 * 0.52
    plain, strayed = tmp_path / "plain.tif", tmp_path / "stray.tif"
    tifffile.imwrite(plain, data, imagej=True, metadata={"axes": "ZYX"})
    data[2, 40, 40] = 1e6
    tifffile.imwrite(strayed, data, imagej=True, metadata={"axes": "ZYX"})
    return plain, strayed


@pytest.mark.parametrize("model", ["flyem-nrrn-lite", "flyem-cyclic-artifacts"])
def test_one_stray_pixel_changes_the_result_only_around_it(tmp_path, stray, model):
    plain, strayed = stray
    with open_stack(strayed) as stack:
        scale = IntensityScale.for_stack(stack)
    assert scale.hi < 1.0  # the bulk's range, not the stray pixel's
    results = []
    for source in (plain, strayed):
        out = tmp_path / f"{source.stem}-{model}.tif"
        for _ in denoise_model_job(source, out, str(shipped_models_dir() / model), device="cpu"):
            pass
        results.append(tifffile.imread(out))
    expected, got = results  # 0-0.52; before, one value on every slice (cyclic), 11 dB lost on all (NRRN)
    np.testing.assert_allclose(got[[0, 4, 5]], expected[[0, 4, 5]], atol=1e-3)
    away = np.ones(got.shape[1:], bool)
    away[20:61, 20:61] = False
    for z in (1, 2, 3):  # the slice and, for NRRN, its neighbours; a small image: one tile, one instance norm
        assert np.abs(got[z] - expected[z])[away].max() < 0.01


def test_a_slice_of_one_value_but_a_few_pixels_keeps_them():
    """Bounds from a bulk of one value (padding) would be that value: the few pixels of image in it were the
    image, and were flattened (review of 2026-12-07)."""
    window = np.zeros((3, 128, 128), np.float32)
    window[1, 60, 60] = 5.0
    for kind in PER_SLICE_KINDS:
        norm = Normaliser({"kind": kind}, window)
        assert norm.bounds[1] == (-np.inf, np.inf) and norm.forward(window)[1, 60, 60] > norm.forward(window)[1, 0, 0]
