"""What the I/O audit of 2026-12-07 found in reading: a stack saved a page at a time read as its first slice,
ImageJ's ``zunit`` and ``yunit`` ignored (a z step 1000 times too small), OME-Zarr axes in "nm" read as
unknown."""

import json

import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.io import open_stack
from tests.conftest import main, synthetic_em_stack
from tests.core.test_omezarr import _image

STACK = synthetic_em_stack(depth=3, height=64, width=48)


def test_a_stack_saved_one_page_at_a_time_is_read_whole(tmp_path, capsys):
    """``TiffWriter.write`` per slice makes one tifffile series per page: the app read the first alone and a
    filter's result had one slice, with exit 0 (Fiji opens the file as a 3-slice stack)."""
    path = tmp_path / "pages.tif"
    with tifffile.TiffWriter(path) as tif:
        for page in STACK:
            tif.write(page, resolution=(1e6, 1e6), resolutionunit=3)  # 10 nm per px
    with open_stack(path) as stack:
        assert stack.shape == STACK.shape and stack.meta.voxel_size_nm[1:] == pytest.approx((10.0, 10.0))
        np.testing.assert_array_equal(stack[2], STACK[2])
        assert "read as the slices of one stack" in stack.meta.extra["note"]
    out = tmp_path / "out.tif"
    assert main(["denoise", str(path), "-o", str(out), "--method", "gaussian"]) == 0
    assert tifffile.imread(out).shape == STACK.shape


def test_a_stack_and_its_thumbnail_are_still_told_apart(tmp_path):
    path = tmp_path / "thumb.tif"
    with tifffile.TiffWriter(path) as tif:
        tif.write(STACK[0])
        tif.write(STACK[1, :32, :24])  # another size: a preview, not a slice
    with open_stack(path) as stack:
        assert stack.shape == (1, 64, 48) and "the largest" in stack.meta.extra["note"]


def test_imagej_y_and_z_units_are_read(tmp_path):
    path = tmp_path / "z.tif"
    tifffile.imwrite(path, STACK, imagej=True, resolution=(0.25, 0.25),
                     metadata={"axes": "ZYX", "spacing": 0.05, "unit": "nm", "zunit": "micron", "yunit": "nm"})
    with open_stack(path) as stack:
        assert stack.meta.voxel_size_nm == pytest.approx((50.0, 4.0, 4.0))  # z read as 0.05 nm before


@pytest.mark.parametrize("unit, nm", [("nm", 4.0), ("µm", 4000.0), ("micron", 4000.0), ("Angstrom", 0.4)])
def test_ome_zarr_units_spelled_as_other_tools_write_them(tmp_path, unit, nm):
    path = _image(tmp_path / "s.zarr", "zyx", STACK, [10.0, 4.0, 4.0])
    attrs = json.loads((path / "zarr.json").read_text())
    for axis in attrs["attributes"]["ome"]["multiscales"][0]["axes"]:
        axis["unit"] = unit
    (path / "zarr.json").write_text(json.dumps(attrs))
    with open_stack(path) as stack:
        assert stack.meta.voxel_size_nm == pytest.approx((10 * nm / 4, nm, nm))  # "voxel size unknown" before


@pytest.mark.parametrize("name", ["out.tif", "out.ome.tif"])
def test_a_white_is_zero_tiff_keeps_its_tag_in_a_tiff_result(tmp_path, capsys, name):
    """A MINISWHITE input's result was stored black-is-zero with the same values: Fiji showed it inverted against
    the input (said, not kept, before 2026-12-07)."""
    path, out = tmp_path / "white.tif", tmp_path / name
    tifffile.imwrite(path, STACK, photometric="miniswhite")
    with open_stack(path) as stack:
        assert "white-is-zero" in stack.meta.extra["note"]
    capsys.readouterr()
    assert main(["denoise", str(path), "-o", str(out), "--method", "gaussian"]) == 0
    assert "inverted" not in capsys.readouterr().err
    with tifffile.TiffFile(out) as tif:
        assert tif.series[0].keyframe.photometric == tifffile.PHOTOMETRIC.MINISWHITE
        assert tif.series[0].shape == STACK.shape
    with open_stack(out) as result:
        assert abs(float(result[1].astype(float).mean()) - float(STACK[1].mean())) < 0.02 * float(STACK[1].mean())


