"""Reading every supported layout, writing it back, and the shapes and voxel sizes of real files."""

import os

import mrcfile
import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io import StackWriter, check_output, open_stack

# (file, shape (Z, Y, X), voxel x in nm) as documented in ../shared/data/README.md
REAL_FILES = [
    ("fibsem_flyem_medulla_val_z000-127_128x520x520.tif", (128, 520, 520), 10.0, 10.0),
    ("fibsem_flyem_medulla_train1_250x250x250.tif", (250, 250, 250), 10.0, 10.0),
    ("sstem_isbi2012_train_30x512x512.tif", (30, 512, 512), 4.0, 50.0),
    ("sstem_drosophila_vnc_stack1_20x1024x1024.tif", (20, 1024, 1024), 4.6, 50.0),
    ("sem_zeiss/ZEISS_SEM_multipage.tif", (2, 1536, 2048), 12.33, None),
    ("sem_zeiss/test_tiff_Zeiss_SEM_1k.tif", (1, 768, 1024), 2615.0, None),
    ("sem_zeiss/test_tiff_Zeiss_SEM_512pix.tif", (1, 384, 512), 5.825, None),
    ("mrc/EMD-3197.map", (20, 20, 20), 1.14, 1.14),
    ("mrc/aspire_sample_particles_17x200x200.mrcs", (17, 200, 200), None, None),
    ("cryoet/cylindra_13pf_MT_36x206x94.tif", (36, 206, 94), 1.052, 1.052),
    ("cryoet/cylindra_13pf_MT_36x206x94_converted.mrc", (36, 206, 94), 1.052, 1.052),
]


@pytest.mark.parametrize("name,shape,voxel_x,voxel_z", REAL_FILES)
def test_real_files_shape_and_voxel_size(shared_data, name, shape, voxel_x, voxel_z):
    with open_stack(shared_data / name) as stack:
        assert stack.shape == shape
        voxel = stack.meta.voxel_size_nm
        if voxel_x is None:
            assert voxel is None
        else:
            assert voxel[2] == pytest.approx(voxel_x, rel=1e-4)
            assert voxel[1] == pytest.approx(voxel_x, rel=1e-4)
            if voxel_z is not None:
                assert voxel[0] == pytest.approx(voxel_z, rel=1e-4)
        last = stack[len(stack) - 1]
        assert last.shape == shape[1:]


def test_slices_match_tifffile(shared_data):
    path = shared_data / "sem_zeiss/ZEISS_SEM_multipage.tif"  # two scattered pages, not read as raw slices
    expected = tifffile.imread(path)
    with open_stack(path) as stack:
        assert not stack.meta.raw_slices
        np.testing.assert_array_equal(stack.read(0, 2), expected)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32])
@pytest.mark.parametrize("layout", ["plain", "imagej", "ome", "bigtiff", "zlib", "single"])
def test_tiff_layouts_roundtrip(tmp_path, dtype, layout):
    rng = np.random.default_rng(0)
    data = (rng.random((3, 40, 56)) * 1000).astype(dtype)
    kwargs = {
        "plain": {"photometric": "minisblack"}, "bigtiff": {"bigtiff": True, "photometric": "minisblack"},
        "zlib": {"compression": "zlib", "photometric": "minisblack"},
        "ome": {"ome": True, "metadata": {"axes": "ZYX", "PhysicalSizeX": 0.005, "PhysicalSizeY": 0.005,
                                          "PhysicalSizeZ": 0.02}},
        "imagej": {"imagej": True, "resolution": (0.2, 0.2), "metadata": {"axes": "ZYX", "spacing": 20.0, "unit": "nm"}},
        "single": {},
    }[layout]
    if layout == "imagej" and dtype == np.int16:
        pytest.skip("ImageJ has no int16 type")
    if layout == "single":
        data = data[0]
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, data, **kwargs)
    with open_stack(path) as stack:
        assert stack.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(stack.read(0, len(stack)), data.reshape(-1, 40, 56))
        if layout in ("ome", "imagej"):
            assert stack.meta.voxel_size_nm == pytest.approx((20.0, 5.0, 5.0))
        assert stack.meta.raw_slices == (layout != "zlib")


def test_imagej_hyperstack_with_singleton_channel(tmp_path):
    data = np.arange(4 * 32 * 48, dtype=np.uint16).reshape(4, 1, 32, 48)
    path = tmp_path / "h.tif"
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "ZCYX"})
    with open_stack(path) as stack:
        assert stack.shape == (4, 32, 48)
        np.testing.assert_array_equal(stack[3], data[3, 0])


@pytest.mark.parametrize("dtype,mode", [(np.int8, 0), (np.int16, 1), (np.float32, 2), (np.uint16, 6)])
def test_mrc_modes(tmp_path, dtype, mode):
    data = (np.random.default_rng(1).random((5, 24, 40)) * 100).astype(dtype)
    path = tmp_path / "a.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(data)
        mrc.voxel_size = 12.5
    with open_stack(path) as stack:
        assert stack.meta.extra["mode"] == mode
        assert stack.meta.voxel_size_nm == pytest.approx((1.25, 1.25, 1.25))
        np.testing.assert_array_equal(stack.read(0, 5), data)


