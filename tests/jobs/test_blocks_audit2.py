"""Block processing audit of 2026-12-07: a second failed --overwrite run lost the finished result kept aside, a
cancelled run's block still running on a scheduler's worker wrote into the next run's store, a cluster setting
of zero was an internal error, the notes a run of the whole stack gives were not given, options a run of the
whole stack refuses were taken, a stray file among the block records made an unfinished store read as done."""

import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io import open_stack
from emdenoise_gui.jobs import blocks
from emdenoise_gui.jobs.denoise import Denoiser
from tests.conftest import main
from tests.jobs.test_blocks import GAUSS_AVG, ramp_volume


def _run(source, out, *args):
    return main(["denoise", str(source), "-o", str(out), "--scheduler", "here", *args])


def _with_a_nan(source, path):
    """``source``'s stack with one NaN pixel in slice 30 (found when a block reads it, not before) at ``path``."""
    data = tifffile.imread(source)
    data[30, 3, 3] = np.nan
    tifffile.imwrite(path, data, photometric="minisblack")
    return path


def test_two_failed_overwrite_runs_keep_the_finished_result_aside(tmp_path, capsys):
    source, out = tmp_path / "wide.tif", tmp_path / "ow.zarr"
    tifffile.imwrite(source, np.linspace(0, 200_000, 40 * 32 * 32, dtype=np.float32).reshape(40, 32, 32),
                     photometric="minisblack")
    assert _run(source, out, "--method", "gaussian") == 0
    with open_stack(out) as stack:
        finished = stack[20].copy()
    bad = _with_a_nan(source, tmp_path / "bad.tif")
    assert _run(bad, out, "--method", "gaussian", "--overwrite") == 2
    assert _run(bad, out, "--method", "median", "--overwrite") == 2
    assert "rename" in capsys.readouterr().err
    with open_stack(blocks.previous_path(out)) as kept:  # "an unfinished block run (0 of 3 ...)" before
        np.testing.assert_array_equal(kept[20], finished)


def test_a_block_of_a_stopped_run_is_not_written_into_the_next_runs_store(tmp_path):
    source, out = ramp_volume(tmp_path / "in.tif"), tmp_path / "out.zarr"
    old, todo, _ = blocks.prepare(source, out, GAUSS_AVG)
    blocks.prepare(source, out, Denoiser("filter", "median"), overwrite=True)  # the next run, at the same path
    with pytest.raises(InputError, match="now holds another run's store .* were not written"):
        blocks.run_block(old, todo[0])
    assert blocks.finished_blocks(out) == set()


def test_a_cluster_setting_of_zero_is_one_line(tmp_path):
    pytest.importorskip("dask_jobqueue")
    from emdenoise_gui.jobs.cluster import batch_cluster

    with pytest.raises(InputError, match="the cluster configuration for slurm is not valid"):
        batch_cluster("slurm", {"cores": 1, "memory": "1GB", "processes": 0}, 0)  # ZeroDivisionError before


def test_a_block_run_says_what_its_result_cannot_keep(tmp_path, capsys):
    source = tmp_path / "white.tif"
    tifffile.imwrite(source, np.random.default_rng(0).integers(0, 255, (4, 32, 32), dtype=np.uint8),
                     photometric="miniswhite")
    assert _run(source, tmp_path / "w.zarr", "--method", "gaussian") == 0
    assert "w.zarr cannot say that the input is stored white-is-zero" in capsys.readouterr().err


@pytest.mark.parametrize("option,words", [(["--tile", "72"], "multiple of 16"),
                                          (["--batch-size", "0"], "need at least 1 tile per batch")])
def test_model_options_a_whole_run_refuses_are_refused_here_too(tmp_path, capsys, option, words):
    source = ramp_volume(tmp_path / "in.tif")
    assert _run(source, tmp_path / "m.zarr", "--model", "flyem-nrrn-lite", *option) == 2
    assert words in capsys.readouterr().err and not (tmp_path / "m.zarr").exists()


def test_a_stray_file_among_the_block_records_does_not_finish_a_store(tmp_path, capsys):
    source, out = ramp_volume(tmp_path / "in.tif", depth=40), tmp_path / "s.zarr"
    assert _run(source, out, "--method", "gaussian") == 0
    records = out / blocks.RECORDS
    (records / "16-32").unlink()
    (records / "._16-32").write_text("")  # as a copy from a Mac leaves
    capsys.readouterr()
    assert main(["info", str(out)]) == 2 and "(2 of 3 blocks written" in capsys.readouterr().err


def test_overwrite_keeps_aside_a_store_it_cannot_read_as_a_stack(tmp_path):
    """Review: taking any store the app cannot open as a stack (two channels) for an unfinished run deleted it
    at once, and the run then failed: gone, where it had been kept as .previous."""
    import zarr

    out = tmp_path / "out.zarr"
    group = zarr.open_group(str(out), mode="w", zarr_format=2)
    group.create_array("0", shape=(2, 4, 32, 32), dtype="uint8", chunks=(1, 1, 32, 32))[:] = 7
    axes = [{"name": "c", "type": "channel"}] + [{"name": a, "type": "space"} for a in "zyx"]
    group.attrs["multiscales"] = [{"version": "0.4", "axes": axes, "datasets": [
        {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 1, 1]}]}]}]
    source = tmp_path / "wide.tif"
    tifffile.imwrite(source, np.linspace(0, 200_000, 40 * 32 * 32, dtype=np.float32).reshape(40, 32, 32),
                     photometric="minisblack")
    assert _run(_with_a_nan(source, tmp_path / "bad.tif"), out, "--method", "gaussian", "--overwrite") == 2
    kept = zarr.open_group(str(blocks.previous_path(out)), mode="r")
    assert int(kept["0"][1, 2, 3, 4]) == 7
