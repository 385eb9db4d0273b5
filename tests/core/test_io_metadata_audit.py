"""What the formats audit of 2026-12-06 found: metadata from the image actually read, scales that are not
sizes, data left unread said, stored values never clipped by a narrower type without a word."""

import struct

import mrcfile
import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io import open_stack
from emdenoise_gui.core.io.writer import StackWriter, cast_to
from tests.conftest import main
from tests.core.test_omezarr import _image

STACK = np.arange(8 * 64 * 64, dtype=np.uint16).reshape(8, 64, 64) % 1000


def test_a_multi_image_ome_tiff_takes_the_voxel_size_of_the_image_read(tmp_path):
    path = tmp_path / "two.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as tif:  # a 5 um overview first, then the 10 nm stack
        tif.write(np.zeros((16, 16), np.uint8), metadata={"axes": "YX", "PhysicalSizeX": 5.0, "PhysicalSizeY": 5.0})
        tif.write(STACK, metadata={"axes": "ZYX", "PhysicalSizeX": 0.01, "PhysicalSizeY": 0.01,
                                   "PhysicalSizeZ": 0.05})
    with open_stack(path) as stack:
        assert stack.shape == (8, 64, 64)
        assert stack.meta.voxel_size_nm == pytest.approx((50.0, 10.0, 10.0))


def test_a_multi_series_tiff_takes_the_resolution_of_the_series_read(tmp_path):
    path = tmp_path / "two.tif"
    with tifffile.TiffWriter(path) as tif:
        tif.write(np.zeros((16, 16), np.uint8), resolution=(1 / 1000.0, 1 / 1000.0), resolutionunit=3)
        tif.write(STACK, resolution=(1e6, 1e6), resolutionunit=3)  # 1e6 px per cm: 10 nm
    with open_stack(path) as stack:
        assert stack.shape == (8, 64, 64) and stack.meta.voxel_size_nm[1:] == pytest.approx((10.0, 10.0))


@pytest.mark.parametrize("scale", [[-50.0, -10.0, 10.0], [0.0, 0.0, 0.0]])
def test_an_ome_zarr_scale_that_is_not_a_size_leaves_the_voxel_size_unknown(tmp_path, scale, capsys):
    """A zero scale crashed convert (ZeroDivisionError, exit 1); a negative one was shown and written."""
    store = _image(tmp_path / "in.zarr", "zyx", STACK, scale)
    with open_stack(store) as stack:
        assert stack.meta.voxel_size_nm is None
    for suffix in (".tif", ".mrc", ".zarr"):
        out = tmp_path / f"out{suffix}"
        assert main(["convert", str(store), str(out)]) == 0, capsys.readouterr().err
        with open_stack(out) as written:
            assert written.meta.voxel_size_nm is None or min(written.meta.voxel_size_nm) > 0
            np.testing.assert_array_equal(written[3], STACK[3])


def test_a_writer_that_fails_to_start_leaves_no_staging_file(tmp_path, monkeypatch):
    from emdenoise_gui.core.io import writer

    def bad_header(_module, staging, *_args):  # tifffile had created the file when its header value failed
        staging.write_bytes(b"II*\0")
        raise ValueError("argument out of range")

    monkeypatch.setattr(writer, "_open_sink", bad_header)
    with pytest.raises(ValueError):
        with StackWriter(tmp_path / "out.tif", (2, 8, 8), np.uint16):
            pass
    assert list(tmp_path.iterdir()) == []


def test_bytes_beyond_the_mrc_headers_slices_are_said(tmp_path, capsys):
    """An MRC file whose header declares 4 of its 8 slices was denoised to 4 slices with exit 0 and no word."""
    path = tmp_path / "short.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(STACK.astype(np.float32))
    with open(path, "r+b") as fh:
        fh.seek(8)
        fh.write(struct.pack("<i", 4))
    with open_stack(path) as stack:
        assert stack.shape == (4, 64, 64)
        assert "as many as 4 more slices" in stack.meta.extra["note"]
    assert main(["denoise", str(path), "-o", str(tmp_path / "out.tif"), "--method", "gaussian"]) == 0
    err = capsys.readouterr().err
    assert "short.mrc: the file holds 65,536 bytes beyond the 4 slices its header declares" in err
    assert main(["info", str(path)]) == 0 and "beyond the 4 slices" in capsys.readouterr().out


