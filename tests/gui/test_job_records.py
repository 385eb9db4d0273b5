"""Which project records a denoise job's result, and what it records (audit of 2026-12-06): only the files
the job itself wrote (a failed job never claims another program's file at its output name), in the project
it was started in even after Save Project As, after that folder is opened again, or (written into its
project.json) after another project was opened."""

import threading

import numpy as np
import pytest
import tifffile

pytest.importorskip("pytestqt")

from emdenoise_gui.core.errors import InputError  # noqa: E402
from emdenoise_gui.core.events import Progress  # noqa: E402
from emdenoise_gui.jobs import denoise as denoise_jobs  # noqa: E402
from emdenoise_gui.project.project import Project  # noqa: E402
from tests.gui import test_project_jobs_audit as audit  # noqa: E402

MEDIAN, controller = audit.MEDIAN, audit.controller  # the fixture of a Controller with a new project


@pytest.fixture
def gate(monkeypatch):
    """A denoise that waits for ``gate.set()`` before its output appears; ``gate.fail``: the output
    appears (another program's file) and the job then fails, as the atomic writer does."""
    event = threading.Event()
    event.fail = False

    def denoise_stack(stack_path, output, *_args, cancel=None, region=None):
        yield Progress("denoise", 0, 1)
        assert event.wait(30)
        tifffile.imwrite(output, np.full((8, 64, 64), 7, np.uint8), photometric="minisblack")
        if event.fail:
            raise InputError("appeared while we were writing; nothing was overwritten", output)
        yield Progress("denoise", 1, 1)

    monkeypatch.setattr(denoise_jobs, "denoise_stack", denoise_stack)
    return event


def added(controller, tmp_path):
    data = (np.random.default_rng(0).random((8, 64, 64)) * 200).astype(np.uint8)
    tifffile.imwrite(tmp_path / "a.tif", data, photometric="minisblack")
    return controller.add_paths([tmp_path / "a.tif"])[0][0]


def ended(qtbot, job, status="done"):
    qtbot.waitUntil(lambda: not job.active, timeout=60_000)
    assert job.status == status, job.message
    job.wait(5000)
    qtbot.wait(50)  # the job's end signals reach the controller


def test_a_failed_job_does_not_record_the_file_another_program_wrote(qtbot, controller, tmp_path, gate):
    record = added(controller, tmp_path)
    job = controller.denoise([record.id], MEDIAN)
    gate.fail = True
    gate.set()
    ended(qtbot, job, "failed")
    assert (tmp_path / "project" / "results" / "a_median.tif").exists()  # the other program's file stays
    assert controller.project.results == []
    assert Project.open(tmp_path / "project").results == []


def test_a_result_follows_the_project_into_save_as(qtbot, controller, tmp_path, gate):
    record = added(controller, tmp_path)
    job = controller.denoise([record.id], MEDIAN)
    assert controller.save_project_as(tmp_path / "continued")
    gate.set()
    ended(qtbot, job)
    written = tmp_path / "project" / "results" / "a_median.tif"
    assert [controller.project.absolute(r) for r in controller.project.results] == [written]
    assert [r.path for r in Project.open(tmp_path / "continued").results] == [str(written.resolve())]


def test_a_result_is_recorded_in_its_folder_opened_again(qtbot, controller, tmp_path, gate):
    record = added(controller, tmp_path)
    job = controller.denoise([record.id], MEDIAN)
    assert controller.new_project(tmp_path / "other")
    assert controller.open_project(tmp_path / "project")
    gate.set()
    ended(qtbot, job)
    assert [r.path for r in controller.project.results] == ["results/a_median.tif"]
    assert [r.path for r in Project.open(tmp_path / "project").results] == ["results/a_median.tif"]


def test_a_result_of_a_closed_project_is_written_into_its_project_file(qtbot, controller, tmp_path, gate):
    lines, warnings = [], []
    controller.status.connect(lines.append)
    controller.warning.connect(lambda title, text: warnings.append((title, text)))
    record = added(controller, tmp_path)
    job = controller.denoise([record.id], MEDIAN)
    assert controller.new_project(tmp_path / "other")
    gate.set()
    ended(qtbot, job)
    assert controller.project.results == [] and warnings == []
    results = Project.open(tmp_path / "project").results
    assert [(r.path, r.stack_id, r.method) for r in results] == [("results/a_median.tif", record.id, "median")]
    assert "a_median.tif was recorded in the project project (not open here)" in lines


def test_a_closed_projects_result_is_recorded_for_its_stack_after_ids_were_renumbered(qtbot, controller, tmp_path,
                                                                                       gate):
    """Another window added a stack under the same id and took this one's in as s3: the result was recorded
    against the other window's stack (diff review, 2026-12-06)."""
    first = added(controller, tmp_path)
    other = Project.open(tmp_path / "project")  # a second window, opened now
    tifffile.imwrite(tmp_path / "x.tif", np.zeros((8, 64, 64), np.uint8), photometric="minisblack")
    (mine,), _ = controller.add_paths([tmp_path / "x.tif"])
    job = controller.denoise([mine.id], MEDIAN)
    assert controller.new_project(tmp_path / "elsewhere")  # this window's project is saved and closed
    from emdenoise_gui.core.io import open_stack

    tifffile.imwrite(tmp_path / "y.tif", np.zeros((8, 64, 64), np.uint8), photometric="minisblack")
    with open_stack(tmp_path / "y.tif") as y:
        theirs = other.add_stack(y.meta)
    assert theirs.id == mine.id  # the same id for another stack
    other.save()  # takes x.tif in, under a new id
    gate.set()
    ended(qtbot, job)
    again = Project.open(tmp_path / "project")
    names = {s.id: s.name for s in again.stacks}
    assert [(r.path, names[r.stack_id]) for r in again.results] == [("results/x_median.tif", "x.tif")]
    assert first.id in names


def test_a_queued_result_name_is_held_on_disk_until_recorded(qtbot, controller, tmp_path, gate):
    """The app held the names of its queued jobs in memory only: a CLI run (or another window) naming a result
    in the same folder meanwhile took the same name, and one of the two failed after its work."""
    record = added(controller, tmp_path)
    job = controller.denoise([record.id], MEDIAN)
    other = Project.open(tmp_path / "project")  # as `emdenoise denoise --project` reads it
    assert other.result_path(record.id, "median").name == "a_median_2.tif"
    gate.set()
    ended(qtbot, job)
    assert sorted(p.name for p in (tmp_path / "project" / "results").iterdir()) == ["a_median.tif"]
