"""What is on screen is saved with the project once the user settles on it, not at every click, and
never lost: a project opened, created or copied within that second gets the view first."""

import json

import pytest
import tifffile

pytest.importorskip("pytestqt")

from tests.conftest import synthetic_em_stack  # noqa: E402


@pytest.fixture
def three_stacks(window, tmp_path):
    paths = []
    for seed in range(3):
        path = tmp_path / f"s{seed}.tif"
        tifffile.imwrite(path, synthetic_em_stack(3, 48, 40, seed), imagej=True, metadata={"axes": "ZYX"})
        paths.append(path)
    window.controller.add_paths([str(p) for p in paths])
    return [s.id for s in window.controller.project.stacks]


def _counting_saves(window, monkeypatch) -> list:
    project, calls = window.controller.project, []
    real = project.save
    monkeypatch.setattr(project, "save", lambda wait_s=None: (calls.append(1), real(wait_s))[1])
    return calls


def _saved_view(folder) -> dict:
    return json.loads((folder / "project.json").read_text())["view"]


def test_browsing_stacks_saves_the_project_once_after_the_last(window, qtbot, three_stacks, monkeypatch):
    saves = _counting_saves(window, monkeypatch)
    for stack_id in [*three_stacks, three_stacks[1]]:
        window.show_stack(stack_id)
    assert saves == []  # each click used to write project.json (22 ms at 400 stacks, an fsync each)
    qtbot.waitUntil(lambda: len(saves) == 1, timeout=5000)
    assert _saved_view(window.controller.project.folder)["stack_id"] == three_stacks[1]
    qtbot.wait(1300)
    assert len(saves) == 1


def test_a_view_held_back_goes_into_its_project_before_another_opens(window, tmp_path, three_stacks):
    first = window.controller.project.folder
    window.show_stack(three_stacks[2])
    window.controller.save()  # an unrelated save: the view is not in it yet
    assert _saved_view(first)["stack_id"] != three_stacks[2]
    window.flush_view()
    assert _saved_view(first)["stack_id"] == three_stacks[2]
    window.show_stack(three_stacks[0])
    assert window.open_project(first)  # reopening runs the flush first, then restores what it saved
    assert window.controller.project.view.stack_id == three_stacks[0]
    assert not window._save_view_timer.isActive()  # the restored view is the saved one: nothing to write


def test_save_as_copies_the_view_on_screen(window, tmp_path, three_stacks, monkeypatch):
    from PySide6 import QtWidgets

    window.show_stack(three_stacks[1])
    target = tmp_path / "copy"
    target.mkdir()
    monkeypatch.setattr(QtWidgets.QFileDialog, "getExistingDirectory", lambda *a, **k: str(target))
    window.save_as_dialog()
    assert window.controller.project.folder == target
    assert _saved_view(target)["stack_id"] == three_stacks[1]


def test_closing_the_window_saves_the_view_held_back(window, qtbot, three_stacks):
    folder = window.controller.project.folder
    window.show_stack(three_stacks[2])
    window.close()
    assert _saved_view(folder)["stack_id"] == three_stacks[2]


def test_a_change_of_contrast_zoom_tool_or_line_is_saved_once_the_user_settles(window, qtbot, three_stacks,
                                                                               monkeypatch):
    """Only a slice or another stack started the timer (viewer audit): a crash lost the contrast, zoom, line and
    tools the user had set, and reopened with High-pass on after it had been switched off."""
    window.show_stack(three_stacks[0])
    window.flush_view()
    saves = _counting_saves(window, monkeypatch)
    folder, viewer = window.controller.project.folder, window.viewer
    viewer.high_pass_action.trigger()
    qtbot.waitUntil(lambda: len(saves) == 1, timeout=5000)
    assert _saved_view(folder)["viewer"]["high_pass"] is True
    viewer.high_pass_action.trigger()
    viewer.zoom(2.0)
    viewer.set_line_points((5.0, 4.0), (30.0, 20.0))
    viewer.measure_panel.line.finished.emit()  # as when the user lets go of the line
    qtbot.waitUntil(lambda: len(saves) == 2, timeout=5000)
    saved = _saved_view(folder)["viewer"]
    assert saved["high_pass"] is False and saved["line"] == [[5.0, 4.0], [30.0, 20.0]]
    assert saved["view_rect"][2] < 30  # zoomed in on the 40 px wide slice
    viewer.contrast.histogram.item.sigLevelChangeFinished.emit(viewer.contrast.histogram.item)
    qtbot.wait(1300)
    assert len(saves) == 2  # the same view: project.json not written again for nothing
