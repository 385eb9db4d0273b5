"""Figures of the compare view: original and result side by side at full image resolution.

A figure is what the two side-by-side panes show (with the current contrast, high-pass or
residual), one image pixel per figure pixel, each with its title above it and, when the
pixel size is known, a scale bar; optionally the line profile plot below both (and the
yellow line drawn over both panes, so the reader sees where it was taken). Black
background, white text, like the viewer. PNG or SVG (images embedded, text and bars as
vectors), or the clipboard.

:class:`Figure` reads everything from the view in the GUI thread (about 0.7 s for two
4096 x 4096 panes); painting and writing it (PNG encoding takes seconds at that size) need no
widget and may run on a background thread. The view (a ``CompareView``) hands in
``has_image()``, ``shown_pair()``, ``contrast``, ``pane_titles()``, ``voxel_size()`` -> (z, y, x)
nm or None, ``line_points()`` -> ((y0, x0), (y1, x1)) px and ``profile_plot`` (a ``ProfilePlot``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtSvg, QtWidgets

from emdenoise_gui.gui.imaging import percentile_levels, render_levels
from emdenoise_gui.gui.panels.contrast import AUTO_PERCENTILES, residual_image
from emdenoise_gui.gui.panels.profile_plot import LINE_PEN, ProfilePlot, format_nm
from emdenoise_gui.gui.panels.scale_bar import bar_length_nm

SUFFIXES = (".png", ".svg")
BACKGROUND, TEXT = QtGui.QColor("black"), QtGui.QColor("white")
#: The profile plot's axes, tick labels and title: the viewer's grey, set explicitly (not pyqtgraph's default).
PLOT_TEXT = "#c8c8c8"
LINE_COLOUR = LINE_PEN.color()
#: Sizes as fractions of the image width: title font, margins, profile plot height (of the height).
FONT_FRACTION, MARGIN_FRACTION, PROFILE_FRACTION = 0.03, 0.03, 0.4
MIN_FONT_PX = 14
#: On-screen font size (pt) the profile plot is laid out for before it is scaled into the figure.
PLOT_FONT_PT = 9
_LEFT_MIDDLE = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter


class _Layout:
    """Where everything goes, in figure px, for panes of ``width`` x ``height`` px."""

    def __init__(self, width: int, height: int, with_profile: bool):
        self.font_px = max(MIN_FONT_PX, round(width * FONT_FRACTION))
        self.margin = max(8, round(width * MARGIN_FRACTION))
        self.title_h = round(self.font_px * 1.8)
        top = self.margin + self.title_h
        self.panes = [QtCore.QRect(self.margin + i * (width + self.margin), top, width, height) for i in range(2)]
        self.width = 3 * self.margin + 2 * width
        self.profile = None
        bottom = top + height + self.margin
        if with_profile:
            profile_h = max(round(height * PROFILE_FRACTION), 8 * self.font_px)
            self.profile = QtCore.QRect(self.margin, bottom, self.width - 2 * self.margin, profile_h)
            bottom += profile_h + self.margin
        self.height = bottom


def figure_panes(view) -> list[tuple[str, QtGui.QImage]]:
    """Both panes as side by side shows them: [(title, QImage of the full (Y, X) slice with the
    current contrast and colour map)] x 2. The right pane is the residual when Residual is on
    (side by side), black where there is no result. ValueError without an image."""
    if not view.has_image():
        raise ValueError("there is no image to make a figure of: open a stack first")
    original, result, kind = view.shown_pair()
    levels = view.contrast.limits[kind] or percentile_levels(original, AUTO_PERCENTILES)
    lut = view.contrast.lookup_table()
    residual = None
    if result is None:
        right = render_levels(np.full(original.shape, np.nan, np.float32), levels)
    elif view.residual_action.isChecked() and view.residual_action.isEnabled():
        image, residual = residual_image(original, result)
        right = render_levels(image, residual, lut)
    else:
        right = render_levels(result, levels, lut)
    titles = view.pane_titles(residual)
    return [(titles[0], render_levels(original, levels, lut)), (titles[1], right)]


class Figure:
    """A figure of ``view`` as it is now (read in the GUI thread); paint or save it from any thread.

    ``width`` x ``height`` px: 2 x image width + 3 margins, by margin + title + image height + margin
    (+ profile + margin).
    """

    def __init__(self, view, with_profile: bool = False):
        self.panes = figure_panes(view)
        size = self.panes[0][1].size()
        self.layout = _Layout(size.width(), size.height(), with_profile)
        self.width, self.height = self.layout.width, self.layout.height
        voxel = view.voxel_size()
        self.pixel_nm = voxel[2] if voxel else None
        self.line = view.line_points() if with_profile else None
        self.profile = _profile_picture(view.profile_plot, self.layout) if with_profile else None

    def paint(self, painter: QtGui.QPainter) -> None:
        """Paint over (0, 0, width, height) px with ``painter``."""
        layout = self.layout
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.fillRect(QtCore.QRect(0, 0, layout.width, layout.height), BACKGROUND)
        font = QtGui.QFont(painter.font())
        font.setPixelSize(layout.font_px)
        for rect, (title, image) in zip(layout.panes, self.panes):
            painter.drawImage(rect.topLeft(), image)
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(TEXT)
            text = QtGui.QFontMetrics(font).elidedText(title, QtCore.Qt.TextElideMode.ElideMiddle, rect.width())
            painter.drawText(QtCore.QRect(rect.left(), layout.margin, rect.width(), layout.title_h),
                             int(_LEFT_MIDDLE), text)
            font.setBold(False)
            painter.setFont(font)
            if self.pixel_nm:
                _paint_scale_bar(painter, rect, self.pixel_nm, layout.font_px)
            if self.line is not None:  # where the profile was taken
                (y0, x0), (y1, x1) = self.line
                painter.setPen(QtGui.QPen(LINE_COLOUR, max(1.5, layout.font_px * 0.15)))
                painter.drawLine(QtCore.QPointF(rect.left() + x0 + 0.5, rect.top() + y0 + 0.5),
                                 QtCore.QPointF(rect.left() + x1 + 0.5, rect.top() + y1 + 0.5))
        if self.profile is not None:
            painter.drawPicture(0, 0, self.profile)

    def to_image(self) -> QtGui.QImage:
        """The figure as an RGB32 QImage of ``width`` x ``height`` px."""
        image = QtGui.QImage(self.width, self.height, QtGui.QImage.Format.Format_RGB32)
        image.setDotsPerMeterX(3780)  # 96 dpi, as the profile was laid out
        image.setDotsPerMeterY(3780)
        painter = QtGui.QPainter(image)
        try:
            self.paint(painter)
        finally:
            painter.end()
        return image

    def save(self, path) -> Path:
        """Write to ``path``, PNG or SVG by its suffix. Returns the path; ValueError or OSError if not."""
        path = check_path(path)
        cannot = OSError(f"could not write {path}: check that the folder exists and you may write there")
        if path.suffix.lower() == ".png":
            if not self.to_image().save(str(path), "PNG"):
                raise cannot
            return path
        svg = QtSvg.QSvgGenerator()
        svg.setFileName(str(path))
        svg.setSize(QtCore.QSize(self.width, self.height))
        svg.setViewBox(QtCore.QRect(0, 0, self.width, self.height))
        svg.setResolution(96)
        svg.setTitle(self.panes[0][0])
        svg.setDescription("EMDenoise comparison figure")
        painter = QtGui.QPainter()
        if not painter.begin(svg):
            raise cannot
        try:
            self.paint(painter)
        finally:
            painter.end()
        return path


def check_path(path) -> Path:
    """``path`` as a Path if it names a PNG or SVG file; ValueError in words otherwise."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"a figure is saved as .png or .svg, not '{path.suffix or 'no suffix'}': "
                         f"name the file e.g. {path.stem}.png")
    return path


