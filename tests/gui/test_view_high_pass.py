"""High-pass off the GUI thread: the toggle returns at once, the plain image shows meanwhile with
a note, the high-pass follows, is kept per slice, and a late one for another slice is dropped."""

import time

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from emdenoise_gui.core import metrics  # noqa: E402
from emdenoise_gui.gui.panels.compare_view import CompareView  # noqa: E402
from emdenoise_gui.gui.panels.high_pass import HighPassCache  # noqa: E402


@pytest.fixture(scope="module")
def stack():
    rng = np.random.default_rng(7)
    return rng.integers(0, 4000, size=(3, 2048, 2048), dtype=np.uint16)


def computing(view):
    return "computing high-pass…" in view.titles[0].toolTip()


def shows_high_pass(view):
    return not computing(view) and view.image_items[0].full.dtype == np.float32


@pytest.fixture
def view(qtbot, stack):
    widget = CompareView()
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_original(stack, "2048 px")
    widget.box_placer.background.wait(10000)
    qtbot.wait(20)
    return widget


def test_toggle_returns_at_once_and_the_high_pass_follows(view, qtbot, stack):
    start = time.perf_counter()
    view.high_pass_action.setChecked(True)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.1, f"the High-pass toggle blocked the window for {elapsed * 1000:.0f} ms"
    assert computing(view)
    np.testing.assert_array_equal(view.image_items[0].full, stack[0])  # the plain slice meanwhile
    qtbot.waitUntil(lambda: shows_high_pass(view), timeout=10000)
    np.testing.assert_allclose(view.image_items[0].full, metrics.high_pass(stack[0]), atol=1e-3)
    lo, hi = view.levels()
    assert lo < 0 < hi


def test_high_pass_is_kept_per_slice_and_a_late_one_is_dropped(view, qtbot, stack):
    view.high_pass_action.setChecked(True)
    view.set_slice(1)  # before slice 0's high-pass is back
    qtbot.waitUntil(lambda: shows_high_pass(view), timeout=10000)
    view.high_passes.background.wait(10000)  # slice 0's arrives too, and must not be shown
    qtbot.wait(50)
    assert view.current_slice() == 1
    np.testing.assert_allclose(view.image_items[0].full, metrics.high_pass(stack[1]), atol=1e-3)
    view.set_slice(0)
    assert computing(view)  # slice 0's late result was dropped, not kept
    qtbot.waitUntil(lambda: shows_high_pass(view), timeout=10000)
    view.set_slice(1)  # slice 1 is kept: shown at once
    assert shows_high_pass(view)
    np.testing.assert_allclose(view.image_items[0].full, metrics.high_pass(stack[1]), atol=1e-3)


def test_a_failed_high_pass_says_so_and_is_not_retried(qtbot):
    cache = HighPassCache()
    with qtbot.waitSignal(cache.ready, timeout=5000):
        assert cache.get("original", 0, np.array([["x"]])) is None  # not numbers: high_pass fails
    assert cache.error() and not cache.pending()
    assert cache.get("original", 0, np.array([["x"]])) is None
    assert not cache.background.pending  # not started again
    cache.deleteLater()


def test_stepping_through_slices_computes_only_the_one_being_computed_and_the_last(qtbot, monkeypatch):
    """One high-pass per image at a time, and only the last slice asked for waits: stepping through 8 slices
    queued all 16 high-passes, and the last slice's came 20 s late (4000^2 px, 2 cores)."""
    import threading

    from emdenoise_gui.gui.panels import high_pass

    started, release = [], threading.Event()

    def slow(raw, sigma):
        started.append(int(raw[0, 0]))
        release.wait(5)
        return raw.astype(np.float32)

    monkeypatch.setattr(high_pass.metrics, "high_pass", slow)
    cache = HighPassCache()
    slices = [np.full((4, 4), z, np.uint16) for z in range(8)]
    for z in range(8):
        assert cache.get("original", z, slices[z]) is None
    assert cache.pending()
    release.set()
    qtbot.waitUntil(lambda: cache.get("original", 7, slices[7]) is not None, timeout=5000)
    assert started == [0, 7] and not cache.pending()
    cache.deleteLater()
