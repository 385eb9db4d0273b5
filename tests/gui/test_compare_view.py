"""The compare view on real FlyEM FIB-SEM slices: slices, linked views, high-pass, residual,
split, blink, shared contrast, line profile, IQR box, hover text, state round trip, screenshots."""

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("pytestqt")
import tifffile  # noqa: E402
from PySide6 import QtCore, QtGui  # noqa: E402
from scipy import ndimage  # noqa: E402

from emdenoise_gui.core import metrics  # noqa: E402
from emdenoise_gui.gui.panels.compare_view import (  # noqa: E402
    BLINK_MS,
    EMPTY_TEXT,
    MODES,
    CompareView,
)
from emdenoise_gui.gui.panels.project_panel import describe_result  # noqa: E402
from emdenoise_gui.gui.panels.slices import slice_span  # noqa: E402
from emdenoise_gui.project.records import COMPARE_MODES, CompareState  # noqa: E402

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
FIBSEM_NAME = "fibsem_flyem_medulla_val_z000-127_128x520x520.tif"


class CountingStack:
    """A stack_like over a (Z, Y, X) array that records which slices were read."""

    def __init__(self, data, voxel_size_nm=None):
        self.data, self.shape, self.reads = data, data.shape, []
        self.meta = SimpleNamespace(voxel_size_nm=voxel_size_nm)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, z):
        self.reads.append(z)
        return self.data[z]


@pytest.fixture(scope="module")
def original():
    path = Path(__file__).resolve().parents[2].parent / "shared" / "data" / FIBSEM_NAME
    if not path.exists():
        pytest.skip("../shared/data is not beside this checkout")
    data = tifffile.imread(path, key=range(4))
    assert data.shape == (4, 520, 520) and data.dtype == np.uint8
    return data


@pytest.fixture(scope="module")
def smoothed(original):
    return np.stack([ndimage.gaussian_filter(s.astype(np.float32), 1.5) for s in original])


def settle(qtbot):
    qtbot.wait(60)  # layouts settle in two passes when a view is shown or hidden


def shown_view(qtbot, width: int = 1200, height: int = 800) -> CompareView:
    """A CompareView on screen, without a stack yet."""
    widget = CompareView()
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def view(qtbot, original, smoothed):
    widget = shown_view(qtbot)
    widget.set_original(CountingStack(original, (10.0, 10.0, 10.0)), FIBSEM_NAME)
    widget.set_result(smoothed, "Gaussian σ 1.5 px")
    settle(qtbot)
    return widget


def images(view):
    return [item.image for item in view.image_items]


def test_slice_slider_changes_both_images(view, qtbot, original, smoothed):
    assert view.slider.maximum() == 3 and view.spin.maximum() == 3
    with qtbot.waitSignal(view.slice_changed) as signal:
        view.slider.setValue(2)
    assert signal.args == [2] and view.current_slice() == 2 and view.spin.value() == 2
    left, right = images(view)
    np.testing.assert_array_equal(left, original[2])
    np.testing.assert_array_equal(right, smoothed[2])
    view.spin.setValue(3)
    assert view.slider.value() == 3
    np.testing.assert_array_equal(images(view)[0], original[3])
    view.set_slice(99)  # clamped
    assert view.current_slice() == 3
    assert "z 30 nm" in view.depth_label.text()


def test_a_single_image_is_called_one_and_a_one_slice_result_names_its_slice(qtbot, original, smoothed):
    view = CompareView()
    qtbot.addWidget(view)
    view.set_original(original[:1], "one")
    assert view.depth_label.text().startswith("(a single image)")
    assert slice_span(2, 2) == "slice 2" and slice_span(0, 15) == "slices 0–15"
    assert describe_result(SimpleNamespace(slices=(4, 5), kind="filter", method="median", parameters={})) == (
        "Median 3x3 (filter)\nslice 4, float32")


def test_reads_only_the_visible_slice_once(qtbot, original, smoothed):
    stack = CountingStack(original)
    view = CompareView()
    qtbot.addWidget(view)
    view.set_original(stack, "counted")
    view.set_slice(2)
    view.high_pass_action.setChecked(True)
    view.set_mode("split")
    view.describe_point(5, 5)
    assert stack.reads == [0, 2]


