"""Figures from the compare view: full resolution PNG, SVG, clipboard; the right-click menu; screenshot."""

import xml.etree.ElementTree as ElementTree
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("pytestqt")
import tifffile  # noqa: E402
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402
from scipy import ndimage  # noqa: E402

from emdenoise_gui.gui.panels import figure  # noqa: E402
from emdenoise_gui.gui.panels.compare_view import CompareView  # noqa: E402
from tests.gui.test_compare_view import CountingStack  # noqa: E402
from tests.gui.test_view_iqr_box import DATA, IMAGES, make_view  # noqa: E402


@pytest.fixture
def view(qtbot):
    rng = np.random.default_rng(3)
    original = rng.normal(1000, 50, (2, 300, 400)).astype(np.float32)
    widget = make_view(qtbot)
    widget.set_original(CountingStack(original, (4.0, 4.0, 4.0)), "cell.tif")
    widget.set_result(ndimage.gaussian_filter(original, (0, 2, 2)), "Gaussian σ 2 px")
    return widget


def expected_size(with_profile=False):
    layout = figure._Layout(400, 300, with_profile)
    return layout.width, layout.height


def test_png_is_full_resolution(view, tmp_path):
    path = figure.save_figure(view, tmp_path / "fig.png")
    saved = QtGui.QImage(str(path))
    layout = figure._Layout(400, 300, False)
    assert (saved.width(), saved.height()) == (layout.width, layout.height)
    assert saved.width() == 2 * 400 + 3 * layout.margin  # both panes, one image px per figure px
    pane = layout.panes[0]
    left = QtGui.QImage(saved).copy(pane)  # the left pane is the original with the view's contrast
    assert (left.width(), left.height()) == (400, 300)
    with_profile = figure.render_figure(view, with_profile=True)
    assert with_profile.width() == saved.width() and with_profile.height() > saved.height()


def test_svg_is_valid_xml_with_the_images(view, tmp_path):
    path = figure.save_figure(view, tmp_path / "fig.svg", with_profile=True)
    root = ElementTree.parse(path).getroot()
    tags = {element.tag.rsplit("}", 1)[-1] for element in root.iter()}
    assert root.tag.endswith("svg") and "image" in tags and ("path" in tags or "polyline" in tags)
    assert "Original — cell.tif" in path.read_text()


def test_wrong_suffix_is_refused_in_words(view, tmp_path):
    with pytest.raises(ValueError, match=r"saved as \.png or \.svg"):
        figure.save_figure(view, tmp_path / "fig.jpg")


def test_no_figure_without_an_image(qtbot):
    empty = CompareView()
    qtbot.addWidget(empty)
    with pytest.raises(ValueError, match="open a stack first"):
        figure.render_figure(empty)


def test_copy_puts_the_figure_on_the_clipboard(view, qtbot):
    """The figure is painted in the background (seconds for a large slice, once on the GUI thread)."""
    QtWidgets.QApplication.clipboard().clear()
    messages = []
    view.hover.connect(messages.append)
    view.menu.copy_action.trigger()
    assert messages == ["Copying the figure…"]
    qtbot.waitUntil(lambda: not QtWidgets.QApplication.clipboard().image().isNull(), timeout=10000)
    copied = QtWidgets.QApplication.clipboard().image()
    assert copied.width() == expected_size()[0] and messages[-1].startswith("Figure copied (")


def test_right_click_on_either_view_opens_the_menu(view, qtbot):
    for box in view.views:
        box.raiseContextMenu(SimpleNamespace(screenPos=lambda: QtCore.QPointF(200, 200)))
        assert view.menu.isVisible()
        assert [a.text() for a in view.menu.actions()[:2]] == ["Save figure…", "Copy figure to clipboard"]
        view.menu.close()


def test_menu_entries(view, qtbot):
    menu = view.menu
    menu.update_entries()
    assert menu.save_action.isEnabled() and menu.copy_action.isEnabled()
    assert not menu.preview_action.isEnabled() and not menu.denoise_action.isEnabled()
    assert "Region tool" in menu.preview_action.toolTip()
    view.line_action.setChecked(False)
    menu.update_entries()
    assert not menu.profile_action.isEnabled()


def test_screenshot_of_an_exported_figure(qtbot, tmp_path):
    """docs/images/view_figure.png: a real FIB-SEM slice and its Gaussian-filtered result, with profile."""
    if not DATA.exists():
        pytest.skip("../shared/data is not beside this checkout")
    stack = tifffile.imread(DATA, key=range(2))
    view = make_view(qtbot, (1200, 800))
    view.set_original(CountingStack(stack, (10.0, 10.0, 10.0)), "FlyEM medulla FIB-SEM")
    view.set_result(np.stack([ndimage.gaussian_filter(s.astype(np.float32), 1.5) for s in stack]),
                    "Gaussian σ 1.5 px")
    view.set_line_points((150.0, 40.0), (330.0, 470.0))
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = figure.save_figure(view, IMAGES / "view_figure.png", with_profile=True)
    saved = QtGui.QImage(str(path))
    assert saved.width() == 2 * 520 + 3 * figure._Layout(520, 520, True).margin


