"""Jobs run on their own thread and report back on the GUI thread; cancel and failure are clean."""

import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtCore  # noqa: E402

from emdenoise_gui.core.errors import InputError  # noqa: E402
from emdenoise_gui.core.events import Progress  # noqa: E402
from emdenoise_gui.gui.workers import Job  # noqa: E402


def _job(make):
    return Job("test", "denoise", make)


def test_results_arrive_on_the_gui_thread(qtbot):
    seen = {}

    def make(token):
        seen["worker"] = QtCore.QThread.currentThread()
        yield Progress("x", 1, 2)
        yield Progress("x", 2, 2)
        return 42

    job = _job(make)
    job.finished.connect(lambda value: seen.update(value=value, slot=QtCore.QThread.currentThread()))
    with qtbot.waitSignal(job.finished, timeout=10000):
        job.start()
    gui = QtCore.QCoreApplication.instance().thread()
    assert seen["value"] == 42 and seen["slot"] is gui and seen["worker"] is not gui
    assert job.status == "done" and job.progress == 1.0
    job.wait()


def test_cancel_and_failure(qtbot):
    def slow(token):
        while True:
            token.raise_if_cancelled()
            yield Progress("x", 0, 10)
            QtCore.QThread.msleep(10)

    job = _job(slow)
    job.start()
    qtbot.waitUntil(lambda: job.progress == 0 and job.status == "running")
    with qtbot.waitSignal(job.cancelled, timeout=10000):
        job.cancel()
    assert job.status == "cancelled"
    job.wait()

    def bad(token):
        yield Progress("x", 0, 1)
        raise InputError("the file is damaged")

    failing = _job(bad)
    with qtbot.waitSignal(failing.failed, timeout=10000) as blocker:
        failing.start()
    assert blocker.args == ["the file is damaged"] and failing.status == "failed"
    failing.wait()
