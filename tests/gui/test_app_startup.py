"""Start-up shows the window first: the frame needs only Qt, the viewer, filters, jobs and torch come after."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtWidgets  # noqa: E402

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
#: Modules that take seconds to import on a slow machine and must wait until the window is on screen.
HEAVY = ("bm3d", "scipy.signal", "skimage", "pyqtgraph", "torch", "emdenoise_gui.core.baselines",
         "emdenoise_gui.jobs.stack", "emdenoise_gui.gui.controller")


def test_what_runs_before_the_window_is_shown_imports_nothing_heavy(tmp_path):
    """A fresh interpreter: what app.main imports before window.show() (app, main_window, settings, theme)."""
    code = ("import sys, json; import emdenoise_gui.gui.app, emdenoise_gui.gui.main_window, "
            "emdenoise_gui.gui.settings, emdenoise_gui.gui.theme, emdenoise_gui.gui.lifetime; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    env = dict(os.environ, EMDENOISE_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout) == []


def test_the_frame_is_shown_before_it_is_built(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    from emdenoise_gui.gui.main_window import MainWindow

    window = MainWindow(deferred=True)
    qtbot.addWidget(window)
    window.show()
    assert not window.is_built and not hasattr(window, "viewer") and window.controller is None
    assert "Starting EMDenoise" in window.centralWidget().text()
    window.close()  # closing while starting is allowed and quick
    assert not window.isVisible()
    window.show()
    with qtbot.waitSignal(window.built, timeout=60_000):
        window.build()
    assert window.is_built and window.centralWidget() is window.viewer and window.controller is not None
    window.build()  # once only
    assert window.controller.project is None
    qtbot.waitUntil(lambda: window.device.known, timeout=120_000)  # the probe starts once built
    assert window.device.label.text().startswith("device: ")
    assert window.viewer.pages.currentWidget() is window.viewer.placeholder  # a note, not black panes
    window.resize(1500, 950)
    qtbot.wait(100)
    assert window.grab().save(str(IMAGES / "app_no_project.png"))  # what a first start looks like
    window.force_close = True


def test_file_filter_and_settings_stay_importable_without_the_jobs():
    from emdenoise_gui.gui import settings
    from emdenoise_gui.gui.main_window import file_filter

    assert "*.mrc" in file_filter() and "*.tif" in file_filter()
    assert settings.OUTPUT_DTYPES[0] == "float32" and "fast" in settings.QUALITIES  # loaded on first use
    with pytest.raises(AttributeError):
        settings.NOT_A_SETTING  # noqa: B018
    assert isinstance(QtWidgets.QApplication.instance(), QtWidgets.QApplication)
