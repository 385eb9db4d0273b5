"""Compare an original EM stack with its denoised result: side by side, split or blink.

Both stacks are read lazily, one slice at a time (only the visible slice, cached
until the slice changes). One histogram sets the contrast of both images; views,
line and box tools are mirrored. Coordinates handed in and out (``line_points``,
``rect``, ``state``) follow ``core.metrics``: (y, x) in px with pixel centres at
integer coordinates; boxes are half-open (y0, x0, y1, x1). ``state()["view_rect"]``
is [x, y, w, h] in px of the left view.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from emdenoise_gui.core import metrics
from emdenoise_gui.gui.panels.profile_plot import (
    MirroredLine, MirroredRect, ProfilePlot, add_scale_bar, distance_scale, format_nm, format_value,
    iqr_text, remove_scale_bar)

MODES = {"side_by_side": "Side by side", "split": "Split", "blink": "Blink"}
BLINK_MS = 600
HIGH_PASS_SIGMA_PX = 5.0
AUTO_PERCENTILES = (0.5, 99.5)
STATE_VERSION = 1
LINE_PEN = pg.mkPen("#ffd23f", width=2)
RECT_PEN = pg.mkPen("#ff6ad5", width=2)
DIVIDER_PEN = pg.mkPen("#ffd23f", width=2)
MESSAGE_COLOUR = "#e0e0e0"


class _Slices:
    """A stack_like placed at original slices ``first .. first+len-1``; caches one slice."""

    def __init__(self, stack, first: int = 0):
        self.stack, self.first, self.depth = stack, int(first), len(stack)
        self._cached: tuple[int | None, np.ndarray | None] = (None, None)

    def covers(self, z: int) -> bool:
        return self.first <= z < self.first + self.depth

    def get(self, z: int) -> np.ndarray | None:
        """Slice at original index ``z`` as (Y, X), or None where this stack has none."""
        if not self.covers(z):
            return None
        if self._cached[0] != z:
            data = np.asarray(self.stack[z - self.first])
            if data.ndim != 2:
                raise ValueError(f"slice {z} has shape {data.shape}, expected a 2-D image")
            self._cached = (z, data)
        return self._cached[1]


def _voxel_size(stack) -> tuple[float, float, float] | None:
    size = getattr(getattr(stack, "meta", None), "voxel_size_nm", None)
    return tuple(float(v) for v in size) if size else None


class CompareView(QtWidgets.QWidget):
    """Original and result slices with shared slice, view, contrast, line and box tools.

    Signals: ``hover(str)`` describes the pixel under the mouse (for a status
    bar, "" when off the image); ``slice_changed(int)`` the new slice index.
    """

    hover = QtCore.Signal(str)
    slice_changed = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self._original: _Slices | None = None
        self._result: _Slices | None = None
        self._name = self._label = ""
        self._voxel: tuple[float, float, float] | None = None
        self._shape: tuple[int, int] | None = None
        self._z = 0
        self._mode = "side_by_side"
        self._derived: dict = {}  # (which, high_pass, z) -> image shown, for the current slice
        self._levels: dict[str, tuple[float, float] | None] = {"raw": None, "high_pass": None}
        self._blink_result = False
        self._scale_bars: list = []
        self.residual_levels: tuple[float, float] | None = None

        self._build_toolbar()
        self._build_views()
        self._build_slice_row()
        self.profile_plot = ProfilePlot()
        self.iqr_label = QtWidgets.QLabel("IQR: draw the pink box over a flat region")
        self.iqr_label.setWordWrap(True)
        self.iqr_label.setToolTip("Interquartile range of grey values inside the pink box; on a flat "
                                  "region a lower IQR means less noise.")
        self._layout()

        self.blink_timer = QtCore.QTimer(self, interval=BLINK_MS)
        self.blink_timer.timeout.connect(self.blink_step)
        shortcut = QtGui.QShortcut(QtGui.QKeySequence("B"), self)
        shortcut.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.blink_by_hand)
        self._update_titles()
        self._on_tools_toggled()

    # ----------------------------------------------------------------- building
    def _build_toolbar(self) -> None:
        bar = self.toolbar = QtWidgets.QToolBar("Compare")
        bar.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.mode_group = QtGui.QActionGroup(self)
        self.mode_actions: dict[str, QtGui.QAction] = {}
        tips = {"side_by_side": "Original left, result right; views move together",
                "split": "One image: original left of the yellow divider, result right of it (drag it)",
                "blink": f"Alternate original and result every {BLINK_MS} ms; B flips by hand "
                         "(and pauses), click Blink again to resume"}
        for key, text in MODES.items():
            action = bar.addAction(text)
            action.setCheckable(True)
            action.setData(key)
            action.setToolTip(tips[key])
            self.mode_group.addAction(action)
            self.mode_actions[key] = action
        self.mode_actions["side_by_side"].setChecked(True)
        self.mode_group.triggered.connect(lambda action: self.set_mode(action.data()))
        bar.addSeparator()

        def toggle(text, tip, checked=False):
            action = bar.addAction(text)
            action.setCheckable(True)
            action.setChecked(checked)
            action.setToolTip(tip)
            return action

        self.high_pass_action = toggle(
            "High-pass", f"Show both images minus a Gaussian blur (σ {HIGH_PASS_SIGMA_PX:g} px): "
            "noise and fine detail without shading")
        self.residual_action = toggle(
            "Residual", "Right view shows original − result (what the denoiser removed), "
            "with its own symmetric contrast")
        bar.addSeparator()
        self.line_action = toggle("Line profile", "Yellow line: grey values along it, plotted below", True)
        self.rect_action = toggle("IQR box", "Pink box: interquartile range inside it (noise on a flat region)", True)
        bar.addSeparator()
        self.auto_contrast_action = bar.addAction("Auto contrast")
        self.auto_contrast_action.setToolTip("Contrast from the 0.5 and 99.5 percentiles of this original slice")
        self.reset_view_action = bar.addAction("Reset view")
        self.reset_view_action.setToolTip("Fit the whole image in the view")
        for action in (self.high_pass_action, self.residual_action):
            action.toggled.connect(self._refresh_images)
        for action in (self.line_action, self.rect_action):
            action.toggled.connect(self._on_tools_toggled)
        self.auto_contrast_action.triggered.connect(self.auto_contrast)
        self.reset_view_action.triggered.connect(self.reset_view)

    def _build_views(self) -> None:
        self.titles, self.graphics, self.views, self.image_items = [], [], [], []
        self.messages = []
        for index in range(2):
            title = QtWidgets.QLabel()
            title.setTextFormat(QtCore.Qt.TextFormat.PlainText)
            font = title.font()
            font.setBold(True)
            title.setFont(font)
            graphics = pg.GraphicsView(background="k")
            view = pg.ViewBox(invertY=True, lockAspect=True)
            graphics.setCentralItem(view)
            item = pg.ImageItem(axisOrder="row-major")
            view.addItem(item)
            message = pg.TextItem(color=MESSAGE_COLOUR, anchor=(0.5, 0.5), fill=pg.mkBrush(0, 0, 0, 190))
            message.setZValue(20)
            message.hide()
            view.addItem(message, ignoreBounds=True)
            graphics.scene().sigMouseMoved.connect(partial(self._on_mouse_moved, index))
            for store, obj in zip((self.titles, self.graphics, self.views, self.image_items, self.messages),
                                  (title, graphics, view, item, message)):
                store.append(obj)
        self._link_views(True)
        self.line_tool = MirroredLine(self.views, LINE_PEN)
        self.line_tool.changed.connect(self._update_profile)
        self.rect_tool = MirroredRect(self.views, RECT_PEN)
        self.rect_tool.changed.connect(self._update_iqr)
        self.divider = pg.InfiniteLine(angle=90, movable=True, pen=DIVIDER_PEN,
                                       hoverPen=pg.mkPen("#ffffff", width=3), label="original ◀ ▶ result",
                                       labelOpts={"position": 0.04, "color": "#ffd23f",
                                                  "fill": pg.mkBrush(0, 0, 0, 170)})
        self.divider.setZValue(15)
        self.divider.hide()
        self.views[0].addItem(self.divider, ignoreBounds=True)
        self.divider.sigPositionChanged.connect(lambda: self._mode == "split" and self._refresh_images())
        self.histogram = pg.HistogramLUTWidget()
        self.histogram.setImageItem(self.image_items[0])
        self.histogram.item.axis.setLabel("Grey value")
        self.histogram.item.sigLevelsChanged.connect(self._on_levels_changed)
        self.histogram.item.sigLookupTableChanged.connect(self._on_lut_changed)

    def _build_slice_row(self) -> None:
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.spin = QtWidgets.QSpinBox()
        self.spin.setKeyboardTracking(False)
        self.depth_label = QtWidgets.QLabel()
        self.slider.valueChanged.connect(self.set_slice)
        self.spin.valueChanged.connect(self.set_slice)

    def _layout(self) -> None:
        panels = QtWidgets.QHBoxLayout()
        panels.setSpacing(4)
        self.panels = []
        for title, graphics in zip(self.titles, self.graphics):
            panel = QtWidgets.QWidget()
            column = QtWidgets.QVBoxLayout(panel)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            column.addWidget(title)
            column.addWidget(graphics, 1)
            panels.addWidget(panel, 1)
            self.panels.append(panel)
        panels.addWidget(self.histogram)
        slice_row = QtWidgets.QHBoxLayout()
        slice_row.addWidget(QtWidgets.QLabel("Slice"))
        slice_row.addWidget(self.slider, 1)
        slice_row.addWidget(self.spin)
        slice_row.addWidget(self.depth_label)
        top = QtWidgets.QWidget()
        top_layout = QtWidgets.QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(panels, 1)
        top_layout.addLayout(slice_row)
        self.measure_panel = QtWidgets.QWidget()
        bottom = QtWidgets.QVBoxLayout(self.measure_panel)
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.addWidget(self.profile_plot, 1)
        bottom.addWidget(self.iqr_label)
        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.measure_panel)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(self.toolbar)
        outer.addWidget(self.splitter, 1)

    # ------------------------------------------------------------------ data in
    def set_original(self, stack, name: str) -> None:
        """Show ``stack`` (len() and [z] -> (Y, X) array) as the original; clears any result.

        Only the visible slice is read. View, tools and contrast are reset when
        the image size changes; the slice index is kept where it still exists.
        """
        slices = _Slices(stack)
        first = slices.get(0) if slices.depth else None
        if first is None:
            raise ValueError(f"'{name}' holds no slices")
        shape = first.shape
        self._original, self._result = slices, None
        self._name, self._label = name, ""
        self._voxel = _voxel_size(stack)
        self._levels = {"raw": None, "high_pass": None}
        self._derived.clear()
        for widget in (self.slider, self.spin):
            widget.blockSignals(True)
            widget.setRange(0, slices.depth - 1)
            widget.blockSignals(False)
        self._z = min(self._z, slices.depth - 1)
        resized = shape != self._shape
        self._shape = shape
        if resized:
            self._default_tools()
            self.reset_view()
        self._install_scale_bars()
        self.set_slice(self._z, force=True)

    def set_result(self, stack, label: str = "", first_slice: int = 0) -> None:
        """Show ``stack`` as the result for original slices ``first_slice ..``; None clears it.

        Slices of the original without a result are shown blank with a note.
        Raises ValueError if its images differ in size from the original's.
        """
        if stack is None:
            self._result, self._label = None, ""
        else:
            if self._original is None:
                raise ValueError("set the original before the result")
            if first_slice < 0:
                raise ValueError(f"first_slice must be >= 0, got {first_slice}")
            shape = getattr(stack, "shape", None)
            yx = tuple(shape[-2:]) if shape is not None else np.asarray(stack[0]).shape
            if yx != self._shape:
                raise ValueError(f"the result's images are {yx[1]}x{yx[0]} px but the original's are "
                                 f"{self._shape[1]}x{self._shape[0]} px; they cannot be compared")
            self._result, self._label = _Slices(stack, first_slice), label
        self._derived.clear()
        self._refresh_all()

    # ------------------------------------------------------------------- slices
    def current_slice(self) -> int:
        return self._z

    def set_slice(self, z: int, force: bool = False) -> None:
        """Show slice ``z`` (clamped to the original's depth) in every view."""
        if self._original is None:
            return
        z = int(min(max(int(z), 0), self._original.depth - 1))
        changed = z != self._z
        if not changed and not force:
            return
        self._z = z
        self._derived.clear()
        for widget in (self.slider, self.spin):
            widget.blockSignals(True)
            widget.setValue(z)
            widget.blockSignals(False)
        self._refresh_all()
        if changed:
            self.slice_changed.emit(z)

    def _raw(self, which: str, z: int) -> np.ndarray | None:
        source = self._original if which == "original" else self._result
        return None if source is None else source.get(z)

    def _shown(self, which: str) -> np.ndarray | None:
        """The current slice of ``which`` as displayed (raw or high-passed)."""
        high = self.high_pass_action.isChecked()
        key = (which, high, self._z)
        if key not in self._derived:
            raw = self._raw(which, self._z)
            if raw is not None and high:
                raw = metrics.high_pass(raw, HIGH_PASS_SIGMA_PX)
            self._derived[key] = raw
        return self._derived[key]

    # ------------------------------------------------------------------ display
    def _refresh_all(self) -> None:
        self._refresh_images()
        self._update_measurements()

    def _level_kind(self) -> str:
        return "high_pass" if self.high_pass_action.isChecked() else "raw"

    def _refresh_images(self) -> None:
        if self._original is None:
            return
        original, result = self._shown("original"), self._shown("result")
        kind = self._level_kind()
        if self._levels[kind] is None:
            self._levels[kind] = self._percentile_levels(original)
        levels = self._levels[kind]
        left, right = self.image_items
        missing = (f"No result for slice {self._z}" if result is None and self._result is not None
                   else "No result yet" if result is None else "")
        left_message = right_message = ""
        self.residual_levels = None
        if self._mode == "side_by_side":
            left.setImage(original, autoLevels=False, levels=levels)
            if result is None:
                right.clear()
                right_message = missing
            elif self.residual_action.isChecked():
                residual = original.astype(np.float32) - result.astype(np.float32)
                bound = float(np.percentile(np.abs(residual), AUTO_PERCENTILES[1])) or 1.0
                self.residual_levels = (-bound, bound)
                right.setImage(residual, autoLevels=False, levels=self.residual_levels)
            else:
                right.setImage(result, autoLevels=False, levels=levels)
        elif self._mode == "split":
            left.setImage(self._compose(original, result), autoLevels=False, levels=levels)
            left_message = missing
        elif self._blink_result and result is None:
            left.clear()
            left_message = missing
        else:
            left.setImage(result if self._blink_result else original, autoLevels=False, levels=levels)
        self._apply_levels(levels)
        self._show_message(0, left_message, right_part=self._mode == "split")
        self._show_message(1, right_message)
        self._update_titles()

    def _compose(self, original: np.ndarray, result: np.ndarray | None) -> np.ndarray:
        """Original left of the divider, result (or blank) right of it."""
        column = int(min(max(round(self.divider.value()), 0), original.shape[1]))
        dtype = np.result_type(original.dtype, np.float32 if result is None else result.dtype)
        composed = original.astype(dtype, copy=True)
        composed[:, column:] = np.nan if result is None else result[:, column:]
        return composed

    def _show_message(self, index: int, text: str, right_part: bool = False) -> None:
        message = self.messages[index]
        message.setVisible(bool(text))
        if text and self._shape is not None:
            height, width = self._shape
            x0 = min(max(self.divider.value(), 0), width) if right_part else 0
            message.setText(text)
            message.setPos((x0 + width) / 2, height / 2)

    def _percentile_levels(self, image: np.ndarray) -> tuple[float, float]:
        lo, hi = (float(v) for v in np.percentile(image, AUTO_PERCENTILES))
        return (lo, hi if hi > lo else lo + 1.0)

    def _apply_levels(self, levels) -> None:
        lo, hi = (float(v) for v in levels)
        self._levels[self._level_kind()] = (lo, hi)
        self.histogram.item.setLevels(lo, hi)  # no signal when unchanged, so set the items too
        self.image_items[0].setLevels((lo, hi))
        if self.residual_levels is None:
            self.image_items[1].setLevels((lo, hi))

    def _on_levels_changed(self, histogram) -> None:
        lo, hi = histogram.getLevels()
        self._levels[self._level_kind()] = (float(lo), float(hi))
        if self.residual_levels is None:
            self.image_items[1].setLevels((lo, hi))

    def _on_lut_changed(self, _histogram) -> None:
        self.image_items[1].setLookupTable(self.image_items[0].lut)

    def levels(self) -> tuple[float, float] | None:
        """Contrast limits (grey values) of the original, shared by the result."""
        return self._levels[self._level_kind()]

    def set_levels(self, lo: float, hi: float) -> None:
        self._apply_levels((lo, hi))

    def auto_contrast(self) -> None:
        """Contrast from the 0.5 / 99.5 percentiles of the current original slice (as shown)."""
        if self._original is not None:
            self._apply_levels(self._percentile_levels(self._shown("original")))

    def reset_view(self) -> None:
        """Fit the whole image in the view(s)."""
        if self._shape is not None:
            height, width = self._shape
            self.views[0].setRange(QtCore.QRectF(0, 0, width, height), padding=0)

    def _update_titles(self) -> None:
        pixel = (f"{self._voxel[2]:.4g} nm/px" if self._voxel else "pixel size unknown")
        original = f"Original — {self._name or 'none'}  ·  {pixel}"
        result = f"Result — {self._label or 'none'}"
        if self._result is not None and (self._result.first or self._result.depth != self._original.depth):
            result += f"  (slices {self._result.first}–{self._result.first + self._result.depth - 1})"
        if self.high_pass_action.isChecked():
            original += f"  ·  high-pass σ {HIGH_PASS_SIGMA_PX:g} px"
        if self._mode == "side_by_side":
            if self.residual_levels is not None:
                result = (f"Residual (original − result) — {self._label}  ·  "
                          f"contrast ±{format_value(self.residual_levels[1])}")
            self.titles[0].setText(original)
            self.titles[1].setText(result)
        elif self._mode == "split":
            self.titles[0].setText(f"Split: left {original}  |  right {result}")
        else:
            state = "" if self.blink_timer.isActive() else "  (paused: click Blink to resume)"
            self.titles[0].setText(f"Blink: {result if self._blink_result else original}{state}")
        depth = self._original.depth if self._original else 0
        text = f"of 0–{max(depth - 1, 0)}"
        if self._voxel and depth:
            text += f"  ·  z {format_nm(round(self._z * self._voxel[0], 3))}"
        self.depth_label.setText(text)

    def _install_scale_bars(self) -> None:
        for view, bar in zip(self.views, self._scale_bars):
            remove_scale_bar(view, bar)
        self._scale_bars = []
        if self._voxel and self._shape is not None:
            self._scale_bars = [add_scale_bar(view, self._voxel[2], self._shape[1]) for view in self.views]

    # -------------------------------------------------------------------- modes
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        """``"side_by_side"``, ``"split"`` or ``"blink"``; choosing Blink again resumes blinking."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        self._mode = mode
        self.mode_actions[mode].setChecked(True)
        self.panels[1].setVisible(mode == "side_by_side")
        self.residual_action.setEnabled(mode == "side_by_side")
        if mode == "split" and self._shape is not None and not 0 < self.divider.value() < self._shape[1]:
            self.divider.setValue(self._shape[1] / 2)
        self.divider.setVisible(mode == "split")
        self._blink_result = False
        if mode == "blink":
            self.blink_timer.start()
        else:
            self.blink_timer.stop()
        self._refresh_images()

    def blink_step(self) -> None:
        """Show the other image of the blink pair (the blink timer's slot)."""
        if self._mode == "blink":
            self._blink_result = not self._blink_result
            self._refresh_images()

    def blink_by_hand(self) -> None:
        """Key B: pause automatic blinking and flip between original and result."""
        if self._mode == "blink":
            self.blink_timer.stop()
            self.blink_step()

    def showing_result(self) -> bool:
        """In blink mode, whether the result (not the original) is shown now."""
        return self._mode == "blink" and self._blink_result

    # -------------------------------------------------------------------- tools
    def _default_tools(self) -> None:
        height, width = self._shape
        self.rect_tool.set_bounds(height, width)
        self.set_line_points((height / 2, width * 0.25), (height / 2, width * 0.75))
        side = max(4, min(64, width // 6, height // 6))
        self.set_rect((height // 10, width // 10, height // 10 + side, width // 10 + side))
        self.divider.setValue(width / 2)

    def _on_tools_toggled(self) -> None:
        line, rect = self.line_action.isChecked(), self.rect_action.isChecked()
        self.line_tool.setVisible(line)
        self.rect_tool.setVisible(rect)
        self.profile_plot.setVisible(line)
        self.iqr_label.setVisible(rect)
        self.measure_panel.setVisible(line or rect)
        self._update_measurements()

    def line_points(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """End points ((y0, x0), (y1, x1)) of the line in px, pixel centres at integers."""
        return self.line_tool.points()

    def set_line_points(self, p0: tuple[float, float], p1: tuple[float, float]) -> None:
        """Move the line (in both views) to ``p0 = (y0, x0)``, ``p1 = (y1, x1)`` px."""
        self.line_tool.set_points(p0, p1)

    def rect(self) -> tuple[int, int, int, int] | None:
        """The box as half-open (y0, x0, y1, x1) px clipped to the image, or None if empty."""
        return None if self._shape is None else self.rect_tool.rect(self._shape)

    def set_rect(self, rect: tuple[int, int, int, int]) -> None:
        """Move the box (in both views) to half-open ``(y0, x0, y1, x1)`` px."""
        self.rect_tool.set_rect(rect)

    def _update_measurements(self) -> None:
        self._update_profile()
        self._update_iqr()

    def _update_profile(self) -> None:
        if self._original is None or not self.line_action.isChecked():
            return
        p0, p1 = self.line_points()
        distance, original = metrics.line_profile(self._raw("original", self._z), p0, p1)
        raw = self._raw("result", self._z)
        result = None if raw is None else metrics.line_profile(raw, p0, p1)[1]
        scale, unit = distance_scale(p0, p1, self._voxel)
        label = f"Result — {self._label or 'none'}" + (" (none for this slice)" if raw is None else "")
        self.profile_plot.set_names(f"Original — {self._name}", label)
        self.profile_plot.set_profiles(distance * scale, original, result, unit)

    def _update_iqr(self) -> None:
        if self._original is None or not self.rect_action.isChecked():
            return
        rect = self.rect()
        if rect is None:
            self.iqr_label.setText("IQR: the pink box is outside the image")
            return
        raw = self._raw("result", self._z)
        result = None if raw is None else metrics.iqr_rect(raw, rect)
        self.iqr_label.setText(iqr_text(metrics.iqr_rect(self._raw("original", self._z), rect),
                                        result, rect, self._voxel))

    # -------------------------------------------------------------------- hover
    def _on_mouse_moved(self, index: int, scene_pos) -> None:
        view = self.views[index]
        if self._original is None or not view.sceneBoundingRect().contains(scene_pos):
            return
        point = view.mapSceneToView(scene_pos)
        self.hover.emit(self.describe_point(point.x(), point.y()))

    def describe_point(self, x: float, y: float) -> str:
        """"x, y: value original / value result" for view coordinates, "" off the image."""
        if self._shape is None:
            return ""
        column, row = math.floor(x), math.floor(y)
        height, width = self._shape
        if not (0 <= row < height and 0 <= column < width):
            return ""
        where = f"x {column}, y {row} px"
        if self._voxel:
            where += f" ({format_nm(round(column * self._voxel[2], 3))}, {format_nm(round(row * self._voxel[1], 3))})"
        original = self._raw("original", self._z)[row, column]
        raw = self._raw("result", self._z)
        result = None if raw is None else raw[row, column]
        return (f"{where}, slice {self._z}: {format_value(original)} original / "
                f"{format_value(result)} result")

    # -------------------------------------------------------------------- state
    def state(self) -> dict:
        """Everything needed to reopen the comparison where the user left it (JSON-safe)."""
        rect = self.views[0].viewRect()
        levels = self.levels()
        return {
            "version": STATE_VERSION,
            "slice": self._z,
            "view_rect": [rect.x(), rect.y(), rect.width(), rect.height()],
            "mode": self._mode,
            "high_pass": self.high_pass_action.isChecked(),
            "residual": self.residual_action.isChecked(),
            "line_tool": self.line_action.isChecked(),
            "rect_tool": self.rect_action.isChecked(),
            "levels": list(levels) if levels else None,
            "line": [list(p) for p in self.line_points()],
            "rect": list(self.rect()) if self.rect() else None,
            "divider_x": float(self.divider.value()),
        }

    def restore_state(self, state: dict) -> None:
        """Apply a dict from :meth:`state`; missing keys keep their current value."""
        for key, action in (("high_pass", self.high_pass_action), ("residual", self.residual_action),
                            ("line_tool", self.line_action), ("rect_tool", self.rect_action)):
            if key in state:
                action.setChecked(bool(state[key]))
        if "divider_x" in state:
            self.divider.setValue(float(state["divider_x"]))
        if "mode" in state:
            self.set_mode(state["mode"])
        if "slice" in state:
            self.set_slice(int(state["slice"]))
        if state.get("levels"):
            self.set_levels(*state["levels"])
        if state.get("line"):
            self.set_line_points(*state["line"])
        if state.get("rect"):
            self.set_rect(state["rect"])
        if state.get("view_rect"):
            self.views[0].setRange(QtCore.QRectF(*state["view_rect"]), padding=0)
