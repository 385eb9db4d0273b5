"""Settings persist, bad stored values fall back to defaults, the dialog edits them; standard shortcuts exist."""

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
    fallback = AppSettings.load()
    assert (fallback.device, fallback.tile, fallback.output_format, fallback.quality) == ("auto", 0, ".tif", "fast")
    assert fallback.tile_px == 512


def test_settings_dialog_edits(qtbot):
    dialog = SettingsDialog(AppSettings())
    qtbot.addWidget(dialog)
    dialog.device.setCurrentText("cpu")
    dialog.tile.setValue(1024)
    dialog.dtype.setCurrentText("input")
    dialog.quality.setCurrentText("paper")
    result = dialog.result_settings()
    assert (result.device, result.tile, result.output_dtype, result.quality) == ("cpu", 1024, "input", "paper")


def test_standard_shortcuts(qtbot, tmp_path):
    from emdenoise_gui.gui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    shortcuts = {a.text().replace("&", ""): a.shortcut() for a in window.findChildren(QtGui.QAction)}
    assert shortcuts["Add Stacks…"] == QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Open)
    assert shortcuts["Save Project"] == QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Save)
    assert shortcuts["Quit"] == QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Quit)
    assert shortcuts["Undo"] == QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Undo)
    window.force_close = True


def test_gui_offers_every_output_type_and_file_kind_the_core_handles():
    from emdenoise_gui.core.io import READ_SUFFIXES
    from emdenoise_gui.gui.main_window import FILE_FILTER
    from emdenoise_gui.gui.settings import OUTPUT_DTYPES
    from emdenoise_gui.jobs.stack import OUTPUT_DTYPES as CORE_DTYPES

    assert OUTPUT_DTYPES == CORE_DTYPES
    assert AppSettings(output_dtype="uint16").checked().output_dtype == "uint16"
    assert all(f"*{suffix}" in FILE_FILTER for suffix in READ_SUFFIXES)
