"""Block processing audit (2026-12-06): a store killed while it was created, --ngff on resume, bad input on
Dask workers, the store a failed run leaves, --jobs below 1, list settings given as one string."""

import json

import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.events import run_to_end
from emdenoise_gui.core.io import omezarr
from emdenoise_gui.jobs import blocks
from tests.conftest import main
from tests.jobs.test_blocks import GAUSS_AVG, ramp_volume


def test_a_run_killed_while_creating_its_store_leaves_nothing_that_reads_as_a_result(tmp_path, monkeypatch, capsys):
    """Killed between the store's creation and its block count, the store read as a finished result of zeros
    (`info` and `compare` exit 0); a resumed run never added the count."""
    source = ramp_volume(tmp_path / "in.tif", depth=40)
    out = tmp_path / "out.zarr"
    store_attribute = blocks._store_attribute

    def killed(output, value):
        raise KeyboardInterrupt

    monkeypatch.setattr(blocks, "_store_attribute", killed)
    with pytest.raises(KeyboardInterrupt):
        run_to_end(blocks.denoise_blocks(source, out, GAUSS_AVG))
    assert not out.exists()  # only its staging folder, which the next run replaces
    monkeypatch.setattr(blocks, "_store_attribute", store_attribute)
    run_to_end(blocks.denoise_blocks(source, out, GAUSS_AVG))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif", "out.zarr"]
    assert main(["info", str(out)]) == 0
    # versions before this one recorded the count after creating the store: a finished one of theirs reads
    # (its blocks counted from its shape), an unfinished one is refused and finished by the same command
    import shutil

    import zarr

    group = zarr.open_group(str(out), mode="r+")
    group.attrs["emdenoise"] = {"job": group.attrs["emdenoise"]["job"]}
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    (out / blocks.RECORDS / "16-32").unlink()
    assert main(["info", str(out)]) == 2 and "(2 of 3 blocks written" in capsys.readouterr().err
    shutil.rmtree(out / blocks.RECORDS)
    assert main(["info", str(out)]) == 2 and "stopped while it was created" in capsys.readouterr().err
    run_to_end(blocks.denoise_blocks(source, out, GAUSS_AVG))
    assert main(["info", str(out)]) == 0


def test_ngff_other_than_the_stores_is_refused_on_resume(tmp_path, capsys):
    source = ramp_volume(tmp_path / "in.tif")
    out = tmp_path / "a.zarr"
    args = ["denoise", str(source), "-o", str(out), "--method", "gaussian", "--scheduler", "here"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args + ["--ngff", "0.4"]) == 2
    assert "is the OME-Zarr 0.5 store of this job, not 0.4" in capsys.readouterr().err
    assert main(args + ["--ngff", "0.5"]) == 0 and main(args + ["--ngff", "0.4", "--overwrite"]) == 0
    assert omezarr.open_image(out)[2] == "0.4"


def test_a_run_failing_on_its_input_removes_the_store_it_created(tmp_path, capsys):
    """The empty store stayed and refused the corrected command as 'another job's result'."""
    source = tmp_path / "f32.tif"
    data = (np.arange(8 * 32 * 32).reshape(8, 32, 32) * 7).astype(np.float32)
    data[5, 3, 3] = np.nan  # found when slice 5 is read (the range sample leaves NaN out)
    tifffile.imwrite(source, data, photometric="minisblack")
    out = tmp_path / "u8.zarr"
    args = ["denoise", str(source), "-o", str(out), "--method", "gaussian", "--scheduler", "here"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "u8.zarr was not written" in err and not out.exists()
    data[5, 3, 3] = 0
    tifffile.imwrite(source, data, photometric="minisblack")
    assert main(args) == 0


def test_bad_input_on_a_worker_comes_back_as_one_line(tmp_path):
    """Raised on a Dask worker, the InputError was logged there with its traceback before the one line."""
    from emdenoise_gui.jobs import cluster

    source = ramp_volume(tmp_path / "in.tif")
    data = tifffile.imread(source).astype(np.float32)
    data[1, 3, 3] = np.nan
    tifffile.imwrite(source, data, photometric="minisblack")
    job, todo, _ = blocks.prepare(source, tmp_path / "out.zarr", GAUSS_AVG)
    outcome = cluster._run_block(job, todo[0])
    assert isinstance(outcome, InputError) and "NaN" in str(outcome)


@pytest.mark.parametrize("jobs", ["0", "-1"])
def test_jobs_below_one_are_refused(tmp_path, capsys, jobs):
    """--jobs 0 waited for ever for workers; -1 was an internal error."""
    source = ramp_volume(tmp_path / "in.tif")
    assert main(["denoise", str(source), "-o", str(tmp_path / "j.zarr"), "--method", "gaussian", "--scheduler",
                 "slurm", "--jobs", jobs]) == 2
    assert f"--jobs must be 1 or more (batch jobs to start), got {jobs}" in capsys.readouterr().err
    assert not (tmp_path / "j.zarr").exists()


def test_a_list_setting_given_as_one_string_is_one_line(tmp_path):
    """`job_extra_directives: "--gres=gpu:1"` made one `#SBATCH` line per character."""
    from emdenoise_gui.jobs.cluster import read_config

    config = tmp_path / "j.yaml"
    config.write_text('cores: 4\nmemory: 4GB\njob_extra_directives: "--gres=gpu:1"\n')
    assert read_config(str(config))["job_extra_directives"] == ["--gres=gpu:1"]
    config.write_text("cores: 4\njob_script_prologue: 3\n")
    with pytest.raises(InputError, match="job_script_prologue must be a list of lines"):
        read_config(str(config))
    assert json.loads(json.dumps(read_config(None))) == {}


def test_a_blocks_pixels_are_on_the_disk_before_its_record(tmp_path, monkeypatch):
    """The record of a block was written right after its pixels, neither flushed: after a power cut a recorded
    block could hold no pixels and be skipped by the next run (kill audit of 2026-12-06)."""
    from emdenoise_gui.core import atomic

    source = ramp_volume(tmp_path / "in.tif")
    out = tmp_path / "a.zarr"
    flushed, real = [], atomic.fsync_tree

    def spy(path):
        records = out / omezarr.BLOCK_RECORDS
        flushed.append((path, len(list(records.iterdir())) if records.is_dir() else 0))
        real(path)

    monkeypatch.setattr(atomic, "fsync_tree", spy)
    assert main(["denoise", str(source), "-o", str(out), "--method", "gaussian", "--scheduler", "here"]) == 0
    array, _, _ = omezarr.open_image(out)
    blocks_done = sorted(blocks.finished_blocks(out))
    assert len(blocks_done) >= 2
    for index, (z0, z1) in enumerate(blocks_done):  # each block's files flushed while the records before it existed
        files = omezarr.stored_files(array, out, range(z0, z1))
        assert files and all((f, index) in flushed for f in files if f.exists())
