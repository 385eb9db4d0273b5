"""More bad input: export destinations, damaged checkpoints, --steps 0, a binary cluster config.
Each is refused with exit 2 and one line saying what is wrong, never an internal error."""

import os
import signal

import pytest
import tifffile
import torch

from emdenoise_gui.cli.main import main
from emdenoise_gui.training.checkpoint import STATE_JSON, STATE_TENSORS, save_checkpoint
from tests.conftest import synthetic_em_stack


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _run(capsys, *args):
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    return code, err


def _stack(tmp_path):
    path = tmp_path / "good.tif"
    tifffile.imwrite(path, synthetic_em_stack(3, 64, 64, seed=1), imagej=True, metadata={"axes": "ZYX"})
    return path


def _missing_folder(tmp_path):
    return tmp_path / "nodir" / "e.zip"


def _parent_is_a_file(tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    return tmp_path / "afile" / "e.zip"


@pytest.mark.parametrize("fmt", ["emdenoise", "bioimageio"])
@pytest.mark.parametrize("where", [_missing_folder, _parent_is_a_file])
def test_export_into_a_folder_that_cannot_take_it(capsys, tmp_path, home, fmt, where):
    destination = where(tmp_path)
    code, err = _run(capsys, "zoo", "export", "flyem-nrrn-lite", destination, "--format", fmt)
    assert code == 2, err
    assert "internal error" not in err and len(err.strip().splitlines()) == 1
    assert str(destination) in err and "choose a folder you can write to" in err
    assert not destination.exists()


def test_export_over_a_folder_is_refused(capsys, tmp_path, home):
    (tmp_path / "x.zip").mkdir()
    code, err = _run(capsys, "zoo", "export", "flyem-nrrn-lite", tmp_path / "x.zip", "--overwrite")
    assert code == 2 and "is a folder" in err, err
    assert (tmp_path / "x.zip").is_dir()


def test_resume_dot_names_the_folder(capsys, tmp_path, home, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = _run(capsys, "resume", ".")
    assert code == 2, err
    assert f"{tmp_path}: is not a training checkpoint" in err
    code, err = _run(capsys, "resume", tmp_path / "gone.checkpoint")  # "is not a training checkpoint" before
    assert code == 2 and f"{tmp_path / 'gone.checkpoint'}: not found" in err and len(err.splitlines()) == 1


def test_resume_goes_on_on_the_device_asked_for(capsys, tmp_path, home, monkeypatch):
    from emdenoise_gui.core.errors import InputError
    from emdenoise_gui.jobs import train as jobs_train

    asked = []

    def resume_job(checkpoint, steps=None, device=None):
        asked.append((str(checkpoint), steps, device))
        raise InputError("stopped here")

    monkeypatch.setattr(jobs_train, "resume_job", resume_job)
    assert _run(capsys, "resume", tmp_path / "r.checkpoint", "--device", "cpu")[0] == 2
    assert _run(capsys, "resume", tmp_path / "r.checkpoint", "--steps", "9")[0] == 2
    assert asked == [(str(tmp_path / "r.checkpoint"), None, "cpu"), (str(tmp_path / "r.checkpoint"), 9, None)]


def _checkpoint(tmp_path):
    return save_checkpoint(tmp_path / "run.checkpoint", {"step": 2, "spec": {}, "w": torch.zeros(8)})


def test_resume_a_checkpoint_with_truncated_tensors(capsys, tmp_path, home):
    folder = _checkpoint(tmp_path)
    (folder / STATE_TENSORS).write_bytes(b"")
    code, err = _run(capsys, "resume", folder)
    assert code == 2, err
    assert f"{STATE_TENSORS} is damaged or truncated" in err and "start the run again" in err


def test_resume_a_checkpoint_with_corrupt_json(capsys, tmp_path, home):
    folder = _checkpoint(tmp_path)
    (folder / STATE_JSON).write_text('{"__dict__": [[')
    code, err = _run(capsys, "resume", folder)
    assert code == 2, err
    assert f"{STATE_JSON} is damaged" in err and "not a training checkpoint" not in err


def test_resume_from_inside_the_checkpoint_folder(capsys, tmp_path, home, monkeypatch):
    """`cd run.checkpoint && emdenoise resume .` finishes the run (the folder keeps its name)."""
    from emdenoise_gui.training import engine

    real_train = engine.train

    def stopped(spec, cancel=None, _resume_state=None):
        for event in real_train(spec, cancel, _resume_state):
            yield event
            if _resume_state is None and type(event).__name__ == "StepDone" and event.step == 2:
                os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, delivered mid-run

    monkeypatch.setattr(engine, "train", stopped)
    out = tmp_path / "m"
    code, err = _run(capsys, "train", "n2v", "--noisy", _stack(tmp_path), "--steps", "4", "--crop", "32",
                     "--batch-size", "2", "--device", "cpu", "--validate-every", "2", "--checkpoint-every", "2",
                     "-o", out)
    assert code == 130 and "emdenoise resume" in err, err
    checkpoint = err.strip().splitlines()[-1].split()[-1]
    monkeypatch.setattr(engine, "train", real_train)
    monkeypatch.chdir(checkpoint)
    code, err = _run(capsys, "resume", ".")
    assert code in (0, 3), err  # 3: the four-step model failed its held-back check (said; it is written)
    assert out.is_dir()


def test_adapt_with_zero_steps_is_refused(capsys, tmp_path, home, monkeypatch):
    from emdenoise_gui.jobs import train

    def no_training(spec):
        raise AssertionError(f"a {spec.steps}-step run was started")

    monkeypatch.setattr(train, "train_job", no_training)
    code, err = _run(capsys, "denoise", _stack(tmp_path), "-o", tmp_path / "out.tif", "--adapt", "n2v",
                     "--steps", "0", "--device", "cpu")
    assert code == 2, err
    assert "--steps must be at least 1" in err
    assert not (tmp_path / "out.tif").exists()


@pytest.mark.parametrize("extra", [[], ["--print-job-script"]])
def test_binary_cluster_config_is_refused(capsys, tmp_path, home, extra):
    stack = _stack(tmp_path)
    code, err = _run(capsys, "denoise", stack, "-o", tmp_path / "out.zarr", "--scheduler", "slurm",
                     "--cluster-config", stack, *extra)
    assert code == 2, err
    assert f"{stack}: is not a YAML text file" in err
    assert not (tmp_path / "out.zarr").exists()


def test_small_wordings(capsys, tmp_path, home):
    """An existing export destination names --overwrite; --print-job-script without --scheduler no longer
    says '(got None)'."""
    (tmp_path / "e.zip").write_bytes(b"old")
    code, err = _run(capsys, "zoo", "export", "flyem-nrrn-lite", tmp_path / "e.zip")
    assert code == 2 and "choose another name or pass --overwrite" in err
    assert (tmp_path / "e.zip").read_bytes() == b"old"
    code, err = _run(capsys, "denoise", _stack(tmp_path), "-o", tmp_path / "o.zarr", "--print-job-script")
    assert code == 2 and "(got no --scheduler)" in err and "None" not in err, err


@pytest.mark.parametrize("stop", [name for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)])
def test_sigterm_mid_run_removes_the_temporary_output_and_says_so(capsys, tmp_path, monkeypatch, stop):
    """`kill` (or a cluster's time limit) left a hidden .partial file in the output folder until the next run
    there; it now ends the run as Ctrl-C does, and so does a closed terminal (SIGHUP: the partial stayed, with
    no word). The previous handler is back afterwards."""
    stop = getattr(signal, stop)
    from emdenoise_gui.core.io.writer import StackWriter

    real_write, written = StackWriter.write, []

    def write(self, z, data):
        real_write(self, z, data)
        written.append(z)
        if len(written) == 1:
            os.kill(os.getpid(), stop)

    monkeypatch.setattr(StackWriter, "write", write)
    before = signal.getsignal(stop)
    source = _stack(tmp_path)
    code, err = _run(capsys, "denoise", source, "-o", tmp_path / "out.tif", "--method", "gaussian")
    assert code == 130 and "cancelled; nothing was written" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name]  # no output, no .partial
    assert signal.getsignal(stop) == before


