"""The emdenoise CLI end to end on real FIB-SEM data."""

import numpy as np
import pytest
import tifffile

from emdenoise_gui.core import baselines, noise
from emdenoise_gui.core.io import open_stack
from tests.conftest import sha256


def _psnr_column(out: str) -> dict:
    rows = {}
    for line in out.splitlines()[2:]:
        parts = line.split()
        rows[parts[0]] = float(parts[1])
    return rows


def test_noise_denoise_compare_on_fibsem(tmp_path, cli, fibsem_crop):
    digest = sha256(fibsem_crop)
    noisy, den = tmp_path / "noisy.tif", tmp_path / "den.mrc"
    assert cli("noise", fibsem_crop, "-o", noisy, "--kind", "poisson-dose", "--dose", "25", "--seed", "3").code == 0
    assert cli("denoise", noisy, "-o", den, "--method", "median", "--tile", "64", "--stride", "32").code == 0
    result = cli("compare", fibsem_crop, noisy, den)
    assert result.code == 0, result.err
    psnr = _psnr_column(result.out)
    assert psnr["den.mrc"] > psnr["noisy.tif"] + 3.0  # median beats Poisson noise at 25 counts/px
    for path in (noisy, den):
        with open_stack(path) as stack:
            assert stack.shape == (6, 96, 80)
            assert stack.meta.voxel_size_nm == pytest.approx((10.0, 10.0, 10.0), rel=1e-5)
    assert sha256(fibsem_crop) == digest


def test_noise_is_seeded_and_slice_subset_consistent(tmp_path, cli, fibsem_crop):
    a, b, c = (tmp_path / n for n in ("a.tif", "b.tif", "c.tif"))
    cli("noise", fibsem_crop, "-o", a, "--kind", "gaussian", "--sigma", "25", "--seed", "7")
    cli("noise", fibsem_crop, "-o", b, "--kind", "gaussian", "--sigma", "25", "--seed", "7", "--slices", "2:4")
    cli("noise", fibsem_crop, "-o", c, "--kind", "gaussian", "--sigma", "25", "--seed", "8")
    full, part, other = tifffile.imread(a), tifffile.imread(b), tifffile.imread(c)
    np.testing.assert_array_equal(full[2:4], part)
    assert not np.array_equal(full, other)
    clean = tifffile.imread(fibsem_crop).astype(np.float32)
    assert np.std(full - clean) == pytest.approx(25.0, rel=0.05)  # sigma on the 8-bit scale


@pytest.mark.parametrize("kind", list(noise.NOISE_KINDS))
def test_every_noise_kind(tmp_path, cli, fibsem_crop, kind):
    out = tmp_path / "n.tif"
    result = cli("noise", fibsem_crop, "-o", out, "--kind", kind, "--slices", "0:2")
    assert result.code == 0, result.err
    with open_stack(out) as stack:
        assert stack.shape == (2, 96, 80) and stack.dtype == np.float32
        assert not np.array_equal(stack[0], tifffile.imread(fibsem_crop, key=0).astype(np.float32))


@pytest.mark.parametrize("method", list(baselines.FILTERS))
def test_every_filter_through_the_cli(tmp_path, cli, fibsem_crop, method):
    out = tmp_path / "d.tif"
    result = cli("denoise", fibsem_crop, "-o", out, "--method", method, "--slices", "0:2",
                 "--tile", "64", "--stride", "32", "--dtype", "input")
    assert result.code == 0, result.err
    with open_stack(out) as stack:
        assert stack.shape == (2, 96, 80) and stack.dtype == np.uint8


def test_info_prints_shape_dtype_voxel_and_stats(cli, shared_data):
    result = cli("info", shared_data / "mrc/EMD-3197.map", shared_data / "fibsem_flyem_medulla_train1_250x250x250.tif")
    assert result.code == 0, result.err
    assert "20 x 20 x 20 (Z, Y, X)" in result.out and "[11.4 x 11.4, 11.4 Å]" in result.out
    assert "250 x 250 x 250 (Z, Y, X)" in result.out and "10 x 10 nm (x, y), 10 nm (z)" in result.out
    assert "min/max" in result.out and "mean" in result.out


