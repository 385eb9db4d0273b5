"""models.portable: the self-contained module's normalisations equal core.normalise's."""

import numpy as np
import pytest
import torch

from emdenoise_gui.core import normalise
from emdenoise_gui.core.normalise import slice_params
from emdenoise_gui.inference.predictor import Predictor
from emdenoise_gui.models.portable import (
    _PERCENTILES,
    PortableDenoiser,
    _symmetric_pad,
    bulk_limits,
    robust_params,
)
from emdenoise_gui.zoo import registry
from emdenoise_gui.zoo.bioimageio import demo_tensor
from emdenoise_gui.zoo.package import load_network

HOT = 65535.0  # a hot pixel of a uint16 detector


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))


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


def shipped(name: str) -> tuple[Predictor, PortableDenoiser]:
    """The shipped model ``name``'s predictor (CPU, float32) and its portable module (no padding: one tile)."""
    package = registry.find(name).package
    card = package.card
    module = PortableDenoiser(card.family, card.architecture, card.normalisation["kind"], net=load_network(package))
    return Predictor(package, torch.device("cpu"), precision="fp32"), module.eval().requires_grad_(False)


def counts(slices: int, shape: tuple[int, int]) -> np.ndarray:
    """(1, slices, *shape) float32: the FlyEM demo tiled to ``shape`` as uint16 counts of about 1500 (x8 + 400)."""
    demo = demo_tensor(slices, 256)
    return np.tile(demo, (1, 1, -(-shape[0] // 256), -(-shape[1] // 256)))[..., :shape[0], :shape[1]] * 8 + 400


def one_tile(predictor: Predictor, window: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (H, W): our predictor's normalisation of ``window``, its network on the whole of it as one tile,
    and the way back (core.normalise.Normaliser forward and inverse)."""
    norm = predictor.normaliser(window)
    return norm.inverse(predictor._tile_fn(norm.forward(window)[None])[0])


def assert_matches(got: np.ndarray, expected: np.ndarray) -> None:
    """Within the bioimage.io export test's tolerance for one tile."""
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * float(np.abs(expected).max()))


@pytest.mark.parametrize("name", ["flyem-nrrn-lite", "flyem-cyclic-artifacts"])  # zscore-slice, robust-slice
def test_a_hot_pixel_is_scaled_and_clipped_as_our_predictor_does(name):
    """One pixel of 65535 in a slice of about 1500: the module took the z-score of its plain mean and std (the
    pixel raised the std from 313 to 401) and gave the network the pixel unclipped (cyclic's instance norms then
    took the whole tile's scale from it: 60 % of the slice's span off far from the pixel), where our predictor
    clips the values to their bulk for the statistics and the network's input to that bulk widened by
    STRAY_MARGIN."""
    predictor, module = shipped(name)
    x = counts(predictor.input_slices, (256, 256))
    x[0, predictor.input_slices // 2, 100, 120] = HOT
    with torch.no_grad():
        got = module(torch.from_numpy(x))[0, 0].numpy()
    assert_matches(got, one_tile(predictor, x[0]))


def traced_at_64(module: PortableDenoiser) -> torch.jit.ScriptModule:
    """``module`` traced as the export traces it (autograd on: NRRN's in-place inference path otherwise), on a
    (1, C, 64, 64) tile: every pixel in the bulk's ranks, one value in from each end."""
    with torch.enable_grad():
        return torch.jit.trace(module, torch.from_numpy(counts(module.slices, (64, 64))), check_trace=False)


def test_a_traced_module_takes_its_ranks_afresh_at_another_size():
    """Called at 160 x 192 px, where the bulk is 3 values in from each end: a rank baked in at the trace's size
    would leave two of the three hot pixels in the bulk, and the z-score's scale with them."""
    predictor, module = shipped("flyem-nrrn-lite")
    traced = traced_at_64(module)
    x = counts(3, (160, 192))
    x[0, :, [10, 50, 90], [20, 60, 100]] = HOT
    x[0, 1, 30, 40] = 0.0  # and a dead one
    with torch.no_grad():
        got = traced(torch.from_numpy(x))[0, 0].numpy()
    assert_matches(got, one_tile(predictor, x[0]))


# 3 values in from each end; 26 of every other row and column; the ends of 2 values
@pytest.mark.parametrize("shape", [(160, 192), (1040, 1024), (2, 1)])
def test_traced_bulk_limits_are_our_predictors_at_other_sizes(shape):
    """The ends of each channel's bulk, which the z-score's clip and the stray bounds are made of, from a trace at
    64 x 64 px (one value in from each end): exactly core.normalise.bulk_limits's. The values are dithered, so
    that another subsample or rank would give other ends."""
    traced = torch.jit.trace(bulk_limits, torch.from_numpy(counts(3, (64, 64))))
    x = np.concatenate([counts(3, shape)] * 2) + np.random.default_rng(5).uniform(0, 8, (2, 3, *shape))
    x = x.astype(np.float32)
    low, high = traced(torch.from_numpy(x))
    assert low.shape == high.shape == (2, 3, 1, 1)
    expected = np.array([[normalise.bulk_limits(s) for s in sample] for sample in x])  # (2, 3, 2)
    np.testing.assert_array_equal(np.stack([low, high], -1)[..., 0, 0, :], expected)


@pytest.mark.parametrize("name", ["flyem-nrrn-lite", "flyem-cyclic-artifacts"])
def test_a_traced_module_keeps_no_device_of_its_trace(name):
    """bioimage.io tools load the TorchScript onto their GPU (``torch.jit.load(..., map_location)``): the subsample's
    ``torch.arange(..., device=x.device)`` was traced as a constant "cpu", and a GPU tensor was indexed with CPU
    indices."""
    graph = str(traced_at_64(shipped(name)[1]).inlined_graph)
    assert "Device = prim::Constant" not in graph


@pytest.mark.parametrize("name", ["flyem-nrrn-lite", "flyem-cyclic-artifacts"])
def test_a_blank_centre_slice_is_returned_as_it_is_traced_too(name):
    """Our predictor returns a blank slice (a missing section, padding) as it is; the module ran the network on it
    (scaled by its zero spread: a grey pattern). One blank sample beside a normal one, traced at 64^2, called at
    96^2: the blank one comes back unchanged, the other denoised."""
    predictor, module = shipped(name)
    traced = traced_at_64(module)
    x = np.concatenate([counts(predictor.input_slices, (96, 96)), counts(predictor.input_slices, (96, 96))])
    x[1, predictor.input_slices // 2] = 1234.0
    with torch.no_grad():
        got = traced(torch.from_numpy(x))[:, 0].numpy()
    np.testing.assert_array_equal(got[1], np.full((96, 96), 1234.0, np.float32))
    assert_matches(got[0], one_tile(predictor, x[0]))
