"""Fixtures of the core tests: a FlyEM FIB-SEM crop, clean and with white noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

FLYEM = (Path(__file__).resolve().parents[2].parent / "shared" / "data"
         / "fibsem_flyem_medulla_train1_250x250x250.tif")
NOISE_SIGMA = 0.05


@pytest.fixture(scope="module")
def flyem():
    """Clean 3x96x96 FlyEM FIB-SEM crop (slices z-1, z, z+1) in [0, 1] and a noisy copy."""
    if not FLYEM.exists():
        pytest.skip("../shared/data is not beside this checkout")
    import tifffile

    clean = tifffile.imread(FLYEM, key=range(0, 3))[:, 40:136, 60:156].astype(np.float32) / 255
    noise = np.random.default_rng(0).normal(0.0, NOISE_SIGMA, clean.shape).astype(np.float32)
    return clean, clean + noise


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared difference of two arrays, float64."""
    return float(np.mean((a.astype(np.float64) - b) ** 2))
