"""An MRC volume stack (space group 401, nz a multiple of mz): the slices beside each one stay inside its volume,
and an .mrc result of whole volumes is a volume stack again. Before 2026-12-07 the 3-slice filters and NRRN read
the last slice of one volume beside the first of the next, and every result was written as one volume."""

import mrcfile
import numpy as np
import pytest

from emdenoise_gui.core.io import open_stack
from emdenoise_gui.core.pipeline import IntensityScale, SliceCache, neighbour_indices
from tests.conftest import main


def _volume_stack(path, volumes=2, depth=3, mz=None):
    """``volumes`` volumes of ``depth`` slices, each volume one constant value (10, 20, ...), 16 x 16 px."""
    data = np.repeat(np.arange(1, volumes + 1, dtype=np.float32) * 10, depth)[:, None, None] * np.ones((16, 16))
    with mrcfile.new(path) as mrc:
        mrc.set_data(data.astype(np.float32))
        mrc.header.ispg, mrc.header.mz = 401, depth if mz is None else mz
        mrc.voxel_size = 10.0
    return data


def test_neighbours_reflect_at_each_volume_s_ends():
    assert neighbour_indices(2, 6, 3, volume=3) == [1, 2, 1]
    assert neighbour_indices(3, 6, 3, volume=3) == [4, 3, 4]
    assert neighbour_indices(3, 6, 3) == [2, 3, 4]  # one volume: as before
    assert neighbour_indices(4, 6, 5, volume=3) == [4, 3, 4, 5, 4]
    assert neighbour_indices(0, 2, 3, volume=1) == [0, 0, 0]  # volumes of one slice: each its own neighbours


def test_a_volume_stack_is_read_with_its_volume_depth_and_its_windows_stay_inside(tmp_path):
    path = tmp_path / "volumes.mrc"
    _volume_stack(path)
    with open_stack(path) as stack:
        assert stack.meta.extra["volume_depth"] == 3
        assert "2 volumes of 3 slices" in stack.meta.extra["note"]
        window = SliceCache(stack, 4).window(3, 3, IntensityScale(0.0, 100.0))
    assert np.allclose(window * 100, 20)  # the first slice of volume 2 with its own neighbours, not volume 1's


def test_an_mz_that_does_not_divide_nz_is_read_as_one_volume_and_said(tmp_path):
    path = tmp_path / "odd.mrc"
    _volume_stack(path, volumes=2, depth=3, mz=4)
    with open_stack(path) as stack:
        assert "volume_depth" not in stack.meta.extra
        assert "does not divide its 6 slices" in stack.meta.extra["note"]


def test_a_three_slice_filter_does_not_mix_volumes_and_an_mrc_result_stays_a_volume_stack(tmp_path, capsys):
    path, out = tmp_path / "volumes.mrc", tmp_path / "out.mrc"
    data = _volume_stack(path)
    assert main(["denoise", str(path), "-o", str(out), "--method", "gaussian-avg"]) == 0
    with mrcfile.open(out, permissive=True) as mrc:
        assert int(mrc.header.ispg) == 401 and int(mrc.header.mz) == 3
        result = np.asarray(mrc.data, np.float32).reshape(data.shape)
    assert np.allclose(result[2:4].mean(axis=(1, 2)), [10, 20], atol=0.2)  # 13.3 and 16.7 mixed before
    assert "written as one volume" not in capsys.readouterr().err


@pytest.mark.parametrize("args,why", [(["-o", "part.mrc", "--slices", "1:6"], "--slices covers part of a volume"),
                                      (["-o", "out.tif"], "only an .mrc output can say so")])
def test_a_result_that_cannot_keep_the_volumes_says_so(tmp_path, capsys, args, why):
    path = tmp_path / "volumes.mrc"
    _volume_stack(path)
    args = [str(tmp_path / a) if a.endswith((".mrc", ".tif")) else a for a in args]
    assert main(["denoise", str(path), *args, "--method", "gaussian"]) == 0
    assert f"is written as one volume, not as the input's volumes of 3 slices: {why}" in capsys.readouterr().err


def test_a_volume_stack_of_one_volume_is_called_so(tmp_path):
    path = tmp_path / "one.mrc"
    _volume_stack(path, volumes=1, depth=6)
    with open_stack(path) as stack:
        assert "volume_depth" not in stack.meta.extra
        assert "a volume stack (space group 401) of one volume" in stack.meta.extra["note"]


def test_an_mrcs_result_says_it_holds_images_not_volumes(tmp_path, capsys):
    path, out = tmp_path / "volumes.mrc", tmp_path / "o.mrcs"
    _volume_stack(path)
    assert main(["denoise", str(path), "-o", str(out), "--method", "gaussian-avg"]) == 0
    assert "an .mrcs output holds images, not volumes" in capsys.readouterr().err
    with mrcfile.open(out, permissive=True) as mrc:
        assert int(mrc.header.ispg) == 0
