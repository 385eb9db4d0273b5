"""GUI tests: each is marked ``gui`` and fails if it leaves threads running or windows open.

After a test (and after pytest-qt closed the widgets it registered) the guard waits up to
``GRACE_S`` (processing events) for the threads the test started to end: Python threads,
and QThreads (job threads, and any other QThread still referenced). Then it compares
``QApplication.topLevelWidgets()`` with the list before the test: a new one still visible is
a leak. Hidden ones (closed, or Qt's own popups) are allowed. Every new parentless top-level
widget is then closed and deleted, so the next test starts clean.
"""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path

import pytest
from PySide6 import QtCore
from shiboken6 import isValid

from emdenoise_gui.gui.workers import live_jobs

GRACE_S = 5.0
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.gui)


def _running_qthreads() -> set:
    """QThreads (other than the GUI thread) whose Python wrapper exists and that run now."""
    main = QtCore.QCoreApplication.instance().thread()
    return {obj for obj in gc.get_objects()
            if issubclass(type(obj), QtCore.QThread) and obj is not main and isValid(obj) and obj.isRunning()}


#: Threads a library keeps for the life of the process, started on first use: zarr-python 3 runs its
#: I/O on one event loop ("zarr_io") with its executor's workers ("asyncio_N").
LIBRARY_THREADS = ("zarr_io", "asyncio_")


def _python_threads() -> set:
    return {t for t in threading.enumerate()
            if t.is_alive() and not isinstance(t, threading._DummyThread)  # dummies are foreign threads
            and not t.name.startswith(LIBRARY_THREADS)}


def _settle(app) -> None:
    app.processEvents()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    app.processEvents()


def _wait_for_threads(app, python_before: set, qthreads_before: set, seconds: float) -> tuple[list, list]:
    deadline = time.monotonic() + seconds
    while True:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
        python = [t for t in _python_threads() - python_before]
        jobs = [job for job in live_jobs() if job.thread_running]
        if not python and not jobs:
            qthreads = list(_running_qthreads() - qthreads_before)  # the slow scan, once calm
            if not qthreads or time.monotonic() >= deadline:
                return python, qthreads
        elif time.monotonic() >= deadline:
            return python, [job._thread for job in jobs]
        time.sleep(0.02)


@pytest.fixture(autouse=True)
def no_leaked_threads_or_windows(qapp):
    python_before, qthreads_before = _python_threads(), _running_qthreads()
    widgets_before = set(qapp.topLevelWidgets())
    yield
    python, qthreads = _wait_for_threads(qapp, python_before, qthreads_before, GRACE_S)
    if qthreads:  # stop them before any widget goes: deleting a running thread aborts the process
        for job in live_jobs():
            job.cancel()
        _wait_for_threads(qapp, python_before, qthreads_before, 60.0)
    _settle(qapp)
    new = [w for w in qapp.topLevelWidgets() if w not in widgets_before and isValid(w)]
    windows = [f"{type(w).__name__} '{w.windowTitle()}'" for w in new if w.isVisible()]
    for widget in new:
        if widget.parentWidget() is None:
            widget.close()
            widget.deleteLater()
    _settle(qapp)
    problems = ([f"Python thread still running: {t.name}" for t in python]
                + [f"QThread still running: {t.objectName() or t}" for t in qthreads]
                + [f"top-level window left open: {w}" for w in windows])
    if problems:
        pytest.fail("the test leaked:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    """A shown MainWindow with a new project, a user zoo in ``tmp_path``, warnings collected in
    ``window.warnings`` and status-bar messages in ``window.statuses`` instead of dialogs; closing
    cancels its jobs without asking and waits for them."""
    from emdenoise_gui.gui.main_window import MainWindow

    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    win = MainWindow()
    win.warnings, win.statuses = [], []
    monkeypatch.setattr(win, "warn", lambda title, text: win.warnings.append((title, text)))
    win.controller.status.connect(win.statuses.append)
    win.quit_answer = True  # closing with jobs left cancels them, never a modal question
    qtbot.addWidget(win)
    win.show()
    assert win.controller.new_project(tmp_path / "project")
    yield win
    win.force_close = True
    win.controller.cancel_all()
    for job in win.controller.jobs:
        job.wait(30000)


@pytest.fixture
def new_controller():
    """``new_controller()``: a ``Controller`` for a test that drives one without a window; when the test
    ends its jobs are stopped and its Qt side deleted (the guard above processes the deletion). Left to
    Python's collector, a bare controller was collected in some later test or at the end of the run, and
    that collection crashed the interpreter (a segfault after the last test of several GUI files)."""
    from emdenoise_gui.gui.controller import Controller

    made = []

    def make():
        made.append(Controller())
        return made[-1]

    yield make
    for controller in made:
        if isValid(controller):
            controller.shutdown_jobs(5000)
            controller.deleteLater()


def write_small_stack(source: Path, path: Path, pixel_nm: float, spacing_nm: float) -> Path:
    """The first four slices of the TIFF ``source``, 128 x 160 px from (100, 100), written to ``path`` as an
    ImageJ TIFF with ``pixel_nm`` pixels and slices ``spacing_nm`` apart: seconds to denoise on a CPU."""
    import tifffile

    data = tifffile.imread(source, key=range(4))
    tifffile.imwrite(path, data[:, 100:228, 100:260], imagej=True, resolution=(1 / pixel_nm, 1 / pixel_nm),
                     metadata={"axes": "ZYX", "spacing": spacing_nm, "unit": "nm"})
    return path


def held_rank(monkeypatch, timeout_s: float = 60.0):
    """Hold the zoo's ranking of models (after a stack's facts arrive, before the preselection) until
    the returned ``threading.Event`` is set (or ``timeout_s`` passes)."""
    from emdenoise_gui.zoo import fit as zoo_fit

    release, real = threading.Event(), zoo_fit.rank

    def held(*args, **kwargs):
        release.wait(timeout_s)
        return real(*args, **kwargs)

    monkeypatch.setattr(zoo_fit, "rank", held)
    return release
