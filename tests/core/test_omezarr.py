"""OME-Zarr (core/io/omezarr.py): round trips, NGFF metadata, napari-compatible reading, the writer."""

import json

import numpy as np
import pytest

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.events import run_to_end
from emdenoise_gui.core.io import omezarr, open_stack
from emdenoise_gui.core.io.writer import StackWriter
from emdenoise_gui.jobs.stack import convert_job
from tests.conftest import main, synthetic_em_stack

VOXEL = (10.0, 4.0, 4.0)


def write(path, data, voxel=VOXEL, ngff=None):
    with StackWriter(path, data.shape, data.dtype, voxel, ngff=ngff) as writer:
        for z, image in enumerate(data):
            writer.write(z, image)
        writer.commit()
    return path


@pytest.mark.parametrize("ngff", ["0.5", "0.4"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_round_trip_keeps_pixels_and_voxel_size(tmp_path, ngff, dtype):
    data = (synthetic_em_stack(depth=20, height=40, width=36).astype(np.float32) * 3).astype(dtype)
    path = write(tmp_path / "v.zarr", data, ngff=ngff)
    with open_stack(path) as stack:
        assert stack.meta.format == f"OME-Zarr {ngff}" and stack.meta.voxel_size_nm == VOXEL
        assert stack.dtype == np.dtype(dtype) and np.array_equal(stack.read(0, 20), data)
    assert not list(tmp_path.glob(".*partial"))  # the temporary store was renamed into place


def test_layout_is_one_slice_per_chunk_and_sharded_in_0_5(tmp_path):
    path = write(tmp_path / "v.zarr", synthetic_em_stack(depth=20, height=40, width=36))
    meta = json.loads((path / "zarr.json").read_text())["attributes"]["ome"]
    assert meta["version"] == "0.5"
    scale = meta["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["scale"]
    assert scale == list(VOXEL) and [a["unit"] for a in meta["multiscales"][0]["axes"]] == ["nanometer"] * 3
    array, _, _ = omezarr.open_image(path)
    assert array.chunks == (1, 40, 36) and array.shards == (16, 40, 36)


def test_unknown_voxel_size_stays_unknown(tmp_path):
    path = write(tmp_path / "v.zarr", synthetic_em_stack(depth=2), voxel=None)
    with open_stack(path) as stack:
        assert stack.meta.voxel_size_nm is None


def test_the_store_opens_in_zarr_and_in_ome_zarr_pys_reader(tmp_path):
    """What napari's OME-Zarr plugin uses (ome-zarr-py's Reader) sees the image and its scale."""
    zarr = pytest.importorskip("zarr")
    pytest.importorskip("ome_zarr")
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    data = synthetic_em_stack(depth=4, height=40, width=36)
    for ngff in ("0.5", "0.4"):
        path = write(tmp_path / f"v{ngff}.zarr", data, ngff=ngff)
        assert np.array_equal(zarr.open_group(str(path), mode="r")["0"][:], data)
        node = list(Reader(parse_url(str(path)))())[0]
        assert np.array_equal(np.asarray(node.data[0]), data)
        assert node.metadata["coordinateTransformations"][0][0]["scale"] == list(VOXEL)


def test_multichannel_and_foreign_units(tmp_path):
    zarr = pytest.importorskip("zarr")
    group = zarr.open_group(str(tmp_path / "c.zarr"), mode="w", zarr_format=3)
    axes = [{"name": "c", "type": "channel"}] + [{"name": a, "type": "space", "unit": "micrometer"} for a in "zyx"]
    group.attrs["ome"] = {"version": "0.5", "multiscales": [{"axes": axes, "datasets": [
        {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 0.05, 0.004, 0.004]}]}]}]}
    group.create_array("0", shape=(1, 3, 16, 16), chunks=(1, 1, 16, 16), dtype="uint16")
    with open_stack(tmp_path / "c.zarr") as stack:  # one channel: read as (Z, Y, X), units converted
        assert stack.shape == (3, 16, 16) and stack.meta.voxel_size_nm == pytest.approx((50.0, 4.0, 4.0))
    group.create_array("1", shape=(2, 3, 16, 16), chunks=(1, 1, 16, 16), dtype="uint16")
    group.attrs["ome"] = {**group.attrs["ome"], "multiscales": [{"axes": axes, "datasets": [
        {"path": "1", "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 1, 1]}]}]}]}
    with pytest.raises(InputError, match="has 2 channels"):
        open_stack(tmp_path / "c.zarr")


def test_a_two_dimensional_image_reads_as_one_slice(tmp_path):
    """NGFF allows an image with axes y, x only; it crashed ("cannot reshape array of size 64")."""
    zarr = pytest.importorskip("zarr")
    group = zarr.open_group(str(tmp_path / "yx.zarr"), mode="w", zarr_format=3)
    axes = [{"name": a, "type": "space", "unit": "nanometer"} for a in "yx"]
    group.attrs["ome"] = {"version": "0.5", "multiscales": [{"axes": axes, "datasets": [
        {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [4.0, 4.0]}]}]}]}
    image = np.arange(24 * 20, dtype=np.uint16).reshape(24, 20)
    group.create_array("0", shape=image.shape, chunks=(8, 8), dtype="uint16")[:] = image
    with open_stack(tmp_path / "yx.zarr") as stack:
        assert stack.shape == (1, 24, 20) and stack.meta.voxel_size_nm == pytest.approx((4.0, 4.0, 4.0))
        np.testing.assert_array_equal(stack[0], image)


def _image(path, names, data, scale, multiscale_scale=None):
    """An NGFF 0.5 image at ``path`` with axes ``names`` (c: channel, t: time, else space in nm)."""
    zarr = pytest.importorskip("zarr")
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    kinds = {"c": {"type": "channel"}, "t": {"type": "time"}}
    axes = [{"name": a, **kinds.get(a, {"type": "space", "unit": "nanometer"})} for a in names]
    entry = {"axes": axes, "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale",
                                                                                     "scale": scale}]}]}
    if multiscale_scale:
        entry["coordinateTransformations"] = [{"type": "scale", "scale": multiscale_scale}]
    group.attrs["ome"] = {"version": "0.5", "multiscales": [entry]}
    group.create_array("0", shape=data.shape, chunks=data.shape, dtype=data.dtype)[:] = data
    return path


