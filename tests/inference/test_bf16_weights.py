"""Families marked ``bf16_weights`` run inference on a bf16-native CPU with their weights cast to bf16 once:
the same output to the bit as autocast (which casts every weight for every tile), so the switch is free.
The others keep autocast: on some CPUs (a Zen 4) theirs would round differently."""

import copy

import numpy as np
import pytest
import torch

from emdenoise_gui.core.events import run_to_end
from emdenoise_gui.inference.predictor import Predictor
from emdenoise_gui.models.device import native_bf16_cpu
from emdenoise_gui.models.registry import FAMILIES
from tests.conftest import random_package, synthetic_em_stack

# bit equality is a property of the CPU's bf16 kernels; where bf16 is emulated the Predictor keeps autocast
pytestmark = pytest.mark.skipif(not native_bf16_cpu(), reason="this CPU does not compute bf16 natively")


@pytest.mark.parametrize("name", sorted(n for n, info in FAMILIES.items() if info.bf16_weights))
def test_bf16_weights_give_autocasts_output(tmp_path, name):
    """Only the families marked ``bf16_weights``: whether another family's output would be the same is a
    property of the CPU's kernels (N2V's differs on a Zen 4 and is the same on a Zen 5), so it keeps autocast."""
    info = FAMILIES[name]
    package = random_package(tmp_path / name, name, perturb=0.05)
    model = Predictor(package, torch.device("cpu"), precision="fp32").model
    x = torch.rand(2, info.input_slices, 64, 64, generator=torch.Generator().manual_seed(1))
    x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            autocast = model.denoise(x).float()
        cast = copy.deepcopy(model).to(torch.bfloat16).denoise(x.to(torch.bfloat16)).float()
    assert torch.equal(cast, autocast)


@pytest.mark.parametrize("clean_output", ["direct", "gated"])  # gated: its skip takes the float32 input
def test_predictor_casts_the_weights_once_and_gives_autocasts_result(tmp_path, clean_output):
    package = random_package(tmp_path / "cyclic", "cyclic", perturb=0.05, options={"clean_output": clean_output})
    image = synthetic_em_stack(1, 150, 140, seed=2).astype(np.float32) / 255
    cast = Predictor(package, torch.device("cpu"), precision="bf16")
    assert cast.weights_dtype == cast.compute_dtype == torch.bfloat16 and cast.amp_dtype is None
    assert all(p.dtype == torch.bfloat16 for p in cast.model.parameters())
    autocast = Predictor(package, torch.device("cpu"), precision="bf16")
    autocast.weights_dtype, autocast.amp_dtype = torch.float32, torch.bfloat16
    autocast.model.float()
    expected = run_to_end(autocast.denoise(image.copy(), 64))
    np.testing.assert_array_equal(run_to_end(cast.denoise(image.copy(), 64)), expected)
    assert Predictor(package, torch.device("cpu"), precision="fp32").weights_dtype == torch.float32