def test_info_names_a_bad_file_and_goes_on_to_the_next(tmp_path, cli, fibsem_crop):
    """It stopped at the first file it could not read, leaving the others undescribed."""
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a tiff")
    result = cli("info", bad, fibsem_crop, tmp_path / "gone.tif")
    assert result.code == 2 and str(fibsem_crop) in result.out and "min/max" in result.out
    errors = result.err.strip().splitlines()
    assert len(errors) == 2 and "bad.tif" in errors[0] and "gone.tif" in errors[1], result.err
    assert "Traceback" not in result.err


def test_output_dtype_input_and_stats_scale(tmp_path, cli, fibsem_crop):
    out = tmp_path / "o.tif"
    assert cli("denoise", fibsem_crop, "-o", out, "--method", "gaussian", "--dtype", "input", "--tile", "64",
               "--stride", "32").code == 0
    data, clean = tifffile.imread(out), tifffile.imread(fibsem_crop)
    assert data.dtype == np.uint8
    assert abs(float(data.mean()) - float(clean.mean())) < 1.0  # same intensity scale as the input


def test_compare_shape_mismatch_is_explained(tmp_path, cli, fibsem_crop):
    part = tmp_path / "part.tif"
    cli("denoise", fibsem_crop, "-o", part, "--method", "median", "--slices", "1:3", "--tile", "64", "--stride", "32")
    result = cli("compare", fibsem_crop, part)
    assert result.code == 2 and "--slices" in result.err
    assert cli("compare", fibsem_crop, part, "--slices", "1:3").code == 0
    narrow = tmp_path / "narrow.tif"  # slices of another size: no --slices helps, so none is advised
    tifffile.imwrite(narrow, tifffile.imread(fibsem_crop)[:, :, :60], photometric="minisblack")
    result = cli("compare", fibsem_crop, narrow)
    assert result.code == 2 and "--slices" not in result.err and "compare images of the same size" in result.err


def test_ctrl_c_exits_130_and_writes_nothing(tmp_path, cli, fibsem_crop, monkeypatch):
    def interrupted(name, image):
        raise KeyboardInterrupt

    monkeypatch.setattr(baselines, "apply_filter", interrupted)
    result = cli("denoise", fibsem_crop, "-o", tmp_path / "o.tif", "--method", "median")
    assert result.code == 130 and "nothing was written" in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == [fibsem_crop.name]


def test_internal_error_is_one_line(tmp_path, cli, fibsem_crop, monkeypatch):
    monkeypatch.setattr(baselines, "apply_filter", lambda name, image: 1 / 0)
    result = cli("denoise", fibsem_crop, "-o", tmp_path / "o.tif", "--method", "median")
    assert result.code == 1 and "ZeroDivisionError" in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1
    for where in (("--debug", "denoise"), ("denoise", "--debug")):  # before the command or after it
        args = [*where, fibsem_crop, "-o", tmp_path / "o.tif", "--method", "median"]
        with pytest.raises(ZeroDivisionError):
            cli(*args)


def test_an_unknown_option_is_reported_by_its_command_and_filter_names_the_method(tmp_path, cli, fibsem_crop, capsys):
    out = tmp_path / "den.tif"
    with pytest.raises(SystemExit) as stop:
        cli("denoise", fibsem_crop, "-o", out, "--fliter", "gaussian")
    err = capsys.readouterr().err
    assert stop.value.code == 2 and not out.exists()
    assert "--fliter gaussian (see `emdenoise denoise --help`)" in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("emdenoise denoise: error: ")  # no usage block
    with pytest.raises(SystemExit):  # before the command's name, an option is emdenoise's own
        cli("--bogus", "info", fibsem_crop)
    assert "(see `emdenoise --help`)" in capsys.readouterr().err
    # a microscopist's word for a classical filter works as well as --method
    assert cli("denoise", fibsem_crop, "-o", out, "--filter", "gaussian", "--tile", "64").code == 0
    ref = tmp_path / "ref.tif"
    assert cli("denoise", fibsem_crop, "-o", ref, "--method", "gaussian", "--tile", "64").code == 0
    assert np.array_equal(tifffile.imread(out), tifffile.imread(ref))


