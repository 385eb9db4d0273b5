"""Measuring tools of the compare view: line profile, IQR box, number formats.

Coordinates handed in and out follow ``core.metrics``: (y, x) in px with pixel
centres at integer coordinates; boxes are half-open (y0, x0, y1, x1) px. On
screen a pyqtgraph ImageItem puts pixel (row, col) over [col, col+1) x [row, row+1),
so a point (y, x) sits at view coordinates (x + 0.5, y + 0.5).
"""

from __future__ import annotations

import html
import math
import types

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from emdenoise_gui.core import metrics

#: Curve colours, told apart by colour-blind readers too (orange vs sky blue).
ORIGINAL_COLOUR = "#f5a623"
RESULT_COLOUR = "#4fc3f7"
LINE_PEN = pg.mkPen("#ffd23f", width=2)
RECT_PEN = pg.mkPen("#ff6ad5", width=2)
TITLE = "Line profile along the yellow line (raw grey values)"
#: Longest curve name in the legend; longer names are cut in the middle.
NAME_CHARS = 70
#: the IQR box measures noise only over at least this many pixels
IQR_MIN_PX = 9


def format_nm(value: float) -> str:
    """``"640 nm"`` or ``"1.2 µm"``."""
    return f"{value / 1000:.4g} µm" if abs(value) >= 1000 else f"{value:.4g} nm"


def format_value(value) -> str:
    """A grey value: whole numbers without decimals, others to 4 significant digits."""
    if value is None:
        return "none"
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.4g}"


def distance_scale(p0, p1, voxel_nm) -> tuple[float, str]:
    """Factor from px along the line ``p0 -> p1`` (y, x) to the shown unit, and the unit.

    With a (z, y, x) voxel size in nm the unit is nm (y and x pixel sizes may differ).
    """
    if not voxel_nm:
        return 1.0, "px"
    dy, dx = p1[0] - p0[0], p1[1] - p0[1]
    length = math.hypot(dy, dx)
    if not length:
        return float(voxel_nm[2]), "nm"
    return math.hypot(dy * voxel_nm[1], dx * voxel_nm[2]) / length, "nm"


def clip_to_image(p0, p1, shape) -> tuple[float, float] | None:
    """The part ``[t0, t1]`` (0 <= t0 <= t1 <= 1) of the segment ``p0 + t (p1 - p0)`` (y, x px) that lies on a
    (Y, X) ``shape``'s pixel centres, [0, Y-1] x [0, X-1]; None when it misses the image or an end is not a
    number. A line dragged off the image is profiled where it crosses the image, not along repeated edge pixels."""
    if not all(math.isfinite(v) for v in (*p0, *p1)):
        return None
    t0, t1 = 0.0, 1.0
    for start, delta, high in ((p0[0], p1[0] - p0[0], shape[0] - 1), (p0[1], p1[1] - p0[1], shape[1] - 1)):
        if delta == 0:
            if not 0 <= start <= high:
                return None
            continue
        a, b = -start / delta, (high - start) / delta
        t0, t1 = max(t0, min(a, b)), min(t1, max(a, b))
        if t0 > t1:
            return None
    return t0, t1


def line_profile(image: np.ndarray, p0, p1, shape=None) -> tuple[np.ndarray, np.ndarray]:
    """``core.metrics.line_profile`` of a (Y, X) image from ``p0`` to ``p1`` (y, x px) over the part of the line
    on the image (on ``shape``, default the image's: :func:`clip_to_image`), distances still from ``p0``;
    empty arrays when the line misses the image. Read from the line's bounding box only: the same values,
    without converting a whole 4096^2 slice to float."""
    part = clip_to_image(p0, p1, image.shape if shape is None else shape)
    if part is None:
        return np.zeros(0), np.zeros(0)
    (t0, t1), (dy, dx) = part, (p1[0] - p0[0], p1[1] - p0[1])
    offset = t0 * math.hypot(dy, dx)
    p0, p1 = (p0[0] + t0 * dy, p0[1] + t0 * dx), (p0[0] + t1 * dy, p0[1] + t1 * dx)
    ys, xs = (p0[0], p1[0]), (p0[1], p1[1])
    y0 = min(max(math.floor(min(ys)), 0), image.shape[0] - 1)
    x0 = min(max(math.floor(min(xs)), 0), image.shape[1] - 1)
    y1, x1 = max(math.floor(max(ys)) + 2, y0 + 1), max(math.floor(max(xs)) + 2, x0 + 1)
    crop = image[y0:y1, x0:x1]
    distance, values = metrics.line_profile(crop, (p0[0] - y0, p0[1] - x0), (p1[0] - y0, p1[1] - x0))
    return distance + offset, values


