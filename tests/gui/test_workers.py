"""Jobs run on their own thread and report back on the GUI thread (events in order, in batches; stages
shown as a busy bar); cancel and failure are clean; the queue runs device jobs one at a time and
filters beside them; job threads leave a core to the window."""

import gc
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtCore, QtWidgets  # noqa: E402

from emdenoise_gui.core.errors import InputError  # noqa: E402
from emdenoise_gui.core.events import Progress, Stage, StepDone  # noqa: E402
from emdenoise_gui.gui import workers  # noqa: E402
from emdenoise_gui.gui.job_queue import JobQueue, lane_for  # noqa: E402
from emdenoise_gui.gui.panels.jobs_panel import JobsPanel  # noqa: E402
from emdenoise_gui.gui.workers import Job, JobFailure, cpu_cores, job_threads  # noqa: E402

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


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


def test_shutdown_keeps_drawing_but_takes_no_user_input(qtbot, monkeypatch):
    """While quitting waits for jobs to stop, the window paints (events are processed) but a click or key
    press must not start new work: every processing of events during the wait excludes user input."""
    def slow_to_stop(token):
        while True:
            time.sleep(0.3)  # a long tile: the cancel is seen only after it
            token.raise_if_cancelled()
            yield Progress("x", 0, 1)

    queue = JobQueue()
    job = queue.submit(Job("slow", "denoise", slow_to_stop), MODEL)
    qtbot.waitUntil(lambda: job.status == "running", timeout=10000)
    flags, real = [], QtCore.QCoreApplication.processEvents

    def spy(*args):
        flags.append(args[0] if args else None)
        return real(*args)

    monkeypatch.setattr(QtCore.QCoreApplication, "processEvents", staticmethod(spy))
    assert queue.shutdown(10000) and job.status == "cancelled"
    exclude = QtCore.QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents
    assert flags and all(f is not None and f & exclude for f in flags)


def test_events_arrive_in_order_in_batches(qtbot):
    def fast(token):  # a fast training's steps: far more than the window needs to redraw
        for step in range(1, 501):
            yield StepDone(step, 500, {"loss": 1.0 / step}, 1e-3, 1000.0, 0.0)
        for done in range(1, 101):
            yield Progress("export", done, 100)
        return "ok"

    job = _job(fast)
    seen, changes = [], []
    job.event.connect(lambda item: seen.append(item.step if isinstance(item, StepDone) else item.done))
    job.state_changed.connect(lambda: changes.append(job.progress))
    job.start()
    assert job.wait(10000)  # the GUI thread is held: every event waits in the worker's queue
    qtbot.waitUntil(lambda: job.status == "done", timeout=10000)
    assert seen == [*range(1, 501), 100]  # every step, in order, then only the newest progress
    assert len(changes) <= 4 and changes[-1] == 1.0  # start, one batch, the end: not one per event


def test_stages_show_a_busy_bar_until_the_first_fraction(qtbot):
    """Also saves docs/images/jobs_stages.png: one job loading its model, one counting tiles."""
    go_on, counted, release = threading.Event(), threading.Event(), threading.Event()

    def staged(token):
        yield Stage("loading model")
        go_on.wait(10)
        yield Stage("first tile")
        yield Progress("denoise", 1, 4, "tile")
        release.wait(10)
        return "ok"

    def counting(token):
        yield Stage("reading slice")
        counted.wait(10)
        yield Progress("denoise", 37, 100, "tile")
        release.wait(10)
        return "ok"

    panel = JobsPanel()
    qtbot.addWidget(panel)
    panel.resize(1100, 170)
    panel.findChild(QtWidgets.QSplitter).setSizes([700, 400])
    panel.show()
    other = Job("Denoise flyem_val_z000-095.tif (flyem-nrrn-lite)", "denoise", counting)
    job = Job("Denoise fibsem_4096.tif (flyem-nrrn-base)", "denoise", staged)
    for j in (other, job):
        panel.add_job(j)
    bar, status = panel.table.cellWidget(1, 2), panel.table.item(1, 1)
    assert (bar.minimum(), bar.maximum(), status.text()) == (0, 1000, "waiting")
    other.start()
    other.started_at -= 95  # as if it had run for 95 s: a readable time left in the screenshot
    counted.set()
    qtbot.waitUntil(lambda: other.counting, timeout=10000)
    job.start()
    qtbot.waitUntil(lambda: job.stage == "loading model", timeout=10000)
    assert bar.maximum() == 0 and status.text() == "loading model…" and not job.counting  # busy
    assert panel.table.cellWidget(0, 2).value() == 370 and panel.table.item(0, 1).text() == "running"
    qtbot.wait(300)  # the busy bar's chunk moves in
    DOCS_IMAGES.mkdir(exist_ok=True)
    assert panel.grab().save(str(DOCS_IMAGES / "jobs_stages.png"))
    go_on.set()
    qtbot.waitUntil(lambda: job.counting, timeout=10000)
    assert (bar.maximum(), bar.value(), status.text()) == (1000, 250, "running")
    assert [line.split("  ", 1)[1] for line in job.log[1:3]] == ["loading model…", "first tile…"]
    release.set()
    qtbot.waitUntil(lambda: job.status == other.status == "done", timeout=10000)
    assert (bar.maximum(), bar.value(), status.text()) == (1000, 1000, "done")
    assert job.wait() and other.wait()


