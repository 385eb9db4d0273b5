"""Stack ids repeat: every project's first stack is s1, and a removed last stack's id is handed to the next one
added. Jobs and waits that knew a stack by its id alone went to another (job lifecycle audit of 2026-12-07): a
result recorded under the stack added after its own was removed, a preview of project A's s1 shown over
project B's s1, a Denoise waiting for the zoo's pick run on another project's stack."""

import pytest

pytest.importorskip("pytestqt")

from emdenoise_gui.project.project import Project  # noqa: E402
from tests.gui.test_fit_guard import asked, denoise_jobs, shown, sstem  # noqa: E402, F401
from tests.gui.test_project_jobs_audit import MEDIAN, controller, run, stack  # noqa: E402, F401


def test_a_result_is_not_recorded_under_the_stack_that_took_its_stacks_id(qtbot, controller, tmp_path):  # noqa: F811
    warnings = []
    controller.warning.connect(lambda title, text: warnings.append(text))
    (a, b), _ = controller.add_paths([stack(tmp_path, "a.tif"), stack(tmp_path, "b.tif")])
    job = controller.denoise([b.id], MEDIAN)
    controller.remove_stack(b.id)
    (c,), _ = controller.add_paths([stack(tmp_path, "c.tif")])
    assert c.id == b.id  # the id is handed out again
    run(qtbot, job)
    assert [r.stack_id for r in controller.project.results] == []
    assert [r.stack_id for r in Project.open(controller.project.folder).results] == []
    assert any("b.tif was removed from the project" in w for w in warnings)


def test_a_preview_of_another_projects_stack_is_not_shown(qtbot, controller, tmp_path):  # noqa: F811
    shown_previews, lines = [], []
    controller.preview_ready.connect(lambda *args: shown_previews.append(args))
    controller.status.connect(lines.append)
    (a,), _ = controller.add_paths([stack(tmp_path, "a.tif")])
    job = controller.preview(a.id, 0, MEDIAN)
    assert controller.new_project(tmp_path / "B")
    (b,), _ = controller.add_paths([stack(tmp_path, "b.tif")])
    assert b.id == a.id
    run(qtbot, job)
    assert shown_previews == [] and any("after it was removed or its project closed" in line for line in lines)


def test_a_denoise_waiting_for_the_zoos_pick_does_not_run_on_another_projects_stack(qtbot, window, sstem,  # noqa: F811
                                                                                      tmp_path, monkeypatch):
    from tests.gui.conftest import held_rank

    release = held_rank(monkeypatch)
    asked(window, monkeypatch, "anyway")
    first = shown(qtbot, window, sstem)
    assert window.denoise_command() is None  # waits for the app's pick
    assert window.controller.new_project(tmp_path / "B")
    other = tmp_path / "other.tif"
    other.write_bytes(sstem.read_bytes())
    assert shown(qtbot, window, other) == first  # s1 again, another project's
    release.set()
    qtbot.waitUntil(lambda: "Denoise not started" in window.statusBar().currentMessage(), timeout=60_000)
    qtbot.wait(300)
    assert denoise_jobs(window) == []
