"""Projects: save/open roundtrip, atomic save, bad files, stacks and results, recent list."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io import open_stack
from emdenoise_gui.project.project import (
    PROJECT_FILE,
    PROJECT_VERSION,
    Project,
)
from emdenoise_gui.project.recent import recent_projects, remember_project
from emdenoise_gui.project.records import COMPARE_MODES, CompareState

SHA = "ab" * 32


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Keep the recent list of every test in its own folder."""
    path = tmp_path / "home"
    monkeypatch.setenv("EMDENOISE_HOME", str(path))
    return path


def make_meta(path, shape=(3, 16, 20), dtype=np.uint8):
    """Write a small greyscale TIFF at ``path`` and return its StackMeta."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (np.arange(np.prod(shape)) % 200).astype(dtype).reshape(shape)
    tifffile.imwrite(path, data, photometric="minisblack")
    with open_stack(path) as stack:
        return stack.meta


@pytest.fixture
def project(tmp_path):
    return Project.create(tmp_path / "proj")


def write_result(project, stack_id, label="bm3d"):
    path = project.result_path(stack_id, label)
    path.write_bytes(b"result")
    return path


def test_create_makes_folder_results_and_file(tmp_path):
    project = Project.create(tmp_path / "a" / "new", name="Mito")
    assert (tmp_path / "a" / "new" / PROJECT_FILE).is_file()
    assert (tmp_path / "a" / "new" / "results").is_dir()
    assert project.name == "Mito" and project.version == PROJECT_VERSION
    assert Project.create(tmp_path / "other").name == "other"


def test_create_refuses_existing_project_and_file(tmp_path, project):
    with pytest.raises(InputError, match="already holds a project.*open it instead"):
        Project.create(project.folder)
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        Project.create(tmp_path / "f.txt")


def test_roundtrip_preserves_everything(tmp_path, project):
    s1 = project.add_stack(make_meta(tmp_path / "in" / "cells.tif"))
    s2 = project.add_stack(make_meta(tmp_path / "in" / "b.tif", shape=(1, 12, 12), dtype=np.uint16),
                           name="second")
    path = write_result(project, s1.id)
    r1 = project.add_result(s1.id, path, "model", "nrrn", slices=(1, 3),
                            parameters={"tile": np.int64(64), "stride": 48, "device": "cpu"},
                            model_path=tmp_path / "m.emdmodel", model_sha256=SHA)
    project.add_result(s2.id, write_result(project, s2.id, "gauss"), "filter", "gaussian")
    project.view.stack_id, project.view.result_id = s1.id, r1.id
    project.view.slice_index = 2
    project.view.viewer = CompareState(slice=2, view_rect=[1.5, 2.0, 10.0, 8.0], mode="split", high_pass=True,
                                       levels=[3.0, 180.5], line=[[1.0, 2.5], [12.0, 18.0]], rect=[1, 2, 9, 12],
                                       divider_x=7.5)
    project.save()

    back = Project.open(project.folder / PROJECT_FILE)  # the file works as well as the folder
    assert back == project
    assert back.results[0].parameters == {"tile": 64, "stride": 48, "device": "cpu"}
    assert back.stacks[1].name == "second" and back.stacks[1].dtype == "uint16"
    assert back.stacks[0].shape == [3, 16, 20] and back.results[1].slices == [0, 1]
    assert back.absolute(back.result(r1.id)) == path
    assert back.results[0].path == f"results/{path.name}"  # stored relative
    assert back.view.viewer.to_dict()["view_rect"] == [1.5, 2.0, 10.0, 8.0] and back.view.viewer.mode == "split"


def test_moved_project_folder_still_finds_results(tmp_path, project):
    s = project.add_stack(make_meta(tmp_path / "in.tif"))
    r = project.add_result(s.id, write_result(project, s.id), "filter", "median")
    project.save()
    moved = tmp_path / "moved"
    os.rename(project.folder, moved)
    back = Project.open(moved)
    assert back.absolute(back.result(r.id)).read_bytes() == b"result"


def test_save_is_atomic_and_keeps_backup(project):
    project.save()
    first = (project.folder / PROJECT_FILE).read_text()
    project.name = "renamed"
    project.save()
    assert json.loads((project.folder / "project.json.bak").read_text())["name"] == json.loads(first)["name"]
    assert json.loads((project.folder / PROJECT_FILE).read_text())["name"] == "renamed"
    assert sorted(p.name for p in project.folder.iterdir()) == ["project.json", "project.json.bak",
                                                                 "results"]


def test_failed_save_is_input_error_and_changes_nothing(tmp_path, project):
    before = (project.folder / PROJECT_FILE).read_text()
    (project.folder / "project.json.bak").mkdir()  # the backup cannot be replaced: an OSError
    project.name = "renamed"
    with pytest.raises(InputError, match="cannot save the project"):
        project.save()
    assert (project.folder / PROJECT_FILE).read_text() == before
    assert [p.name for p in project.folder.iterdir() if p.name.endswith(".tmp")] == []
    gone = Project.create(tmp_path / "gone")
    os.rename(gone.folder, tmp_path / "elsewhere")
    with pytest.raises(InputError, match="no longer exists"):
        gone.save()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions, not root")
def test_save_to_readonly_folder_is_input_error(project):
    os.chmod(project.folder, 0o555)
    try:
        with pytest.raises(InputError, match="cannot save the project"):
            project.save()
    finally:
        os.chmod(project.folder, 0o755)


def test_open_errors(tmp_path, project):
    with pytest.raises(InputError, match="does not exist"):
        Project.open(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not an EMDenoise project"):
        Project.open(tmp_path / "empty")
    (project.folder / PROJECT_FILE).write_text("{ not json")
    with pytest.raises(InputError, match="project.json.*not valid JSON.*no backup beside it"):
        Project.open(project.folder)
    (project.folder / "project.json.bak").write_text("{}")  # a project saved twice has one
    with pytest.raises(InputError, match="project.json.*not valid JSON.*restore project.json.bak"):
        Project.open(project.folder)
    (project.folder / "project.json.bak").unlink()
    (project.folder / PROJECT_FILE).write_text('{"name": "npm package"}')
    with pytest.raises(InputError, match="not an EMDenoise project file"):
        Project.open(project.folder)


def edit(project, change):
    """Apply ``change`` to the saved JSON dict and write it back."""
    file = project.folder / PROJECT_FILE
    data = json.loads(file.read_text())
    change(data)
    file.write_text(json.dumps(data))


def test_newer_version_says_update(project):
    edit(project, lambda d: d.update(version=PROJECT_VERSION + 1))
    with pytest.raises(InputError, match=f"newer EMDenoise \\(version {PROJECT_VERSION + 1}.*update the app"):
        Project.open(project.folder)


def test_missing_and_ill_typed_fields_are_named(tmp_path, project):
    s = project.add_stack(make_meta(tmp_path / "in.tif"))
    project.add_result(s.id, write_result(project, s.id), "filter", "median")
    project.view.viewer = CompareState(view_rect=[0.0, 0.0, 20.0, 16.0], line=[[1.0, 1.0], [5.0, 9.0]])
    project.save()
    original = (project.folder / PROJECT_FILE).read_text()
    cases = [
        (lambda d: d.pop("version"), "'version' is missing"),
        (lambda d: d["stacks"][0].pop("shape"), r"'stacks\[0\].shape' is missing"),
        (lambda d: d["stacks"][0].update(shape=[3, "y", 20]), r"'stacks\[0\].shape' must be"),
        (lambda d: d["results"][0].update(kind="magic"), r"'results\[0\].kind' must be"),
        (lambda d: d["results"][0].update(path="../elsewhere.tif"), r"'results\[0\].path' must be"),
        (lambda d: d["results"][0].update(stack_id="s9"), r"'results\[0\].stack_id' must be"),
        (lambda d: d["view"].update(slice_index=True), r"'view.slice_index' must be"),
        (lambda d: d["view"]["viewer"].update(mode="side-by-side"), r"'view.viewer.mode' must be 'side_by_side'"),
        (lambda d: d["view"]["viewer"].update(levels=[9, 1]), r"'view.viewer.levels' must be \[lo, hi\]"),
        (lambda d: d["view"]["viewer"].update(view_rect=[0, 0, 0, 5]), r"'view.viewer.view_rect' must be"),
        (lambda d: d["view"]["viewer"].update(line=[[1, 2], [3]]), r"'view.viewer.line\[1\]' must be"),
        (lambda d: d["view"]["viewer"].update(high_pass="yes"), r"'view.viewer.high_pass' must be true or false"),
        (lambda d: d["view"]["viewer"].pop("divider_x"), r"'view.viewer.divider_x' is missing"),
        (lambda d: d["view"]["viewer"].update(version=2), r"'view.viewer.version' must be"),
        # a region's result: its region cut the original in the viewer, with a traceback when malformed
        (lambda d: d["results"][0]["parameters"].update(region=[0, 10]), r"'results\[0\].parameters.region' must be"),
        (lambda d: d["results"][0]["parameters"].update(region=[None, 1, 2, 3]),
         r"'results\[0\].parameters.region' must be"),
        (lambda d: d["results"][0]["parameters"].update(region=[5, 2, 0, 4]),
         r"'results\[0\].parameters.region' must be \[y0, y1, x0, x1\] px"),
    ]
    for change, message in cases:
        (project.folder / PROJECT_FILE).write_text(original)
        edit(project, change)
        with pytest.raises(InputError, match=message) as info:
            Project.open(project.folder)
        assert PROJECT_FILE in str(info.value)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_not_a_number_in_the_file_is_refused_at_open(tmp_path, project, constant):
    """Python's reader took NaN; every save then failed ('Out of range float values are not JSON compliant')
    and all the session's work was lost at closing (project audit, 2026-12-06)."""
    project.add_stack(make_meta(tmp_path / "in.tif"))
    project.save()
    file = project.folder / PROJECT_FILE
    file.write_text(file.read_text().replace('"format"', f'"voxel_note": {constant}, "format"', 1))
    with pytest.raises(InputError, match=f"holds {constant} \\(written by hand\\?\\), which JSON does not allow"):
        Project.open(project.folder)


