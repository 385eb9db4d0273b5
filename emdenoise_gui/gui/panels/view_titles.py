"""What the compare view's titles say: each pane's (stack, slice, pixel size, result, high-pass, residual
contrast), the line beside the slider (slice range, z in nm, a slice being read) and the views' accessible
names. ``view`` is the ``CompareView``; these read its state and set its labels."""

from __future__ import annotations

from emdenoise_gui.gui.panels.high_pass import SIGMA_PX as HIGH_PASS_SIGMA_PX
from emdenoise_gui.gui.panels.profile_plot import format_nm, format_value
from emdenoise_gui.gui.panels.slices import pixel_words, slice_span


def pane_titles(view, residual_levels: tuple[float, float] | None = None) -> tuple[str, str]:
    """Titles of the original and the result pane as side by side shows them (the result's as
    a residual when ``residual_levels`` are given)."""
    shown = f"  ·  slice {view._z}" if view._original is not None and view._original.depth > 1 else ""
    original = f"Original — {view._name or 'none'}{shown}  ·  {pixel_words(view._voxel)}"
    result = f"Result — {view._label or 'none'}"
    if view._result is not None and view._match:
        result += f"  ·  {view._match.words()}"
    if view._result is not None and (view._result.first or view._result.depth != view._original.depth):
        result += f"  ({slice_span(view._result.first, view._result.first + view._result.depth - 1)})"
    if residual_levels is not None:
        result = (f"Residual (original − result) — {view._label}  ·  "
                  f"contrast ±{format_value(residual_levels[1])} grey values")
    if view.high_pass_action.isChecked():
        original += f"  ·  high-pass σ {HIGH_PASS_SIGMA_PX:g} px"
        if view._result is not None and view._result.covers(view._z) and residual_levels is None and not view._note:
            result += f"  ·  high-pass σ {HIGH_PASS_SIGMA_PX:g} px"
        if view._note:
            original += f"  ·  {view._note}"
            result += f"  ·  {view._note}" if view._result is not None else ""
    return original, result



def update_titles(view) -> None:
    """Set the panes' titles for the mode shown, the line beside the slider (range, z, a slice being read) and
    the views' accessible names."""
    original, result = pane_titles(view, view.residual_levels)
    if view._mode == "side_by_side":
        view.titles[0].setText(original)
        view.titles[1].setText(result)
    elif view._mode == "split":
        view.titles[0].setText(f"Split: left {original}  |  right {result}")
    else:
        paused = "" if view.blink_timer.isActive() else "  (paused: click Blink to resume)"
        view.titles[0].setText(f"Blink: {result if view._blink_result else original}{paused}")
    depth = view._original.depth if view._original else 0
    text = "(a single image)" if depth == 1 else f"of 0–{max(depth - 1, 0)}"
    if view._voxel and depth:
        text += f"  ·  z {format_nm(round(view._z * view._voxel[0], 3))}"
    if view._reading is not None:
        text += f"  ·  reading slice {view._reading}…"
    view.depth_label.setText(text)
    _name_views(view)


def _name_views(view) -> None:
    """Accessible names of the image views for what they show now; their titles as descriptions."""
    left = {"side_by_side": "Original image", "split": "Split image: original left, result right",
            "blink": "Blink image: original and result in turn"}[view._mode]
    right = "Residual image" if view.residual_levels is not None else "Result image"
    for graphics, name, title in zip(view.graphics, (left, right), view.titles):
        graphics.setAccessibleName(name)
        graphics.setAccessibleDescription(title.toolTip())  # the title in full (shown elided)
