"""What an unlucky user met (issue 11): each case exits 2 with one line or reads correctly, never hangs,
never drops data without a word."""

import os
import threading

import mrcfile
import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.io import open_stack


def _one_line(result) -> str:
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result.err
    return result.err


def test_multi_series_tiff_reads_the_stack_not_the_thumbnail_and_says_so(tmp_path, cli):
    path = tmp_path / "two_series.tif"
    stack = (np.arange(6 * 96 * 96) % 251).astype(np.uint8).reshape(6, 96, 96)
    with tifffile.TiffWriter(path) as tw:
        tw.write(np.zeros((48, 48), np.uint8))  # a thumbnail first, as some microscopes write
        tw.write(stack)
    with open_stack(path) as opened:
        assert opened.shape == (6, 96, 96) and np.array_equal(opened[5], stack[5])
    result = cli("info", path)
    assert result.code == 0 and "series 2 of 2" in result.out and "48x48" in result.out
    out = tmp_path / "out.tif"
    assert cli("denoise", path, "-o", out, "--method", "gaussian").code == 0
    assert tifffile.imread(out).shape == (6, 96, 96)


def _finishes(work, seconds: float = 10.0) -> bool:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()


def test_a_fifo_as_input_is_refused_at_once(tmp_path, cli):
    fifo = tmp_path / "stack.tif"
    os.mkfifo(fifo)
    results = []
    assert _finishes(lambda: results.append(cli("info", fifo)))
    assert "not a regular file" in _one_line(results[0])
    assert _finishes(lambda: results.append(cli("denoise", fifo, "-o", tmp_path / "o.tif", "--method", "gaussian")))
    assert "not a regular file" in _one_line(results[1])
    assert not (tmp_path / "o.tif").exists()


@pytest.mark.parametrize("suffix,tool", [(".gz", "gunzip"), (".bz2", "bunzip2")])
def test_compressed_mrc_says_how_to_decompress(tmp_path, cli, suffix, tool):
    path = tmp_path / f"map.mrc{suffix}"
    path.write_bytes(b"compressed bytes")
    assert tool in _one_line(cli("info", path))


def test_charge_blob_count_is_bounded(tmp_path, cli):
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, np.full((1, 64, 64), 100, np.uint8))
    results = []
    assert _finishes(lambda: results.append(cli("noise", src, "-o", tmp_path / "n.tif", "--kind", "charge",
                                                 "--n-blobs", "1e9")))
    assert "--n-blobs 1e+09: need at most 1000 blobs per 512 x 512 px" in _one_line(results[0])  # by flag (2026-12-07)
    assert not (tmp_path / "n.tif").exists()


@pytest.mark.parametrize("dose", ["1e-300:1", "inf:inf", "1:1e300", "5:2"])
def test_absurd_doses_are_refused_before_training(tmp_path, cli, dose):
    src = tmp_path / "clean.tif"
    tifffile.imwrite(src, np.full((2, 64, 64), 100, np.uint8))
    result = cli("train", "xception", "--clean", src, "-o", tmp_path / "m", "--dose", dose, "--steps", "2")
    assert result.code == 2 and "dose" in result.err and not (tmp_path / "m").exists()


@pytest.mark.parametrize("flag", ["--validate-every", "--checkpoint-every"])
def test_a_zero_interval_names_its_flag(tmp_path, cli, flag):
    src = tmp_path / "clean.tif"
    tifffile.imwrite(src, np.full((2, 64, 64), 100, np.uint8))
    result = cli("train", "xception", "--clean", src, "-o", tmp_path / "m", flag, "0", "--steps", "2")
    assert result.code == 2 and f"{flag} must be at least 1 step" in result.err and not (tmp_path / "m").exists()


