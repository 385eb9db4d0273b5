"""A job whose slices cannot fit this computer's memory is refused before the work, in one line (a 16384^2 slice
needed 6.6-9.4 GB, and on a computer with less the system killed the app or the command without a word)."""

import numpy as np
import pytest
import tifffile

from emdenoise_gui.core import memory
from emdenoise_gui.core.errors import InputError
from tests.conftest import synthetic_em_stack

GB = 2**30


def test_this_computers_memory_is_read():
    total = memory.physical_memory()
    assert total is not None and total > 2**28


def test_control_group_limits_are_found_up_the_tree_and_in_v1(tmp_path):
    """Only the top cgroup v2 file was read: a Slurm job's limit sits in a nested group, and v1 keeps it elsewhere
    (review)."""
    job = tmp_path / "system.slice" / "job_42" / "step_0"
    job.mkdir(parents=True)
    (tmp_path / "memory.max").write_text("max\n")
    (tmp_path / "system.slice" / "job_42" / "memory.max").write_text(f"{3 * GB}\n")
    (job / "memory.max").write_text("max\n")
    assert memory.cgroup_limits(tmp_path, "0::/system.slice/job_42/step_0\n") == [3 * GB]
    v1 = tmp_path / "memory" / "docker" / "abc"
    v1.mkdir(parents=True)
    (v1 / "memory.limit_in_bytes").write_text(f"{2 * GB}\n")
    assert memory.cgroup_limits(tmp_path, "12:cpu,cpuacct:/docker/abc\n9:memory:/docker/abc\n") == [2 * GB]
    assert memory.cgroup_limits(tmp_path, "garbage\n") == []


