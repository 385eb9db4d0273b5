"""Figures of the compare view: original and result side by side at full image resolution.

A figure is what the two side-by-side panes show (with the current contrast, high-pass or
residual), one image pixel per figure pixel, each with its title above it and, when the
pixel size is known, a scale bar; optionally the line profile plot below both (and the
yellow line drawn over both panes, so the reader sees where it was taken). Black
background, white text, like the viewer. PNG or SVG (images embedded, text and bars as
vectors), or the clipboard.

A narrow image (a crop, a detail) is enlarged by a whole factor, each image pixel a square
of figure pixels (no interpolation, said in the title), until it is :data:`MIN_PANE_PX`
wide; where that would make it too tall, it sits centred in a column that wide. Pixels that
are not square (a voxel size whose y and x differ) are stretched square along their longer
side, as the viewer shows them. Titles
that do not fit their column break at their " · " parts onto a second line.

:class:`Figure` reads everything from the view in the GUI thread (about 0.7 s for two
4096 x 4096 panes); painting and writing it (PNG encoding takes seconds at that size) need no
widget and may run on a background thread. The view (a ``CompareView``) hands in
``has_image()``, ``shown_pair()``, ``contrast``, ``pane_titles()``, ``voxel_size()`` -> (z, y, x)
nm or None, ``line_points()`` -> ((y0, x0), (y1, x1)) px and ``profile_plot`` (a ``ProfilePlot``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtSvg

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
FONT_FRACTION, MARGIN_FRACTION, PROFILE_FRACTION = 0.03, 0.03, 0.5
MIN_FONT_PX = 14
#: On-screen font size (pt) the profile plot is laid out for before it is scaled into the figure.
PLOT_FONT_PT = 9
#: Narrowest pane column (figure px): a narrower image is enlarged by a whole factor up to this width
#: (at most :data:`MAX_ZOOM` times, and not beyond :data:`MAX_ZOOMED_HEIGHT_PX` tall), then centred.
MIN_PANE_PX, MAX_ZOOM, MAX_ZOOMED_HEIGHT_PX = 320, 16, 4096
#: Longest side of a pane (figure px) where pixels that are not square are stretched square (a 4096 px slice of
#: 1 x 10 nm pixels would be 40,960 px tall): beyond it the pane is scaled down (smoothly) instead.
MAX_DRAWN_PX = 8192
#: Title lines at most; what is left over is elided on the last one.
TITLE_LINES = 2
#: Where a title may break onto its next line.
TITLE_PARTS = "  ·  "
_LEFT_BOTTOM = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignBottom


def zoom_for(width: int, height: int) -> int:
    """The whole factor a ``width`` x ``height`` px image is enlarged by in a figure (1: not at all)."""
    if width >= MIN_PANE_PX:
        return 1
    return max(1, min(-(-MIN_PANE_PX // max(width, 1)), MAX_ZOOM, MAX_ZOOMED_HEIGHT_PX // max(height, 1)))


def drawn_size(width: int, height: int, voxel_nm) -> tuple[tuple[int, int], int]:
    """((width, height) in figure px, whole enlargement) for a ``width`` x ``height`` px image whose pixels are
    ``voxel_nm`` (z, y, x) nm (None: square): the longer pixel side stretched so that pixels are square, as
    the viewer shows them (a figure of 2 x 4 nm pixels drew circles as 2:1 ellipses), then a narrow image
    enlarged (:func:`zoom_for`); all of it shrunk to at most :data:`MAX_DRAWN_PX` on its longer side."""
    aspect = voxel_nm[1] / voxel_nm[2] if voxel_nm and voxel_nm[1] > 0 and voxel_nm[2] > 0 else 1.0
    base_w, base_h = (width, height * aspect) if aspect >= 1 else (width / aspect, height)
    zoom = zoom_for(max(1, round(base_w)), max(1, round(base_h)))
    shrink = min(1.0, MAX_DRAWN_PX / (max(base_w, base_h) * zoom))
    return (max(1, round(base_w * zoom * shrink)), max(1, round(base_h * zoom * shrink))), zoom


class _Layout:
    """Where everything goes, in figure px, for panes of ``width`` x ``height`` figure px (the images as
    drawn: enlarged, pixels not square made so).

    ``panes`` are the images' rects, each centred in its column of ``columns`` (as wide as the pane, at least
    :data:`MIN_PANE_PX`), the titles above them ``title_lines`` lines high.
    """

    def __init__(self, width: int, height: int, with_profile: bool, title_lines: int = 1):
        column = max(width, MIN_PANE_PX)
        self.font_px = max(MIN_FONT_PX, round(column * FONT_FRACTION))
        self.margin = max(8, round(column * MARGIN_FRACTION))
        self.title_h = round(self.font_px * (0.6 + 1.2 * title_lines))
        top = self.margin + self.title_h
        self.columns = [QtCore.QRect(self.margin + i * (column + self.margin), top, column, height) for i in range(2)]
        self.panes = [QtCore.QRect(c.left() + (column - width) // 2, top, width, height) for c in self.columns]
        self.width = 3 * self.margin + 2 * column
        self.profile = None
        bottom = top + height + self.margin
        if with_profile:
            # its title, legend, ticks and axis label take about 7 font heights: at least as many for the curves
            profile_h = max(round(height * PROFILE_FRACTION), 14 * self.font_px)
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

    ``width`` x ``height`` px: 2 columns + 3 margins, by margin + title + image height + margin
    (+ profile + margin); a column is the image's width as drawn (:func:`drawn_size`: enlarged when narrow,
    stretched where pixels are not square), at least :data:`MIN_PANE_PX`. ``titles``: each pane's title lines.
    """

    def __init__(self, view, with_profile: bool = False):
        panes = figure_panes(view)
        voxel = view.voxel_size()
        width, height = panes[0][1].width(), panes[0][1].height()
        drawn, zoom = drawn_size(width, height, voxel)
        if drawn != (width, height):  # enlarged (nearest: nothing interpolated), or its pixels made square
            mode = QtCore.Qt.TransformationMode
            smooth = drawn[0] < width or drawn[1] < height  # only past MAX_DRAWN_PX
            panes = [(f"{title}{TITLE_PARTS}enlarged ×{zoom}" if i == 0 and zoom > 1 else title,
                      image.scaled(*drawn, QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
                                   mode.SmoothTransformation if smooth else mode.FastTransformation))
                     for i, (title, image) in enumerate(panes)]
        #: figure px per image px along x and y (equal where pixels are square)
        self.scale = (drawn[0] / width, drawn[1] / height)
        layout = _Layout(*drawn, with_profile)
        font = _title_font(layout.font_px)
        self.titles = [title_lines(title, QtGui.QFontMetricsF(font), layout.columns[0].width()) for title, _ in panes]
        lines = max(len(lines) for lines in self.titles)
        self.layout = layout if lines == 1 else _Layout(*drawn, with_profile, lines)
        self.panes = panes
        self.width, self.height = self.layout.width, self.layout.height
        self.pixel_nm = voxel[2] / self.scale[0] if voxel else None  # nm per figure px
        self.line = view.line_points() if with_profile else None
        self.profile = _profile_picture(view.profile_plot, self.layout) if with_profile else None

    def paint(self, painter: QtGui.QPainter) -> None:
        """Paint over (0, 0, width, height) px with ``painter``."""
        layout = self.layout
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.fillRect(QtCore.QRect(0, 0, layout.width, layout.height), BACKGROUND)
        title_font, font = _title_font(layout.font_px), QtGui.QFont(painter.font())
        font.setPixelSize(layout.font_px)
        for column, rect, lines, (_, image) in zip(layout.columns, layout.panes, self.titles, self.panes):
            painter.drawImage(rect.topLeft(), image)
            painter.setFont(title_font)
            painter.setPen(TEXT)
            painter.drawText(QtCore.QRect(column.left(), layout.margin, column.width(),
                                          layout.title_h - round(0.3 * layout.font_px)),
                             int(_LEFT_BOTTOM), "\n".join(lines))  # a one-line title by the other's last line
            painter.setFont(font)
            if self.pixel_nm:
                _paint_scale_bar(painter, rect, column, self.pixel_nm, layout.font_px)
            if self.line is not None:  # where the profile was taken
                (y0, x0), (y1, x1) = self.line
                sx, sy = self.scale
                painter.save()
                painter.setClipRect(rect)  # a line dragged past the image's edge stops at it
                painter.setPen(QtGui.QPen(LINE_COLOUR, max(1.5, layout.font_px * 0.15)))
                painter.drawLine(QtCore.QPointF(rect.left() + (x0 + 0.5) * sx, rect.top() + (y0 + 0.5) * sy),
                                 QtCore.QPointF(rect.left() + (x1 + 0.5) * sx, rect.top() + (y1 + 0.5) * sy))
                painter.restore()
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