def test_menu_saves_in_the_background(view, qtbot, tmp_path):
    messages = []
    view.hover.connect(messages.append)
    path = tmp_path / "background.svg"
    view.menu.save(path)  # what "Save figure…" does once a name is chosen
    assert messages == [f"Saving the figure to {path}…"]
    qtbot.waitUntil(lambda: messages[-1] == f"Figure saved to {path}", timeout=10000)
    assert ElementTree.parse(path).getroot().tag.endswith("svg")


def test_a_name_typed_without_suffix_asks_before_replacing_that_file(view, qtbot, tmp_path, monkeypatch):
    """The dialog's overwrite question covered 'fig'; fig.png was replaced without a word (audit 2026-12-06)."""
    asked, saved = [], []
    (tmp_path / "fig.png").write_text("MY PRECIOUS FIGURE")
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "fig"), "PNG image (*.png)"))
    monkeypatch.setattr(QtWidgets.QMessageBox, "exec", lambda box: asked.append(box.text()))  # closed: kept
    monkeypatch.setattr(view.menu, "save", saved.append)
    view.menu.save_dialog()
    assert asked == ["fig.png already exists. Replace it?"] and saved == []
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "new"), "SVG image (*.svg)"))
    view.menu.save_dialog()  # no such file: saved without a question
    assert saved == [tmp_path / "new.svg"] and len(asked) == 1


def test_the_profile_axes_and_title_stay_readable_on_black(view, monkeypatch):
    """The figure draws the plot's axes, tick labels and title in its own grey: a figure once came out
    with only the curves and legend (the default foreground drawn black on black)."""
    import pyqtgraph as pg

    def grey_pixels(foreground) -> int:
        monkeypatch.setitem(pg.CONFIG_OPTIONS, "foreground", foreground)
        image = figure.render_figure(view, with_profile=True)
        plot = image.copy(figure._Layout(400, 300, True).profile).convertToFormat(QtGui.QImage.Format.Format_RGB888)
        rgb = np.frombuffer(plot.constBits(), np.uint8).reshape(plot.height(), plot.bytesPerLine())
        rgb = rgb[:, :3 * plot.width()].reshape(plot.height(), plot.width(), 3).astype(int)
        neutral = (np.ptp(rgb, axis=2) < 8) & (rgb[..., 0] > 120)  # light grey: axes, ticks, title
        return int(neutral.sum())

    assert grey_pixels("k") > 1000
    assert abs(grey_pixels("k") - grey_pixels("d")) < 50  # the same figure whatever the default


def narrow_view(qtbot, shape, name="cell.tif"):
    rng = np.random.default_rng(5)
    original = rng.normal(1000, 50, (2, *shape)).astype(np.float32)
    widget = make_view(qtbot)
    widget.set_original(CountingStack(original, (2.0, 2.0, 2.0)), name)
    widget.set_result(ndimage.gaussian_filter(original, (0, 1, 1)), "Gaussian σ 1 px")
    return widget


def test_a_narrow_image_is_enlarged_by_whole_pixels(qtbot):
    """A 40 px wide crop once came out 40 px wide under a title cut to 'O…f' and a scale bar label
    wider than the image; it is now enlarged x8 (each image px an 8 x 8 square), and says so."""
    view = narrow_view(qtbot, (60, 40))
    composed = figure.Figure(view)
    layout = composed.layout
    assert composed.scale == (8, 8) and layout.panes[0].width() == 320 and layout.panes[0].height() == 480
    assert "enlarged ×8" in " ".join(composed.titles[0])
    rendered = composed.to_image()
    plain = figure.figure_panes(view)[0][1]  # the same pane at one figure px per image px
    pane = rendered.copy(layout.panes[0]).convertToFormat(QtGui.QImage.Format.Format_RGB32)
    plain = plain.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    for y, x in ((0, 0), (5, 7), (30, 20), (59, 0)):  # clear of the scale bar at the bottom right
        block = {pane.pixel(8 * x + dx, 8 * y + dy) for dx in (0, 3, 7) for dy in (0, 4, 7)}
        assert block == {plain.pixel(x, y)}


def test_titles_break_between_their_parts(qtbot):
    font = figure._title_font(14)
    metrics = QtGui.QFontMetricsF(font)
    title = "Original — cell.tif  ·  4 nm/px  ·  high-pass σ 2 px"
    width = metrics.horizontalAdvance("Original — cell.tif  ·  4 nm/px") + 2
    lines = figure.title_lines(title, metrics, width)
    assert lines == ["Original — cell.tif  ·  4 nm/px", "high-pass σ 2 px"]
    assert figure.title_lines(title, metrics, 10_000) == [title]
    many = figure.title_lines("  ·  ".join(["a part of some length"] * 6), metrics, width)
    assert len(many) == figure.TITLE_LINES and many[-1].endswith("…")
    assert all(metrics.horizontalAdvance(line) <= width for line in lines + many)