def test_cgroup_v1_limits_above_the_group_are_found(tmp_path):
    """v1 read only the process's own group: a Slurm task's limit sits on its job, and a container's own group is
    mounted at the hierarchy's root while /proc/self/cgroup names it by its host path (review)."""
    task = tmp_path / "memory" / "slurm" / "uid_1" / "job_7" / "step_0" / "task_0"
    task.mkdir(parents=True)
    (task / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    (tmp_path / "memory" / "slurm" / "uid_1" / "job_7" / "memory.limit_in_bytes").write_text(f"{8 * GB}\n")
    found = memory.cgroup_limits(tmp_path, "4:memory:/slurm/uid_1/job_7/step_0/task_0\n")
    assert 8 * GB in found
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text(f"{4 * GB}\n")  # the container's, at the root
    assert 4 * GB in memory.cgroup_limits(tmp_path, "9:memory:/docker/0123abcd\n")


def test_the_lowest_limit_is_taken_and_no_limit_is_none(monkeypatch):
    monkeypatch.setattr(memory, "_posix_memory", lambda: 16 * GB)
    monkeypatch.setattr(memory, "cgroup_limits", lambda: [9223372036854771712, 4 * GB])  # v1's "no limit"
    assert memory.physical_memory() == 4 * GB
    monkeypatch.setattr(memory, "cgroup_limits", lambda: [9223372036854771712])
    assert memory.physical_memory() == 16 * GB


def test_an_indeterminate_page_count_is_unknown(monkeypatch):
    monkeypatch.setattr(memory.os, "sysconf", lambda name: -1 if name == "SC_PHYS_PAGES" else 4096)
    assert memory._posix_memory() is None


def test_slices_too_large_for_the_memory_are_refused_in_one_line():
    nrrn, cyclic = memory.model_bytes_per_px("nrrn"), memory.model_bytes_per_px("cyclic")
    memory.check_slice_memory((16384, 16384), nrrn, "big.tif", memory=64 * GB)  # fits 64 GB
    with pytest.raises(InputError) as caught:
        memory.check_slice_memory((16384, 16384), nrrn, "big.tif", memory=8 * GB)
    text = str(caught.value)
    assert "16384 x 16384 px" in text and "10.5 GB" in text and "use 7.2 GB (nine tenths of 8.0 GB)" in text
    assert "\n" not in text and text.endswith("Nothing was written") and "EMDENOISE_MEMORY_CHECK=off" in text
    memory.check_slice_memory((16384, 16384), cyclic, "big.tif", memory=8 * GB)  # measured 12 B/px: 4.5 GB fits
    background = memory.filter_bytes_per_px(1, True)
    with pytest.raises(InputError, match="needs about 12.6 GB") as preview:  # measured 45 B/px: 12 GB
        memory.check_slice_memory((16384, 16384), background, "big.tif", memory=8 * GB, writes=False, model=False)
    assert "Nothing was written" not in str(preview.value)
    memory.check_slice_memory((16384, 16384), memory.filter_bytes_per_px(1, False), "big.tif", memory=8 * GB,
                              model=False)  # a Gaussian on uint16: 6.4 GB


def test_float32_input_and_integer_output_need_more():
    """The figures were measured on uint16 input: a float32 16384^2 slice passed at 6.75 GB on 8 GB and needed
    8.8-9.5 GB (review)."""
    assert memory.filter_bytes_per_px(1, False, np.float32) == 35
    assert memory.filter_bytes_per_px(1, False, np.float32, np.uint16) == 39
    assert memory.filter_bytes_per_px(3, False, np.uint8) == 40 and memory.model_bytes_per_px("nrrn", np.float32) == 50
    with pytest.raises(InputError):
        memory.check_slice_memory((16384, 16384), memory.filter_bytes_per_px(1, False, np.float32), "f.mrc",
                                  memory=8 * GB, model=False)


def test_the_check_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("EMDENOISE_MEMORY_CHECK", "off")
    memory.check_slice_memory((65536, 65536), 50, "huge.tif", memory=GB)


def test_memory_that_cannot_be_read_lets_the_job_run(monkeypatch):
    monkeypatch.setattr(memory, "physical_memory", lambda: None)
    memory.check_slice_memory((65536, 65536), 50, "huge.tif")


def test_the_cli_refuses_before_writing(tmp_path, cli, monkeypatch):
    src, out = tmp_path / "a.tif", tmp_path / "o.tif"
    tifffile.imwrite(src, synthetic_em_stack(3, 64, 64, seed=1), imagej=True, metadata={"axes": "ZYX"})
    monkeypatch.setattr(memory, "physical_memory", lambda: 100 * 2**20)
    for how in (("--model", "flyem-nrrn-lite", "--device", "cpu"), ("--method", "gaussian"),
                ("--adapt", "nrrn", "--steps", "2")):
        result = cli("denoise", src, "-o", out, *how)
        assert result.code == 2 and "needs about" in result.err and "100 MB" in result.err, result.err
        assert not out.exists() and "training" not in result.err.lower().replace("self-training", "")


def test_a_block_counts_its_slices_results():
    """A block run holds its block's results until it writes them (16 slices of 2048^2: 183 B/px measured, where a
    slice job took 25): a 16 x 4096^2 float32 block needs 3.0 GB, and a block run was never checked (review)."""
    gaussian = memory.filter_bytes_per_px(1, False)
    assert memory.block_bytes_per_px(gaussian, 16, np.float32) == gaussian + 16 * 10
    assert memory.block_bytes_per_px(gaussian, 8, np.uint16) == gaussian + 8 * 6
    memory.check_slice_memory((4096, 4096), gaussian, "v.tif", memory=3 * GB, model=False)  # a slice at a time fits
    with pytest.raises(InputError) as caught:
        memory.check_block_memory((4096, 4096), 16, memory.block_bytes_per_px(gaussian, 16, np.float32), "v.tif",
                                  memory=3 * GB, model=False)
    text = str(caught.value)
    assert text.startswith("v.tif: a block of 16 slices of 4096 x 4096 px needs about 3.0 GB")
    assert "EMDenoise may use 2.7 GB (nine tenths of 3.0 GB)" in text and "\n" not in text
    with pytest.raises(InputError, match="without --scheduler") as worker:
        memory.check_block_memory((4096, 4096), 16, memory.block_bytes_per_px(gaussian, 16, np.float32), "v.tif",
                                  memory=2 * GB, worker=True, model=False)
    assert "a task of this cluster's workers may use 1.8 GB (nine tenths of 2.0 GB)" in str(worker.value)
    assert "Nothing was written" not in str(worker.value)  # a new store is removed, an old one's blocks stay


def test_block_runs_are_checked_here_and_on_the_cluster(tmp_path, cli, monkeypatch):
    """``--scheduler here`` and a cluster whose workers' memory per task is below a block's need are refused before
    any block; a store the run would make is never made, and a finished one it would replace stays where it is
    (it was moved aside first: review). A cluster whose workers say no limit is not checked against this
    computer's memory (review)."""
    distributed = pytest.importorskip("distributed")
    from emdenoise_gui.jobs.cluster import denoise_on_cluster
    from emdenoise_gui.jobs.denoise import Denoiser

    src, out = tmp_path / "a.tif", tmp_path / "o.zarr"
    tifffile.imwrite(src, synthetic_em_stack(5, 1024, 1024, seed=1), imagej=True, metadata={"axes": "ZYX"})
    assert cli("denoise", src, "-o", out, "--method", "median", "--scheduler", "here").code == 0
    finished = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.setattr(memory, "physical_memory", lambda: 200 * 2**20)  # a slice fits (153 MB), a block not (203)
    result = cli("denoise", src, "-o", out, "--method", "gaussian", "--scheduler", "here", "--overwrite")
    assert result.code == 2 and "a block of 5 slices of 1024 x 1024 px needs about" in result.err, result.err
    assert "EMDenoise may use 180 MB" in result.err and sorted(p.name for p in tmp_path.iterdir()) == finished
    monkeypatch.setattr(memory, "physical_memory", lambda: 100 * 2**20)  # not even a slice: that is said
    result = cli("denoise", src, "-o", tmp_path / "n.zarr", "--method", "gaussian", "--scheduler", "here")
    assert result.code == 2 and "its slices are 1024 x 1024 px" in result.err and "without --scheduler" not in result.err
    monkeypatch.setattr(memory, "physical_memory", lambda: 64 * GB)
    for limit, threads, refused in (("400MB", 2, True), (0, 1, False)):  # 2 blocks at once in 400 MB; no limit
        with distributed.LocalCluster(n_workers=1, threads_per_worker=threads, processes=False, dashboard_address=None,
                                      memory_limit=limit) as cluster, distributed.Client(cluster) as client:
            monkeypatch.setattr(memory, "physical_memory", lambda: 100 * 2**20)  # not this computer's memory
            run = denoise_on_cluster(src, tmp_path / "c.zarr", Denoiser("filter", "gaussian"), "local", client=client)
            if refused:
                with pytest.raises(InputError, match="a task of this cluster's workers may use 172 MB"):
                    list(run)
                assert not (tmp_path / "c.zarr").exists()
            else:
                list(run)
                assert (tmp_path / "c.zarr").is_dir()


def test_noise2void_and_xception_have_measured_figures():
    """They took 50 B/px, not measured: a 12000^2 slice with Noise2Void (measured 12-14 B/px) was refused on 8 GB."""
    memory.check_slice_memory((12000, 12000), memory.model_bytes_per_px("n2v"), "big.tif", memory=8 * GB)
    memory.check_slice_memory((12000, 12000), memory.model_bytes_per_px("xception"), "big.tif", memory=8 * GB)
    with pytest.raises(InputError):
        memory.check_slice_memory((12000, 12000), memory.model_bytes_per_px("portable"), "big.tif", memory=8 * GB)


def test_a_model_is_not_loaded_for_a_job_refused(tmp_path, cli, monkeypatch):
    """The model was loaded (a second or more, a paper-size one longer) before the refusal."""
    from emdenoise_gui.jobs import denoise

    src = tmp_path / "a.tif"
    tifffile.imwrite(src, synthetic_em_stack(3, 64, 64, seed=1), imagej=True, metadata={"axes": "ZYX"})
    monkeypatch.setattr(memory, "physical_memory", lambda: 100 * 2**20)
    loaded = []
    monkeypatch.setattr(denoise, "_predictor", lambda *a, **k: loaded.append(a) or pytest.fail("loaded"))
    result = cli("denoise", src, "-o", tmp_path / "o.tif", "--model", "flyem-nrrn-lite", "--device", "cpu")
    assert result.code == 2 and "needs about" in result.err and loaded == []