def test_a_renamed_project_folder_is_not_made_again_for_a_result(tmp_path, project):
    """The results folder was made with its parents: the project's old folder came back with a result
    in it, and the renamed folder (the user's) never got it (project audit, 2026-12-06)."""
    s = project.add_stack(make_meta(tmp_path / "in.tif"))
    project.save()
    project.folder.rename(tmp_path / "renamed")
    with pytest.raises(InputError, match="the project folder no longer exists"):
        project.result_path(s.id, "median")
    assert not project.folder.exists()


def test_view_state_round_trip_is_the_compare_views_dict(project):
    state = {"version": 1, "slice": 3, "view_rect": [10.0, 20.0, 300.0, 200.0], "mode": "blink",
             "high_pass": False, "residual": True, "line_tool": True, "rect_tool": False,
             "levels": [-20.0, 25.0], "line": [[40.0, 30.0], [200.0, 260.0]], "rect": [100, 120, 140, 180],
             "divider_x": 260.0}
    record = CompareState.from_dict(state)
    assert record.to_dict() == state and COMPARE_MODES == ("side_by_side", "split", "blink")
    project.view.viewer = record
    project.save()
    saved = json.loads((project.folder / PROJECT_FILE).read_text())["view"]
    assert saved["viewer"] == state and not {"rect", "toggles", "contrast"} & set(saved)
    assert Project.open(project.folder).view.viewer == record
    assert CompareState.from_dict(CompareState().to_dict()) == CompareState()  # the defaults are valid


