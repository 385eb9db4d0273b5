"""Accessibility audit: every control has a name a screen reader can say, the coloured texts
reach 4.5:1 in both appearances, a missing file is said in words, and the keyboard pans a zoomed view."""

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402

from emdenoise_gui.gui import theme  # noqa: E402
from emdenoise_gui.gui.panels import keys  # noqa: E402
from tests.gui.test_view_iqr_box import make_view  # noqa: E402

#: The kinds of widget a user operates: each must be named (the audit found the views, trees, the slice
#: controls and the logs nameless: a screen reader said "graphics view" or nothing).
INTERACTIVE = (QtWidgets.QAbstractButton, QtWidgets.QComboBox, QtWidgets.QAbstractSpinBox, QtWidgets.QSlider,
               QtWidgets.QAbstractItemView, QtWidgets.QLineEdit, QtWidgets.QTextEdit, QtWidgets.QPlainTextEdit,
               QtWidgets.QGraphicsView)


def accessible_name(widget: QtWidgets.QWidget) -> str:
    """What a screen reader says a widget is called (its accessible name, or Qt's guess from a buddy label)."""
    interface = QtGui.QAccessible.queryAccessibleInterface(widget)
    return interface.text(QtGui.QAccessible.Text.Name) if interface is not None else ""


def part_of_another(widget: QtWidgets.QWidget) -> bool:
    """Whether ``widget`` is a piece of a spin box or a combo box (its text field, its pop-up list): the box
    itself carries the name."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, (QtWidgets.QAbstractSpinBox, QtWidgets.QComboBox)):
            return True
        parent = parent.parentWidget()
    return False


def unnamed(root: QtWidgets.QWidget) -> list[str]:
    """The focusable interactive widgets under ``root`` with no accessible name, visible text or tooltip."""
    found = []
    for widget in root.findChildren(QtWidgets.QWidget):
        if (not isinstance(widget, INTERACTIVE) or widget.focusPolicy() == QtCore.Qt.FocusPolicy.NoFocus
                or part_of_another(widget)):
            continue
        text = widget.text() if isinstance(widget, QtWidgets.QAbstractButton) else ""
        if not (accessible_name(widget).strip() or text.strip() or widget.toolTip().strip()):
            found.append(f"{type(widget).__name__} in {type(widget.parentWidget()).__name__}")
    return found


def test_every_control_of_the_main_window_has_a_name(window):
    assert not unnamed(window), unnamed(window)
    viewer = window.viewer
    assert accessible_name(viewer.spin) == "Slice"  # the label beside it is its buddy
    assert [accessible_name(g) for g in viewer.graphics] == ["Original image", "Result image"]
    assert accessible_name(viewer.histogram) == "Contrast"
    assert accessible_name(viewer.profile_plot) == "Line profile"
    assert accessible_name(window.project_panel.tree) == "Project stacks and results"
    assert accessible_name(window.zoo_panel.list) == "Models and filters"
    assert accessible_name(window.zoo_panel.details) == "Model details"
    assert accessible_name(window.jobs_panel.table) == "Jobs"
    assert accessible_name(window.jobs_panel.log) == "Job log"


def test_the_image_views_are_named_for_what_they_show(qtbot):
    view = make_view(qtbot)
    view.set_original(np.zeros((2, 32, 40), np.float32), "stack")
    view.set_result(np.ones((2, 32, 40), np.float32), "smoothed")
    view.residual_action.setChecked(True)
    assert accessible_name(view.graphics[1]) == "Residual image"
    assert "smoothed" in view.graphics[1].accessibleDescription()  # the pane's title
    view.set_mode("split")
    assert accessible_name(view.graphics[0]).startswith("Split image")


def test_every_control_of_the_wizard_has_a_name(qtbot):
    from emdenoise_gui.gui.wizard import TrainWizard

    wizard = TrainWizard(None)
    qtbot.addWidget(wizard)
    assert not unnamed(wizard), unnamed(wizard)
    kind, data = wizard.pages["kind"], wizard.pages["data"]
    assert accessible_name(kind.stack) == "Stack"  # not the name of the stack chosen in it
    assert (accessible_name(data.dose_low), accessible_name(data.dose_high)) == (
        "Synthetic dose, lowest", "Synthetic dose, highest")
    assert accessible_name(wizard.pages["training"].plot) == "Loss curves"
    assert accessible_name(wizard.pages["finish"].panes[2][0]).startswith("Residual")


# -- contrast ------------------------------------------------------------------------------------------
def luminance(colour: QtGui.QColor) -> float:
    """WCAG relative luminance of an sRGB colour."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(colour.redF()) + 0.7152 * linear(colour.greenF()) + 0.0722 * linear(colour.blueF())


