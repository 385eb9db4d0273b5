"""A write the system refuses (a disk error, a quota, a file too large, a name too long) is one line and exit 2,
like a full disk, never "internal error ... please report it"; the previous file survives it, nothing half-written
is left, and a result is flushed to the disk before it takes its final name (audit of 2026-12-06)."""

from __future__ import annotations

import errno

import numpy as np
import pytest
import tifffile

from emdenoise_gui.cli.main import main
from emdenoise_gui.core import atomic
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io import omezarr, writer
from emdenoise_gui.jobs import blocks
from emdenoise_gui.training import checkpoint
from tests.conftest import synthetic_em_stack
from tests.jobs.test_blocks import fail_after_the_first_block

EIO = OSError(errno.EIO, "Input/output error")


def _stack(path, seed=1):
    tifffile.imwrite(path, synthetic_em_stack(3, 48, 40, seed=seed), imagej=True, metadata={"axes": "ZYX"})
    return path


def _run(capsys, *args):
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def _fail_writes_to(monkeypatch, name_part: str, exc: OSError = EIO):
    """Every slice written to a staging file whose name holds ``name_part`` fails with ``exc``."""
    write = writer.RawFileSink.write

    def failing(self, z, data):
        if name_part in self.path.name:
            raise exc
        return write(self, z, data)

    monkeypatch.setattr(writer.RawFileSink, "write", failing)


@pytest.mark.parametrize("error, words", [(EIO, "input/output error"),
                                          (OSError(errno.EFBIG, "File too large"), "larger than this file system"),
                                          (OSError(getattr(errno, "EDQUOT", 122), "Disk quota exceeded"), "quota")])
def test_a_refused_write_is_one_line_and_the_old_result_survives(tmp_path, capsys, monkeypatch, error, words):
    source = _stack(tmp_path / "in.tif")
    out = tmp_path / "out.tif"
    assert main(["denoise", str(source), "-o", str(out), "--method", "median"]) == 0
    before = out.read_bytes()
    _fail_writes_to(monkeypatch, "out.tif", error)
    code, err = _run(capsys, "denoise", source, "-o", out, "--method", "gaussian", "--overwrite")
    assert code == 2 and "internal error" not in err and err.count("\n") == 1, err
    assert str(out) in err and words in err.lower() and "Nothing was written" in err
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif", "out.tif"]  # no staging file left


def test_a_failure_as_an_ome_zarr_store_is_finished_names_the_result(tmp_path, capsys, monkeypatch):
    """It printed "the output could not be written: the disk is full" with no path."""
    source = _stack(tmp_path / "in.tif")

    def finish(self, stats, count):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(omezarr.Sink, "finish", finish)
    code, err = _run(capsys, "denoise", source, "-o", tmp_path / "out.zarr", "--method", "gaussian")
    assert code == 2 and err.count("\n") == 1 and str(tmp_path / "out.zarr") in err and "the disk is full" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]


def test_a_disk_error_on_one_stack_of_several_does_not_end_the_batch(tmp_path, capsys, monkeypatch):
    inputs = [_stack(tmp_path / f"{name}.tif", seed) for seed, name in enumerate("abc")]
    _fail_writes_to(monkeypatch, "b_gaussian")
    code, err = _run(capsys, "denoise", *inputs, "-o", tmp_path / "out", "--method", "gaussian")
    assert code == 2 and "internal error" not in err and "input/output error" in err.lower()
    assert sorted(p.name for p in (tmp_path / "out").glob("*.tif")) == ["a_gaussian.tif", "c_gaussian.tif"]


def test_a_results_folder_name_too_long_is_one_line(tmp_path, capsys):
    inputs = [_stack(tmp_path / f"{name}.tif", seed) for seed, name in enumerate("ab")]
    code, err = _run(capsys, "denoise", *inputs, "-o", tmp_path / ("x" * 300), "--method", "gaussian")
    assert code == 2 and "internal error" not in err and err.count("\n") == 1 and "too long" in err