def test_a_white_is_zero_input_says_an_mrc_result_cannot_keep_it(tmp_path, capsys):
    path, out, black = tmp_path / "white.tif", tmp_path / "out.mrc", tmp_path / "black.tif"
    tifffile.imwrite(path, STACK, photometric="miniswhite")
    assert main(["denoise", str(path), "-o", str(out), "--method", "gaussian"]) == 0
    assert "out.mrc cannot say that the input is stored white-is-zero" in capsys.readouterr().err
    tifffile.imwrite(black, STACK, photometric="minisblack")
    assert main(["denoise", str(black), "-o", str(tmp_path / "b.tif"), "--method", "gaussian"]) == 0
    with tifffile.TiffFile(tmp_path / "b.tif") as tif:
        assert tif.series[0].keyframe.photometric == tifffile.PHOTOMETRIC.MINISBLACK


def test_a_file_of_a_store_is_told_to_give_the_store(tmp_path):
    """`emdenoise info s.zarr/zarr.json` said "unsupported file type '.json'" (the app takes it for its store)."""
    from emdenoise_gui.core.errors import InputError

    path = _image(tmp_path / "s.zarr", "zyx", STACK, [10.0, 4.0, 4.0])
    with pytest.raises(InputError, match="is a file of the OME-Zarr store .*s.zarr; give the store's folder"):
        open_stack(path / "zarr.json")


def test_pages_stored_differently_are_not_merged_into_a_stack_missing_one(tmp_path):
    """Review: with the middle page compressed, tifffile's generic series held pages 0 and 2 only; read as "its 3
    images" it was a 2-slice stack, slice 1 gone. Such a file is read as before: its largest image, said."""
    path = tmp_path / "mixed.tif"
    with tifffile.TiffWriter(path) as tif:
        for z, page in enumerate(STACK):
            tif.write(page, compression="zlib" if z == 1 else None)
    with open_stack(path) as stack:
        assert stack.shape[0] == 1 and "read as the slices" not in stack.meta.extra.get("note", "")


@pytest.mark.parametrize("unit", ["\\u00C5", "\\u212B"])
def test_imagej_escaped_angstrom_is_read(tmp_path, unit):
    """ImageJ writes a non-ASCII unit as its escape: Angstrom so read as unknown, the calibration lost."""
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, STACK, imagej=True, resolution=(0.025, 0.025), metadata={"axes": "ZYX", "unit": unit})
    with open_stack(path) as stack:
        assert stack.meta.voxel_size_nm == pytest.approx((4.0, 4.0, 4.0))


@pytest.mark.parametrize("kind", ["ome", "imagej"])
def test_tiff_time_points_take_the_pixel_size_as_spacing(tmp_path, kind):
    """Frames of a time series (one z plane) read as slices 50 nm apart from a z step the file gave for its
    one plane, without a word (I/O audit); OME-Zarr time points already took the pixel size and said so."""
    path = tmp_path / "t.tif"
    if kind == "ome":
        tifffile.imwrite(path, STACK[:, None], ome=True, resolution=(1e4, 1e4), resolutionunit="CENTIMETER",
                         metadata={"axes": "TZYX", "PhysicalSizeX": 0.004, "PhysicalSizeY": 0.004,
                                   "PhysicalSizeZ": 0.05})
    else:
        tifffile.imwrite(path, STACK, imagej=True, resolution=(0.25, 0.25),
                         metadata={"axes": "TYX", "spacing": 50, "unit": "nm"})
    with open_stack(path) as stack:
        assert stack.shape == STACK.shape and stack.meta.voxel_size_nm == pytest.approx((4.0, 4.0, 4.0))
        assert "time points" in stack.meta.extra["note"]