def test_mrc_volume_stack_and_unknown_z_spacing_are_named(tmp_path, cli):
    path = tmp_path / "volumes.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(np.zeros((4, 16, 16), np.float32))
        mrc.voxel_size = 10.0
        mrc.header.ispg = 401
        mrc.header.mz = 0
    out = cli("info", path).out
    assert "volume stack (space group 401)" in out and "z spacing is unknown" in out


def test_train_refuses_an_unwritable_output_before_the_first_step(tmp_path, cli):
    src = tmp_path / "noisy.tif"
    tifffile.imwrite(src, np.full((4, 64, 64), 100, np.uint8), photometric="minisblack")
    result = cli("train", "n2v", "--noisy", src, "-o", "/proc/emdenoise-model", "--steps", "2", "--crop", "32")
    assert "read-only" in _one_line(result) and "step 1" not in result.out + result.err


def test_info_into_a_closed_pipe_exits_quietly(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    src = tmp_path / "a.tif"
    tifffile.imwrite(src, np.full((2, 32, 32), 100, np.uint8), photometric="minisblack")
    files = [src] * 80
    process = subprocess.Popen([str(Path(sys.executable).with_name("emdenoise")), "info", *map(str, files)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.readline().strip()  # like `| head -1`: read one line, then close
    process.stdout.close()
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0 and not err.strip(), err


def test_values_near_the_float32_limit_denoise_to_finite_values(tmp_path, cli):
    src = tmp_path / "extreme.tif"
    data = np.zeros((2, 64, 64), np.float32)
    data[0, 0, 0], data[1, 0, 0], data[0, 5, 5] = 3.4e38, -3.4e38, 1.0
    tifffile.imwrite(src, data)
    out = tmp_path / "out.tif"
    result = cli("denoise", src, "-o", out, "--method", "gaussian")
    assert result.code == 0, result.err
    assert np.isfinite(tifffile.imread(out)).all()


def test_a_model_whose_output_is_not_finite_fails_before_the_file_is_committed(tmp_path, cli, monkeypatch):
    import torch

    from emdenoise_gui.zoo.package import load_weights, write_package
    from tests.conftest import random_package

    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    good = random_package(tmp_path / "good", "n2v")
    huge = {k: v * 1e30 if v.is_floating_point() else v for k, v in load_weights(good).items()}
    card = good.card
    card.name = "overflowing"
    write_package(tmp_path / "overflowing", card, {k: torch.as_tensor(v) for k, v in huge.items()})
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, (np.arange(2 * 64 * 64) % 200).astype(np.uint8).reshape(2, 64, 64),
                     photometric="minisblack")
    out = tmp_path / "out.tif"
    result = cli("denoise", src, "-o", out, "--model", tmp_path / "overflowing")
    assert "NaN or infinite" in _one_line(result), result.err
    assert not out.exists() and not list(tmp_path.glob(".out.tif.*"))


def test_a_stale_partial_of_a_killed_run_is_cleaned_and_named(tmp_path, cli):
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, np.full((2, 32, 32), 100, np.uint8), photometric="minisblack")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    stale = out_dir / ".old.tif.999999999-0123abcd.partial"  # a pid that is not running
    stale.write_bytes(b"\0" * 1000)
    mine = out_dir / ".keep.tif.partial"  # not our naming: left alone
    mine.write_bytes(b"x")
    from emdenoise_gui.core.atomic import HOST

    here = out_dir / f".here.tif.999999999@{HOST}-0123abcd.partial"  # this machine's, its writer gone
    here.write_bytes(b"x")
    # another machine's writing into a shared folder (NFS, array jobs): no pid here tells, so it stays
    elsewhere = out_dir / ".there.tif.999999999@another-node-0123abcd.partial"
    elsewhere.write_bytes(b"x")
    result = cli("denoise", src, "-o", out_dir / "new.tif", "--method", "gaussian")
    assert result.code == 0 and not stale.exists() and mine.exists()
    assert not here.exists() and elsewhere.exists()
    assert "unfinished output" in result.out + result.err and stale.name in result.out + result.err


def test_the_writer_refuses_a_slice_that_is_not_finite(tmp_path):
    from emdenoise_gui.core.errors import InputError
    from emdenoise_gui.core.io import StackWriter

    out = tmp_path / "out.tif"
    with pytest.raises(InputError, match="NaN or infinite"):
        with StackWriter(out, (2, 8, 8), np.uint16) as writer:
            writer.write(0, np.zeros((8, 8), np.float32))
            writer.write(1, np.full((8, 8), np.nan, np.float32))
            writer.commit()
    assert list(tmp_path.iterdir()) == []


def test_an_output_inside_the_input_store_or_a_file_named_zarr_is_refused_at_once(tmp_path, cli):
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, np.full((2, 32, 32), 100, np.uint8), photometric="minisblack")
    store = tmp_path / "s.zarr"
    assert cli("convert", src, store).code == 0
    for inside in (store / "out.tif", store / "x.zarr"):
        result = cli("denoise", store, "-o", inside, "--method", "gaussian")
        assert result.code == 2 and "inside the input store s.zarr" in result.err and not inside.exists()
    plain = tmp_path / "file.zarr"
    plain.write_text("keep")
    for args in (("denoise", src, "-o", plain, "--method", "gaussian", "--overwrite"),
                 ("convert", src, plain, "--overwrite"),
                 ("denoise", src, "-o", plain, "--method", "gaussian", "--scheduler", "here", "--overwrite")):
        result = cli(*args)
        assert result.code == 2 and "is a file, not an OME-Zarr store" in result.err, result.err
    assert plain.read_text() == "keep"


