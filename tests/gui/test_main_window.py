"""The main window, driven as a user would: drops, jobs, cancel, projects, zoo, training; with screenshots."""

from pathlib import Path

import numpy as np
import pytest
import tifffile

pytest.importorskip("pytestqt")
import threading  # noqa: E402
import time  # noqa: E402
from types import SimpleNamespace  # noqa: E402

from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402

from emdenoise_gui.core.errors import InputError  # noqa: E402
from emdenoise_gui.core.events import Progress  # noqa: E402
from emdenoise_gui.gui import closing  # noqa: E402
from emdenoise_gui.gui.dialogs import quit_question  # noqa: E402
from emdenoise_gui.gui.workers import Job  # noqa: E402
from emdenoise_gui.project.records import CompareState  # noqa: E402
from tests.gui.conftest import write_small_stack  # noqa: E402

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
JOB_TIMEOUT_MS = 120_000


def shoot(widget, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    assert widget.grab().save(str(SCREENSHOTS / name))


def drop(window, paths) -> None:
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(p)) for p in paths])
    event = QtGui.QDropEvent(QtCore.QPointF(20, 20), QtCore.Qt.DropAction.CopyAction, mime,
                             QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def wait_for(qtbot, job, status="done"):
    qtbot.waitUntil(lambda: not job.running, timeout=JOB_TIMEOUT_MS)
    assert job.status == status, job.message
    job.wait(5000)


@pytest.fixture
def small_stack(tmp_path, shared_data):
    return write_small_stack(shared_data / "fibsem_flyem_medulla_val_z000-127_128x520x520.tif",
                             tmp_path / "fibsem4.tif", 10.0, 10.0)


def test_drop_real_tiff_mrc_and_corrupt_files(window, shared_data, tmp_path):
    corrupt = tmp_path / "broken.tif"
    corrupt.write_bytes(b"II*\x00" + b"\x00" * 20)
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    drop(window, [shared_data / "sstem_isbi2012_train_30x512x512.tif", shared_data / "mrc/EMD-3197.map",
                  shared_data / "cryoet/cylindra_13pf_MT_36x206x94_converted.mrc", corrupt, notes])
    names = [s.name for s in window.controller.project.stacks]
    assert names == ["sstem_isbi2012_train_30x512x512.tif", "EMD-3197.map", "cylindra_13pf_MT_36x206x94_converted.mrc"]
    assert len(window.warnings) == 1  # one message listing every rejected file and why
    title, text = window.warnings[0]
    assert "broken.tif" in text and "notes.txt" in text and "unsupported file type" in text
    assert window.project_panel.tree.topLevelItemCount() == 3
    assert window.viewer.current_slice() == 0
    shoot(window, "main_window_after_drop.png")


def test_drop_a_folder_of_mixed_files(window, tmp_path, small_stack):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a.tif").write_bytes(small_stack.read_bytes())
    (folder / "readme.md").write_text("hello")
    (folder / "empty.mrc").write_bytes(b"")
    drop(window, [folder])
    assert [s.name for s in window.controller.project.stacks] == ["a.tif"]
    text = window.warnings[0][1]
    assert "readme.md" in text and "empty.mrc: is empty" in text


def test_denoise_job_runs_to_completion_and_result_shows(window, qtbot, small_stack):
    drop(window, [small_stack])
    window.zoo_panel.select("filter:median")
    job = window.denoise_current()
    wait_for(qtbot, job)
    project = window.controller.project
    assert len(project.results) == 1
    result = project.results[0]
    output = project.absolute(result)
    assert output.exists() and project.is_inside(output)
    assert result.method == "median" and result.parameters["tile"] == 512
    shown = window.viewer.raw_slice("result", 0)
    np.testing.assert_allclose(shown, tifffile.imread(output)[0])
    assert window.project_panel.tree.topLevelItem(0).childCount() == 1
    assert window.project_panel.selection() == ("result", result.id)  # what is shown is what is selected
    assert window.viewer.titles[1].toolTip().startswith("Result — Median 3x3")  # the zoo's name for it
    shoot(window, "main_window_denoised.png")


def test_cancel_a_running_job_leaves_no_file(window, qtbot, small_stack):
    drop(window, [small_stack])
    window.zoo_panel.select("filter:bm3d")  # slow on purpose: a second or two per slice of 128 x 160 px
    job = window.denoise_current()
    qtbot.waitUntil(lambda: job.progress > 0 or not job.running, timeout=JOB_TIMEOUT_MS)
    job.cancel()
    wait_for(qtbot, job, "cancelled")
    results = window.controller.project.results_folder
    assert list(results.iterdir()) == []  # no partial or finished file
    assert window.controller.project.results == []


def test_preview_current_slice(window, qtbot, small_stack):
    drop(window, [small_stack])
    window.zoo_panel.select("filter:gaussian")
    window.viewer.set_slice(2)
    job = window.preview_current()
    wait_for(qtbot, job)
    qtbot.waitUntil(lambda: window.viewer.raw_slice("result", 2) is not None)
    assert window.viewer.raw_slice("result", 2).shape == (128, 160)
    assert window.controller.project.results == []  # a preview writes nothing


def test_save_close_reopen_restores_stacks_results_and_view(window, qtbot, small_stack, shared_data, tmp_path):
    drop(window, [small_stack, shared_data / "mrc/EMD-3197.map"])
    window.zoo_panel.select("filter:median")
    window.project_panel.tree.setCurrentItem(window.project_panel.tree.topLevelItem(0))
    wait_for(qtbot, window.denoise_current())
    window.viewer.set_slice(3)
    window.viewer.set_mode("split")
    window._store_view()
    assert isinstance(window.controller.project.view.viewer, CompareState)
    folder = window.controller.project.folder
    window.controller.close_project()
    assert window.controller.project is None
    assert window.open_project(folder)
    project = window.controller.project
    assert [s.name for s in project.stacks] == ["fibsem4.tif", "EMD-3197.map"]
    assert len(project.results) == 1 and project.view.result_id == project.results[0].id
    assert window.viewer.current_slice() == 3
    assert window.viewer.raw_slice("result", 3) is not None
    assert window.viewer.mode() == "split" and project.view.viewer.mode == "split"


def test_undo_remove_stack(window, small_stack):
    drop(window, [small_stack])
    stack_id = window.controller.project.stacks[0].id
    window.controller.remove_stack(stack_id)
    assert window.controller.project.stacks == []
    window.controller.undo_stack.undo()
    assert [s.id for s in window.controller.project.stacks] == [stack_id]


def test_a_removed_or_closed_stack_does_not_stay_on_screen(window, qtbot, small_stack, tmp_path):
    from emdenoise_gui.gui.panels.compare_view import EMPTY_TEXT

    drop(window, [small_stack])
    stack_id = window.controller.project.stacks[0].id
    window.show_stack(stack_id)
    assert window.viewer.has_image() and window.zoo_panel.stack_key == window.stack_key(stack_id)
    window.controller.remove_stack(stack_id)
    assert not window.viewer.has_image() and window.viewer.placeholder.text() == EMPTY_TEXT
    assert window.zoo_panel.stack_key is None
    assert window.zoo_panel.fit_label.text() == "Select a stack to see which models fit it."
    assert window.preview_current() is None  # nothing shown: nothing to preview
    window.controller.undo_stack.undo()
    window.show_stack(stack_id)
    assert window.viewer.has_image()
    assert window.controller.new_project(tmp_path / "other")  # the same id names nothing there
    assert not window.viewer.has_image()


def test_zoo_import_and_export_through_the_panel(window, qtbot, tmp_path, small_stack):
    from emdenoise_gui.models.n2v import UNet
    from emdenoise_gui.zoo.card import ModelCard
    from emdenoise_gui.zoo.package import export_zip, write_package

    model = UNet(depth=2, base=8, n2v2=True)
    card = ModelCard(name="tiny-n2v", family="n2v", config="lite", architecture={"depth": 2, "base": 8, "n2v2": True},
                     normalisation={"kind": "zscore-dataset", "mean": 0.5, "std": 0.2}, weights_sha256="0" * 64,
                     parameters=1)
    package = write_package(tmp_path / "pkg", card, model.state_dict())
    archive = export_zip(package, tmp_path / "tiny.zip")
    panel = window.zoo_panel
    statuses = []
    panel.status.connect(lambda text, ms: statuses.append(text))
    assert panel.import_path(archive)  # on a worker thread: the buttons wait meanwhile
    assert panel.transferring == "Importing tiny.zip…" and not panel.import_button.isEnabled()
    assert not panel.import_path(archive)  # one transfer at a time
    qtbot.waitUntil(lambda: not panel.transferring, timeout=30_000)
    assert panel.import_button.isEnabled() and statuses == ["Importing tiny.zip…", "Imported tiny-n2v into your models"]
    assert window.zoo_panel.current().name == "tiny-n2v"
    assert "tiny-n2v" in window.zoo_panel.details.toPlainText()
    out = tmp_path / "exported.zip"
    assert window.zoo_panel.export_to(out)
    qtbot.waitUntil(lambda: not panel.transferring, timeout=30_000)
    assert out.stat().st_size > 1000 and statuses[-1] == f"Exported to {out}" and panel.export_button.isEnabled()
    shoot(window.zoo_panel, "zoo_panel.png")
    busy = SimpleNamespace(title="Denoise cells.tif (tiny-n2v)", uses=(str(panel.current().path),))
    with pytest.MonkeyPatch.context() as mp:  # a job waiting or running with the model: it is not deleted under it
        mp.setattr(window.controller, "active_jobs", lambda: [busy])
        assert not window.zoo_panel.delete_current(confirm=False)
    assert window.warnings[-1][0] == "Cannot delete model" and "Denoise cells.tif (tiny-n2v)" in window.warnings[-1][1]
    assert window.zoo_panel.current().name == "tiny-n2v"
    assert window.zoo_panel.delete_current(confirm=False)
    assert window.zoo_panel.current_key() is None or "tiny-n2v" not in window.zoo_panel.current_key()
    assert window.zoo_panel.current() is not None and window.denoiser.name != "tiny-n2v"  # another is chosen
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"nope")
    before = len(panel.entries)
    assert window.zoo_panel.import_path(bad)
    qtbot.waitUntil(lambda: not panel.transferring, timeout=30_000)
    assert window.warnings and "not a readable zip" in window.warnings[-1][1]  # refused with a message
    assert len(panel.entries) == before and statuses[-1] == ""  # nothing added, the status line cleared


