"""Files that change on disk behind the app: a stack replaced or damaged after it was added, a result file
replaced after it was made. Each gets a warning naming the file; the viewer never shows the old reader's
view of new bytes, no result is recorded for a stack that is no longer the one added, no traceback."""

import json

import numpy as np
import pytest
import tifffile

pytest.importorskip("pytestqt")

from tests.gui.test_main_window import drop, wait_for  # noqa: E402


def _tiff(path, depth=4, side=64, dtype=np.uint16):
    data = (np.arange(depth * side * side) % 4093).reshape(depth, side, side).astype(dtype)
    tifffile.imwrite(path, data, imagej=dtype != np.float64, metadata={"axes": "ZYX"})
    return path


def test_a_replaced_stack_is_read_anew_and_refused_for_denoising(window, tmp_path):
    path = _tiff(tmp_path / "s.tif")
    drop(window, [path])
    record = window.controller.project.stacks[0]
    assert window.viewer.depth() == 4
    _tiff(path, depth=2, dtype=np.float32)  # another stack under the same name
    window.zoo_panel.select("filter:median")
    assert window.denoise_current() is None  # nothing runs, nothing is recorded
    assert window.warnings[-1][0] == "Cannot denoise" and "changed on disk since it was added" in window.warnings[-1][1]
    assert "was 4x64x64 uint16, now 2x64x64 float32" in window.warnings[-1][1]
    assert window.controller.stack_data(record.path).meta.shape[0] == 2  # the reader was opened again
    window.show_stack(record.id)
    assert window.warnings[-1][0] == "Cannot show s.tif" and window.viewer.depth() == 0
    assert window.controller.project.results == []


def test_a_damaged_stack_gets_a_warning_not_a_traceback(window, tmp_path):
    first, second = _tiff(tmp_path / "a.tif"), _tiff(tmp_path / "b.tif")
    drop(window, [first, second])
    a, b = window.controller.project.stacks
    window.show_stack(b.id)
    first.write_text("not an image any more")
    window.show_stack(a.id)  # raised out of the slot before: the app's error box with a traceback
    title, text = window.warnings[-1]
    assert title == "Cannot show a.tif" and "a.tif" in text and "Traceback" not in text
    assert window.viewer.depth() == 0  # the viewer does not go on showing b as if it were a
    window.show_stack(b.id)
    assert window.viewer.depth() == 4


def test_a_result_file_of_another_size_gets_a_warning(window, qtbot, tmp_path):
    drop(window, [_tiff(tmp_path / "s.tif")])
    window.zoo_panel.select("filter:median")
    wait_for(qtbot, window.denoise_current())
    project = window.controller.project
    result = project.results[0]
    _tiff(project.absolute(result), side=32, dtype=np.float32)
    window.show_result(result.id)
    title, text = window.warnings[-1]
    assert title == "Cannot show the result" and "32x32 px" in text
    assert window.viewer.depth() == 4  # the original is shown; the result is not
    folder = project.folder
    window.controller.close_project()
    assert window.open_project(folder)  # the view was on that result: the project still opens whole
    assert window.controller.project.results[0].id == result.id


def test_a_stack_deleted_while_shown_is_said_in_the_view_on_a_mode_switch(window, tmp_path):
    """View ▸ Split (and Blink) redrew without the guard the slice slider has: the reader's error reached the
    app's error box with a traceback (found by the GUI audit, 2026-12-05)."""
    path = _tiff(tmp_path / "s.tif")
    drop(window, [path])
    path.unlink()
    window.viewer.set_slice(2)  # not read before: the slider's redraw says it cannot
    window.viewer.set_mode("split")  # raised InputError here
    assert "Cannot read slice 2" in window.viewer.messages[0].toPlainText()
    window.viewer.set_mode("blink")
    window.viewer.blink_step()


def test_selecting_a_deleted_stack_says_so_and_preview_refuses_a_replaced_one(window, tmp_path):
    first, second = _tiff(tmp_path / "a.tif"), _tiff(tmp_path / "b.tif")
    drop(window, [first, second])
    a, b = window.controller.project.stacks
    window.show_stack(a.id)
    second.unlink()
    window.show_stack(b.id)  # did nothing: the viewer went on showing a.tif as if it were selected
    assert window.viewer.depth() == 0 and "b.tif was moved or deleted" in window.viewer.placeholder.text()
    assert window._current_stack_id() == b.id
    _tiff(first, depth=2, dtype=np.float32)  # a.tif replaced by another stack
    window.show_stack(a.id)
    window.zoo_panel.select("filter:median")
    assert window.preview_current() is None  # it previewed the new file, then said "set the original ..."
    assert window.warnings[-1][0] == "Cannot preview" and "changed on disk" in window.warnings[-1][1]