def test_a_command_that_prints_its_result_refuses_a_closed_stdout(capsys, monkeypatch):
    """`emdenoise filters >&-` printed nothing and exited 0 (Python sets sys.stdout to None)."""
    monkeypatch.setattr("sys.stdout", None)
    code, err = _run(capsys, "filters")
    assert code == 2 and "standard output is closed" in err and err.count("\n") == 1


def test_results_printed_to_a_full_disk_are_one_line_not_an_internal_error(capsys, monkeypatch):
    """`emdenoise filters > /dev/full` said "internal error ... please report it"."""
    import errno
    import io

    class Full(io.StringIO):
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

        def fileno(self):
            raise io.UnsupportedOperation("not a real file")

    monkeypatch.setattr("sys.stdout", Full())
    code, err = _run(capsys, "filters")
    assert code == 2 and "the disk is full" in err and "internal error" not in err and err.count("\n") == 1


def test_a_command_that_writes_files_runs_with_stdout_closed(capsys, monkeypatch, tmp_path):
    """A scheduler may start a job with fd 1 closed: zoo export (a file) ran as ever, only listings refuse."""
    monkeypatch.setattr("sys.stdout", None)
    code, err = _run(capsys, "zoo", "export", "flyem-nrrn-lite", tmp_path / "m.zip")
    assert code == 0 and (tmp_path / "m.zip").exists(), err
    code, err = _run(capsys, "zoo", "list")
    assert code == 2 and "zoo list prints its result" in err


def test_convert_of_a_stack_with_nan_says_it_is_the_input_not_a_model(tmp_path, capsys, home):
    """``convert`` said "slice 1 of the result holds NaN ...: the model does not fit this data" (I/O audit)."""
    data = synthetic_em_stack(4, 32, 32, seed=2).astype("float32")
    data[1, 5, 6] = float("nan")
    path, out = tmp_path / "nan.tif", tmp_path / "out.mrc"
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "ZYX"})
    code, err = _run(capsys, "convert", path, out)
    assert code == 2 and "slice 1 has 1 NaN or infinite pixels" in err and "model" not in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