def test_loss_plot_receives_training_events(window, qtbot, small_stack, tmp_path):
    from emdenoise_gui.training.spec import RunSpec

    spec = RunSpec(family="n2v", config="lite", steps=6, data={"noisy": [str(small_stack)]},
                   output=str(tmp_path / "trained"), name="trained", crop=32, batch_size=2, device="cpu",
                   validate_every=3).validated()
    job = window.controller.train(spec)
    wait_for(qtbot, job)
    plot = window.jobs_panel.loss_plot
    plot.redraw()
    assert list(plot.train.x) == [1, 2, 3, 4, 5, 6] and len(plot.train.y) == 6
    assert list(plot.val.x) == [3, 6]
    x, y = plot.train_curve.getData()
    assert list(x) == [1, 2, 3, 4, 5, 6]
    assert any("validation at step 3" in line for line in job.log)
    # a short run's step axis is labelled at whole steps only (it read 1.5, 2.5, ...)
    axis = plot.getPlotItem().getAxis("bottom")
    ticks = [v for _, values in axis.tickValues(1.0, 6.0, 400) for v in values]
    assert ticks and all(float(v).is_integer() for v in ticks) and {1, 2, 3, 4, 5, 6} <= set(ticks)
    # the key is a line above the curves, never a legend box over them; small losses are written out
    item = plot.getPlotItem()
    assert item.legend is None and "training loss" in item.titleLabel.text and "validation loss" in item.titleLabel.text
    plot.train.y[:] = [3e-4, 2e-4, 1e-4, 1e-4, 1e-4, 1e-4]
    plot._dirty = True
    plot.redraw()
    qtbot.wait(50)
    assert "x0.001" not in item.getAxis("left").labelString() and item.getAxis("left").labelString().count("Loss")
    shoot(window.jobs_panel, "jobs_panel_training.png")