def test_old_view_with_toggles_still_opens(tmp_path, project):
    s = project.add_stack(make_meta(tmp_path / "in.tif"))
    project.save()
    old_view = {"stack_id": s.id, "result_id": None, "slice_index": 1, "rect": None,
                "toggles": {"high_pass": False, "residual": False, "mode": "side-by-side"},
                "contrast": [3.0, 180.0], "viewer": {}}
    edit(project, lambda d: d.update(view=old_view))
    back = Project.open(project.folder)
    assert back.view.stack_id == s.id and back.view.slice_index == 1 and back.view.viewer is None
    state = CompareState(slice=1, mode="split").to_dict()
    edit(project, lambda d: d.update(view=dict(old_view, viewer=state)))
    assert Project.open(project.folder).view.viewer == CompareState(slice=1, mode="split")


def test_add_same_stack_twice_gives_one_record(tmp_path, project):
    meta = make_meta(tmp_path / "in.tif")
    first = project.add_stack(meta)
    assert project.add_stack(meta) is first and len(project.stacks) == 1
    if os.name == "posix":  # the same file reached through a link is the same stack
        os.symlink(tmp_path / "in.tif", tmp_path / "link.tif")
        with open_stack(tmp_path / "link.tif") as stack:
            assert project.add_stack(stack.meta) is first
    other = project.add_stack(make_meta(tmp_path / "other.tif"))
    assert (first.id, other.id) == ("s1", "s2") and first.name == "in.tif"


def test_add_stacks_knows_links_and_reads_each_file_once(tmp_path, project, monkeypatch):
    first = project.add_stack(make_meta(tmp_path / "in.tif"))
    if os.name == "posix":  # a hard link is the same file under another name
        os.link(tmp_path / "in.tif", tmp_path / "hard.tif")
    metas = [make_meta(tmp_path / f"m{i}.tif") for i in range(40)]
    if os.name == "posix":
        with open_stack(tmp_path / "hard.tif") as stack:
            metas.append(stack.meta)
    metas.append(metas[3])  # the same file twice in one drop
    calls = []
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: calls.append(p) or real_stat(p, *a, **k))
    records = project.add_stacks(metas)
    assert [r.id for r in records[:40]] == [f"s{i}" for i in range(2, 42)]
    assert records[-1] is records[3] and len(project.stacks) == 41
    if os.name == "posix":
        assert records[-2] is first
    # identity by inode costs a stat per file, not one per file and stack (quadratic: 500 TIFFs took 10 s)
    assert len(calls) <= 4 * len(project.stacks), len(calls)  # the old loop: over 1,600


