"""Adding stacks: the window never waits for a slice to be read, thumbnails come back after a reopen, a
drop without a project offers to make one, and File ▸ Add Stacks and the panel's button agree."""

import time

import numpy as np
import pytest
import tifffile

pytest.importorskip("pytestqt")
from PySide6 import QtGui  # noqa: E402

from emdenoise_gui.core.io import stack as stack_module  # noqa: E402
from emdenoise_gui.gui.main_window import MainWindow  # noqa: E402
from emdenoise_gui.gui.panels.project_panel import EMPTY_PROJECT_TEXT, NO_PROJECT_TEXT  # noqa: E402
from tests.gui.test_main_window import drop  # noqa: E402

SLOW_READ_S = 1.5


@pytest.fixture
def tiff(tmp_path):
    """A 5 x 64 x 80 uint16 stack whose middle slice is a ramp (its thumbnail is not flat)."""
    data = np.zeros((5, 64, 80), np.uint16)
    data[2] = np.arange(80, dtype=np.uint16)[None, :] * 100
    path = tmp_path / "ramp.tif"
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "ZYX"})
    return path


def test_adding_a_stack_reads_no_pixels_on_the_gui_thread(qtbot, tmp_path, monkeypatch, tiff, new_controller):
    """With slices that take 1.5 s to read, the stack is listed at once and its thumbnail follows."""
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    read = stack_module.Stack.__getitem__

    def slow_read(self, z):
        time.sleep(SLOW_READ_S)
        return read(self, z)

    monkeypatch.setattr(stack_module.Stack, "__getitem__", slow_read)
    controller = new_controller()
    assert controller.new_project(tmp_path / "project")
    started = time.perf_counter()
    added, rejected = controller.add_paths([tiff])
    assert time.perf_counter() - started < SLOW_READ_S / 2  # no slice was read here
    assert [r.name for r in added] == ["ramp.tif"] and rejected == [] and controller.thumbnails == {}
    with qtbot.waitSignal(controller.thumbnail_changed, timeout=20_000) as arrived:
        pass
    assert arrived.args == [added[0].id]
    thumb = controller.thumbnails[added[0].id]
    assert thumb.dtype == np.float32 and thumb.shape == (64, 80) and thumb.max() == 7900  # the middle slice
    controller.shutdown_jobs(5000)


def _icon_colours(panel, row: int) -> int:
    image = panel.tree.topLevelItem(row).icon(0).pixmap(56, 56).toImage()
    return len({image.pixel(x, y) for x in range(0, image.width(), 4) for y in range(0, image.height(), 4)})


def test_placeholder_then_thumbnail_and_again_after_reopening(qtbot, tmp_path, monkeypatch, tiff):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    first = MainWindow()
    qtbot.addWidget(first)
    first.controller.new_project(tmp_path / "project")
    first.controller.thumbnail_maker.request = lambda *a: True  # nothing arrives: the placeholder stays
    drop(first, [tiff])
    panel = first.project_panel
    assert not panel.tree.topLevelItem(0).icon(0).isNull() and _icon_colours(panel, 0) == 1  # plain grey
    first.force_close = True
    first.close()

    second = MainWindow()  # a new session: nothing cached
    qtbot.addWidget(second)
    assert second.open_project(tmp_path / "project")
    qtbot.waitUntil(lambda: _icon_colours(second.project_panel, 0) > 4, timeout=20_000)  # the ramp
    second.force_close = True


def test_a_drop_without_a_project_offers_one_then_adds_the_files(qtbot, tmp_path, monkeypatch, tiff):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    win = MainWindow()
    qtbot.addWidget(win)
    win.warnings = []
    monkeypatch.setattr(win, "warn", lambda title, text: win.warnings.append((title, text)))
    assert win.project_panel.empty.text() == NO_PROJECT_TEXT and "No project open" in NO_PROJECT_TEXT
    asked = []
    monkeypatch.setattr(win, "choose_new_project_folder", lambda count: asked.append(count))  # declined
    drop(win, [tiff])
    qtbot.waitUntil(lambda: asked == [1])
    assert win.controller.project is None and win.warnings == []  # no "No project" box
    monkeypatch.setattr(win, "choose_new_project_folder", lambda count: str(tmp_path / "new"))
    drop(win, [tiff])
    qtbot.waitUntil(lambda: win.controller.project is not None and bool(win.controller.project.stacks))
    assert win.controller.project.folder == (tmp_path / "new").resolve()
    assert [s.name for s in win.controller.project.stacks] == ["ramp.tif"]
    assert win.project_panel.tree.topLevelItemCount() == 1 and win.warnings == []
    win.controller.close_project()
    drop(win, [tiff])  # choosing a folder that holds a project opens it
    qtbot.waitUntil(lambda: win.controller.project is not None)
    assert [s.name for s in win.controller.project.stacks] == ["ramp.tif"] and win.warnings == []
    win.force_close = True