def _title_font(font_px: int) -> QtGui.QFont:
    font = QtGui.QFont()
    font.setPixelSize(font_px)
    font.setBold(True)
    return font


def title_lines(title: str, metrics: QtGui.QFontMetricsF, width: float) -> list[str]:
    """``title`` in at most :data:`TITLE_LINES` lines of at most ``width`` px: broken between its
    " · " parts, a part too long for a line elided in its middle, what does not fit elided at the end."""
    lines: list[str] = []
    for part in title.split(TITLE_PARTS):
        joined = f"{lines[-1]}{TITLE_PARTS}{part}" if lines else part
        if lines and metrics.horizontalAdvance(joined) <= width:
            lines[-1] = joined
        else:
            lines.append(part)
    if len(lines) > TITLE_LINES:
        rest = TITLE_PARTS.join(lines[TITLE_LINES - 1:])
        lines = lines[:TITLE_LINES - 1] + [metrics.elidedText(rest, QtCore.Qt.TextElideMode.ElideRight, width)]
    return [metrics.elidedText(line, QtCore.Qt.TextElideMode.ElideMiddle, width) for line in lines]


def scale_bar_rects(pane: QtCore.QRect, column: QtCore.QRect, pixel_nm: float, font_px: int,
                    metrics: QtGui.QFontMetricsF) -> tuple[float, QtCore.QRectF, QtCore.QRectF, QtCore.QRectF]:
    """(length in nm, bar, label, shaded box behind both) for a scale bar at the bottom right of
    ``pane`` (figure px of ``pixel_nm`` nm): a round length, at most a quarter of the pane; its label
    kept inside ``column`` where the pane is narrower than the label."""
    length_nm = bar_length_nm(pane.width(), pixel_nm)
    bar_w, bar_h = length_nm / pixel_nm, min(max(3.0, font_px * 0.35), max(2.0, pane.height() / 3))
    # kept off the title of a short pane (a 20 px tall one had its bar 60 px up, over the title)
    inset = min(max(6.0, pane.width() * 0.03), max(2.0, (pane.height() - bar_h) / 2))
    bar = QtCore.QRectF(pane.right() + 1 - inset - bar_w, pane.bottom() + 1 - inset - bar_h, bar_w, bar_h)
    text_w = metrics.horizontalAdvance(format_nm(length_nm))
    pad = font_px * 0.3
    left = min(bar.center().x() - text_w / 2, column.right() + 1 - pad - text_w)
    text = QtCore.QRectF(max(left, column.left() + pad), bar.top() - metrics.height() * 1.1, text_w, metrics.height())
    if text.top() < pane.top():  # a pane too short for the label above the bar: beside it, to its left
        text.moveTo(max(bar.left() - pad - text_w, column.left() + pad), bar.center().y() - metrics.height() / 2)
    box = text.united(bar).adjusted(-pad, -font_px * 0.1, pad, font_px * 0.25)
    return length_nm, bar, text, box


def _paint_scale_bar(painter: QtGui.QPainter, pane: QtCore.QRect, column: QtCore.QRect, pixel_nm: float,
                     font_px: int) -> None:
    """A white bar of a round length (at most a quarter of the pane) and its length, bottom right."""
    length_nm, bar, text, box = scale_bar_rects(pane, column, pixel_nm, font_px, QtGui.QFontMetricsF(painter.font()))
    painter.fillRect(box, QtGui.QColor(0, 0, 0, 150))  # readable over bright cytoplasm too
    painter.fillRect(bar, TEXT)
    painter.setPen(TEXT)
    painter.drawText(text, int(QtCore.Qt.AlignmentFlag.AlignCenter), format_nm(length_nm))


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
