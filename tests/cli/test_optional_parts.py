"""Parts the app does not ship (frozen-app audit, 2026-12-06): BM3D, whose bm3d package is free for
non-commercial use only and not ours to redistribute, and Dask in the installed program. Where they are
missing, each use is one line saying what to do, and the listings say so."""

import importlib.util
import sys

import numpy as np
import pytest
import tifffile

from tests.conftest import main


@pytest.fixture
def no_bm3d(monkeypatch):
    find = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bm3d" else find(name, *a))


def test_bm3d_missing_is_one_line_and_writes_nothing(tmp_path, capsys, no_bm3d):
    stack = tmp_path / "s.tif"
    tifffile.imwrite(stack, np.zeros((2, 32, 32), np.uint8), photometric="minisblack")
    assert main(["denoise", str(stack), "-o", str(tmp_path / "o.tif"), "--method", "bm3d"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "BM3D is not installed" in err and "pip install bm3d" in err
    assert not (tmp_path / "o.tif").exists()
    assert main(["filters"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("bm3d "))
    assert line.endswith("[not installed here: pip install bm3d]")


def test_the_installed_program_says_dask_is_not_in_it(monkeypatch):
    from emdenoise_gui.jobs import cluster

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    text = cluster._dask_missing()
    assert "the installed program does not include" in text and "--scheduler here" in text
    monkeypatch.delattr(sys, "frozen")
    assert cluster._dask_missing().startswith("--scheduler needs Dask: pip install")


def test_the_installed_program_says_bm3d_cannot_be_added_to_it(monkeypatch):
    """'pip install bm3d' cannot reach a frozen program's modules (review)."""
    from emdenoise_gui.core import baselines

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert "the installed program cannot add it" in baselines._missing_bm3d()
    monkeypatch.delattr(sys, "frozen")
    assert baselines._missing_bm3d().endswith("install it where EMDenoise runs (pip install bm3d), or pick another "
                                              "filter")