def test_a_pixel_type_the_output_cannot_keep_is_said(tmp_path, cli):
    """`--dtype input` wrote uint8 as 16-bit MRC and int32 as float32 without a word."""
    u8, i32 = tmp_path / "u8.tif", tmp_path / "i32.tif"
    tifffile.imwrite(u8, np.full((2, 32, 32), 100, np.uint8), photometric="minisblack")
    tifffile.imwrite(i32, (np.arange(2 * 32 * 32).reshape(2, 32, 32) * 70_000).astype(np.int32),
                     photometric="minisblack")
    result = cli("denoise", u8, "-o", tmp_path / "m.mrc", "--method", "gaussian", "--dtype", "input")
    assert result.code == 0 and "holds the uint8 pixels as uint16" in result.err
    result = cli("convert", i32, tmp_path / "c.tif")
    assert result.code == 0 and "stores int32 pixels" in result.err and "float32" in result.err
    textured = tmp_path / "t8.tif"  # not blank (a blank slice is said)
    tifffile.imwrite(textured, (np.arange(2 * 32 * 32).reshape(2, 32, 32) % 251).astype(np.uint8),
                     photometric="minisblack")
    result = cli("convert", textured, tmp_path / "quiet.tif")
    assert result.code == 0 and "note" not in result.err  # nothing to say


def test_a_position_the_output_cannot_keep_is_said(tmp_path, cli):
    """An MRC origin written to a TIFF, an OME-Zarr translation to anything: dropped without a word."""
    import json

    import mrcfile

    src = tmp_path / "o.mrc"
    with mrcfile.new(src) as mrc:
        mrc.set_data(np.full((2, 32, 32), 5, np.int16))
        mrc.header.origin = (100.0, 200.0, 300.0)
    result = cli("convert", src, tmp_path / "o.tif")
    # its voxel size is unknown: an NGFF translation (in nm) could not hold the position either
    assert result.code == 0 and "MRC origin" in result.err and "write an .mrc output" in result.err
    assert "origin" not in cli("convert", src, tmp_path / "o2.mrc").err  # kept there: nothing to say
    store = tmp_path / "t.zarr"
    assert cli("convert", src, store).code == 0
    meta = json.loads((store / "zarr.json").read_text())
    transforms = meta["attributes"]["ome"]["multiscales"][0]["datasets"][0]["coordinateTransformations"]
    transforms.append({"type": "translation", "translation": [1000.0, 2000.0, 3000.0]})
    (store / "zarr.json").write_text(json.dumps(meta))
    result = cli("denoise", store, "-o", tmp_path / "d.zarr", "--method", "gaussian")
    assert result.code == 0 and "OME-Zarr translation" in result.err


