"""A checkpoint survives a kill at every point of its save: resume finds the newest complete copy."""

import errno
import os

import pytest
import torch

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.training import checkpoint
from emdenoise_gui.training.checkpoint import load_checkpoint, save_checkpoint


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs (not even ``except Exception`` clean-up)."""


def _state(step: int) -> dict:
    return {"step": step, "weights": torch.full((64,), float(step))}


def _renames_in_a_save(tmp_path) -> int:
    calls = []
    real = os.replace
    folder = tmp_path / "count" / "run.checkpoint"
    folder.parent.mkdir()
    save_checkpoint(folder, _state(1))
    os.replace = lambda *a: (calls.append(a), real(*a))[1]
    try:
        save_checkpoint(folder, _state(2))
    finally:
        os.replace = real
    return len(calls)


def test_a_kill_at_any_rename_leaves_a_resumable_checkpoint(tmp_path, monkeypatch):
    renames = _renames_in_a_save(tmp_path)
    assert renames == 3
    real = os.replace
    for kill_at in range(renames + 1):
        folder = tmp_path / f"k{kill_at}" / "run.checkpoint"
        folder.parent.mkdir()
        save_checkpoint(folder, _state(1))
        count = {"n": 0}

        def replace(src, dst, count=count, kill_at=kill_at):
            if count["n"] == kill_at:
                raise Killed()
            count["n"] += 1
            return real(src, dst)

        monkeypatch.setattr(os, "replace", replace)
        try:
            save_checkpoint(folder, _state(2))
        except Killed:
            pass
        monkeypatch.setattr(os, "replace", real)
        notes = []
        state = load_checkpoint(folder, notes)
        assert state["step"] in (1, 2) and torch.equal(state["weights"], torch.full((64,), float(state["step"])))
        assert (folder / "state.json").is_file()  # back under its own name
        # renames: state.json into the staging copy, the old copy aside, the new copy into place
        assert state["step"] == (2 if kill_at >= renames - 1 else 1), kill_at
        assert bool(notes) == (kill_at == renames - 1), notes  # only a kill inside the swap needs saying


def test_killed_between_the_two_renames_resumes_from_the_new_copy(tmp_path, monkeypatch):
    folder = tmp_path / "run.checkpoint"
    save_checkpoint(folder, _state(1))
    real = os.replace

    def replace(src, dst):
        real(src, dst)
        if str(dst).endswith(".old"):
            raise Killed()  # the old copy is aside, the new one not yet in place

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(Killed):
        save_checkpoint(folder, _state(2))
    monkeypatch.setattr(os, "replace", real)
    assert not folder.exists()
    notes = []
    assert load_checkpoint(folder, notes)["step"] == 2
    assert notes and "step 2" in notes[0]
    assert not (tmp_path / ".run.checkpoint.old").exists() and not (tmp_path / ".run.checkpoint.partial").exists()


def test_a_truncated_new_copy_falls_back_to_the_old_one(tmp_path):
    folder = tmp_path / "run.checkpoint"
    save_checkpoint(folder, _state(1))
    os.replace(folder, tmp_path / ".run.checkpoint.old")
    partial = tmp_path / ".run.checkpoint.partial"
    partial.mkdir()
    (partial / "state.safetensors").write_bytes(b"\x00" * 10)
    (partial / "state.json").write_text('{"__dict__": [')
    assert load_checkpoint(folder)["step"] == 1


def test_no_copy_at_all_is_explained(tmp_path):
    with pytest.raises(InputError, match="nothing.checkpoint: not found"):
        load_checkpoint(tmp_path / "nothing.checkpoint")
    (tmp_path / "empty.checkpoint").mkdir()
    with pytest.raises(InputError, match="not a training checkpoint"):
        load_checkpoint(tmp_path / "empty.checkpoint")


def test_a_full_disk_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    folder = tmp_path / "run.checkpoint"
    save_checkpoint(folder, _state(1))

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint, "_write_state", full)
    with pytest.raises(InputError, match="the disk is full: about .* MB needed"):
        save_checkpoint(folder, _state(2))
    assert load_checkpoint(folder)["step"] == 1
    assert not (tmp_path / ".run.checkpoint.partial").exists()
