"""``emdenoise denoise ... --project FOLDER``: a headless run's stacks and results recorded in a project, as
the app records its own, so the app opened on the project shows them."""

from pathlib import Path

import numpy as np
import pytest
import tifffile

from emdenoise_gui.cli.exits import EXIT_INPUT
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io import open_stack
from emdenoise_gui.paths import shipped_models_dir
from emdenoise_gui.project.project import Project
from tests.conftest import synthetic_em_stack


@pytest.fixture
def stacks(tmp_path) -> list[Path]:
    """a.tif (5 slices) and b.tif (3 slices), 40 x 48 px uint8, seeded."""
    paths = [tmp_path / "a.tif", tmp_path / "b.tif"]
    for seed, (path, depth) in enumerate(zip(paths, (5, 3))):
        tifffile.imwrite(path, synthetic_em_stack(depth, 40, 48, seed), imagej=True, metadata={"axes": "ZYX"})
    return paths


def test_a_new_folder_becomes_a_project_holding_the_stack_and_its_result(tmp_path, cli, stacks):
    folder = tmp_path / "P"
    result = cli("denoise", stacks[0], "--project", folder, "--method", "median", "--slices", "1:4")
    assert result.code == 0, result.err
    assert "made the project" in result.err and "recorded a_median.tif" in result.err
    project = Project.open(folder)
    (stack,), (record,) = project.stacks, project.results
    assert Path(stack.path) == stacks[0].resolve() and stack.shape == [5, 40, 48]
    assert record.stack_id == stack.id and record.kind == "filter" and record.method == "median"
    assert record.path == "results/a_median.tif" and record.slices == [1, 4]
    assert record.parameters == {"tile": 512, "stride": None, "dtype": "float32", "device": "auto"}
    with open_stack(project.absolute(record)) as written:
        assert written.shape == (3, 40, 48)


def test_a_second_run_gets_a_fresh_name_and_the_stack_is_not_added_twice(tmp_path, cli, stacks):
    folder = tmp_path / "P"
    for _ in range(2):
        assert cli("denoise", stacks[0], "--project", folder, "--method", "median").code == 0
    first = (folder / "results" / "a_median.tif").read_bytes()
    assert cli("denoise", stacks[0], "--project", folder / "project.json", "--method", "gaussian").code == 0
    project = Project.open(folder)
    assert len(project.stacks) == 1
    assert [r.path for r in project.results] == ["results/a_median.tif", "results/a_median_2.tif",
                                                 "results/a_gaussian.tif"]
    assert (folder / "results" / "a_median.tif").read_bytes() == first  # never overwritten


def test_an_output_outside_the_project_is_recorded_where_it_is(tmp_path, cli, stacks):
    folder = tmp_path / "P"
    out = tmp_path / "elsewhere.mrc"
    assert cli("denoise", stacks[1], "-o", out, "--project", folder, "--method", "median").code == 0
    (record,) = Project.open(folder).results
    assert record.path == str(out.resolve())


def test_several_stacks_with_a_model_are_recorded_by_its_card(tmp_path, cli, stacks):
    folder = tmp_path / "P"
    model = shipped_models_dir() / "flyem-nrrn-lite"
    result = cli("denoise", *stacks, "--project", folder, "--model", model, "--device", "cpu",
                 "--format", ".mrc", "--name-pattern", "{method}-{stem}")
    assert result.code == 0, result.err
    project = Project.open(folder)
    assert [Path(s.path).name for s in project.stacks] == ["a.tif", "b.tif"]
    assert [r.path for r in project.results] == ["results/flyem-nrrn-lite-a.mrc", "results/flyem-nrrn-lite-b.mrc"]
    sha = (model / "card.json").read_text().split('"weights_sha256": "')[1][:64]
    assert {(r.kind, r.method, r.model_sha256) for r in project.results} == {("model", "flyem-nrrn-lite", sha)}
    assert all(Path(r.model_path) == model for r in project.results)


@pytest.mark.parametrize("case", ["no output", "not a project", "a file", "scheduler", "bad stack"])
def test_what_cannot_be_done_is_said_in_one_line_and_nothing_is_made(tmp_path, cli, stacks, case):
    folder = tmp_path / "P"
    args = [stacks[0], "--project", folder, "--method", "median"]
    if case == "no output":
        args = [stacks[0], "--method", "median"]
    elif case == "not a project":
        folder.mkdir()
        (folder / "notes.txt").write_text("mine")
    elif case == "a file":
        folder.write_text("x")
    elif case == "scheduler":
        args += ["--scheduler", "here"]
    else:
        bad = tmp_path / "rgb.tif"
        tifffile.imwrite(bad, np.zeros((3, 16, 16), np.uint8), imagej=True)  # read as 3 channels
        args[0] = bad
    before = sorted(p.name for p in tmp_path.iterdir())
    result = cli("denoise", *args)
    assert result.code == EXIT_INPUT and result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err and sorted(p.name for p in tmp_path.iterdir()) == before
    expected = {"no output": "-o is needed", "not a project": "holds files but no EMDenoise project",
                "a file": "is a file, not a project folder", "scheduler": "--scheduler with --project needs -o",
                "bad stack": "channels"}[case]
    assert expected in result.err