def test_compare_names_an_identical_image_instead_of_inf_plus_minus_nan(tmp_path, cli):
    clean = np.random.default_rng(0).integers(0, 255, (4, 32, 32), dtype=np.uint8)
    part = clean.copy()
    part[1] = 255 - part[1]  # one slice differs, two are the reference's
    for name, data in (("clean.tif", clean), ("same.tif", clean), ("part.tif", part)):
        tifffile.imwrite(tmp_path / name, data, photometric="minisblack")
    result = cli("compare", tmp_path / "clean.tif", tmp_path / "same.tif", tmp_path / "part.tif")
    assert result.code == 0 and "nan" not in result.out
    rows = {line.split()[0]: line for line in result.out.splitlines()[2:]}
    assert rows["same.tif"].split()[1] == "identical"
    assert rows["part.tif"].split()[2:4] == ["±", "0.00"] and 0 < float(rows["part.tif"].split()[1]) < 10
    assert "part.tif: 3 of its 4 slices equal the reference's" in result.err  # its PSNR is the differing slice's


def test_an_output_type_too_narrow_for_the_data_is_refused(tmp_path, cli, fibsem_crop):
    """uint16 data (x200) stored as uint8 used to come out all white (clipped at 255, exit 0); int16 data
    with negative values stored as uint16 lost them. A denoiser's small overshoot is still just clipped."""
    wide = tmp_path / "wide.tif"
    tifffile.imwrite(wide, tifffile.imread(fibsem_crop).astype(np.uint16) * 200, imagej=True,
                     metadata={"axes": "ZYX"})
    out = tmp_path / "o.tif"
    _refused_by_convert_and_denoise(cli, wide, out, "uint8", "would be clipped; choose --dtype float32")
    signed = tmp_path / "signed.tif"
    tifffile.imwrite(signed, tifffile.imread(fibsem_crop).astype(np.int16) - 128, imagej=True,
                     metadata={"axes": "ZYX"})
    result = cli("convert", signed, out, "--dtype", "uint16")
    assert result.code == 2 and "beyond uint16's 0 to 65535" in result.err and not out.exists()
    assert cli("convert", wide, out, "--dtype", "uint16").code == 0  # it fits: stored as it is
    np.testing.assert_array_equal(tifffile.imread(out), tifffile.imread(wide))


def _refused_by_convert_and_denoise(cli, source, out, dtype: str, phrase: str) -> None:
    """``convert`` and ``denoise --method gaussian`` of ``source`` as ``dtype`` exit 2 with ``phrase`` on one line."""
    for command in (("convert", source, out, "--dtype", dtype),
                    ("denoise", source, "-o", out, "--method", "gaussian", "--dtype", dtype)):
        result = cli(*command)
        assert result.code == 2 and phrase in result.err, result.err
        assert len(result.err.strip().splitlines()) == 1 and not out.exists()