def test_result_path_follows_the_pattern_and_never_collides(tmp_path, project):
    s = project.add_stack(make_meta(tmp_path / "my cells.tif"))
    paths = [write_result(project, s.id, "n2v / fine-tuned*") for _ in range(3)]
    assert [p.name for p in paths] == ["my_cells_n2v_fine-tuned.tif", "my_cells_n2v_fine-tuned_2.tif",
                                       "my_cells_n2v_fine-tuned_3.tif"]
    # a recorded result whose file is gone still holds its name
    project.add_result(s.id, project.result_path(s.id, "x"), "filter", "median")
    assert project.result_path(s.id, "x").name == "my_cells_x_2.tif"
    paths[1].unlink()
    fresh = project.result_path(s.id, "n2v / fine-tuned*")
    assert fresh.name == "my_cells_n2v_fine-tuned_2.tif" and not fresh.exists()  # free again: never recorded
    assert project.is_inside(fresh) and fresh.parent == project.folder / "results"
    assert project.result_path(s.id, "../../evil", suffix="mrc").parent == project.folder / "results"
    # the user's pattern and folder; a batch's names handed out but not written yet are taken too
    out = tmp_path / "elsewhere"
    out.mkdir()
    first = project.result_path(s.id, "bm3d", ".mrc", out, "{method}-{stem}")
    assert first == out / "bm3d-my_cells.mrc"
    assert project.result_path(s.id, "bm3d", ".mrc", out, "{method}-{stem}", exclude=[first]).name == \
        "bm3d-my_cells_2.mrc"
    with pytest.raises(InputError, match="does not exist"):
        project.result_path(s.id, "bm3d", ".mrc", tmp_path / "gone")
    (tmp_path / "a file").write_text("x")  # was called a folder that does not exist
    with pytest.raises(InputError, match="is a file, not a folder"):
        project.result_path(s.id, "bm3d", ".mrc", tmp_path / "a file")
    assert project.result_path(s.id, "bm3d", pattern="{stem}_{date}").name.startswith("my_cells_20")
    for bad, message in (("{stem}_{colour}", "not a field"), ("{stem", "unmatched brace"), ("  ", "empty")):
        with pytest.raises(InputError, match=message):
            project.result_path(s.id, "bm3d", pattern=bad)
    with pytest.raises(InputError, match="output folder does not exist"):
        project.result_path(s.id, "bm3d", folder=tmp_path / "nowhere")


def test_results_outside_the_project_are_recorded_by_absolute_path(tmp_path, project):
    s = project.add_stack(make_meta(tmp_path / "in.tif"))
    outside = tmp_path / "out" / "in_median.tif"
    outside.parent.mkdir()
    outside.write_bytes(b"result")
    record = project.add_result(s.id, outside, "filter", "median")
    assert record.path == str(outside) and record.outside and project.absolute(record) == outside
    inside = project.add_result(s.id, write_result(project, s.id), "filter", "median")
    assert inside.path == "results/in_bm3d.tif" and not inside.outside
    project.save()
    back = Project.open(project.folder)
    assert back.absolute(back.result(record.id)).read_bytes() == b"result"
    with pytest.raises(InputError, match="is already a result of this project"):
        project.add_result(s.id, outside, "filter", "median")


def test_add_result_refuses_folders_and_inputs(tmp_path, project):
    s = project.add_stack(make_meta(tmp_path / "in.tif"))
    for folder in (project.folder / "results", tmp_path):
        with pytest.raises(InputError, match="is a folder"):
            project.add_result(s.id, folder, "filter", "median")
    assert not project.is_inside(tmp_path / "out.tif") and project.is_inside("results/a.tif")
    inner = project.add_stack(make_meta(project.folder / "results" / "inner.tif"))
    with pytest.raises(InputError, match="is the input stack"):
        project.add_result(s.id, project.folder / "results" / "inner.tif", "filter", "median")
    with pytest.raises(InputError, match="is the input stack"):
        project.add_result(s.id, tmp_path / "in.tif", "filter", "median")
    with pytest.raises(InputError, match="slices"):
        project.add_result(inner.id, "results/a.tif", "filter", "median", slices=(0, 5))
    assert project.results == []


def test_an_ome_zarr_store_is_a_result(tmp_path, project):
    from emdenoise_gui.core.io import StackWriter

    s = project.add_stack(make_meta(tmp_path / "in.tif"))
    path = project.result_path(s.id, "median", ".zarr")
    with StackWriter(path, (3, 16, 20), np.uint8) as writer:
        for z in range(3):
            writer.write(z, np.zeros((16, 20), np.uint8))
        writer.commit()
    record = project.add_result(s.id, path, "filter", "median")
    assert record.path == f"results/{path.name}" and path.name.endswith(".zarr")


def test_remove_result_forgets_the_record_only(tmp_path, project):
    s = project.add_stack(make_meta(tmp_path / "in.tif"))
    kept, gone = (project.add_result(s.id, write_result(project, s.id), "filter", "median") for _ in range(2))
    project.view.result_id = gone.id
    assert project.remove_result(gone.id) is gone
    assert project.results == [kept] and project.view.result_id is None
    assert project.absolute(gone).exists()  # deleting the file is the caller's, after asking
    with pytest.raises(KeyError):
        project.remove_result(gone.id)