def test_a_result_the_project_cannot_take_is_kept_and_said(tmp_path, cli, stacks, monkeypatch):
    folder = tmp_path / "P"
    assert cli("denoise", stacks[0], "--project", folder, "--method", "median").code == 0

    def refuse(self):
        raise InputError("cannot be written (Read-only file system); save to a new project", self.folder)

    monkeypatch.setattr(Project, "save", refuse)
    result = cli("denoise", stacks[0], "--project", folder, "--method", "gaussian")
    assert result.code == EXIT_INPUT
    assert "a_gaussian.tif was written but not recorded in the project" in result.err
    assert (folder / "results" / "a_gaussian.tif").exists()


def test_a_recorded_result_is_not_written_over(tmp_path, cli, stacks):
    """-o naming a result the project records, with --overwrite: the new file could not be recorded (audit)."""
    folder = tmp_path / "P"
    assert cli("denoise", stacks[0], "--project", folder, "--method", "median").code == 0
    first = (folder / "results" / "a_median.tif").read_bytes()
    result = cli("denoise", stacks[0], "-o", folder / "results" / "a_median.tif", "--overwrite",
                 "--project", folder, "--method", "gaussian")
    assert result.code == EXIT_INPUT and "is the result r1 of the project P already" in result.err
    assert (folder / "results" / "a_median.tif").read_bytes() == first


def test_a_project_whose_first_save_was_cut_off_is_made_anew(tmp_path, cli, stacks):
    """A kill between making results/ and the first save left a folder the same command then refused (audit)."""
    (tmp_path / "P" / "results").mkdir(parents=True)
    assert cli("denoise", stacks[0], "--project", tmp_path / "P", "--method", "median").code == 0
    assert [r.path for r in Project.open(tmp_path / "P").results] == ["results/a_median.tif"]


def test_a_relative_output_is_recorded_where_it_was_written(tmp_path, cli, stacks, monkeypatch):
    """-o is relative to the working folder; it was recorded relative to the project's (review)."""
    monkeypatch.chdir(tmp_path)
    assert cli("denoise", "a.tif", "-o", "out.tif", "--project", "P", "--method", "median").code == 0
    assert cli("denoise", "a.tif", "b.tif", "-o", "outs", "--project", "P", "--method", "median").code == 0
    recorded = [Path(Project.open(tmp_path / "P").absolute(r)) for r in Project.open(tmp_path / "P").results]
    assert recorded == [tmp_path / "out.tif", tmp_path / "outs" / "a_median.tif", tmp_path / "outs" / "b_median.tif"]
    assert all(path.exists() for path in recorded)


def test_a_project_another_run_made_meanwhile_is_recorded_in(tmp_path, stacks):
    """Two runs naming one new folder at once: the second to finish found it made and failed to record."""
    import argparse

    from emdenoise_gui.cli.recording import Recording

    recording = Recording.check(str(tmp_path / "P"))
    assert recording.new
    Project.create(tmp_path / "P")  # the other run, first
    args = argparse.Namespace(input=str(stacks[0]), dtype="float32", slices=None, tile=512, quality="fast",
                              stride=None, device="auto")
    from emdenoise_gui.jobs.denoise import Denoiser

    out = tmp_path / "P" / "results" / "x.tif"
    out.write_bytes(b"result")
    assert recording.record(args, out, Denoiser("filter", "median")).path == "results/x.tif"


