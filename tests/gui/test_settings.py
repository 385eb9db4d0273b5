"""Settings persist, bad stored values fall back to defaults, outputs keep the input's format and type, the
dialog edits them; standard shortcuts exist."""

import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtGui  # noqa: E402

from emdenoise_gui.gui.dialogs import SettingsDialog  # noqa: E402
from emdenoise_gui.gui.settings import AppSettings, qsettings  # noqa: E402


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))


def test_settings_roundtrip_and_bad_values(qtbot):
    AppSettings(device="cpu", tile=256, output_format=".mrc", output_dtype="input", threads=1).save()
    loaded = AppSettings.load()
    assert (loaded.device, loaded.tile, loaded.output_format, loaded.output_dtype, loaded.threads) == \
        ("cpu", 256, ".mrc", "input", 1)
    assert loaded.tile_px == 256 and loaded.stride_px is None  # fast: band tiling from the network's halo
    AppSettings(tile=256, quality="paper").save()
    assert AppSettings.load().stride_px == 128  # the papers' half-tile stride
    store = qsettings()
    store.setValue("app/quality", "ultra")
    store.setValue("app/device", "quantum")
    store.setValue("app/tile", "huge")
    store.setValue("app/output_format", ".png")
    store.sync()
    store.setValue("app/name_pattern", "{stem}_{oops}")
    store.setValue("app/appearance", "purple")
    store.sync()
    fallback = AppSettings.load()
    assert (fallback.device, fallback.tile, fallback.output_format, fallback.quality) == ("auto", 0, "same", "fast")
    assert fallback.tile_px == 512
    assert (fallback.name_pattern, fallback.appearance) == ("{stem}_{method}", "system")


def test_outputs_default_to_the_inputs_format_and_type_in_the_results_folder():
    """An MRC input gives an MRC result of its own pixel type (not a float32 TIFF twice its size)."""
    defaults = AppSettings()
    assert (defaults.output_format, defaults.output_dtype, defaults.output_folder, defaults.name_pattern) == \
        ("same", "input", "", "{stem}_{method}")
    assert defaults.output_suffix("/data/tomo.MRC") == ".mrc" and defaults.output_suffix("/data/tomo.rec") == ".rec"
    assert defaults.output_suffix("/data/cells.tiff") == ".tiff" and defaults.output_suffix("/data/odd.xyz") == ".tif"
    assert AppSettings(output_format=".tif").output_suffix("/data/tomo.mrc") == ".tif"


def test_settings_dialog_edits(qtbot, tmp_path):
    dialog = SettingsDialog(AppSettings())
    qtbot.addWidget(dialog)
    assert dialog.format.currentText() == "same as input" and dialog.dtype.currentText() == "same type as input"
    assert "twice" in dialog.dtype.toolTip() and "rounded" in dialog.dtype.toolTip()  # the precision note
    assert "{stem}" in dialog.pattern.toolTip() and dialog.folder.placeholderText() == "the project's results folder"
    dialog.device.setCurrentText("cpu")
    dialog.tile.setValue(1024)
    dialog.dtype.setCurrentIndex(dialog.dtype.findData("float32"))
    dialog.quality.setCurrentText("paper")
    dialog.appearance.setCurrentIndex(dialog.appearance.findData("dark"))
    dialog.folder.setText(str(tmp_path))
    dialog.pattern.setText("{date}_{stem}_{method}")
    result = dialog.result_settings()
    assert (result.device, result.tile, result.output_dtype, result.quality) == ("cpu", 1024, "float32", "paper")
    assert (result.appearance, result.output_folder, result.name_pattern) == \
        ("dark", str(tmp_path), "{date}_{stem}_{method}")


def test_standard_shortcuts(qtbot, tmp_path):
    from emdenoise_gui.gui.main_window import MainWindow
    from emdenoise_gui.gui.menus import standard_key

    window = MainWindow()
    qtbot.addWidget(window)
    shortcuts = {a.text().replace("&", ""): a.shortcut() for a in window.findChildren(QtGui.QAction)}
    assert shortcuts["Add Stacks…"] == QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Open)
    assert shortcuts["Save Project"] == QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Save)
    assert shortcuts["Save Project As…"] == standard_key(QtGui.QKeySequence.StandardKey.SaveAs)
    assert shortcuts["Quit"] == standard_key(QtGui.QKeySequence.StandardKey.Quit) and not shortcuts["Quit"].isEmpty()
    assert not shortcuts["Settings…"].isEmpty()  # a key even where the platform defines none
    assert shortcuts["Undo"] == QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Undo)
    window.force_close = True