def test_reopening_a_project_whose_stack_is_damaged_asks_once(window, tmp_path):
    path = _tiff(tmp_path / "s.tif")
    drop(window, [path])
    folder = window.controller.project.folder
    window.controller.close_project()
    path.write_text("not an image any more")
    window.warnings.clear()
    assert window.open_project(folder)
    shown = [w for w in window.warnings if w[0] == "Cannot show s.tif"]
    assert len(shown) == 1, window.warnings  # three identical dialogs before


def test_a_project_saved_by_another_window_meanwhile_is_kept_and_said(window, tmp_path):
    from emdenoise_gui.project.project import Project

    drop(window, [_tiff(tmp_path / "a.tif")])
    other = Project.open(window.controller.project.folder)  # a second EMDenoise window on the same project
    other.name = "renamed elsewhere"
    other.save()
    drop(window, [_tiff(tmp_path / "b.tif")])  # this window's change is saved too
    title, text = window.warnings[-1]
    assert title == "Project changed elsewhere" and "project.other-" in text
    kept = next(window.controller.project.folder.glob("project.other-*.json"))
    assert json.loads(kept.read_text())["name"] == "renamed elsewhere"
    assert len(Project.open(window.controller.project.folder).stacks) == 2


def _menu_texts(menu):
    return [a.text() for a in menu.actions() if a.text()]


def test_a_moved_stack_is_located_with_its_neighbours_and_other_data_refused(window, tmp_path, monkeypatch):
    """Right-click a missing stack ▸ Locate File…: the picked file must be the same data; the other stacks
    of its old folder are found beside it; the viewer shows it again."""
    from PySide6 import QtWidgets

    old = tmp_path / "old"
    old.mkdir()
    drop(window, [_tiff(old / "a.tif"), _tiff(old / "b.tif", depth=2)])
    a, b = window.controller.project.stacks
    (tmp_path / "new").mkdir()
    for name in ("a.tif", "b.tif"):
        (old / name).rename(tmp_path / "new" / name)
    _tiff(tmp_path / "other.tif", depth=3)
    window.project_panel.refresh(window.controller.project)
    window.show_stack(a.id)
    assert "Locate File" in window.viewer.placeholder.text()
    item = window.project_panel.tree.topLevelItem(0)
    menu = window.project_panel.context_menu(item)
    assert "Locate File…" in _menu_texts(menu)
    picked = [str(tmp_path / "other.tif")]
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *args: (picked[0], ""))
    next(act for act in menu.actions() if act.text() == "Locate File…").trigger()
    assert window.warnings[-1][0] == "Not the same stack" and "is 3x64x64 uint16" in window.warnings[-1][1]
    assert window.controller.project.stack(a.id).path == str(old / "a.tif")
    picked[0] = str(tmp_path / "new" / "a.tif")
    window.locate_stack_dialog(a.id)
    assert [s.path for s in window.controller.project.stacks] == [str(tmp_path / "new" / n) for n in ("a.tif", "b.tif")]
    assert window.viewer.depth() == 4 and "1 more of its folder's stacks" in window.statuses[-1]
    assert "new/a.tif" in window.controller.project.file.read_text()  # saved
    menu.deleteLater()
    menu = window.project_panel.context_menu(window.project_panel.tree.topLevelItem(0))
    assert "Locate File…" not in _menu_texts(menu)
    menu.deleteLater()


def test_a_project_moved_with_its_data_opens_with_its_stacks(window, tmp_path):
    project = window.controller.project
    (project.folder / "data").mkdir()
    drop(window, [_tiff(project.folder / "data" / "a.tif")])
    folder = project.folder
    window.controller.close_project()
    folder.rename(tmp_path / "moved")
    window.warnings.clear()
    assert window.open_project(tmp_path / "moved")
    assert window.warnings == [] and "a.tif" in window.statuses[-1] and "new place" in window.statuses[-1]
    assert window.viewer.depth() == 4


def test_a_batch_that_fails_on_its_second_stack_keeps_the_first_result(window, qtbot, tmp_path, monkeypatch):
    """The first stack's output is written whole before the second fails: it stays in the project (it was left
    on disk outside the project's record)."""
    from emdenoise_gui.core.errors import InputError
    from emdenoise_gui.jobs import denoise as jobs
    from emdenoise_gui.jobs.denoise import Denoiser

    drop(window, [_tiff(tmp_path / "a.tif"), _tiff(tmp_path / "b.tif")])
    a, b = window.controller.project.stacks
    real = jobs.denoise

    def second_fails(stack_path, *args, **kwargs):
        if str(stack_path).endswith("b.tif"):
            raise InputError("cannot be read: simulated", stack_path)
        return real(stack_path, *args, **kwargs)

    monkeypatch.setattr(jobs, "denoise", second_fails)
    job = window.controller.denoise([a.id, b.id], Denoiser("filter", "median"))
    wait_for(qtbot, job, status="failed")
    results = window.controller.project.results
    assert [r.stack_id for r in results] == [a.id] and window.controller.project.absolute(results[0]).is_file()