def same_decimals(*values: float, digits: int = 4) -> list[str]:
    """``values`` written with one number of decimals, ``digits`` significant ones for the largest:
    (17, 9.838) -> ["17.00", "9.84"], not "17" beside "9.838"; (0.0123, 0.006) -> ["0.01230", "0.00600"];
    whole numbers alone stay whole: (34, 15) -> ["34", "15"]. Values too far apart to share decimals (the
    smallest would keep fewer than 2 significant digits) get ``digits`` significant ones each: (5900, 0.09)
    -> ["5900", "0.09"], not "5900" beside "0"."""
    finite = [abs(v) for v in values if math.isfinite(v) and v]
    largest = max(finite, default=0.0)
    whole = all(float(v).is_integer() for v in values)
    decimals = max(0, digits - 1 - math.floor(math.log10(largest))) if largest and not whole else 0
    if finite and not whole and decimals + math.floor(math.log10(min(finite))) + 1 < 2:
        return [f"{v:.{digits}g}" for v in values]
    return [f"{v:.{decimals}f}" for v in values]


#: Largest number of pixels the IQR box reads: a larger box is read on a regular grid of about this many (its
#: quartiles within a fraction of a per cent; a whole 16000^2 slice took 10 s on the window's thread).
IQR_MAX_PX = 1 << 21


def box_values(image: np.ndarray, rect) -> tuple[np.ndarray, int]:
    """(the finite values of ``image[y0:y1, x0:x1]`` as float64, how many were NaN or infinite) for ``rect``
    (y0, x0, y1, x1), read on a regular grid when the box holds over :data:`IQR_MAX_PX` px."""
    y0, x0, y1, x1 = rect
    step = max(1, math.ceil(math.sqrt((y1 - y0) * (x1 - x0) / IQR_MAX_PX)))
    box = np.asarray(image[y0:y1:step, x0:x1:step], dtype=np.float64)
    finite = np.isfinite(box)
    return box[finite], int(box.size - np.count_nonzero(finite))


def box_iqr(image: np.ndarray, rect) -> tuple[float, int]:
    """(IQR of the box's finite values, NaN when it has none; how many pixels were NaN or infinite)."""
    values, bad = box_values(image, rect)
    return (metrics.iqr(values) if values.size else float("nan")), bad


def iqr_text(original: float, result: float | None, rect, voxel_nm, bad: int = 0, pending: bool = False,
             stretched: bool = False, origin: tuple[int, int] = (0, 0)) -> str:
    """The IQR label: both values, their ratio and where the box is, with units. ``bad``: pixels of the box that
    are NaN or infinite in the original (left out, and said); ``pending``: the result is a preview that has not
    reached the box yet; ``origin``: (y, x) px of the file at the image's (0, 0) (a region's corner)."""
    y0, x0, y1, x1 = rect
    y0, y1, x0, x1 = y0 + origin[0], y1 + origin[0], x0 + origin[1], x1 + origin[1]
    where = f"box x {x0}–{x1 - 1}, y {y0}–{y1 - 1} px ({x1 - x0}×{y1 - y0} px"
    if voxel_nm:
        where += f" = {format_nm((x1 - x0) * voxel_nm[2])} × {format_nm((y1 - y0) * voxel_nm[1])}"
    where += ")" + (f"  ·  {bad:,} px in the box are not numbers (NaN or infinite): left out" if bad else "")
    if not np.isfinite(original):
        return f"IQR: every pixel in the box is NaN or infinite in the original  ·  {where}"
    if result is None:
        return f"IQR original: {original:.4g} grey values, result: none for this slice  ·  {where}"
    if pending or not np.isfinite(result):  # a preview that has done only the part on screen so far
        return f"IQR original: {original:.4g} grey values, result: not computed in the box yet  ·  {where}"
    ratio = f"ratio result/original {result / original:#.3g}" if original else "ratio n/a"
    if stretched:  # the stretch (from percentile spans) scales the result's spread: no ratio to trust
        ratio = "no ratio: the result is on another scale, measured as shown, stretched to the original's"
    original_text, result_text = same_decimals(original, result)
    return (f"IQR original: {original_text}, result: {result_text} grey values ({ratio})  ·  {where}"
            "  ·  on a flat region, lower IQR = less noise")