def test_float_data_on_a_unit_scale_are_not_flattened_into_an_integer_type(tmp_path, cli, fibsem_crop):
    """Float data on [0, 1] stored as uint16 came out as 0s and 1s, exit 0. Refused now, before any work, in the CLI
    and in a block run, from the input's range; float data spanning enough grey levels (a blank slice among them),
    and integer input of low contrast, are still written."""
    from emdenoise_gui.core.errors import InputError
    from emdenoise_gui.core.events import run_to_end
    from emdenoise_gui.jobs import blocks
    from emdenoise_gui.jobs.denoise import Denoiser

    unit = tmp_path / "unit.tif"
    tifffile.imwrite(unit, tifffile.imread(fibsem_crop).astype(np.float32) / 255, imagej=True,
                     metadata={"axes": "ZYX"})
    out = tmp_path / "o.tif"
    _refused_by_convert_and_denoise(cli, unit, out, "uint16", "holds floating-point values from 0.227451 to 0.815686: "
                                    "stored as uint16 the result would keep 2 grey levels; choose --dtype float32")
    with pytest.raises(InputError, match="keep 2 grey levels; choose --dtype float32"):
        run_to_end(blocks.denoise_blocks(unit, tmp_path / "o.zarr", Denoiser("filter", "gaussian"), dtype="uint16"))
    wide = tmp_path / "wide.tif"  # the same data on a 0-255 float scale: rounded as they are
    tifffile.imwrite(wide, tifffile.imread(fibsem_crop).astype(np.float32), imagej=True, metadata={"axes": "ZYX"})
    assert cli("convert", wide, out, "--dtype", "uint8").code == 0
    np.testing.assert_array_equal(tifffile.imread(out), tifffile.imread(fibsem_crop))
    blank = tmp_path / "blank.tif"  # one blank slice in float data on a 0-255 scale does not stop the run
    data = tifffile.imread(fibsem_crop).astype(np.float32)
    data[2] = 7.0
    tifffile.imwrite(blank, data, imagej=True, metadata={"axes": "ZYX"})
    assert cli("convert", blank, tmp_path / "b.tif", "--dtype", "uint8").code == 0
    faint = tmp_path / "faint.tif"  # integer input of 5 grey levels: kept as it is
    tifffile.imwrite(faint, (tifffile.imread(fibsem_crop) // 64).astype(np.uint8), imagej=True,
                     metadata={"axes": "ZYX"})
    assert cli("convert", faint, tmp_path / "f.tif", "--dtype", "uint16").code == 0


def test_cast_clips_a_small_overshoot_only():
    from emdenoise_gui.core.errors import InputError
    from emdenoise_gui.core.io.writer import cast_to

    overshoot = np.tile(np.linspace(0.0, 255.0, 100), (100, 1))  # a denoised 8-bit slice ...
    overshoot[:3, :] = 262.0  # ... 3 % of whose pixels overshoot by less than 5 % of its span
    assert cast_to(overshoot, np.uint8).max() == 255
    overshoot[0, :2] = 300.0  # 0.02 % far beyond: still clipped
    assert cast_to(overshoot, np.uint8).max() == 255
    overshoot[1, :] = 300.0  # 1 % far beyond: refused
    with pytest.raises(InputError, match="would be clipped"):
        cast_to(overshoot, np.uint8)


def test_a_poor_fit_is_noted_and_the_run_goes_on(tmp_path, cli, shared_data, fibsem_crop):
    """NRRN on ssTEM (50 nm sections, neighbours unlike) ran without a word; the app grades it a poor fit."""
    out = tmp_path / "o.tif"
    result = cli("denoise", shared_data / "sstem_isbi2012_train_30x512x512.tif", "-o", out, "--model",
                 "flyem-nrrn-lite", "--slices", "0:1")
    assert result.code == 0 and out.exists()
    assert "note: flyem-nrrn-lite is a poor fit for sstem_isbi2012_train_30x512x512.tif" in result.err, result.err
    result = cli("denoise", fibsem_crop, "-o", tmp_path / "f.tif", "--model", "flyem-nrrn-lite")
    assert result.code == 0 and "poor fit" not in result.err


def test_model_auto_picks_what_the_app_would(tmp_path, cli, shared_data, fibsem_crop, monkeypatch):
    """The app preselects the best-fitting zoo model (a filter when all fit poorly); the CLI had no way to."""
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))  # the shipped models only
    auto, named = tmp_path / "auto.tif", tmp_path / "named.tif"
    result = cli("denoise", fibsem_crop, "-o", auto, "--model", "auto")
    assert result.code == 0, result.err
    assert f"--model auto: flyem-nrrn-lite for {fibsem_crop.name} (good fit" in result.err
    assert "for the package 'auto' in this folder" not in result.err
    assert cli("denoise", fibsem_crop, "-o", named, "--model", "flyem-nrrn-lite").code == 0
    np.testing.assert_array_equal(tifffile.imread(auto), tifffile.imread(named))

    sstem = shared_data / "sstem_isbi2012_train_30x512x512.tif"
    result = cli("denoise", sstem, "-o", auto, "--model", "auto", "--slices", "0:1", "--overwrite")
    assert result.code == 0, result.err
    assert "every zoo model fits it poorly (the closest: " in result.err
    assert "with the filter gaussian-sure (Gaussian, width by SURE), as the app does" in result.err  # slices differ
    assert cli("denoise", sstem, "-o", named, "--method", "gaussian-sure", "--slices", "0:1", "--overwrite").code == 0
    np.testing.assert_array_equal(tifffile.imread(auto), tifffile.imread(named))
    assert "neither --model nor --method" not in result.err
    result = cli("denoise", sstem, "-o", tmp_path / "default.tif", "--slices", "0:1")
    assert result.code == 0 and "neither --model nor --method given: the filter gaussian-sure (Gaussian, width by SURE)" in result.err
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "default.tif"), tifffile.imread(named))
    # a single image: not NRRN, which reads it as its own neighbours (0.2 dB above the SURE-tuned Gaussian on
    # FlyEM slices, 4-6 dB below it on single SEM frames: audit of 2026-12-07), nor the cyclic artifact model
    # (below the 3x3 Gaussian there), which --model auto picked while NRRN was "poor"
    single = tmp_path / "single.tif"
    tifffile.imwrite(single, tifffile.imread(fibsem_crop)[0], photometric="minisblack")
    result = cli("denoise", single, "-o", tmp_path / "single_auto.tif", "--model", "auto")
    assert result.code == 0 and ("--model auto: a single image: a model that reads neighbouring slices is not "
                                 "picked for one") in result.err
    assert "pick it by hand to try it; denoising single.tif with the filter gaussian-sure" in result.err
    monkeypatch.chdir(tmp_path)  # a folder named auto here used to be read as a package: it is named
    (tmp_path / "auto").mkdir()
    result = cli("denoise", sstem, "-o", tmp_path / "y.tif", "--model", "auto", "--slices", "0:1")
    assert result.code == 0 and "for the package 'auto' in this folder give --model ./auto" in result.err
    result = cli("denoise", sstem, "-o", tmp_path / "x.tif", "--model", "auto", "--method", "gaussian")
    assert result.code == 2 and "choose a model or a classical filter" in result.err