def test_a_result_is_flushed_to_the_disk_before_it_takes_its_name(tmp_path, monkeypatch):
    """Results, zoo packages and zips were renamed into place unflushed: after a power cut the final name
    could hold an empty file, an --overwrite's old result lost."""
    source = _stack(tmp_path / "in.tif")
    flushed = []
    fsync_tree = atomic.fsync_tree

    def recording(path):
        flushed.append((path.name, (tmp_path / "out.tif").exists()))
        fsync_tree(path)

    monkeypatch.setattr(atomic, "fsync_tree", recording)
    assert main(["denoise", str(source), "-o", str(tmp_path / "out.tif"), "--method", "gaussian"]) == 0
    assert len(flushed) == 1 and flushed[0][0].startswith(".out.tif.") and flushed[0][1] is False


def test_a_flushed_folder_flushes_every_file_in_it(tmp_path, monkeypatch):
    import os

    (tmp_path / "store" / "deep").mkdir(parents=True)
    for name in ("a", "deep/b", "deep/c"):
        (tmp_path / "store" / name).write_bytes(b"x")
    calls = []
    fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), fsync(fd)))
    atomic.fsync_tree(tmp_path / "store")
    assert len(calls) >= 3  # the three files (and, on POSIX, the two folders)


def test_a_checkpoint_the_disk_refuses_keeps_the_previous_one(tmp_path, monkeypatch):
    folder = tmp_path / "run.checkpoint"
    checkpoint.save_checkpoint(folder, {"step": 1})

    def failing(*_a, **_k):
        raise EIO

    monkeypatch.setattr(checkpoint, "_write_state", failing)
    with pytest.raises(InputError, match=r"checkpoint cannot be written \(Input/output error\).*; the previous "
                                         r"checkpoint is kept"):
        checkpoint.save_checkpoint(folder, {"step": 2})
    assert checkpoint.load_checkpoint(folder)["step"] == 1


def test_a_block_run_the_disk_stops_keeps_its_blocks_and_says_so(tmp_path, capsys, monkeypatch):
    """A raw OSError from a block went out as an internal error; the unfinished store and the old result set
    aside were not mentioned."""
    source = tmp_path / "in.tif"
    tifffile.imwrite(source, np.random.default_rng(0).integers(0, 4000, (40, 32, 32), dtype=np.uint16),
                     imagej=True, metadata={"axes": "ZYX"})
    out = tmp_path / "out.zarr"
    assert main(["denoise", str(source), "-o", str(out), "--method", "median", "--scheduler", "here"]) == 0
    capsys.readouterr()
    block_slices = fail_after_the_first_block(monkeypatch, EIO)
    args = ["denoise", source, "-o", out, "--method", "gaussian", "--scheduler", "here", "--overwrite"]
    code, err = _run(capsys, *args)
    assert code == 2 and err.count("\n") == 1 and "internal error" not in err, err
    assert "input/output error" in err.lower() and "kept in out.zarr" in err
    assert f"kept as {blocks.previous_path(out).name}" in err
    monkeypatch.setattr(blocks, "block_slices", block_slices)
    assert main([str(a) for a in args]) == 0 and not blocks.previous_path(out).exists()


def test_a_model_name_too_long_for_the_training_lock_is_one_line(tmp_path):
    """The lock's name adds ".NAME.training" to the package's: a 250-character name failed as an internal error."""
    from emdenoise_gui.training.run_lock import training_lock

    with pytest.raises(InputError, match="the name is too long"):
        with training_lock(tmp_path / ("x" * 250)):
            pass


def test_a_long_message_keeps_its_advice(capsys):
    """A 300-character path cut the end of the line, where it says what to do."""
    from emdenoise_gui.cli.exits import one_line

    line = one_line("/data/" + "x" * 500 + ": cannot be written: choose a shorter name")
    assert len(line) == 400 and line.startswith("/data/xxx") and line.endswith("choose a shorter name")


