"""Every bad input of issue 2: exit 2, one line naming the file and the problem, nothing written."""

import os
from pathlib import Path

import mrcfile
import numpy as np
import pytest
import tifffile

from tests.conftest import sha256, synthetic_em_stack


def _tiff(path, data, **kw):
    tifffile.imwrite(path, data, photometric=kw.pop("photometric", "minisblack"), **kw)
    return path


def _mrc(path, data, voxel=10.0):
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(data)
        mrc.voxel_size = voxel
    return path


def _truncate(path, keep_fraction=0.5):
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(int(size * keep_fraction))
    return path


def bad_missing(d):
    return d / "nothere.tif", "file not found"


def bad_directory(d):
    (d / "folder.tif").mkdir()
    return d / "folder.tif", "is a folder"


def bad_empty(d):
    (d / "empty.tif").write_bytes(b"")
    return d / "empty.tif", "is empty"


def bad_truncated_tiff(d):
    p = _tiff(d / "trunc.tif", np.zeros((4, 64, 64), np.uint16), imagej=True)
    return _truncate(p), "truncated"


def bad_truncated_compressed_tiff(d):
    p = _tiff(d / "truncz.tif", np.random.default_rng(0).integers(0, 255, (6, 64, 64), dtype=np.uint8),
              compression="zlib")
    return _truncate(p, 0.6), "truncated"


def bad_tiff_named_mrc(d):
    p = _tiff(d / "image.mrc", np.zeros((64, 64), np.uint8))
    return p, "TIFF file with an MRC name"


def bad_mrc_corrupt_header(d):
    p = _mrc(d / "corrupt.mrc", np.zeros((2, 32, 32), np.float32))
    with open(p, "r+b") as fh:
        fh.write(np.array([-7, 0, -3, 99], "<i4").tobytes())
    return p, "corrupt MRC header"


def bad_mrc_unknown_mode(d):
    p = _mrc(d / "mode.mrc", np.zeros((2, 32, 32), np.float32))
    with open(p, "r+b") as fh:
        fh.seek(12)
        fh.write(np.array([77], "<i4").tobytes())
    return p, "unknown MRC data mode 77"


def bad_rgb_tiff(d):
    return _tiff(d / "rgb.tif", np.zeros((64, 64, 3), np.uint8), photometric="rgb"), "RGB colour image"


def bad_complex_mrc(d):
    return _mrc(d / "fft.mrc", np.zeros((2, 32, 32), np.complex64)), "complex numbers"


def bad_4d(d):
    return _tiff(d / "4d.tif", np.zeros((2, 3, 32, 32), np.uint8), imagej=True,
                 metadata={"axes": "TZYX"}), "4-D data"


def bad_5d(d):
    return _tiff(d / "5d.tif", np.zeros((2, 3, 2, 32, 32), np.uint8), imagej=True,
                 metadata={"axes": "TZCYX"}), "5-D data"


def bad_nan(d):
    data = np.ones((3, 32, 32), np.float32)
    data[1, 5, 5] = np.nan
    data[2, 0, 0] = np.inf
    return _tiff(d / "nan.tif", data), "NaN or infinite"


def bad_one_pixel(d):
    return _tiff(d / "one.tif", np.zeros((1, 1), np.uint8)), "only 1x1 pixels"


def bad_mrc_declares_more_data(d):
    p = _mrc(d / "short.mrc", np.zeros((10, 32, 32), np.float32))
    return _truncate(p, 0.7), "file has only"


CASES = [bad_missing, bad_directory, bad_empty, bad_truncated_tiff, bad_truncated_compressed_tiff,
         bad_tiff_named_mrc, bad_mrc_corrupt_header, bad_mrc_unknown_mode, bad_rgb_tiff, bad_complex_mrc,
         bad_4d, bad_5d, bad_nan, bad_one_pixel, bad_mrc_declares_more_data]