def test_three_channels_are_refused_not_read_as_slices(tmp_path):
    """A (c, y, x) image was read as 3 slices, its channels denoised as neighbours and written as z."""
    data = synthetic_em_stack(depth=3, height=32, width=32)
    with pytest.raises(InputError, match="has 3 channels"):
        open_stack(_image(tmp_path / "cyx.zarr", "cyx", data, [1, 4, 4]))


def test_time_points_read_as_slices_and_two_volumes_are_refused(tmp_path):
    data = synthetic_em_stack(depth=3, height=32, width=32)
    with open_stack(_image(tmp_path / "tyx.zarr", "tyx", data, [1, 4, 4])) as stack:  # repeat scans
        assert stack.shape == (3, 32, 32) and stack.meta.voxel_size_nm == pytest.approx((4.0, 4.0, 4.0))
        assert "time points" in stack.meta.extra["note"]
        np.testing.assert_array_equal(stack[2], data[2])
    volumes = np.stack([data, data])[:, :, None]  # (t=2, z=3, c=1, y, x): not NGFF's order, nor one volume
    with pytest.raises(InputError, match="more than one volume"):
        open_stack(_image(tmp_path / "tz.zarr", "tzcyx", volumes, [1, 1, 1, 1, 1]))
    one = np.stack([data])[:, None]  # (t=1, c=1, z=3, y, x): the t and c of length 1 are dropped
    with open_stack(_image(tmp_path / "tczyx.zarr", "tczyx", one, [1, 1, 50, 4, 4])) as stack:
        assert stack.shape == (3, 32, 32) and stack.meta.voxel_size_nm == pytest.approx((50.0, 4.0, 4.0))
        np.testing.assert_array_equal(stack[1], data[1])