def test_save_as_continues_in_a_new_folder_keeping_stacks_results_and_view(tmp_path, project):
    s = project.add_stack(make_meta(tmp_path / "in.tif"))
    r = project.add_result(s.id, write_result(project, s.id), "filter", "median")
    project.view.stack_id, project.view.result_id = s.id, r.id
    project.view.viewer = CompareState(slice=2, mode="blink")
    project.save()
    moved = project.save_as(tmp_path / "writable")
    assert moved.folder == (tmp_path / "writable").resolve() and moved.name == project.name
    back = Project.open(moved.folder)
    assert back.stacks == project.stacks and back.view == project.view
    assert back.absolute(back.result(r.id)) == project.absolute(r)  # the result file stayed where it was
    assert back.result_path(s.id, "gauss").parent == moved.folder / "results"  # new results go to the new folder
    assert project.folder.joinpath(PROJECT_FILE).read_text() != ""  # the old record is untouched
    with pytest.raises(InputError, match="already holds a project"):
        project.save_as(moved.folder)


def test_remove_stack_drops_its_results_but_not_files(tmp_path, project):
    a = project.add_stack(make_meta(tmp_path / "a.tif"))
    b = project.add_stack(make_meta(tmp_path / "b.tif"))
    ra = [project.add_result(a.id, write_result(project, a.id), "filter", "median") for _ in range(2)]
    rb = project.add_result(b.id, write_result(project, b.id), "filter", "median")
    project.view.stack_id, project.view.result_id = a.id, ra[0].id
    removed = project.remove_stack(a.id)
    assert removed == ra and project.results == [rb] and project.stacks == [b]
    assert all(project.absolute(r).exists() for r in ra) and (tmp_path / "a.tif").exists()
    assert project.view.stack_id is None and project.view.result_id is None
    with pytest.raises(KeyError):
        project.stack(a.id)


def test_missing_input_is_kept_and_reported(tmp_path, project):
    gone = project.add_stack(make_meta(tmp_path / "gone.tif"))
    project.add_stack(make_meta(tmp_path / "here.tif"))
    project.save()
    (tmp_path / "gone.tif").unlink()
    back = Project.open(project.folder)
    assert len(back.stacks) == 2
    assert back.missing_inputs() == [gone]


def test_recent_projects_order_dedup_and_max(tmp_path, home):
    folders = [Project.create(tmp_path / f"p{i}").folder for i in range(12)]
    for folder in folders:
        assert remember_project(folder)
    remember_project(folders[3])  # already listed: moves to the front, no duplicate
    assert recent_projects() == [folders[i] for i in (3, 11, 10, 9, 8, 7, 6, 5, 4, 2)]
    remember_project(folders[0])  # had fallen off the end: comes back first
    assert recent_projects() == [folders[i] for i in (0, 3, 11, 10, 9, 8, 7, 6, 5, 4)]
    assert (home / "recent.json").is_file()
    assert [p for p in home.iterdir() if p.suffix == ".tmp"] == []


def test_recent_projects_skip_deleted_and_tolerate_corruption(tmp_path, home):
    a, b = Project.create(tmp_path / "a").folder, Project.create(tmp_path / "b").folder
    remember_project(a)
    remember_project(b)
    (b / PROJECT_FILE).unlink()
    (b / "results").rmdir()
    b.rmdir()
    assert recent_projects() == [a]
    for junk in ("{ broken", '{"not": "a list"}', "[1, null, \"\"]", "\x00\xff"):
        (home / "recent.json").write_text(junk, encoding="latin-1")
        assert recent_projects() == []
    assert remember_project(a) and recent_projects() == [a]


def test_recent_projects_skip_folders_that_cannot_be_looked_into(tmp_path, home):
    """A folder without permission or a name too long made ``is_file`` raise: File ▸ Recent Projects showed
    a traceback every time it opened (audit of 2026-12-06). Root ignores permissions, so the name is used."""
    a = Project.create(tmp_path / "a").folder
    remember_project(a)
    entries = json.loads((home / "recent.json").read_text())
    (home / "recent.json").write_text(json.dumps([str(tmp_path / ("x" * 300))] + entries))
    assert recent_projects() == [a]
    assert recent_projects() == recent_projects()  # reading changes nothing


def test_an_ome_zarr_store_folder_is_not_a_missing_input(tmp_path):
    """A store is a folder: `is_file` called every OME-Zarr stack missing (greyed out, no thumbnail)."""
    from types import SimpleNamespace

    from emdenoise_gui.project.project import Project

    project = Project.create(tmp_path / "p")
    store = tmp_path / "stack.zarr"
    store.mkdir()
    project.stacks.append(SimpleNamespace(path=str(store)))  # missing_inputs reads a record's path only
    assert project.missing_inputs() == []
    store.rmdir()
    assert len(project.missing_inputs()) == 1


