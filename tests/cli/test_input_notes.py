"""Input that is valid but not what it seems gets a note on stderr; a run that would lose a file is refused.

Found by an adversarial review of the command line (2026-12-05): each case here printed nothing, lost a
file, or crashed before.
"""

import shutil

import numpy as np
import tifffile

from tests.conftest import sha256


def test_a_store_with_chunks_missing_is_noted_by_denoise_and_convert(tmp_path, cli, fibsem_crop):
    store = tmp_path / "in.zarr"
    assert cli("convert", fibsem_crop, store, "--ngff", "0.4").code == 0
    chunk = next(p for p in (store / "0").rglob("*") if p.is_file() and not p.name.startswith("."))
    chunk.unlink()  # a slice now reads as zeros
    for command in (("denoise", store, "-o", tmp_path / "d.tif", "--method", "gaussian"),
                    ("convert", store, tmp_path / "c.tif")):
        result = cli(*command)
        assert result.code == 0, result.err
        assert "chunks are not stored and read as the fill value" in result.err, command
    # compare and train read the zeros too (audit of 2026-12-06: they said nothing)
    compared = cli("compare", tmp_path / "c.tif", store)
    assert compared.code == 0 and "chunks are not stored and read as the fill value" in compared.err
    trained = cli("train", "n2v", "--noisy", store, "--steps", "1", "--crop", "32", "-o", tmp_path / "m")
    assert "chunks are not stored and read as the fill value" in trained.err, trained.err
    clean = cli("convert", fibsem_crop, tmp_path / "whole.tif")
    assert "chunks" not in clean.err


def test_a_filter_of_neighbouring_slices_on_one_image_says_it_has_none(tmp_path, cli, fibsem_crop):
    single = tmp_path / "one.tif"
    tifffile.imwrite(single, tifffile.imread(fibsem_crop)[2], photometric="minisblack")
    result = cli("denoise", single, "-o", tmp_path / "out.tif", "--method", "gaussian-avg")
    assert result.code == 0 and "one slice, so gaussian-avg" in result.err
    assert "no neighbours" not in cli("denoise", fibsem_crop, "-o", tmp_path / "s.tif", "--method", "gaussian-avg").err


def test_compare_refuses_a_constant_reference_and_notes_an_image_on_another_scale(tmp_path, cli, fibsem_crop):
    flat = tmp_path / "flat.tif"
    tifffile.imwrite(flat, np.full((6, 96, 80), 7, np.uint8), photometric="minisblack")
    result = cli("compare", flat, fibsem_crop)
    assert result.code == 2 and "the clean reference is constant (7 everywhere)" in result.err
    wide = tmp_path / "x256.tif"
    tifffile.imwrite(wide, tifffile.imread(fibsem_crop).astype(np.uint16) * 256, photometric="minisblack")
    result = cli("compare", fibsem_crop, wide, fibsem_crop)
    assert result.code == 0 and "x256.tif: " in result.err and "were clipped" in result.err
    assert "crop.tif: " not in result.err  # the reference itself, on its own scale, is not noted
    unit = tmp_path / "unit.tif"  # the same data as float32 on [0, 1]: PSNR 5 dB, and not a word (2026-12-05)
    tifffile.imwrite(unit, tifffile.imread(fibsem_crop).astype(np.float32) / 255, photometric="minisblack")
    result = cli("compare", fibsem_crop, unit, fibsem_crop)
    assert result.code == 0 and "unit.tif: its values span 0." in result.err and "another scale" in result.err
    assert "crop.tif: its values" not in result.err


def test_an_empty_model_name_is_refused_not_taken_for_no_model(tmp_path, cli, fibsem_crop):
    """`--model "$M"` with M unset ran the default filter and exited 0."""
    result = cli("denoise", fibsem_crop, "-o", tmp_path / "o.tif", "--model", "")
    assert result.code == 2 and "--model is empty" in result.err and not (tmp_path / "o.tif").exists()


def test_a_seed_out_of_range_is_refused_before_training(tmp_path, cli, fibsem_crop):
    """A negative or huge --seed failed after training had started, as an internal error (exit 1)."""
    for seed in ("-1", str(2**64)):
        result = cli("train", "n2v", "--noisy", fibsem_crop, "-o", tmp_path / "m", "--steps", "1", f"--seed={seed}")
        assert result.code == 2 and "--seed must be a whole number" in result.err, result.err
        assert not (tmp_path / "m").exists()


def test_a_fresh_training_run_never_replaces_an_earlier_runs_checkpoint(tmp_path, cli, fibsem_crop):
    out = tmp_path / "model"
    args = ("train", "n2v", "--noisy", fibsem_crop, "-o", out, "--steps", "1", "--crop", "32", "--batch-size", "2")
    assert cli(*args).trained
    checkpoint = tmp_path / "model.checkpoint"
    digest = sha256(next(p for p in checkpoint.rglob("*") if p.is_file()))
    shutil.rmtree(out)  # the package gone, its checkpoint kept: a second fresh run used to replace it
    result = cli(*args)
    assert result.code == 2 and "model.checkpoint: already exists" in result.err and "resume" in result.err
    assert sha256(next(p for p in checkpoint.rglob("*") if p.is_file())) == digest
    assert not out.exists()


def test_training_under_a_name_the_zoo_has_says_so(tmp_path, cli, fibsem_crop, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    result = cli("train", "n2v", "--noisy", fibsem_crop, "-o", tmp_path / "m", "--name", "flyem-nrrn-lite",
                 "--steps", "1", "--crop", "32", "--batch-size", "2")
    assert result.trained and "a model named 'flyem-nrrn-lite' ships with EMDenoise" in result.err
    assert "another --name" in result.err


def test_info_names_the_stored_type_of_data_read_as_float32(tmp_path, cli, fibsem_crop):
    wide = tmp_path / "i32.tif"
    tifffile.imwrite(wide, tifffile.imread(fibsem_crop).astype(np.int32), photometric="minisblack")
    result = cli("info", wide)
    assert result.code == 0 and "float32 (stored as int32, read as float32" in result.out
    assert "stored as" not in cli("info", fibsem_crop).out


def test_a_noise_parameter_of_another_kind_is_refused(tmp_path, cli, fibsem_crop):
    """It was ignored with a note and exit 0: a script got another condition than it asked for (noise audit)."""
    result = cli("noise", fibsem_crop, "-o", tmp_path / "n.tif", "--kind", "gaussian", "--dose", "5")
    assert result.code == 2 and "--dose: not a parameter of --kind gaussian (which takes --sigma)" in result.err
    assert not (tmp_path / "n.tif").exists()


def test_the_stored_type_is_named_for_every_format_and_byte_order_is_no_type():
    from emdenoise_gui.core.io.stack import stored_dtype_extra

    assert stored_dtype_extra(np.dtype(">u2"), np.dtype("uint16")) == {}  # a big-endian zarr or TIFF
    assert stored_dtype_extra(np.dtype(">i4"), np.dtype("float32")) == {"stored_dtype": "int32"}
    assert stored_dtype_extra(np.dtype("float16"), np.dtype("float32")) == {"stored_dtype": "float16"}  # MRC mode 12


def test_a_missing_input_is_the_one_line_even_without_model_or_method(tmp_path, cli):
    """The note on the default filter came first, so a missing file gave two lines (the frozen test saw it)."""
    result = cli("denoise", tmp_path / "missing.tif", "-o", tmp_path / "o.tif")
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1 and "file not found" in result.err
