"""`emdenoise compare` scales by the reference's whole range and says which (metrics audit 2026-12-06);
the median filter's edges are the same through the CLI's tiles and on its own."""

import numpy as np
import tifffile

from emdenoise_gui.core.baselines import apply_filter
from tests.conftest import main


def _stack(path, data):
    tifffile.imwrite(path, data, photometric="minisblack", metadata={"axes": "ZYX"})
    return path


def test_a_bright_slice_the_range_sample_skips_is_not_clipped_away(tmp_path, capsys):
    """The range came from 16 of 20 slices: slice 2, three times brighter, clipped to 1 in both images,
    and two images that differ there were called identical (exit 0)."""
    rng = np.random.default_rng(0)
    clean = (316 + rng.random((20, 32, 32)) * 620).astype(np.uint16)
    clean[2] *= 3
    other = clean.copy()
    other[2] = clean[2] // 2 + 2000
    a, b = _stack(tmp_path / "clean.tif", clean), _stack(tmp_path / "other.tif", other)
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "identical" not in out
    assert f"values scaled to [0, 1] by {clean.min():g} to {clean.max():g} (its minimum and maximum)" in out
    assert main(["compare", str(a), str(a)]) == 0 and "identical" in capsys.readouterr().out


def test_the_header_says_an_8_bit_reference_is_scaled_by_its_type(tmp_path, capsys):
    clean = np.full((3, 32, 32), 80, np.uint8)
    clean[:, :, 16:] = 100
    noisy = clean.copy()
    noisy[:, ::2, ::2] += 5
    a, b = _stack(tmp_path / "c.tif", clean), _stack(tmp_path / "n.tif", noisy)
    assert main(["compare", str(a), str(b)]) == 0
    assert "values scaled to [0, 1] by 0 to 255 (its 8-bit type's range)" in capsys.readouterr().out


def test_the_median_filters_edges_agree_with_its_tiled_run(tmp_path):
    image = (np.random.default_rng(1).random((3, 40, 40)) * 255).astype(np.uint8)
    src = _stack(tmp_path / "in.tif", image)
    assert main(["denoise", str(src), "-o", str(tmp_path / "m.tif"), "--method", "median", "--dtype", "float32"]) == 0
    tiled = tifffile.imread(tmp_path / "m.tif")
    alone = apply_filter("median", image[0].astype(np.float32) / 255) * 255
    np.testing.assert_allclose(tiled[0], alone, atol=1e-3)


def test_images_of_the_same_name_get_rows_that_tell_them_apart(tmp_path, capsys):
    """A/x.tif and B/x.tif were two rows both labelled x.tif; which was best could not be told (names audit)."""
    clean = (np.random.default_rng(1).random((3, 32, 32)) * 200).astype(np.uint8)
    for folder, shift in (("A", 1), ("B", 9)):
        (tmp_path / folder).mkdir()
        _stack(tmp_path / folder / "x.tif", clean + shift)
    a = _stack(tmp_path / "c.tif", clean)
    assert main(["compare", str(a), str(tmp_path / "A" / "x.tif"), str(tmp_path / "B" / "x.tif")]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "x.tif" in line]
    assert len(rows) == 2 and rows[0].lstrip().startswith("A/x.tif") and rows[1].lstrip().startswith("B/x.tif")
    assert "lowest MSE" in rows[0] and "lowest MSE" not in rows[1]


