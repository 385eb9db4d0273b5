"""Metadata audit (2026-12-06): where a crop sat in its input, an OME-Zarr translation carried to MRC and back,
an MRC extended header dropped, a y pixel size the input does not give."""

import json

import mrcfile
import numpy as np
import pytest
import tifffile


def datasets(store):
    return json.loads((store / "zarr.json").read_text())["attributes"]["ome"]["multiscales"][0]["datasets"]


def mrc(path, data, voxel_angstrom=None, **header):
    """An MRC file of ``data`` with ``voxel_angstrom`` (a number or (x, y, z)) and header fields: ``origin_x``
    sets ``header.origin.x`` (Angstrom), ``cella_y`` the y cell, anything else the header field itself."""
    with mrcfile.new(path, data) as out:
        if voxel_angstrom is not None:
            out.voxel_size = voxel_angstrom
        for key, value in header.items():
            field, _, axis = key.partition("_")
            if axis:
                setattr(getattr(out.header, field), axis, value)
            else:
                setattr(out.header, field, value)
    return path


def translation(store):
    return next((t["translation"] for t in datasets(store)[0]["coordinateTransformations"]
                 if t["type"] == "translation"), None)


def test_a_crop_records_where_it_sat_and_a_position_goes_between_mrc_and_ome_zarr(tmp_path, cli):
    """--slices 5:10 of an MRC without an origin claimed to begin at z 0 (MRC) or said nothing (OME-Zarr)."""
    data = np.random.default_rng(0).random((12, 40, 40)).astype(np.float32)
    mrc(tmp_path / "a.mrc", data, 20.0)  # Angstrom: 2 nm
    assert cli("convert", tmp_path / "a.mrc", tmp_path / "o.mrc", "--slices", "5:10").code == 0
    header = mrcfile.open(tmp_path / "o.mrc").header
    assert (int(header.nxstart), int(header.nystart), int(header.nzstart)) == (0, 0, 5)
    assert cli("convert", tmp_path / "a.mrc", tmp_path / "o.zarr", "--slices", "5:10").code == 0
    assert translation(tmp_path / "o.zarr") == [10.0, 0.0, 0.0]  # 5 slices of 2 nm
    assert cli("convert", tmp_path / "a.mrc", tmp_path / "whole.zarr").code == 0
    assert translation(tmp_path / "whole.zarr") is None  # at the origin: nothing to record
    mrc(tmp_path / "b.mrc", data, 20.0, origin_x=100.0, origin_z=50.0)  # Angstrom
    result = cli("convert", tmp_path / "b.mrc", tmp_path / "p.zarr", "--slices", "2:4")
    assert result.code == 0 and "not kept" not in result.err
    assert translation(tmp_path / "p.zarr") == [9.0, 0.0, 10.0]  # 5 nm + 2 slices of 2 nm; 10 nm
    result = cli("convert", tmp_path / "p.zarr", tmp_path / "back.mrc")  # the translation becomes the origin
    assert result.code == 0 and "not kept" not in result.err
    origin = mrcfile.open(tmp_path / "back.mrc").header.origin
    assert (float(origin.x), float(origin.y), float(origin.z)) == pytest.approx((100.0, 0.0, 90.0))
    result = cli("convert", tmp_path / "p.zarr", tmp_path / "p.tif")
    assert "OME-Zarr translation (its position in space) is not kept in p.tif" in result.err


def test_an_mrc_extended_header_left_out_is_said(tmp_path, cli):
    data = np.random.default_rng(1).random((4, 32, 32)).astype(np.float32)
    with mrcfile.new(tmp_path / "ext.mrc", data) as out:
        out.voxel_size = 10.0
        out.set_extended_header(np.arange(32, dtype=np.float32))
        out.header.exttyp = b"SERI"
    result = cli("convert", tmp_path / "ext.mrc", tmp_path / "o.mrc")
    assert result.code == 0 and "its 128-byte extended header (SERI)" in result.err
    assert "is not written to outputs" in result.err


def test_a_y_pixel_size_the_input_does_not_give_is_said(tmp_path, cli):
    """A missing y cell or PhysicalSizeY was taken as x without a word, and written as if known."""
    data = np.random.default_rng(2).random((4, 32, 32)).astype(np.float32)
    mrc(tmp_path / "y0.mrc", data, (10.0, 30.0, 50.0), cella_y=0)
    info = cli("info", tmp_path / "y0.mrc")
    assert "the y pixel size is unknown" in info.out + info.err
    result = cli("convert", tmp_path / "y0.mrc", tmp_path / "y.tif")
    assert "y.tif records a y pixel size of 1 nm, which the input does not give" in result.err
    tifffile.imwrite(tmp_path / "omey.ome.tif", (data * 200).astype(np.uint8), photometric="minisblack",
                     metadata={"axes": "ZYX", "PhysicalSizeX": 0.004, "PhysicalSizeZ": 0.01})
    result = cli("convert", tmp_path / "omey.ome.tif", tmp_path / "o.mrc")
    assert "o.mrc records a y pixel size of 4 nm, which the input does not give" in result.err


def test_a_block_run_keeps_the_inputs_position(tmp_path, cli):
    data = np.random.default_rng(3).random((6, 32, 32)).astype(np.float32)
    mrc(tmp_path / "c.mrc", data, 20.0, origin_y=40.0)
    assert cli("denoise", tmp_path / "c.mrc", "-o", tmp_path / "b.zarr", "--method", "gaussian",
               "--scheduler", "here").code == 0
    assert translation(tmp_path / "b.zarr") == [0.0, 4.0, 0.0]


def test_a_position_an_ome_zarr_output_cannot_write_says_why(tmp_path, cli):
    """Without a voxel size the note said the voxel size was kept and to write the .zarr it was writing."""
    mrc(tmp_path / "s.mrc", np.zeros((3, 32, 32), np.float32), nxstart=10, origin_x=55.0)
    result = cli("convert", tmp_path / "s.mrc", tmp_path / "o.zarr")
    assert "an NGFF translation needs the voxel size, which the input does not give" in result.err
    assert "voxel size is" not in result.err and "or .zarr" not in result.err


def test_the_position_note_names_only_the_outputs_that_can_keep_it(tmp_path, cli):
    with_voxel = mrc(tmp_path / "v.mrc", np.zeros((3, 32, 32), np.float32), 20.0, origin_x=100.0)
    without = mrc(tmp_path / "n.mrc", np.zeros((3, 32, 32), np.float32), origin_x=100.0)
    said = cli("convert", with_voxel, tmp_path / "v.tif").err
    assert "is not kept in v.tif; the voxel size is; write an .mrc or .zarr output to keep it" in said
    said = cli("convert", without, tmp_path / "n.tif").err
    assert "is not kept in n.tif; write an .mrc output to keep it" in said