def test_a_deleted_slice_says_where_to_find_it_and_forgets_the_earlier_slices_numbers(window, tmp_path):
    """The z readout, the line profile and the IQR box went on showing the slice read before (GUI audit of
    2026-12-06); the message was the reader's errno, cut at the pane's edge."""
    path = _tiff(tmp_path / "s.tif")
    drop(window, [path])
    path.unlink()
    window.viewer.set_slice(3)
    assert "moved or deleted" in window.viewer.messages[0].toPlainText()
    assert "Locate File" in window.viewer.messages[0].toPlainText()
    assert window.viewer.profile_plot.original_curve.getData()[0] is None or \
        not len(window.viewer.profile_plot.original_curve.getData()[0])
    assert window.viewer.iqr_label.text() == ""


def test_a_result_of_a_missing_stack_is_said_not_left_beside_another_stack(window, qtbot, tmp_path):
    from emdenoise_gui.jobs.denoise import Denoiser

    first, second = _tiff(tmp_path / "a.tif"), _tiff(tmp_path / "b.tif")
    drop(window, [first, second])
    a, b = window.controller.project.stacks
    job = window.controller.denoise([b.id], Denoiser("filter", "median"))
    job.wait(60000)
    qtbot.waitUntil(lambda: bool(window.controller.project.results), timeout=60000)
    result = window.controller.project.results[0]
    window.show_stack(a.id)
    second.unlink()
    window.show_result(result.id)  # did nothing: a.tif stayed on screen beside b.tif's highlighted result
    assert window.viewer.depth() == 0 and "b.tif was moved or deleted" in window.viewer.placeholder.text()


def test_a_regions_original_deleted_while_shown_points_to_locate_file(qtbot, tmp_path):
    from emdenoise_gui.core.io import open_stack
    from emdenoise_gui.gui.panels.slices import RegionOf
    from tests.gui.test_compare_view import shown_view

    path = _tiff(tmp_path / "r.tif")
    view = shown_view(qtbot, 600, 400)
    stack = open_stack(path)
    try:
        view.set_original(RegionOf(stack, (8, 40, 8, 40)), "r.tif (region)")
        path.unlink()
        view.set_slice(3)
        assert "Locate File" in view.messages[0].toPlainText()
    finally:
        stack.close()


def test_a_stack_touched_while_shown_is_read_again_not_refused(window, tmp_path):
    """A cloud-sync tool or `touch` changed only its time: every later slice said 'Cannot read slice' (the
    reader refuses a file changed since it was opened, and the viewer kept that reader; diff review)."""
    import os

    path = _tiff(tmp_path / "s.tif")
    drop(window, [path])
    window.viewer.set_slice(1)
    os.utime(path, ns=(1, 1))
    window.viewer.set_slice(2)
    expected = (np.arange(4 * 64 * 64) % 4093).reshape(4, 64, 64)[2]
    assert np.array_equal(window.viewer._raw("original"), expected)


def test_stacks_another_window_added_appear_when_this_one_saves(window, tmp_path):
    """The save took them in and said so, but the project panel did not show them (diff review)."""
    from emdenoise_gui.core.io import open_stack
    from emdenoise_gui.project.project import Project

    drop(window, [_tiff(tmp_path / "a.tif")])
    other = Project.open(window.controller.project.folder)
    with open_stack(_tiff(tmp_path / "b.tif")) as stack:
        other.add_stack(stack.meta)
    other.save()
    shown = []
    window.controller.project_changed.connect(lambda: shown.append([s.name for s in window.controller.project.stacks]))
    window.controller.project.name = "changed here"
    assert window.controller.save()
    assert shown and shown[-1] == ["a.tif", "b.tif"]
    assert not window.warnings  # it only added: nothing of its version to keep aside or warn of (since 2026-12-06)


def test_a_stack_written_again_with_the_same_shape_is_said_once(window, tmp_path):
    """A stack re-saved in place with other pixels of the same shape and type was taken for the one added: its old
    results were shown beside the new pixels without a word (project audit, left undone then). Its size tells it."""
    from emdenoise_gui.project.project import Project

    path = _tiff(tmp_path / "s.tif")
    drop(window, [path])
    record = window.controller.project.stacks[0]
    data = np.random.default_rng(1).integers(0, 4000, (4, 64, 64)).astype(np.uint16)
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "ZYX"}, compression="zlib")
    assert path.stat().st_size != record.size_bytes
    count = len(window.warnings)
    window.show_stack(record.id)
    assert window.viewer.depth() == 4  # shown as it is now
    assert window.warnings[-1][0] == "Stack changed on disk" and "written again since it was added" in \
        window.warnings[-1][1]
    window.show_stack(record.id)
    assert len(window.warnings) == count + 1  # said once
    assert Project.open(window.controller.project.folder).stacks[0].size_bytes == path.stat().st_size