def test_time_points_in_place_of_one_z_plane_take_the_pixel_size_as_spacing(tmp_path):
    data = synthetic_em_stack(depth=3, height=32, width=32)[:, None]  # (t=3, z=1, y, x)
    with open_stack(_image(tmp_path / "tz.zarr", "tzyx", data, [1, 50, 4, 4])) as stack:
        assert stack.shape == (3, 32, 32) and stack.meta.voxel_size_nm == pytest.approx((4.0, 4.0, 4.0))
        assert "time points" in stack.meta.extra["note"]


def test_a_scale_that_is_not_numbers_leaves_the_voxel_size_unknown(tmp_path):
    data = synthetic_em_stack(depth=2, height=32, width=32)[None]
    with open_stack(_image(tmp_path / "n.zarr", "czyx", data, [None, 2, 3, 3])) as stack:
        assert stack.shape == (2, 32, 32) and stack.meta.voxel_size_nm is None


def test_a_scale_on_the_multiscale_multiplies_the_levels(tmp_path):
    data = synthetic_em_stack(depth=2, height=32, width=32)
    path = _image(tmp_path / "m.zarr", "zyx", data, [1, 1, 1], multiscale_scale=[50, 4, 4])
    with open_stack(path) as stack:
        assert stack.meta.voxel_size_nm == pytest.approx((50.0, 4.0, 4.0))


def test_damaged_array_metadata_is_one_line(tmp_path):
    """Binary junk in an array's metadata file raised UnicodeDecodeError ("internal error")."""
    path = write(tmp_path / "v.zarr", synthetic_em_stack(depth=2), ngff="0.4")
    (path / "0" / ".zarray").write_bytes(bytes(range(128, 256)))
    with pytest.raises(InputError):
        open_stack(path)


def test_plain_zarr_and_plain_folders_are_refused_in_one_line(tmp_path):
    zarr = pytest.importorskip("zarr")
    zarr.open_group(str(tmp_path / "plain.zarr"), mode="w")
    with pytest.raises(InputError, match="without OME-Zarr"):
        open_stack(tmp_path / "plain.zarr")
    (tmp_path / "folder").mkdir()
    with pytest.raises(InputError, match="not an image file or zarr store"):
        open_stack(tmp_path / "folder")