def test_views_are_linked_and_reset_fits_the_image(view, qtbot):
    left, right = view.views
    right.setRange(QtCore.QRectF(100, 150, 200, 200), padding=0)
    (x0, x1), (y0, y1) = left.viewRange()
    assert (y0, y1) == pytest.approx((150, 350), abs=1.0)
    assert (x0 + x1) / 2 == pytest.approx(200, abs=1.0)
    left.setRange(QtCore.QRectF(300, 300, 100, 100), padding=0)
    assert right.viewRange()[1] == pytest.approx([300, 400], abs=1.0)
    view.reset_view_action.trigger()
    rect = left.viewRect()
    assert rect.contains(QtCore.QRectF(0, 0, 520, 520).adjusted(1, 1, -1, -1))
    assert min(rect.width(), rect.height()) == pytest.approx(520, abs=1.0)


def high_pass_shown(view):
    return "computing" not in view.titles[0].toolTip() and view.image_items[0].image.dtype == np.float32


def test_high_pass_shows_high_pass_of_both(view, qtbot, original, smoothed):
    raw_levels = view.levels()
    view.high_pass_action.setChecked(True)  # computed in the background: the plain image meanwhile
    np.testing.assert_array_equal(images(view)[0], original[0])
    assert "computing high-pass…" in view.titles[0].toolTip()
    qtbot.waitUntil(lambda: high_pass_shown(view), timeout=5000)
    left, right = images(view)
    np.testing.assert_allclose(left, metrics.high_pass(original[0]), atol=1e-4)
    np.testing.assert_allclose(right, metrics.high_pass(smoothed[0]), atol=1e-4)
    lo, hi = view.levels()
    assert lo < 0 < hi  # its own contrast, around zero
    assert "high-pass σ 5 px" in view.titles[0].toolTip()
    view.high_pass_action.setChecked(False)
    assert view.levels() == raw_levels


def test_residual_shows_original_minus_result(view, original, smoothed):
    view.residual_action.setChecked(True)
    left, right = images(view)
    np.testing.assert_array_equal(left, original[0])
    np.testing.assert_allclose(right, original[0].astype(np.float32) - smoothed[0], atol=1e-5)
    lo, hi = view.image_items[1].getLevels()
    assert lo == pytest.approx(-hi) and hi > 0
    assert tuple(view.image_items[0].getLevels()) == pytest.approx(view.levels())
    assert view.titles[1].toolTip().startswith("Residual (original − result)")
    view.set_mode("split")
    assert not view.residual_action.isEnabled()


def test_split_mode_composes_both_sides_of_the_divider(view, qtbot, original, smoothed):
    view.set_mode("split")
    settle(qtbot)
    assert not view.panels[1].isVisible() and view.divider.isVisible()
    view.divider.setValue(200)
    composed = images(view)[0]
    np.testing.assert_array_equal(composed[:, :200], original[0][:, :200])
    np.testing.assert_allclose(composed[:, 200:], smoothed[0][:, 200:])
    view.divider.setValue(350.4)
    composed = images(view)[0]
    np.testing.assert_array_equal(composed[:, :350], original[0][:, :350])
    np.testing.assert_allclose(composed[:, 350:], smoothed[0][:, 350:])
    # the single view still shows the whole image, not squashed
    rect = view.views[0].viewRect()
    assert rect.height() == pytest.approx(520, abs=1.0) and rect.width() > 520


def test_blink_alternates_original_and_result(view, qtbot, original, smoothed):
    view.set_mode("blink")
    assert view.blink_timer.isActive() and view.blink_timer.interval() == BLINK_MS
    np.testing.assert_array_equal(images(view)[0], original[0])
    view.blink_step()  # the timer's slot
    np.testing.assert_allclose(images(view)[0], smoothed[0])
    assert view.titles[0].toolTip().startswith("Blink: Result")
    view.blink_step()
    np.testing.assert_array_equal(images(view)[0], original[0])
    qtbot.keyClick(view.graphics[0], QtCore.Qt.Key.Key_B)  # by hand: flip and pause
    assert not view.blink_timer.isActive()
    np.testing.assert_allclose(images(view)[0], smoothed[0])
    assert "paused" in view.titles[0].toolTip()
    view.mode_actions["blink"].trigger()  # clicking Blink again resumes
    assert view.blink_timer.isActive()
    view.set_mode("side_by_side")
    assert not view.blink_timer.isActive()


