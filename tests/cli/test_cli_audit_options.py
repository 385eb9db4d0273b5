"""Options the CLI took in a way other than said (CLI audit of 2026-12-07)."""

import subprocess
import sys

import numpy as np
import pytest
import tifffile


def _stack(path):
    tifffile.imwrite(path, (np.random.default_rng(0).random((3, 32, 32)) * 200).astype(np.uint8),
                     photometric="minisblack")
    return path


def test_a_note_that_an_option_does_not_apply_is_not_followed_by_its_refusal(tmp_path, cli):
    result = cli("denoise", _stack(tmp_path / "a.tif"), "-o", tmp_path / "g.tif", "--method", "flat-field",
                 "--stride", "9999")
    assert result.code == 2 and "need 1 <= stride <= tile" in result.err and "note" not in result.err


def test_ngff_with_an_output_that_is_not_a_store_is_refused(tmp_path, cli):
    source = _stack(tmp_path / "a.tif")
    for command in (("convert", source, tmp_path / "c.tif"), ("noise", source, "-o", tmp_path / "n.tif", "--kind",
                                                               "gaussian")):
        result = cli(*command, "--ngff", "0.4")
        assert result.code == 2 and "--ngff 0.4 is the OME-Zarr version of a .zarr output" in result.err
    assert cli("convert", source, tmp_path / "c.zarr", "--ngff", "0.4").code == 0


def test_an_option_between_the_images_of_compare_and_info(tmp_path, cli):
    a, b = _stack(tmp_path / "a.tif"), _stack(tmp_path / "b.tif")
    result = cli("compare", a, b, "--slices", "0:3", a)
    assert result.code == 0 and result.out.count("identical") == 2
    assert cli("info", a, "--debug", b).code == 0


def test_a_shortened_option_is_refused_not_half_taken(tmp_path, cli, capsys):
    with pytest.raises(SystemExit) as stop:  # argparse's usage error
        cli("denoise", _stack(tmp_path / "a.tif"), "-o", tmp_path / "o.tif", "--method", "gaussian",
            "--slice", "-2:")
    assert stop.value.code == 2 and "unrecognized arguments: --slice -2:" in capsys.readouterr().err


def test_with_standard_error_closed_the_errors_do_not_go_into_standard_output(tmp_path):
    source = _stack(tmp_path / "a.tif")
    done = subprocess.run([sys.executable, "-m", "emdenoise_gui", "info", str(source), str(tmp_path / "nope.tif")],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                          preexec_fn=lambda: __import__("os").close(2), timeout=120)
    assert done.returncode == 2 and "emdenoise: error" not in done.stdout and "a.tif" in done.stdout


def test_a_checkpoint_given_as_a_model_is_named_as_one(tmp_path, cli):
    """'contains an unexpected file state.json' said nothing of what the folder is."""
    checkpoint = tmp_path / "run"
    checkpoint.mkdir()
    (checkpoint / "state.json").write_text("{}")
    (checkpoint / "state.safetensors").write_bytes(b"x")
    result = cli("denoise", _stack(tmp_path / "a.tif"), "-o", tmp_path / "o.tif", "--model", checkpoint)
    assert result.code == 2 and "is a training checkpoint, not a model package" in result.err
    assert f"emdenoise resume {checkpoint}" in result.err


def test_an_empty_slice_range_is_refused(tmp_path, cli):
    """`--slices "$RANGE"` with RANGE unset denoised every slice without a word."""
    result = cli("denoise", _stack(tmp_path / "a.tif"), "-o", tmp_path / "o.tif", "--method", "gaussian",
                 "--slices", "")
    assert result.code == 2 and "--slices is empty" in result.err and not (tmp_path / "o.tif").exists()


def test_where_a_part_of_the_stack_begins_is_said_when_a_tiff_cannot_keep_it(tmp_path, cli):
    """The README promised a note for a position an output cannot keep (any in TIFF); a --slices crop written as
    TIFF dropped where it began without one (docs audit of 2026-12-07). An .mrc keeps it, without a note."""
    source = _stack(tmp_path / "a.tif")
    result = cli("convert", source, tmp_path / "part.tif", "--slices", "1:3")
    assert result.code == 0
    assert "where this part begins in the input (slice 1, row 0, column 0) is not kept" in result.err
    result = cli("convert", source, tmp_path / "part.mrc", "--slices", "1:3")
    assert result.code == 0 and "where this part begins" not in result.err