def test_each_job_thread_gets_its_share_of_torch_threads(qtbot):
    import torch

    assert [job_threads(2, 1), job_threads(2, 2), job_threads(8, 1), job_threads(8, 2)] == [1, 1, 7, 3]
    assert job_threads(16, 1, cap=4) == 4 and job_threads(1, 1) == 1  # never more than Settings gave
    seen = []

    def make(token):
        yield Progress("x", 0, 1)
        seen.append(torch.get_num_threads())
        return "ok"

    job = _job(make)
    with qtbot.waitSignal(job.finished, timeout=10000):
        job.start()
    job.wait()
    assert seen == [job_threads(cpu_cores(), 1, workers._torch_threads)]
    assert seen[0] < cpu_cores() or cpu_cores() == 1  # a core is left for the window


def test_full_garbage_collections_wait_while_a_job_sets_up(qtbot):
    """A full collection walks every object with the interpreter lock held (0.1-0.25 s with torch
    and Qt loaded): none while a job sets up, and what exists then is frozen out of later ones."""
    counted, release = threading.Event(), threading.Event()

    def make(token):
        yield Stage("loading model")
        counted.wait(10)
        yield Progress("x", 1, 2)
        release.wait(10)
        return "ok"

    before = gc.get_threshold()
    job = _job(make)
    job.start()
    qtbot.waitUntil(lambda: job.stage == "loading model", timeout=10000)
    assert gc.get_threshold() == (*before[:2], workers.HELD_FULL_COLLECTIONS)
    counted.set()
    qtbot.waitUntil(lambda: job.counting, timeout=10000)
    assert gc.get_threshold() == before and gc.get_freeze_count() > 0
    release.set()
    with qtbot.waitSignal(job.ended, timeout=10000):
        pass
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before  # collected as usual again


def test_the_eta_counts_from_the_first_count_not_from_the_set_up(qtbot, monkeypatch):
    """A 400-slice job that spent 30 s loading its model showed an ETA from the job's start: here 11 units in
    31 s gave 2:49 left for 89 units that come at 10 per second."""
    clock = {"now": 1000.0}
    monkeypatch.setattr(workers.time, "perf_counter", lambda: clock["now"])
    import emdenoise_gui.core.events as events

    monkeypatch.setattr(events.time, "perf_counter", lambda: clock["now"])
    job = _job(lambda token: iter(()))
    job.status, job.started_at = "running", clock["now"]
    clock["now"] += 30.0  # loading the model, reading the first slice
    job._on_event(Progress("denoise", 1, 100))
    assert job.eta_s is None  # one count: no rate yet
    clock["now"] += 1.0
    job._on_event(Progress("denoise", 11, 100))
    assert job.eta_s == pytest.approx(8.9)
    job._on_event(Progress("batch 2/2", 0, 50))  # another total: measured afresh
    assert job.eta_s is None


def test_a_job_a_failing_disk_stopped_is_no_internal_error():
    """An input/output error mid-job (a disk, a dropped share) said "internal error; please report it"."""
    import errno

    failure = JobFailure.capture(OSError(errno.EIO, "Input/output error", "/data/a.mrc"))
    assert not failure.internal and failure.details == ""
    assert failure.message.startswith("/data/a.mrc: cannot be read or written (Input/output error)")
    assert JobFailure.capture(OSError(errno.ENOENT, "No such file or directory")).internal  # may be a bug


def test_what_a_job_says_along_the_way_reaches_the_status_bar_and_its_log(qtbot, new_controller):
    """Notes such as an OME-Zarr store's chunks not stored (read as zeros) were printed by the CLI and kept
    nowhere by the app (audit of 2026-12-06)."""
    from emdenoise_gui.core.events import Message

    controller = new_controller()
    said = []
    controller.status.connect(said.append)

    def make(token):
        yield Message("in.zarr: 1 of 4 chunks are not stored and read as the fill value (usually 0)")
        yield Progress("denoise", 1, 1)

    job = controller.submit(Job("Denoise in.zarr", "denoise", make, controller))
    qtbot.waitUntil(lambda: not job.active, timeout=10_000)
    assert any("chunks are not stored" in text for text in said)
    assert any("chunks are not stored" in line for line in job.log)


def test_old_ended_jobs_are_let_go_and_their_rows_go_with_them(qtbot, monkeypatch):
    """Every job was kept for the session: 400 previews left 400 jobs, thread objects and table rows, and each
    finished denoise kept the project it recorded in (long-session audit of 2026-12-06)."""
    from emdenoise_gui.gui import job_queue

    monkeypatch.setattr(job_queue, "KEPT_ENDED", 3)
    queue, panel = JobQueue(), JobsPanel()
    qtbot.addWidget(panel)
    queue.job_added.connect(panel.add_job)
    queue.job_removed.connect(panel.remove_job)
    removed = []
    queue.job_removed.connect(removed.append)

    def quick(token):
        yield Progress("x", 1, 1)

    gate, _ran, long_make = _gate()
    long = queue.submit(Job("long denoise", "denoise", long_make, queue), FILTER)  # submitted first, ends last
    training = queue.submit(Job("train", "train", quick, queue))  # owned by the queue, as the app's controller
    jobs = [queue.submit(Job(f"filter {i}", "denoise", quick, queue), FILTER) for i in range(8)]
    qtbot.waitUntil(lambda: not any(j.active or j.thread_running for j in jobs + [training]), timeout=10000)
    gate.set()
    qtbot.waitUntil(lambda: not queue.active() and not long.thread_running, timeout=10000)
    queue.submit(Job("one more", "denoise", quick, queue), FILTER)  # an end lets go of what ended before
    qtbot.waitUntil(lambda: not queue.active(), timeout=10000)
    kept = [j.title for j in queue.jobs]
    assert training in queue.jobs and long in queue.jobs and len(kept) == 4 and kept[-1] == "one more"
    assert all(any(r is j for j in jobs) for r in removed) and len(removed) == 7  # 10 ended, 3 kept
    assert [panel.table.item(row, 0).text() for row in range(panel.table.rowCount())] == kept
    removed.clear()
    assert queue.shutdown(5000)
