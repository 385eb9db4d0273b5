"""The main window's wiring of the wizard, the zoo's fit marks and paused runs, and hostile input: the app
shows the same one-line reasons as the command line."""

from pathlib import Path

import numpy as np
import pytest
import tifffile

pytest.importorskip("pytestqt")
from PySide6 import QtCore, QtWidgets  # noqa: E402

from emdenoise_gui.core import events as ev  # noqa: E402
from emdenoise_gui.jobs.advise import wizard_spec  # noqa: E402
from emdenoise_gui.training.engine import train  # noqa: E402
from tests.conftest import synthetic_em_stack  # noqa: E402


def _stack(path: Path, depth: int = 6) -> Path:
    tifffile.imwrite(path, synthetic_em_stack(depth, 96, 96), imagej=True, resolution=(0.1, 0.1),
                     metadata={"axes": "ZYX", "spacing": 10.0, "unit": "nm"})
    return path


def test_the_train_menu_opens_the_wizard_on_the_stack_on_screen(window, qtbot, tmp_path):
    path = _stack(tmp_path / "alike.tif")
    window.controller.add_paths([path])
    wizard = window.train_wizard()
    assert wizard.isVisible() and wizard.state.stack == str(path)
    qtbot.waitUntil(lambda: not wizard.pages["kind"].waiting(), timeout=20_000)
    wizard.reject()


def test_a_closed_wizard_and_a_closed_warning_are_deleted(window, qtbot, tmp_path):
    """Each wizard opened stayed a hidden child of the window with its plots (6.6 MB an open), and each warning
    or failure box too (long-session audit of 2026-12-06)."""
    from emdenoise_gui.gui.main_window import MainWindow
    from emdenoise_gui.gui.wizard import TrainWizard

    window.controller.add_paths([_stack(tmp_path / "alike.tif")])
    for _ in range(2):
        wizard = window.train_wizard()
        qtbot.waitUntil(lambda w=wizard: not w.pages["kind"].waiting(), timeout=20_000)
        wizard.reject()
        QtWidgets.QApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
        assert not window.findChildren(TrainWizard)
    MainWindow.warn(window, "Nothing was added", "a.png: unsupported file type")
    (box,) = window.findChildren(QtWidgets.QMessageBox)
    box.close()
    QtWidgets.QApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    assert not window.findChildren(QtWidgets.QMessageBox)


def test_showing_a_stack_marks_model_fits_and_preselects_one(window, qtbot, tmp_path):
    window.controller.add_paths([_stack(tmp_path / "alike.tif")])
    panel = window.zoo_panel
    qtbot.waitUntil(lambda: any(item.text(2) for item in panel._items()), timeout=30_000)
    assert window.denoiser is not None


def _pause_a_training(tmp_path: Path) -> None:
    """Train "paused-model" (n2v, 8 steps) on a small stack and stop it after its first step: a paused run."""
    path = _stack(tmp_path / "noisy.tif")
    spec = wizard_spec("n2v", {"noisy": [str(path)]}, "paused-model", 8, crop=32, batch_size=2, device="cpu")
    token = ev.CancelToken()
    for event in train(spec, token):
        if isinstance(event, ev.StepDone):
            token.cancel()


def test_a_paused_run_is_discarded_from_the_zoo_panel(window, qtbot, tmp_path):
    """Delete was off for a paused run: abandoned runs piled up in the zoo (zoo audit of 2026-12-06)."""
    from emdenoise_gui.zoo.registry import list_paused

    _pause_a_training(tmp_path)
    window.zoo_panel.refresh()
    (run,) = list_paused()
    window.zoo_panel.select(f"paused:{run.path}")
    assert window.zoo_panel.delete_button.isEnabled() and window.zoo_panel.delete_current(confirm=False)
    assert not list_paused() and f"paused:{run.path}" not in window.zoo_panel.entries


def test_a_paused_run_resumes_from_the_zoo_panel_to_a_model(window, qtbot, tmp_path):
    _pause_a_training(tmp_path)
    window.zoo_panel.refresh()
    role = QtCore.Qt.ItemDataRole.UserRole
    key = next(item.data(0, role) for item in window.zoo_panel._items()
               if str(item.data(0, role)).startswith("paused:"))
    window.zoo_panel.select(key)
    window.zoo_panel.resume_current()
    wizard = _open_wizard(window)
    training = wizard.pages["training"]
    assert wizard.currentPage() is training and training.job is not None
    qtbot.waitUntil(lambda: bool(wizard.state.package) or not training.running(), timeout=120_000)
    assert wizard.state.package and Path(wizard.state.package).name == "paused-model", training.problem.text()
    qtbot.waitUntil(lambda: wizard.button(QtWidgets.QWizard.WizardButton.NextButton).isEnabled(), timeout=10_000)
    wizard.next()
    wizard.pages["finish"].denoise_now.setChecked(False)
    wizard.accept()
    assert any(str(item.data(0, role)).endswith("paused-model") for item in window.zoo_panel._items())