def test_one_histogram_drives_both_images(view, original):
    view.histogram.item.setLevels(50, 150)
    for item in view.image_items:
        assert tuple(item.getLevels()) == pytest.approx((50, 150))
    assert view.levels() == pytest.approx((50, 150))
    view.set_slice(1)  # contrast stays when the slice changes
    assert tuple(view.image_items[1].getLevels()) == pytest.approx((50, 150))
    view.auto_contrast_action.trigger()
    expected = np.percentile(original[1], [0.5, 99.5])
    assert view.levels() == pytest.approx(tuple(expected))
    assert tuple(view.image_items[1].getLevels()) == pytest.approx(tuple(expected))


def test_line_profile_plots_both_slices_and_mirrors(view, original, smoothed):
    p0, p1 = (100.0, 50.0), (300.0, 400.0)
    view.set_line_points(p0, p1)
    assert view.line_points() == (pytest.approx(p0), pytest.approx(p1))
    plot = view.profile_plot
    distance, expected = metrics.line_profile(original[0], p0, p1)
    x, y = plot.original_curve.getData()
    np.testing.assert_allclose(y, expected)
    np.testing.assert_allclose(x, distance * 10.0)  # 10 nm pixels
    np.testing.assert_allclose(plot.result_curve.getData()[1], metrics.line_profile(smoothed[0], p0, p1)[1])
    assert "(nm)" in plot.getPlotItem().getAxis("bottom").labelText
    # dragging the right view's line moves the left one, and the plot follows
    right = view.measure_panel.line.rois[1]
    right.movePoint(right.getHandles()[1], QtCore.QPointF(480.5, 60.5))
    q0, q1 = view.line_points()
    assert q1 == pytest.approx((60.0, 480.0))
    left = view.measure_panel.line.rois[0]
    assert left.mapToParent(left.getHandles()[1].pos()) == QtCore.QPointF(480.5, 60.5)
    np.testing.assert_allclose(plot.original_curve.getData()[1], metrics.line_profile(original[0], q0, q1)[1])
    view.set_slice(3)
    np.testing.assert_allclose(plot.result_curve.getData()[1], metrics.line_profile(smoothed[3], q0, q1)[1])


def test_profile_in_px_without_pixel_size(qtbot, original):
    view = CompareView()
    qtbot.addWidget(view)
    view.set_original(original, "no size")
    view.set_line_points((10.0, 10.0), (10.0, 110.0))
    x, _ = view.profile_plot.original_curve.getData()
    assert x[-1] == pytest.approx(100.0)
    assert "(px)" in view.profile_plot.getPlotItem().getAxis("bottom").labelText
    assert "pixel size unknown" in view.titles[0].toolTip()


def _iqr_numbers(text):
    match = re.search(r"IQR original: ([-\d.e+]+), result: ([-\d.e+]+) grey values \(ratio result/original "
                      r"([-\d.e+]+)\)", text)
    assert match, text
    return [float(v) for v in match.groups()]


def test_iqr_label_matches_core(view, original, smoothed):
    rect = (300, 350, 364, 414)
    view.set_rect(rect)
    assert view.rect() == rect
    got_original, got_result, ratio = _iqr_numbers(view.iqr_label.text())
    want_original = metrics.iqr_rect(original[0], rect)
    want_result = metrics.iqr_rect(smoothed[0], rect)
    assert got_original == pytest.approx(want_original, rel=1e-3)
    assert got_result == pytest.approx(want_result, rel=1e-3)
    assert ratio == pytest.approx(want_result / want_original, rel=2e-3)
    assert want_result < want_original  # smoothing lowers the spread
    assert "64×64 px = 640 nm × 640 nm" in view.iqr_label.text()
    right = view.measure_panel.box.rois[1]  # the mirrored box moves the left one
    right.setPos(QtCore.QPointF(10, 20))
    assert view.rect() == (20, 10, 84, 74)
    assert _iqr_numbers(view.iqr_label.text())[0] == pytest.approx(
        metrics.iqr_rect(original[0], (20, 10, 84, 74)), rel=1e-3)


def test_hover_reports_both_values_with_units(view, qtbot, original, smoothed):
    scene_pos = view.views[0].mapViewToScene(QtCore.QPointF(10.5, 20.5))
    with qtbot.waitSignal(view.hover) as signal:
        view.graphics[0].scene().sigMouseMoved.emit(scene_pos)
    text = signal.args[0]
    assert text.startswith("x 10, y 20 px (100 nm, 200 nm), slice 0: ")
    assert f": {original[0][20, 10]} original / " in text
    assert text.endswith(f"{float(smoothed[0][20, 10]):.4g} result")
    assert view.describe_point(-1, 5) == ""