def test_failure_shows_a_message_and_the_app_stays_alive(window, qtbot, small_stack):
    drop(window, [small_stack])
    window.zoo_panel.select("filter:median")
    small_stack.unlink()  # the input vanishes after it was added
    assert window.denoise_current() is None
    assert any("moved or deleted" in text for _, text in window.warnings)
    assert window.isVisible()


def test_a_stacks_screenshot_needs_no_answer(tmp_path):
    """`emdenoise-gui --screenshot FILE STACK` waited for ever for the "make a project?" question nobody can
    answer offscreen (frozen-app audit): the picture gets a project of its own."""
    import os
    import subprocess
    import sys

    import numpy as np
    import tifffile

    stack, out = tmp_path / "s.tif", tmp_path / "s.png"
    tifffile.imwrite(stack, (np.random.default_rng(0).random((4, 64, 64)) * 200).astype(np.uint8),
                     photometric="minisblack")
    (tmp_path / "tmp").mkdir()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", EMDENOISE_HOME=str(tmp_path / "home"),
               TMPDIR=str(tmp_path / "tmp"))
    result = subprocess.run([sys.executable, "-c", "from emdenoise_gui.gui.app import main; raise SystemExit(main())",
                             "--screenshot", str(out), str(stack)], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert QtGui.QImage(str(out)).width() >= 1200
    assert list((tmp_path / "tmp").iterdir()) == []  # its scratch project (a denoised copy) is gone ...
    recent = tmp_path / "home" / "recent.json"
    assert not recent.exists() or "emdenoise-screenshot" not in recent.read_text()  # ... and not remembered


def test_default_model_is_the_fastest_shipped_nrrn(window):
    """With a fast and a larger shipped NRRN, a first Denoise click uses the fast one (CPU laptops)."""
    from emdenoise_gui.zoo.registry import list_entries

    shipped = [e for e in list_entries() if e.shipped and e.package and e.package.card.family == "nrrn"]
    fastest = min(shipped, key=lambda e: e.package.card.parameters)
    assert window.zoo_panel.default_key() == f"model:{fastest.path}"


MODEL = SimpleNamespace(kind="model")  # what a job runs decides its lane; these jobs only loop


def looping(log, ignore_cancel=None):
    """A job factory that runs until cancelled (or, with ``ignore_cancel`` set, until that event is set)."""

    def make(token):
        log.append("ran")
        while True:
            if ignore_cancel is None or ignore_cancel.is_set():
                token.raise_if_cancelled()
            yield Progress("x", 0, 10)
            time.sleep(0.01)

    return make


def test_queued_jobs_wait_in_the_panel_and_cancel_without_running(window, qtbot):
    log = []
    first = window.controller.submit(Job("model job 1", "denoise", looping(log)), MODEL)
    second = window.controller.submit(Job("model job 2", "denoise", looping(log)), MODEL)
    table = window.jobs_panel.table
    assert first.status == "running" and second.status == "waiting"
    shown = [table.item(r, 1).text() for r in range(table.rowCount())]
    assert shown[1] == "waiting" and shown[0] in ("running", "starting…")  # running, before its first count
    assert table.cellWidget(1, 4).isEnabled()  # a waiting job can be cancelled
    table.cellWidget(1, 4).click()
    assert second.status == "cancelled" and second.started_at is None
    assert table.rowCount() == 1 and table.item(0, 0).text() == "model job 1"  # removed, never ran
    qtbot.waitUntil(lambda: first.progress == 0 and log == ["ran"])
    first.cancel()
    wait_for(qtbot, first, "cancelled")
    assert log == ["ran"]


def test_close_asks_then_cancels_and_waits_for_every_job(window, qtbot):
    log = []
    running = window.controller.submit(Job("model job", "denoise", looping(log)), MODEL)
    waiting = window.controller.submit(Job("next model job", "train", looping(log)), MODEL)
    qtbot.waitUntil(lambda: log == ["ran"])
    box = quit_question(window, len(window.controller.active_jobs()))
    assert box.text() == "2 jobs are running. Cancel them and quit?" and box.defaultButton() is box.keep_button
    box.show()
    qtbot.waitExposed(box)
    shoot(box, "quit_dialog.png")
    box.close()
    box.deleteLater()
    window.quit_answer = False  # keep working
    window.close()
    assert window.isVisible() and running.status == "running" and waiting.status == "waiting"
    window.quit_answer = True  # cancel them and quit
    window.close()
    assert not window.isVisible()
    assert running.status == "cancelled" and not running.thread_running
    assert waiting.status == "cancelled" and waiting.started_at is None and log == ["ran"]


def test_close_keeps_the_window_until_a_slow_job_stops(window, qtbot, monkeypatch):
    monkeypatch.setattr(closing, "SHUTDOWN_WAIT_MS", 200)
    slow_step = threading.Event()  # the job notices its cancel only once this is set
    job = window.controller.submit(Job("slow model job", "denoise", looping([], slow_step)), MODEL)
    qtbot.waitUntil(lambda: job.status == "running" and job.thread_running)
    window.close()
    assert window.isVisible() and job.status == "cancelling"  # no process left without a window
    slow_step.set()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10000)
    assert job.status == "cancelled" and not job.thread_running