def _paint_scale_bar(painter: QtGui.QPainter, pane: QtCore.QRect, pixel_nm: float, font_px: int) -> None:
    """A white bar of a round length (at most a quarter of the pane) and its length, bottom right."""
    length_nm = bar_length_nm(pane.width(), pixel_nm)
    bar_w, bar_h = length_nm / pixel_nm, max(3.0, font_px * 0.35)
    inset = max(6.0, pane.width() * 0.03)
    bar = QtCore.QRectF(pane.right() + 1 - inset - bar_w, pane.bottom() + 1 - inset - bar_h, bar_w, bar_h)
    label = format_nm(length_nm)
    metrics = QtGui.QFontMetricsF(painter.font())
    text_w = metrics.horizontalAdvance(label)
    text = QtCore.QRectF(bar.center().x() - text_w / 2, bar.top() - metrics.height() * 1.1,
                         text_w, metrics.height())
    painter.fillRect(text.united(bar).adjusted(-font_px * 0.3, -font_px * 0.1, font_px * 0.3, font_px * 0.25),
                     QtGui.QColor(0, 0, 0, 150))  # readable over bright cytoplasm too
    painter.fillRect(bar, TEXT)
    painter.setPen(TEXT)
    painter.drawText(text, int(QtCore.Qt.AlignmentFlag.AlignCenter), label)


def _profile_picture(live: ProfilePlot, layout: _Layout) -> QtGui.QPicture:
    """The line profile (a copy of ``live``'s curves, names and axes) laid out for its fonts and
    recorded, scaled into ``layout.profile``, as a QPicture (replayable in any thread)."""
    target = layout.profile
    scale = layout.font_px / (PLOT_FONT_PT * 96 / 72)  # the plot's fonts come out at about the title's size
    width, height = target.width() / scale, target.height() / scale
    plot = ProfilePlot()
    plot.set_text_colour(PLOT_TEXT)
    picture = QtGui.QPicture()
    try:
        item = plot.getPlotItem()
        for mine, theirs in ((plot.original_curve, live.original_curve), (plot.result_curve, live.result_curve)):
            x, y = theirs.getData()
            mine.setData([] if x is None else x, [] if y is None else y)
        plot.set_names(*live.names)
        item.setLabel("bottom", live.getPlotItem().getAxis("bottom").labelText)
        item.setGeometry(QtCore.QRectF(0, 0, width, height))
        item.layout.activate()
        item.vb.autoRange(padding=0.02)
        painter = QtGui.QPainter(picture)
        try:
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
            plot.scene().render(painter, QtCore.QRectF(target), QtCore.QRectF(0, 0, width, height))
        finally:
            painter.end()
    finally:
        plot.deleteLater()
    return picture


def render_figure(view, with_profile: bool = False) -> QtGui.QImage:
    """The figure of ``view`` as an RGB32 QImage (see :class:`Figure` for its size)."""
    return Figure(view, with_profile).to_image()


def save_figure(view, path, with_profile: bool = False) -> Path:
    """Write the figure of ``view`` to ``path``: PNG or SVG by its suffix (ValueError otherwise)."""
    return Figure(view, with_profile).save(check_path(path))


def copy_figure(view, with_profile: bool = False) -> QtGui.QImage:
    """Put the figure on the clipboard as an image (for pasting into slides or a paper); returns it."""
    image = render_figure(view, with_profile)
    QtWidgets.QApplication.clipboard().setImage(image)
    return image
