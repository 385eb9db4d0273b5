"""Tiles scaled, cut and blended on the device (the CUDA path, run here on the CPU) give the host
path's result: every family's normalisation (per slice, per tile, robust), band and paper tilings,
slices smaller than a tile, the caller's window untouched, out-of-memory back-off and cancel."""

import numpy as np
import pytest
import torch

from emdenoise_gui.core.errors import Cancelled
from emdenoise_gui.core.events import CancelToken, run_to_end
from emdenoise_gui.inference.predictor import Predictor
from tests.conftest import random_package, synthetic_em_stack

CPU = torch.device("cpu")
TOLERANCE = 1e-5  # on the [0, 1] working scale: float32 rounding, the order of the sums is the same


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    root = tmp_path_factory.mktemp("packages")
    return {family: random_package(root / family, family, perturb=0.05)
            for family in ("nrrn", "n2v", "cyclic", "xception")}


@pytest.fixture(scope="module")
def window() -> np.ndarray:
    """(3, 200, 170) float32 EM-like neighbouring slices on [0, 1]."""
    return synthetic_em_stack(3, 200, 170, seed=3).astype(np.float32) / 255


def denoise(package, window, tile, stride=None, device_tiles=False, **options) -> np.ndarray:
    predictor = Predictor(package, CPU, precision="fp32", device_tiles=device_tiles, **options)
    x = window if predictor.input_slices == 3 else window[1:2]
    return run_to_end(predictor.denoise(np.ascontiguousarray(x), tile, stride))


@pytest.mark.parametrize("family", ["nrrn", "n2v", "cyclic", "xception"])
@pytest.mark.parametrize("stride", [None, 64], ids=["fast", "paper"])
def test_device_path_equals_host_path(packages, window, family, stride):
    tile = 64 if stride is None else 128  # N2V's paper tiles overlap by at least twice its 30 px reach
    host = denoise(packages[family], window, tile, stride)
    device = denoise(packages[family], window, tile, stride, device_tiles=True)
    assert device.shape == host.shape == window.shape[1:] and device.dtype == np.float32
    # the random networks' outputs vary (N2V's least, std 4e-4): equal to 1 % of that, not two constants
    assert np.abs(device - host).max() < min(TOLERANCE, 0.01 * host.std())


def test_slice_smaller_than_the_padding(packages):
    """A 40 x 23 slice needs pads wider than itself (torch's reflection cannot): padded on the host."""
    small = synthetic_em_stack(3, 40, 23, seed=4).astype(np.float32) / 255
    host = denoise(packages["nrrn"], small, 64)
    assert np.abs(denoise(packages["nrrn"], small, 64, device_tiles=True) - host).max() < TOLERANCE


def test_the_callers_window_is_not_changed(packages, window):
    original = window.copy()
    denoise(packages["nrrn"], window, 64, device_tiles=True)
    np.testing.assert_array_equal(window, original)


def test_out_of_memory_on_the_device_path_halves_the_batch(packages, window):
    predictor = Predictor(packages["n2v"], CPU, precision="fp32", batch_size=8, device_tiles=True)
    forward, sizes = predictor._forward, []

    def limited(x):
        sizes.append(len(x))
        if len(x) > 2:
            raise torch.OutOfMemoryError("simulated")
        return forward(x)

    predictor._forward = limited
    out = run_to_end(predictor.denoise(window[1:2].copy(), 64))
    assert predictor.batch_size == 2 and sizes[:3] == [8, 4, 2]
    assert np.abs(out - denoise(packages["n2v"], window, 64)).max() < TOLERANCE


def test_a_cancel_stops_the_device_path(packages, window):
    token = CancelToken()
    predictor = Predictor(packages["nrrn"], CPU, batch_size=1, device_tiles=True)
    forward = predictor._forward

    def cancel_after_first(x):
        token.cancel()
        return forward(x)

    predictor._forward = cancel_after_first
    with pytest.raises(Cancelled):
        run_to_end(predictor.denoise(window, 64, cancel=token))


def test_device_tiles_default_to_optimised_cuda_only(packages):
    assert not Predictor(packages["n2v"], CPU).device_tiles
    assert Predictor(packages["n2v"], CPU, device_tiles=True).device_tiles


def test_a_window_too_big_for_the_device_falls_back_to_the_host_path(packages, window, monkeypatch):
    """Out of device memory for the window or the blend's whole-slice buffers (not for a batch of tiles,
    which halves): the slice is tiled on the host instead, and so are the next ones."""
    from emdenoise_gui.inference import predictor as module

    def no_room(*args):
        raise torch.OutOfMemoryError("simulated")

    monkeypatch.setattr(module, "upload_scaled", no_room)
    predictor = Predictor(packages["nrrn"], CPU, precision="fp32", device_tiles=True)
    out = run_to_end(predictor.denoise(window.copy(), 64))
    assert not predictor.device_tiles
    assert np.abs(out - denoise(packages["nrrn"], window, 64)).max() < TOLERANCE