def test_two_runs_recording_at_once_lose_nothing(tmp_path, stacks):
    """Two runs recording into one project at once lost a result in three tries of three (audit): each now
    reads, adds and writes under the project's lock."""
    import subprocess
    import sys

    folder = tmp_path / "P"
    Project.create(folder)
    many = []
    for k in range(6):
        path = tmp_path / f"k{k}.tif"
        path.write_bytes(stacks[k % 2].read_bytes())
        many.append(str(path))
    run = [sys.executable, "-c", "import sys; from emdenoise_gui.cli.main import main; sys.exit(main(sys.argv[1:]))"]
    procs = [subprocess.Popen(run + ["denoise", *many[k::2], "--project", str(folder), "--method", method],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for k, method in ((0, "median"), (1, "gaussian"))]
    errors = [proc.communicate(timeout=300)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], errors
    project = Project.open(folder)
    assert len(project.results) == 6 and len(project.stacks) == 6
    assert not list(folder.glob("project.other-*.json"))


def test_a_stop_while_recording_says_the_result_was_written(tmp_path, cli, stacks, monkeypatch):
    def stopped(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Project, "save", stopped)
    result = cli("denoise", stacks[0], "-o", tmp_path / "out.tif", "--project", tmp_path / "P", "--method", "median")
    assert result.code == 130 and "out.tif was written but not recorded in the project" in result.err
    assert (tmp_path / "out.tif").exists()


def test_a_run_refused_on_its_options_makes_no_project(tmp_path, cli, stacks):
    result = cli("denoise", stacks[0], "--project", tmp_path / "P", "--method", "median", "--tile", "3")
    assert result.code == EXIT_INPUT and "made the project" not in result.err
    assert not (tmp_path / "P" / "project.json").exists()
    assert cli("denoise", stacks[0], "--project", tmp_path / "P", "--method", "median").code == 0  # then it can


def test_one_stack_takes_a_format_and_a_name_pattern_in_a_project(tmp_path, cli, stacks):
    result = cli("denoise", stacks[0], "--project", tmp_path / "P", "--method", "median", "--format", ".mrc",
                 "--name-pattern", "{method}_{stem}")
    assert result.code == 0, result.err
    assert [r.path for r in Project.open(tmp_path / "P").results] == ["results/median_a.mrc"]


def test_a_new_project_whose_first_result_is_being_written_is_taken(tmp_path, cli, stacks):
    """Another run naming the same new folder was refused while the first wrote its result (review)."""
    (tmp_path / "P" / "results").mkdir(parents=True)
    (tmp_path / "P" / "results" / ".a_median.tif.1234@host-0123abcd.partial").write_bytes(b"being written")
    assert cli("denoise", stacks[1], "--project", tmp_path / "P", "--method", "median").code == 0
    assert [r.path for r in Project.open(tmp_path / "P").results] == ["results/b_median.tif"]


def test_two_runs_of_one_stack_and_method_at_once_take_different_names(tmp_path, cli, stacks):
    """A fresh name was not held on disk: a second run of the same stack and method, started while the first
    denoised, picked the same name and failed after its work ("appeared while we were writing")."""
    from emdenoise_gui.cli.recording import Recording
    from emdenoise_gui.jobs.denoise import Denoiser

    first = Recording.check(str(tmp_path / "P"))
    named = first.output_for(str(stacks[0]), Denoiser("filter", "median"), ".tif")
    assert named.name == "a_median.tif" and not named.exists()
    result = cli("denoise", stacks[0], "--project", tmp_path / "P", "--method", "median")
    assert result.code == 0, result.err
    assert [r.path for r in Project.open(tmp_path / "P").results] == ["results/a_median_2.tif"]
    first.release()  # the first run stopped: its name is free again, and nothing of it is left
    assert sorted(p.name for p in (tmp_path / "P" / "results").iterdir()) == ["a_median_2.tif"]
    assert cli("denoise", stacks[0], "--project", tmp_path / "P", "--method", "median").code == 0
    assert Project.open(tmp_path / "P").results[-1].path == "results/a_median.tif"


def test_a_failed_run_leaves_no_name_taken(tmp_path, cli, stacks, monkeypatch):
    from emdenoise_gui.cli import images

    def broken(*args, **kwargs):
        raise InputError("the disk is full")

    monkeypatch.setattr(images, "denoise_stack", broken)
    assert cli("denoise", stacks[0], "--project", tmp_path / "P", "--method", "median").code == EXIT_INPUT
    assert not (tmp_path / "P").exists()  # nor the folders made for it (paths audit)


@pytest.mark.parametrize("new", [False, True])
def test_a_project_that_cannot_be_written_is_said_before_the_denoise(tmp_path, cli, stacks, monkeypatch, new):
    """A read-only project with -o elsewhere was found out only after the denoise (project audit): now exit 2
    up front, nothing written. (Read-only is simulated: the tests may run as root.)"""
    from emdenoise_gui.core import atomic

    folder = tmp_path / "P"
    if not new:
        Project.create(folder)
    before = sorted(p.name for p in tmp_path.rglob("*"))

    def read_only(where):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic, "probe_writable", read_only)
    out = tmp_path / "elsewhere.tif"
    result = cli("denoise", stacks[0], "-o", out, "--project", folder, "--method", "median")
    assert result.code == EXIT_INPUT and "the project cannot be saved" in result.err
    assert "Permission denied" in result.err and len(result.err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.rglob("*")) == before and not out.exists()
