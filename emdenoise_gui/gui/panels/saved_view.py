"""A saved view (the compare view's state in project.json) checked against the image it is restored on.

A project reopened after its stack was replaced by a smaller one, or a hand-edited project.json, could put
the view off the image, the profile line and the IQR box outside it, and contrast limits above every value
(both panes black, no word why). :func:`fitting_state` drops what no longer fits; the view then keeps its
own defaults for those parts (fit to the image, automatic contrast, the default line and box).
"""

from __future__ import annotations

import math

from PySide6 import QtCore

from emdenoise_gui.gui.imaging import percentile_levels
from emdenoise_gui.gui.panels.profile_plot import clip_to_image
from emdenoise_gui.project.records import COMPARE_STATE_VERSION


def _finite(values) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def fitting_state(state: dict, shape: tuple[int, int], value_range: tuple[float, float] | None) -> dict:
    """``state`` without the parts that miss a (Y, X) ``shape`` image (its keys taken out).

    ``value_range``: (lowest, highest) finite value of the slice shown, for the contrast limits of the plain
    image (high-pass limits are not checked against it); None skips that check.
    """
    height, width = shape
    kept = dict(state)
    levels = kept.get("levels")
    if levels:
        lo, hi = levels
        off = value_range is not None and not kept.get("high_pass") and (hi < value_range[0] or lo > value_range[1])
        if not _finite(levels) or lo >= hi or off:
            del kept["levels"]
    line = kept.get("line")
    if line and (not _finite([*line[0], *line[1]]) or clip_to_image(line[0], line[1], shape) is None):
        del kept["line"]
    rect = kept.get("rect")
    if rect and not (rect[0] < height and rect[1] < width and rect[2] > 0 and rect[3] > 0):
        del kept["rect"]
    view = kept.get("view_rect")
    if view and not (view[0] < width and view[1] < height and view[0] + view[2] > 0 and view[1] + view[3] > 0):
        del kept["view_rect"]
    return kept


def view_state(view) -> dict:
    """Everything needed to reopen a ``CompareView`` where the user left it (JSON-safe; the fields of
    ``project.records.CompareState``, which validates it)."""
    rect_shown, levels, rect = view.views[0].viewRect(), view.levels(), view.rect()
    return {
        "version": COMPARE_STATE_VERSION,
        "slice": view.current_slice(),
        "view_rect": [rect_shown.x(), rect_shown.y(), rect_shown.width(), rect_shown.height()],
        "mode": view.mode(),
        "high_pass": view.high_pass_action.isChecked(),
        "residual": view.residual_action.isChecked(),
        "line_tool": view.line_action.isChecked(),
        "rect_tool": view.rect_action.isChecked(),
        "levels": list(levels) if levels else None,
        "line": [list(point) for point in view.line_points()],
        "rect": list(rect) if rect else None,
        "divider_x": float(view.divider.value()),
    }


def restore_view_state(view, state: dict) -> None:
    """Apply a dict from :func:`view_state` to a ``CompareView``; missing keys keep their current value, and
    what misses the image shown (:func:`fitting_state`) keeps the view's defaults."""
    for key, action in (("high_pass", view.high_pass_action), ("residual", view.residual_action),
                        ("line_tool", view.line_action), ("rect_tool", view.rect_action)):
        if key in state:
            action.setChecked(bool(state[key]))
    if "divider_x" in state:
        view.divider.setValue(float(state["divider_x"]))
    if "mode" in state:
        view.set_mode(state["mode"])
    if "slice" in state:
        view.set_slice(int(state["slice"]))
    raw = view.raw_slice("original")
    if raw is not None:
        plain = not state.get("high_pass", view.high_pass_action.isChecked())
        state = fitting_state(state, raw.shape, percentile_levels(raw, (0, 100)) if plain else None)
    if state.get("levels"):
        view.set_levels(*state["levels"])
    if state.get("line"):
        view.set_line_points(*state["line"])
    if state.get("rect"):
        view.set_rect(state["rect"])
    if state.get("view_rect"):
        view.fit.keep(QtCore.QRectF(*state["view_rect"]))
