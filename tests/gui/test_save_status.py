"""A save that fails again says why in the status line: "its folder cannot be written" was said for every failure,
another machine's lock on the project file too (project audit of 2026-12-07)."""

from emdenoise_gui.core.errors import InputError


def test_a_failed_save_says_its_own_reason(new_controller, tmp_path, monkeypatch):
    controller = new_controller()
    assert controller.new_project(tmp_path / "project")
    lines, dialogs = [], []
    controller.status.connect(lines.append)
    controller.save_failed.connect(dialogs.append)
    locked = "another program has been saving this project for 5 s (project.json.lock): try again"

    def fails():
        raise InputError(locked, tmp_path / "project")

    monkeypatch.setattr(controller.project, "save", fails)
    assert not controller.save() and not controller.save()
    assert len(dialogs) == 1 and locked in dialogs[0]
    assert lines == [f"Project not saved: {locked} (File ▸ Save Project As…)"]