def test_filters_lists_the_papers_baselines_apart(cli):
    result = cli("filters")
    assert result.code == 0
    usable, _, published = result.out.partition("paper baselines")
    names = lambda text: [line.split()[0] for line in text.splitlines() if line and not line.startswith(" ")]  # noqa: E731
    assert "gaussian-sure" in names(usable) and "bm3d" in names(usable) and "tv-bregman" not in names(usable)
    assert sorted(names(published.split("\n", 1)[1])) == ["bilateral", "nlm", "nlm-avg", "tv-bregman", "tv-chambolle"]


def test_an_integer_type_that_cannot_hold_the_input_is_refused_before_any_work(tmp_path, cli, fibsem_crop):
    """An int16 MRC with its dark-subtracted background around 0 denoised as uint16 had 18 % of its pixels clipped
    to 0, exit 0: the writer let values past the type's range go within 5 % of the span, as a result's overshoot
    (dtype audit of 2026-12-07). Refused up front now; a few overshooting pixels still pass."""
    import mrcfile

    data = tifffile.imread(fibsem_crop).astype(np.int16) * 8
    data -= np.int16(np.percentile(data, 20))  # a fifth of the pixels below 0, none under -40: 5 % of the span
    data = np.maximum(data, -40)
    assert 0.1 < np.mean(data < 0) < 0.5 and (data.max() - data.min()) * 0.05 > 40
    source, out = tmp_path / "dark.mrc", tmp_path / "o.mrc"
    with mrcfile.new(source) as mrc:
        mrc.set_data(data)
    _refused_by_convert_and_denoise(cli, source, out, "uint16", "of them beyond uint16's 0 to 65535: stored as "
                                    "uint16 they would be clipped; choose --dtype float32")
    data = np.clip(data, 0, None)
    data[0, 0, :3] = -5  # three pixels in 46,080
    with mrcfile.new(source, overwrite=True) as mrc:
        mrc.set_data(data)
    assert cli("denoise", source, "-o", out, "--method", "gaussian", "--dtype", "uint16").code == 0
