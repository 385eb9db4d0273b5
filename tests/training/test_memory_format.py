"""CPU training in channels-last memory (N2V and Xception: registry.FamilyInfo.train_channels_last) learns what
contiguous training learns: the same losses, step by step, and weights that export as they are."""

import dataclasses

import numpy as np
import pytest
import torch

from emdenoise_gui.models import registry
from emdenoise_gui.training.trainers import trainer_class

from .conftest import tiny_spec


def _losses(spec, steps: int = 3) -> tuple[list[float], torch.nn.Module]:
    """The first ``steps`` losses of a fresh run of ``spec`` and its model."""
    torch.manual_seed(0)
    trainer = trainer_class(spec.family)(spec, torch.device("cpu"))
    rng = np.random.default_rng(1)
    batches = [trainer.sample(k, rng) for k in range(steps)]
    losses = [float(trainer.learn(k, batch, np.random.default_rng(k))["loss"]) for k, batch in enumerate(batches)]
    return losses, trainer.model


@pytest.mark.parametrize("which", ["n2v", "xception"])
def test_channels_last_training_learns_what_contiguous_training_does(tmp_path, fibsem_crop, noisy_crop,
                                                                     noise_patches, monkeypatch, which):
    spec = tiny_spec(which, tmp_path, fibsem_crop, noisy_crop, noise_patches, amp=False,
                     crop=64 if which == "xception" else 32).validated()
    fast, model = _losses(spec)
    weights = [p for p in model.parameters() if p.dim() == 4 and p.shape[1] > 1]
    assert weights and all(p.is_contiguous(memory_format=torch.channels_last) for p in weights)
    plain_info = dataclasses.replace(registry.FAMILIES[which], train_channels_last=False)
    monkeypatch.setitem(registry.FAMILIES, which, plain_info)
    plain, plain_model = _losses(spec)
    assert not all(p.is_contiguous(memory_format=torch.channels_last)
                   for p in plain_model.parameters() if p.dim() == 4 and p.shape[1] > 1)
    # the same sums in another order: the first loss agrees to float32 rounding; the steps amplify the
    # difference a little (Adam turns the rounding noise of gradients that cancel to about zero, such as a
    # conv bias's before a batch norm, into full-size steps; on these tiny crops 2e-4 after three steps)
    assert abs(fast[0] - plain[0]) <= 1e-5 * abs(plain[0])
    np.testing.assert_allclose(fast, plain, rtol=1e-3)


def test_nrrn_and_cyclic_train_contiguous(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    """Channels-last made NRRN lite's CPU steps 1.2x slower; cyclic gained nothing."""
    for which in ("nrrn", "cyclic"):
        spec = tiny_spec(which, tmp_path, fibsem_crop, noisy_crop, noise_patches).validated()
        trainer = trainer_class(which)(spec, torch.device("cpu"))
        assert trainer.memory_format == torch.contiguous_format
