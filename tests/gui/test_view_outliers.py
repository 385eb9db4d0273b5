"""Hot pixels and stray values in the compare view (viewer audit of 2026-12-07): twelve saturated pixels in a
uint16 slice of 1012-1060 turned each into a dark disc 20 px across in the high-pass view, washed both panes
out to grey, and spread the contrast histogram over 0-68 000 with its limits in a sliver at the bottom."""

import numpy as np
import pytest

from emdenoise_gui.core import metrics

HOT = [(10 + 17 * i, 20 + 13 * i) for i in range(12)]


def hot_slice(seed=5, shape=(256, 256)):
    """(Y, X) uint16 in 1012-1060 with twelve saturated pixels at HOT."""
    image = np.random.default_rng(seed).integers(1012, 1061, size=shape).astype(np.uint16)
    for y, x in HOT:
        image[y, x] = 65535
    return image


def test_outliers_are_told_from_the_bulk_and_plain_noise_has_none():
    image = hot_slice()
    lo, hi = metrics.outlier_limits(image)
    assert 900 < lo < 1012 and 1060 < hi < 1200
    rng = np.random.default_rng(1)
    assert metrics.outlier_limits(rng.normal(100, 10, (300, 300))) is None  # 1.8 spans of 99 % beyond: none
    assert metrics.outlier_limits(rng.poisson(3, (300, 300)).astype(np.uint8)) is None  # skewed, low counts
    assert metrics.outlier_limits(np.full((20, 20), 7.0)) is None  # flat: nothing to tell them by
    floats = rng.random((100, 100)).astype(np.float32)
    floats[3, 4], floats[50, 60] = 1e6, -np.inf
    assert metrics.outlier_limits(floats) is not None


def test_a_hot_pixel_stays_one_pixel_in_the_high_pass():
    image = hot_slice()
    clean = image.copy()
    for y, x in HOT:
        clean[y, x] = 1036
    shown, expected = metrics.high_pass(image), metrics.high_pass(clean)
    around = np.ones(image.shape, bool)
    for y, x in HOT:
        around[y, x] = False
    # before: up to 342 grey levels below the truth around each hot pixel; now the bulk's limit leaks in only
    assert np.abs(shown - expected)[around].max() < 1.0
    assert all(shown[y, x] > 60000 for y, x in HOT)  # the hot pixel itself is still there, and bright


pytest.importorskip("pytestqt")


@pytest.fixture
def view(qtbot):
    from emdenoise_gui.gui.panels.compare_view import CompareView

    widget = CompareView()
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    qtbot.waitExposed(widget)
    stack = np.stack([hot_slice(seed) for seed in range(3)])
    widget.set_original(stack, "hot pixels")
    widget.set_result(np.clip(stack, 0, 1060), "clipped")
    widget.box_placer.background.wait(10000)
    qtbot.wait(20)
    return widget


def histogram_span(view):
    x, _counts = view.histogram.item.plot.getData()
    return float(np.min(x)), float(np.max(x))


def test_the_contrast_histogram_spans_the_bulk_not_the_hot_pixels(view):
    lo, hi = histogram_span(view)
    assert 950 < lo and hi < 1150, (lo, hi)  # was 0-65535
    level_lo, level_hi = view.levels()
    assert lo <= level_lo < level_hi <= hi  # both limits where they can be dragged


def test_the_high_pass_contrast_is_set_by_the_noise_not_by_the_hot_pixels(view, qtbot):
    view.high_pass_action.setChecked(True)
    qtbot.waitUntil(lambda: view.image_items[0].full.dtype == np.float32
                    and "computing" not in view.titles[0].toolTip(), timeout=10000)
    lo, hi = view.levels()
    assert -40 < lo < -10 and 10 < hi < 40, (lo, hi)  # was (-342, 13): a grey wash
    span = histogram_span(view)
    assert span[0] > -100 and span[1] < 100, span
