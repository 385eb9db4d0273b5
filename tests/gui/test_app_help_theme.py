"""Help ▸ Keyboard Shortcuts and Help ▸ User Guide; the light / dark / system appearance."""

import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtGui, QtWidgets  # noqa: E402

from emdenoise_gui.core.baselines import FILTERS  # noqa: E402
from emdenoise_gui.gui import help as app_help  # noqa: E402
from emdenoise_gui.gui import theme  # noqa: E402
from emdenoise_gui.gui.panels.jobs_panel import AXIS_COLOUR  # noqa: E402
from emdenoise_gui.gui.settings import AppSettings, stored_appearance  # noqa: E402
from emdenoise_gui.models.registry import FAMILIES  # noqa: E402
from tests.gui.test_main_window import shoot  # noqa: E402


def test_help_menu_lists_every_menu_shortcut_and_the_viewer_keys(window, qtbot):
    help_menu = window.menuBar().actions()[-1].menu()
    assert [a.text() for a in help_menu.actions() if a.text()] == ["&User Guide", "&Keyboard Shortcuts",
                                                                   "&System Information", "&About EMDenoise"]
    rows = app_help.menu_shortcuts(window)
    native = QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Open).toString(QtGui.QKeySequence.SequenceFormat.NativeText)
    assert ("File", "Add Stacks…", native) in rows
    assert {command for _menu, command, _keys in rows} >= {"Quit", "Undo", "Denoise Stack", "Keyboard Shortcuts"}
    dialog = window.show_shortcuts()
    qtbot.waitExposed(dialog)
    text = dialog.browser.toPlainText()
    assert "Add Stacks…" in text and "Save Project As…" in text
    for keys, what in app_help.viewer_shortcuts():
        assert keys in text and what in text
    assert app_help.viewer_shortcuts(), "the viewer's key list (panels/keys.py) is shown"
    shoot(dialog, "help_shortcuts.png")
    dialog.close()


def test_user_guide_names_every_family_and_filter_and_the_views(window, qtbot):
    dialog = window.show_guide()
    qtbot.waitExposed(dialog)
    text = dialog.browser.toPlainText()
    for family, word in {"nrrn": "NRRN", "n2v": "Noise2Void", "xception": "Xception", "cyclic": "Cyclic GAN"}.items():
        assert family in FAMILIES and word in text
    for words in ("FIB-SEM", "repeat scans", "clean micrographs", "Poisson", "unpaired", "charging",
                  "single noisy image", "High-pass", "Residual", "Line profile", "IQR box", "interquartile",
                  "Side by side", "Split", "Blink"):
        assert words in text, words
    for name in ("BM3D", "non-local means", "Wiener", "median"):
        assert name.lower() in text.lower()
    assert "bm3d" in FILTERS and "nlm" in FILTERS
    assert "--" not in text  # no command-line flags in the app's words
    shoot(dialog, "help_user_guide.png")
    dialog.close()


@pytest.fixture
def restore_appearance(qapp):
    yield
    theme.apply(qapp, "system")


def test_dark_appearance_is_remembered_and_applied(window, qtbot, qapp, restore_appearance, monkeypatch):
    from emdenoise_gui.gui import dialogs

    light = qapp.palette().color(QtGui.QPalette.ColorRole.Window).lightness()

    class Accepting(dialogs.SettingsDialog):
        def exec(self):
            self.appearance.setCurrentIndex(self.appearance.findData("dark"))
            return True

    monkeypatch.setattr(dialogs, "SettingsDialog", Accepting)
    window.settings_dialog()
    assert stored_appearance() == "dark" and AppSettings.load().appearance == "dark"
    window_colour = qapp.palette().color(QtGui.QPalette.ColorRole.Window)
    assert window_colour.lightness() < 80 and theme.is_dark(qapp)
    profile = [w for w in qapp.allWidgets() if type(w).__name__ == "PlotWidget" or "Plot" in type(w).__name__]
    assert profile and all(w.backgroundBrush().color().lightness() < 60 for w in profile
                           if hasattr(w, "backgroundBrush"))
    qtbot.wait(100)  # the palette change reaches every widget through events
    shoot(window, "main_window_dark.png")
    loss_axis = window.jobs_panel.loss_plot.getPlotItem().getAxis("left")
    assert loss_axis.textPen().color().lightness() > 150  # light text on the dark plot
    theme.apply(qapp, "light")
    assert qapp.palette().color(QtGui.QPalette.ColorRole.Window).lightness() > 180
    assert loss_axis.textPen().color().name() == AXIS_COLOUR  # dark text on white again, not pyqtgraph's grey
    theme.apply(qapp, "system")
    assert qapp.palette().color(QtGui.QPalette.ColorRole.Window).lightness() == light
    assert isinstance(qapp.style(), QtWidgets.QStyle)


def test_find_opens_the_zoo_and_its_search_box(window, qtbot):
    """Ctrl+F (the platform's Find) reaches the zoo's search box, the zoo dock opened again if it was closed."""
    rows = app_help.menu_shortcuts(window)
    assert any(menu == "Edit" and command == "Find Model or Filter…" and keys for menu, command, keys in rows)
    window.docks["zoo"].close()
    window.zoo_panel.search.setText("median")
    action = next(a for a in window.menuBar().actions()[1].menu().actions() if a.text() == "&Find Model or Filter…")
    action.trigger()
    qtbot.waitUntil(lambda: window.zoo_panel.search.hasFocus(), timeout=5000)
    assert window.docks["zoo"].isVisible() and window.zoo_panel.search.selectedText() == "median"