@pytest.mark.parametrize("suffix,dtype", [(".tif", np.float32), (".tif", np.uint16), (".tif", np.int16),
                                          (".tif", np.uint8), (".mrc", np.float32), (".mrc", np.int16),
                                          (".mrc", np.uint8), (".ome.tif", np.uint8), (".OME.TIFF", np.float32)])
def test_writer_roundtrip_keeps_voxel_size(tmp_path, suffix, dtype):
    data = (np.random.default_rng(2).random((4, 33, 47)) * 200).astype(dtype)
    path = tmp_path / f"out{suffix}"
    with StackWriter(path, data.shape, dtype, (30.0, 2.5, 2.5)) as writer:
        for z in (3, 1, 0, 2):  # any order
            writer.write(z, data[z])
        writer.commit()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    with open_stack(path) as stack:
        np.testing.assert_array_equal(stack.read(0, 4), data)
        assert stack.meta.voxel_size_nm == pytest.approx((30.0, 2.5, 2.5), rel=1e-5)
    if suffix == ".tif" and dtype != np.int16:
        with tifffile.TiffFile(path) as tif:  # what Fiji reads: an ImageJ hyperstack in nm
            assert tif.is_imagej and tif.imagej_metadata["unit"] == "nm"
            assert tif.imagej_metadata["spacing"] == pytest.approx(30.0)
    if suffix.lower().startswith(".ome"):  # the name promises OME-XML (it was an ImageJ TIFF without any)
        with tifffile.TiffFile(path) as tif:
            assert tif.is_ome and not tif.is_imagej and 'PhysicalSizeZ="30' in tif.ome_metadata


def test_8_bit_data_written_as_mrc_reads_back_as_8_bit(tmp_path):
    """uint8 is stored widened to mode 6 (MRC's mode 0 is signed to most readers) and was read back as
    uint16: scaled by its own minimum and maximum, not 0-255 (an 8-bit reference saved as .mrc scored 3.7 dB
    lower in compare: metrics audit). A header label marks it; data another program wrote beyond 255 under
    that label stays 16-bit."""
    data = (np.random.default_rng(3).random((3, 16, 20)) * 150 + 40).astype(np.uint8)
    path = tmp_path / "eight.mrc"
    with StackWriter(path, data.shape, np.uint8, (10.0, 10.0, 10.0)) as writer:
        for z in range(3):
            writer.write(z, data[z])
        writer.commit()
    with mrcfile.open(path) as mrc:  # what other programs read: the same values, 16-bit
        assert mrc.data.dtype == np.uint16 and int(mrc.header.mode) == 6
        np.testing.assert_array_equal(mrc.data, data)
    with open_stack(path) as stack:
        assert stack.dtype == np.uint8 and "stored_dtype" not in stack.meta.extra
        np.testing.assert_array_equal(stack.read(0, 3), data)
    with mrcfile.open(path, mode="r+") as mrc:  # edited elsewhere, the label and the header's dmax kept
        mrc.data[1, 0, 0] = 868
    with open_stack(path) as stack:  # 868 was cast to 100
        assert stack.dtype == np.uint8
        np.testing.assert_array_equal(stack[0], data[0])
        with pytest.raises(InputError, match="slice 1 holds values up to 868, though its header labels it 8-bit"):
            stack[1]
    with mrcfile.open(path, mode="r+") as mrc:  # ... and with the header's statistics updated
        mrc.update_header_stats()
    with open_stack(path) as stack:
        assert stack.dtype == np.uint16 and stack[1][0, 0] == 868


def test_writer_casts_integers_with_rounding_and_clipping(tmp_path):
    path = tmp_path / "o.tif"
    values = np.array([[-5.0, 0.4, 0.6, 254.5, 262.0] * 2] * 8, dtype=np.float32)  # an overshoot: clipped
    with StackWriter(path, (1, 8, 10), np.uint8) as writer:
        writer.write(0, values)
        writer.commit()
    with open_stack(path) as stack:
        assert stack[0][0, :5].tolist() == [0, 0, 1, 254, 255]


