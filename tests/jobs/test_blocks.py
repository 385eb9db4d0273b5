"""Block processing (jobs/blocks.py, jobs/cluster.py): same result as one process, no seams, resume,
cancel, Dask workers, batch-job scripts."""

import json
import time

import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.errors import Cancelled, InputError
from emdenoise_gui.core.events import CancelToken, Message, Progress, run_to_end
from emdenoise_gui.core.io import open_stack
from emdenoise_gui.jobs import blocks
from emdenoise_gui.jobs.denoise import Denoiser, denoise_stack
from tests.conftest import FIBSEM, main

NRRN = Denoiser("model", "flyem-nrrn-lite", "flyem-nrrn-lite")
GAUSS_AVG = Denoiser("filter", "gaussian-avg")


def ramp_volume(path, depth=20, height=48, width=40):
    """A (Z, Y, X) uint16 ramp rising along every axis, with seeded noise: a seam would show as a step."""
    z, y, x = np.meshgrid(np.arange(depth), np.arange(height), np.arange(width), indexing="ij")
    ramp = 2000 + 40 * z + 9 * y + 7 * x + np.random.default_rng(0).normal(0, 60, z.shape)
    tifffile.imwrite(path, ramp.astype(np.uint16), photometric="minisblack")
    return path


def fibsem_volume(path, depth=20):
    if not FIBSEM.exists():
        pytest.skip("../shared/data is not beside this checkout")
    tifffile.imwrite(path, tifffile.imread(FIBSEM, key=range(depth))[:, 200:264, 150:214], photometric="minisblack")
    return path


def single_process(source, denoiser, out):
    run_to_end(denoise_stack(source, out, denoiser))
    with open_stack(out) as stack:
        return stack.read(0, len(stack))


def fail_after_the_first_block(monkeypatch, exc: BaseException):
    """Every block after the first finished one raises ``exc`` (a stop, a bad block, a failing disk); returns
    the real ``blocks.block_slices`` to put back."""
    block_slices = blocks.block_slices

    def failing(job, block, cancel=None):
        if blocks.finished_blocks(job.output):
            raise exc
        return (yield from block_slices(job, block, cancel))

    monkeypatch.setattr(blocks, "block_slices", failing)
    return block_slices


def read_all(path):
    with open_stack(path) as stack:
        return stack.read(0, len(stack))


def test_plan_blocks_covers_the_volume_in_write_units():
    assert blocks.plan_blocks(40, 16) == [(0, 16), (16, 32), (32, 40)]
    assert blocks.plan_blocks(3, 16) == [(0, 3)]
    with pytest.raises(ValueError):
        blocks.plan_blocks(3, 0)


@pytest.mark.parametrize("volume", [ramp_volume, fibsem_volume])
@pytest.mark.parametrize("denoiser", [NRRN, GAUSS_AVG], ids=["nrrn", "gaussian-avg"])
def test_blocks_equal_the_single_process_result_without_seams(tmp_path, volume, denoiser):
    """NRRN and the -avg filter read the slices beside each one: across the block border at z=16 too."""
    source = volume(tmp_path / "in.tif")
    expected = single_process(source, denoiser, tmp_path / "one.tif")
    events = list(blocks.denoise_blocks(source, tmp_path / "out.zarr", denoiser))
    depth = len(read_all(tmp_path / "out.zarr"))
    assert [(e.done, e.total) for e in events if isinstance(e, Progress)] == [(k, depth) for k in range(1, depth + 1)]
    result = read_all(tmp_path / "out.zarr")
    assert np.abs(result - expected).max() <= 1e-4 * np.abs(expected).max()
    for z in (15, 16):  # either side of the border: the same as one process computes
        np.testing.assert_allclose(result[z], expected[z], rtol=1e-5, atol=1e-3)


def test_a_killed_run_resumes_with_only_the_missing_blocks(tmp_path):
    source = ramp_volume(tmp_path / "in.tif", depth=40)
    out = tmp_path / "out.zarr"
    run = blocks.denoise_blocks(source, out, GAUSS_AVG)
    for event in run:  # "kill" it after the first block (16 slices), as the second starts
        if isinstance(event, Progress) and event.done == 17:
            break
    run.close()
    assert blocks.finished_blocks(out) == {(0, 16)}
    with pytest.raises(InputError, match=r"unfinished block run \(1 of 3 blocks written"):
        open_stack(out)  # its other blocks would read as zeros
    before = (out / blocks.RECORDS / "0-16").stat().st_mtime_ns
    events = list(blocks.denoise_blocks(source, out, GAUSS_AVG))
    assert any(isinstance(e, Message) and "1 of 3 blocks were already done" in e.text for e in events)
    assert [e.done for e in events if isinstance(e, Progress)] == list(range(1, 25))  # two blocks, not three
    assert (out / blocks.RECORDS / "0-16").stat().st_mtime_ns == before  # the finished block was not redone
    expected = single_process(source, GAUSS_AVG, tmp_path / "one.tif")
    np.testing.assert_allclose(read_all(out), expected, rtol=1e-5, atol=1e-3)
    with open_stack(out) as stack:  # finished: readable
        assert len(stack) == 40
    again = list(blocks.denoise_blocks(source, out, GAUSS_AVG))
    assert not [e for e in again if isinstance(e, Progress)]


