"""The project and its denoise jobs (audit of 2026-12-06): undo of an add keeps the results made since,
a result records the settings its job ran with, queued jobs get names of their own, a job that outlives
its project records its file there, and a stack dropped twice is said to be there already."""

import numpy as np
import pytest
import tifffile

pytest.importorskip("pytestqt")

from emdenoise_gui.jobs.denoise import Denoiser  # noqa: E402
from emdenoise_gui.project.project import Project  # noqa: E402

MEDIAN = Denoiser("filter", "median")


@pytest.fixture
def controller(qtbot, tmp_path, monkeypatch, new_controller):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    c = new_controller()
    c.settings.device = "cpu"
    assert c.new_project(tmp_path / "project")
    yield c
    c.cancel_all()
    for job in c.jobs:
        job.wait(30000)


def stack(tmp_path, name="a.tif"):
    data = (np.random.default_rng(0).random((8, 64, 64)) * 200).astype(np.uint8)
    tifffile.imwrite(tmp_path / name, data, photometric="minisblack")
    return tmp_path / name


def run(qtbot, job):
    qtbot.waitUntil(lambda: not job.active, timeout=60_000)
    assert job.status == "done", job.message
    job.wait(5000)
    qtbot.wait(50)  # the job's end signals reach the controller


def test_undo_and_redo_of_an_add_keep_the_results_made_since(qtbot, controller, tmp_path):
    added, _ = controller.add_paths([stack(tmp_path)])
    run(qtbot, controller.denoise([added[0].id], MEDIAN))
    results = [r.id for r in controller.project.results]
    assert len(results) == 1
    controller.undo_stack.undo()
    assert controller.project.stacks == [] and controller.project.results == []
    controller.undo_stack.redo()
    assert [s.id for s in controller.project.stacks] == [added[0].id]
    assert [r.id for r in controller.project.results] == results


def test_a_result_records_the_settings_its_job_ran_with(qtbot, controller, tmp_path):
    added, _ = controller.add_paths([stack(tmp_path)])
    controller.settings.output_dtype = "float32"
    job = controller.denoise([added[0].id], MEDIAN)
    controller.settings.output_dtype = "input"  # changed in Settings while the job runs
    controller.settings.quality = "paper"  # half-tile stride
    run(qtbot, job)
    result = controller.project.results[-1]
    assert result.parameters["dtype"] == "float32" and result.parameters["stride"] is None
    assert tifffile.imread(controller.project.absolute(result)).dtype == np.float32


def test_two_queued_jobs_on_one_stack_get_results_of_their_own(qtbot, controller, tmp_path):
    warnings = []
    controller.warning.connect(lambda title, text: warnings.append((title, text)))
    added, _ = controller.add_paths([stack(tmp_path)])
    jobs = [controller.denoise([added[0].id], MEDIAN) for _ in range(2)]  # Denoise clicked twice
    for job in jobs:
        run(qtbot, job)
    paths = [controller.project.absolute(r) for r in controller.project.results]
    assert len(paths) == 2 and len({p.name for p in paths}) == 2 and all(p.exists() for p in paths)
    assert warnings == []


def test_a_job_that_outlives_its_project_records_its_file_there(qtbot, controller, tmp_path):
    warnings = []
    controller.warning.connect(lambda title, text: warnings.append((title, text)))
    controller.settings.output_folder = str(tmp_path / "out")
    (tmp_path / "out").mkdir()
    added, _ = controller.add_paths([stack(tmp_path)])
    job = controller.denoise([added[0].id], MEDIAN)
    assert controller.new_project(tmp_path / "second")
    run(qtbot, job)
    written = tmp_path / "out" / "a_median.tif"
    assert written.exists() and warnings == []
    assert [r.path for r in Project.open(tmp_path / "project").results] == [str(written.resolve())]


def test_a_stack_dropped_again_is_said_to_be_there(qtbot, controller, tmp_path):
    lines, shown = [], []
    controller.status.connect(lines.append)
    controller.show_stack.connect(shown.append)
    path = stack(tmp_path)
    added, _ = controller.add_paths([path])
    link = tmp_path / "link.tif"
    link.symlink_to(path)
    again, rejected = controller.add_paths([link])
    assert again == [] and rejected == []
    assert lines[-1] == "a.tif is in the project already" and shown[-1] == added[0].id
