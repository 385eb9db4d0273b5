"""Keyboard, small windows and the dark theme (audit of 2026-12-06): the compare view's commands in the View
menu with shortcuts, its image menu from the keyboard, Tab through the panels as laid out, outlines the dark
theme draws, a line profile that fits a narrow pane."""

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from tests.gui.test_compare_view import CountingStack  # noqa: E402


def test_the_compare_views_commands_are_in_the_view_menu_with_shortcuts(window, qtbot):
    """The toolbar's modes and tools were mouse-only (no focus, no shortcut, not in a menu)."""
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    texts = [a.text() for a in view_menu.actions() if not a.isSeparator()]
    for text in ("Spli&t", "&High-pass", "&Line Profile", "&Fit Image to Window"):
        assert text in texts
    viewer = window.viewer
    viewer.set_original(CountingStack(np.random.default_rng(0).normal(100, 10, (2, 64, 80)).astype(np.float32)),
                        "stack")
    window.activateWindow()
    QTest.keyClick(window, QtCore.Qt.Key.Key_2, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert viewer.mode() == "split"
    QTest.keyClick(window, QtCore.Qt.Key.Key_H, QtCore.Qt.KeyboardModifier.ControlModifier
                   | QtCore.Qt.KeyboardModifier.ShiftModifier)  # not Ctrl+H: that is Hide on macOS
    assert viewer.high_pass_action.isChecked()
    from emdenoise_gui.gui.help import menu_shortcuts

    assert any(command == "Split" for _, command, _ in menu_shortcuts(window))  # listed in Help


def test_the_image_menu_opens_from_the_keyboard(window, qtbot, monkeypatch):
    viewer = window.viewer
    viewer.set_original(CountingStack(np.zeros((1, 32, 32), np.float32)), "flat")
    shown = []
    monkeypatch.setattr(viewer.menu, "show_at", shown.append)
    viewer.graphics[0].setFocus()
    QTest.keyClick(viewer.graphics[0], QtCore.Qt.Key.Key_Menu)
    QTest.keyClick(viewer.graphics[0], QtCore.Qt.Key.Key_F10, QtCore.Qt.KeyboardModifier.ShiftModifier)
    assert len(shown) == 2


def test_tab_goes_through_the_panels_as_they_are_laid_out(window):
    """The images came after the whole Jobs panel."""
    order, widget = [], window.project_panel.tree
    while len(order) < 60 and widget not in order:
        order.append(widget)
        widget = widget.nextInFocusChain()
        while not widget.focusPolicy() & QtCore.Qt.FocusPolicy.TabFocus:
            widget = widget.nextInFocusChain()
    stops = [order.index(w) for w in (window.viewer.graphics[0], window.zoo_panel.list, window.jobs_panel.table)]
    assert stops == sorted(stops)


def test_the_dark_theme_outlines_check_boxes_and_fields(qapp):
    from emdenoise_gui.gui import theme

    try:
        theme.apply(qapp, "dark")
        assert "QCheckBox::indicator" in qapp.styleSheet()
        box = QtWidgets.QCheckBox("Train on a region only")
        box.resize(200, 24)
        image = box.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
        lightest = max(QtGui.QColor(image.pixel(x, y)).lightness() for x in range(0, 20) for y in range(24))
        assert lightest > 100  # its outline shows on the dark window (it was 1.2:1 against the field)
        theme.apply(qapp, "light")
        assert qapp.styleSheet() == ""
    finally:
        theme.apply(qapp, "system")


def test_a_narrow_line_profile_keeps_its_plot_inside_its_pane(qtbot):
    """The plot's key set a minimum width of about 505 px: in a 394 px pane the axis ran off the right edge."""
    from emdenoise_gui.gui.panels.profile_plot import ProfilePlot

    plot = ProfilePlot()
    qtbot.addWidget(plot)
    plot.set_names("Original — a_long_stack_name_from_the_microscope.tif", "Result — flyem-nrrn-lite")
    plot.resize(380, 200)
    plot.show()
    qtbot.waitExposed(plot)
    assert plot.getPlotItem().sceneBoundingRect().width() <= 381