def test_another_job_into_the_same_store_is_refused(tmp_path):
    source = ramp_volume(tmp_path / "in.tif")
    run_to_end(blocks.denoise_blocks(source, tmp_path / "out.zarr", GAUSS_AVG))
    with pytest.raises(InputError, match="another job's result"):
        run_to_end(blocks.denoise_blocks(source, tmp_path / "out.zarr", Denoiser("filter", "median")))
    run_to_end(blocks.denoise_blocks(source, tmp_path / "out.zarr", Denoiser("filter", "median"), overwrite=True))
    with pytest.raises(InputError, match="name the output .zarr"):
        run_to_end(blocks.denoise_blocks(source, tmp_path / "out.tif", GAUSS_AVG))


def test_a_source_changed_since_is_another_job(tmp_path):
    """Rewritten with other data of the same shape and type, the source made a resume say "nothing to
    compute" and keep the old result."""
    source = ramp_volume(tmp_path / "in.tif")
    out = tmp_path / "out.zarr"
    run_to_end(blocks.denoise_blocks(source, out, GAUSS_AVG))
    flat = np.full((20, 48, 40), 3000, np.uint16)
    flat[0, 0, 0] = 2000  # the same intensity range as far as a scale is concerned does not matter
    tifffile.imwrite(source, flat, photometric="minisblack")
    with pytest.raises(InputError, match="input changed since"):
        run_to_end(blocks.denoise_blocks(source, out, GAUSS_AVG))
    assert blocks.source_stamp(tmp_path / "out.zarr").startswith("folder ")


@pytest.fixture
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


def test_dask_workers_write_the_same_result(tmp_path, client):
    from emdenoise_gui.jobs.cluster import denoise_on_cluster

    source = fibsem_volume(tmp_path / "in.tif", depth=40) if FIBSEM.exists() else ramp_volume(tmp_path / "in.tif", 40)
    expected = single_process(source, NRRN, tmp_path / "one.tif")
    client.run(lambda: blocks._PREDICTORS.clear())  # other tests' models, in this process's threads' workers
    events = list(denoise_on_cluster(source, tmp_path / "out.zarr", NRRN, "local", client=client))
    progress = [e for e in events if isinstance(e, Progress)]
    counts = [p.done for p in progress]  # blocks finishing in the same poll are counted together
    assert counts[-1] == 3 and counts == sorted(set(counts)) and {p.unit for p in progress} == {"block"}
    np.testing.assert_allclose(read_all(tmp_path / "out.zarr"), expected, rtol=1e-5, atol=1e-3)
    loaded = client.run(lambda: len(blocks._PREDICTORS))  # the model was loaded once per worker
    assert set(loaded.values()) == {1}


def test_cancel_stops_the_workers(tmp_path, client):
    from emdenoise_gui.jobs.cluster import denoise_on_cluster

    source = ramp_volume(tmp_path / "in.tif", depth=96, height=96, width=96)
    token = CancelToken()
    run = denoise_on_cluster(source, tmp_path / "out.zarr", Denoiser("filter", "nlm-avg"), "local", client=client,
                             cancel=token)
    with pytest.raises(Cancelled):
        for event in run:
            if isinstance(event, Progress):
                token.cancel()
    deadline = time.monotonic() + 20  # a block already running finishes; nothing new starts
    while any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(client.processing().values())
    done = blocks.finished_blocks(tmp_path / "out.zarr")
    assert 1 <= len(done) < 6, done


@pytest.mark.slow
def test_a_local_cluster_of_worker_processes(tmp_path):
    """Real worker processes: the job and the model travel by pickling."""
    pytest.importorskip("distributed")
    source = ramp_volume(tmp_path / "in.tif", depth=20)
    expected = single_process(source, NRRN, tmp_path / "one.tif")
    assert main(["denoise", str(source), "-o", str(tmp_path / "out.zarr"), "--model", "flyem-nrrn-lite",
                 "--scheduler", "local:2"]) == 0
    np.testing.assert_allclose(read_all(tmp_path / "out.zarr"), expected, rtol=1e-5, atol=1e-3)


