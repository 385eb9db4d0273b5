"""benchmarks/single_image.py: a model gets the one slice as the app gives it, and the table marks the best."""

import numpy as np
import torch

from benchmarks import single_image
from emdenoise_gui.inference.predictor import Predictor
from tests.conftest import random_package


def test_a_slice_model_gets_the_image_as_its_own_neighbours(tmp_path, monkeypatch):
    predictor = Predictor(random_package(tmp_path / "n", "nrrn"), torch.device("cpu"))
    noisy = np.random.default_rng(0).random((40, 48), dtype=np.float32)
    seen = []

    def denoise(window, tile):  # records the window, returns its centre
        seen.append(window.copy())
        yield from ()
        return window[1:2]

    monkeypatch.setattr(predictor, "denoise", denoise)
    out = single_image._alone(predictor, noisy)
    assert out.shape == noisy.shape and seen[0].shape == (3, 40, 48)
    assert all(np.array_equal(s, noisy) for s in seen[0])


def test_the_table_bolds_the_best_method_not_the_input():
    payload = {"machine": "m", "date": "d", "wall_s": 60.0, "models": {"net": "float32"},
               "datasets": [{"title": "Set", "slices": [1], "auto_pick": {"c": "net"},
                             "psnr": {"input": {"c": 40.0}, "gaussian": {"c": 20.0}, "net": {"c": 25.0}}}]}
    text = single_image.markdown(payload, "cmd")
    assert "| net | **25.00** |" in text and "| input | 40.00 |" in text and "| auto picks | net |" in text
