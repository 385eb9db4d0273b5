"""A stack slow to read (a compressed TIFF, a chunked store: an LZW 4096^2 slice decodes in 0.2-0.4 s) froze the
slider, the keys and the window on every step; the view now reads such steps on a helper thread, keeps the slice
it shows meanwhile (saying which it reads), and shows only the newest of the steps made while one was read."""

import threading
import time

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtCore  # noqa: E402

from emdenoise_gui.gui.panels import slices as slices_module  # noqa: E402
from tests.gui.test_view_iqr_box import make_view  # noqa: E402

READ_S = 0.3


class SlowStack:
    """(Z, Y, X) float32 whose every slice takes READ_S to read (while ``slow``); notes each read and its thread."""

    def __init__(self, depth=12, side=64):
        self.data = np.random.default_rng(1).normal(size=(depth, side, side)).astype(np.float32)
        self.reads, self.readers, self.slow = [], {}, True  # readers: slice -> the thread that read it

    def __len__(self):
        return len(self.data)

    def __getitem__(self, z):
        if self.slow:
            time.sleep(READ_S)
        self.reads.append(z)
        self.readers[z] = threading.current_thread()
        return self.data[z]


@pytest.fixture
def slow_view(qtbot):
    view = make_view(qtbot)
    stack = SlowStack()
    view.set_original(stack, "slow.tif")  # its first slice is read here, and found slow
    assert view._original.slow
    return view, stack


def test_a_slider_step_on_a_slow_stack_does_not_hold_the_window(qtbot, slow_view):
    view, stack = slow_view
    start = time.perf_counter()
    view.slider.setValue(5)
    assert time.perf_counter() - start < READ_S / 2  # returned before the slice was read
    assert view.current_slice() == 0 and "reading slice 5…" in view.depth_label.text()
    qtbot.waitUntil(lambda: view.current_slice() == 5, timeout=5000)
    assert "reading" not in view.depth_label.text()
    assert stack.readers[5] is not threading.main_thread()
    np.testing.assert_array_equal(view.raw_slice("original"), stack.data[5])
    assert view.image_items[0].image is not None


def test_steps_made_while_one_is_read_show_only_the_newest(qtbot, slow_view):
    view, stack = slow_view
    for z in (3, 4, 5, 6, 7):
        view.slider.setValue(z)
    qtbot.waitUntil(lambda: view.current_slice() == 7, timeout=5000)
    qtbot.wait(2 * int(READ_S * 1000))
    assert view.current_slice() == 7
    assert stack.reads == [0, 3, 7]  # the first step, then the newest: not every one


def test_keys_step_from_the_slice_asked_for(qtbot, slow_view):
    view, stack = slow_view
    view.graphics[0].setFocus()
    for _ in range(3):
        qtbot.keyClick(view.graphics[0], QtCore.Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: view.current_slice() == 3, timeout=5000)
    assert view.slider.value() == 3


def test_a_fast_stack_steps_at_once_and_another_stack_drops_the_pending_step(qtbot, slow_view):
    view, stack = slow_view
    view.slider.setValue(9)
    fast = np.arange(12 * 64 * 64, dtype=np.float32).reshape(12, 64, 64)
    view.set_original(fast, "fast.tif")  # shown before slice 9 of the slow one arrived
    qtbot.wait(2 * int(READ_S * 1000))
    assert view.current_slice() == 0 and "reading" not in view.depth_label.text()
    view.slider.setValue(4)
    assert view.current_slice() == 4  # read at once
    np.testing.assert_array_equal(view.raw_slice("original"), fast[4])


def test_slices_become_slow_or_fast_by_their_last_read(monkeypatch):
    stack = SlowStack()
    source = slices_module.Slices(stack)
    assert source.ready(3)  # not read yet: taken for fast
    source.get(0)
    assert source.slow and not source.ready(3) and source.ready(0) and source.ready(99)
    stack.slow = False
    source.get(3)
    assert not source.slow and source.ready(4)


def test_a_redraw_while_a_step_is_read_reads_nothing_on_the_window_thread(qtbot, slow_view):
    """The helper's read replaced the one cached slice: the pixel read-out, a blink or a high-pass arriving then
    read the slice on screen again on the window's thread, and the step's slice once more on arrival (review)."""
    view, stack = slow_view
    result = SlowStack()
    view.set_result(result, "slow result")
    stack.reads.clear()
    result.reads.clear()
    view.slider.setValue(4)
    qtbot.wait(int(READ_S * 1300))  # the original's slice 4 is read, the result's is being read
    start = time.perf_counter()
    np.testing.assert_array_equal(view.raw_slice("original"), stack.data[0])  # the slice on screen: cached
    view._refresh_images()
    assert time.perf_counter() - start < READ_S / 2
    qtbot.waitUntil(lambda: view.current_slice() == 4, timeout=5000)
    assert stack.reads == [4] and result.reads == [4]  # each read once, on the helper thread
    assert stack.readers[4] is not threading.main_thread() and result.readers[4] is not threading.main_thread()


def test_stepping_back_to_the_shown_slice_says_no_read(qtbot, slow_view):
    view, stack = slow_view
    view.slider.setValue(1)
    view.slider.setValue(0)  # back to the one shown: nothing to wait for
    assert view.current_slice() == 0 and "reading" not in view.depth_label.text()
    qtbot.wait(2 * int(READ_S * 1000))
    assert view.current_slice() == 0 and "reading" not in view.depth_label.text() and view.slider.value() == 0


def test_the_slice_box_follows_a_slider_step_while_it_is_read(qtbot, slow_view):
    view, stack = slow_view
    view.slider.setValue(6)
    assert view.spin.value() == 6 and view.current_slice() == 0
    qtbot.waitUntil(lambda: view.current_slice() == 6, timeout=5000)
