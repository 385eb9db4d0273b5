"""OME-Zarr metadata of the wrong JSON type, and chunk sizes of 0, are refused in one line (untrusted-input
audit of 2026-12-06: each was an internal error, exit 1)."""

import json

import numpy as np
import pytest
import tifffile

from emdenoise_gui.cli.exits import EXIT_INPUT
from tests.conftest import main


@pytest.fixture
def store(tmp_path):
    """An NGFF 0.4 store (zarr v2) of a 3 x 32 x 32 uint8 stack."""
    source = tmp_path / "s.tif"
    tifffile.imwrite(source, np.arange(3 * 32 * 32, dtype=np.uint8).reshape(3, 32, 32), imagej=True,
                     metadata={"axes": "ZYX"})
    path = tmp_path / "s.zarr"
    assert main(["convert", str(source), str(path), "--ngff", "0.4"]) == 0
    return path


def _change(store, edit) -> None:
    attrs = json.loads((store / ".zattrs").read_text())
    edit(attrs["multiscales"][0], attrs)
    (store / ".zattrs").write_text(json.dumps(attrs))


CASES = {
    "multiscales a string": lambda entry, attrs: attrs.update(multiscales="abc"),
    "multiscales of strings": lambda entry, attrs: attrs.update(multiscales=["abc"]),
    "axes a number": lambda entry, attrs: entry.update(axes=5),
    "axes without names": lambda entry, attrs: entry.update(axes=[{}, {}, {}]),
    "a list as a unit": lambda entry, attrs: entry["axes"][1].update(unit=[1]),
    "transforms of strings": lambda entry, attrs: entry["datasets"][0].update(coordinateTransformations=["scale"]),
}


@pytest.mark.parametrize("case", CASES)
def test_metadata_of_the_wrong_type_is_refused_in_one_line(store, capsys, case):
    _change(store, CASES[case])
    assert main(["info", str(store)]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error" not in err and "s.zarr" in err, err


def test_a_chunk_size_of_zero_is_refused_in_one_line(store, capsys):
    array = json.loads((store / "0" / ".zarray").read_text())
    array["chunks"] = [0, 16, 16]
    (store / "0" / ".zarray").write_text(json.dumps(array))
    assert main(["info", str(store)]) == EXIT_INPUT
    assert "its chunk size is 0 along an axis" in capsys.readouterr().err


def test_stored_chunks_are_counted_by_listing_not_by_every_grid_position(store):
    """A 20 KB store declaring 2^31 slices had every chunk position listed until memory ran out (audit). A
    .DS_Store beside the chunks is not one of them."""
    from emdenoise_gui.core.io.omezarr import missing_chunks

    array = json.loads((store / "0" / ".zarray").read_text())
    assert missing_chunks(store) == (0, 3, "chunks") and array["chunks"] == [1, 32, 32]
    (store / "0" / ".DS_Store").write_bytes(b"finder")
    (store / "0" / ("." if array.get("dimension_separator", ".") == "." else "/").join(["1", "0", "0"])).unlink()
    array["shape"] = [2**31, 32, 32]
    (store / "0" / ".zarray").write_text(json.dumps(array))
    assert missing_chunks(store) == (2**31 - 2, 2**31, "chunks")


def test_an_unfinished_block_run_names_the_result_it_replaces(store, capsys):
    """A block run with --overwrite killed: its store is refused as unfinished, without a word of the result
    it replaced, kept hidden beside it (kill audit of 2026-12-06)."""
    attrs = json.loads((store / ".zattrs").read_text())
    attrs["emdenoise"] = {"job": "denoise", "blocks": 2}
    (store / ".zattrs").write_text(json.dumps(attrs))
    (store.parent / ".s.zarr.previous").mkdir()
    assert main(["info", str(store)]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "unfinished block run (0 of 2 blocks written" in err and "rename .s.zarr.previous to s.zarr" in err


def test_chunks_of_a_zarr_v3_store_with_dotted_keys_are_counted(tmp_path):
    """c.0.0.0 keys (zarr v3's default encoding with "." as separator) were all counted as missing (review)."""
    import zarr

    from emdenoise_gui.core.io.omezarr import missing_chunks

    path = tmp_path / "dot.zarr"
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    group.attrs["ome"] = {"version": "0.5", "multiscales": [{
        "axes": [{"name": a, "type": "space"} for a in "zyx"],
        "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1.0, 1.0, 1.0]}]}]}]}
    array = group.create_array("0", shape=(4, 32, 32), chunks=(1, 32, 32), dtype="uint8",
                               chunk_key_encoding={"name": "default", "separator": "."})
    array[:] = np.arange(4 * 32 * 32, dtype=np.uint8).reshape(4, 32, 32)
    assert (path / "0" / "c.0.0.0").exists() and missing_chunks(path) == (0, 4, "chunks")
