"""Adding files reads their headers on a thread while the window keeps drawing: 400 headers held the GUI
thread 1.6 s, a slow network drive far longer. A header that does not come is reported, not waited for."""

import threading
import time
from pathlib import Path

import pytest
import tifffile

pytest.importorskip("pytestqt")
from PySide6 import QtCore  # noqa: E402

from emdenoise_gui.gui import controller as controller_module  # noqa: E402
from tests.conftest import synthetic_em_stack  # noqa: E402


@pytest.fixture
def files(tmp_path):
    paths = []
    for seed in range(3):
        path = tmp_path / f"s{seed}.tif"
        tifffile.imwrite(path, synthetic_em_stack(3, 40, 32, seed), imagej=True, metadata={"axes": "ZYX"})
        paths.append(path)
    return paths


def _slowed(monkeypatch, delay_s=0.0, hang_on=None, release=None):
    real = controller_module.open_stack

    def slow(path):
        if hang_on is not None and Path(path).name == hang_on:
            release.wait(30)
        time.sleep(delay_s)
        return real(path)

    monkeypatch.setattr(controller_module, "open_stack", slow)


def test_the_window_draws_while_headers_are_read(window, files, monkeypatch):
    _slowed(monkeypatch, delay_s=0.15)
    ticks = []
    timer = QtCore.QTimer(interval=20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    added, rejected = window.controller.add_paths([str(p) for p in files])
    timer.stop()
    assert [r.name for r in added] == ["s0.tif", "s1.tif", "s2.tif"] and rejected == []
    assert len(ticks) >= 5  # on the GUI thread, no timer could fire during the 0.45 s of reading
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < 0.2


def test_a_header_that_does_not_come_is_reported_and_the_others_added(window, files, monkeypatch):
    release = threading.Event()
    _slowed(monkeypatch, hang_on="s1.tif", release=release)
    monkeypatch.setattr(controller_module, "HEADER_WAIT_S", 0.5)
    try:
        added, rejected = window.controller.add_paths([str(p) for p in files])
    finally:
        release.set()
    assert [r.name for r in added] == ["s0.tif"]
    assert [p.name for p, _ in rejected] == ["s1.tif", "s2.tif"]
    assert "not read within 0 s" not in rejected[0][1] and "slow or disconnected drive" in rejected[0][1]
    assert window.warnings and "could not be added" in window.warnings[-1][1]


def test_a_project_closed_while_headers_are_read_gets_nothing(window, files, monkeypatch):
    _slowed(monkeypatch, delay_s=0.1)
    project = window.controller.project
    QtCore.QTimer.singleShot(30, window.controller.close_project)  # e.g. a quit signal, handled by a timer
    assert window.controller.add_paths([str(p) for p in files]) == ([], [])
    assert project.stacks == []