def _snapshot(folder: Path) -> dict:
    return {p.name: (p.is_dir() or sha256(p)) for p in folder.iterdir()}


def _assert_clean_error(result, path, phrase):
    assert result.code == 2, result.err
    lines = [line for line in result.err.strip().splitlines() if line.startswith("emdenoise: error")]
    assert len(lines) == 1 and "Traceback" not in result.err, result.err
    assert str(path) in lines[0] and phrase in lines[0], lines[0]


@pytest.mark.parametrize("make", CASES, ids=[c.__name__[4:] for c in CASES])
@pytest.mark.parametrize("command", ["denoise", "noise", "info"])
def test_bad_input(tmp_path, cli, make, command):
    path, phrase = make(tmp_path)
    before = _snapshot(tmp_path)
    out = tmp_path / "out.tif"
    args = {"denoise": ["denoise", path, "-o", out, "--method", "median"],
            "noise": ["noise", path, "-o", out, "--kind", "gaussian"],
            "info": ["info", path]}[command]
    result = cli(*args)
    _assert_clean_error(result, path, phrase)
    assert _snapshot(tmp_path) == before  # nothing written, nothing changed


def test_output_equal_to_input_is_refused(tmp_path, cli, fibsem_crop):
    digest = sha256(fibsem_crop)
    for alias in (fibsem_crop, tmp_path / "." / fibsem_crop.name):
        result = cli("denoise", fibsem_crop, "-o", alias, "--method", "median", "--overwrite")
        _assert_clean_error(result, alias, "never writes over its input")
    assert sha256(fibsem_crop) == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == [fibsem_crop.name]


def test_an_input_inside_the_output_store_is_refused(tmp_path, cli, fibsem_crop):
    """Replacing a .zarr store whole must not take an input kept inside it (it did: the input was deleted)."""
    store = tmp_path / "trap.zarr"
    assert cli("convert", fibsem_crop, store).code == 0
    inside = store / "in.tif"
    inside.write_bytes(fibsem_crop.read_bytes())
    digest = sha256(inside)
    for command in (("convert", inside, store, "--overwrite"),
                    ("denoise", inside, "-o", store, "--overwrite", "--method", "gaussian"),
                    ("denoise", inside, "-o", store, "--overwrite", "--method", "gaussian", "--scheduler", "here")):
        result = cli(*command)
        _assert_clean_error(result, store, "holds the input in.tif")
        assert sha256(inside) == digest, command


def test_existing_output_is_not_overwritten(tmp_path, cli, fibsem_crop):
    out = tmp_path / "keep.tif"
    out.write_bytes(b"precious")
    result = cli("denoise", fibsem_crop, "-o", out, "--method", "median")
    _assert_clean_error(result, out, "already exists")
    assert out.read_bytes() == b"precious"


def _unwritable_folder(tmp_path) -> Path:
    if os.geteuid() != 0:
        folder = tmp_path / "readonly"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    # root writes through permission bits; sysfs refuses new files even to root
    folder = Path("/sys")
    try:
        (folder / "emdenoise-probe").touch()
    except OSError:
        return folder
    pytest.skip("no folder here refuses writes to this user")


def test_unwritable_output_folder(tmp_path, cli, fibsem_crop):
    folder = _unwritable_folder(tmp_path)
    out = folder / "out.tif"
    result = cli("denoise", fibsem_crop, "-o", out, "--method", "median")
    _assert_clean_error(result, out, "cannot write into the folder")
    assert not out.exists()


def test_missing_output_folder(tmp_path, cli, fibsem_crop):
    out = tmp_path / "no" / "such" / "out.tif"
    result = cli("denoise", fibsem_crop, "-o", out, "--method", "median")
    _assert_clean_error(result, out, "does not exist")


