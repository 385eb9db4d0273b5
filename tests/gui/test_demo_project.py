"""The demo project (``gui.app.open_demo``): made on first use, reopened after, and never deleted."""

from __future__ import annotations

import json
from pathlib import Path

from emdenoise_gui.gui.app import DEMO_STACKS, demo_project_folder, open_demo


def _edit_record(folder: Path, change) -> None:
    record = json.loads((folder / "project.json").read_text())
    change(record)
    (folder / "project.json").write_text(json.dumps(record))


def _first_demo(window) -> Path:
    assert open_demo(window)
    folder = demo_project_folder()
    window.controller.close_project()
    return folder


def test_the_demo_crops_moved_by_an_upgrade_are_found_again_and_the_users_files_kept(window, qtbot):
    """An upgrade installs the app elsewhere: the demo project's stacks point at files that are gone. They are
    pointed at the new install's crops; the user's results in the project stay (it was deleted and made anew,
    results folder and all)."""
    folder = _first_demo(window)
    (folder / "results").mkdir(exist_ok=True)
    mine = folder / "results" / "my_result.tif"
    mine.write_bytes(b"the user's result")

    def moved(record):
        for stack in record["stacks"]:
            stack["path"], stack["relative"] = "/nowhere/old-install/" + stack["name"], None

    _edit_record(folder, moved)
    assert open_demo(window)
    stacks = window.controller.project.stacks
    assert sorted(Path(s.path).name for s in stacks) == sorted(DEMO_STACKS) and all(Path(s.path).exists() for s in stacks)
    assert mine.read_bytes() == b"the user's result"
    assert not list(folder.parent.glob("demo-project.old-*"))
    assert window.warnings == []  # no "Missing input files" box for the crops it points at itself
    assert window.denoise_current() is not None


def test_a_demo_project_of_a_newer_version_is_set_aside_not_deleted(window, qtbot):
    folder = _first_demo(window)
    (folder / "my_notes.txt").write_text("notes")
    _edit_record(folder, lambda record: record.update(version=99))
    assert open_demo(window)
    kept = list(folder.parent.glob("demo-project.old-*"))
    assert len(kept) == 1 and (kept[0] / "my_notes.txt").read_text() == "notes"
    assert json.loads((kept[0] / "project.json").read_text())["version"] == 99
    assert window.controller.project.folder == folder and len(window.controller.project.stacks) == len(DEMO_STACKS)


def test_a_stack_the_user_added_and_moved_does_not_rebuild_the_demo(window, qtbot, tmp_path):
    import numpy as np
    import tifffile

    folder = _first_demo(window)
    extra = tmp_path / "mine.tif"
    tifffile.imwrite(extra, np.zeros((3, 32, 32), np.uint8), imagej=True, metadata={"axes": "ZYX"})
    assert window.open_project(folder) and window.controller.add_paths([extra])
    window.controller.close_project()
    extra.unlink()
    assert open_demo(window)
    assert len(window.controller.project.stacks) == len(DEMO_STACKS) + 1  # the same project, greyed-out stack kept
    assert not list(folder.parent.glob("demo-project.old-*"))


def test_a_demo_project_that_cannot_be_set_aside_leaves_the_open_project_open(window, qtbot, tmp_path,
                                                                             monkeypatch):
    """The window kept showing the demo's stacks with no project behind them, and the user's project closed
    (review of 2026-12-06)."""
    from emdenoise_gui.gui import app

    folder = _first_demo(window)
    _edit_record(folder, lambda record: record.update(version=99))
    assert window.controller.new_project(tmp_path / "mine")
    monkeypatch.setattr(app.os, "rename", lambda *a: (_ for _ in ()).throw(PermissionError("no")))
    assert not open_demo(window)
    assert window.controller.project.folder == tmp_path / "mine"
    assert [title for title, _ in window.warnings] == ["Cannot open the demo project"]
