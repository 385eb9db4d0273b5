"""Blank input slices are said after the run (concurrency audit of 2026-12-08: an MRC still being copied, its size
reserved first, read as 9 zero slices of 16, and the run said nothing, exit 0)."""

import tifffile

from emdenoise_gui.jobs.stack import _slice_words
from tests.conftest import synthetic_em_stack


def test_blank_slices_are_named_in_a_note(tmp_path, cli):
    data = synthetic_em_stack(12, 48, 40, seed=2)
    data[7:10] = 0
    data[2] = 0
    tifffile.imwrite(tmp_path / "a.tif", data, imagej=True, metadata={"axes": "ZYX"})
    result = cli("denoise", tmp_path / "a.tif", "-o", tmp_path / "o.tif", "--method", "gaussian")
    assert result.code == 0, result.err
    assert "slices 2 and 7-9 of the input are blank (one value), and so in the result" in result.err
    assert "still being written" in result.err
    plain = cli("denoise", tmp_path / "o.tif", "-o", tmp_path / "p.tif", "--method", "median", "--slices", "0:2")
    assert plain.code == 0 and "blank" not in plain.err


def test_slice_words():
    assert _slice_words([4]) == "slice 4"
    assert _slice_words([7, 8, 9]) == "slices 7-9"
    assert _slice_words([1, 3, 4, 9]) == "slices 1, 3-4 and 9"