def test_writer_leaves_nothing_when_not_committed(tmp_path):
    path = tmp_path / "o.tif"
    with pytest.raises(RuntimeError):
        with StackWriter(path, (2, 16, 16), np.float32) as writer:
            writer.write(0, np.zeros((16, 16)))
            raise RuntimeError("job failed")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_no_longer_takes_the_result_is_one_line(tmp_path, monkeypatch):
    """The results folder made read-only while a job ran: 'internal error (PermissionError ...)' with a
    traceback of two chained errors, the second from removing the staged file (jobs audit, 2026-12-06)."""
    from emdenoise_gui.core.io import writer as writer_module

    def refused(*_args):
        raise PermissionError(13, "Permission denied")

    path = tmp_path / "o.tif"
    with pytest.raises(InputError, match="cannot be put in place \\(Permission denied\\): the folder .* can no longer "
                                         "be written") as caught:
        with StackWriter(path, (1, 16, 16), np.float32) as writer:
            writer.write(0, np.zeros((16, 16)))
            monkeypatch.setattr(writer_module.os, "replace", refused)
            monkeypatch.setattr(type(writer.tmp), "unlink", refused)  # nor can the staged file go
            writer.commit()
    assert caught.value.path == path and not path.exists()


def test_check_output_refuses_input_and_existing(tmp_path):
    src = write = tmp_path / "in.tif"
    tifffile.imwrite(write, np.zeros((16, 16), np.uint8))
    with pytest.raises(InputError, match="also an input"):
        check_output(tmp_path / "." / "in.tif", [src])
    with pytest.raises(InputError, match="already exists"):
        check_output(src, [])
    assert check_output(src, [], overwrite=True) == src
    with pytest.raises(InputError, match="name the output .tif, .mrc or .zarr"):
        check_output(tmp_path / "out.png", [])


@pytest.mark.parametrize("flags,expected", [(0, 200), (1, -56)])
def test_imod_mode0_bytes_are_unsigned_unless_flagged(tmp_path, flags, expected):
    """IMOD (.st/.ali/.rec) writes mode 0 as unsigned bytes; bit 0 of imodFlags marks signed ones."""
    path = tmp_path / "tilt.st"
    with mrcfile.new(path) as mrc:
        mrc.set_data(np.full((2, 16, 16), -56, np.int8))  # the byte 0xC8: 200 unsigned, -56 signed
    with open(path, "r+b") as fh:
        fh.seek(152)
        fh.write(np.array([1146047817, flags], "<i4").tobytes())
    with open_stack(path) as stack:
        assert int(stack[0][0, 0]) == expected


def _raw_stack(path, data):
    """``data`` (Z, Y, X) written uncompressed as the TIFF or MRC ``path`` (its slices are read raw)."""
    if path.suffix == ".tif":
        tifffile.imwrite(path, data, imagej=True, metadata={"axes": "ZYX"})
    else:
        with mrcfile.new(path) as mrc:
            mrc.set_data(data)
    return path


@pytest.mark.parametrize("suffix", [".tif", ".mrc"])
def test_a_file_cut_short_while_open_raises_instead_of_crashing(tmp_path, suffix):
    """Raw slices are read, not memory-mapped: saving another file over an open stack (Fiji's Save) used to
    end the process with SIGBUS at the next read; now the read says what happened."""
    data = np.arange(3 * 64 * 64, dtype=np.uint16).reshape(3, 64, 64)
    path = _raw_stack(tmp_path / f"a{suffix}", data)
    with open_stack(path) as stack:
        assert stack.meta.raw_slices
        np.testing.assert_array_equal(stack[2], data[2])
        path.write_bytes(path.read_bytes()[:2048])  # the same file, truncated in place
        with pytest.raises(InputError, match="was replaced or changed since it was opened"):
            stack[2]


@pytest.mark.parametrize("suffix", [".tif", ".mrc"])
def test_a_stack_replaced_by_one_of_the_same_shape_is_not_read_on(tmp_path, suffix):
    """A denoise job read its first slices from the stack and the rest from the file another program put in
    its place (same shape and type), and recorded the mix as a finished result (jobs audit, 2026-12-06)."""
    data = np.arange(3 * 64 * 64, dtype=np.uint16).reshape(3, 64, 64)
    path, other = _raw_stack(tmp_path / f"a{suffix}", data), _raw_stack(tmp_path / f"b{suffix}", data[::-1].copy())
    with open_stack(path) as stack:
        np.testing.assert_array_equal(stack[0], data[0])
        os.replace(other, path)  # saved elsewhere and moved into place, as editors save
        with pytest.raises(InputError, match="was replaced or changed since it was opened") as caught:
            stack[1]
        assert caught.value.path == path


def test_an_mrc_voxel_size_is_read_without_its_extended_header(tmp_path, monkeypatch):
    """mrcfile's header reader read the whole extended header: 800 MB of one froze the app's window for 3 s
    when the stack was added (large-input audit). The cell and sampling come from the first 1024 bytes."""
    path = tmp_path / "ext.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(np.zeros((4, 16, 16), np.int16))
        mrc.set_extended_header(np.zeros(4096, np.int32))
        mrc.voxel_size = (7.5, 7.5, 12.0)
    monkeypatch.setattr(mrcfile, "open", lambda *a, **k: pytest.fail("the whole header was read"))
    with open_stack(path) as stack:
        assert stack.meta.voxel_size_nm == pytest.approx((1.2, 0.75, 0.75))
        assert "16,384-byte extended header" in stack.meta.extra["not_kept"]