def test_local_workers_ignore_ctrl_c_and_this_process_keeps_its_handler():
    """A Ctrl-C reaches the terminal's whole process group: each worker printed a traceback over the line
    saying what was kept. The workers now start with SIGINT ignored; this process's handler is restored."""
    import signal

    pytest.importorskip("distributed")
    from emdenoise_gui.jobs.cluster import local_cluster

    before = signal.getsignal(signal.SIGINT)
    cluster = local_cluster(1)
    try:
        import distributed

        with distributed.Client(cluster) as client:
            ignored = client.run(lambda: signal.getsignal(signal.SIGINT) == signal.SIG_IGN)
    finally:
        cluster.close()
    assert list(ignored.values()) == [True] and signal.getsignal(signal.SIGINT) == before


def test_parse_scheduler():
    from emdenoise_gui.jobs.cluster import Scheduler, parse_scheduler

    assert parse_scheduler("local") == Scheduler("local")
    assert parse_scheduler("local:4") == Scheduler("local", workers=4)
    assert parse_scheduler("10.0.0.5:8786") == Scheduler("address", address="tcp://10.0.0.5:8786")
    assert parse_scheduler("slurm") == Scheduler("slurm")
    for bad in ("local:0", "local:x", "cloud", "host:port"):
        with pytest.raises(InputError):
            parse_scheduler(bad)


def test_slurm_job_script_is_printed_for_the_documented_example(tmp_path, capsys):
    pytest.importorskip("dask_jobqueue")
    config = tmp_path / "slurm.yaml"
    config.write_text("cores: 8\nprocesses: 1\nmemory: 32GB\nqueue: gpu\nwalltime: '04:00:00'\n"
                      "job_extra_directives: ['--gres=gpu:1']\n")
    assert main(["denoise", "in.zarr", "-o", "out.zarr", "--model", "flyem-nrrn-base", "--scheduler", "slurm",
                 "--cluster-config", str(config), "--print-job-script"]) == 0
    script = capsys.readouterr().out
    for line in ("#SBATCH -p gpu", "#SBATCH --cpus-per-task=8", "#SBATCH -t 04:00:00", "#SBATCH --gres=gpu:1",
                 "distributed.cli.dask_worker"):
        assert line in script, script
    config.write_text("cores: 8\nno_such_setting: 1\n")
    assert main(["denoise", "in.zarr", "-o", "out.zarr", "--scheduler", "slurm", "--cluster-config", str(config),
                 "--print-job-script"]) == 2
    assert main(["denoise", "in.zarr", "-o", "out.zarr", "--scheduler", "local", "--print-job-script"]) == 2


@pytest.mark.parametrize("system, line", [("lsf", "#BSUB -q normal"), ("pbs", "#PBS -q normal")])
def test_lsf_and_pbs_job_scripts(tmp_path, capsys, system, line):
    pytest.importorskip("dask_jobqueue")
    config = tmp_path / "q.yaml"
    config.write_text("cores: 4\nmemory: 16GB\nqueue: normal\nwalltime: '02:00'\n")
    assert main(["denoise", "in.zarr", "-o", "out.zarr", "--scheduler", system, "--cluster-config", str(config),
                 "--print-job-script"]) == 0
    assert line in capsys.readouterr().out


def _worker_environment():
    import os

    return os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS")


@pytest.mark.slow
def test_local_workers_share_the_cores_and_keep_glibcs_malloc_tuning():
    """Dask's MALLOC_TRIM_THRESHOLD_ made a worker 2-3x slower here; each worker gets cores / workers threads."""
    distributed = pytest.importorskip("distributed")
    import os

    from emdenoise_gui.jobs.cluster import local_cluster

    for workers in (1, 2):
        with local_cluster(workers) as cluster, distributed.Client(cluster) as client:
            seen = set(client.run(_worker_environment).values())
        assert seen == {(None, str(max(1, (os.cpu_count() or 1) // workers)))}


def test_ctrl_c_in_a_block_run_says_what_it_kept(tmp_path, capsys, monkeypatch):
    """The CLI said "nothing was written" when a block run was stopped, though its store stays for the next
    run to resume (and reading it then said nothing of the blocks missing)."""
    source = ramp_volume(tmp_path / "in.tif", depth=40)
    out = tmp_path / "out.zarr"
    fail_after_the_first_block(monkeypatch, KeyboardInterrupt())
    code = main(["denoise", str(source), "-o", str(out), "--method", "gaussian-avg", "--scheduler", "here"])
    err = capsys.readouterr().err
    assert code == 130 and f"the blocks finished so far are kept in {out}" in err and "nothing was written" not in err
    assert main(["info", str(out)]) == 2 and "unfinished block run (1 of 3" in capsys.readouterr().err


def test_a_run_here_counts_slices_not_only_blocks(tmp_path):
    """One block of a small volume showed no count and no ETA until it was done (ETA audit of 2026-12-06)."""
    from emdenoise_gui.core.events import Progress
    from emdenoise_gui.jobs.denoise import Denoiser

    source = ramp_volume(tmp_path / "in.tif", depth=40)
    events = list(blocks.denoise_blocks(source, tmp_path / "out.zarr", Denoiser("filter", "gaussian")))
    counts = [(e.done, e.total, e.unit) for e in events if isinstance(e, Progress)]
    assert counts == [(k, 40, "slice") for k in range(1, 41)]


def test_no_cluster_leaves_no_empty_store(tmp_path, monkeypatch):
    """An unreachable scheduler left a store that then blocked a different command ("another job's result")."""
    from emdenoise_gui.jobs import cluster

    def unreachable(*_args):
        raise InputError("cannot reach the scheduler at localhost:1")

    monkeypatch.setattr(cluster, "open_client", unreachable)
    source = ramp_volume(tmp_path / "in.tif")
    with pytest.raises(InputError, match="cannot reach"):
        run_to_end(cluster.denoise_on_cluster(source, tmp_path / "out.zarr", GAUSS_AVG, "localhost:1"))
    assert not (tmp_path / "out.zarr").exists()
    # with --overwrite, an existing result was removed before the scheduler was tried (the export audit)
    run_to_end(blocks.denoise_blocks(source, tmp_path / "kept.zarr", GAUSS_AVG))
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "kept.zarr").rglob("*"))
    with pytest.raises(InputError, match="cannot reach"):
        run_to_end(cluster.denoise_on_cluster(source, tmp_path / "kept.zarr", Denoiser("filter", "median"),
                                              "localhost:1", overwrite=True))
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "kept.zarr").rglob("*")) == before