def test_gui_offers_every_output_type_and_file_kind_the_core_handles():
    from emdenoise_gui.core.io import READ_SUFFIXES
    from emdenoise_gui.gui.main_window import FILE_FILTER, file_filter
    from emdenoise_gui.gui.settings import OUTPUT_DTYPES
    from emdenoise_gui.jobs.stack import OUTPUT_DTYPES as CORE_DTYPES

    assert OUTPUT_DTYPES == CORE_DTYPES
    assert AppSettings(output_dtype="uint16").checked().output_dtype == "uint16"
    assert all(f"*{suffix}" in FILE_FILTER for suffix in READ_SUFFIXES) and FILE_FILTER == file_filter()


def test_a_device_this_computer_lacks_is_refused_in_the_dialog(qtbot, monkeypatch):
    """Choosing cuda on a computer without a GPU was accepted; every model job then failed on it."""
    import torch
    from PySide6 import QtWidgets

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    warnings = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda parent, title, text: warnings.append((title, text)))
    dialog = SettingsDialog(AppSettings())
    qtbot.addWidget(dialog)
    if dialog.device.findText("cuda") < 0:
        dialog.device.addItem("cuda")
    dialog.device.setCurrentText("cuda")
    dialog._accept()
    assert warnings and warnings[-1][0] == "Device" and "'cuda' is not available on this computer" in warnings[-1][1]
    assert dialog.result() != QtWidgets.QDialog.DialogCode.Accepted
    dialog.device.setCurrentText("cpu")
    dialog._accept()
    assert dialog.result() == QtWidgets.QDialog.DialogCode.Accepted


def test_what_the_settings_audit_found(qtbot, tmp_path, monkeypatch):
    """A hand-edited tile of 100000 ran (the box stops at 4096, so the next OK changed it without a word); a
    relative output folder went wherever the app was started from; a folder that cannot be written to was
    accepted and told only when a denoise had run."""
    import os

    from PySide6 import QtWidgets

    store = qsettings()
    store.setValue("app/tile", 100000)
    store.sync()
    assert AppSettings.load().tile == 0  # automatic, as any other tile the box cannot show
    monkeypatch.chdir(tmp_path)
    (tmp_path / "relfolder").mkdir()
    dialog = SettingsDialog(AppSettings())
    qtbot.addWidget(dialog)
    dialog.folder.setText("relfolder")
    assert dialog.result_settings().output_folder == str(tmp_path / "relfolder")
    warned = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a, **k: warned.append(a[2]))
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as a folder of another user (we may be root)
    dialog._accept()
    assert warned and "cannot be written to" in warned[0] and dialog.result() != QtWidgets.QDialog.DialogCode.Accepted


def test_settings_that_cannot_be_used_are_named_at_start(qtbot, monkeypatch, new_controller):
    """A hand-edited settings file ran on defaults without a word (Settings audit)."""
    from types import SimpleNamespace

    from emdenoise_gui.gui import app

    AppSettings(device="cpu", tile=256, threads=1).save()
    store = qsettings()
    store.setValue("app/tile", "abc")
    store.setValue("app/name_pattern", "{stem}_{foo}")
    store.setValue("app/threads", 999)  # a bigger computer's: this one's cores, not said
    store.sync()
    reset: list[str] = []
    settings = AppSettings.load(reset)
    assert reset == ["tile", "name_pattern"] and settings.device == "cpu" and settings.tile == 0
    controller = new_controller()  # reads the settings once; the start-up message uses what it found
    assert controller.settings_reset == ["tile", "name_pattern"] and controller.settings.tile == 0
    said = []
    controller.warning.connect(lambda *a: said.append(a))
    controller.status.connect(lambda *a: said.append(a))
    app.when_built(SimpleNamespace(controller=controller), SimpleNamespace(demo=False, paths=[], screenshot=None),
                   None)
    assert len(said) == 1 and "tile, name_pattern" in said[0][0] and "Edit ▸ Settings" in said[0][0]