def test_a_copy_that_failed_is_told_by_its_first_reason_not_as_a_list():
    """A zoo import onto a failing disk printed shutil's list of (source, destination, reason) tuples, with the
    hidden staging path in it."""
    import shutil
    from pathlib import Path

    failed = shutil.Error([("/a/weights", "/zoo/.m.1@h-0.partial/weights", "[Errno 5] Input/output error: '/zoo/x'")])
    problem = atomic.write_failure(failed, 0, Path("/zoo/m")).problem
    assert problem.startswith("cannot be written (Input/output error): the disk reported") and ".partial" not in problem


def test_a_library_that_reports_the_system_error_in_words_is_understood(tmp_path, monkeypatch):
    """safetensors raises its own error, "... (os error 27)", not an OSError: a checkpoint or package the disk
    refused went out as an internal error (review of 2026-12-06)."""
    from pathlib import Path

    class SafetensorLike(Exception):
        pass

    too_large = SafetensorLike("Error while serializing: I/O error: File too large (os error 27)")
    assert "larger than this file system" in atomic.write_failure(too_large, 0, Path("/x")).problem
    folder = tmp_path / "run.checkpoint"
    checkpoint.save_checkpoint(folder, {"step": 1})

    def failing(*_a, **_k):
        raise too_large

    monkeypatch.setattr(checkpoint, "_write_state", failing)
    with pytest.raises(InputError, match="larger than this file system.*the previous checkpoint is kept"):
        checkpoint.save_checkpoint(folder, {"step": 2})


def test_a_name_taken_or_a_lost_cluster_is_left_to_the_caller():
    """A model of the same name imported meanwhile (ENOTEMPTY at the rename) has its own message in the zoo;
    a cluster that stopped answering is no disk problem."""
    from pathlib import Path

    for exc in (OSError(errno.ENOTEMPTY, "Directory not empty"), ConnectionRefusedError(errno.ECONNREFUSED, "x"),
                OSError("Timed out trying to connect to tcp://10.0.0.5:8786 after 30 s")):
        assert atomic.write_failure(exc, 0, Path("/x")) is None


def test_a_folder_of_many_files_is_flushed_at_once(tmp_path, monkeypatch):
    import os

    for k in range(5):
        (tmp_path / f"c{k}").write_bytes(b"x")
    calls = []
    monkeypatch.setattr(atomic, "MANY_FILES", 2)
    monkeypatch.setattr(atomic, "_flush_file_system", lambda folder: calls.append("syncfs") or True)
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append("fsync"))
    atomic.fsync_tree(tmp_path)
    assert calls[0] == "syncfs" and calls.count("syncfs") == 1 and len(calls) <= 2  # then the folder itself
    calls.clear()
    monkeypatch.setattr(atomic, "_flush_file_system", lambda folder: False)  # no syncfs: file by file
    atomic.fsync_tree(tmp_path)
    assert calls.count("fsync") >= 5


def test_syncfs_runs_here_where_linux_has_it(tmp_path):
    import sys

    (tmp_path / "a").write_bytes(b"x")
    assert atomic._flush_file_system(tmp_path) == sys.platform.startswith("linux")


def test_an_output_that_cannot_be_started_is_one_line_whatever_the_error(tmp_path, capsys, monkeypatch):
    """An OSError with no errno when the output is created stayed a one-line 'cannot be written' (it did before
    write_failure; a name taken is no write failure, and must not become an internal error here)."""
    source = _stack(tmp_path / "in.tif")

    def refused(*_a, **_k):
        raise OSError("the staging file could not be made")

    monkeypatch.setattr(writer, "_open_sink", refused)
    code, err = _run(capsys, "denoise", source, "-o", tmp_path / "out.tif", "--method", "gaussian")
    assert code == 2 and "internal error" not in err and "cannot be written (the staging file" in err
