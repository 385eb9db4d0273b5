"""Results: written in the input's format and pixel type under the chosen folder and name, deleted (after a
question) or shown in the file manager from the project panel; a project that cannot be saved says so once
and continues elsewhere with File ▸ Save Project As."""

import mrcfile
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from emdenoise_gui.core.errors import InputError  # noqa: E402
from emdenoise_gui.core.io import open_stack  # noqa: E402
from emdenoise_gui.gui import reveal as reveal_module  # noqa: E402
from emdenoise_gui.gui.panels.project_panel import REVEAL_TEXT  # noqa: E402
from emdenoise_gui.project.project import Project  # noqa: E402
from tests.gui.test_main_window import drop, wait_for  # noqa: E402


@pytest.fixture
def mrc(tmp_path):
    """A 3 x 48 x 40 uint16 MRC stack (seeded noise around 1000 grey values)."""
    data = np.random.default_rng(3).normal(1000, 50, (3, 48, 40)).clip(0, 65535).astype(np.uint16)
    path = tmp_path / "tomo.mrc"
    with mrcfile.new(path) as out:
        out.set_data(data)
    return path


def denoise_with(window, qtbot, stack, method="filter:median"):
    drop(window, [stack])
    window.zoo_panel.select(method)
    window.project_panel.tree.setCurrentItem(window.project_panel.tree.topLevelItem(0))
    wait_for(qtbot, window.denoise_current())
    return window.controller.project.results[-1]


def test_an_mrc_input_gives_an_mrc_result_of_its_own_type_named_stem_method(window, qtbot, mrc):
    result = denoise_with(window, qtbot, mrc)
    project = window.controller.project
    output = project.absolute(result)
    assert output == project.folder / "results" / "tomo_median.mrc"
    with open_stack(output) as stack:
        assert stack.dtype == np.uint16 and len(stack) == 3  # not a float32 TIFF twice the size
    assert result.parameters["dtype"] == "uint16"
    second = denoise_with(window, qtbot, mrc)
    assert project.absolute(second).name == "tomo_median_2.mrc"  # never overwritten


def test_output_folder_and_name_pattern_from_settings(window, qtbot, mrc, tmp_path):
    out = tmp_path / "elsewhere"
    out.mkdir()
    settings = window.controller.settings
    settings.output_folder, settings.name_pattern = str(out), "{method}-{stem}"
    settings.output_format, settings.output_dtype = ".tif", "float32"
    result = denoise_with(window, qtbot, mrc)
    assert window.controller.project.absolute(result) == out / "median-tomo.tif" and result.outside
    with open_stack(out / "median-tomo.tif") as stack:
        assert stack.dtype == np.float32
    settings.name_pattern = "{nonsense}"  # refused with a message, nothing runs
    assert window.denoise_current() is None and "not a field" in window.warnings[-1][1]


def result_item(window):
    return window.project_panel.tree.topLevelItem(0).child(0)


def test_delete_and_reveal_a_result_from_the_project_panel(window, qtbot, mrc, monkeypatch):
    result = denoise_with(window, qtbot, mrc)
    project = window.controller.project
    output = project.absolute(result)
    window.show_result(result.id)
    shown = []
    monkeypatch.setattr(reveal_module, "reveal", lambda path: shown.append(path) or True)
    menu = window.project_panel.context_menu(result_item(window))
    actions = {a.text(): a for a in menu.actions() if a.text()}
    assert set(actions) == {"Details…", REVEAL_TEXT, "Delete result…"}
    actions[REVEAL_TEXT].trigger()
    assert shown == [output]
    asked = []
    monkeypatch.setattr(window, "confirm_delete", lambda path, why: asked.append((path, why)) or False)  # Keep
    actions["Delete result…"].trigger()
    assert asked == [(output, "")] and output.exists() and project.results == [result]
    monkeypatch.setattr(window, "confirm_delete", lambda path, why: True)
    actions["Delete result…"].trigger()
    assert not output.exists() and project.results == []
    assert Project.open(project.folder).results == []  # saved
    assert window.project_panel.tree.topLevelItem(0).childCount() == 0
    stack_menu = window.project_panel.context_menu(window.project_panel.tree.topLevelItem(0))
    assert "Delete result…" not in [a.text() for a in stack_menu.actions()]
    assert mrc.exists()  # the input is never touched