def _failure_box(window, qtbot):
    qtbot.waitUntil(lambda: any(b.isVisible() for b in window.findChildren(QtWidgets.QMessageBox)))
    [box] = [b for b in window.findChildren(QtWidgets.QMessageBox) if b.isVisible()]
    return box


def test_failures_show_one_line_and_the_traceback_behind_details(window, qtbot):
    def broken(token):
        yield Progress("x", 0, 1)
        raise ZeroDivisionError("division by zero\nsecond line")

    job = window.controller.submit(Job("Broken job", "denoise", broken))
    wait_for(qtbot, job, "failed")
    box = _failure_box(window, qtbot)
    assert box.windowTitle() == "Broken job failed" and box.text() == ("EMDenoise hit an internal error (ZeroDivisionError: division by zero); please report it "
                                                                  "with the text under Show Details.")
    assert box.detailedText().startswith("Traceback") and "in broken" in box.detailedText()
    shoot(box, "failure_dialog.png")
    box.close()
    box.deleteLater()

    def bad_input(token):
        yield Progress("x", 0, 1)
        raise InputError("is damaged; pick another file", "/data/x.tif")

    job = window.controller.submit(Job("Bad input", "denoise", bad_input))
    wait_for(qtbot, job, "failed")
    box = _failure_box(window, qtbot)
    assert box.text() == "/data/x.tif: is damaged; pick another file" and box.detailedText() == ""
    box.close()
    box.deleteLater()