@pytest.mark.parametrize("args,phrase", [
    (["--slices", "50:60"], "selects no slice"),
    (["--slices", "2:60"], "reaches past the stack's last slice"),  # it ran on slices 2-7, exit 0
    (["--slices", "a:b"], "is not of the form"),
    (["--tile", "8"], "--tile 8: need a tile of 16 to 8192 px"),
    (["--tile", "100000"], "--tile 100000: need a tile of 16 to 8192 px"),  # it allocated gigabytes
    (["--tile", "64", "--stride", "0"], "--tile 64 --stride 0: need 1 <= stride <= tile"),
])
def test_bad_parameters(tmp_path, cli, fibsem_crop, args, phrase):
    result = cli("denoise", fibsem_crop, "-o", tmp_path / "o.tif", "--method", "median", *args)
    assert result.code == 2 and phrase in result.err and "Traceback" not in result.err and "None" not in result.err
    assert not (tmp_path / "o.tif").exists()


def test_poisson_on_a_stack_darker_than_its_sampled_range(tmp_path, cli):
    """Only 16 slices are sampled for the range; a darker pixel elsewhere must not break Poisson noise."""
    data = np.random.default_rng(0).integers(1000, 3000, (40, 32, 32)).astype(np.uint16)
    data[2, 3, 3] = 10  # slice 2 is not among the 16 sampled for the range, and holds a darker pixel
    src = _tiff(tmp_path / "u16.tif", data)
    result = cli("noise", src, "-o", tmp_path / "n.tif", "--kind", "poisson-dose", "--dose", "50")
    assert result.code == 0, result.err


