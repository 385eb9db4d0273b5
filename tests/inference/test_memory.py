"""Never out of memory: batch sizing from free memory, and halving on an out-of-memory error
without losing finished tiles (simulated on the CPU)."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.inference import predictor as pred
from emdenoise_gui.inference.predictor import batch_from_memory


def test_batch_from_free_memory():
    mib = 2**20
    assert batch_from_memory(1000 * mib, 100 * mib) == 8  # 80 % of 1000 MiB / 100 MiB per tile
    assert batch_from_memory(50 * mib, 100 * mib) == 1  # never below one tile
    assert batch_from_memory(10**12, 1 * mib) == 64  # capped
    assert batch_from_memory(10**9, 0, current=4) == 4  # nothing measured: keep the batch


def test_cuda_batch_counts_the_second_probe_and_is_capped(monkeypatch):
    """The first call of a shape can include cuDNN's search and its workspace (the H200 run: cyclic paper
    got a batch of 3 in 33 GB): the figure of a second, searched-already probe sizes the batch."""
    gib = 2**30
    peaks = iter([10 * gib, 1 * gib])  # the first probe with the search's workspace, then the tile's own
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda device: None)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device: 0)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device: next(peaks))
    probes = []
    fake = SimpleNamespace(device=torch.device("cuda"), input_slices=3, batch_size=4,
                           _run=lambda batch: probes.append(batch.shape))
    assert pred.Predictor.fit_batch(fake, 512, free_bytes=10 * gib) == 8  # 80 % of 10 GiB / 1 GiB
    assert probes == [(1, 3, 512, 512)] * 2
    peaks = iter([1 * gib, 1 * gib])
    fake.batch_size = 4
    assert pred.Predictor.fit_batch(fake, 512, free_bytes=100 * gib) == pred.CUDA_BATCH_CAP == 16


class FakePredictor:
    """The batching of Predictor around a fake network that 'runs out of memory' above ``limit`` tiles."""

    _run_batches = pred.Predictor._run_batches
    _after_batch = pred.Predictor._after_batch

    def __init__(self, batch_size, limit, fail_calls=()):
        self.batch_size, self.limit, self.fail_calls, self.calls = batch_size, limit, set(fail_calls), []
        self.device = torch.device("cpu")
        self._cancel, self._auto_batch = pred._CancelCheck(), False

    def _run(self, batch):
        self.calls.append(len(batch))
        if len(batch) > self.limit or len(self.calls) - 1 in self.fail_calls:
            raise torch.OutOfMemoryError("simulated")
        return batch[:, 0] * 2.0


def test_out_of_memory_halves_the_batch_and_keeps_finished_tiles():
    tiles = np.arange(10 * 4 * 4, dtype=np.float32).reshape(10, 1, 4, 4)
    fake = FakePredictor(batch_size=8, limit=2)
    out = fake._run_batches(tiles)
    np.testing.assert_array_equal(out, tiles[:, 0] * 2.0)  # every tile once, in order
    assert fake.batch_size == 2 and fake.calls == [8, 4, 2, 2, 2, 2, 2]  # no tile run twice after success


def test_an_out_of_memory_error_mid_stack_does_not_redo_finished_tiles():
    tiles = np.arange(10 * 4 * 4, dtype=np.float32).reshape(10, 1, 4, 4)
    fake = FakePredictor(batch_size=4, limit=99, fail_calls={1})  # the second chunk fails (fragmentation)
    out = fake._run_batches(tiles)
    np.testing.assert_array_equal(out, tiles[:, 0] * 2.0)
    assert fake.calls == [4, 4, 2, 2, 2]  # tiles 0-3 kept; 4-9 in halves


def test_out_of_memory_for_one_tile_is_explained():
    fake = FakePredictor(batch_size=4, limit=0)
    with pytest.raises(InputError, match="even for one tile"):
        fake._run_batches(np.zeros((3, 1, 4, 4), np.float32))


class BatchChooser:
    """Predictor's batch choice with the device and the memory probe stood in for."""

    _choose_batch = pred.Predictor._choose_batch

    def __init__(self, device: str, batch_size):
        self.device, self._auto_batch = torch.device(device), batch_size is None
        self.batch_size, self._fitted_tile, self.fitted = batch_size or 1, None, []

    def fit_batch(self, tile):
        self.fitted.append(tile)
        self.batch_size = 12


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_a_given_batch_is_kept_and_an_automatic_one_is_chosen_once_per_tile(device):
    given = BatchChooser(device, 1)  # the benchmarks' naive loop: batch 1 on every device
    given._choose_batch(512)
    assert given.batch_size == 1 and given.fitted == []
    auto = BatchChooser(device, None)
    auto._choose_batch(512)
    auto._choose_batch(512)
    expected = 12 if device == "cuda" else pred.cpu_batch(512)
    assert auto.batch_size == expected and auto.fitted == ([512] if device == "cuda" else [])
    auto._choose_batch(240)
    assert auto.batch_size == (12 if device == "cuda" else pred.cpu_batch(240))
