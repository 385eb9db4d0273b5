"""Replacing an output folder (an OME-Zarr store) whatever stops the run: Ctrl-C, ``kill``, a kill -9 between
the two renames (audit of 2026-12-06: the old store was lost, and the next run deleted its copy)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from emdenoise_gui.core import atomic
from emdenoise_gui.core.io import StackWriter, open_stack
from emdenoise_gui.core.leftovers import restore_interrupted_swaps


def _folder(path, text):
    path.mkdir()
    (path / "data").write_text(text)
    return path


def test_a_stop_between_the_two_renames_puts_the_old_folder_back(tmp_path, monkeypatch):
    target, staging = _folder(tmp_path / "out.zarr", "old"), _folder(tmp_path / "new", "new")
    real = os.replace

    def replace(src, dst):
        if src == staging:  # Ctrl-C just after the old folder went aside
            raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        atomic.replace_folder(staging, target)
    assert (target / "data").read_text() == "old" and staging.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "out.zarr"]


def test_the_old_folder_a_killed_swap_left_aside_is_put_back_not_deleted(tmp_path):
    from emdenoise_gui.core.atomic import HOST

    aside = _folder(tmp_path / f".out.ome.zarr.old.999999999@{HOST}-0123abcd.partial", "old")  # its writer is gone
    assert restore_interrupted_swaps(tmp_path) == [tmp_path / "out.ome.zarr"]
    assert (tmp_path / "out.ome.zarr" / "data").read_text() == "old" and not aside.exists()
    # with the output in place (the swap had finished) the copy is only stale: the writer's clean-up removes it
    aside = _folder(tmp_path / f".out.ome.zarr.old.999999999@{HOST}-0123abcd.partial", "older")
    assert restore_interrupted_swaps(tmp_path) == [] and aside.exists()
    with StackWriter(tmp_path / "other.tif", (1, 8, 8), np.uint8) as writer:
        writer.write(0, np.zeros((8, 8), np.uint8))
        writer.commit()
    assert writer.cleaned == [aside] and not aside.exists() and (tmp_path / "out.ome.zarr" / "data").read_text() == "old"


def _write(out, value):
    with StackWriter(out, (1, 8, 8), np.uint8, overwrite=True) as writer:
        writer.write(0, np.full((8, 8), value, np.uint8))
        writer.commit()


def test_a_stop_while_the_replaced_store_is_removed_says_the_output_was_written(tmp_path, monkeypatch):
    """The CLI said "cancelled; nothing was written" with the new store in place."""
    out = tmp_path / "out.ome.zarr"
    _write(out, 1)

    def interrupted(path, ignore_errors=False):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.shutil, "rmtree", interrupted)
    with pytest.raises(KeyboardInterrupt) as caught:
        _write(out, 2)
    assert "written in full" in caught.value.kept
    with open_stack(out) as stack:
        assert int(stack[0].max()) == 2


def test_a_stop_just_after_the_second_rename_keeps_the_new_folder(tmp_path, monkeypatch):
    """Putting the old folder back over the new one failed (not empty) and turned a finished overwrite into
    "cannot be put in place", exit 2 (review of 2026-12-06)."""
    target, staging = _folder(tmp_path / "out.zarr", "old"), _folder(tmp_path / "new", "new")
    real = os.replace

    def replace(src, dst):
        real(src, dst)
        if src == staging:
            raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        atomic.replace_folder(staging, target)
    assert (target / "data").read_text() == "new" and not staging.exists()