def test_long_output_names_are_written_or_refused_in_one_line(tmp_path, cli):
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, np.full((2, 32, 32), 100, np.uint8), photometric="minisblack")
    long_name = tmp_path / ("a" * 226 + ".tif")  # its staging name ran over 255 bytes: internal error
    assert cli("denoise", src, "-o", long_name, "--method", "gaussian").code == 0 and long_name.is_file()
    result = cli("denoise", src, "-o", tmp_path / ("b" * 300 + ".tif"), "--method", "gaussian")
    assert result.code == 2 and "over 255 bytes" in result.err


def test_a_z_step_the_input_does_not_give_is_said_where_the_output_records_it(tmp_path, cli):
    """The guess (the pixel size) went into the output's metadata as if the file had given it."""
    from emdenoise_gui.jobs.stack import Z_GUESSED

    src = tmp_path / "noz.tif"
    tifffile.imwrite(src, np.full((3, 32, 32), 100, np.uint8), photometric="minisblack", resolution=(1 / 4, 1 / 4),
                     resolutionunit="CENTIMETER")
    info = cli("info", src)
    assert Z_GUESSED in info.out + info.err  # the reader's note and the output's use the same words
    result = cli("convert", src, tmp_path / "out.mrc")
    assert result.code == 0 and "records a z step of" in result.err and "taken as the pixel size" in result.err


def test_a_nan_outside_the_chosen_slices_does_not_stop_them(tmp_path, cli):
    """`--slices 2:5` was refused because slice 8, sampled for the intensity range, held one NaN; the
    chosen slices are denoised (on the range of the finite values), a NaN inside them is still refused."""
    data = (np.random.default_rng(0).random((10, 48, 48)) * 1000).astype(np.float32)
    data[8, 5, 5] = np.nan
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, data)
    for method in ("gaussian", "gaussian-avg"):
        out = tmp_path / f"{method}.tif"
        result = cli("denoise", src, "-o", out, "--method", method, "--slices", "2:5")
        assert result.code == 0, result.err
        written = tifffile.imread(out)
        assert written.shape == (3, 48, 48) and np.isfinite(written).all()
        assert 0 <= written.min() and written.max() <= 1000  # the data's own range, not one stretched by NaN
    result = cli("denoise", src, "-o", tmp_path / "bad.mrc", "--method", "gaussian", "--slices", "6:10")
    assert result.code == 2 and "slice 8 has 1 NaN or infinite pixels" in _one_line(result)


def test_a_stack_without_a_finite_pixel_in_its_samples_is_refused_in_words(tmp_path, cli):
    src = tmp_path / "nan.tif"
    tifffile.imwrite(src, np.full((5, 32, 32), np.nan, np.float32))
    result = cli("denoise", src, "-o", tmp_path / "out.tif", "--method", "gaussian")
    assert result.code == 2 and "NaN or infinite" in _one_line(result) and not (tmp_path / "out.tif").exists()


def test_a_nan_in_a_neighbour_outside_the_chosen_slices_is_named_as_one(tmp_path, cli):
    data = (np.random.default_rng(0).random((8, 40, 40)) * 1000).astype(np.float32)
    data[5, 3, 3] = np.nan
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, data)
    result = cli("denoise", src, "-o", tmp_path / "out.mrc", "--method", "gaussian-avg", "--slices", "2:5")
    assert result.code == 2
    assert "slice 5 has 1 NaN or infinite pixels" in _one_line(result) and "neighbour of slice 4" in _one_line(result)
