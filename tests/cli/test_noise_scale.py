"""`emdenoise noise` on data other than 8-bit (convert audit of 2026-12-07): a dose counted from the image's
minimum (a uint16 ramp of 1000-3000 given dose 100 measured 400 counts at its mean), a dark patch outside the
16 slices the intensity range samples left flat and noiseless, no --ngff."""

import json

import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.io import open_stack


def _read(path) -> np.ndarray:
    with open_stack(path) as stack:
        return np.stack([stack[z] for z in range(len(stack))]).astype(np.float64)


def test_a_dose_is_counts_at_the_mean_of_uint16_data(tmp_path, cli):
    ramp = np.tile(np.linspace(1000, 3000, 128), (4, 128, 1)).astype(np.uint16)
    src, out = tmp_path / "ramp.tif", tmp_path / "noisy.tif"
    tifffile.imwrite(src, ramp, photometric="minisblack")
    assert cli("noise", src, "-o", out, "--kind", "poisson-dose", "--dose", "100").code == 0
    clean, residual = ramp.astype(np.float64), _read(out) - ramp
    # each pixel's variance is value x mean / dose for Poisson counts proportional to the stored value
    dose = clean.mean() * clean.sum() / np.square(residual).sum()
    assert dose == pytest.approx(100, rel=0.05)  # 400 before


def test_pixels_darker_than_the_sampled_slices_get_noise(tmp_path, cli):
    stack = np.random.default_rng(5).integers(1000, 3000, (20, 64, 64)).astype(np.uint16)
    stack[2, 10:30, 10:30] = 200  # slice 2 is not among the 16 slices the usual range samples
    src, out = tmp_path / "dark.tif", tmp_path / "noisy.tif"
    tifffile.imwrite(src, stack, photometric="minisblack")
    assert cli("noise", src, "-o", out, "--kind", "poisson-peak", "--peak", "1000").code == 0
    patch = _read(out)[2, 10:30, 10:30]
    assert patch.std() > 5 and abs(patch.mean() - 200) < 10  # all exactly 1000.0 before


def test_values_below_zero_are_counted_from_the_minimum_and_said(tmp_path, cli):
    stack = np.random.default_rng(1).normal(0, 1, (2, 32, 32)).astype(np.float32)
    src, out = tmp_path / "signed.tif", tmp_path / "noisy.tif"
    tifffile.imwrite(src, stack, photometric="minisblack")
    result = cli("noise", src, "-o", out, "--kind", "poisson-dose", "--dose", "50")
    assert result.code == 0 and "holds values below zero: its minimum (" in result.err


def test_noise_writes_ome_zarr_0_4_when_asked(tmp_path, cli):
    src, out = tmp_path / "s.tif", tmp_path / "noisy.zarr"
    tifffile.imwrite(src, np.full((2, 32, 32), 100, np.uint8))
    assert cli("noise", src, "-o", out, "--kind", "gaussian", "--ngff", "0.4").code == 0
    assert json.loads((out / ".zattrs").read_text())["multiscales"][0]["version"] == "0.4"


def test_a_crop_of_an_uncalibrated_stack_says_a_zarr_output_cannot_keep_where_it_began(tmp_path, cli):
    src = tmp_path / "nocal.tif"
    tifffile.imwrite(src, np.random.default_rng(0).integers(0, 4000, (4, 32, 32)).astype(np.uint16),
                     photometric="minisblack")
    result = cli("convert", src, tmp_path / "part.zarr", "--slices", "1:3")
    assert result.code == 0 and "where this part begins in the input (slice 1, row 0, column 0) is not kept" in result.err
    assert "is not kept" not in cli("convert", src, tmp_path / "part.mrc", "--slices", "1:3").err  # nzstart 1
    assert "is not kept" not in cli("convert", src, tmp_path / "whole.zarr").err


def test_an_empty_store_and_float64_beyond_float32_are_named_as_such(tmp_path, cli):
    from emdenoise_gui.core.errors import InputError
    from emdenoise_gui.core.io.stack import check_shape

    with pytest.raises(InputError, match=r"holds no slices \(shape \(0, 16, 16\)\): it is empty"):
        check_shape((0, 16, 16), tmp_path / "e.zarr")  # "the image is only 16x16 pixels" before
    src = tmp_path / "huge.tif"
    tifffile.imwrite(src, np.full((2, 16, 16), 1e300), photometric="minisblack")
    result = cli("denoise", src, "-o", tmp_path / "out.tif", "--method", "gaussian")
    assert result.code == 2 and "float64 values beyond ±3.4e38 are infinite in float32" in result.err
    assert "Remove NaNs" not in result.err


def test_int8_data_counts_from_zero_and_says_nothing_of_negative_values(tmp_path, cli):
    """Review: int8 data of 20-99 was told "its minimum (-128) is taken as zero counts" (its type's range)."""
    src, out = tmp_path / "i8.tif", tmp_path / "noisy.tif"
    tifffile.imwrite(src, np.random.default_rng(0).integers(20, 100, (2, 32, 32)).astype(np.int8),
                     photometric="minisblack")
    result = cli("noise", src, "-o", out, "--kind", "poisson-dose", "--dose", "100")
    assert result.code == 0 and "below zero" not in result.err


def test_float16_nan_is_told_to_remove_the_nan(tmp_path, cli):
    src = tmp_path / "f16.tif"
    data = np.ones((2, 16, 16), np.float16)
    data[1, 0, 0] = np.nan
    tifffile.imwrite(src, data, photometric="minisblack")
    result = cli("denoise", src, "-o", tmp_path / "o.tif", "--method", "gaussian")
    assert result.code == 2 and "Remove NaNs" in result.err and "3.4e38" not in result.err