def _open_wizard(window):
    from emdenoise_gui.gui.wizard import TrainWizard

    wizards = [w for w in window.findChildren(TrainWizard) if w.isVisible()]
    assert len(wizards) == 1
    return wizards[0]


def test_a_hostile_package_dropped_on_the_zoo_gets_one_line(window, qtbot, tmp_path):
    import os

    folder = tmp_path / "evil"
    folder.mkdir()
    (folder / "card.json").write_text("{}")
    os.symlink("/etc/passwd", folder / "README.md")
    messages = []
    window.zoo_panel.message.connect(lambda title, text: messages.append(text))
    assert window.zoo_panel.import_path(folder)
    qtbot.waitUntil(lambda: not window.zoo_panel.transferring, timeout=30_000)
    assert messages and "is a link" in messages[-1] and "\n" not in messages[-1]


def test_a_multi_series_tiff_dropped_on_the_window_says_which_series(window, tmp_path):
    path = tmp_path / "two_series.tif"
    with tifffile.TiffWriter(path) as tw:
        tw.write(np.zeros((48, 48), np.uint8))
        tw.write(synthetic_em_stack(6, 96, 96))
    window.controller.add_paths([path])
    record = window.controller.project.stacks[-1]
    assert tuple(record.shape) == (6, 96, 96)
    assert any("series 2 of 2" in text for text in window.statuses)


def test_a_drawn_region_is_previewed_and_denoised_alone(window, qtbot, tmp_path):
    path = _stack(tmp_path / "alike.tif")
    window.controller.add_paths([path])
    window.zoo_panel.select("filter:gaussian")
    region = (16, 8, 64, 72)  # the view's (y0, x0, y1, x1)
    job = window.preview_region(region)
    qtbot.waitUntil(lambda: not job.active, timeout=60_000)
    assert job.status == "done", job.message
    image = window.viewer._result.get(window.viewer.current_slice())
    assert np.isfinite(image[16:64, 8:72]).all() and np.isnan(image[:16]).all() and np.isnan(image[:, :8]).all()
    job = window.denoise_region(region)
    qtbot.waitUntil(lambda: not job.active, timeout=60_000)
    assert job.status == "done", job.message
    result = window.controller.project.results[-1]
    assert result.parameters["region"] == [16, 64, 8, 72]
    assert tifffile.imread(window.controller.project.absolute(result)).shape == (6, 48, 64)
    assert window.viewer._original.get(0).shape == (48, 64)  # the original is cut to match
    # positions read out on it are the file's, not the region's (view audit of 2026-12-07)
    data = tifffile.imread(path)
    z = window.viewer.current_slice()
    assert window.viewer.describe_point(0.5, 0.5).startswith(f"x 8, y 16 px (80 nm, 160 nm), slice {z}: "
                                                             f"{data[z, 16, 8]:g} original")
    from emdenoise_gui.gui.panels.profile_plot import iqr_text

    assert "box x 18–27, y 20–29 px" in iqr_text(5.0, None, (4, 10, 14, 20), None, origin=(16, 8))
    warnings = []
    window.warn = lambda title, text: warnings.append(text)
    job = window.preview_current()  # a whole slice's preview beside the region's cut original: two error dialogs
    qtbot.waitUntil(lambda: not job.active, timeout=60_000)
    qtbot.wait(100)
    assert job.status == "done" and warnings == [] and window._current[0] == "stack"
    assert window.viewer._result.get(z).shape == (96, 96)


def test_help_system_information_shows_the_doctor_report(window, qtbot):
    dialog = window.show_system()
    qtbot.waitUntil(lambda: hasattr(dialog, "report"), timeout=30_000)
    text = dialog.browser.toPlainText()
    assert "EMDenoise" in text and "offscreen" in text and "User data" in text
    dialog.close()


def test_the_status_bar_names_an_unused_gpu(monkeypatch):
    from emdenoise_gui.cli import doctor
    from emdenoise_gui.gui import device_status

    monkeypatch.setattr(doctor, "nvidia_present", lambda: True)
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    note = device_status.unused_gpu_note()
    assert "NVIDIA GPU is present" in note
    monkeypatch.setattr(doctor, "nvidia_present", lambda: False)
    assert device_status.unused_gpu_note() == ""


