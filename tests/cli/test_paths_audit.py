"""Unusual paths a microscopist meets (paths audit of 2026-12-08): a file name that is not UTF-8, a project
made in an OME-Zarr image, a refused ``--project`` run, an output folder that is a file."""

import os
import sys

import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io import open_stack
from emdenoise_gui.project.project import Project
from tests.conftest import synthetic_em_stack


def stack(path, dtype=np.uint8):
    data = synthetic_em_stack(5, 48, 40, seed=3)
    tifffile.imwrite(path, data.astype(np.float32) / 255 if dtype == np.float32 else data, imagej=dtype != np.float32,
                     metadata={"axes": "ZYX"} if dtype != np.float32 else None)
    return path


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="names are Unicode there: no undecodable bytes")
def test_a_name_that_is_not_utf8_is_written_and_said(tmp_path, cli):
    """A Latin-1 name from an old Windows share (b"Probe_\\xb5m.tif") failed every TIFF write with an internal
    error (its escape in the made-by line), and stopped a batch."""
    name = os.fsdecode(b"Probe_\xb5m.tif")
    source = stack(tmp_path / name)
    other = stack(tmp_path / "base.tif")
    result = cli("denoise", source, "-o", tmp_path / "out.tif", "--method", "gaussian")
    assert result.code == 0, result.err
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        info = tif.imagej_metadata["Info"]
    assert "from Probe_\ufffdm.tif" in info
    assert cli("convert", source, tmp_path / "c.tif").code == 0
    batch = cli("denoise", source, other, "-o", tmp_path / "res", "--method", "gaussian")
    assert batch.code == 0 and len(list((tmp_path / "res").glob("*.tif"))) == 2, batch.err


def test_no_project_is_made_in_an_ome_zarr_image(tmp_path, cli):
    """The app made a project (project.json, results/) inside a.zarr, and `denoise ... -o a.zarr --overwrite`
    then deleted it with the store, exit 0."""
    source = stack(tmp_path / "a.tif")
    assert cli("convert", source, tmp_path / "a.zarr").code == 0
    for folder in (tmp_path / "a.zarr", tmp_path / "a.zarr" / "proj"):
        with pytest.raises(InputError, match="OME-Zarr store .*: choose a folder outside it"):
            Project.create(folder)
    assert sorted(p.name for p in (tmp_path / "a.zarr").iterdir()) == ["0", "zarr.json"]
    assert Project.create(tmp_path / "plain.zarr").folder.name == "plain.zarr"  # a folder so named: no image
    (tmp_path / "a.zarr" / "old").mkdir()
    (tmp_path / "a.zarr" / "old" / "project.json").write_text("{}")  # made in a subfolder by an older version
    result = cli("denoise", source, "-o", tmp_path / "a.zarr", "--method", "median", "--overwrite")
    assert result.code == 2 and "holds an EMDenoise project" in result.err, result.err
    (tmp_path / "a.zarr" / "old" / "project.json").unlink()
    result = cli("denoise", tmp_path / "a.zarr", "--project", tmp_path / "a.zarr" / "proj", "--method", "gaussian")
    assert result.code == 2 and "is inside the OME-Zarr store a.zarr" in result.err
    assert not (tmp_path / "a.zarr" / "proj").exists()
    (tmp_path / "a.zarr" / "project.json").write_text("{}")  # made by an older version
    before = sorted(p.name for p in (tmp_path / "a.zarr").iterdir())
    result = cli("denoise", source, "-o", tmp_path / "a.zarr", "--method", "median", "--overwrite")
    assert result.code == 2 and "holds an EMDenoise project (project.json)" in result.err, result.err
    assert sorted(p.name for p in (tmp_path / "a.zarr").iterdir()) == before


def test_a_refused_project_run_leaves_no_folder(tmp_path, cli):
    """A run refused after naming its result (float data an 8-bit output would flatten) left newp/results."""
    source = stack(tmp_path / "f.tif", np.float32)
    result = cli("denoise", source, "--project", tmp_path / "newp", "--method", "gaussian", "--dtype", "uint8")
    assert result.code == 2 and "grey levels" in result.err, result.err
    assert not (tmp_path / "newp").exists()
    ok = cli("denoise", source, "--project", tmp_path / "newp", "--method", "gaussian")
    assert ok.code == 0 and (tmp_path / "newp" / "project.json").is_file(), ok.err
    with open_stack(next((tmp_path / "newp" / "results").glob("*.tif"))) as result_stack:
        assert result_stack.shape == (5, 48, 40)


def test_an_output_folder_that_is_a_file_is_said_so(tmp_path, cli):
    """``-o afile/o.tif`` said "the output folder afile does not exist; create it first"."""
    source = stack(tmp_path / "a.tif")
    (tmp_path / "afile").write_text("x")
    result = cli("denoise", source, "-o", tmp_path / "afile" / "o.tif", "--method", "gaussian")
    assert result.code == 2 and "afile is a file, not a folder" in result.err, result.err
    other = stack(tmp_path / "b.tif")
    for where in (("-o", tmp_path / "afile" / "res"), ("--project", tmp_path / "afile" / "proj")):
        result = cli("denoise", source, other, *where, "--method", "gaussian")
        assert result.code == 2 and "afile is a file, not a folder" in result.err, result.err
