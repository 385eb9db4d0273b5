"""What the project audit of 2026-12-07 found: an undone Remove dropped a stack's results, or attached them to the
stack a CLI run had added under the removed one's id; `denoise -o <a stack of the project> --overwrite` wrote
over that stack; result names of 4-byte letters passed a file system's 255 bytes (an internal error); a stack
path edited to be relative was read from wherever the app was started."""

import json
import os

import pytest

from emdenoise_gui.project.identity import restore
from emdenoise_gui.project.naming import MAX_BYTES, render
from emdenoise_gui.project.project import PROJECT_FILE, Project
from tests.conftest import main
from tests.project.test_project import make_meta, write_result


def test_an_undone_remove_brings_the_stack_and_its_results_back_under_fresh_ids(tmp_path):
    project = Project.create(tmp_path / "proj")
    a = project.add_stack(make_meta(tmp_path / "a.tif"))
    b = project.add_stack(make_meta(tmp_path / "b.tif"))
    project.add_result(a.id, write_result(project, a.id, "median"), "filter", "median")
    r_b = project.add_result(b.id, write_result(project, b.id, "median"), "filter", "median")
    removed = project.remove_stack(b.id)
    c = project.add_stack(make_meta(tmp_path / "c.tif"))  # a CLI run meanwhile: it gets b's id
    r_new = project.add_result(a.id, write_result(project, a.id, "gaussian"), "filter", "gaussian")
    assert c.id == b.id and r_new.id == r_b.id  # ids count up from the largest in use
    stacks, results = restore(project, [b], removed)
    assert stacks[0].path == b.path and stacks[0].id not in (a.id, c.id)
    assert [r.stack_id for r in results] == [stacks[0].id] and results[0].id not in (r_new.id,)
    assert project.results_for(c.id) == [] and project.results_for(stacks[0].id) == results
    assert restore(project, stacks, results) == (stacks, results)  # again: nothing doubled
    assert len(project.stacks) == 3 and len(project.results) == 3


def test_a_stack_of_the_project_is_never_the_output(tmp_path, capsys):
    folder = tmp_path / "proj"
    a, b = make_meta(tmp_path / "a.tif").path, make_meta(tmp_path / "b.tif").path
    assert main(["denoise", str(b), "--project", str(folder), "--method", "median"]) == 0
    before = b.read_bytes()
    assert main(["denoise", str(a), "-o", str(b), "--overwrite", "--project", str(folder), "--method",
                 "gaussian"]) == 2
    assert "is the stack b.tif of the project" in capsys.readouterr().err and b.read_bytes() == before


def test_result_names_fit_a_file_systems_bytes():
    name = render("{stem}_{method}", "\U00020BB7" * 60, "gaussian-sure-avg")  # 4 bytes a letter
    assert len(name.encode()) <= MAX_BYTES and name.endswith("gaussian-sure-avg")


def test_a_relative_stack_path_is_read_from_the_project_folder(tmp_path, monkeypatch):
    folder = tmp_path / "proj"
    project = Project.create(folder)
    project.add_stack(make_meta(tmp_path / "data" / "a.tif"))
    project.save()
    data = json.loads((folder / PROJECT_FILE).read_text())
    data["stacks"][0]["path"] = os.path.join("..", "data", "a.tif")
    (folder / PROJECT_FILE).write_text(json.dumps(data))
    elsewhere = tmp_path / "elsewhere" / "cwd"
    elsewhere.mkdir(parents=True)
    make_meta(elsewhere.parent / "data" / "a.tif")  # another file at ../data/a.tif from there
    monkeypatch.chdir(elsewhere)
    assert Project.open(folder).stacks[0].path == str(tmp_path / "data" / "a.tif")


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))


def test_a_project_file_saved_with_a_byte_order_mark_opens(tmp_path):
    """Notepad's UTF-8 with a BOM read as a damaged file, whose fix (restore the backup) lost the edit."""
    folder = tmp_path / "proj"
    Project.create(folder, name="Mito")
    file = folder / PROJECT_FILE
    file.write_bytes(b"\xef\xbb\xbf" + file.read_bytes())
    assert Project.open(folder).name == "Mito"
    project = Project.open(folder)
    project.name = "Mito 2"
    project.save()
    assert Project.open(folder).name == "Mito 2" and not list(folder.glob("project.other-*"))
