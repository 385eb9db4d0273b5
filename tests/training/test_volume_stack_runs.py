"""Training on an MRC volume stack draws runs of adjacent slices inside one volume: NRRN learnt from triplets
of the last slice of one volume beside the first of the next (2026-12-07)."""

from dataclasses import replace

import numpy as np

from emdenoise_gui.training.data import Volume, load_volume, run_start, sample_crops
from tests.core.test_mrc_volume_stack import _volume_stack


def test_triplets_of_a_volume_stack_stay_in_one_volume(tmp_path):
    path = tmp_path / "volumes.mrc"
    _volume_stack(path, volumes=3, depth=4)  # 12 slices of 16 px, each volume one value
    volume = load_volume(str(path), 16)
    assert volume.volume_depth == 4 and replace(volume, data=volume.data * 2).volume_depth == 4
    crops = sample_crops([volume], [range(12)], 16, 200, np.random.default_rng(0), depth=3)
    assert all(np.ptp(c) == 0 for c in crops)  # one volume each (crossing triplets held two values)
    starts = {run_start(volume, range(12), 3, np.random.default_rng(k)) for k in range(200)}
    assert starts == {0, 1, 4, 5, 8, 9}


def test_a_stack_of_one_volume_draws_as_before():
    plain = Volume(np.zeros((12, 16, 16), np.float32), "x", None)
    draws = [run_start(plain, range(12), 3, np.random.default_rng(k)) for k in range(50)]
    assert draws == [range(12)[int(np.random.default_rng(k).integers(0, 10))] for k in range(50)]
