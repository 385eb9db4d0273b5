"""What the filters audit of 2026-12-07 found: the SURE-tuned 3-slice Gaussian below the noisy input on unlike
sections and ghosting a blank one into its neighbours, a stray pixel near float32's limit stopping every filter
with an internal error, TV offered beside the filters that adapt to the noise."""

import numpy as np
import scipy.ndimage as ndi
import tifffile

from emdenoise_gui.core import baselines, sure
from tests.conftest import main


def _texture(seed: int, side: int = 128) -> np.ndarray:
    """A smooth random texture on about [0.2, 0.8], float32 (side, side)."""
    rng = np.random.default_rng(seed)
    smooth = ndi.gaussian_filter(rng.normal(size=(side, side)), 2.0)
    return (0.5 + 0.3 * smooth / np.abs(smooth).max()).astype(np.float32)


def test_unlike_neighbours_are_left_out():
    """Three unrelated sections: the 3-slice mix lost to the noisy slice; SURE now weighs the slice alone too."""
    rng = np.random.default_rng(0)
    clean = np.stack([_texture(s) for s in (1, 2, 3)])
    noisy = (clean + rng.normal(0.0, 0.05, clean.shape)).astype(np.float32)
    picked = sure.sure_smoothing(noisy)
    assert not picked.neighbours
    out = baselines.apply_filter("gaussian-sure-avg", noisy)
    alone = baselines.apply_filter("gaussian-sure", noisy[1])
    assert np.array_equal(out, alone)
    assert np.mean((out - clean[1]) ** 2) < 0.5 * np.mean((noisy[1] - clean[1]) ** 2)


def test_alike_neighbours_are_still_used():
    rng = np.random.default_rng(0)
    clean = np.stack([_texture(1)] * 3)
    noisy = (clean + rng.normal(0.0, 0.05, clean.shape)).astype(np.float32)
    assert sure.sure_smoothing(noisy).neighbours


def test_a_blank_section_stays_blank_and_darkens_no_neighbour():
    rng = np.random.default_rng(0)
    slices = [_texture(1) + rng.normal(0.0, 0.05, (128, 128)).astype(np.float32) for _ in range(3)]
    blank = np.zeros((128, 128), np.float32)
    assert np.array_equal(baselines.apply_filter("gaussian-sure-avg", np.stack([slices[0], blank, slices[1]])),
                          blank)
    beside = baselines.apply_filter("gaussian-sure-avg", np.stack([slices[0], slices[1], blank]))
    assert abs(float(beside.mean()) - float(slices[1].mean())) < 0.01  # a third of it was lost


def test_a_pixel_near_float32s_limit_is_no_internal_error(tmp_path):
    data = np.stack([_texture(s) for s in (1, 2, 3)])
    data[1, 60, 60] = np.finfo(np.float32).max
    src = tmp_path / "stray.tif"
    tifffile.imwrite(src, data, imagej=True, metadata={"axes": "ZYX"})
    for method in ("median", "wiener", "gaussian-sure-avg"):
        out = tmp_path / f"{method}.tif"
        assert main(["denoise", str(src), "-o", str(out), "--method", method]) == 0
        result = tifffile.imread(out)
        assert np.isfinite(result).all()
        if method == "median":  # the slices without it as they were
            assert np.allclose(result[0], baselines.apply_filter("median", data[0]), atol=1e-6)


def test_tv_chambolle_is_a_paper_baseline_and_says_it_stops_early():
    tv = baselines.FILTERS["tv-chambolle"]
    assert tv.as_published and "at most 200 iterations" in tv.description


def test_the_filter_list_is_in_columns(capsys):
    assert main(["filters"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line and not line.startswith("paper")]
    starts = {line.index(baselines.FILTERS[line.split()[0]].label) for line in lines}
    assert len(starts) == 1