def test_a_drop_of_only_unsupported_files_without_a_project_offers_none(qtbot, tmp_path, monkeypatch):
    """Dropping two PNGs with no project open asked to create a project, then added nothing (audit)."""
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    win = MainWindow()
    qtbot.addWidget(win)
    win.warnings, asked = [], []
    monkeypatch.setattr(win, "warn", lambda title, text: win.warnings.append((title, text)))
    monkeypatch.setattr(win, "choose_new_project_folder", lambda count: asked.append(count))
    pictures = [tmp_path / "a.png", tmp_path / "b.png"]
    for picture in pictures:
        picture.write_bytes(b"\x89PNG")
    drop(win, pictures)
    qtbot.waitUntil(lambda: bool(win.warnings))
    (title, text), = win.warnings
    assert asked == [] and win.controller.project is None
    assert title == "Nothing was added" and "b.png: unsupported file type '.png'" in text
    win.force_close = True


def test_add_stacks_menu_and_button_agree(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    win = MainWindow()
    qtbot.addWidget(win)
    menu, button = win.menu_actions["add"], win.project_panel.add_button
    assert menu.isEnabled() == button.isEnabled()
    offered = []
    monkeypatch.setattr(win, "choose_new_project_folder", lambda count: offered.append(count))
    menu.trigger()  # without a project: the same offer as a drop, then (declined) nothing
    button.click()
    assert offered == [0, 0]
    win.controller.new_project(tmp_path / "project")
    assert menu.isEnabled() == button.isEnabled() and win.project_panel.empty.text() == EMPTY_PROJECT_TEXT
    assert menu.shortcut() == QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Open)
    win.force_close = True


def test_ome_zarr_folders_are_stacks_when_dropped_alone_or_in_a_folder(qtbot, tmp_path, monkeypatch, tiff, new_controller):
    """A .zarr store is one stack (not its zarr.json); a folder holding one adds it beside the files."""
    from emdenoise_gui.core.events import run_to_end
    from emdenoise_gui.jobs.stack import convert_job

    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    run_to_end(convert_job(tiff, tmp_path / "ramp.zarr"))
    controller = new_controller()
    assert controller.new_project(tmp_path / "project")
    added, rejected = controller.add_paths([tmp_path / "ramp.zarr"])
    assert [r.name for r in added] == ["ramp.zarr"] and rejected == []
    with qtbot.waitSignal(controller.thumbnail_changed, timeout=20_000):
        pass
    assert controller.thumbnails[added[0].id].max() == 7900  # the middle slice, read from the store
    assert controller.add_paths([tmp_path / "ramp.zarr" / "zarr.json"]) == ([], [])  # the file dialog's pick
    assert controller.add_paths([tmp_path])[1] == []  # the folder: ramp.tif added, ramp.zarr already there
    assert sorted(r.name for r in controller.project.stacks) == ["ramp.tif", "ramp.zarr"]
    controller.shutdown_jobs(5000)


def test_a_folder_without_stacks_says_so(qtbot, tmp_path, monkeypatch, tiff, new_controller):
    """An empty folder, or one holding only sub-folders, is named in the warning instead of adding nothing
    in silence (sub-folders are not searched)."""
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    empty, nested = tmp_path / "empty", tmp_path / "nested"
    empty.mkdir()
    (nested / "deeper").mkdir(parents=True)
    tiff.rename(nested / "deeper" / tiff.name)
    controller = new_controller()
    assert controller.new_project(tmp_path / "project")
    warnings = []
    controller.warning.connect(lambda title, text: warnings.append((title, text)))
    added, rejected = controller.add_paths([empty, nested])
    assert added == [] and [p for p, _ in rejected] == [empty, nested]
    assert all("sub-folders are not searched" in why for _, why in rejected)
    assert len(warnings) == 1 and warnings[0][0] == "Nothing was added" and "empty: no TIFF" in warnings[0][1]
    store = tmp_path / "cells.zarr"  # a folder named as a store, without its metadata: said as such
    store.mkdir()
    (store / "x.txt").write_text("not a store")
    added, rejected = controller.add_paths([store])
    assert added == [] and rejected == [(store, rejected[0][1])] and "holds no OME-Zarr image" in rejected[0][1]
    controller.shutdown_jobs(5000)


def test_a_result_of_a_stack_removed_meanwhile_is_named_in_words(qtbot, tmp_path, monkeypatch, tiff, new_controller):
    """The warning read 'o.tif: "no stack 's1' in project project"' (a KeyError's text, an internal id)."""
    from emdenoise_gui.jobs.denoise import Denoiser

    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    controller = new_controller()
    assert controller.new_project(tmp_path / "project")
    (record,), _ = controller.add_paths([tiff])
    output = controller.output_paths([record], "median")[0]
    tifffile.imwrite(output, np.zeros((5, 64, 80), np.float32))  # what the job wrote
    controller.remove_stack(record.id)
    warnings = []
    controller.warning.connect(lambda title, text: warnings.append((title, text)))
    controller._record_results([record], [output], Denoiser("filter", "median"), controller.project,
                                {"tile": 512, "stride": None, "dtype": "input", "device": "cpu"}, committed={str(output)})
    assert warnings == [("Result not added", f"ramp.tif was removed from the project after its denoise was started; "
                                             f"its result is kept in {output} (drop it into the project to view it)")]
    assert output.exists() and controller.project.results == []
    controller.shutdown_jobs(5000)