def test_a_nested_project_file_and_a_lone_backup_are_refused_in_words(tmp_path):
    """A project.json nested 200,000 deep raised RecursionError out of open; New Project in a folder whose
    project.json was deleted but whose backup remained replaced that last copy at its second save."""
    project = Project.create(tmp_path / "p")
    project.file.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(InputError, match="not valid JSON"):
        Project.open(project.folder)
    project.save()  # a good project.json again (over the damaged one) ...
    project.name = "renamed"
    project.save()  # ... and a project.json.bak beside it
    project.file.unlink()
    with pytest.raises(InputError, match="project.json.bak, the backup"):
        Project.create(project.folder)


def test_two_windows_on_one_project_never_lose_each_others_records(tmp_path):
    """Each saved its own copy over the other's: the stacks one window added were gone (project audit)."""
    first = Project.create(tmp_path / "p")
    second = Project.open(first.folder)
    second.name = "changed in the second window"
    second.save()
    first.save()  # nothing changed in the first: the second's version stands
    assert Project.open(first.folder).name == "changed in the second window" and first.other_kept is None
    first.name = "changed in the first window"
    first.save()  # both changed: the first's is saved, the second's kept beside it
    assert first.other_kept is not None and first.other_kept.parent == first.folder
    assert json.loads(first.other_kept.read_text())["name"] == "changed in the second window"
    assert Project.open(first.folder).name == "changed in the first window"
    first.save()  # written by this object last: no conflict
    assert first.other_kept is None


def test_two_windows_keep_each_others_new_stacks_and_results(tmp_path):
    """Each window denoised a stack into the same project; the last to save wrote only its own result, and the
    other's was left unrecorded in results/ (project audit 2026-12-06). Ids that clash are renumbered."""
    first = Project.create(tmp_path / "p")
    shared = first.add_stack(make_meta(tmp_path / "in" / "shared.tif"))
    first.save()
    second = Project.open(first.folder)
    mine = first.add_result(shared.id, write_result(first, shared.id, "median"), "filter", "median")
    only_first = first.add_stack(make_meta(tmp_path / "in" / "first.tif"))
    theirs = second.add_result(shared.id, write_result(second, shared.id, "gaussian"), "filter", "gaussian")
    only_second = second.add_stack(make_meta(tmp_path / "in" / "second.tif"))
    second.add_result(only_second.id, write_result(second, only_second.id, "bm3d"), "filter", "bm3d")
    assert (mine.id, only_first.id) == (theirs.id, only_second.id) == ("r1", "s2")  # the same ids for other records
    second.save()
    first.save()
    assert first.merged == 3 and first.other_kept is None  # the second only added: nothing of it to keep aside
    again = Project.open(first.folder)
    stacks = {s.id: Path(s.path).name for s in again.stacks}
    assert sorted(stacks.values()) == ["first.tif", "second.tif", "shared.tif"] and len(stacks) == 3
    results = sorted((r.path, stacks[r.stack_id]) for r in again.results)
    assert results == [("results/second_bm3d.tif", "second.tif"), ("results/shared_gaussian.tif", "shared.tif"),
                       ("results/shared_median.tif", "shared.tif")]
    assert len({r.id for r in again.results}) == 3


def test_additions_by_another_writer_are_taken_in_and_saved_quietly(tmp_path):
    """``emdenoise denoise --project`` adds a stack and a result while the app has the project open: the app
    takes them in (its watcher) without a "changed elsewhere" copy; a change beyond additions is not taken
    in that way, and the save keeps the other version beside ours as before."""
    app = Project.create(tmp_path / "p")
    kept = app.add_stack(make_meta(tmp_path / "in" / "kept.tif"))
    app.save()
    cli = Project.open(app.folder)
    new = cli.add_stack(make_meta(tmp_path / "in" / "new.tif"))
    cli.add_result(new.id, write_result(cli, new.id, "median"), "filter", "median")
    cli.save()
    assert app.take_in_additions() == 2 and app.take_in_additions() == 0
    assert [Path(s.path).name for s in app.stacks] == ["kept.tif", "new.tif"]
    assert [r.path for r in app.results] == ["results/new_median.tif"]
    app.add_result(kept.id, write_result(app, kept.id, "gaussian"), "filter", "gaussian")
    app.save()
    assert app.other_kept is None and len(Project.open(app.folder).results) == 2
    cli = Project.open(app.folder)  # the same again, with a result added on both sides: merged, nothing kept
    cli.add_result(kept.id, write_result(cli, kept.id, "bm3d"), "filter", "bm3d")
    cli.save()
    app.add_result(new.id, write_result(app, new.id, "wiener"), "filter", "wiener")
    app.save()
    assert app.merged == 1 and app.other_kept is None and len(Project.open(app.folder).results) == 4
    other = Project.open(app.folder)
    other.name = "renamed elsewhere"
    other.add_stack(make_meta(tmp_path / "in" / "third.tif"))
    other.save()
    assert app.take_in_additions() == 0  # a rename too: left to the save, which keeps the other version
    app.name = "renamed here"
    app.save()
    assert app.merged == 1 and app.other_kept is not None