def test_overwrite_keeps_the_finished_result_until_the_new_run_finishes(tmp_path, capsys, monkeypatch):
    """`--overwrite` deleted the finished store before the first block of the new run: a run that then failed
    (a block beyond the output type) or was stopped left only an unfinished store."""
    source = ramp_volume(tmp_path / "in.tif", depth=40)
    out = tmp_path / "out.zarr"
    assert main(["denoise", str(source), "-o", str(out), "--method", "gaussian-avg", "--scheduler", "here"]) == 0
    first = read_all(out)
    block_slices = fail_after_the_first_block(
        monkeypatch, InputError("slices 16-31 of the result span 0 to 70000, beyond uint16's range"))
    args = ["denoise", str(source), "-o", str(out), "--method", "median", "--scheduler", "here", "--overwrite"]
    assert main(args) == 2
    err = capsys.readouterr().err
    previous = blocks.previous_path(out)
    assert len(err.strip().splitlines()) == 1 and f"kept as {previous.name}" in err
    np.testing.assert_array_equal(read_all(previous), first)  # the finished result, whole
    monkeypatch.setattr(blocks, "block_slices", block_slices)
    assert main(args) == 0 and not previous.exists()  # the new run finished: the old result goes
    assert not np.array_equal(read_all(out), first)


def test_a_store_of_the_version_before_weights_and_precision_were_recorded_resumes(tmp_path, capsys):
    """Its job record lacks "weights" and "precision": it read as another job's result, and following the
    advice (--overwrite) would have deleted the blocks already written (review of 2026-12-06)."""
    import zarr

    source = ramp_volume(tmp_path / "in.tif")
    out = tmp_path / "out.zarr"
    run_to_end(blocks.denoise_blocks(source, out, GAUSS_AVG))
    group = zarr.open_group(str(out), mode="r+")
    record = dict(group.attrs["emdenoise"])
    record["job"] = {k: v for k, v in record["job"].items() if k not in ("weights", "precision")}
    group.attrs["emdenoise"] = record
    events = list(blocks.denoise_blocks(source, out, GAUSS_AVG))
    assert any(isinstance(e, Message) and "already done" in e.text for e in events)


def test_an_integer_output_block_run_equals_the_single_process_one_and_records_its_range(tmp_path):
    """Each slice is cast into the block's output as it is done (the block was held three times over: a list, its
    stack, its cast): the stored pixels and each block's recorded range are those of one process's uint16 run."""
    source = ramp_volume(tmp_path / "in.tif")
    run_to_end(denoise_stack(source, tmp_path / "one.tif", GAUSS_AVG, dtype="uint16"))
    expected = read_all(tmp_path / "one.tif")
    run_to_end(blocks.denoise_blocks(source, tmp_path / "out.zarr", GAUSS_AVG, dtype="uint16"))
    result = read_all(tmp_path / "out.zarr")
    assert result.dtype == np.uint16 and np.array_equal(result, expected)
    for z0, z1 in blocks.finished_blocks(tmp_path / "out.zarr"):
        record = json.loads(blocks._record(tmp_path / "out.zarr", (z0, z1)).read_text())
        assert (record["min"], record["max"]) == (result[z0:z1].min(), result[z0:z1].max())
