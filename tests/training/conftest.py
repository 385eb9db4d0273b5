"""Tiny, real training data: a FlyEM FIB-SEM crop and a Poisson-noised copy of it."""

import numpy as np
import pytest
import tifffile
import torch

from emdenoise_gui.core.noise import poisson_dose, slice_rng


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensors run faster and more repeatably on one thread on a shared 2-core machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture
def noisy_crop(tmp_path, fibsem_crop):
    """The 6x96x80 FIB-SEM crop with Poisson noise at 30 counts per pixel, as uint8."""
    clean = tifffile.imread(fibsem_crop).astype(np.float32) / 255.0
    noisy = np.stack([poisson_dose(s, 30.0, slice_rng(0, z)) for z, s in enumerate(clean)])
    path = tmp_path / "noisy.tif"
    tifffile.imwrite(path, np.clip(np.rint(noisy * 255), 0, 255).astype(np.uint8), imagej=True,
                     resolution=(0.1, 0.1), metadata={"axes": "ZYX", "spacing": 10.0, "unit": "nm"})
    return path


@pytest.fixture
def noise_patches(tmp_path):
    """Four flat 64x64 'blank film' patches with Poisson noise at 30 counts per pixel."""
    flat = np.full((64, 64), 0.5, np.float32)
    patches = np.stack([poisson_dose(flat, 30.0, slice_rng(1, k)) for k in range(4)])
    path = tmp_path / "noise.tif"
    tifffile.imwrite(path, np.clip(np.rint(patches * 255), 0, 255).astype(np.uint8), photometric="minisblack")
    return path


def tiny_spec(which, tmp_path, fibsem_crop, noisy_crop, noise_patches, **kw):
    from emdenoise_gui.training.spec import RunSpec

    data = {"cyclic": {"clean": [str(fibsem_crop)], "noise": [str(noise_patches)], "noisy": [str(noisy_crop)]},
            "nrrn": {"noisy": [str(noisy_crop)]}, "n2v": {"noisy": [str(noisy_crop)]},
            "xception": {"clean": [str(fibsem_crop)]}}[which]
    options = dict(family=which, config="lite", steps=6, data=data, output=str(tmp_path / f"{which}_pkg"),
                   crop=32, batch_size=2, seed=3, device="cpu", validate_every=3, checkpoint_every=3)
    options.update(kw)
    return RunSpec(**options)
