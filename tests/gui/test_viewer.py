"""The minimal viewer window opens real stacks, refuses bad ones with a message, saves a screenshot."""

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtWidgets  # noqa: E402

from emdenoise_gui.gui.app import ViewerWindow, main  # noqa: E402

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"


def test_opens_real_stack_and_saves_screenshot(qtbot, fibsem_crop, tmp_path):
    window = ViewerWindow()
    qtbot.addWidget(window)
    window.show()
    assert window.open_path(fibsem_crop)
    assert window.view.image.shape == (6, 96, 80)
    assert "10 nm/px" in window.statusBar().currentMessage()
    SCREENSHOTS.mkdir(exist_ok=True)
    assert window.grab().save(str(SCREENSHOTS / "viewer.png"))


def test_bad_file_shows_message_not_traceback(qtbot, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a: shown.append(a[2]))
    window = ViewerWindow()
    qtbot.addWidget(window)
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a tiff at all")
    assert not window.open_path(bad)
    assert shown and "is not a TIFF file" in shown[0]


def test_screenshot_switch(qtbot, fibsem_crop, tmp_path):
    out = tmp_path / "shot.png"
    assert main([str(fibsem_crop), "--screenshot", str(out)]) == 0
    assert out.stat().st_size > 1000
    for widget in QtWidgets.QApplication.topLevelWidgets():
        widget.close()
