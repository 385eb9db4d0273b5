"""Every shipped model loads, matches its checksum and beats the 3x3 Gaussian on the demo's noise."""

from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch

from emdenoise_gui.core import metrics
from emdenoise_gui.core.baselines import apply_filter
from emdenoise_gui.core.pipeline import neighbour_indices
from emdenoise_gui.inference.predictor import Predictor
from emdenoise_gui.zoo.package import open_package, sha256_file
from emdenoise_gui.zoo.registry import SHIPPED_DIR

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"
PACKAGES = sorted(p for p in SHIPPED_DIR.iterdir() if (p / "card.json").exists())
SLICES = (4, 8, 12)  # of the 16-slice demo
CROP = (slice(0, 160), slice(48, 208))


def test_models_are_shipped():
    assert PACKAGES, "models/ holds no package"


@pytest.mark.parametrize("folder", PACKAGES, ids=[p.name for p in PACKAGES])
def test_shipped_model_loads_and_beats_the_gaussian(folder):
    package = open_package(folder)
    assert sha256_file(package.weights) == package.card.weights_sha256
    clean = tifffile.imread(DEMO / "flyem_fibsem_demo.tif").astype(np.float32) / 255.0
    noisy = tifffile.imread(DEMO / "flyem_fibsem_demo_noisy.tif").astype(np.float32) / 255.0
    torch.set_num_threads(1)
    predictor = Predictor(package, torch.device("cpu"))
    model_psnr, gauss_psnr = [], []
    for z in SLICES:
        window = noisy[neighbour_indices(z, len(noisy), predictor.input_slices)][(slice(None),) + CROP]
        gen = predictor.denoise(np.ascontiguousarray(window), tile=160, stride=80)
        while True:
            try:
                next(gen)
            except StopIteration as stop:
                out = stop.value
                break
        ref = clean[z][CROP]
        model_psnr.append(metrics.psnr(ref, np.clip(out, 0, 1)))
        gauss_psnr.append(metrics.psnr(ref, np.clip(apply_filter("gaussian", noisy[z][CROP]), 0, 1)))
    assert np.mean(model_psnr) > np.mean(gauss_psnr), (np.mean(model_psnr), np.mean(gauss_psnr))