def test_a_stack_written_again_to_the_same_size_is_said_once(window, tmp_path):
    """Rewritten in place with other pixels of the same shape, type and size (uncompressed), a stack was taken for
    the one added: its old results were shown beside the new pixels (left undone on 2026-12-07). Its sampled bytes
    tell it now."""
    from emdenoise_gui.project.project import Project

    path = _tiff(tmp_path / "s.tif")
    drop(window, [path])
    record = window.controller.project.stacks[0]
    window.show_stack(record.id)
    count = len(window.warnings)
    data = np.random.default_rng(1).integers(0, 4000, (4, 64, 64)).astype(np.uint16)
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "ZYX"})
    assert path.stat().st_size == record.size_bytes
    window.show_stack(record.id)
    assert window.warnings[count:] and window.warnings[-1][0] == "Stack changed on disk"
    assert "its contents changed" in window.warnings[-1][1]
    window.show_stack(record.id)
    assert len(window.warnings) == count + 1  # said once
    saved = Project.open(window.controller.project.folder).stacks[0]
    assert saved.sampled_digest == record.sampled_digest != None  # noqa: E711 - taken as it is now


def test_a_batch_checks_its_stacks_on_a_thread_and_says_a_rewritten_one_once(window, qtbot, tmp_path, monkeypatch):
    """A batch read every stack's header and sampled bytes on the window's thread (400 small TIFFs: 1.5 s frozen);
    they are read on a thread now, with the same checks: a stack of another shape refuses the batch, one written
    again with the same shape is said once and denoised as it is now."""
    import threading

    from emdenoise_gui.gui import controller as controller_module

    paths = [_tiff(tmp_path / f"s{i}.tif") for i in range(3)]
    drop(window, paths)
    records = window.controller.project.stacks
    threads = []
    read_state = controller_module.read_state
    monkeypatch.setattr(controller_module, "read_state",
                        lambda *a: threads.append(threading.current_thread()) or read_state(*a))
    data = np.random.default_rng(1).integers(0, 4000, (4, 64, 64)).astype(np.uint16)
    tifffile.imwrite(paths[1], data, imagej=True, metadata={"axes": "ZYX"})  # same shape, type and size
    _tiff(paths[2], depth=2)  # another shape
    window.zoo_panel.select("filter:median")
    count = len(window.warnings)
    assert window.controller.denoise([r.id for r in records], window.denoiser) is None
    assert len(threads) == 3 and threading.main_thread() not in threads
    assert window.warnings[-1][0] == "Cannot denoise" and "s2.tif" in window.warnings[-1][1]
    assert "was 4x64x64 uint16, now 2x64x64 uint16" in window.warnings[-1][1]
    assert [w[0] for w in window.warnings[count:]] == ["Stack changed on disk", "Cannot denoise"]
    assert "s1.tif" in window.warnings[count][1] and "its contents changed" in window.warnings[count][1]
    _tiff(paths[2])  # as it was
    job = window.controller.denoise([r.id for r in records], window.denoiser)
    assert job is not None and job.kind == "batch"
    assert [w[0] for w in window.warnings[count:]] == ["Stack changed on disk", "Cannot denoise"]  # said once
    wait_for(qtbot, job)


def test_a_project_closed_while_a_batch_reads_its_headers_starts_nothing(window, qtbot, tmp_path, monkeypatch):
    """The window closing (or another project opening) while a batch's headers were read on a thread raised
    AttributeError out of the denoise (review); it starts nothing now and says why."""
    import time

    from PySide6 import QtCore

    from emdenoise_gui.gui import controller as controller_module

    paths = [_tiff(tmp_path / f"s{i}.tif") for i in range(2)]
    drop(window, paths)
    ids = [r.id for r in window.controller.project.stacks]
    read_state = controller_module.read_state
    monkeypatch.setattr(controller_module, "read_state", lambda *a: time.sleep(0.2) or read_state(*a))
    said = []
    window.controller.status.connect(said.append)
    window.zoo_panel.select("filter:median")
    QtCore.QTimer.singleShot(50, window.controller.close_project)
    assert window.controller.denoise(ids, window.denoiser) is None
    assert window.controller.jobs == [] and "the project changed while its stacks were read" in said[-1]
