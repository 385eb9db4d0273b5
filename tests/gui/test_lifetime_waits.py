"""The GUI thread's waits on worker threads keep the window drawing (``gui.lifetime.wait_drawing``):
quitting, stopping thumbnails and the zoo's measurements used to join or ``waitForDone`` for up to
15 s with no event processed, a window that froze while it closed."""

import threading
import time

import pytest

pytest.importorskip("PySide6")
from PySide6 import QtCore  # noqa: E402

from emdenoise_gui.gui.lifetime import (  # noqa: E402
    pool_done,
    run_drawing,
    threads_ended,
    wait_drawing,
)


def test_a_wait_on_a_thread_lets_timers_fire_and_ends_when_the_thread_does(qapp):
    release = threading.Event()
    worker = threading.Thread(target=release.wait, daemon=True)
    worker.start()
    ticks = []
    timer = QtCore.QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(1) if len(ticks) < 5 else release.set())
    timer.start()
    assert wait_drawing(threads_ended([worker, None]), timeout_s=10.0)
    timer.stop()
    assert len(ticks) == 5 and not worker.is_alive()  # the timer ran during the wait: it ended the worker


def test_a_wait_gives_up_at_its_timeout_and_says_so(qapp):
    hold = threading.Event()
    worker = threading.Thread(target=hold.wait, daemon=True)
    worker.start()
    start = time.monotonic()
    assert not wait_drawing(threads_ended([worker]), timeout_s=0.2)
    assert 0.2 <= time.monotonic() - start < 2.0
    hold.set()


def test_a_wait_on_a_pool_lets_timers_fire_and_ends_with_its_last_task(qapp):
    pool, release, done = QtCore.QThreadPool(), threading.Event(), []
    pool.start(lambda: (release.wait(10), done.append(1)))
    pool.start(lambda: (release.wait(10), time.sleep(0.05), done.append(2)))
    QtCore.QTimer.singleShot(20, release.set)  # only an event processed during the wait ends the tasks
    assert wait_drawing(pool_done(pool), timeout_s=10.0) and sorted(done) == [1, 2]
    assert pool.activeThreadCount() == 0


def test_run_drawing_returns_the_value_raises_the_error_and_times_out(qapp):
    release, ticks = threading.Event(), []
    timer = QtCore.QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(1) if len(ticks) < 3 else release.set())
    timer.start()
    assert run_drawing(lambda: (release.wait(10), threading.current_thread().name)[1], 10.0) == "emdenoise-gui-wait"
    timer.stop()
    assert len(ticks) == 3  # only the timer, firing during the wait, let the work end

    def broken():
        raise ValueError("from the thread")

    with pytest.raises(ValueError, match="from the thread"):
        run_drawing(broken, 10.0)
    hold = threading.Event()
    with pytest.raises(TimeoutError):
        run_drawing(hold.wait, 0.1)
    hold.set()
