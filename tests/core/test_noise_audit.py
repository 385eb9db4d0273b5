"""What the noise audit of 2026-12-07 found: film shading that became one brightness per slice, film's
--sigma another amount than the other kinds' on 16-bit data, a stray pixel clipped, the made-by line without the
defaults, a black section that stopped the stack."""

import numpy as np
import tifffile

from emdenoise_gui.core import noise
from tests.conftest import main


def test_film_wider_than_the_slice_is_still_shading():
    image = np.full((96, 96), 0.5, np.float32)
    out = noise.film(image, np.random.default_rng(1), strength=0.3, scale=400.0)
    gain = out / image
    assert gain.max() - gain.min() > 0.2 and abs(float(gain.mean()) - 1.0) < 0.05  # not one factor for all


def test_film_of_a_slice_four_scales_wide_is_as_before():
    image = np.random.default_rng(0).random((256, 256)).astype(np.float32)
    rng = np.random.default_rng(3)
    field = rng.standard_normal((256, 256))
    fy, fx = np.fft.fftfreq(256)[:, None], np.fft.rfftfreq(256)[None, :]
    smooth = np.fft.irfft2(np.fft.rfft2(field) * np.exp(-2.0 * (np.pi * 64) ** 2 * (fy**2 + fx**2)), s=(256, 256))
    smooth -= smooth.mean()
    expected = image * (1.0 + 0.3 * smooth / np.abs(smooth).max())
    np.testing.assert_allclose(noise.film(image, np.random.default_rng(3), 0.3, 64.0), expected, rtol=1e-5)


def _ramp16(path):
    data = np.linspace(1000, 3000, 3 * 64 * 64).reshape(3, 64, 64).astype(np.uint16)
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "ZYX"})
    return data


def test_sigma_means_the_same_for_film_as_for_gaussian(tmp_path):
    clean = _ramp16(tmp_path / "ramp.tif").astype(np.float64)
    sds = []
    for kind, extra in (("gaussian", []), ("film", ["--strength", "0"])):
        out = tmp_path / f"{kind}.tif"
        assert main(["noise", str(tmp_path / "ramp.tif"), "-o", str(out), "--kind", kind, "--sigma", "25",
                     *extra]) == 0
        sds.append(float(np.std(tifffile.imread(out) - clean)))
    assert abs(sds[0] - sds[1]) < 0.05 * sds[0]  # 196 and 295 grey levels
    with tifffile.TiffFile(tmp_path / "film.tif") as tif:  # the sigma asked for, not the rescaled one (review)
        assert "sigma 25, seed 0)" in tif.imagej_metadata["Info"]


def test_a_stray_pixel_keeps_its_value_under_noise(tmp_path):
    data = np.linspace(0, 0.5, 256 * 256, dtype=np.float32).reshape(1, 256, 256)
    data[0, 10, 10] = 1e6  # a stray pixel: the working scale is the bulk's, 0 to 0.5
    tifffile.imwrite(tmp_path / "s.tif", data, imagej=True, metadata={"axes": "ZYX"})
    assert main(["noise", str(tmp_path / "s.tif"), "-o", str(tmp_path / "n.tif"), "--kind", "gaussian"]) == 0
    assert abs(tifffile.imread(tmp_path / "n.tif")[10, 10] - 1e6) < 1.0  # it came out 5,000


def test_the_made_by_line_names_every_parameter_and_a_black_slice_stays_black(tmp_path):
    data = np.full((3, 32, 32), 100, np.uint8)
    data[1] = 0
    tifffile.imwrite(tmp_path / "b.tif", data, imagej=True, metadata={"axes": "ZYX"})
    out = tmp_path / "n.tif"
    assert main(["noise", str(tmp_path / "b.tif"), "-o", str(out), "--kind", "poisson-dose"]) == 0
    assert not tifffile.imread(out)[1].any()
    with tifffile.TiffFile(out) as tif:
        assert "synthetic poisson-dose noise (dose 100, seed 0)" in tif.imagej_metadata["Info"]  # the default


def test_limits_are_said_by_flag_before_any_work(tmp_path, capsys):
    _ramp16(tmp_path / "ramp.tif")
    for kind, flag, value, words in (("film", "--strength", "1", "need a strength below 1"),
                                     ("film", "--scale", "0", "need a pattern scale above 0 px"),
                                     ("charge", "--radius", "0", "need a blob radius above 0 px"),
                                     ("charge", "--n-blobs", "2000", "need at most 1000 blobs")):
        out = tmp_path / "n.tif"
        assert main(["noise", str(tmp_path / "ramp.tif"), "-o", str(out), "--kind", kind, flag, value]) == 2
        err = capsys.readouterr().err
        assert f"{flag} {value}: {words}" in err and "slice 0" not in err and not out.exists()


def test_a_scale_wider_than_the_slice_draws_a_canvas_of_its_size():
    """A scale of 1e6 on 64 px slices drew a 4096^2 canvas per slice (600 MB, 2 s; review)."""
    image = np.full((64, 64), 0.5, np.float32)
    wide = noise.film(image, np.random.default_rng(0), 0.3, 1e6)
    assert np.array_equal(wide, noise.film(image, np.random.default_rng(0), 0.3, 64.0))  # the same, at the side