def pixel_text(column: int, row: int, z: int, original: np.ndarray, result: np.ndarray | None,
               voxel_nm, origin: tuple[int, int] = (0, 0)) -> str:
    """Status-bar text for pixel (row, column) of slice z: where (in the file: ``origin`` (y, x) px added, a
    region's corner), then both grey values.

    ``"x 12, y 34 px (120 nm, 340 nm), slice 0: 87 original / 91.5 result"``; "" off the image.
    """
    if not (0 <= row < original.shape[0] and 0 <= column < original.shape[1]):
        return ""
    y, x = row + origin[0], column + origin[1]
    where = f"x {x}, y {y} px"
    if voxel_nm:
        where += f" ({format_nm(round(x * voxel_nm[2], 3))}, {format_nm(round(y * voxel_nm[1], 3))})"
    value = None if result is None else result[row, column]
    return (f"{where}, slice {z}: {format_value(original[row, column])} original / "
            f"{format_value(value)} result")


def _elide(name: str, most: int = NAME_CHARS) -> str:
    """``name`` cut in the middle to at most ``most`` characters."""
    if len(name) <= most:
        return name
    keep = (most - 1) // 2
    return name[:keep] + "…" + name[len(name) - (most - 1 - keep):]


def _height_only_minimum(label) -> None:
    """pyqtgraph's ``LabelItem.updateMin`` without the width: the title's text set the plot's minimum width (about
    505 px), and in a narrower pane the axis ran off its right edge."""
    pg.LabelItem.updateMin(label)
    label.setMinimumWidth(0)
    height = label.itemRect().height()
    label._sizeHint[QtCore.Qt.SizeHint.MinimumSize] = (0, height)
    label._sizeHint[QtCore.Qt.SizeHint.PreferredSize] = (0, height)
    label.updateGeometry()


