"""Leftovers of killed runs beyond a result's own folder: zoo imports, package and project writes, packages
unpacked to the temporary folder (kill audit of 2026-12-06: each stayed for good, one more per kill)."""

import tempfile

import pytest

from emdenoise_gui.core import atomic, leftovers

DEAD = f"999999999@{atomic.HOST}"  # a pid that is not running, on this machine


def test_a_killed_writers_staging_folders_and_text_temps_go_at_the_next_write(tmp_path):
    package = tmp_path / f".m4.{DEAD}-0123abcd.partial"
    (package / "inner").mkdir(parents=True)  # a model package's staging folder (train's last write)
    project_tmp = tmp_path / f"project.json.{DEAD}-89abcdef.tmp"
    project_tmp.write_text("{")
    live = tmp_path / f".e.zip.{atomic.partial_tag()}.partial"  # this process: still writing
    live.write_bytes(b"x")
    theirs = tmp_path / ".m5.999999999@another-node-0123abcd.partial"  # another machine's: no pid here tells
    theirs.mkdir()
    users = tmp_path / "report.deadbeef.tmp"  # named like an old temp, but with no writer in it: the user's
    users.write_text("mine")
    atomic.write_text(tmp_path / "project.json", "{}\n")
    assert not package.exists() and not project_tmp.exists()
    assert live.exists() and theirs.exists() and users.exists()


def test_a_copy_moved_aside_stays_until_it_is_put_back(tmp_path):
    aside = tmp_path / f".out.zarr.old.{DEAD}-0123abcd.partial"
    aside.mkdir()
    assert leftovers.sweep(tmp_path) == [] and aside.exists()  # its output is missing: the copy is the result
    assert leftovers.restore_interrupted_swaps(tmp_path) == [tmp_path / "out.zarr"]


def test_a_killed_zoo_import_is_removed_by_the_next(tmp_path, monkeypatch):
    from emdenoise_gui.paths import shipped_models_dir
    from emdenoise_gui.zoo import registry
    from emdenoise_gui.zoo.package import export_zip, open_package

    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    zoo = tmp_path / "home" / "models"
    killed = zoo / f".import.{DEAD}-0123abcd.partial"
    killed.mkdir(parents=True)
    archive = export_zip(open_package(shipped_models_dir() / "flyem-nrrn-lite"), tmp_path / "lite.zip")
    monkeypatch.setattr(registry, "_check_new_name", lambda name, source: None)  # a shipped model's name
    monkeypatch.setattr(registry, "_check_free", lambda name, source: None)
    registry._import(archive)
    assert not killed.exists() and sorted(p.name for p in zoo.iterdir()) == ["flyem-nrrn-lite"]


def test_a_killed_runs_unpacked_package_in_the_temporary_folder_is_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    killed = tmp_path / f"{leftovers.EXTRACTION_PREFIX}{DEAD}-0123abcd-x1y2"
    killed.mkdir()
    mine = leftovers.extraction_folder()
    assert not killed.exists() and mine.parent == tmp_path and str(atomic.partial_tag().split("-")[0]) in mine.name


@pytest.mark.parametrize("name", ["emdenoise-pkg-abc", "emdenoise-pkg-999999999@another-node-0123abcd-x"])
def test_other_folders_in_the_temporary_folder_stay(tmp_path, monkeypatch, name):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / name).mkdir()
    leftovers.extraction_folder()
    assert (tmp_path / name).exists()


def test_a_name_with_no_possible_pid_is_left_alone(tmp_path, monkeypatch):
    """A pid of 20 digits stopped every write in the folder with an OverflowError (review)."""
    odd = tmp_path / ".notes.99999999999999999999-deadbeef.partial"
    odd.write_text("x")
    atomic.write_text(tmp_path / "project.json", "{}\n")
    assert odd.exists()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / "emdenoise-pkg-99999999999999999999-deadbeef").mkdir()
    assert leftovers.extraction_folder().is_dir()


def test_an_untagged_folder_of_another_kind_is_not_taken_for_a_leftover(tmp_path):
    import os
    import time

    folder = tmp_path / ".notes.0123abcd.partial"  # no writer in its name, a day old: perhaps someone's
    folder.mkdir()
    store = tmp_path / ".out.zarr.0123abcd.partial"  # what older versions left
    store.mkdir()
    day_ago = time.time() - 2 * leftovers.STALE_AFTER_S
    for item in (folder, store):
        os.utime(item, (day_ago, day_ago))
    assert leftovers.sweep(tmp_path) == [store] and folder.exists()


def test_names_being_written_are_those_of_live_or_other_machines_writers(tmp_path):
    (tmp_path / f".dead.tif.{DEAD}-0123abcd.partial").write_bytes(b"")  # killed: free to take
    (tmp_path / ".theirs.tif.999999999@another-node-0123abcd.partial").write_bytes(b"")
    (tmp_path / f".moved.zarr.old.{atomic.partial_tag()}.partial").mkdir()  # a copy aside, not a new output
    marker = leftovers.reserve(tmp_path / "mine.tif")
    assert marker.stat().st_size == 0 and not (tmp_path / "mine.tif").exists()
    assert leftovers.being_written(tmp_path) == {"theirs.tif", "mine.tif"}
    assert leftovers.being_written(tmp_path / "missing") == set()


def test_of_two_runs_claiming_one_name_at_once_one_gives_way(tmp_path):
    """Both listed the folder, both picked the name, both marked it: the second failed after its work (review)."""
    first, second = leftovers.Reservations(), leftovers.Reservations()
    assert first.claim(tmp_path / "a.tif") and not second.claim(tmp_path / "a.tif")
    assert len(_markers(tmp_path)) == len(list(tmp_path.iterdir())) == 1  # the second's marker went again
    first.give_back([tmp_path / "a.tif"])
    assert second.claim(tmp_path / "a.tif") and len(_markers(tmp_path)) == 1


def _markers(folder):
    return [p for p in folder.iterdir() if leftovers.PARTIAL.match(p.name)]


def test_an_old_empty_marker_of_another_machine_holds_no_name(tmp_path):
    """A run killed on a cluster node held its name for good: no pid here says it is gone."""
    import os
    import time

    old = tmp_path / ".a.tif.999999999@another-node-0123abcd.partial"
    old.write_bytes(b"")
    assert leftovers.being_written(tmp_path) == {"a.tif"}  # it may still write
    two_days_ago = time.time() - 2 * leftovers.STALE_AFTER_S
    os.utime(old, (two_days_ago, two_days_ago))
    mine = leftovers.Reservations()
    assert leftovers.being_written(tmp_path) == set() and mine.claim(tmp_path / "a.tif")
    mine.give_back_all()
    (tmp_path / ".b.tif.999999999@another-node-0123abcd.partial").write_bytes(b"pixels")  # a write of theirs
    os.utime(tmp_path / ".b.tif.999999999@another-node-0123abcd.partial", (two_days_ago, two_days_ago))
    assert leftovers.being_written(tmp_path) == {"b.tif"}


def test_a_marker_that_cannot_be_removed_is_left_quietly(tmp_path, monkeypatch):
    from pathlib import Path

    held = leftovers.Reservations()
    assert held.claim(tmp_path / "a.tif")

    def refused(self, missing_ok=False):
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(Path, "unlink", refused)
    held.give_back_all()  # no error: it is swept as stale once this process is gone
    assert list(held) == []
