"""Compare an original EM stack with its denoised result: side by side, split or blink.

Both stacks are read lazily, one slice at a time (only the visible slice, cached
until the slice changes). One histogram sets the contrast of both images; views,
line and box tools are mirrored. Coordinates handed in and out (``line_points``,
``rect``, ``state``) follow ``core.metrics``: (y, x) in px with pixel centres at
integer coordinates; boxes are half-open (y0, x0, y1, x1). ``state()["view_rect"]``
is [x, y, w, h] in px of the left view.

Nothing slow runs on the GUI thread: the high-pass and the IQR box's first place are computed
in the background (``high_pass.py``, ``box_placement.py``). Keys: ``keys.py``; the right-click
menu and figures: ``view_menu.py``, ``figure.py``; the Region tool: ``region_tool.py``.
"""

from __future__ import annotations

import math
import re
import textwrap
from functools import partial
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from emdenoise_gui.gui.imaging import percentile_levels
from emdenoise_gui.gui.panels import view_titles
from emdenoise_gui.gui.panels.box_placement import BoxPlacer
from emdenoise_gui.gui.panels.compare_toolbar import BLINK_MS, MODES, build_toolbar
from emdenoise_gui.gui.panels.contrast import (
    AUTO_PERCENTILES,
    Contrast,
    ScaleMatch,
    residual_image,
)
from emdenoise_gui.gui.panels.high_pass import HighPassCache
from emdenoise_gui.gui.panels.keys import ViewKeys
from emdenoise_gui.gui.panels.profile_plot import (
    MeasurePanel,
    pixel_text,
)
from emdenoise_gui.gui.panels.region_tool import RegionTool
from emdenoise_gui.gui.panels.saved_view import restore_view_state, view_state
from emdenoise_gui.gui.panels.scale_bar import add_scale_bar, remove_scale_bar
from emdenoise_gui.gui.panels.screen_image import ScreenImageItem
from emdenoise_gui.gui.panels.slice_loader import SliceLoader
from emdenoise_gui.gui.panels.slices import (
    Slices,
    origin_of,
    same_source,
    split_image,
    voxel_size,
)
from emdenoise_gui.gui.panels.view_fit import ViewFit
from emdenoise_gui.gui.panels.view_menu import ImageViewBox, ViewMenu
from emdenoise_gui.gui.panels.view_widgets import Placeholder, Title, row

DIVIDER_PEN = pg.mkPen("#ffd23f", width=2)
#: The view's note while it shows no stack.
EMPTY_TEXT = ("No stack shown.\n\nSelect a stack or a result in the Project panel to see it here.\n"
              "To add stacks, drop TIFF, MRC or OME-Zarr files or folders on the window.")