class ProfilePlot(pg.PlotWidget):
    """Two curves: grey value along the line in the original and in the result.

    The x axis is distance along the line in nm when the pixel size is known,
    otherwise in px; the y axis is the stack's grey value.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent, background="k")
        label = self.getPlotItem().titleLabel  # its key wider than a narrow pane: cut short, not the plot
        label.updateMin = types.MethodType(_height_only_minimum, label)
        self.setMinimumHeight(170)
        self.setAccessibleName("Line profile")
        item = self.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setLabel("left", "Grey value")
        for name in ("left", "bottom"):
            item.getAxis(name).enableAutoSIPrefix(False)  # "nm" must not become "knm"
        item.setMenuEnabled(False)
        self.original_curve = item.plot([], [], pen=pg.mkPen(ORIGINAL_COLOUR, width=1.6))
        self.result_curve = item.plot([], [], pen=pg.mkPen(RESULT_COLOUR, width=1.6))
        self.names: tuple[str, str] = ("", "")
        self._text_colour: str | None = None  # None: pyqtgraph's foreground (the theme may restyle the axes)
        self.set_names("Original", "Result")
        self.set_unit("px")

    def set_text_colour(self, colour: str) -> None:
        """Draw axes, tick labels and title in ``colour`` (e.g. "#c8c8c8"), whatever pyqtgraph's
        configuration or the app's appearance: a figure's plot on black must stay readable."""
        self._text_colour = colour
        item = self.getPlotItem()
        for name in ("left", "bottom"):
            item.getAxis(name).setPen(colour)
            item.getAxis(name).setTextPen(colour)
        self._show_title()

    def set_names(self, original: str, result: str) -> None:
        """Legend entries for the two curves: a second title line, so it never covers the title or a curve."""
        if (original, result) == self.names:
            return
        self.names = (original, result)
        self._show_title()

    def _show_title(self) -> None:
        entries = "&nbsp;&nbsp;&nbsp;&nbsp;".join(
            f'<span style="color:{colour}">━━ {html.escape(_elide(name))}</span>'
            for colour, name in ((ORIGINAL_COLOUR, self.names[0]), (RESULT_COLOUR, self.names[1])))
        item = self.getPlotItem()
        colour = {} if self._text_colour is None else {"color": self._text_colour}
        item.setTitle(f"{TITLE}<br>{entries}", size="9pt", justify="left", **colour)
        height = 2 * QtGui.QFontMetrics(item.titleLabel.item.font()).lineSpacing() + 14
        item.titleLabel.setMaximumHeight(height)  # setTitle made the row one line (30 px) high
        item.layout.setRowFixedHeight(0, height)

    def set_unit(self, unit: str) -> None:
        """Unit of the distance axis, ``"nm"`` or ``"px"`` (the label is set only when it changes: setting it
        makes the axis lay out and draw itself again, a third of a slice step's painting)."""
        text = f"Distance along line ({unit})"
        if getattr(self, "_unit_text", None) != text:
            self._unit_text = text
            self.getPlotItem().setLabel("bottom", text)

    def set_profiles(self, distance: np.ndarray, original: np.ndarray,
                     result: np.ndarray | None, unit: str) -> None:
        """Show both profiles over ``distance`` (in ``unit``); ``result`` None hides its curve."""
        self.set_unit(unit)
        self.original_curve.setData(distance, original)
        if result is None:
            self.result_curve.setData([], [])
        else:
            self.result_curve.setData(distance, result)


class _Mirrored(QtCore.QObject):
    """The same ROI in several views: moving any one moves the others; ``changed`` once per move,
    ``finished`` when the user lets go of one."""

    changed = QtCore.Signal()
    finished = QtCore.Signal()

    def __init__(self, views, make_roi):
        super().__init__()
        self.rois = [make_roi() for _ in views]
        self._syncing = False
        for view, roi in zip(views, self.rois):
            roi.setZValue(10)
            view.addItem(roi, ignoreBounds=True)  # "fit to image" must not fit to the tools
            roi.sigRegionChanged.connect(self._on_moved)
            roi.sigRegionChangeFinished.connect(lambda _roi: self.finished.emit())

    def setVisible(self, visible: bool) -> None:
        for roi in self.rois:
            roi.setVisible(visible)

    def _apply(self, geometry, skip=None) -> None:
        self._syncing = True
        try:
            for roi in self.rois:
                if roi is not skip:
                    self._set_geometry(roi, geometry)
        finally:
            self._syncing = False
        self.changed.emit()

    def _on_moved(self, roi) -> None:
        if not self._syncing:
            self._apply(self._geometry(roi), skip=roi)


class MirroredLine(_Mirrored):
    """A LineSegmentROI in each view, end points kept equal."""

    def __init__(self, views, pen):
        super().__init__(views, lambda: pg.LineSegmentROI([(0, 0), (1, 1)], pen=pen))

    @staticmethod
    def _geometry(roi):
        return [roi.mapToParent(handle.pos()) for handle in roi.getHandles()]

    @staticmethod
    def _set_geometry(roi, points) -> None:
        for handle, point in zip(roi.getHandles(), points):
            roi.movePoint(handle, point, finish=False)

    def points(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """End points ((y0, x0), (y1, x1)) in px, pixel centres at integers."""
        p0, p1 = self._geometry(self.rois[0])
        return (p0.y() - 0.5, p0.x() - 0.5), (p1.y() - 0.5, p1.x() - 0.5)

    def set_points(self, p0, p1) -> None:
        self._apply([QtCore.QPointF(x + 0.5, y + 0.5) for y, x in (p0, p1)])


class MirroredRect(_Mirrored):
    """A RectROI in each view snapping to whole pixels, position and size kept equal."""

    def __init__(self, views, pen):
        super().__init__(views, lambda: pg.RectROI((0, 0), (8, 8), pen=pen, translateSnap=True,
                                                   scaleSnap=True, snapSize=1.0))

    @staticmethod
    def _geometry(roi):
        return roi.pos(), roi.size()

    @staticmethod
    def _set_geometry(roi, geometry) -> None:
        roi.setPos(geometry[0], update=False, finish=False)
        roi.setSize(geometry[1], finish=False)

    def set_bounds(self, height: int, width: int) -> None:
        for roi in self.rois:
            roi.maxBounds = QtCore.QRectF(0, 0, width, height)

    def rect(self, shape) -> tuple[int, int, int, int] | None:
        """Half-open (y0, x0, y1, x1) px clipped to an image of ``shape``, None if empty."""
        pos, size = self._geometry(self.rois[0])
        x0, y0 = round(pos.x()), round(pos.y())
        x1, y1 = x0 + round(size.x()), y0 + round(size.y())
        y0, x0, y1, x1 = max(y0, 0), max(x0, 0), min(y1, shape[0]), min(x1, shape[1])
        return (y0, x0, y1, x1) if y0 < y1 and x0 < x1 else None

    def set_rect(self, rect) -> None:
        y0, x0, y1, x1 = (int(v) for v in rect)
        self._apply((QtCore.QPointF(x0, y0), QtCore.QPointF(x1 - x0, y1 - y0)))


class MeasurePanel(QtWidgets.QWidget):
    """Profile plot over the IQR label, fed by a mirrored line and box in ``views``.

    Measurements use the raw slices given to :meth:`set_images` (not the
    high-pass or residual view), through ``core.metrics``.
    """

    def __init__(self, views, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.plot = ProfilePlot()
        self.iqr_label = QtWidgets.QLabel()
        self.iqr_label.setWordWrap(True)
        # two lines always fit: the label must never be squeezed under the plot
        self.iqr_label.setMinimumHeight(2 * self.iqr_label.fontMetrics().lineSpacing() + 4)
        self.iqr_label.setToolTip("Interquartile range of grey values inside the pink box; "
                                  "on a flat region a lower IQR means less noise")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.iqr_label)
        self.line = MirroredLine(views, LINE_PEN)
        self.line.changed.connect(self.update_profile)
        self.box = MirroredRect(views, RECT_PEN)
        self.box.changed.connect(self.update_iqr)
        self._original = self._result = self._voxel = None
        self._stretched, self._origin = False, (0, 0)
        self._names = ("Original", "Result")

    def reset(self, height: int, width: int) -> None:
        """Line across the middle half of the image's longer side, on its centre row or column; a box of up to
        64 px near the top left. (A line across a 1 px wide stack missed its only pixel column.)"""
        self.box.set_bounds(height, width)
        row, column = min(height / 2, height - 1), min(width / 2, width - 1)
        if width >= height:
            self.line.set_points((row, width * 0.25), (row, width * 0.75))
        else:
            self.line.set_points((height * 0.25, column), (height * 0.75, column))
        side = max(4, min(64, width // 6, height // 6))
        self.box.set_rect((height // 10, width // 10, height // 10 + side, width // 10 + side))

    def set_tools(self, line: bool, box: bool, on_image: bool = True) -> None:
        """Show or hide each tool with its read-out (the panel hides when both are off); the line and
        the box themselves only show ``on_image`` (not over empty views before a stack is open)."""
        self.line.setVisible(line and on_image)
        self.box.setVisible(box and on_image)
        self.plot.setVisible(line)
        self.iqr_label.setVisible(box)
        self.setVisible(line or box)
        self.refresh()

    def set_images(self, original: np.ndarray | None, result: np.ndarray | None, names: tuple[str, str],
                   voxel_nm, stretched: bool = False, origin: tuple[int, int] = (0, 0)) -> None:
        """The raw (Y, X) slices to measure, their legend names and the (z, y, x) voxel size in nm;
        ``original`` None: nothing to measure (both read-outs emptied). ``stretched``: the result was on
        another scale and is given as shown, stretched to the original's (the IQR line says so); ``origin``:
        (y, x) px of the file at the slices' (0, 0), a region's corner (the box is said where it is in the file)."""
        self._original, self._result, self._names, self._voxel = original, result, names, voxel_nm
        self._stretched, self._origin = stretched, origin
        if original is None:
            self.plot.set_profiles(np.empty(0), np.empty(0), None, "px")
            self.iqr_label.setText("")
        self.refresh()

    def refresh(self) -> None:
        self.update_profile()
        self.update_iqr()

    def rect(self) -> tuple[int, int, int, int] | None:
        return None if self._original is None else self.box.rect(self._original.shape)

    def update_profile(self) -> None:
        if self._original is None or not self.plot.isVisibleTo(self):
            return
        p0, p1 = self.line.points()
        distance, original = line_profile(self._original, p0, p1)
        same = self._result is not None and self._result.shape == self._original.shape
        result = line_profile(self._result, p0, p1)[1] if same else None  # another size: not comparable
        scale, unit = distance_scale(p0, p1, self._voxel)
        flat = tuple(map(float, p0)) == tuple(map(float, p1))  # an empty plot with an axis of -600..600 nm before
        where = " (the yellow line has no length: drag one end away)" if flat else \
            "" if len(distance) else " (the yellow line is off the image)"
        names = (self._names[0] + where,
                 self._names[1] + (" (none for this slice)" if result is None else ""))
        self.plot.set_names(*names)
        self.plot.set_profiles(distance * scale, original, result, unit)

    def update_iqr(self) -> None:
        if self._original is None or not self.iqr_label.isVisibleTo(self):
            return
        rect = self.rect()
        if rect is None:
            self.iqr_label.setText("IQR: the pink box is outside the image")
            return
        area = (rect[2] - rect[0]) * (rect[3] - rect[1])
        if area < IQR_MIN_PX:  # a 1 x 1 box read "IQR original: 0"
            self.iqr_label.setText(f"IQR: the pink box holds {area} px of the image, too few to measure noise (at "
                                   f"least {IQR_MIN_PX}): make it larger")
            return
        original, bad = box_iqr(self._original, rect)
        result, pending = None, False
        if self._result is not None and self._result.shape == self._original.shape:
            result, result_bad = box_iqr(self._result, rect)
            pending = result_bad > bad  # NaN where the original has numbers: a preview not there yet
        self.iqr_label.setText(iqr_text(original, result, rect, self._voxel, bad, pending, self._stretched,
                                        self._origin))
