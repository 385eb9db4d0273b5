"""What the metadata audit of 2026-12-07 found: outputs that said nothing of how they were made, acquisition
metadata dropped without a word, pixel sizes a file gives read as unknown, notes that said something false."""

import mrcfile
import numpy as np
import pytest
import tifffile
import zarr

from emdenoise_gui.core.io import image_stem, open_stack
from tests.conftest import main

STACK = (np.arange(4 * 48 * 56) % 200).astype(np.uint8).reshape(4, 48, 56)


def _imagej(path, **metadata):
    axes = metadata.pop("axes", "ZYX")
    tifffile.imwrite(path, STACK, imagej=True, resolution=(1 / 4, 1 / 4), metadata={"axes": axes, "unit": "nm",
                                                                                    **metadata})
    return path


def test_a_tiff_output_keeps_the_inputs_imagej_info_and_says_how_it_was_made(tmp_path):
    src = _imagej(tmp_path / "in.tif", spacing=40, Info="Microscope=Helios\nHV=2kV")
    out = tmp_path / "out.tif"
    assert main(["denoise", str(src), "-o", str(out), "--method", "gaussian", "--slices", "1:3"]) == 0
    with tifffile.TiffFile(out) as tif:
        info = tif.imagej_metadata["Info"]
        assert tif.pages[0].software.startswith("EMDenoise ")
    assert info.startswith("Microscope=Helios\nHV=2kV\n\nMade by EMDenoise ")
    assert "with the filter gaussian from in.tif, its slices 1 to 2 (counted from 0)" in info


def test_mrc_zarr_and_ome_tiff_outputs_say_how_they_were_made(tmp_path, capsys):
    src = _imagej(tmp_path / "in.tif", spacing=40, Info="notes")
    for name in ("out.mrc", "out.zarr", "out.ome.tif"):
        assert main(["denoise", str(src), "-o", str(tmp_path / name), "--method", "median"]) == 0
    err = capsys.readouterr().err
    assert "ImageJ Info text (its acquisition notes) is not kept in out.mrc" in err
    assert "is not kept in out.ome.tif" not in err  # a TIFF keeps it, an OME-TIFF in its Description
    with mrcfile.open(tmp_path / "out.mrc") as mrc:
        labels = b"".join(bytes(label) for label in mrc.header.label[:int(mrc.header.nlabl)])
    assert b"Made by EMDenoise" in labels and b"with the filter median from in.tif" in labels
    made = dict(zarr.open_group(str(tmp_path / "out.zarr"), mode="r").attrs)["emdenoise"]["made_by"]
    assert made.startswith("Made by EMDenoise") and "median from in.tif" in made
    with tifffile.TiffFile(tmp_path / "out.ome.tif") as tif:  # the Info was dropped there (review)
        assert "<Description>notes\n\nMade by EMDenoise" in tif.ome_metadata


def test_acquisition_metadata_a_tiff_output_cannot_keep_is_said(tmp_path, capsys):
    src = _imagej(tmp_path / "in.tif", spacing=40, Labels=["a", "b", "c", "d"], xorigin=-100, yorigin=-50)
    assert main(["denoise", str(src), "-o", str(tmp_path / "out.tif"), "--method", "gaussian"]) == 0
    err = capsys.readouterr().err
    assert "its slice labels (ImageJ); its origin (ImageJ xorigin, yorigin, zorigin): not written to outputs" in err
    assert main(["info", str(src)]) == 0 and "its origin (ImageJ" in capsys.readouterr().out


def test_a_thermo_fisher_tiff_gives_its_pixel_size(tmp_path, capsys):
    path = tmp_path / "helios.tif"
    text = "[User]\r\nDate=01/01/2024\r\n[Scan]\r\nPixelWidth=4.5e-09\r\nPixelHeight=5e-09\r\n"
    tifffile.imwrite(path, STACK[0], extratags=[(34682, "s", 0, text, True)])
    with open_stack(path) as stack:
        assert stack.meta.voxel_size_nm == pytest.approx((4.5, 5.0, 4.5))
        assert stack.meta.source == "Thermo Fisher (FEI) metadata"
        assert "Thermo Fisher (FEI) acquisition settings" in stack.meta.extra["not_kept"]
    endless = tmp_path / "endless.tif"  # an infinite size was written out as Infinity (review)
    tifffile.imwrite(endless, STACK[0], extratags=[(34682, "s", 0, text.replace("4.5e-09", "1e300"), True)])
    with open_stack(endless) as stack:
        assert stack.meta.voxel_size_nm is None