def test_state_round_trip(view, qtbot, original, smoothed):
    view.set_slice(2)
    view.high_pass_action.setChecked(True)
    view.set_levels(-20.0, 25.0)
    view.set_line_points((40.0, 30.0), (200.0, 260.0))
    view.set_rect((100, 120, 140, 180))
    view.set_mode("split")
    view.divider.setValue(300)
    settle(qtbot)
    view.views[0].setRange(QtCore.QRectF(100, 100, 300, 200), padding=0)
    state = view.state()
    assert json.loads(json.dumps(state)) == state
    assert state["slice"] == 2 and state["mode"] == "split" and state["high_pass"]
    assert state["levels"] == [-20.0, 25.0] and state["rect"] == [100, 120, 140, 180]
    assert CompareState.from_dict(state).to_dict() == state  # the project's record of it, validated
    assert tuple(MODES) == COMPARE_MODES

    other = shown_view(qtbot)
    other.set_original(original, "again")
    other.set_result(smoothed, "again")
    other.restore_state(state)
    settle(qtbot)
    qtbot.waitUntil(lambda: high_pass_shown(other), timeout=5000)
    restored = other.state()
    for key in ("slice", "mode", "high_pass", "residual", "line_tool", "rect_tool", "rect", "divider_x"):
        assert restored[key] == state[key], key
    assert restored["levels"] == pytest.approx(state["levels"])
    assert np.allclose(restored["line"], state["line"])
    assert restored["view_rect"] == pytest.approx(state["view_rect"], abs=0.5)
    composed = other.image_items[0].image
    np.testing.assert_allclose(composed[:, 300:], metrics.high_pass(smoothed[2])[:, 300:], atol=1e-4)


def test_a_saved_view_that_misses_the_image_keeps_the_defaults(qtbot, original, smoothed):
    """A view saved on a larger stack (or edited) restored both panes black: off the image, contrast above
    every value, the line and box outside; what misses the image now keeps the view's own defaults."""
    other = shown_view(qtbot)
    other.set_original(original[:, :60, :80], "small")
    other.set_result(smoothed[:, :60, :80], "small")
    settle(qtbot)
    before = other.state()
    other.restore_state({"slice": 900, "view_rect": [5000, 5000, 100, 100], "levels": [300, 300],
                         "line": [[-4000, -4000], [-3000, -9000]], "rect": [4000, 4000, 4100, 4100], "mode": "split"})
    settle(qtbot)
    after = other.state()
    assert after["slice"] == 3 and after["mode"] == "split"
    assert after["levels"] == before["levels"] and after["rect"] == before["rect"]
    assert np.allclose(after["line"], before["line"])
    view_x, view_y, width, height = after["view_rect"]
    assert view_x < 80 and view_y < 60 and view_x + width > 0 and view_y + height > 0  # on the image
    other.restore_state({"levels": [400, 500]})  # above every uint8 value: black; kept out
    assert other.state()["levels"] == before["levels"]
    other.set_levels(float("nan"), 5.0)  # hung the event loop
    assert other.state()["levels"] == before["levels"]
    low = float(original[3, :60, :80].min())
    other.restore_state({"levels": [low + 5, low + 40]})  # a fitting one is taken
    assert other.state()["levels"] == pytest.approx([low + 5, low + 40])


def test_shorter_result_leaves_missing_slices_blank(view, qtbot, original, smoothed):
    view.set_result(smoothed[1:3], "partial run", first_slice=1)
    assert view.image_items[1].image is None
    assert view.messages[1].isVisible() and "No result for slice 0" in view.messages[1].toPlainText()
    assert "(slices 1–2)" in view.titles[1].toolTip()
    assert "result: none" in view.iqr_label.text()
    x, _ = view.profile_plot.result_curve.getData()
    assert x is None or len(x) == 0
    view.set_slice(1)
    np.testing.assert_allclose(view.image_items[1].image, smoothed[1])
    assert not view.messages[1].isVisible()
    view.set_slice(3)
    assert view.image_items[1].image is None
    view.set_mode("split")
    composed = view.image_items[0].image
    np.testing.assert_array_equal(composed[:, :260], original[3][:, :260])
    assert np.isnan(composed[:, 260:]).all()
    with pytest.raises(ValueError, match="cannot be compared"):
        view.set_result(smoothed[:, :100, :], "wrong size")


