"""Results that ``emdenoise denoise --project`` records while the app has the project open appear in the app,
without a "project changed elsewhere" warning at its next save."""

from pathlib import Path

import pytest
import tifffile

pytest.importorskip("pytestqt")

from tests.conftest import main, synthetic_em_stack  # noqa: E402


def test_a_result_recorded_by_the_cli_appears_in_the_open_project(qtbot, window, tmp_path):
    stack = tmp_path / "cli.tif"
    tifffile.imwrite(stack, synthetic_em_stack(3, 32, 32, seed=5), imagej=True, metadata={"axes": "ZYX"})
    project = window.controller.project
    assert main(["denoise", str(stack), "--project", str(project.folder), "--method", "median"]) == 0
    qtbot.waitUntil(lambda: len(window.controller.project.results) == 1, timeout=10_000)
    (record,) = window.controller.project.results
    assert record.path == "results/cli_median.tif" and Path(window.controller.project.stacks[0].path) == stack
    assert window.project_panel.tree.topLevelItemCount() == 1
    assert window.project_panel.tree.topLevelItem(0).childCount() == 1
    assert any("recorded by another program" in text for text in window.statuses)
    assert window.controller.save() and not window.warnings
    assert not list(project.folder.glob("project.other-*.json"))


def test_a_result_on_a_share_no_watcher_reports_appears_when_the_app_is_active_again(qtbot, window, tmp_path):
    """A network share (NFS, SMB) tells no watcher of another machine's writes: what a cluster's run recorded
    was shown only after the project was opened again."""
    from PySide6 import QtCore

    watch = window.controller.project_watch
    watch._watcher.removePaths(watch._watcher.directories())  # as on a share: no change is reported
    stack = tmp_path / "cli.tif"
    tifffile.imwrite(stack, synthetic_em_stack(3, 32, 32, seed=5), imagej=True, metadata={"axes": "ZYX"})
    assert main(["denoise", str(stack), "--project", str(window.controller.project.folder), "--method",
                 "median"]) == 0
    qtbot.wait(2 * 300 + 200)
    assert window.controller.project.results == []
    app = QtCore.QCoreApplication.instance()
    app.applicationStateChanged.emit(QtCore.Qt.ApplicationState.ApplicationInactive)
    qtbot.wait(500)
    assert window.controller.project.results == []
    app.applicationStateChanged.emit(QtCore.Qt.ApplicationState.ApplicationActive)  # back from the terminal
    qtbot.waitUntil(lambda: len(window.controller.project.results) == 1, timeout=10_000)
