"""Scale bar that fits the zoom, the Region tool and its menu entries, the profile plot's legend."""

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtCore  # noqa: E402

from emdenoise_gui.core import metrics  # noqa: E402
from emdenoise_gui.gui.panels.profile_plot import line_profile  # noqa: E402
from emdenoise_gui.gui.panels.scale_bar import FRACTION, bar_length_nm, nice_length  # noqa: E402
from tests.gui.test_compare_view import CountingStack, shown_view  # noqa: E402
from tests.gui.test_view_iqr_box import make_view  # noqa: E402


@pytest.fixture
def view(qtbot):
    widget = make_view(qtbot)
    image = np.random.default_rng(2).normal(100, 10, (2, 400, 600)).astype(np.float32)
    widget.set_original(CountingStack(image, (5.0, 5.0, 5.0)), "stack")
    widget.set_result(image * 0.5, "half")
    qtbot.wait(60)
    return widget


def test_round_lengths():
    assert [nice_length(v) for v in (1, 1.9, 2, 4.99, 5, 9.9, 10, 740, 0.3)] == [1, 1, 2, 2, 5, 5, 10, 500, 0.2]
    assert bar_length_nm(600, 5.0) == 500  # 750 nm is a quarter of 3 µm


@pytest.mark.parametrize("zoom", [1.0, 4.0, 40.0, 0.25])
def test_scale_bar_fits_the_visible_width(view, qtbot, zoom):
    view.zoom(zoom)
    qtbot.wait(30)
    assert len({bar.length_nm for bar in view._scale_bars}) == 1  # one length in both panes (the linked right
    for box, bar in zip(view.views, view._scale_bars):           # one, a pixel narrower, once said 200 nm to 500)
        visible_nm = view.views[0].viewRect().width() * 5.0
        assert 0 < bar.length_nm <= FRACTION * visible_nm * (1 + 1e-9)
        assert bar.length_nm > FRACTION * visible_nm / 2.5 * (1 - 1e-9)  # the largest round length that fits
        on_screen = bar.bar.rect().width()
        assert 0 < on_screen <= FRACTION * box.width() + 1
        mantissa = bar.length_nm / 10 ** np.floor(np.log10(bar.length_nm))
        assert round(mantissa, 6) in (1, 2, 5)


def test_region_tool(view, qtbot):
    preview, denoise = [], []
    view.region_preview_requested.connect(preview.append)
    view.region_denoise_requested.connect(denoise.append)
    assert view.region() is None and not view.region_tool.box.rois[0].isVisible()
    view.menu.update_entries()
    assert not view.menu.preview_action.isEnabled()
    view.region_action.setChecked(True)
    y0, x0, y1, x1 = view.region()
    assert (y1 - y0, x1 - x0) == (200, 300) and (y0, x0) == (100, 150)  # half the view, centred
    assert all(roi.isVisible() for roi in view.region_tool.box.rois)
    view.set_region((350, 500, 450, 700))  # clipped to the 400 x 600 image
    assert view.region() == (350, 500, 400, 600)
    right = view.region_tool.box.rois[1]  # dragging the right view's box moves the left one
    right.setPos(QtCore.QPointF(10, 20))
    assert view.region() == (20, 10, 120, 210)
    view.menu.update_entries()
    assert view.menu.preview_action.isEnabled() and view.menu.denoise_action.isEnabled()
    view.menu.preview_action.trigger()
    view.menu.denoise_action.trigger()
    assert preview == [(20, 10, 120, 210)] and denoise == [(20, 10, 120, 210)]
    view.region_action.setChecked(False)
    assert view.region() is None and not right.isVisible()


def test_legend_is_its_own_line_under_the_title(view):
    plot = view.profile_plot
    assert plot.names == ("Original — stack", "Result — half (stretched from another scale)")  # shown stretched
    title = plot.getPlotItem().titleLabel
    text = title.text
    assert text.index("Line profile") < text.index("<br>") < text.index("Original — stack") < text.index("Result")
    assert title.item.boundingRect().height() <= plot.getPlotItem().layout.rowMinimumHeight(0)
    plot.set_names("x" * 200, "Result")
    assert "…" in plot.getPlotItem().titleLabel.text  # long names are cut, not run off the plot


def test_line_profile_reads_only_the_line_but_gives_the_same_values():
    image = np.random.default_rng(4).normal(size=(60, 80))
    for p0, p1 in [((3.2, 4.7), (40.1, 60.3)), ((10, 10), (10, 10)), ((59, 0), (0, 79))]:
        for got, want in zip(line_profile(image, p0, p1), metrics.line_profile(image, p0, p1)):
            np.testing.assert_allclose(got, want)