def test_fields_of_a_later_version_survive_open_change_and_save(tmp_path, project):
    """A later EMDenoise may add fields to the same file version; opening, changing and saving the project
    here (and Save As) keeps them instead of dropping them."""
    s1 = project.add_stack(make_meta(tmp_path / "in" / "a.tif"))
    project.add_result(s1.id, write_result(project, s1.id), "filter", "gaussian")
    project.save()
    data = json.loads(project.file.read_text())
    data["notes"] = {"text": "grid 3, good ice"}
    data["stacks"][0]["colour"] = "#ff8800"
    data["results"][0]["score"] = [31.2, 0.91]
    data["view"]["layout"] = "grid"
    data["view"]["viewer"] = {**CompareState().to_dict(), "colour_map": "magma"}
    project.file.write_text(json.dumps(data))
    opened = Project.open(project.folder)
    opened.add_stack(make_meta(tmp_path / "in" / "b.tif"))
    opened.save()
    for folder in (project.folder, opened.save_as(tmp_path / "elsewhere").folder):
        again = json.loads((folder / PROJECT_FILE).read_text())
        assert again["notes"] == {"text": "grid 3, good ice"}
        assert again["stacks"][0]["colour"] == "#ff8800" and "colour" not in again["stacks"][1]
        assert again["results"][0]["score"] == [31.2, 0.91]
        assert again["view"]["layout"] == "grid" and again["view"]["viewer"]["colour_map"] == "magma"
        assert again["stacks"][0]["id"] == s1.id and again["format"] == "emdenoise-project"


def test_versions_kept_in_the_same_second_each_get_a_file(tmp_path):
    """Two conflicting saves within one second both named project.other-<second>.json: the second kept
    version replaced the first (project audit 2026-12-06)."""
    first = Project.create(tmp_path / "p")
    second, third = Project.open(first.folder), Project.open(first.folder)
    kept = []
    for window, name in ((second, "second"), (first, "first"), (third, "third")):
        window.name = name
        window.save()
        kept.append(window.other_kept)
    assert kept[0] is None and None not in kept[1:] and kept[1] != kept[2]
    assert sorted(json.loads(k.read_text())["name"] for k in kept[1:]) == ["first", "second"]


def test_result_names_keep_letters_of_any_script(tmp_path, project):
    """中文.tif and 日本.tif gave stack_median and stack_median_2; Probe_ä and Probe_ö gave Probe_median and
    Probe_median_2: which result was whose could not be told (names audit, 2026-12-06)."""
    import unicodedata

    names = {}
    for stem in ("中文", "日本", "Probe_ä", unicodedata.normalize("NFD", "Probe_ö"), "a b:c", "हिन्दी"):
        record = project.add_stack(make_meta(tmp_path / f"{stem}.tif"))
        names[stem] = project.result_path(record.id, "median").name
    assert list(names.values()) == ["中文_median.tif", "日本_median.tif", "Probe_ä_median.tif", "Probe_ö_median.tif",
                                    "a_b_c_median.tif", "हिन्दी_median.tif"]  # its vowel signs kept


@pytest.mark.parametrize("how", ["create", "save_as"])
def test_a_new_project_the_disk_refuses_leaves_no_folders_behind(tmp_path, monkeypatch, how):
    """A Save As onto a full disk left an empty project folder with its results/ (audit of 2026-12-06)."""
    import errno

    from emdenoise_gui.core import atomic

    source = Project.create(tmp_path / "first")

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "write_text", full)
    target = tmp_path / "new" / "project"
    with pytest.raises(InputError):
        Project.create(target) if how == "create" else source.save_as(target)
    assert not (tmp_path / "new").exists()
    monkeypatch.undo()
    assert source.save_as(target).file.is_file()  # a retry works


def test_a_results_folder_linked_elsewhere_holds_no_result_of_the_project(tmp_path):
    """A project received with ``results`` linked to another folder: its files there were deleted as the
    project's results, and a new result written there was an internal error (untrusted-input audit)."""
    project = Project.create(tmp_path / "p")
    stack = project.add_stack(make_meta(tmp_path / "in" / "a.tif"))
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "thesis_gaussian.tif").write_bytes(b"mine")
    project.results_folder.rmdir()
    project.results_folder.symlink_to(victim, target_is_directory=True)
    assert not project.is_inside("results/thesis_gaussian.tif")  # Delete Result keeps the file: not ours
    record = project.add_result(stack.id, write_result(project, stack.id, "median"), "filter", "median")
    assert record.path == str(victim.resolve() / "a_median.tif")  # recorded where it is, by its absolute path