def test_screenshots(view, qtbot, original, smoothed):
    """Side by side, split, and high-pass + residual, each with the line profile below."""
    SCREENSHOTS.mkdir(exist_ok=True)
    view.set_slice(1)
    view.set_line_points((150.0, 40.0), (330.0, 470.0))  # across membranes and vesicles
    view.set_rect((16, 344, 64, 392))  # flat interior of an organelle: noise only
    settle(qtbot)
    assert view.grab().size() == QtCore.QSize(1200, 800)  # long titles elide, never widen the window
    assert view.grab().save(str(SCREENSHOTS / "compare_view.png"))
    view.set_mode("split")
    settle(qtbot)
    assert view.grab().save(str(SCREENSHOTS / "compare_view_split.png"))
    view.set_mode("side_by_side")
    view.high_pass_action.setChecked(True)
    view.residual_action.setChecked(True)
    settle(qtbot)
    qtbot.waitUntil(lambda: high_pass_shown(view), timeout=5000)
    assert view.grab().save(str(SCREENSHOTS / "compare_view_highpass_residual.png"))
    for name in ("compare_view.png", "compare_view_split.png", "compare_view_highpass_residual.png"):
        shot = QtGui.QImage(str(SCREENSHOTS / name))
        assert (shot.width(), shot.height()) == (1200, 800), name


def test_iqr_label_says_when_a_partial_preview_has_not_reached_the_box():
    from emdenoise_gui.gui.panels.profile_plot import iqr_text

    text = iqr_text(12.0, float("nan"), (0, 0, 10, 10), (10.0, 10.0, 10.0))
    assert "not computed in the box yet" in text and "nan" not in text


def test_both_iqrs_are_written_alike():
    from emdenoise_gui.gui.panels.profile_plot import iqr_text, same_decimals

    assert "IQR original: 17.00, result: 9.84 grey values" in iqr_text(17.0, 9.838, (0, 0, 10, 10), None)
    assert same_decimals(0.0123, 0.006) == ["0.01230", "0.00600"]
    assert same_decimals(340.0, 98.25) == ["340.0", "98.2"] and same_decimals(0.0, 0.0) == ["0", "0"]
    assert same_decimals(34.0, 15.0) == ["34", "15"]


def image_tools(view):
    return [*view.mode_actions.values(), view.high_pass_action, view.residual_action, view.line_action,
            view.rect_action, view.region_action, view.auto_contrast_action, view.reset_view_action]


def test_without_a_stack_the_view_says_what_to_do_and_its_tools_wait(qtbot, original, smoothed):
    """No black panes with live tools, a 0-1 histogram and a made-up profile axis: a note instead."""
    widget = shown_view(qtbot, 900, 600)
    assert widget.pages.currentWidget() is widget.placeholder and widget.placeholder.text() == EMPTY_TEXT
    assert not widget.splitter.isVisible()
    assert not any(action.isEnabled() for action in image_tools(widget))
    widget.auto_contrast()  # a shortcut reaching a disabled tool changes nothing and raises nothing
    widget.set_original(CountingStack(original, (10.0, 10.0, 10.0)), FIBSEM_NAME)
    widget.set_result(smoothed, "Gaussian")
    widget.set_slice(2)
    settle(qtbot)
    assert widget.pages.currentWidget() is widget.splitter and widget.splitter.isVisible()
    assert all(action.isEnabled() for action in image_tools(widget))
    widget.clear("Cannot show broken.tif")
    assert widget.placeholder.text() == "Cannot show broken.tif" and widget.depth() == 0
    assert not any(action.isEnabled() for action in image_tools(widget))
    assert widget.current_slice() == 0 and widget.spin.maximum() == 0 and widget.iqr_label.text() == ""
    x, _ = widget.profile_plot.original_curve.getData()
    assert x is None or len(x) == 0
    widget.set_original(CountingStack(original[:2, :200, :300], None), "small.tif")  # starts afresh
    assert widget.rect() is not None and widget.rect()[2] <= 200 and widget.rect()[3] <= 300
    assert widget.spin.maximum() == 1 and "pixel size unknown" in widget.titles[0].toolTip()