def test_a_line_dragged_off_the_image_is_profiled_only_where_it_crosses_it():
    """Past the edge the profile repeated the edge pixel as if it were data (a 20,000 px profile of an 80 px
    image, 6 s on the GUI thread for a line of 10^7 px)."""
    image = np.random.default_rng(4).normal(size=(60, 80))
    distance, values = line_profile(image, (30, -20), (30, 2000))
    assert distance[0] == 20 and distance[-1] == 99 and len(values) == 80  # from x = 0 to x = 79
    np.testing.assert_allclose(values, image[30])
    distance, values = line_profile(image, (-5, -3), (70, 90))
    want = metrics.line_profile(image, (0, 3.2), (59, 76.36))  # the part on the pixel centres: y from 0 to 59
    np.testing.assert_allclose(values, want[1])
    np.testing.assert_allclose(distance, want[0] + np.hypot(5, 6.2))
    for p0, p1 in [((-10, -10), (-1, 90)), ((30, 100), (30, 200)), ((float("nan"), 0), (10, 10))]:
        assert [len(a) for a in line_profile(image, p0, p1)] == [0, 0]
    distance, values = line_profile(image, (-1e7, -1e7), (1e7, 1e7))  # its diagonal on the image, not 3 * 10^7 px
    assert len(values) == round(59 * 2 ** 0.5) + 1


def test_nan_and_infinite_pixels_are_left_out_of_contrast_iqr_and_high_pass():
    """-inf edges made the contrast (nan, nan): both panes black at every setting; one NaN in the IQR box read
    "result: not computed in the box yet"; one NaN pixel blanked a 40 px square of the high-pass view."""
    from emdenoise_gui.core.metrics import high_pass
    from emdenoise_gui.gui.imaging import percentile_levels
    from emdenoise_gui.gui.panels.profile_plot import box_iqr, iqr_text

    image = np.random.default_rng(1).normal(100, 10, (64, 64))
    image[:, :4] = -np.inf
    image[10, 10] = np.nan
    lo, hi = percentile_levels(image)
    assert np.isfinite(lo) and np.isfinite(hi) and 60 < lo < hi < 140
    assert percentile_levels(np.full((8, 8), np.nan)) == (0.0, 1.0)
    value, bad = box_iqr(image, (0, 0, 20, 20))
    assert bad == 81 and 10 < value < 20  # 4 columns of -inf and the NaN, left out
    text = iqr_text(value, value * 0.5, (0, 0, 20, 20), None, bad)
    assert "not computed" not in text and "81 px in the box are not numbers" in text and "0.500" in text
    filtered = high_pass(image)
    assert np.isnan(filtered[10, 10]) and np.isfinite(filtered[:, 4:]).sum() == 60 * 64 - 1


def test_a_huge_iqr_box_is_read_on_a_grid():
    from emdenoise_gui.gui.panels.profile_plot import IQR_MAX_PX, box_values

    image = np.random.default_rng(2).normal(0, 1, (4000, 4000))
    values, bad = box_values(image, (0, 0, 4000, 4000))
    assert bad == 0 and values.size <= IQR_MAX_PX and values.size > IQR_MAX_PX / 4


@pytest.mark.parametrize("shape", [(200, 1), (1, 200)])
def test_a_one_pixel_wide_stack_gets_a_profile_along_it_and_no_iqr_of_one_pixel(qtbot, shape):
    """The default line crossed a 1 px wide stack's width and missed its only column (an empty plot); the
    IQR box of 1 x 1 px read "IQR original: 0 grey values" as if measured."""
    widget = make_view(qtbot)
    image = np.random.default_rng(5).normal(100, 10, (2, *shape)).astype(np.float32)
    widget.set_original(CountingStack(image, (5.0, 5.0, 5.0)), "thin")
    qtbot.wait(60)
    x, y = widget.profile_plot.original_curve.getData()
    assert x is not None and len(y) == 101
    np.testing.assert_allclose(y, image[0].ravel()[50:151], rtol=1e-6)
    assert "too few to measure noise" in widget.iqr_label.text()
    widget.set_line_points((-50, -50), (-10, -40))
    assert "the yellow line is off the image" in widget.profile_plot.names[0]
    widget.set_line_points((50, 0), (50, 0))  # an empty plot of -600..600 nm without a word (viewer audit)
    assert "the yellow line has no length" in widget.profile_plot.names[0]


def test_both_panes_show_one_scale_bar_length(qtbot):
    """At 1000 x 700 px the linked right view came out 399.08 image px wide against 400: 200 nm beside 500."""
    widget = shown_view(qtbot, 1000, 700)
    image = np.random.default_rng(6).normal(100, 10, (2, 300, 400)).astype(np.float32)
    widget.set_original(CountingStack(image, (5.0, 5.0, 5.0)), "stack")
    widget.set_result(image * 0.5, "half")
    qtbot.wait(100)
    assert [bar.length_nm for bar in widget._scale_bars] == [500.0, 500.0]