def test_delete_result_never_deletes_a_file_that_is_not_only_this_results(window, qtbot, mrc, tmp_path):
    """A result path edited to point at the input (or any file) was deleted with the result; so was another
    project's file after Save As, and a result file also added as a stack (found by the project audit)."""
    import json

    result = denoise_with(window, qtbot, mrc)
    c = window.controller
    folder = c.project.folder
    c.close_project()
    data = json.loads((folder / "project.json").read_text())
    data["results"][0]["path"] = str(mrc)  # the input stack, absolute
    (folder / "project.json").write_text(json.dumps(data))
    assert c.open_project(folder)
    from emdenoise_gui.gui.dialogs import delete_question

    box = delete_question(window, mrc, c.kept_file_reason(c.find_result(result.id)))  # what the user is asked
    assert box.text().startswith("Remove the result") and "stays on disk" in box.informativeText()
    assert c.delete_result(result.id) and mrc.exists() and c.project.results == []
    assert window.warnings[-1][0] == "Result removed, file kept" and "outside this project" in window.warnings[-1][1]
    again = denoise_with(window, qtbot, mrc)
    output = c.project.absolute(again)
    c.add_paths([output])  # the result file is now a stack of the project too
    assert c.delete_result(again.id) and output.exists()
    assert "is also the stack" in window.warnings[-1][1]


def test_an_unsaveable_project_says_so_once_and_continues_elsewhere(window, qtbot, tmp_path, monkeypatch, mrc):
    project = window.controller.project
    blocked = project.folder
    save = Project.save

    def read_only(self, wait_s=None):
        if self.folder == blocked:
            raise InputError("cannot save the project (Read-only file system); check that the folder is "
                             "writable and the disk is not full", self.folder)
        save(self, wait_s)

    monkeypatch.setattr(Project, "save", read_only)
    offered = []
    monkeypatch.setattr(window, "offer_save_as", offered.append)
    drop(window, [mrc])  # a change: saved (and failing)
    for _ in range(3):  # every click saves the view
        window._store_view()
    assert len(offered) == 1 and "Read-only" in offered[0]
    assert "not saved" in window.statusBar().currentMessage()
    assert window.controller.save_project_as(tmp_path / "writable")
    moved = window.controller.project
    assert moved.folder == (tmp_path / "writable").resolve() and [s.name for s in moved.stacks] == ["tomo.mrc"]
    assert window.controller.save()
    assert Project.open(tmp_path / "writable").stacks[0].path == str(mrc)
    assert len(offered) == 1 and "continues in" in window.statusBar().currentMessage()
    assert any(a.text() == "Save Project &As…" for a in window.menuBar().actions()[0].menu().actions())


def test_the_contrast_set_is_kept_between_results_of_one_stack(window, qtbot, mrc, tmp_path):
    """Showing another result of the same stack reset the contrast to automatic (viewer audit): two denoisers
    could not be compared at the contrast the user chose. Another stack still starts at its own."""
    first = denoise_with(window, qtbot, mrc)
    second = denoise_with(window, qtbot, mrc, "filter:gaussian")
    window.show_result(first.id)
    window.viewer.set_levels(980.0, 1020.0)
    window.show_result(second.id)
    assert window.viewer.levels() == pytest.approx((980.0, 1020.0))
    window.show_stack(window.controller.project.stacks[0].id)
    assert window.viewer.levels() == pytest.approx((980.0, 1020.0))
    other = tmp_path / "other.mrc"
    with mrcfile.new(other) as out:
        out.set_data(np.full((3, 48, 40), 7, np.uint16) + np.arange(40, dtype=np.uint16))
    drop(window, [other])
    window.show_stack(window.controller.project.stacks[-1].id)
    assert window.viewer.levels()[1] < 100  # its own automatic contrast
    # the zoo grades the new stack on a thread of its own: let it end (it may take seconds on a busy machine)
    qtbot.waitUntil(lambda: not any(t.is_alive() for t in window.zoo_panel._threads), timeout=60000)


def test_remove_with_a_result_selected_asks_to_delete_that_result_only(window, qtbot, mrc, monkeypatch):
    """Remove with a result selected removed its whole stack and every result of it, without a word (help audit)."""
    result = denoise_with(window, qtbot, mrc)
    panel, project = window.project_panel, window.controller.project
    panel.tree.setCurrentItem(result_item(window))
    asked = []
    monkeypatch.setattr(window, "confirm_delete", lambda path, why: asked.append(path) or False)  # Keep
    panel.remove_button.click()
    assert asked == [project.absolute(result)] and len(project.stacks) == 1 and project.results == [result]
    panel.tree.setCurrentItem(panel.tree.topLevelItem(0))
    panel.remove_button.click()
    assert project.stacks == []  # a stack selected: removed (Edit ▸ Undo brings it back)