@pytest.mark.parametrize("field, value, words", [
    ("shape", [10**400, 16, 20], "a list of 3 positive whole numbers"),
    ("voxel_size_nm", [10**400, 1.0, 1.0], "numbers"),
    ("dtype", "(1000000000,1000000000)f8", "a numpy type name of integers or floats"),
    ("dtype", "O", "a numpy type name of integers or floats"),
    ("dtype", "datetime64[ns]", "a numpy type name of integers or floats"),
])
def test_hand_edited_stack_fields_are_refused_in_words(tmp_path, project, field, value, words):
    """Each was an internal error (OverflowError, ValueError) or taken silently (untrusted-input audit)."""
    project.add_stack(make_meta(tmp_path / "in" / "a.tif"))
    project.save()
    data = json.loads(project.file.read_text())
    data["stacks"][0][field] = value
    project.file.write_text(json.dumps(data))
    with pytest.raises(InputError, match=f"stacks\\[0\\].{field}.*{words}"):
        Project.open(project.folder)


def test_an_id_of_5000_digits_does_not_stop_the_next_result(tmp_path, project):
    stack = project.add_stack(make_meta(tmp_path / "in" / "a.tif"))
    project.add_result(stack.id, write_result(project, stack.id, "median"), "filter", "median")
    project.results[0].id = "r" + "9" * 5000
    project.save()
    again = Project.open(project.folder)
    record = again.add_result(stack.id, write_result(again, stack.id, "gaussian"), "filter", "gaussian")
    assert record.id == "r1"


def test_a_save_waits_for_another_writers_lock_and_takes_over_a_killed_ones(tmp_path, monkeypatch):
    """Two writers' read-change-write interleaved: a result recorded by one was lost (project audit)."""
    import threading
    import time

    from emdenoise_gui.core import atomic
    from emdenoise_gui.project import project_file

    project = Project.create(tmp_path / "p")
    lock = project.folder / project_file.LOCK_FILE
    lock.write_text(f"{os.getppid()} {atomic.HOST} {time.time():.0f}\n")  # a live writer on this machine
    threading.Timer(0.3, lock.unlink).start()
    started = time.monotonic()
    project.name = "saved after the other writer"
    project.save()
    assert time.monotonic() - started >= 0.25 and not lock.exists()
    lock.write_text(f"{os.getppid()} {atomic.HOST} {time.time():.0f}\n")
    monkeypatch.setattr(project_file, "LOCK_WAIT_S", 0.2)
    with pytest.raises(InputError, match="another program .pid [0-9]+ on .*. has been saving this project for over 0.2 s"):
        project.save()
    lock.write_text(f"999999999 {atomic.HOST} 0\n")  # a killed writer's
    project.name = "taken over"
    project.save()
    assert Project.open(project.folder).name == "taken over" and not lock.exists()


def test_additions_by_a_writer_that_rewrote_where_stacks_are_are_taken_in(tmp_path):
    """A writer opening an older project writes each stack's relative path: the app did not take its results in
    and warned of a project changed elsewhere (audit)."""
    app = Project.create(tmp_path / "p")
    app.add_stack(make_meta(tmp_path / "in" / "a.tif"))
    app.save()
    data = json.loads(app.file.read_text())
    del data["stacks"][0]["relative"]  # as a version before relative paths wrote it
    app.file.write_text(json.dumps(data))
    app = Project.open(app.folder)
    cli = Project.open(app.folder)
    cli.add_result(cli.stacks[0].id, write_result(cli, cli.stacks[0].id, "median"), "filter", "median")
    cli.save()
    assert app.take_in_additions() == 1


def test_of_two_creators_at_once_the_second_is_refused_not_written_over_the_first(tmp_path):
    """Both had found no project.json: the second wrote an empty project over the first one's recorded result
    (review of 2026-12-06, runs of denoise --project naming one new folder)."""
    first = Project.create(tmp_path / "p")
    stack = first.add_stack(make_meta(tmp_path / "in" / "a.tif"))
    first.add_result(stack.id, write_result(first, stack.id, "median"), "filter", "median")
    first.save()
    second = Project(folder=first.folder, name="p")  # past the check of Project.create, before its first save
    with pytest.raises(InputError, match="already holds a project"):
        second._first_save([])
    assert len(Project.open(first.folder).results) == 1


def test_long_names_keep_their_end_and_the_method():
    """Settings audit: two acquisitions named alike up to their last characters got one cut name (the stack
    number lost, _2 on the other stack's result), and {date} cut the model's name to 'flyem-nr'."""
    from emdenoise_gui.project.naming import MAX_CHARS, render

    stem = "20231105_FIB-SEM_mouse-cortex_region3_8nm-iso_acquisition_stack0{}"
    names = {render("{stem}_{method}", stem.format(k), "median") for k in (1, 2)}
    assert len(names) == 2 and all(n.endswith(("stack01_median", "stack02_median")) for n in names)
    dated = [render("{date}_{stem}_{method}", stem.format(1), m) for m in ("flyem-nrrn-lite", "flyem-nrrn-base")]
    assert dated[0].endswith("stack01_flyem-nrrn-lite") and dated[1].endswith("stack01_flyem-nrrn-base")
    assert all(len(n) <= MAX_CHARS for n in [*names, *dated]) and render("{stem}", "a" * 300, "m").startswith("a")
