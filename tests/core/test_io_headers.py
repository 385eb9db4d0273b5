"""Header facts a stack's meaning depends on: compression, MRC axis order and byte order, a missing z step."""

import mrcfile
import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io import open_stack


@pytest.mark.parametrize("compression", ["lzw", "zstd", "jpeg2000"])
def test_compressed_tiffs_read_exactly(tmp_path, compression):
    """An LZW TIFF opened, then failed on its first slice as "damaged" (no decoder installed)."""
    data = (np.arange(4 * 64 * 64).reshape(4, 64, 64) % 4001).astype(np.uint16)
    tifffile.imwrite(tmp_path / "c.tif", data, compression=compression, photometric="minisblack")
    with open_stack(tmp_path / "c.tif") as stack:
        np.testing.assert_array_equal(stack.read(0, 4), data)


def test_a_compression_nobody_decodes_is_named_at_once(tmp_path):
    path = tmp_path / "odd.tif"
    tifffile.imwrite(path, np.zeros((2, 64, 64), np.uint8))
    with tifffile.TiffFile(path) as tif:
        tags = [page.tags["Compression"] for page in tif.pages]
    raw = bytearray(path.read_bytes())
    for tag in tags:  # an unregistered compression code in each page's tag
        raw[tag.valueoffset:tag.valueoffset + 2] = (60001).to_bytes(2, "little")
    path.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="compressed with code 60001, which EMDenoise cannot decode") as error:
        open_stack(path)
    assert "\n" not in str(error.value)


def test_an_mrc_in_another_axis_order_is_refused(tmp_path):
    """mapc, mapr, maps were ignored: the map was read transposed, its voxel sizes on the wrong axes."""
    with mrcfile.new(tmp_path / "zyx.mrc") as mrc:
        mrc.set_data(np.zeros((3, 64, 80), np.float32))
        mrc.voxel_size = (1.0, 2.0, 3.0)
        mrc.header.mapc, mrc.header.mapr, mrc.header.maps = 3, 2, 1
    with pytest.raises(InputError, match=r"axes in the order Z, Y, X \(mapc, mapr, maps = 3, 2, 1\)"):
        open_stack(tmp_path / "zyx.mrc")


def test_a_big_endian_mrc_is_read_by_its_machine_stamp(tmp_path):
    """A big-endian mode-0 file of 256 px sides parsed as little-endian (256 = 0x00000100 reads as 65536 the
    other way round, a plausible size) and was refused as truncated."""
    data = np.random.default_rng(1).integers(-100, 100, (3, 256, 256)).astype(">i1")
    with mrcfile.new(tmp_path / "be.mrc") as mrc:
        mrc.set_data(data)
        mrc.header.byteswap(inplace=True)
        mrc.header.machst = np.frombuffer(bytes([0x11, 0x11, 0, 0]), np.uint8)
    assert (tmp_path / "be.mrc").read_bytes()[212:214] == b"\x11\x11"
    with open_stack(tmp_path / "be.mrc") as stack:
        assert stack.shape == (3, 256, 256)
        np.testing.assert_array_equal(stack[1], data[1])


def test_a_z_step_the_tiff_does_not_give_is_said_to_be_a_guess(tmp_path):
    """The pixel size stood in for a missing z step without a word (an ssTEM stack claimed 4 nm sections)."""
    tifffile.imwrite(tmp_path / "n.tif", np.zeros((5, 64, 64), np.uint8), imagej=True, resolution=(0.25, 0.25),
                     metadata={"axes": "ZYX", "unit": "nm"})
    with open_stack(tmp_path / "n.tif") as stack:
        assert stack.meta.voxel_size_nm == pytest.approx((4.0, 4.0, 4.0))
        assert "z spacing is unknown" in stack.meta.extra["note"]
    tifffile.imwrite(tmp_path / "s.tif", np.zeros((5, 64, 64), np.uint8), imagej=True, resolution=(0.25, 0.25),
                     metadata={"axes": "ZYX", "unit": "nm", "spacing": 50.0})
    with open_stack(tmp_path / "s.tif") as stack:
        assert stack.meta.voxel_size_nm == pytest.approx((50.0, 4.0, 4.0)) and "note" not in stack.meta.extra


