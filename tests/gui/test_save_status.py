"""A save that fails again says why in the status line: "its folder cannot be written" was said for every failure,
another machine's lock on the project file too (project audit of 2026-12-07)."""

from emdenoise_gui.core.errors import InputError


def test_a_failed_save_says_its_own_reason(new_controller, tmp_path, monkeypatch):
    controller = new_controller()
    assert controller.new_project(tmp_path / "project")
    lines, dialogs = [], []
    controller.status.connect(lines.append)
    controller.save_failed.connect(dialogs.append)
    locked = "cannot save the project (Permission denied); check that the folder is writable"

    def fails(wait_s=None):
        raise InputError(locked, tmp_path / "project")

    monkeypatch.setattr(controller.project, "save", fails)
    assert not controller.save() and not controller.save()
    assert len(dialogs) == 1 and locked in dialogs[0]
    assert lines == [f"Project not saved: {locked} (File ▸ Save Project As…)"]


def test_another_writers_lock_does_not_freeze_the_window(new_controller, tmp_path, qtbot, monkeypatch):
    """A killed writer's lock on another machine froze the window 5 s at every save (until the lock was 120 s
    old): the window's save waits a fraction of a second, says why in the status line, and writes the project
    once the lock is gone; no dialog."""
    import time

    from emdenoise_gui.gui import project_saving
    from emdenoise_gui.project import project_file
    from emdenoise_gui.project.project import Project

    controller = new_controller()
    assert controller.new_project(tmp_path / "project")
    lines, dialogs = [], []
    controller.status.connect(lines.append)
    controller.save_failed.connect(dialogs.append)
    lock = controller.project.folder / project_file.LOCK_FILE
    lock.write_text(f"4242 another-host {time.time():.0f}\n")  # alive as far as this machine can tell
    monkeypatch.setattr(project_saving, "RETRY_MS", 200)
    controller._save_retry.setInterval(200)
    controller.project.name = "renamed while locked"
    started = time.monotonic()
    assert not controller.save()
    assert time.monotonic() - started < 1.0
    assert not dialogs and "pid 4242 on another-host" in lines[-1] and "Trying again" in lines[-1]
    assert Project.open(controller.project.folder).name != "renamed while locked"
    lock.unlink()
    qtbot.waitUntil(lambda: Project.open(controller.project.folder).name == "renamed while locked", timeout=3000)
    assert not dialogs
