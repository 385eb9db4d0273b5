"""The one atomic-write helper: a target appears complete or not at all; a failure leaves it as it was."""

import pytest

from emdenoise_gui.core import atomic


def test_new_folder_appears_only_when_complete(tmp_path):
    target = tmp_path / "pkg"
    with atomic.new_folder(target) as staging:
        (staging / "a.txt").write_text("x")
        assert not target.exists() and staging.name.startswith(".pkg.") and staging.name.endswith(".partial")
        with atomic.new_folder(tmp_path / "other") as second:  # another writer never shares the staging name
            assert second.parent == staging.parent and second != staging
    assert (target / "a.txt").read_text() == "x" and not staging.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other", "pkg"]


def test_staging_names_fit_the_file_system_for_long_targets(tmp_path):
    """A 250-byte target name: its staging name stays within 255 bytes (it raised 'File name too long')."""
    target = tmp_path / ("é" * 122 + "x.zip")  # 249 bytes
    with atomic.new_file(target) as tmp:
        assert len(tmp.name.encode()) <= 255
        tmp.write_text("zip")
    assert target.read_text() == "zip"


def test_failed_folder_leaves_nothing(tmp_path):
    target = tmp_path / "pkg"
    with pytest.raises(RuntimeError):
        with atomic.new_folder(target) as staging:
            (staging / "a.txt").write_text("x")
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_failed_file_keeps_the_old_one(tmp_path):
    target = tmp_path / "model.zip"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic.new_file(target) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["model.zip"]
    with atomic.new_file(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"


def test_write_text_keeps_a_backup_of_the_previous_content(tmp_path):
    path, backup = tmp_path / "project.json", tmp_path / "project.json.bak"
    atomic.write_text(path, "one\n", backup=backup)
    assert path.read_text() == "one\n" and not backup.exists()
    atomic.write_text(path, "two\n", backup=backup)
    assert path.read_text() == "two\n" and backup.read_text() == "one\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project.json", "project.json.bak"]


def test_sizes_in_messages_never_read_zero():
    """A checkpoint of a lite model (190 KB) was "0 MB needed" when the disk was full."""
    size_words = atomic.size_words
    assert size_words(190 * 1024) == "0.2 MB"
    assert size_words(100) == "under 0.1 MB"
    assert size_words(120 * 2**20) == "120 MB"
    assert size_words(3.2 * 2**30) == "3.2 GB"


def test_a_long_name_keeps_its_format_suffixes_in_the_staging_name(tmp_path):
    """The writer's staging name (which carries pid@host) ran over 255 bytes for a 226-byte output name."""
    target = tmp_path / ("a" * 240 + ".ome.tif")
    staging = atomic.private_staging(target)
    assert len(staging.name.encode()) <= atomic.NAME_MAX and ".ome.tif." in staging.name