class CompareView(QtWidgets.QWidget):
    """Original and result slices with shared slice, view, contrast, line and box tools.

    Signals: ``hover(str)`` describes the pixel under the mouse (for a status
    bar, "" when off the image) or says what a menu entry did; ``slice_changed(int)`` the new
    slice index; ``region_preview_requested(tuple)`` and ``region_denoise_requested(tuple)``
    the Region tool's half-open (y0, x0, y1, x1) px when its menu entries are chosen;
    ``state_changed()`` what :meth:`state` holds besides the slice may have changed (a mode or tool, the
    contrast, zoom or pan, the line, box or divider; the contrast also when set by the program): the window
    saves the view a second later, if it differs from the saved one.
    """

    hover = QtCore.Signal(str)
    slice_changed = QtCore.Signal(int)
    state_changed = QtCore.Signal()
    region_preview_requested = QtCore.Signal(object)
    region_denoise_requested = QtCore.Signal(object)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self._original: Slices | None = None
        self._result: Slices | None = None
        self._match: ScaleMatch | None | bool = False  # the result on another scale (False: not measured yet)
        self._name = self._label = ""
        self._voxel: tuple[float, float, float] | None = None
        self._shape: tuple[int, int] | None = None
        self._z = 0
        self._mode = "side_by_side"
        self.high_passes = HighPassCache(self)
        self.high_passes.ready.connect(self._refresh_images)
        self._note = ""  # "computing high-pass…" while it is
        self.slice_loader = SliceLoader(self)
        self._reading: int | None = None  # the slice the loader reads, said beside the slider
        self._blink_result = False
        self._scale_bars: list = []
        self.residual_levels: tuple[float, float] | None = None
        self.blink_timer = QtCore.QTimer(self)
        self.blink_timer.setInterval(BLINK_MS)  # not interval=: see tests/gui/test_locale_keywords.py
        self.blink_timer.timeout.connect(self.blink_step)
        build_toolbar(self)
        self._build_views()
        self._build_layout()
        self.box_placer = BoxPlacer(self.measure_panel.box, self)
        self.region_tool = RegionTool(self.views)
        self.keys = ViewKeys(self, self.graphics)
        self.menu = ViewMenu(self)
        self._report_state_changes()
        self.clear()

    # ----------------------------------------------------------------- building
    def _build_views(self) -> None:
        self.titles, self.graphics, self.views, self.image_items, self.messages = [], [], [], [], []
        for index in range(2):
            title = Title()
            graphics = pg.GraphicsView(background="k")
            view = ImageViewBox(invertY=True, lockAspect=True, defaultPadding=0.0)
            view.menu_requested.connect(lambda position: self.menu.show_at(position))
            graphics.setCentralItem(view)
            item = ScreenImageItem()
            view.addItem(item)
            view.sigRangeChanged.connect(item.view_changed)
            view.sigResized.connect(item.view_changed)
            message = pg.TextItem(color="#e0e0e0", anchor=(0.5, 0.5), fill=pg.mkBrush(0, 0, 0, 190))
            message.setZValue(20)
            message.hide()
            view.addItem(message, ignoreBounds=True)
            graphics.scene().sigMouseMoved.connect(partial(self._on_mouse_moved, index))
            for store, made in zip((self.titles, self.graphics, self.views, self.image_items, self.messages),
                                   (title, graphics, view, item, message)):
                store.append(made)
        self.fit = ViewFit(self.views[0])
        self.views[1].setXLink(self.views[0])
        self.views[1].setYLink(self.views[0])
        for view in self.views:
            view.disableAutoRange()  # fitting is ours: see view_fit.py
            view.sigResized.connect(self.fit.apply)
            view.sigRangeChangedManually.connect(self.fit.forget)
        self.measure_panel = MeasurePanel(self.views)
        self.profile_plot, self.iqr_label = self.measure_panel.plot, self.measure_panel.iqr_label
        self.divider = pg.InfiniteLine(
            angle=90, movable=True, pen=DIVIDER_PEN, hoverPen=pg.mkPen("w", width=3),
            label="original ◀ ▶ result",
            labelOpts={"position": 0.04, "color": "#ffd23f", "fill": pg.mkBrush(0, 0, 0, 170)})
        self.divider.setZValue(15)
        self.divider.hide()
        self.views[0].addItem(self.divider, ignoreBounds=True)
        self.divider.sigPositionChanged.connect(lambda: self._mode == "split" and self._refresh_images())
        self.contrast = Contrast(self.image_items)
        self.histogram = self.contrast.histogram

    def _report_state_changes(self) -> None:
        """Emit ``state_changed`` for the user's changes of the view (each source's end-of-change signal)."""
        def changed(*_args) -> None:
            self.state_changed.emit()

        for made in self.toolbar.actions():
            made.triggered.connect(changed)
        self.histogram.item.sigLevelChangeFinished.connect(changed)
        for view in self.views:
            view.sigRangeChangedManually.connect(changed)
        self.measure_panel.line.finished.connect(changed)
        self.measure_panel.box.finished.connect(changed)
        self.divider.sigPositionChangeFinished.connect(changed)

    def _build_layout(self) -> None:
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.spin = QtWidgets.QSpinBox()
        self.spin.setKeyboardTracking(False)
        slice_label = QtWidgets.QLabel("Slice")
        slice_label.setBuddy(self.spin)  # a screen reader names the box after it
        self.slider.setAccessibleName("Slice")
        for widget in (self.slider, self.spin):
            widget.setToolTip("The slice shown (z); click an image to step with the arrow keys")
        self.depth_label = QtWidgets.QLabel()
        self.slider.valueChanged.connect(self.slice_loader.go)  # off the window's thread where slow to read
        self.spin.valueChanged.connect(self.slice_loader.go)
        self.panels = [QtWidgets.QWidget(), QtWidgets.QWidget()]
        for panel, title, graphics in zip(self.panels, self.titles, self.graphics):
            row(QtWidgets.QVBoxLayout(panel), (title, 0), (graphics, 1), spacing=2)
        top = QtWidgets.QWidget()
        column = row(QtWidgets.QVBoxLayout(top))
        column.addLayout(row(QtWidgets.QHBoxLayout(), (self.panels[0], 1), (self.panels[1], 1),
                              (self.histogram, 0), spacing=4), 1)
        column.addLayout(row(QtWidgets.QHBoxLayout(), (slice_label, 0), (self.slider, 1),
                              (self.spin, 0), (self.depth_label, 0)))
        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.measure_panel)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([700, 220])  # images first; the profile is a strip below them
        self.splitter.setChildrenCollapsible(False)
        self.placeholder = Placeholder()
        self.pages = QtWidgets.QStackedWidget()  # the images and tools, or the note when there are none
        self.pages.addWidget(self.splitter)
        self.pages.addWidget(self.placeholder)
        row(QtWidgets.QVBoxLayout(self), (self.toolbar, 0), (self.pages, 1), margins=4)

    def _show_images(self, shown: bool, note: str = "") -> None:
        """The images and their tools (``shown``), or ``note`` in their place with every tool that
        needs an image disabled."""
        self.placeholder.setText(note)
        self.pages.setCurrentWidget(self.splitter if shown else self.placeholder)
        for action in (*self.mode_actions.values(), self.high_pass_action, self.line_action,
                       self.rect_action, self.region_action, self.auto_contrast_action, self.reset_view_action):
            action.setEnabled(shown)
        self.residual_action.setEnabled(shown and self._mode == "side_by_side")

    # ------------------------------------------------------------------ data in
    def set_original(self, stack, name: str) -> None:
        """Show ``stack`` (len() and [z] -> (Y, X) array) as the original; clears any result.

        Only the visible slice is read. View and tools are reset when the image
        size changes, contrast when the stack does (not between its results: two denoisers were compared
        at the automatic contrast, the one the user set lost; viewer audit); the slice index is kept
        where it exists.
        """
        slices = Slices(stack)
        if not slices.depth:
            raise ValueError(f"'{name}' holds no slices")
        self.slice_loader.forget()
        self._z = min(self._z, slices.depth - 1)
        shape = slices.get(self._z).shape
        same_stack = self._original is not None and same_source(self._original.stack, stack)
        self._original, self._result, self._name, self._label = slices, None, name, ""
        self._voxel = voxel_size(stack)
        self.fit.set_pixel_size(self._voxel, self.views)
        if not same_stack:
            self.contrast.forget()
        for which in ("original", "result"):
            self.high_passes.new_source(which)
        for widget in (self.slider, self.spin):
            with QtCore.QSignalBlocker(widget):
                widget.setRange(0, slices.depth - 1)
        resized, self._shape = shape != self._shape, shape
        self.fit.shape = shape
        if resized:  # tools back to their default places, whole image in view
            with self.box_placer.moving():
                self.measure_panel.reset(*shape)
            self.divider.setValue(shape[1] / 2)
            self.reset_view()
        self.region_tool.set_image(shape)
        if resized or self.box_placer.auto:  # the IQR box on the flattest region, unless the user moved it
            self.box_placer.place(slices.get(self._z), self._voxel, centre_now=resized)
        self._install_scale_bars()
        self._show_images(True)
        self.set_slice(self._z, force=True)
        self._on_tools_toggled()  # the tools appear with the first image

    def clear(self, message: str = "") -> None:
        """Show no stack: ``message`` (default :data:`EMPTY_TEXT`) in place of the images, tools that
        need an image disabled. The next :meth:`set_original` starts afresh (view, tools, contrast)."""
        self._original = self._result = None
        self.slice_loader.forget()
        self._name = self._label = ""
        self._voxel = self._shape = self.fit.shape = None
        self._z = 0
        for item in self.image_items:
            item.clear()
        self._show_message(0, "")
        self._show_message(1, "")
        self._install_scale_bars()  # none without an image
        for widget in (self.slider, self.spin):
            with QtCore.QSignalBlocker(widget):
                widget.setRange(0, 0)
        self.measure_panel.set_images(None, None, ("Original", "Result"), None)
        self._update_titles()
        self._on_tools_toggled()
        self._show_images(False, message or EMPTY_TEXT)

    def set_result(self, stack, label: str = "", first_slice: int = 0) -> None:
        """Show ``stack`` as the result for original slices ``first_slice ..``; None clears it.

        Original slices without a result are shown blank with a note. Raises
        ValueError without an original, or if the images differ in size.
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
                raise ValueError(f"the result's images are {yx[-1]}x{yx[0]} px but the original's are "
                                 f"{self._shape[1]}x{self._shape[0]} px; they cannot be compared")
            self._result, self._label = Slices(stack, first_slice), label
        self._match = False
        self.high_passes.new_source("result")
        self._refresh_all()

    # ------------------------------------------------------------------- slices
    def current_slice(self) -> int:
        return self._z

    def depth(self) -> int:
        """Number of slices of the original (0 without one)."""
        return self._original.depth if self._original else 0

    def has_image(self) -> bool:
        return self._original is not None

    def voxel_size(self) -> tuple[float, float, float] | None:
        """The original's (z, y, x) voxel size in nm, or None when unknown."""
        return self._voxel

    def visible_region(self) -> tuple[int, int, int, int] | None:
        """(y0, y1, x0, x1) px of the original on screen in the first view, clipped to the image;
        None without an image."""
        return self.fit.visible_region()

    def set_slice(self, z: int, force: bool = False) -> None:
        """Show slice ``z`` (clamped to the original's depth) in every view."""
        if self._original is None:
            return
        z = int(min(max(int(z), 0), self._original.depth - 1))
        changed = z != self._z
        if changed or force:
            self._z = z
            for widget in (self.slider, self.spin):
                with QtCore.QSignalBlocker(widget):
                    widget.setValue(z)
            self._refresh_all()
        if changed:
            self.slice_changed.emit(z)

    def show_reading(self, z: int | None) -> None:
        """Say beside the slider that slice ``z`` is being read, the slider and the box on it (None: nothing is)."""
        self._reading = z
        for widget in (self.slider, self.spin) if z is not None else ():
            with QtCore.QSignalBlocker(widget):
                widget.setValue(z)
        self._update_titles()

    def raw_slice(self, which: str, z: int | None = None) -> np.ndarray | None:
        """Slice ``z`` (default: the current one) of ``"original"`` or ``"result"`` as read, (Y, X);
        None where there is none. Reading another slice replaces the one-slice cache."""
        source = self._original if which == "original" else self._result
        return None if source is None else source.get(self._z if z is None else z)

    _raw = raw_slice

    def shown_pair(self) -> tuple[np.ndarray, np.ndarray | None, str]:
        """(original, result or None, kind) (Y, X) of the current slice as displayed: high-passed
        (kind ``"high_pass"``, float32) once both are computed, raw (``"raw"``) until then; a result on
        another scale than the original stretched to it (float32, :class:`ScaleMatch`)."""
        original, result = self._raw("original"), self._raw("result")
        if result is not None and self._match is False:  # measured on the first slice shown
            self._match = ScaleMatch.between(original, result)
        self._note, kind = "", "raw"
        if self.high_pass_action.isChecked():
            passed = [self.high_passes.get("original", self._z, original),
                      self.high_passes.get("result", self._z, result, original)]
            if passed[0] is not None and (result is None or passed[1] is not None):
                (original, result), kind = passed, "high_pass"
            else:
                error = self.high_passes.error()
                self._note = f"high-pass failed ({error}); showing the plain image" if error else "computing high-pass…"
        if result is not None and self._match:
            result = self._match.shown(result, kind)
        return original, result, kind

    # ------------------------------------------------------------------ display
    def _refresh_all(self) -> None:
        try:
            self._draw_images()
            if self._original is not None:
                result = self._raw("result")
                names = (f"Original — {self._name}", f"Result — {self._label or 'none'}")
                stretched = result is not None and bool(self._match)
                if stretched:  # measured as shown: its IQR and profile beside the original's on one scale
                    result = self._match.shown(result, "raw")
                    names = (names[0], f"{names[1]} (stretched from another scale)")
                self.measure_panel.set_images(self._raw("original"), result, names, self._voxel, stretched,
                                              origin_of(self._original))
        except Exception as exc:  # a damaged slice: say so in the view, keep the app alive
            self._cannot_read(exc)

    def _cannot_read(self, exc: Exception) -> None:
        """Empty panes and the reason in the view: the slice's file is damaged, replaced or gone."""
        for item in self.image_items:
            item.clear()
        stack = self._original.stack if self._original is not None else None  # a region's result: a RegionOf
        path = getattr(stack, "path", None) or getattr(getattr(stack, "meta", None), "path", None)
        why = str(exc) if path is None or Path(path).exists() else (
            "its file was moved or deleted: put it back, or right-click it in the Project panel ▸ Locate File…")
        self._show_message(0, f"Cannot read slice {self._z}:\n" + textwrap.fill(why, 60))
        self.measure_panel.set_images(None, None, ("Original", "Result"), None)  # not an earlier slice's numbers
        self._update_titles()

    def _refresh_images(self) -> None:
        """Redraw the panes (a mode, blink or high-pass change); a slice that cannot be read is said in the view
        (a file deleted while shown raised out of the mode switch into the app's error box)."""
        try:
            self._draw_images()
        except Exception as exc:
            self._cannot_read(exc)

    def _wanted_kind(self) -> str:
        return "high_pass" if self.high_pass_action.isChecked() else "raw"

    def _draw_images(self) -> None:
        if self._original is None:
            return
        original, result, kind = self.shown_pair()
        show_residual = self._mode == "side_by_side" and result is not None and self.residual_action.isChecked()
        levels = self.contrast.show(kind, original, own_right=show_residual)
        left, right = self.image_items
        missing = "" if result is not None else (
            f"No result for slice {self._z}" if self._result is not None else "No result yet")
        left_message = right_message = ""
        self.residual_levels = None
        if self._mode == "side_by_side":
            left.show(original, levels)
            if result is None:
                right.clear()
                right_message = missing
            elif show_residual:
                residual, self.residual_levels = residual_image(original, result)
                right.show(residual, self.residual_levels)
            else:
                right.show(result, levels)
        elif self._mode == "split":
            left.show(split_image(original, result, self.divider.value()), levels)
            left_message = missing
        elif self._blink_result and result is None:
            left.clear()
            left_message = missing
        else:
            left.show(result if self._blink_result else original, levels)
        self.contrast.apply(levels)
        self._show_message(0, left_message, right_part=self._mode == "split")
        self._show_message(1, right_message)
        self._update_titles()

    def _show_message(self, index: int, text: str, right_part: bool = False) -> None:
        message = self.messages[index]
        message.setVisible(bool(text))
        if text and self._shape is not None:
            height, width = self._shape
            x0 = min(max(self.divider.value(), 0), width) if right_part else 0
            message.setText(text)
            message.setPos((x0 + width) / 2, height * 0.38)  # above the default line's row

    def levels(self) -> tuple[float, float] | None:
        """Contrast limits (grey values, or high-pass values when High-pass is on) of the original,
        shared by the result; None before any were set."""
        return self.contrast.limits[self._wanted_kind()]

    def set_levels(self, lo: float, hi: float) -> None:
        """Set the contrast limits; with High-pass on they apply once the high-pass is shown. Limits that are
        not two finite numbers are ignored (NaN hung the histogram's event loop)."""
        if math.isfinite(lo) and math.isfinite(hi):
            self.contrast.set(self._wanted_kind(), lo, hi)

    def auto_contrast(self) -> None:
        """Contrast from the 0.5 / 99.5 percentiles of the current original slice (as shown)."""
        if self._original is not None:
            self.contrast.apply(percentile_levels(self.shown_pair()[0], AUTO_PERCENTILES))

    def zoom(self, factor: float) -> None:
        """Zoom both views in (``factor`` > 1) or out around their centre."""
        self.fit.zoom(factor)
        self.state_changed.emit()

    def pan(self, right: float, down: float) -> None:
        """Move both views by ``right`` of the visible width and ``down`` of its height (Alt+arrow keys)."""
        self.fit.pan(right, down)
        self.state_changed.emit()

    def reset_view(self) -> None:
        """Fit the whole image in the view(s), and keep it fitted until the user pans or zooms."""
        self.fit.fit()
        self.state_changed.emit()  # from the toolbar, the 0 key and the image's menu alike

    def pane_titles(self, residual_levels: tuple[float, float] | None = None) -> tuple[str, str]:
        """Titles of the original and the result pane as side by side shows them (the result's as
        a residual when ``residual_levels`` are given)."""
        return view_titles.pane_titles(self, residual_levels)

    def _update_titles(self) -> None:
        view_titles.update_titles(self)

    def _install_scale_bars(self) -> None:
        for view, bar in zip(self.views, self._scale_bars):
            remove_scale_bar(view, bar)
        self._scale_bars = []
        if self._voxel and self._shape is not None:
            self._scale_bars = [add_scale_bar(view, self._voxel[2], self.views[0]) for view in self.views]

    # ------------------------------------------------------------------ figures
    def figure_name(self) -> str:
        """A file name (no suffix) for a figure of this slice: the stack's name and the slice."""
        stem = re.sub(r"[^\w.-]+", "_", self._name.rsplit(".", 1)[0]).strip("_") or "figure"
        return f"{stem}_slice{self._z:04d}"

    # -------------------------------------------------------------------- modes
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        """``"side_by_side"``, ``"split"`` or ``"blink"``; choosing Blink again resumes blinking."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        side = mode == "side_by_side"
        self._mode = mode
        self.mode_actions[mode].setChecked(True)
        self.fit.keep()  # the user's zoom and centre (or the fit) while the view changes width
        self.panels[1].setVisible(side)
        self.fit.apply()
        self.residual_action.setEnabled(side and self._original is not None)
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

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() == QtCore.Qt.Key.Key_B and self._mode == "blink":  # keys the views ignore land here
            self.blink_by_hand()
        else:
            super().keyPressEvent(event)

    def blink_by_hand(self) -> None:
        """Key B: pause automatic blinking and flip between original and result."""
        if self._mode == "blink":
            self.blink_timer.stop()
            self.blink_step()

    # -------------------------------------------------------------------- tools
    def _on_tools_toggled(self) -> None:
        on_image = self._original is not None  # no stray line or box over empty views
        self.measure_panel.set_tools(self.line_action.isChecked(), self.rect_action.isChecked(), on_image)
        self.region_tool.set_on(self.region_action.isChecked(), self.visible_region())

    def region(self) -> tuple[int, int, int, int] | None:
        """The Region tool's box as half-open (y0, x0, y1, x1) px clipped to the image; None when the
        tool is off or there is no image."""
        return self.region_tool.region()

    def set_region(self, rect: tuple[int, int, int, int]) -> None:
        """Move the Region tool's box to half-open ``(y0, x0, y1, x1)`` px (it shows when the tool is on)."""
        self.region_tool.set_region(rect)

    def line_points(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """End points ((y0, x0), (y1, x1)) of the line in px, pixel centres at integers."""
        return self.measure_panel.line.points()

    def set_line_points(self, p0: tuple[float, float], p1: tuple[float, float]) -> None:
        """Move the line (in both views) to ``p0 = (y0, x0)``, ``p1 = (y1, x1)`` px."""
        self.measure_panel.line.set_points(p0, p1)

    def rect(self) -> tuple[int, int, int, int] | None:
        """The IQR box as half-open (y0, x0, y1, x1) px clipped to the image, or None if empty."""
        return None if self._shape is None else self.measure_panel.box.rect(self._shape)

    def set_rect(self, rect: tuple[int, int, int, int]) -> None:
        """Move the IQR box (in both views) to half-open ``(y0, x0, y1, x1)`` px."""
        self.measure_panel.box.set_rect(rect)

    # -------------------------------------------------------------------- hover
    def _on_mouse_moved(self, index: int, scene_pos) -> None:
        view = self.views[index]
        if self._original is not None and view.sceneBoundingRect().contains(scene_pos):
            point = view.mapSceneToView(scene_pos)
            self.hover.emit(self.describe_point(point.x(), point.y()))

    def describe_point(self, x: float, y: float) -> str:
        """"x, y: value original / value result" for view coordinates (px), "" off the image."""
        if self._original is None:
            return ""
        return pixel_text(math.floor(x), math.floor(y), self._z, self._raw("original"), self._raw("result"),
                          self._voxel, origin_of(self._original))

    # -------------------------------------------------------------------- state
    def state(self) -> dict:
        """Everything needed to reopen the comparison where the user left it (``saved_view.view_state``)."""
        return view_state(self)

    def restore_state(self, state: dict) -> None:
        """Apply a dict from :meth:`state` (``saved_view.restore_view_state``: what misses the image is dropped)."""
        restore_view_state(self, state)