def _placed_map(path, origin=(0.0, 0.0, 0.0), start=(0, 0, 0)):
    with mrcfile.new(path) as mrc:
        mrc.set_data(np.random.default_rng(0).normal(size=(6, 64, 64)).astype(np.float32))
        mrc.voxel_size = (2.0, 3.0, 5.0)  # x, y, z in Angstrom
        mrc.header.origin.x, mrc.header.origin.y, mrc.header.origin.z = origin
        mrc.header.nxstart, mrc.header.nystart, mrc.header.nzstart = start
    return path


@pytest.mark.parametrize("slices,origin,start", [(None, (10.0, 20.0, 30.0), (0, 0, 0)),
                                                 ("2:5", (10.0, 20.0, 40.0), (0, 0, 0)),
                                                 ("2:5", (0.0, 0.0, 0.0), (-2, -2, 0))])
def test_an_mrc_output_sits_where_its_input_does(tmp_path, slices, origin, start):
    """The origin and start indices were dropped: a denoised map no longer overlaid its input in ChimeraX."""
    from emdenoise_gui.core.events import run_to_end
    from emdenoise_gui.jobs.stack import convert_job

    source = _placed_map(tmp_path / "in.mrc", origin=(10.0, 20.0, 30.0) if any(origin) else (0.0, 0.0, 0.0),
                         start=(0, 0, 0) if any(origin) else (-2, -2, -2))
    run_to_end(convert_job(source, tmp_path / "out.mrc", slices=slices))
    with mrcfile.open(tmp_path / "out.mrc") as mrc:
        header = mrc.header
        assert (float(header.origin.x), float(header.origin.y), float(header.origin.z)) == pytest.approx(origin)
        assert (int(header.nxstart), int(header.nystart), int(header.nzstart)) == start
        assert mrc.voxel_size.z == pytest.approx(5.0)


def test_damage_messages_say_what_to_do(tmp_path):
    """A damaged TIFF directory or zarr metadata said what was wrong but not what to do."""
    from emdenoise_gui.core.events import run_to_end
    from emdenoise_gui.jobs.stack import convert_job

    tifffile.imwrite(tmp_path / "a.tif", np.zeros((3, 64, 64), np.uint8), photometric="minisblack")
    run_to_end(convert_job(tmp_path / "a.tif", tmp_path / "a.zarr"))
    (tmp_path / "a.zarr" / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group", "attributes": {')
    with pytest.raises(InputError, match="copy it again"):
        open_stack(tmp_path / "a.zarr")


def test_a_reversed_training_rectangle_is_called_empty(tmp_path):
    from emdenoise_gui.training.data import load_volume

    tifffile.imwrite(tmp_path / "a.tif", np.zeros((3, 64, 64), np.uint8), photometric="minisblack")
    with pytest.raises(InputError, match="rectangle 10:0,0:10 is empty"):
        load_volume(f"{tmp_path / 'a.tif'}@10:0,0:10", 16)


def test_a_codec_whose_extension_is_missing_is_named_at_open(tmp_path, monkeypatch):
    """The installed app carries some of imagecodecs' codecs; for the others imagecodecs lends a stand-in that
    raises on use, and such a file read as "damaged" at its first slice (the frozen test saw it)."""
    import imagecodecs

    data = np.zeros((3, 64, 64), np.uint16)
    tifffile.imwrite(tmp_path / "l.tif", data, photometric="minisblack", compression="lzw")

    def stand_in(*args, **kwargs):
        raise imagecodecs.DelayedImportError("lzw_decode")

    monkeypatch.setattr(imagecodecs, "lzw_decode", stand_in)
    monkeypatch.setattr(tifffile.TIFF.DECOMPRESSORS, "_codecs", {})  # tifffile's cache of codecs looked up
    with pytest.raises(InputError, match="compressed with LZW, which EMDenoise cannot decode"):
        open_stack(tmp_path / "l.tif")
