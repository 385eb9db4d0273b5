"""Jobs run on their own thread and report back on the GUI thread; cancel and failure are clean;
the queue runs device jobs one at a time and filters beside them."""

import threading
import time
from types import SimpleNamespace

import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtCore  # noqa: E402

from emdenoise_gui.core.errors import InputError  # noqa: E402
from emdenoise_gui.core.events import Progress  # noqa: E402
from emdenoise_gui.gui.job_queue import JobQueue, lane_for  # noqa: E402
from emdenoise_gui.gui.workers import Job, JobFailure  # noqa: E402


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
    [failure] = blocker.args
    assert isinstance(failure, JobFailure) and isinstance(failure.exception, InputError)
    assert failure.message == "the file is damaged" and failing.status == "failed"
    assert failure.details == "" and "Traceback" in failure.traceback_text  # kept, not shown to users
    failing.wait()


def test_internal_error_keeps_exception_and_traceback_apart(qtbot):
    def broken(token):
        yield Progress("x", 0, 1)
        {}["missing"]

    job = _job(broken)
    with qtbot.waitSignal(job.failed, timeout=10000) as blocker:
        job.start()
    [failure] = blocker.args
    assert isinstance(failure.exception, KeyError) and failure.exception.__traceback__ is None
    assert failure.internal and "(KeyError: 'missing')" in failure.message and "\n" not in failure.message
    assert failure.traceback_text.startswith("Traceback") and 'in broken' in failure.traceback_text
    assert failure.details == failure.traceback_text and job.message == failure.message
    job.wait()


def _gate():
    """A job factory that runs until ``gate.set()``, recording that it ran."""
    gate, ran = threading.Event(), []

    def make(token):
        ran.append(True)
        while not gate.is_set():
            token.raise_if_cancelled()
            yield Progress("x", 0, 1)
            time.sleep(0.005)
        return "ok"

    return gate, ran, make


MODEL = SimpleNamespace(kind="model")
FILTER = SimpleNamespace(kind="filter")


def test_lanes_device_jobs_one_at_a_time_filters_beside(qtbot):
    queue = JobQueue()
    assert lane_for("train") == lane_for("preview", MODEL) == "device"
    assert lane_for("denoise", FILTER) == lane_for("batch") == "filter"
    gates = [_gate() for _ in range(4)]
    first = queue.submit(Job("model A", "denoise", gates[0][2]), MODEL)
    second = queue.submit(Job("train B", "train", gates[1][2]))
    filters = [queue.submit(Job(f"filter {i}", "denoise", gates[i][2]), FILTER) for i in (2, 3)]
    assert first.status == "running" and second.status == "waiting" and queue.waiting() == [second]
    assert all(f.status == "running" for f in filters)  # beside the device lane and each other
    qtbot.waitUntil(lambda: all(gates[i][1] for i in (0, 2, 3)), timeout=10000)
    assert not gates[1][1]  # the waiting job has not run
    gates[0][0].set()
    qtbot.waitUntil(lambda: second.status == "running", timeout=10000)  # next one once the device is free
    assert first.status == "done" and not first.thread_running
    for gate, _, _ in gates[1:]:
        gate.set()
    qtbot.waitUntil(lambda: not queue.active(), timeout=10000)
    assert [j.status for j in queue.jobs] == ["done"] * 4
    assert all(j.wait(5000) for j in queue.jobs)


def test_waiting_jobs_cancel_without_running_and_previews_replace(qtbot):
    queue = JobQueue()
    gate, _, busy = _gate()
    running = queue.submit(Job("model", "denoise", busy), MODEL)
    waiting_gate, waiting_ran, waiting_make = _gate()
    waiting = queue.submit(Job("waits", "denoise", waiting_make), MODEL)
    with qtbot.waitSignal(waiting.cancelled, timeout=1000):
        waiting.cancel()
    assert waiting.status == "cancelled" and waiting.started_at is None and queue.waiting() == []
    old = queue.submit(Job("preview 1", "preview", _gate()[2]), MODEL)
    new = queue.submit(Job("preview 2", "preview", _gate()[2]), MODEL)
    assert old.status == "cancelled" and "replaced by a newer preview" in old.log[-1]
    assert queue.waiting() == [new]
    queue.cancel_all()
    assert new.status == "cancelled" and running.status == "cancelling"
    assert queue.shutdown(10000) and not running.thread_running and running.status == "cancelled"
    assert not waiting_ran and new.started_at is None
