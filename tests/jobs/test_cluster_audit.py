"""What the Dask audit of 2026-12-07 found: Ctrl-C on a batch-system run exited 0 (dask-jobqueue's handler), a
run out of workers deleted the store it said it kept, a failing run deleted another run's finished result, two
runs on one scheduler shared a block's task, a scheduler that stopped answering held the run for ever, a lost
scheduler or a worker killed again and again was an internal error, a worker's address taken for the
scheduler's was an internal error, and an output the workers cannot see was said to hold another run's store."""

import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
import tifffile

from emdenoise_gui.cli import blocks as cli_blocks
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.jobs import blocks, cluster
from emdenoise_gui.jobs.denoise import Denoiser
from tests.conftest import main
from tests.jobs.test_blocks import ramp_volume

distributed = pytest.importorskip("distributed")


def _tcp_cluster(workers: int):
    return distributed.LocalCluster(n_workers=workers, processes=False, protocol="tcp://", host="127.0.0.1",
                                    dashboard_address=None)


def test_a_run_out_of_workers_keeps_the_store_it_says_it_keeps(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cluster, "NO_WORKERS_S", 1.0)
    out = tmp_path / "out.zarr"
    with _tcp_cluster(0) as local:
        code = main(["denoise", str(ramp_volume(tmp_path / "in.tif")), "-o", str(out), "--method", "gaussian-avg",
                     "--scheduler", local.scheduler_address])
    err = capsys.readouterr().err
    assert code == 2 and "the blocks written are kept" in err and "was not written" not in err
    assert out.is_dir()  # deleted before, though the line said it was kept


def test_a_workers_address_given_for_the_schedulers_is_one_line(tmp_path, capsys):
    with _tcp_cluster(1) as local:
        worker = next(iter(local.scheduler_info["workers"]))
        code = main(["denoise", str(ramp_volume(tmp_path / "in.tif")), "-o", str(tmp_path / "o.zarr"), "--method",
                     "gaussian", "--scheduler", worker])
    err = capsys.readouterr().err
    assert code == 2 and "is not a Dask scheduler but another part of a cluster" in err
    assert "internal error" not in err and not (tmp_path / "o.zarr").exists()


def test_a_scheduler_that_stops_answering_stops_the_run():
    def silent(*_args, **_kwargs):
        raise TimeoutError()

    client = types.SimpleNamespace(scheduler=types.SimpleNamespace(identity=None), sync=silent)
    with pytest.raises(blocks.Unfinished, match="has not answered for"):
        cluster.worker_count(client)


class _Finished:
    """A finished future whose result raises ``error``."""

    def __init__(self, error):
        self.error = error

    def done(self):
        return True

    def result(self):
        raise self.error


@pytest.mark.parametrize("error, words", [
    (distributed.KilledWorker("block", "worker", 3), "died one after another"),
    (distributed.client.FutureCancelledError("key", "scheduler-connection-lost"), "lost or cancelled the run"),
])
def test_a_block_the_cluster_lost_says_the_blocks_are_kept(tmp_path, error, words):
    submitted = []

    def submit(_function, _job, block, key, pure):
        submitted.append(key)
        return _Finished(error)

    client = types.SimpleNamespace(submit=submit, cancel=lambda _futures: None)
    job = types.SimpleNamespace(output=str(tmp_path / "o.zarr"))
    with pytest.raises(blocks.Unfinished, match=words):
        list(cluster.run_blocks(client, job, [(0, 8), (8, 16)], "denoise"))
    with pytest.raises(blocks.Unfinished):
        list(cluster.run_blocks(client, job, [(0, 8)], "denoise"))
    assert len(set(submitted)) == 3  # a run's own task keys: two runs at one output shared a block's task


def _run(source, output, replaced: bool, error=InputError("slice 3 holds NaN")):
    """A block run's steps: it creates its store at ``output`` (``blocks.start``), (another run replaces the
    store with its own), then fails."""
    yield from blocks.start(source, output, Denoiser("filter", "gaussian"), 512, None, "float32", "cpu", False,
                            None, None)
    if replaced:
        shutil.rmtree(output)
        blocks.prepare(source, output, Denoiser("filter", "gaussian"))  # another run's, with --overwrite
    raise error


def test_a_failed_run_removes_its_own_new_store_but_never_another_runs(tmp_path):
    source = ramp_volume(tmp_path / "in.tif")
    mine = tmp_path / "mine.zarr"
    with pytest.raises(InputError, match="mine.zarr was not written"):
        list(cli_blocks._saying_what_is_kept(_run(source, mine, replaced=False), mine))
    assert not mine.exists()
    theirs = tmp_path / "theirs.zarr"
    with pytest.raises(InputError) as failed:
        list(cli_blocks._saying_what_is_kept(_run(source, theirs, replaced=True), theirs))
    assert "was not written" not in failed.value.problem and blocks.store_run(theirs)
    kept = tmp_path / "kept.zarr"
    with pytest.raises(blocks.Unfinished):
        list(cli_blocks._saying_what_is_kept(_run(source, kept, False, blocks.Unfinished("no workers")), kept))
    assert kept.is_dir()


def test_a_run_failing_in_its_first_block_removes_the_store_it_made_even_over_another(tmp_path, capsys):
    """Nothing is reported between the store's creation and the first slice here: the store stayed (review);
    with --overwrite the run's own unfinished store stayed where the message said to rename the old one back."""
    source = tmp_path / "nan.tif"
    volume = tifffile.imread(ramp_volume(tmp_path / "in.tif")).astype(np.float32)
    volume[0, 5, 5] = np.nan
    tifffile.imwrite(source, volume, photometric="minisblack")
    out = tmp_path / "out.zarr"
    args = ["denoise", str(source), "-o", str(out), "--method", "gaussian", "--scheduler", "here"]
    assert main(args) == 2 and not out.exists()
    assert "out.zarr was not written" in capsys.readouterr().err
    assert main(["denoise", str(tmp_path / "in.tif"), "-o", str(out), "--method", "median", "--scheduler", "here"]) == 0
    capsys.readouterr()
    assert main([*args, "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "was not written" in err and "rename it back to out.zarr" in err and not out.exists()
    assert blocks.previous_path(out).is_dir()  # the finished result it was to replace, to be renamed back


def test_an_output_the_worker_cannot_see_is_said_so(tmp_path):
    out = tmp_path / "o.zarr"
    job, todo, _ = blocks.prepare(ramp_volume(tmp_path / "in.tif"), out, Denoiser("filter", "gaussian"))
    shutil.rmtree(out)  # as a worker on another machine sees it: not there
    with pytest.raises(InputError, match="not there for the worker that ran slices 0-"):
        blocks.run_block(job, todo[0])


def test_ctrl_c_keeps_this_programs_handler_once_dask_jobqueue_is_imported():
    """dask-jobqueue sets Ctrl-C to sys.exit() when imported: a batch-system run stopped so ended with exit 0."""
    pytest.importorskip("dask_jobqueue")
    code = ("import signal, sys\n"
            "from emdenoise_gui.jobs import cluster\n"
            "mine = signal.getsignal(signal.SIGINT)\n"
            "made = cluster.batch_cluster('slurm', {'cores': 1, 'memory': '1GB'}, 0)\n"
            "made.close()\n"
            "sys.exit(0 if signal.getsignal(signal.SIGINT) is mine else 1)\n")
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