def test_preview_shows_the_part_on_screen_first(window, qtbot, small_stack):
    drop(window, [small_stack])
    window.zoo_panel.select("filter:gaussian")
    window.viewer.views[0].setRange(xRange=(10, 60), yRange=(20, 70), padding=0)  # zoomed in
    y0, y1, x0, x1 = window.viewer.visible_region()
    assert 0 <= y0 < y1 <= 128 and 0 <= x0 < x1 <= 160 and (y1 - y0) * (x1 - x0) < 0.6 * 128 * 160
    partial = []
    window.controller.preview_partial.connect(lambda s, z, image, d: partial.append(image))
    wait_for(qtbot, window.preview_current())
    qtbot.waitUntil(lambda: window.viewer.raw_slice("result", 0) is not None
                    and np.isfinite(window.viewer.raw_slice("result", 0)).all())
    assert len(partial) == 1
    first = partial[0]
    assert np.isfinite(first[y0:y1, x0:x1]).all() and np.isnan(first).sum() == first.size - (y1 - y0) * (x1 - x0)
    final = window.viewer.raw_slice("result", 0)
    np.testing.assert_allclose(first[y0:y1, x0:x1], final[y0:y1, x0:x1], atol=1e-3 * np.ptp(final))


def test_loss_series_grows_past_its_first_block_and_plots_downsampled(qtbot):
    from emdenoise_gui.gui.panels.jobs_panel import LossPlot, Series

    series = Series()
    for step in range(1, 1001):  # past the first 256-point block, four doublings
        series.append(step, 1.0 / step)
    assert len(series) == 1000 and series.x[0] == 1 and series.x[-1] == 1000 and series.y[-1] == 1e-3
    plot = LossPlot()
    qtbot.addWidget(plot)
    item = plot.getPlotItem()
    # long curves are drawn as peaks at screen resolution, clipped to the view (not every point each redraw)
    assert item.ctrl.autoDownsampleCheck.isChecked() and item.ctrl.peakRadio.isChecked()
    assert item.ctrl.clipToViewCheck.isChecked()


