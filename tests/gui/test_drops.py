"""Drops that are not stacks (drag-and-drop audit of 2026-12-06): a project folder opens, a model package goes to
the zoo, a path inside an OME-Zarr store adds the store, a web link alone is refused at the drag."""

import json
from pathlib import Path

import pytest
import tifffile

pytest.importorskip("pytestqt")
from PySide6 import QtCore, QtGui  # noqa: E402

from emdenoise_gui.gui.drops import expand_paths, sort_drop  # noqa: E402
from emdenoise_gui.project.project import Project  # noqa: E402
from tests.conftest import main, synthetic_em_stack  # noqa: E402
from tests.gui.test_main_window import drop  # noqa: E402


def _tif(path):
    tifffile.imwrite(path, synthetic_em_stack(3, 32, 32, seed=3), imagej=True, metadata={"axes": "ZYX"})
    return path


def test_a_dropped_project_folder_or_its_project_json_opens_it(window, tmp_path):
    """It listed project.json and project.json.bak as 'unsupported file types'."""
    other = Project.create(tmp_path / "other")
    for dropped in (other.folder, other.file):
        drop(window, [dropped])
        assert window.controller.project.folder == other.folder
        assert not window.warnings


def test_a_dropped_model_package_goes_to_the_zoo(window, tmp_path, monkeypatch):
    """A package folder or zip was taken for stacks: 'card.json: unsupported file type'."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "card.json").write_text(json.dumps({"name": "pkg"}))
    imported = []
    monkeypatch.setattr(window.zoo_panel, "import_path", imported.append)
    drop(window, [package])
    assert imported == [package] and not window.controller.project.stacks


def test_a_path_inside_an_ome_zarr_store_adds_the_store(tmp_path):
    """store.zarr/0 was refused as 'a plain zarr array', though the store around it is a good image."""
    store = tmp_path / "s.zarr"
    assert main(["convert", str(_tif(tmp_path / "a.tif")), str(store)]) == 0
    inner = [store / "0", store / "0" / "zarr.json"]
    assert expand_paths(inner) == [store, store]


def test_a_web_link_alone_is_refused_at_the_drag_and_mixed_is_said(window, tmp_path):
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl("https://example.org/a.tif")])
    event = QtGui.QDragEnterEvent(QtCore.QPoint(20, 20), QtCore.Qt.DropAction.CopyAction, mime,
                                  QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(event)
    assert not event.isAccepted()
    sorted_drop = sort_drop(["https://example.org/a.tif", "file:///x.tif"], ["/x.tif"])
    assert sorted_drop.web == 1 and [p.name for p in sorted_drop.stacks] == ["x.tif"]


def test_many_rejected_files_make_a_short_message(window, tmp_path):
    """A folder of 3 TIFFs and 80 PNGs gave an 82-line box, its OK button below the screen (audit)."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for k in range(3):
        _tif(folder / f"s{k}.tif")
    for k in range(80):
        (folder / f"p{k:02d}.png").write_bytes(b"\\x89PNG")
    drop(window, [folder])
    assert len(window.controller.project.stacks) == 3
    (_title, text), = window.warnings
    assert "80 '.png' files (p00.png, p01.png, …): unsupported file type" in text and text.count("•") <= 12


def test_sub_folders_of_a_dropped_folder_are_said_not_searched(window, tmp_path):
    folder = tmp_path / "run"
    (folder / "deeper").mkdir(parents=True)
    _tif(folder / "a.tif")
    _tif(folder / "deeper" / "b.tif")
    drop(window, [folder])
    assert [s.name for s in window.controller.project.stacks] == ["a.tif"]
    assert any("sub-folders not searched: deeper" in text for text in window.statuses)


def test_a_floating_dock_takes_drops_as_the_window_does(window, tmp_path):
    """A floating dock is a window of its own: a stack dropped on it got the refusing cursor (audit)."""
    from PySide6 import QtWidgets

    dock = window.docks["zoo"]
    dock.setFloating(True)
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(_tif(tmp_path / "floating.tif")))])
    where, copy = QtCore.QPoint(20, 20), QtCore.Qt.DropAction.CopyAction
    buttons, keys = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier
    enter = QtGui.QDragEnterEvent(where, copy, mime, buttons, keys)
    QtWidgets.QApplication.sendEvent(dock, enter)
    assert enter.isAccepted()
    QtWidgets.QApplication.sendEvent(dock, QtGui.QDropEvent(QtCore.QPointF(where), copy, mime, buttons, keys))
    assert [Path(s.path).name for s in window.controller.project.stacks] == ["floating.tif"]


def test_several_packages_dropped_are_all_imported_and_a_damaged_zip_is_said_as_one(window, qtbot, tmp_path):
    """Of two packages dropped at once only the first was imported, the other dropped without a word; a damaged
    zip was 'unsupported file type .zip' (zoo panel audit of 2026-12-07)."""
    from emdenoise_gui.zoo.registry import user_dir
    from tests.conftest import random_package

    first, second = random_package(tmp_path / "a", "n2v"), random_package(tmp_path / "b", "nrrn")
    messages = []
    window.zoo_panel.message.connect(lambda title, text: messages.append(text))
    drop(window, [first.path, second.path])
    qtbot.waitUntil(lambda: (user_dir() / second.card.name).is_dir() and not window.zoo_panel.transferring,
                    timeout=30_000)
    assert (user_dir() / first.card.name).is_dir() and messages == []
    cut = tmp_path / "cut.zip"
    cut.write_bytes(b"PK\x03\x04" + b"\0" * 100)  # the start of a zip, as a broken download
    drop(window, [cut])
    qtbot.waitUntil(lambda: bool(messages) and not window.zoo_panel.transferring, timeout=30_000)
    assert "unsupported file type" not in messages[-1] and "zip" in messages[-1]


def test_a_zipped_stack_is_said_to_be_one_not_a_model_that_failed_to_import(window, tmp_path):
    """With every .zip sent to the zoo, a stack.tif.zip got 'Cannot import model: unexpected file stack.tif'
    instead of the advice to decompress it (review of 2026-12-07)."""
    import zipfile

    from emdenoise_gui.gui.drops import is_package

    stack = _tif(tmp_path / "stack.tif")
    zipped = tmp_path / "stack.tif.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.write(stack, "stack.tif")
    damaged = tmp_path / "cut.zip"
    damaged.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    assert not is_package(zipped) and is_package(damaged)
    assert sort_drop([str(zipped)], [str(zipped)]).stacks == [zipped]
