"""One training at a time per model package (audit of 2026-12-06: two runs of one -o shared a checkpoint
folder, each saving over the other's, and the second to save crashed with an internal error)."""

from __future__ import annotations

import os

import pytest

from emdenoise_gui.core import atomic
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.events import Finished, Started
from emdenoise_gui.training.engine import train
from emdenoise_gui.training.run_lock import lock_path
from tests.training.conftest import tiny_spec


def test_a_second_run_of_one_package_is_refused_while_the_first_runs(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    first = train(tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches))
    assert isinstance(next(first), Started)  # running, its lock held
    lock = lock_path(tmp_path / "n2v_pkg")
    assert lock.read_text().split()[:2] == [str(os.getpid()), atomic.HOST]
    with pytest.raises(InputError, match="another training is writing this model now") as refused:
        next(train(tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, seed=5)))
    assert str(lock) in str(refused.value)
    events = list(first)
    assert isinstance(events[-1], Finished) and events[-1].package and not lock.exists()
    with pytest.raises(InputError, match="already exists"):  # and the next one finds the package
        next(train(tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches)))


def test_a_stopped_run_lets_its_lock_go(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    run = train(tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches))
    next(run)
    run.close()  # the app's Stop, an exception, Ctrl-C
    assert not lock_path(tmp_path / "n2v_pkg").exists()


def test_a_killed_runs_lock_is_taken_over_another_machines_is_not(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    lock = lock_path(tmp_path / "n2v_pkg")
    lock.write_text(f"999999999 {atomic.HOST} 0\n")  # this machine's, its process gone (kill -9)
    assert isinstance(next(train(tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches))), Started)
    lock.write_text("999999999 another-node 0\n")  # a shared folder: no one here can see that process
    with pytest.raises(InputError, match="another-node") as refused:
        next(train(tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches)))
    assert f"delete {lock}" in str(refused.value)


def test_a_package_folder_that_is_a_file_says_so(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    (tmp_path / "models").write_text("a file")
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, output=str(tmp_path / "models" / "x"))
    with pytest.raises(InputError, match="is a file, not a folder"):
        next(train(spec))


def test_a_lock_that_could_not_be_written_is_not_left_behind(tmp_path, fibsem_crop, noisy_crop, noise_patches,
                                                             monkeypatch):
    """A full disk while writing the lock left an empty one that refused every later run (review of 2026-12-06);
    an unreadable lock older than a minute is a dead run's."""
    import errno

    from emdenoise_gui.training import run_lock

    real_fdopen = os.fdopen

    def full(fd, *args, **kwargs):
        handle = real_fdopen(fd, *args, **kwargs)
        handle.write = lambda text: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device"))
        return handle

    monkeypatch.setattr(run_lock.os, "fdopen", full)
    with pytest.raises(InputError, match="the disk is full"):  # one line, no longer a raw OSError
        next(train(tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches)))
    lock = lock_path(tmp_path / "n2v_pkg")
    assert not lock.exists()
    monkeypatch.setattr(run_lock.os, "fdopen", real_fdopen)
    lock.write_text("")
    os.utime(lock, (0, 0))  # written long ago by a run that died before writing its pid
    assert isinstance(next(train(tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches))), Started)


def test_two_longer_runs_of_one_finished_run_do_not_share_its_checkpoint(tmp_path, fibsem_crop, noisy_crop,
                                                                          noise_patches):
    """Two resumes of a finished run to 9 and 12 steps wrote two packages but one checkpoint, each saving over
    the other's (review of 2026-12-06): the checkpoint has a lock of its own."""
    from emdenoise_gui.training.engine import resume

    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches)
    list(train(spec))
    checkpoint = next(tmp_path.glob("*.checkpoint"))
    longer = resume(checkpoint, steps=9)
    assert isinstance(next(longer), Started)
    with pytest.raises(InputError, match="another training is writing this model now"):
        next(resume(checkpoint, steps=12))
    longer.close()


def test_a_lock_whose_pid_now_names_a_later_process_is_stale(tmp_path):
    """After a reboot the pid of a killed run may name another live process: its lock was refused as
    "another training is writing this model now" (kill audit of 2026-12-06)."""
    import subprocess
    import sys
    import time

    from emdenoise_gui.training.run_lock import _holder, _stale

    lock = tmp_path / ".m.training"
    later = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        if atomic.process_started(later.pid) is None:
            pytest.skip("this platform does not say when a process started")
        lock.write_text(f"{later.pid} {atomic.HOST} {time.time() - 3600}\n")  # written an hour before it started
        assert _stale(lock, _holder(lock))
        lock.write_text(f"{later.pid} {atomic.HOST} {time.time()}\n")  # written by it: it runs
        assert not _stale(lock, _holder(lock))
    finally:
        later.kill()
        later.wait()