def test_time_points_name_the_z_step_not_taken_and_the_output_note_is_true(tmp_path, capsys):
    """A stack saved as frames lost its stated 40 nm step, and the output's note said the input gave none."""
    src = _imagej(tmp_path / "frames.tif", spacing=40, axes="TYX")
    with open_stack(src) as stack:
        assert stack.meta.voxel_size_nm == pytest.approx((4.0, 4.0, 4.0))
        assert "not the file's z step of 40 nm" in stack.meta.extra["note"]
    assert main(["denoise", str(src), "-o", str(tmp_path / "out.tif"), "--method", "gaussian"]) == 0
    err = capsys.readouterr().err
    assert "which the input does not give" not in err
    assert "the input's slices are time points, not z planes (the input's own z step of 40 nm" in err


def test_info_names_a_position_and_the_float16_note_is_true(tmp_path, capsys):
    path = tmp_path / "m.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(STACK.astype(np.float16))
        mrc.voxel_size = (40.0, 50.0, 400.0)
        mrc.header.origin.x, mrc.header.origin.y, mrc.header.origin.z = 100.0, 200.0, 3000.0
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "[40 x 50, 400 Å]" in out
    assert "position    origin 10, 20, 300 nm (x, y, z)" in out
    assert "stored as float16, read as float32: every value is kept exactly" in out


def test_a_bioformats2raw_store_names_the_folder_to_open(tmp_path, capsys):
    root = zarr.open_group(str(tmp_path / "b2r.zarr"), mode="w", zarr_format=2)
    root.attrs["bioformats2raw.layout"] = 3
    root.create_group("0")
    root.create_group("1")
    assert main(["info", str(tmp_path / "b2r.zarr")]) == 2
    err = capsys.readouterr().err
    assert f"open {tmp_path / 'b2r.zarr' / '0'} (the first of its 2 images)" in err


def test_results_of_ome_files_are_named_without_ome(tmp_path):
    assert image_stem("cells.ome.tif") == "cells" and image_stem("cells.OME.zarr") == "cells"
    assert image_stem("a.tif") == "a" and image_stem(".ome.tif") == ".ome"
    src = tmp_path / "cells.ome.tif"
    tifffile.imwrite(src, STACK, ome=True, metadata={"axes": "ZYX"})
    other = _imagej(tmp_path / "b.tif")
    assert main(["denoise", str(src), str(other), "-o", str(tmp_path / "out"), "--method", "gaussian"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").glob("*.tif")) == ["b_gaussian.tif", "cells_gaussian.tif"]


def test_the_project_panel_shows_a_z_step_that_is_not_the_pixel_size():
    pytest.importorskip("PySide6")
    from types import SimpleNamespace

    from emdenoise_gui.gui.panels.project_panel import describe_stack

    ssTEM = SimpleNamespace(shape=[30, 512, 512], dtype="uint8", voxel_size_nm=[50.0, 4.0, 4.0])
    assert describe_stack(ssTEM).splitlines()[1] == "4 nm/px, z 50 nm"
    iso = SimpleNamespace(shape=[30, 512, 512], dtype="uint8", voxel_size_nm=[8.0, 8.0, 8.0])
    assert describe_stack(iso).splitlines()[1] == "8 nm/px"


def test_a_model_result_names_the_model_the_device_and_the_precision(tmp_path):
    pytest.importorskip("torch")
    src = _imagej(tmp_path / "in.tif", spacing=40)
    out = tmp_path / "out.tif"
    assert main(["denoise", str(src), "-o", str(out), "--model", "flyem-nrrn-lite", "--precision", "fp32"]) == 0
    with tifffile.TiffFile(out) as tif:
        info = tif.imagej_metadata["Info"]
    assert "with the model flyem-nrrn-lite (nrrn lite, weights sha256 " in info and "on the CPU in float32)" in info


def test_a_block_run_says_how_its_store_was_made(tmp_path):
    src = _imagej(tmp_path / "in.tif", spacing=40)
    out = tmp_path / "blocks.zarr"
    assert main(["denoise", str(src), "-o", str(out), "--method", "gaussian", "--scheduler", "here"]) == 0
    made = dict(zarr.open_group(str(out), mode="r").attrs)["emdenoise"]["made_by"]
    assert made.startswith("Made by EMDenoise") and "the filter gaussian, in blocks from in.tif" in made
