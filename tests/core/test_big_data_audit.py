"""What the big-data audit of 2026-12-07 found: a job that computed until the disk filled and then removed
its work, an OME-Zarr volume in 3-D chunks decoded whole for each of its slices."""

from collections import namedtuple

import numpy as np
import pytest

from emdenoise_gui.core.io import omezarr, open_stack
from tests.conftest import main

zarr = pytest.importorskip("zarr")
Usage = namedtuple("Usage", "total used free")


def test_an_output_the_disk_cannot_hold_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    import shutil

    import tifffile

    src = tmp_path / "in.tif"
    tifffile.imwrite(src, np.zeros((4, 256, 256), np.uint16), imagej=True, metadata={"axes": "ZYX"})
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(10**9, 10**9 - 1000, 1000))
    assert main(["denoise", str(src), "-o", str(tmp_path / "out.tif"), "--method", "gaussian"]) == 2
    err = capsys.readouterr().err
    assert "the disk has too little space: 1.0 MB needed, under 0.1 MB free on the disk holding" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]
    # an MRC stores 8-bit pixels as 16-bit: twice the bytes (review); 0.25 MB of uint8, 0.4 MB free
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(10**9, 10**9 - 400_000, 400_000))
    assert main(["denoise", str(src), "-o", str(tmp_path / "out.mrc"), "--method", "gaussian", "--dtype",
                 "uint8"]) == 2
    assert "0.5 MB needed" in capsys.readouterr().err
    monkeypatch.setattr(shutil, "disk_usage", real)
    assert main(["denoise", str(src), "-o", str(tmp_path / "out.tif"), "--method", "gaussian"]) == 0


def _chunked(path, data, chunks):
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    axes = [{"name": a, "type": "space", "unit": "nanometer"} for a in "zyx"]
    group.attrs["ome"] = {"version": "0.5", "multiscales": [{"axes": axes, "datasets": [
        {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 1]}]}]}]}
    group.create_array("0", shape=data.shape, chunks=chunks, dtype=data.dtype)[:] = data
    return path


def test_slices_of_deep_chunks_are_decoded_once_a_slab(tmp_path, monkeypatch):
    data = np.random.default_rng(0).integers(0, 4000, (20, 40, 48)).astype(np.uint16)
    path = _chunked(tmp_path / "c.zarr", data, (8, 16, 16))
    with open_stack(path) as stack:
        reader = stack._reader
        reads = []
        real = type(reader.array).__getitem__
        monkeypatch.setattr(type(reader.array), "__getitem__", lambda a, i: reads.append(i) or real(a, i))
        for z in [*range(20), *range(19, -1, -1), 5, 17]:
            assert np.array_equal(stack[z], data[z])
        assert len(reads) <= 3 * 3  # the three slabs of 8, 8 and 4 slices, each decoded at most a few times
    monkeypatch.setattr(omezarr, "SLAB_BYTES", 2 * 40 * 48 * 2)  # two slices a slab: aligned parts of a chunk
    with open_stack(path) as stack:
        assert all(np.array_equal(stack[z], data[z]) for z in (7, 6, 9, 8, 19))
        assert stack._reader._slab_of(7) == (6, 8) and stack._reader._slab_of(19) == (18, 20)


def test_a_block_run_stopped_by_a_full_disk_says_what_was_kept(tmp_path, capsys, monkeypatch):
    """It said "the blocks finished so far are kept" when the disk could not hold one: none were."""
    import errno

    import tifffile

    src = tmp_path / "in.tif"
    tifffile.imwrite(src, np.zeros((4, 64, 64), np.uint8), imagej=True, metadata={"axes": "ZYX"})
    real = zarr.Array.__setitem__

    def full(array, index, value):
        if array.shape == (4, 64, 64):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(array, index, value)

    monkeypatch.setattr(zarr.Array, "__setitem__", full)
    out = tmp_path / "out.zarr"
    assert main(["denoise", str(src), "-o", str(out), "--method", "gaussian", "--scheduler", "here"]) == 2
    err = capsys.readouterr().err
    assert "the disk is full" in err and "no block was finished: out.zarr holds only its layout" in err
    assert "finished so far are kept" not in err


ALLOC = ("[enforce fail at alloc_cpu.cpp:127] data. DefaultCPUAllocator: can't allocate memory: you tried to "
         "allocate 8589934592 bytes. Error code 12 (Cannot allocate memory)")


@pytest.mark.parametrize("error, said", [(RuntimeError(ALLOC), "error: out of memory"),
                                         (RuntimeError("a bug"), "internal error: RuntimeError: a bug")])
def test_the_cpu_running_out_of_memory_is_no_internal_error(tmp_path, capsys, monkeypatch, error, said):
    """torch raises a RuntimeError when the CPU's allocator fails: it was "internal error ... please report it"
    (device audit of 2026-12-07)."""
    import tifffile

    from emdenoise_gui.cli import info

    src = tmp_path / "in.tif"
    tifffile.imwrite(src, np.zeros((2, 32, 32), np.uint8), imagej=True, metadata={"axes": "ZYX"})

    def fail(name):
        raise error

    monkeypatch.setattr(info, "_info", fail)
    assert main(["info", str(src)]) == 1
    assert said in capsys.readouterr().err


def test_the_app_says_out_of_memory_for_torchs_allocation_failure():
    pytest.importorskip("PySide6")
    from emdenoise_gui.gui.workers import OUT_OF_MEMORY, JobFailure

    failure = JobFailure.capture(RuntimeError(ALLOC))
    assert not failure.internal and failure.message == OUT_OF_MEMORY
    assert JobFailure.capture(RuntimeError("a bug")).internal


def test_a_batch_goes_on_past_a_stack_the_cpus_memory_could_not_hold(tmp_path, capsys, monkeypatch):
    """torch's allocator RuntimeError stopped the whole batch, where a MemoryError let it go on (review)."""
    import tifffile

    from emdenoise_gui.cli import images

    for name in ("a.tif", "b.tif"):
        tifffile.imwrite(tmp_path / name, np.zeros((2, 32, 32), np.uint8), imagej=True, metadata={"axes": "ZYX"})
    real = images.denoise_job

    def first_fails(one, denoiser):
        if one.input.endswith("a.tif"):
            raise RuntimeError(ALLOC)
        return real(one, denoiser)

    monkeypatch.setattr(images, "denoise_job", first_fails)
    out = tmp_path / "out"
    code = main(["denoise", str(tmp_path / "a.tif"), str(tmp_path / "b.tif"), "-o", str(out), "--method", "gaussian"])
    err = capsys.readouterr().err
    assert code == 2 and "out of memory" in err and [p.name for p in out.glob("*.tif")] == ["b_gaussian.tif"]


def test_a_filter_preview_has_one_bar(tmp_path):
    import tifffile

    from emdenoise_gui.core.events import Progress
    from emdenoise_gui.jobs.denoise import Denoiser, preview

    src = tmp_path / "big.tif"
    tifffile.imwrite(src, np.random.default_rng(0).integers(0, 255, (3, 700, 700), np.uint8), imagej=True,
                     metadata={"axes": "ZYX"})
    from tests.jobs.test_preview_visible import drain

    events, _ = drain(preview(str(src), 1, Denoiser("filter", "median"), 256, None, visible=(300, 400, 300, 400)))
    bar = [e for e in events if isinstance(e, Progress)]
    assert len({e.total for e in bar}) == 1 and [e.done for e in bar] == sorted(e.done for e in bar)
    assert bar[0].stage == "preview (on screen)" and bar[-1].done == bar[-1].total > 1