def test_a_tall_narrow_image_keeps_its_scale_bar_and_titles_in_its_column(qtbot):
    """A 12 x 2100 px strip is not enlarged (too tall); the scale bar's label, wider than the strip,
    and the titles stay inside the strip's column: the margins between the columns stay black."""
    view = narrow_view(qtbot, (2100, 12), name="a_long_strip_from_the_microscope_session.tif")
    composed = figure.Figure(view)
    layout = composed.layout
    assert composed.scale == (1, 1) and layout.columns[0].width() == figure.MIN_PANE_PX
    image = composed.to_image().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    black = QtGui.QColor("black").rgb()
    first, second = layout.columns
    for x in list(range(first.left())) + list(range(first.right() + 1, second.left())) \
            + list(range(second.right() + 1, layout.width)):
        for y in range(0, layout.height, 7):
            assert image.pixel(x, y) == black, (x, y)
    metrics = QtGui.QFontMetricsF(view.font())
    for pane, column in zip(layout.panes, layout.columns):
        _, bar, text, box = figure.scale_bar_rects(pane, column, composed.pixel_nm, layout.font_px, metrics)
        assert QtCore.QRectF(column).contains(box) and QtCore.QRectF(pane).contains(bar)
    assert len(composed.titles[0]) == 2  # the name and the pixel size on lines of their own


def test_a_short_panes_scale_bar_stays_off_the_titles(qtbot):
    """A 20 px tall image had its bar 60 px above the pane's bottom, over the title (view audit 2026-12-06)."""
    view = narrow_view(qtbot, (20, 2000))
    composed = figure.Figure(view)
    metrics = QtGui.QFontMetricsF(view.font())
    for pane, column in zip(composed.layout.panes, composed.layout.columns):
        _, bar, text, _ = figure.scale_bar_rects(pane, column, composed.pixel_nm, composed.layout.font_px, metrics)
        assert QtCore.QRectF(pane).contains(bar) and text.top() >= pane.top() - 1


def test_iqr_values_far_apart_keep_their_own_digits():
    from emdenoise_gui.gui.panels.profile_plot import iqr_text, same_decimals

    assert same_decimals(5900.0, 0.09) == ["5900", "0.09"]
    text = iqr_text(5900.0, 0.09, (0, 0, 50, 50), None)
    assert "result: 0.09 grey values" in text and "ratio result/original 1.53e-05" in text


def test_pixels_that_are_not_square_are_drawn_square(qtbot):
    """A figure of 2 x 4 nm pixels drew one image px per figure px: circles came out as 2:1 ellipses under a
    correct scale bar (view audit 2026-12-07). Each pixel is now a 1:2 block, as the viewer shows it."""
    assert figure.drawn_size(400, 300, (1.0, 4.0, 2.0)) == ((400, 600), 1)
    assert figure.drawn_size(400, 300, (1.0, 2.0, 4.0)) == ((800, 300), 1)
    assert figure.drawn_size(400, 300, None) == ((400, 300), 1)
    assert figure.drawn_size(4096, 4096, (1.0, 10.0, 1.0)) == ((819, 8192), 1)  # not 40,960 px tall
    view = make_view(qtbot)
    rng = np.random.default_rng(6)
    data = rng.normal(1000, 50, (2, 30, 40)).astype(np.float32)
    view.set_original(CountingStack(data, (30.0, 4.0, 2.0)), "aniso.tif")
    composed = figure.Figure(view)
    pane = composed.layout.panes[0]
    assert composed.scale == (8, 16) and (pane.width(), pane.height()) == (320, 480)
    assert composed.pixel_nm == pytest.approx(2.0 / 8)  # the scale bar measures along x
    rendered = composed.to_image().copy(pane).convertToFormat(QtGui.QImage.Format.Format_RGB32)
    plain = figure.figure_panes(view)[0][1].convertToFormat(QtGui.QImage.Format.Format_RGB32)
    for y, x in ((0, 0), (5, 7), (20, 13)):
        assert {rendered.pixel(8 * x + dx, 16 * y + dy) for dx in (0, 7) for dy in (0, 9, 15)} == {plain.pixel(x, y)}


def test_anisotropic_pixels_are_named_in_the_title(qtbot):
    view = make_view(qtbot)
    data = np.zeros((2, 30, 40), np.float32)
    view.set_original(CountingStack(data, (30.0, 4.0, 2.0)), "aniso.tif")
    assert "x 2 × y 4 nm/px" in view.pane_titles()[0]


def test_a_profile_line_past_the_images_edge_stops_at_it_and_the_plot_has_room(view):
    """A line dragged past the image was drawn across the margins and the other pane; the profile's plot
    area was about 30 px tall under a 300 px image."""
    view.set_line_points((100, -150), (100, 550))
    composed = figure.Figure(view, with_profile=True)
    image = composed.to_image().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    layout = composed.layout
    line = QtGui.QColor(figure.LINE_COLOUR).rgb()
    y = layout.panes[0].top() + 100
    inside = [x for x in range(layout.width) if any(r.left() <= x <= r.right() for r in layout.panes)]
    outside = [x for x in range(layout.width) if x not in inside]
    assert any(image.pixel(x, y) == line for x in inside)
    assert not any(image.pixel(x, y) == line for x in outside)
    assert layout.profile.height() >= 14 * layout.font_px