def test_a_big_slice_is_drawn_at_the_screens_resolution_until_zoomed_in(qtbot):
    """An 8000^2 slice was converted whole at every slice step (0.4 s of the GUI thread); zoomed out it is
    drawn from every k-th pixel over the same place, zoomed in whole."""
    widget = shown_view(qtbot, 900, 600)
    image = np.random.default_rng(7).normal(100, 10, (2, 2400, 3000)).astype(np.float32)
    widget.set_original(CountingStack(image, (5.0, 5.0, 5.0)), "big")
    qtbot.wait(60)
    item = widget.image_items[0]
    assert item.full is image[0] or np.array_equal(item.full, image[0])
    assert item.step >= 4 and item.image.shape == image[0, ::item.step, ::item.step].shape
    np.testing.assert_array_equal(item.image, image[0, ::item.step, ::item.step])
    assert item.mapRectToParent(item.boundingRect()) == QtCore.QRectF(0, 0, 3000, 2400)  # in place
    widget.set_slice(1)
    np.testing.assert_array_equal(item.image, image[1, ::item.step, ::item.step])
    widget.zoom(20.0)
    qtbot.wait(60)
    assert item.step == 1 and item.image.shape == item.full.shape


def test_a_result_on_another_scale_is_measured_as_shown(qtbot):
    """A [0, 1] result beside 8-bit data is shown stretched; its IQR read "ratio 0.00318" (noise 300 times
    lower) and its profile a flat line at 0 (figure audit of 2026-12-06). Both now measure it as shown, and no
    ratio is given: the stretch comes from the images' percentile spans, which a denoised result narrows."""
    widget = make_view(qtbot)
    image = np.random.default_rng(8).normal(120, 30, (2, 200, 300)).clip(0, 255).astype(np.float32)
    widget.set_original(CountingStack(image, (4.0, 4.0, 4.0)), "isbi")
    widget.set_result(image / 255.0, "scaled")
    qtbot.wait(60)
    text = widget.iqr_label.text()
    assert "ratio result/original" not in text and "no ratio: the result is on another scale" in text
    shown = float(text.split("result: ")[1].split(" grey")[0])
    assert 0.8 < shown / float(text.split("IQR original: ")[1].split(",")[0]) < 1.25  # in the original's units
    assert widget.profile_plot.names[1].endswith("(stretched from another scale)")
    _, result = widget.profile_plot.result_curve.getData()
    _, original = widget.profile_plot.original_curve.getData()
    assert abs(np.median(result) - np.median(original)) < 0.2 * np.ptp(original)


def test_the_titles_name_the_slice_and_both_high_passed_panes(view, qtbot):
    """A figure never said which slice it shows, and with High-pass on only the original's title said so
    (figure audit of 2026-12-06)."""
    view.set_slice(1)
    original, result = view.pane_titles()
    assert "slice 1  ·" in original and "slice" not in result
    view.high_pass_action.setChecked(True)
    qtbot.waitUntil(lambda: "computing" not in view.titles[0].toolTip(), timeout=5000)
    assert all("high-pass σ 5 px" in title for title in view.pane_titles())
    single = make_view(qtbot)
    single.set_original(CountingStack(np.zeros((1, 40, 40), np.float32), (4.0, 4.0, 4.0)), "one")
    assert "slice" not in single.pane_titles()[0]


def test_a_title_too_long_shortens_the_stack_name_first(qtbot):
    """At the default window with High-pass on, "Original — fibsem_flyem_m…m/px  ·  high-pass σ 5 px" lost the
    slice number and the pixel size (viewer audit)."""
    from emdenoise_gui.gui.panels.view_widgets import Title

    title = Title()
    qtbot.addWidget(title)
    text = ("Original — fibsem_flyem_medulla_val_z000-127_128x520x520.tif  ·  slice 17  ·  10 nm/px  ·  "
            "high-pass σ 5 px")
    width = title.fontMetrics().horizontalAdvance(text) * 2 // 3
    shown = title.fitted(text, width)
    assert shown.startswith("Original — fi") and "…" in shown and shown.count("…") == 1
    assert shown.endswith("  ·  slice 17  ·  10 nm/px  ·  high-pass σ 5 px")
    assert title.fontMetrics().horizontalAdvance(shown) <= width
    tiny = title.fitted(text, 60)  # no room even for the parts: the middle of the whole goes
    assert title.fontMetrics().horizontalAdvance(tiny) <= 60 and title.fitted("short", 500) == "short"


def test_the_high_pass_of_a_region_preview_has_no_frame_along_its_edge():
    """A region's preview is NaN outside the region: its low-pass took the slice's median there, and a preview equal
    to the original inside the region showed a frame 8 grey levels deep along the edge (view audit of 2026-12-07).
    The original's pixels stand in for the NaN: inside, the two high-passes are equal."""
    from emdenoise_gui.gui.panels.high_pass import within

    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:200, 0:200]
    image = (100 + 60 * np.sin(xx / 9.0) * np.cos(yy / 13.0) + rng.normal(0, 5, (200, 200))).astype(np.float32)
    preview = np.full_like(image, np.nan)
    preview[60:140, 60:140] = image[60:140, 60:140]
    passed = within(preview, image)
    np.testing.assert_allclose(passed[60:140, 60:140], within(image)[60:140, 60:140], atol=1e-4)
    assert np.isnan(passed[:60]).all() and np.isnan(passed[:, 140:]).all()
