"""A disk or a network share that fails under a read (an input/output error, a stale file handle after a share
dropped) is one line and exit 2 saying what to do, never "internal error ... please report it" (audit of
2026-12-06); a file deleted while it is read is said as such, not as a damaged file."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest
import tifffile

from emdenoise_gui.cli.main import main
from emdenoise_gui.core.errors import system_failure
from emdenoise_gui.core.io import open_stack
from tests.conftest import synthetic_em_stack


def _stack(path):
    tifffile.imwrite(path, synthetic_em_stack(3, 48, 40, seed=2), imagej=True, metadata={"axes": "ZYX"})
    return path


def _fail_stat_of(monkeypatch, path, code):
    stat = os.stat

    def failing(target, *args, **kwargs):
        if os.fspath(target) == os.fspath(path):
            raise OSError(code, os.strerror(code), os.fspath(target))
        return stat(target, *args, **kwargs)

    monkeypatch.setattr(os, "stat", failing)


@pytest.mark.parametrize("code, words", [(errno.ESTALE, "network share"), (errno.EIO, "disk or device")])
@pytest.mark.parametrize("command", [["info"], ["denoise", "-o", "OUT", "--method", "gaussian"]])
def test_a_failing_share_or_disk_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch, code, words, command):
    source = _stack(tmp_path / "in.tif")
    _fail_stat_of(monkeypatch, source, code)
    args = [command[0], str(source)] + [str(tmp_path / "out.tif") if a == "OUT" else a for a in command[1:]]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error" not in err and words in err and str(source) in err
    assert not (tmp_path / "out.tif").exists()


def test_a_slice_read_that_fails_names_the_cause(tmp_path, monkeypatch):
    source = _stack(tmp_path / "in.tif")
    with open_stack(source) as stack:
        reader = stack._reader

        def gone(z):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(source))

        monkeypatch.setattr(reader, "read", gone)
        with pytest.raises(Exception, match="deleted or moved while it was read") as caught:
            stack[1]
        assert "damaged" not in str(caught.value)

        def stale(z):
            raise OSError(errno.ESTALE, "Stale file handle")

        monkeypatch.setattr(reader, "read", stale)
        with pytest.raises(Exception, match="network share it is on is gone"):
            stack[1]

        def denied(z):  # as zarr reports a chunk file it may not read: its own error, the PermissionError behind
            try:
                raise PermissionError(errno.EACCES, "Permission denied", "s.zarr/0/c/1/0/0")
            except PermissionError as exc:
                raise RuntimeError("failed to read chunk") from exc

        monkeypatch.setattr(reader, "read", denied)
        with pytest.raises(Exception, match="s.zarr/0/c/1/0/0 cannot be read with your permissions") as caught:
            stack[1]
        assert "damaged" not in str(caught.value)  # it said "the file may be damaged or truncated" (I/O audit)


def test_only_system_failures_count_as_such():
    assert system_failure(OSError(errno.EIO, "Input/output error")) is not None
    assert system_failure(OSError(errno.ENOENT, "No such file or directory")) is None  # may be a bug: reported
    assert system_failure(ValueError("x")) is None



def _windows(winerror: int, text: str) -> OSError:
    """The OSError Windows raises (Python maps most network codes to errno EINVAL; .winerror keeps the code)."""
    exc = OSError(errno.EINVAL, text, "S:\\stack.tif")
    exc.winerror = winerror
    return exc


def test_windows_share_and_device_errors_count_as_system_failures():
    """A dropped Windows share (winerror 64, 59) read as 'Invalid argument': an internal error to report."""
    gone = system_failure(_windows(64, "The specified network name is no longer available"))
    assert gone is not None and "network share it is on is gone" in str(gone) and "stack.tif" in str(gone)
    assert "network share" in str(system_failure(_windows(59, "An unexpected network error occurred")))
    assert "disk or device" in str(system_failure(_windows(1117, "The request could not be performed because of "
                                                                  "an I/O device error")))
    assert system_failure(_windows(87, "The parameter is incorrect")) is None


def test_a_staging_file_left_by_a_killed_run_is_named_as_such(tmp_path, cli):
    """It opened in `info` as a finished MRC (convert audit of 2026-12-07); under another name it opens."""
    import shutil

    src = tmp_path / "s.tif"
    tifffile.imwrite(src, np.full((2, 32, 32), 100, np.uint8))
    assert cli("convert", src, tmp_path / "done.mrc").code == 0
    left = tmp_path / ".out.mrc.4242@host-0123abcd.partial"
    shutil.copy(tmp_path / "done.mrc", left)
    result = cli("info", left)
    assert result.code == 2 and "is the unfinished output of an EMDenoise run" in result.err and "'out.mrc'" in result.err
    shutil.copy(left, tmp_path / "look.mrc")
    assert cli("info", tmp_path / "look.mrc").code == 0
