"""A cancel stops the predictor between two layers of the network, not after the tile; slow CPU
batches of several tiles are halved."""

import numpy as np
import pytest
import torch

from emdenoise_gui.core.errors import Cancelled
from emdenoise_gui.core.events import CancelToken, run_to_end
from emdenoise_gui.core.tiling import TileGrid
from emdenoise_gui.inference.predictor import CPU_BATCH_SECONDS, Predictor
from tests.conftest import random_package

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    return random_package(tmp_path_factory.mktemp("pkg") / "nrrn", "nrrn")


def _count_layers(predictor: Predictor, cancel_after: int | None = None, token: CancelToken | None = None) -> list:
    """A list that gets one entry per submodule call of the predictor's network (a forward hook on
    each, after the predictor's own pre-hooks); the call numbered ``cancel_after`` cancels ``token``."""
    calls = []

    def count(*_):
        calls.append(1)
        if len(calls) == cancel_after:
            token.cancel()

    for module in predictor.model.modules():
        module.register_forward_hook(count)
    return calls


def test_a_cancel_inside_a_tile_stops_at_the_next_layer(package):
    window = np.random.default_rng(0).random((3, 96, 96), dtype=np.float32)
    counted = Predictor(package, CPU, batch_size=1)
    tiles = len(TileGrid.build(96, 96, counted.plan(48), 16))  # the halo is measured (and cached) here
    calls = _count_layers(counted)
    run_to_end(counted.denoise(window, tile=48))
    per_tile = len(calls) // tiles
    assert tiles > 2 and per_tile * tiles == len(calls) and per_tile > 20  # NRRN lite: 26 calls per tile

    token = CancelToken()
    predictor = Predictor(package, CPU, batch_size=1)
    calls = _count_layers(predictor, cancel_after=per_tile + 10, token=token)  # inside the second tile
    with pytest.raises(Cancelled):
        run_to_end(predictor.denoise(window, tile=48, cancel=token))
    assert len(calls) == per_tile + 10  # not one layer after the cancel
    calls.clear()
    run_to_end(predictor.denoise(window, tile=48))  # the next run, without the token, is not stopped
    assert len(calls) == per_tile * tiles


def test_slow_cpu_batches_of_several_tiles_are_halved(package):
    auto = Predictor(package, CPU)
    auto.batch_size = 4
    auto._after_batch(4, CPU_BATCH_SECONDS / 2)
    assert auto.batch_size == 4  # fast enough
    auto._after_batch(4, CPU_BATCH_SECONDS * 2)
    assert auto.batch_size == 2
    auto.batch_size = 1
    auto._after_batch(1, 10 * CPU_BATCH_SECONDS)
    assert auto.batch_size == 1  # one tile is the least
    given = Predictor(package, CPU, batch_size=4)
    given._after_batch(4, 10 * CPU_BATCH_SECONDS)
    assert given.batch_size == 4  # a batch the caller chose is kept