def test_a_share_that_drops_under_a_click_is_a_one_line_warning_not_a_bug_report(qtbot, monkeypatch, capsys):
    """A stale file handle raised in a click's slot (show_stack's exists()) opened "Unexpected error ... please
    report this" with a traceback (audit of 2026-12-06)."""
    import errno
    import sys

    from emdenoise_gui.gui import app

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    app._install_excepthook()
    sys.excepthook(OSError, OSError(errno.ESTALE, "Stale file handle", "/mnt/share/a.tif"), None)
    box = app._OPEN_BOXES[-1]
    try:
        assert box.icon() == QtWidgets.QMessageBox.Icon.Warning and not box.detailedText()
        assert "/mnt/share/a.tif" in box.text() and "network share" in box.text() and "report" not in box.text()
        assert "Traceback" not in capsys.readouterr().err
    finally:
        box.done(0)
    assert box not in app._OPEN_BOXES
    sys.excepthook(ValueError, ValueError("a bug"), None)  # a bug is still one to report
    box = app._OPEN_BOXES[-1]
    assert box.icon() == QtWidgets.QMessageBox.Icon.Critical and "please report" in box.text()
    box.done(0)


def test_an_entry_that_cannot_denoise_is_not_run_as_the_model_before_it(window, tmp_path):
    """Selecting an unusable package left the model selected before as the window's denoiser: Denoise ran it,
    the list showing the other entry selected (review of 2026-12-06)."""
    from emdenoise_gui.zoo.registry import user_dir
    from tests.conftest import random_package

    window.controller.add_paths([_stack(tmp_path / "alike.tif")])
    package = random_package(user_dir() / "damaged", "nrrn")
    (package.path / "weights.safetensors").unlink()
    window.zoo_panel.refresh()
    window.zoo_panel.select(f"model:{package.path}")
    assert window.denoiser is None
    assert window.denoise_current() is None and window.preview_current() is None
    assert window.warnings[-1][0] == "Nothing to denoise with"


def test_a_paused_run_whose_resume_waits_in_the_queue_is_not_discarded(window, qtbot, tmp_path):
    """A Resume waiting behind another training held no lock yet: Discard deleted the checkpoint under it (step 423
    of 5,000 lost), and the job then failed 'not found' (zoo panel audit of 2026-12-07)."""
    import threading

    from emdenoise_gui.gui.workers import Job
    from emdenoise_gui.zoo.registry import list_paused

    _pause_a_training(tmp_path)
    release = threading.Event()

    def blocking(token):
        release.wait(60)
        return None
        yield

    blocker = window.controller.submit(Job("Blocker", "train", blocking, window.controller))
    window.zoo_panel.refresh()
    (run,) = list_paused()
    window.zoo_panel.select(f"paused:{run.path}")
    messages = []
    window.zoo_panel.message.connect(lambda title, text: messages.append(text))
    assert window.zoo_panel.resume_current()
    wizard = _open_wizard(window)
    resume = wizard.pages["training"].job
    assert resume.status == "waiting"
    window.zoo_panel.select(f"paused:{run.path}")
    assert not window.zoo_panel.delete_current(confirm=False) and list_paused() == [run]
    assert not window.zoo_panel.resume_current()  # nor resumed a second time
    assert "is resumed by the job “Resume training”" in messages[0]
    resume.cancel()
    release.set()
    qtbot.waitUntil(lambda: not blocker.active and not resume.active, timeout=60_000)
    wizard.reject()


def test_a_run_resumed_from_the_zoo_says_what_its_loss_means(window, qtbot, tmp_path):
    """Resumed from the zoo panel, the page left out the family's sentence on its loss (the wizard had no spec of
    its own for the run; wizard audit of 2026-12-07): it is read from the checkpoint."""
    from emdenoise_gui.gui.wizard.training_page import FAMILY_HELP
    from emdenoise_gui.zoo.registry import list_paused

    _pause_a_training(tmp_path)
    window.zoo_panel.refresh()
    (run,) = list_paused()
    window.zoo_panel.select(f"paused:{run.path}")
    assert window.zoo_panel.resume_current()
    wizard = _open_wizard(window)
    training = wizard.pages["training"]
    assert FAMILY_HELP["n2v"] in training.help.text()
    training.job.cancel()
    qtbot.waitUntil(lambda: not training.job.active, timeout=60_000)
    wizard.reject()