def test_quitting_during_a_model_export_waits_for_it_then_closes(window, qtbot, tmp_path, monkeypatch):
    import threading

    from emdenoise_gui.zoo import package as zoo_package

    release, real = threading.Event(), zoo_package.export_zip

    def held(*args, **kwargs):  # a large model still copying when the user quits
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(zoo_package, "export_zip", held)
    panel = window.zoo_panel
    panel.select(next(k for k, e in panel.entries.items() if k.startswith("model:") and e.package is not None))
    out = tmp_path / "exported.zip"
    assert panel.export_to(out)
    window.close()  # File ▸ Quit: the export is not dropped
    assert window.isVisible() and panel.transferring
    assert "The window closes when it is done" in window.statusBar().currentMessage()
    release.set()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30_000)
    assert out.stat().st_size > 1000 and not panel.transferring


def test_a_file_error_during_an_import_names_the_file(window, qtbot, tmp_path, monkeypatch):
    import errno

    from emdenoise_gui.zoo import registry

    def full(_path):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "home" / "models" / "big"))

    monkeypatch.setattr(registry, "import_package", full)
    assert window.zoo_panel.import_path(tmp_path / "big.zip")
    qtbot.waitUntil(lambda: not window.zoo_panel.transferring, timeout=30_000)
    title, text = window.warnings[-1]
    assert title == "Cannot import model" and "No space left on device" in text
    assert str(tmp_path / "home" / "models" / "big") in text and "free space" in text


def test_a_failed_export_during_quit_keeps_the_window_open_with_its_message(window, qtbot, tmp_path, monkeypatch):
    import errno
    import threading

    from emdenoise_gui.zoo import package as zoo_package

    release = threading.Event()

    def full(*_args, **_kwargs):
        release.wait(30)
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out.zip"))

    monkeypatch.setattr(zoo_package, "export_zip", full)
    panel = window.zoo_panel
    panel.select(next(k for k, e in panel.entries.items() if k.startswith("model:") and e.package is not None))
    assert panel.export_to(tmp_path / "out.zip")
    window.close()
    window.close()  # pressed twice: still one wait
    release.set()
    qtbot.waitUntil(lambda: not panel.transferring, timeout=30_000)
    qtbot.wait(500)
    assert window.isVisible() and not window.force_close  # the user sees why, then quits again
    assert window.warnings and "No space left on device" in window.warnings[-1][1]
    assert "Not closed" in window.statusBar().currentMessage()


def test_a_job_started_while_quit_waits_for_an_export_is_asked_about(window, qtbot, tmp_path, monkeypatch):
    import threading

    from emdenoise_gui.zoo import package as zoo_package

    release, real = threading.Event(), zoo_package.export_zip
    monkeypatch.setattr(zoo_package, "export_zip", lambda *a, **k: (release.wait(30), real(*a, **k))[1])
    panel = window.zoo_panel
    panel.select(next(k for k, e in panel.entries.items() if k.startswith("model:") and e.package is not None))
    assert panel.export_to(tmp_path / "out.zip")
    window.close()  # no jobs yet: nothing to ask
    started = object()  # the user starts a denoise while the export finishes
    monkeypatch.setattr(window.controller, "active_jobs", lambda: [started])
    asked = []
    monkeypatch.setattr(window, "confirm_quit", lambda count: asked.append(count) or False)  # "Keep working"
    release.set()
    qtbot.waitUntil(lambda: bool(asked), timeout=30_000)
    assert asked == [1] and window.isVisible()
