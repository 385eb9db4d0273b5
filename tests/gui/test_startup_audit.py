"""Start-up, settings and preview when things are not as expected (audit of 2026-12-06): a settings folder
that cannot be used, a settings file that cannot be written, a path on the command line that is not there,
a slice left while its preview runs."""

from types import SimpleNamespace

import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtCore  # noqa: E402

from tests.gui.test_main_window import drop, small_stack  # noqa: E402, F401 - the fixture


def test_a_settings_folder_that_is_a_file_runs_on_defaults_and_says_so(tmp_path, monkeypatch):
    """The app stopped with a traceback before its window (FileExistsError in settings.qsettings)."""
    from emdenoise_gui.gui import app
    from emdenoise_gui.gui.settings import (
        AppSettings,
        settings_problem,
        stored_appearance,
    )

    home = tmp_path / "home"
    home.write_text("not a folder")
    monkeypatch.setenv("EMDENOISE_HOME", str(home))
    assert settings_problem().startswith(f"The settings folder {home} cannot be used")
    assert stored_appearance() == "system" and AppSettings.load() == AppSettings()
    assert "cannot save changes" in AppSettings(tile=256).save()
    warnings = []
    window = SimpleNamespace(controller=SimpleNamespace(warning=SimpleNamespace(
        emit=lambda title, text: warnings.append(title)), settings_reset=[]))
    app.when_built(window, SimpleNamespace(demo=False, paths=[], screenshot=None), None)
    assert warnings == ["Settings cannot be saved"]


def test_settings_that_cannot_be_written_say_so(tmp_path, monkeypatch):
    from emdenoise_gui.gui.settings import AppSettings

    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    assert AppSettings(tile=256).save() == ""
    monkeypatch.setattr(QtCore.QSettings, "status", lambda self: QtCore.QSettings.Status.AccessError)
    assert "could not be saved" in AppSettings(tile=1024).save()


def test_a_command_line_path_that_is_not_there_is_said_without_a_project_question(tmp_path, monkeypatch):
    from emdenoise_gui.gui import app

    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    warnings, asked = [], []
    window = SimpleNamespace(controller=SimpleNamespace(warning=SimpleNamespace(
        emit=lambda title, text: warnings.append((title, text))), settings_reset=[]), ensure_project=lambda n: asked.append(n),
        open_project=lambda p: asked.append(p))
    gone = tmp_path / "does-not-exist.tif"
    app.when_built(window, SimpleNamespace(demo=False, paths=[str(gone)], screenshot=None), None)
    assert warnings == [("Not found", f"{gone}: no such file or folder")] and asked == []


def test_leaving_a_slice_while_it_is_previewed_stays_on_the_new_slice(window, qtbot, small_stack):  # noqa: F811
    """The preview went on, and when it ended the view jumped back to the slice the user had left."""
    drop(window, [small_stack])
    window.zoo_panel.select("filter:gaussian")
    window.viewer.set_slice(1)
    job = window.preview_current()
    window.viewer.set_slice(3)  # before the job's end can be delivered
    qtbot.waitUntil(lambda: not job.active, timeout=60_000)
    job.wait(5000)
    qtbot.wait(100)
    assert window.viewer.current_slice() == 3
    assert job.status in ("cancelled", "done")


def test_a_damaged_project_without_a_backup_does_not_point_to_one(tmp_path):
    from emdenoise_gui.core.errors import InputError
    from emdenoise_gui.project.project import Project

    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "project.json").write_text("{ not json")
    with pytest.raises(InputError, match="there is no backup beside it") as caught:
        Project.open(tmp_path / "p")
    assert "restore project.json.bak" not in str(caught.value)


@pytest.mark.parametrize("key", ["geometry", "state"])
def test_a_window_layout_that_is_not_qts_bytes_is_ignored_and_the_window_built_once(qtbot, tmp_path, monkeypatch,
                                                                                   key):
    """``geometry=garbage`` in settings.ini stopped start-up with a TypeError; ``state=garbage`` raised in build,
    which the fallback timer then ran again: two of every menu and panel (audit of 2026-12-06)."""
    from emdenoise_gui.gui.main_window import MainWindow

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("EMDENOISE_HOME", str(home))
    from emdenoise_gui.gui.settings import settings_path

    settings_path().write_text(f"[window]\n{key}=garbage\n")
    window = MainWindow(deferred=True)
    qtbot.addWidget(window)
    window.build()
    window.build()  # the first paint and the fallback timer both ask for it
    assert window.is_built
    assert [a.text() for a in window.menuBar().actions()].count("&File") == 1
    assert len(window.findChildren(type(window.docks["zoo"]))) == 3
    window.force_close = True
