"""The compare view's toolbar: side by side / split / blink, high-pass, residual and the measuring tools."""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

from emdenoise_gui.gui.panels.high_pass import SIGMA_PX as HIGH_PASS_SIGMA_PX
from emdenoise_gui.project.records import COMPARE_MODES

MODES = dict(zip(COMPARE_MODES, ("Side by side", "Split", "Blink")))
BLINK_MS = 600
MODE_TIPS = {
    "side_by_side": "Original left, result right; pan and zoom move both",
    "split": "One image: original left of the yellow divider, result right of it (drag the divider)",
    "blink": f"Alternate original and result every {BLINK_MS} ms; B flips by hand and pauses, "
             "click Blink again to resume",
}


def build_toolbar(view) -> None:
    """The compare view's toolbar: its modes and tools as checkable actions, set as attributes of ``view``
    (a :class:`CompareView`: ``toolbar``, ``mode_actions``, ``high_pass_action``, ``residual_action``,
    ``line_action``, ``rect_action``, ``region_action``, ``auto_contrast_action``, ``reset_view_action``)."""
    bar = view.toolbar = QtWidgets.QToolBar("Compare")
    view.mode_group = QtGui.QActionGroup(view)

    def action(text, tip, checkable=True, checked=False, slot=None, separator=False):
        made = bar.addAction(text)
        made.setCheckable(checkable)
        made.setChecked(checked)
        made.setToolTip(tip)
        if slot is not None:
            (made.toggled if checkable else made.triggered).connect(slot)
        if separator:
            bar.addSeparator()
        return made

    view.mode_actions = {key: action(text, MODE_TIPS[key], checked=key == "side_by_side",
                                     separator=key == "blink") for key, text in MODES.items()}
    for key, made in view.mode_actions.items():
        made.setData(key)
        view.mode_group.addAction(made)
    view.mode_group.triggered.connect(lambda chosen: view.set_mode(chosen.data()))
    view.high_pass_action = action(
        "High-pass", f"Both images minus a Gaussian blur (σ {HIGH_PASS_SIGMA_PX:g} px): noise and fine "
        "detail without shading", slot=view._refresh_images)
    view.residual_action = action(
        "Residual", "Right view shows original − result (what the denoiser removed), with its own "
        "symmetric contrast", slot=view._refresh_images, separator=True)
    view.line_action = action("Line profile", "Yellow line: grey values along it, plotted below",
                              checked=True, slot=view._on_tools_toggled)
    view.rect_action = action("IQR box", "Pink box: interquartile range inside it (noise on a flat "
                              "region; it starts on the flattest part of the slice)", checked=True,
                              slot=view._on_tools_toggled)
    view.region_action = action("Region", "Yellow dashed box: a part of the slice to preview or denoise "
                                "on its own (right-click the image)", slot=view._on_tools_toggled,
                                separator=True)
    view.auto_contrast_action = action("Auto contrast", "Contrast from the 0.5 and 99.5 percentiles "
                                       "of this original slice", checkable=False, slot=view.auto_contrast)
    view.reset_view_action = action("Reset view", "Fit the whole image in the view", checkable=False,
                                    slot=view.reset_view)