def test_model_tile_must_fit_the_network(tmp_path, cli, fibsem_crop, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    model = tmp_path / "m"
    assert cli("train", "n2v", "--noisy", fibsem_crop, "--steps", "1", "--crop", "32", "--batch-size", "1",
               "--device", "cpu", "-o", model).trained
    result = cli("denoise", fibsem_crop, "-o", tmp_path / "o.tif", "--model", model, "--tile", "50", "--stride", "25")
    _assert_clean_error(result, "multiple of 16", "multiple of 16")


def test_bad_model_name_is_refused_before_training(tmp_path, cli, fibsem_crop):
    result = cli("train", "n2v", "--noisy", fibsem_crop, "--steps", "1", "-o", tmp_path / "m",
                 "--name", "run 2: lite")
    assert result.code == 2 and "use --name" in result.err and not (tmp_path / "m").exists()
    for name in ("con", "nul.txt", "LPT1", "run."):  # no folder of these names on Windows (wizard audit)
        result = cli("train", "n2v", "--noisy", fibsem_crop, "--steps", "1", "-o", tmp_path / "m", "--name", name)
        assert result.code == 2 and "a Windows device name" in result.err and "use --name" in result.err, name
    from emdenoise_gui.zoo.card import valid_model_name

    assert valid_model_name("console") and valid_model_name("con-n2v") and valid_model_name("con", new=False)
    # `denoise --model auto` asks for the best fit: a model named so could only be reached by its path
    result = cli("train", "n2v", "--noisy", fibsem_crop, "--steps", "1", "-o", tmp_path / "auto")
    assert result.code == 2 and "'auto' is reserved" in result.err and not (tmp_path / "auto").exists()


def test_a_model_trained_into_the_zoo_folder_keeps_the_zoo_whole(tmp_path, cli, fibsem_crop, monkeypatch):
    """``-o <zoo>/foo`` left a plain foo.checkpoint there (listed as an unusable model) and took a name the zoo
    had with only a note, after which ``--model NAME`` failed: two models of one name (training audit)."""
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    zoo = tmp_path / "home" / "models"
    zoo.mkdir(parents=True)
    tiny = ("--steps", "1", "--crop", "32", "--batch-size", "1", "--device", "cpu")
    assert cli("train", "n2v", "--noisy", fibsem_crop, *tiny, "-o", zoo / "first").trained
    assert (zoo / ".first.checkpoint").is_dir() and not (zoo / "first.checkpoint").exists()
    result = cli("train", "n2v", "--noisy", fibsem_crop, *tiny, "-o", zoo / "second", "--name", "first")
    assert result.code == 2 and "another --name" in result.err and not (zoo / "second").exists()
    listed = cli("zoo", "list")
    assert listed.code == 0 and "first" in listed.out and "UNUSABLE" not in listed.out.upper()


@pytest.mark.parametrize("flags, expected", [((), "ede-low"), (("--dose", "30:60"), "log-uniform"),
                                              (("--dose-dist", "ede-fine"), "ede-fine")])
def test_train_dose_distribution_from_the_command_line(tmp_path, cli, fibsem_crop, monkeypatch, flags, expected):
    """The paper xception draws Ede & Beanland's doses unless the user gives a --dose range."""
    from emdenoise_gui.training import engine

    seen = {}

    def fake_train(spec, token=None):
        seen["dist"] = spec.validated().dose_dist
        return iter(())

    monkeypatch.setattr(engine, "train", fake_train)
    cli("train", "xception", "--config", "paper", "--clean", fibsem_crop, "-o", tmp_path / "m", *flags)
    assert seen["dist"] == expected


def test_unknown_dose_distribution_is_refused(tmp_path, cli, fibsem_crop, capsys):
    with pytest.raises(SystemExit) as stop:  # argparse's own usage error
        cli("train", "xception", "--clean", fibsem_crop, "-o", tmp_path / "m", "--dose-dist", "gamma")
    assert stop.value.code == 2 and "--dose-dist" in capsys.readouterr().err and not (tmp_path / "m").exists()


@pytest.mark.parametrize("args,phrase", [
    (["--kind", "gaussian", "--sigma", "inf"], "--sigma inf: need a finite number from 0 up to 1e+09"),
    (["--kind", "poisson-dose", "--dose", "1e30"], "--dose 1e+30: need a finite number above 0 up to 1e+09"),
    (["--kind", "poisson-dose", "--dose", "0"], "--dose 0: need a finite number above 0 up to 1e+09"),
    (["--kind", "poisson-dose", "--dose", "-5"], "--dose -5: need a finite number above 0"),  # a value, not a flag
    (["--kind", "gaussian", "--seed", "-1"], "--seed -1: need a seed of 0 or more"),
])
def test_bad_noise_parameters(tmp_path, cli, fibsem_crop, args, phrase):
    """They blamed a model ('--sigma inf') or printed numpy's own words ('lam value too large')."""
    result = cli("noise", fibsem_crop, "-o", tmp_path / "o.tif", *args)
    assert result.code == 2 and phrase in result.err, result.err
    assert not (tmp_path / "o.tif").exists()


def test_a_range_may_begin_with_a_minus_sign(tmp_path, cli, fibsem_crop):
    """`--slices -2:` was taken for an unknown option ("expected one argument"); only `--slices=-2:` worked."""
    result = cli("denoise", fibsem_crop, "-o", tmp_path / "o.tif", "--method", "gaussian", "--slices", "-2:")
    assert result.code == 0, result.err
    assert tifffile.imread(tmp_path / "o.tif").shape[0] == 2
    result = cli("denoise", fibsem_crop, "-o", tmp_path / "last.tif", "--method", "gaussian", "--slices", "-1")
    assert result.code == 0, result.err  # the last slice ("selects no slice" before: range(n)[-1:0])
    assert tifffile.imread(tmp_path / "last.tif").shape[-2:] == tifffile.imread(fibsem_crop).shape[-2:]


def test_a_model_and_a_filter_together_are_refused(tmp_path, cli, fibsem_crop):
    """--model used to win over --method without a word."""
    result = cli("denoise", fibsem_crop, "-o", tmp_path / "o.tif", "--model", "flyem-nrrn-lite", "--method", "bm3d")
    assert result.code == 2 and "--model and --method bm3d both given" in result.err
    assert not (tmp_path / "o.tif").exists()


def test_adapt_options_without_adapt_are_refused_and_model_options_with_a_filter_noted(tmp_path, cli, fibsem_crop):
    """--steps and --init were ignored without --adapt (the user most likely forgot it), and --device,
    --batch-size and --precision with a classical filter, without a word."""
    out = tmp_path / "o.tif"
    for extra, phrase in ((["--steps", "50"], "--steps goes with --adapt"),
                          (["--steps", "50", "--init", "flyem-nrrn-lite"], "--steps and --init go with --adapt")):
        result = cli("denoise", fibsem_crop, "-o", out, "--model", "flyem-nrrn-lite", *extra)
        assert result.code == 2 and phrase in result.err and not out.exists(), result.err
    result = cli("denoise", fibsem_crop, "-o", out, "--method", "gaussian", "--device", "cuda", "--precision", "bf16")
    assert result.code == 0 and out.exists(), result.err
    assert "note: --device cuda, --precision bf16 apply to --model and --adapt only" in result.err
    quiet = cli("denoise", fibsem_crop, "-o", tmp_path / "q.tif", "--method", "gaussian")
    assert quiet.code == 0 and "note" not in quiet.err


@pytest.mark.parametrize("command", [["denoise", "IN", "-o", "OUT", "--method", "gaussian"],
                                     ["denoise", "IN", "-o", "OUT", "--model", "flyem-nrrn-lite"],
                                     ["train", "n2v", "--noisy", "IN", "-o", "OUT"], ["resume", "OUT"]])
def test_a_device_that_is_no_device_is_refused_in_one_line(tmp_path, cli, fibsem_crop, command, capsys):
    """``--device nonsense`` with a filter ran, exit 0 (CLI audit of 2026-12-07)."""
    given = [str(fibsem_crop) if a == "IN" else str(tmp_path / "o.tif") if a == "OUT" else a for a in command]
    with pytest.raises(SystemExit) as stop:  # argparse's exit, turned into exit status 2 by the entry point
        cli(*given, "--device", "nonsense")
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1, err
    assert "'nonsense' is not a device" in err and not (tmp_path / "o.tif").exists()


def test_a_device_not_here_is_said_before_anything_else(tmp_path, cli, fibsem_crop, monkeypatch):
    """A note on the model's fit came first, then the device's error (CLI audit of 2026-12-07)."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    poor = tmp_path / "noise.tif"  # slices unlike each other: a poor fit for the FIB-SEM model, which is noted
    tifffile.imwrite(poor, np.random.default_rng(1).integers(0, 255, (3, 32, 32), dtype=np.uint8),
                     photometric="minisblack")
    result = cli("denoise", poor, "-o", tmp_path / "o.tif", "--model", "flyem-nrrn-lite", "--device", "cuda")
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert "no CUDA GPU is available here" in result.err


def test_a_dose_range_with_decimal_commas_says_to_use_a_point(tmp_path, cli):
    """A German user's --dose 12,5:50 was told only "should be LOW:HIGH" (locale audit of 2026-12-06)."""
    source = tmp_path / "clean.tif"
    tifffile.imwrite(source, synthetic_em_stack(3, 48, 40, seed=2), imagej=True, metadata={"axes": "ZYX"})
    result = cli("train", "xception", "--clean", source, "--dose", "12,5:50", "--steps", "1", "-o", tmp_path / "m")
    err = result.err
    assert result.code == 2 and "with a decimal point, not a comma" in err and err.count("\n") == 1


def test_a_batch_systems_workers_pick_the_device_on_their_machines(tmp_path, cli, fibsem_crop, monkeypatch):
    """A CPU login node submitting to GPU nodes was refused "no CUDA GPU is available here" (review)."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = cli("denoise", fibsem_crop, "-o", tmp_path / "o.zarr", "--model", "flyem-nrrn-lite", "--device", "cuda",
                 "--scheduler", "slurm")
    assert result.code == 2 and "no CUDA GPU" not in result.err, result.err
    assert "--cluster-config" in result.err  # what stops it here: the batch system's settings