def test_a_result_on_another_scale_is_stretched_to_the_originals_and_said(qtbot, original, smoothed):
    """A [0, 1] float result beside 16-bit data was black under the shared contrast, with nothing said."""
    view = shown_view(qtbot, 900, 600)
    wide = original.astype(np.uint16) * 100 + 20000
    view.set_original(wide, "wide.tif")
    view.set_result(smoothed / 255.0, "float")
    settle(qtbot)
    lo, hi = view.levels()
    shown = images(view)[1]
    assert lo - 0.1 * (hi - lo) < np.median(shown) < hi + 0.1 * (hi - lo)  # under the original's contrast
    assert re.search(r"another scale \(0\.\d+–0\.\d+\), stretched$", view.titles[1].toolTip())
    view.set_mode("split")
    column = int(view.divider.value())
    assert lo - 0.1 * (hi - lo) < np.median(images(view)[0][:, column:]) < hi + 0.1 * (hi - lo)
    view.set_mode("side_by_side")
    view.set_result(smoothed.astype(np.uint16) * 100 + 20000, "same scale")  # a denoised result: as it is
    np.testing.assert_array_equal(images(view)[1], smoothed[0].astype(np.uint16) * 100 + 20000)
    assert "another scale" not in view.titles[1].toolTip()


def test_a_denoised_result_or_a_regions_preview_is_not_taken_for_another_scale():
    """Review of 2026-12-06: a preview of a flat box (NaN elsewhere) and a clean result of very noisy data were
    stretched 20-40x and called 'another scale'."""
    from emdenoise_gui.gui.panels.contrast import ScaleMatch

    rng = np.random.default_rng(3)
    signal = np.where(np.arange(200)[:, None] < 100, 50.0, 200.0) * np.ones((200, 200))
    noisy = signal + rng.normal(0, 40, signal.shape)
    assert ScaleMatch.between(noisy, signal + rng.normal(0, 1, signal.shape)) is None
    preview = np.full(signal.shape, np.nan)
    preview[20:80, 20:80] = 50 + rng.normal(0, 1, (60, 60))
    assert ScaleMatch.between(signal + rng.normal(0, 10, signal.shape), preview) is None
    ramp = np.linspace(1000, 60000, 2048)[None, :] * np.ones((2048, 1))  # more than the contrast's grid: sampled
    assert ScaleMatch.between((ramp + rng.normal(0, 50, ramp.shape)).astype(np.uint16), ramp) is None
    wide = (signal * 100 + 20000).astype(np.uint16)
    match = ScaleMatch.between(wide, signal / 255.0)
    assert match is not None and match.gain > 1000


def test_pixels_of_another_height_than_width_are_drawn_their_true_shape(qtbot, original):
    """Pixels of x 2 nm by y 4 nm were drawn square: the image squashed to half its height (viewer audit)."""
    view = shown_view(qtbot)
    view.set_original(CountingStack(original, (10.0, 4.0, 2.0)), "anisotropic")
    settle(qtbot)
    x_px, y_px = view.views[0].viewPixelSize()  # image px per screen px
    assert x_px * 2.0 == pytest.approx(y_px * 4.0, rel=0.02)  # the same nm per screen px both ways
    rect = view.views[0].viewRect()  # the whole image fitted
    assert rect.width() >= original.shape[2] - 1 and rect.height() >= original.shape[1] - 1
    assert min(rect.width() - original.shape[2], rect.height() - original.shape[1]) < 2
    view.set_original(CountingStack(original, (10.0, 10.0, 10.0)), "square")
    settle(qtbot)
    x_px, y_px = view.views[0].viewPixelSize()
    assert x_px == pytest.approx(y_px, rel=0.02)


def test_the_contrast_set_is_kept_between_results_of_one_region(qtbot, original):
    """A region's original is cut anew each time one of its results is shown: the contrast was reset (review)."""
    from emdenoise_gui.gui.panels.slices import RegionOf

    view = shown_view(qtbot)
    stack = CountingStack(original, (10.0, 10.0, 10.0))
    view.set_original(RegionOf(stack, (10, 60, 20, 70)), "region")
    view.set_levels(40.0, 90.0)
    view.set_original(RegionOf(stack, (10, 60, 20, 70)), "region")
    assert view.levels() == pytest.approx((40.0, 90.0))
    view.set_original(RegionOf(stack, (0, 30, 0, 30)), "another region")
    assert view.levels() != pytest.approx((40.0, 90.0))