def test_the_other_series_of_a_tiff_are_said_when_writing(tmp_path, capsys):
    path = tmp_path / "two.tif"
    with tifffile.TiffWriter(path) as tif:
        tif.write(np.zeros((16, 16), np.uint8))
        tif.write(STACK)
    assert main(["convert", str(path), str(tmp_path / "out.tif")]) == 0
    assert "two.tif: read image series 2 of 2 (the largest); the file also holds 16x16" in capsys.readouterr().err


def test_stored_integers_beyond_a_narrower_type_are_refused_not_clipped(tmp_path, capsys):
    """uint16 pixels up to 34,000 converted to int16 lost 3.5 % of them to 32,767 with exit 0."""
    data = STACK.astype(np.uint16) * 34  # 0 to 33,966
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, data)
    assert main(["convert", str(src), str(tmp_path / "out.tif"), "--dtype", "int16"]) == 2
    assert "beyond int16's -32768 to 32767" in capsys.readouterr().err and not (tmp_path / "out.tif").exists()
    assert main(["convert", str(src), str(tmp_path / "ok.tif"), "--dtype", "uint16"]) == 0
    with pytest.raises(InputError, match="in 1 pixels"):
        cast_to(np.array([[0, 256]], np.int16), np.uint8)
    # a computed (floating-point) result keeps its small overshoot margin
    np.testing.assert_array_equal(cast_to(np.array([[0.0, 256.4]], np.float32), np.uint8), [[0, 255]])


def test_a_plain_zarr_array_is_named_as_such(tmp_path, capsys):
    zarr = pytest.importorskip("zarr")
    array = zarr.open_array(str(tmp_path / "plain.zarr"), mode="w", shape=(4, 32, 32), dtype="uint16")
    array[:] = 1
    assert main(["info", str(tmp_path / "plain.zarr")]) == 2
    err = capsys.readouterr().err
    assert "is a plain zarr array, not an OME-Zarr image" in err and "damaged" not in err


def test_a_negative_mrc_z_step_is_named_for_what_it_is(tmp_path):
    path = tmp_path / "negz.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(STACK.astype(np.float32))
        mrc.voxel_size = (100.0, 100.0, -500.0)
    with open_stack(path) as stack:
        note = stack.meta.extra["note"]
    assert "mz is 0" not in note and "the header's z cell over mz = 8 is -500 Å" in note




def test_start_indices_moved_past_32_bits_become_an_origin_or_a_refusal():
    """nzstart 2^31-1 and --slices 1:2 gave an internal error (OverflowError) writing the MRC header."""
    from emdenoise_gui.core.io.stack import Placement

    edge = Placement(start=(0, 0, 2**31 - 1))
    moved = edge.cropped(1, 0, 0, (2.0, 1.0, 1.0))
    assert moved.start == (0, 0, 0) and moved.origin == (0.0, 0.0, 2**31 * 20.0)
    assert edge.cropped(0, 3, 0, None) == Placement((0, 3, 2**31 - 1), edge.origin)  # still fits: moved
    with pytest.raises(InputError, match="pass what an MRC header holds"):
        edge.cropped(1, 0, 0, None)


def test_an_mrcs_result_is_a_stack_of_images_and_an_mrc_one_a_volume(tmp_path):
    """Every MRC result was a volume (space group 1): denoised particles (.mrcs) were no longer an image stack
    to mrcfile, nor a single 2-D image a single image (I/O audit of 2026-12-07)."""
    source = tmp_path / "particles.mrcs"
    with mrcfile.new(source) as mrc:
        mrc.set_data(STACK[:4].astype(np.float32))
        mrc.set_image_stack()
    for name, images in (("out.mrcs", True), ("out.mrc", False)):
        assert main(["denoise", str(source), "-o", str(tmp_path / name), "--method", "gaussian"]) == 0
        with mrcfile.open(tmp_path / name) as mrc:
            assert mrc.is_image_stack() == images and mrc.is_volume() == (not images), name
    single = tmp_path / "one.mrc"
    assert main(["convert", str(source), str(single), "--slices", "2"]) == 0
    with mrcfile.open(single) as mrc:
        assert mrc.header.ispg == 0 and mrc.data.shape[-2:] == (64, 64)
