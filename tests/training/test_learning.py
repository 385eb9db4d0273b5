"""A tiny budget, a looser bound: 30 CPU steps of each lite family lower its validation loss on real data.

The real quality runs are benchmarks/train_shipped.py (training) and benchmarks/quality.py (scoring).
"""

import numpy as np
import pytest
import torch

from emdenoise_gui.training.trainers import trainer_class
from tests.training.conftest import tiny_spec


@pytest.mark.parametrize("family,steps", [("n2v", 30), ("nrrn", 30), ("xception", 30), ("cyclic", 30)])
def test_validation_loss_falls(family, steps, tmp_path, fibsem_crop, noisy_crop, noise_patches):
    spec = tiny_spec(family, tmp_path, fibsem_crop, noisy_crop, noise_patches, steps=steps, batch_size=4,
                     crop=32).validated()
    torch.manual_seed(0)
    trainer = trainer_class(family)(spec, torch.device("cpu"))
    before = trainer.validate()["val_loss"]
    for step in range(steps):
        trainer.train_step(step, np.random.default_rng([spec.seed, step]))
    after = trainer.validate()["val_loss"]
    assert after < before, (family, before, after)