def contrast(a, b) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    high, low = sorted((luminance(QtGui.QColor(a)), luminance(QtGui.QColor(b))), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_contrast_helper_agrees_with_wcag():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#b3261e", "#2b2d31") == pytest.approx(2.1, abs=0.05)  # the audit's dark warning


@pytest.mark.parametrize("appearance", ["light", "dark"])
def test_coloured_texts_reach_4_5_to_1_in_both_appearances(appearance):
    palette = theme.palette_for(appearance)
    Role = QtGui.QPalette.ColorRole
    backgrounds = [palette.color(role) for role in (Role.Window, Role.Base, Role.AlternateBase)]
    assert theme.palette_is_dark(palette) == (appearance == "dark")
    for name in theme.TONES:
        for background in backgrounds:
            ratio = contrast(theme.tone(name, palette), background)
            assert ratio >= 4.5, (appearance, name, background.name(), round(ratio, 2))


def test_warnings_and_grey_texts_follow_the_appearance_when_it_changes(qapp, qtbot, tmp_path, monkeypatch):
    from emdenoise_gui.gui.panels.zoo_panel import ZooPanel
    from emdenoise_gui.gui.wizard.kind_page import KindPage
    from emdenoise_gui.gui.wizard.wizard import WizardState

    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))  # no models of one's own: the grey hint
    page = KindPage(WizardState())
    qtbot.addWidget(page)
    zoo = ZooPanel()
    qtbot.addWidget(zoo)
    hint = next(item for item in zoo.list.findItems("none yet", QtCore.Qt.MatchFlag.MatchStartsWith
                                                    | QtCore.Qt.MatchFlag.MatchRecursive))

    def drawn(item) -> QtGui.QColor:  # the text colour the list draws the item in
        option = QtWidgets.QStyleOptionViewItem()
        option.initFrom(zoo.list)
        zoo.list.itemDelegate().initStyleOption(option, zoo.list.indexFromItem(item, 0))
        return option.palette.color(QtGui.QPalette.ColorRole.Text)

    try:
        for appearance in ("dark", "light"):
            theme.apply(qapp, appearance)
            palette = theme.palette_for(appearance)
            assert theme.tone("warn", palette) in page.problem.styleSheet()
            assert drawn(hint).name() == theme.tone("muted", palette)
            assert contrast(drawn(hint), palette.color(QtGui.QPalette.ColorRole.Base)) >= 4.5
    finally:
        theme.apply(qapp, "system")


# -- a missing file ---------------------------------------------------------------------------------------
def test_a_missing_stack_says_so_in_words_not_only_in_grey(qtbot, tmp_path):
    from emdenoise_gui.gui.panels.project_panel import ProjectPanel

    def record(ident, name):
        return SimpleNamespace(id=ident, name=name, path=str(tmp_path / name), format="tiff", shape=(4, 64, 64),
                               dtype="uint8", voxel_size_nm=None)

    here, gone = record("s1", "here.tif"), record("s2", "gone.tif")
    project = SimpleNamespace(stacks=[here, gone], missing_inputs=lambda: [gone], results_by_stack=dict)
    panel = ProjectPanel()
    qtbot.addWidget(panel)
    panel.refresh(project)
    present, missing = (panel.tree.topLevelItem(i) for i in range(2))
    assert "missing" not in present.text(0)
    assert "(file missing)" in missing.text(0).splitlines()[0]
    description = missing.data(0, QtCore.Qt.ItemDataRole.AccessibleDescriptionRole)
    assert "missing" in description and "Locate File" in description
    assert missing.data(0, theme.TONE_ROLE) == "muted"  # still grey, in a grey readable on both themes


# -- keyboard pan ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "axis", "sign"), [(QtCore.Qt.Key.Key_Right, 0, 1), (QtCore.Qt.Key.Key_Left, 0, -1),
                                                   (QtCore.Qt.Key.Key_Down, 1, 1), (QtCore.Qt.Key.Key_Up, 1, -1)])
def test_alt_arrows_pan_a_zoomed_view_in_both_panes(qtbot, key, axis, sign):
    view = make_view(qtbot)
    view.set_original(np.zeros((3, 200, 300), np.float32), "stack")
    view.set_result(np.zeros((3, 200, 300), np.float32), "result")
    view.zoom(4.0)
    qtbot.wait(20)
    before = view.views[0].viewRect()
    view.graphics[1].setFocus()  # either pane: they move together
    qtbot.keyClick(view.graphics[1], key, QtCore.Qt.KeyboardModifier.AltModifier)
    after = [v.viewRect() for v in view.views]
    size = (before.width(), before.height())[axis]
    moved = (after[0].center() - before.center()).toTuple()
    assert moved[axis] == pytest.approx(sign * keys.PAN_STEP * size, rel=1e-3)
    assert moved[1 - axis] == pytest.approx(0, abs=1e-6)
    assert after[0].size().toTuple() == pytest.approx(before.size().toTuple())  # panned, not zoomed
    assert after[1].center().toTuple() == pytest.approx(after[0].center().toTuple(), abs=0.5)  # linked
    assert view.current_slice() == 0  # Alt+arrow pans; the plain arrows step through slices
    view.resize(1100, 760)  # the user's view now: not fitted again
    qtbot.wait(40)
    assert view.views[0].viewRect().width() < 150


def test_alt_arrows_pan_in_the_main_window_too(window, qtbot):
    """No menu or window shortcut takes Alt+arrow before the view does."""
    viewer = window.viewer
    viewer.set_original(np.zeros((3, 200, 300), np.float32), "stack")
    viewer.zoom(4.0)
    before = viewer.views[0].viewRect()
    viewer.graphics[0].setFocus()
    qtbot.keyClick(viewer.graphics[0], QtCore.Qt.Key.Key_Left, QtCore.Qt.KeyboardModifier.AltModifier)
    moved = viewer.views[0].viewRect().center() - before.center()
    assert moved.x() == pytest.approx(-keys.PAN_STEP * before.width(), rel=1e-3)


def test_the_pan_keys_are_listed_in_help():
    listed = [k for k, what in keys.SHORTCUTS if "Pan" in what]
    assert listed and "Alt" in listed[0] and "arrow" in listed[0].lower()
