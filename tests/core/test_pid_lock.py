"""Taking over a dead lock removes that lock only, never one another waiter took meanwhile (concurrency audit of
2026-12-08: two savers took over one dead project lock, the second removed the first's live one, both saved,
and a stack was lost in 9 of 31 tries)."""

import os

from emdenoise_gui.core import atomic
from emdenoise_gui.core.pid_lock import holder, take, take_over


def dead_lock(path):
    path.write_text(f"999999 {atomic.HOST} 1000\n")  # a pid no process has, written long ago
    return holder(path)


def test_a_dead_lock_is_removed(tmp_path):
    lock = tmp_path / "project.json.lock"
    judged = dead_lock(lock)
    take_over(lock, judged)
    assert not lock.exists() and take(lock) and holder(lock)[0] == os.getpid()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project.json.lock"]  # nothing set aside is left


def test_a_lock_taken_after_it_was_judged_stays(tmp_path):
    lock = tmp_path / "project.json.lock"
    judged = dead_lock(lock)
    lock.unlink()  # another waiter took it over first ...
    assert take(lock)  # ... and holds its own now
    take_over(lock, judged)  # this waiter's late removal of what it judged dead
    assert holder(lock)[0] == os.getpid() and sorted(p.name for p in tmp_path.iterdir()) == ["project.json.lock"]
    take_over(tmp_path / "gone.lock", judged)  # removed meanwhile: nothing to do
