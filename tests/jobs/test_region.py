"""Denoising a region: the same values as the whole slice inside it (it reads 64 px of context), only
the region written; a region too small or outside the slice is refused in one line."""

import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.events import run_to_end
from emdenoise_gui.jobs.denoise import Denoiser, denoise, preview
from tests.conftest import random_package, synthetic_em_stack


@pytest.fixture
def stack(tmp_path):
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, synthetic_em_stack(4, 200, 180), photometric="minisblack")
    return path


@pytest.mark.parametrize("kind", ["filter", "flat-field", "n2v", "nrrn"])
def test_a_region_matches_the_whole_slice_inside_it(tmp_path, stack, kind, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    if kind in ("filter", "flat-field"):  # flat-field's background is the whole slice's, a region's too
        denoiser = Denoiser("filter", "gaussian" if kind == "filter" else "flat-field")
    else:
        package = random_package(tmp_path / "pkg", kind, perturb=0.05)
        denoiser = Denoiser("model", package.card.name, str(package.path), package.card.weights_sha256)
    whole, part = tmp_path / "whole.tif", tmp_path / "part.tif"
    run_to_end(denoise(str(stack), whole, denoiser, 512, None)(_token()))
    run_to_end(denoise(str(stack), part, denoiser, 512, None, region=(40, 140, 30, 110))(_token()))
    full, cut = tifffile.imread(whole), tifffile.imread(part)
    assert cut.shape == (4, 100, 80)
    # a model scales the region by the whole slice's numbers, as the preview does (scaled by the region's own,
    # a stack job's region differed from the whole slice by up to 13 grey levels): NRRN, local, gives the same
    # pixels; N2V's U-Net sees further than the region's context and moves by under a tenth of a grey level
    tolerance = 0.1 if kind == "n2v" else 1e-3
    assert np.abs(cut - full[:, 40:140, 30:110]).max() <= tolerance
    image = run_to_end(preview(str(stack), 1, denoiser, 512, None, region=(40, 140, 30, 110))(_token()))
    assert np.isnan(image[:40]).all() and np.abs(image[40:140, 30:110] - full[1, 40:140, 30:110]).max() <= tolerance


def test_a_region_too_small_is_refused(tmp_path, stack):
    with pytest.raises(InputError, match="smaller than 8 x 8"):
        run_to_end(denoise(str(stack), tmp_path / "o.tif", Denoiser("filter", "gaussian"), 512, None,
                           region=(500, 600, 0, 10))(_token()))
    assert not (tmp_path / "o.tif").exists()


def _token():
    from emdenoise_gui.core.events import CancelToken

    return CancelToken()
