"""benchmarks/cyclic_tiles.py: its mirrored test images make up no seam, and its tiling stand-in is what
the predictor runs."""

import numpy as np
import torch

from benchmarks import cyclic_tiles
from emdenoise_gui.core.tiling import TilePlan
from emdenoise_gui.inference.predictor import Predictor
from emdenoise_gui.zoo.registry import resolve


def test_mirrored_images_repeat_the_slice_without_a_seam():
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    big = cyclic_tiles.mirrored(image, 10)
    assert big.shape == (10, 10)
    np.testing.assert_array_equal(big[:3, :4], image)
    np.testing.assert_array_equal(big[:3, 4:8], image[:, ::-1])  # mirrored: the edge pixel repeats, no jump
    np.testing.assert_array_equal(big[3:6, :4], image[::-1])


def test_the_plan_under_test_is_the_one_run(monkeypatch):
    predictor = Predictor(resolve(cyclic_tiles.MODEL), torch.device("cpu"), precision="fp32")
    noisy = np.random.default_rng(0).random((96, 96), dtype=np.float32)
    seen = []

    def blend(image, fn, plan, **options):  # records the plan, returns zeros without running the network
        seen.append(plan)
        yield from ()
        return np.zeros(image.shape[-2:], np.float32)

    monkeypatch.setattr("emdenoise_gui.inference.predictor.blend_tiles", blend)
    plan = TilePlan.whole_tile(64, overlap=16)
    assert cyclic_tiles.denoise(predictor, noisy, plan).shape == (96, 96)
    assert seen == [plan]