def test_running_out_of_memory_is_said_in_words_not_as_a_bug(tmp_path, capsys, monkeypatch):
    """'internal error: MemoryError: Unable to allocate 1.91 GiB ... (please report it)' (large-input audit)."""
    from emdenoise_gui.core import metrics

    def too_big(*_args, **_kw):
        raise MemoryError("Unable to allocate 1.91 GiB for an array with shape (16000, 16000)")

    monkeypatch.setattr(metrics, "ssim", too_big)
    clean = np.zeros((2, 16, 16), np.uint8)
    clean[:, :, 8:] = 100
    a = _stack(tmp_path / "c.tif", clean)
    assert main(["compare", str(a), str(a)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("emdenoise: error: out of memory (Unable to allocate 1.91 GiB") and "report" not in err
    assert len(err.splitlines()) == 1 and "close other programs" in err


def test_a_hot_pixel_in_the_reference_does_not_set_the_range_or_the_ranking(tmp_path, capsys):
    """One pixel of 65535 among values of 1012-1060 set the range: the noisy input, sharing the hot pixel,
    scored 80.87 dB (SSIM 1.0000) and 'best' above a median filter that removed it (metrics audit)."""
    rng = np.random.default_rng(1)
    clean = np.rint(1036 + 24 * np.sin(np.arange(48) / 5)[None, :, None] * np.ones((4, 48, 40))).astype(np.uint16)
    noisy = np.clip(np.rint(clean + rng.normal(0, 6, clean.shape)), 0, 65535).astype(np.uint16)
    smooth = np.stack([apply_filter("median", s.astype(np.float32)) for s in noisy]).astype(np.uint16)
    scores = {}
    for hot in (False, True):
        ref, inp = clean.copy(), noisy.copy()
        if hot:
            ref[2, 10, 10] = inp[2, 10, 10] = 65535
        paths = [_stack(tmp_path / f"{name}{hot}.tif", d) for name, d in (("r", ref), ("n", inp), ("m", smooth))]
        assert main(["compare", *map(str, paths)]) == 0
        out = capsys.readouterr().out
        scores[hot] = [float(line.split()[1]) for line in out.splitlines()[2:4]]
        assert out.splitlines()[3].endswith("<- lowest MSE"), out  # the median, hot pixel or not
        assert ("leaving out outliers such as hot pixels" in out) == hot
        assert f"by {clean.min():g} to {clean.max():g} (its minimum and maximum" in out
    assert np.allclose(scores[True], scores[False], atol=0.1), scores


def test_a_result_is_compared_with_the_slices_its_mrc_header_places_it_at(tmp_path, capsys):
    """A result of `denoise --slices 3:6` written as MRC records its start slice (nzstart 3); compare took
    any --slices given (0:3: 10.23 dB, SSIM -0.64 against 30.53 for the right slices, exit 0) and without
    one asked for it (metrics audit). Now the header's place is used, and a --slices that disagrees is noted."""
    rng = np.random.default_rng(2)
    y, x = np.mgrid[:40, :40]
    clean = np.stack([120 + 80 * np.sin((x + 7 * z) / 4) * np.cos(y / 5) for z in range(6)]).astype(np.uint8)
    noisy = _stack(tmp_path / "noisy.tif", np.clip(clean + rng.normal(0, 12, clean.shape), 0, 255).astype(np.uint8))
    ref = tmp_path / "clean.mrc"  # a reference whose header says where it sits (a TIFF's says nothing)
    assert main(["convert", str(_stack(tmp_path / "clean.tif", clean)), str(ref)]) == 0
    out = tmp_path / "part.mrc"
    assert main(["denoise", str(noisy), "-o", str(out), "--slices", "3:6", "--method", "median"]) == 0
    capsys.readouterr()
    assert main(["compare", str(ref), str(out)]) == 0
    placed = capsys.readouterr()
    assert "compared with the reference's slices 3:6, where the images' headers place them" in placed.err
    assert main(["compare", str(ref), str(out), "--slices", "3:6"]) == 0
    given = capsys.readouterr()
    assert given.out == placed.out and "header" not in given.err
    assert main(["compare", str(ref), str(out), "--slices", "0:3"]) == 0
    wrong = capsys.readouterr()
    assert "its header places its first slice at slice 3 of the reference" in wrong.err
    assert "give --slices 3:6" in wrong.err
    psnr = [float(r.out.splitlines()[2].split()[1]) for r in (placed, wrong)]
    assert psnr[0] > psnr[1] + 5, psnr
    shorter = tmp_path / "first5.mrc"  # the header's slices 3:6 would pass its end
    assert main(["convert", str(ref), str(shorter), "--slices", "0:5"]) == 0
    capsys.readouterr()
    assert main(["compare", str(shorter), str(out), "--slices", "0:3"]) == 0
    err = capsys.readouterr().err
    assert "its 3 slices from there would pass the reference's 5" in err and "give --slices" not in err
    tiff_ref = tmp_path / "clean.tif"  # says nothing of where it sits: the depths must match, as before
    assert main(["compare", str(tiff_ref), str(out)]) == 2 and "pass --slices" in capsys.readouterr().err
    assert main(["compare", str(tiff_ref), str(out), "--slices", "0:3"]) == 0
    assert "header" not in capsys.readouterr().err


def test_a_bead_of_several_pixels_is_part_of_the_range_and_an_image_that_lost_it_is_not_identical(tmp_path,
                                                                                                  capsys):
    """Any value beyond the bulk was left out: 5x5 beads of 200 among 1012-1059, erased in the image, made
    it 'identical' (review)."""
    rng = np.random.default_rng(3)
    clean = (1012 + rng.random((2, 64, 64)) * 47).astype(np.uint16)
    clean[:, 10:15, 10:15] = clean[:, 40:45, 30:35] = 200
    lost = clean.copy()
    lost[:, 10:15, 10:15] = lost[:, 40:45, 30:35] = 1030
    a, b = _stack(tmp_path / "beads.tif", clean), _stack(tmp_path / "lost.tif", lost)
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "by 200 to " in out and "leaving out" not in out and "identical" not in out, out


def test_slices_compared_alone_score_as_in_a_run_on_the_whole_stack(tmp_path, capsys):
    """The range came from the compared slices only: with one slice of 3x the contrast elsewhere, slices 3:5
    scored 18.55 dB alone and about 29.4 in the whole run (metrics audit)."""
    rng = np.random.default_rng(4)
    clean = (1012 + rng.random((6, 32, 32)) * 48).astype(np.uint16)
    clean[5] = 1012 + (clean[5] - 1012) * 3
    noisy = np.clip(np.rint(clean + rng.normal(0, 3, clean.shape)), 0, 65535).astype(np.uint16)
    ref, whole = _stack(tmp_path / "c.tif", clean), _stack(tmp_path / "n.tif", noisy)
    part = _stack(tmp_path / "n35.tif", noisy[3:5])
    assert main(["compare", str(ref), str(whole)]) == 0
    head = capsys.readouterr().out.splitlines()[0]
    assert main(["compare", str(ref), str(part), "--slices", "3:5"]) == 0
    out = capsys.readouterr().out
    assert head.split("values scaled")[1] == out.splitlines()[0].split("values scaled")[1]  # the same range


def test_a_blank_slice_in_every_image_neither_makes_every_psnr_inf_nor_the_input_best(tmp_path, capsys):
    """A blank padding slice, returned as it is by the models, made every row 'inf' and marked the noisy input
    best (dtype audit of 2026-12-07): the PSNR is over the other slices, said so, and best goes by the MSE."""
    rng = np.random.default_rng(1)
    clean = (60 + rng.random((4, 48, 48)) * 120).astype(np.uint8)
    clean[2] = 0
    noisy = np.clip(clean + rng.normal(0, 20, clean.shape), 0, 255).astype(np.uint8)
    better = np.clip(clean + rng.normal(0, 5, clean.shape), 0, 255).astype(np.uint8)
    noisy[2] = better[2] = 0
    paths = [_stack(tmp_path / f"{name}.tif", data) for name, data in
             (("clean", clean), ("noisy", noisy), ("better", better))]
    assert main(["compare", *map(str, paths)]) == 0
    captured = capsys.readouterr()
    rows = {line.split()[0]: line for line in captured.out.splitlines()[2:]}
    assert "inf" not in captured.out and "<- lowest MSE" in rows["better.tif"]
    assert float(rows["better.tif"].split()[1]) > float(rows["noisy.tif"].split()[1]) > 15
    assert "1 of its 4 slices equal the reference's" in captured.err