def test_overwrite_replaces_a_store_but_never_another_folder(tmp_path):
    data = synthetic_em_stack(depth=2)
    path = write(tmp_path / "v.zarr", data)
    with StackWriter(path, data.shape, data.dtype, overwrite=True) as writer:
        for z in range(2):
            writer.write(z, data[z] // 2)
        writer.commit()
    with open_stack(path) as stack:
        assert np.array_equal(stack.read(0, 2), data // 2)
    assert [p.name for p in tmp_path.iterdir()] == ["v.zarr"]  # the old store was moved aside and removed
    other = tmp_path / "notes.zarr"
    other.mkdir()
    (other / "mine.txt").write_text("keep")
    assert main(["convert", str(path), str(other), "--overwrite"]) == 2
    assert (other / "mine.txt").read_text() == "keep"


def test_a_failed_write_leaves_nothing(tmp_path):
    data = synthetic_em_stack(depth=3)
    with pytest.raises(RuntimeError):
        with StackWriter(tmp_path / "v.zarr", data.shape, data.dtype) as writer:
            writer.write(0, data[0])
            raise RuntimeError("cancelled")
    assert list(tmp_path.iterdir()) == []


def test_convert_between_tiff_mrc_and_ome_zarr(tmp_path, capsys):
    import tifffile

    data = synthetic_em_stack(depth=5)
    tifffile.imwrite(tmp_path / "in.tif", data, imagej=True, resolution=(0.25, 0.25),
                     metadata={"axes": "ZYX", "spacing": 10.0, "unit": "nm"})
    assert main(["convert", str(tmp_path / "in.tif"), str(tmp_path / "a.zarr"), "--ngff", "0.4"]) == 0
    assert main(["convert", str(tmp_path / "a.zarr"), str(tmp_path / "b.mrc")]) == 0
    run_to_end(convert_job(tmp_path / "b.mrc", tmp_path / "c.zarr", slices="1:4"))
    with open_stack(tmp_path / "a.zarr") as a, open_stack(tmp_path / "b.mrc") as b, \
            open_stack(tmp_path / "c.zarr") as c:
        assert a.meta.voxel_size_nm == pytest.approx((10.0, 4.0, 4.0))
        assert b.meta.voxel_size_nm == pytest.approx((10.0, 4.0, 4.0))
        assert np.array_equal(a.read(0, 5), data) and np.array_equal(b.read(0, 5), data)
        assert np.array_equal(c.read(0, 3), data[1:4])


def test_info_notes_chunks_a_store_lacks(tmp_path, capsys):
    """zarr reads a chunk that is not stored as 0: an incompletely copied store read as partly black without a
    word. `info` now counts them (a complete store gets no note)."""
    path = write(tmp_path / "v.zarr", synthetic_em_stack(depth=4, height=24, width=20), ngff="0.4")
    assert omezarr.missing_chunks(path) == (0, 4, "chunks")
    assert main(["info", str(path)]) == 0 and "not stored" not in capsys.readouterr().out
    chunk = next(p for p in (path / "0").rglob("*") if p.is_file() and not p.name.startswith((".", "zarr")))
    chunk.unlink()
    assert omezarr.missing_chunks(path) == (1, 4, "chunks")
    assert main(["info", str(path)]) == 0
    assert "1 of 4 chunks are not stored and read as the fill value" in capsys.readouterr().out


def test_a_complete_sharded_store_of_any_depth_has_no_missing_chunks(tmp_path, capsys):
    """Every complete NGFF 0.5 store whose depth was not a multiple of the 16-slice shard got the note
    "-12 of 20 chunks are not stored" (zarr counts a shard's chunks at its full size)."""
    path = write(tmp_path / "v.zarr", synthetic_em_stack(depth=20, height=24, width=20), ngff="0.5")
    assert omezarr.missing_chunks(path) == (0, 2, "shards")
    assert main(["info", str(path)]) == 0 and "not stored" not in capsys.readouterr().out
    shard = next(p for p in (path / "0").rglob("*") if p.is_file() and p.name != "zarr.json")
    shard.unlink()
    assert omezarr.missing_chunks(path) == (1, 2, "shards")


def test_a_store_moved_while_read_is_an_error_not_zeros(tmp_path):
    """zarr reads chunks that are no longer there as zeros: a denoise wrote a partly black result, exit 0."""
    import shutil

    from emdenoise_gui.core.io import open_stack
    from emdenoise_gui.core.io.omezarr import create

    store = tmp_path / "s.zarr"
    array = create(store, (4, 16, 16), np.uint8, (10.0, 5.0, 5.0), "0.4")
    array[:] = 7
    with open_stack(store) as stack:
        assert stack[0].max() == 7
        shutil.move(store, tmp_path / "elsewhere.zarr")
        with pytest.raises(InputError, match="was moved or deleted while it was read"):
            stack[2]


@pytest.mark.parametrize("ngff", ["0.4", "0.5"])
def test_a_chunk_removed_or_rewritten_during_a_job_fails_its_slice_not_zeros(tmp_path, ngff):
    """A chunk (or shard) file deleted while a job read the store gave zero slices with exit 0; a store swapped
    for another of the same shape gave a mix of the two (audit of 2026-12-06)."""
    data = synthetic_em_stack(6, 32, 32, seed=4)
    store = write(tmp_path / "s.zarr", data, ngff=ngff)
    with open_stack(store) as stack:
        assert stack.hold_still() == ""  # nothing missing at the start
        np.testing.assert_array_equal(stack[1], data[1])
        files = sorted(p for p in (store / "0").rglob("*")
                       if p.is_file() and p.name != "zarr.json" and not p.name.startswith("."))
        victim = files[-1]  # the last slice's chunk (0.4), the one shard (0.5)
        victim.unlink()
        with pytest.raises(InputError, match="changed while it was read"):
            stack[5]
    with open_stack(write(tmp_path / "t.zarr", data, ngff=ngff)) as stack:
        stack.hold_still()
        shard = sorted(p for p in (tmp_path / "t.zarr" / "0").rglob("*")
                       if p.is_file() and p.name != "zarr.json" and not p.name.startswith("."))[0]
        import os

        shard.write_bytes(shard.read_bytes())  # rewritten in place: another version's bytes, a later time
        os.utime(shard, ns=(shard.stat().st_atime_ns, shard.stat().st_mtime_ns + 10**9))
        with pytest.raises(InputError, match="changed while it was read"):
            stack[0]


def test_chunks_missing_when_a_job_starts_are_noted_once(tmp_path, capsys):
    """The CLI noted them before denoise and convert only; a job (the app's too) now says so itself."""
    data = synthetic_em_stack(4, 32, 32, seed=5)
    store = write(tmp_path / "s.zarr", data, ngff="0.4")
    next(p for p in (store / "0").rglob("*") if p.is_file() and p.name[0].isdigit()).unlink()
    with open_stack(store) as stack:
        assert stack.hold_still().startswith("1 of 4 chunks are not stored and read as the fill value")
    assert main(["denoise", str(store), "-o", str(tmp_path / "d.tif"), "--method", "gaussian"]) == 0
    assert capsys.readouterr().err.count("are not stored and read as the fill value") == 1


def test_bytes_damaged_in_a_store_we_wrote_are_refused_not_decoded(tmp_path):
    """A chunk's bytes changed on the disk decoded into wrong pixels with exit 0 (audit of 2026-12-06): the app's
    NGFF 0.5 stores carry zstd's checksum."""
    data = synthetic_em_stack(4, 64, 64, seed=1)
    store = write(tmp_path / "s.zarr", data, ngff="0.5")
    shard = next(p for p in (store / "0").rglob("*") if p.is_file() and p.name != "zarr.json")
    damaged = bytearray(shard.read_bytes())
    damaged[40] ^= 0xFF
    shard.write_bytes(bytes(damaged))
    with open_stack(store) as stack, pytest.raises(InputError, match="cannot read slice 0"):
        stack[0]


def test_stray_files_in_the_array_folder_do_not_hide_missing_chunks(tmp_path):
    """A .DS_Store or macOS ._ files in the folder counted as chunks: 1 missing + 1 stray read as none missing
    (review of 2026-12-06)."""
    store = write(tmp_path / "s.zarr", synthetic_em_stack(4, 32, 32, seed=6), ngff="0.4")
    next(p for p in (store / "0").rglob("*") if p.is_file() and p.name[0].isdigit()).unlink()
    (store / "0" / ".DS_Store").write_bytes(b"x")
    (store / "0" / "._1").write_bytes(b"x")
    with open_stack(store) as stack:
        assert stack.hold_still().startswith("1 of 4 chunks are not stored")


def test_a_block_holds_only_the_files_of_its_slices(tmp_path):
    """Each block of a block run listed the whole input store (100 blocks of an 800-slice store: 33 s against
    8 s); now it stamps the files of the slices it reads."""
    store = write(tmp_path / "s.zarr", synthetic_em_stack(8, 32, 32, seed=6), ngff="0.4")
    with open_stack(store) as stack:
        assert stack.hold_still(range(2, 5)) == ""
        assert len(stack._reader._held) == 3  # one chunk per slice here
