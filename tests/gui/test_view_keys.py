"""Keys on the image views: slices, zoom, fit; the list the Help menu shows."""

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtCore  # noqa: E402

from emdenoise_gui.gui.panels.keys import PAGE, SHORTCUTS, ZOOM_STEP  # noqa: E402
from tests.gui.test_view_iqr_box import make_view  # noqa: E402

Key = QtCore.Qt.Key


@pytest.fixture
def view(qtbot):
    widget = make_view(qtbot)
    widget.set_original(np.random.default_rng(1).normal(size=(25, 200, 300)).astype(np.float32), "stack")
    widget.graphics[0].setFocus()
    qtbot.wait(20)
    return widget


def press(qtbot, view, key, text=""):
    qtbot.keyClick(view.graphics[0], key) if not text else qtbot.keyClicks(view.graphics[0], text)


def test_keys_step_through_slices(view, qtbot):
    steps = [(Key.Key_Right, 1), (Key.Key_Up, 2), (Key.Key_Left, 1), (Key.Key_Down, 0),
             (Key.Key_Down, 0), (Key.Key_PageUp, PAGE), (Key.Key_PageUp, 2 * PAGE), (Key.Key_PageUp, 24),
             (Key.Key_PageDown, 24 - PAGE), (Key.Key_Home, 0), (Key.Key_End, 24)]
    for key, expected in steps:
        press(qtbot, view, key)
        assert view.current_slice() == expected, key


def test_keys_zoom_and_fit(view, qtbot):
    width = view.views[0].viewRect().width()
    press(qtbot, view, None, "+")
    assert view.views[0].viewRect().width() == pytest.approx(width / ZOOM_STEP, rel=1e-3)
    assert view.views[1].viewRect().width() == pytest.approx(width / ZOOM_STEP, rel=1e-2)  # linked
    press(qtbot, view, None, "=")
    press(qtbot, view, None, "-")
    assert view.views[0].viewRect().width() == pytest.approx(width / ZOOM_STEP, rel=1e-3)
    view.resize(1100, 700)  # a zoomed view is the user's: not re-fitted on resize
    qtbot.wait(60)
    assert view.views[0].viewRect().width() < 300
    press(qtbot, view, None, "0")
    rect = view.views[0].viewRect()
    assert rect.contains(QtCore.QRectF(0, 0, 300, 200).adjusted(1, 1, -1, -1))


def test_ctrl_combinations_are_left_to_the_menus(view, qtbot):
    qtbot.keyClick(view.graphics[0], Key.Key_Right, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert view.current_slice() == 0


def test_shortcut_list_for_the_help_menu():
    assert all(isinstance(keys, str) and isinstance(what, str) and keys and what for keys, what in SHORTCUTS)
    listed = " ".join(keys for keys, _ in SHORTCUTS)
    for name in ("Right", "Left", "Up", "Down", "Page Up", "Page Down", "Home", "End", "+", "=", "−", "0"):
        assert name in listed, name
