"""models.portable: the self-contained module's normalisations equal core.normalise's."""

import numpy as np
import pytest
import torch

from emdenoise_gui.core.normalise import slice_params
from emdenoise_gui.models.portable import _PERCENTILES, _symmetric_pad, robust_params


def test_symmetric_padding_repeats_the_edge_pixel_as_scipy_reflect():
    x = torch.arange(12.0).reshape(1, 1, 3, 4)
    expected = np.pad(x[0, 0].numpy(), 2, mode="symmetric")
    np.testing.assert_array_equal(_symmetric_pad(x, 2)[0, 0].numpy(), expected)


@pytest.mark.parametrize("shape", [(96, 80), (256, 256), (37, 300), (1100, 1300)])  # the last subsampled
def test_robust_range_equals_the_predictors_per_slice_numbers(shape):
    rng = np.random.default_rng(3)
    image = (rng.gamma(2.0, 300.0, shape) + np.linspace(0, 900, shape[1])).astype(np.float32)  # skewed, a ramp
    offset, scale = slice_params("robust-slice", image)
    middle, half = robust_params(torch.from_numpy(image)[None, None], torch.tensor(_PERCENTILES))
    assert middle.shape == half.shape == (1, 1, 1, 1)
    assert float(middle) == pytest.approx(offset, rel=1e-5) and float(half) == pytest.approx(scale, rel=1e-5)


def test_a_flat_image_gets_a_unit_half_width_not_a_division_by_zero():
    middle, half = robust_params(torch.full((1, 2, 16, 16), 7.0), torch.tensor(_PERCENTILES))
    assert torch.all(half == 0.5) and torch.all(middle == 7.5)
    assert slice_params("robust-slice", np.full((16, 16), 7.0, np.float32)) == (7.5, 0.5)
