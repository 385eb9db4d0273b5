"""--device names what it was given, and a GPU index the machine lacks is refused before any work."""

import pytest
import torch

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.models.device import pick_device


def test_a_missing_gpu_is_named_as_given(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InputError, match=r"^--device cuda:1: no CUDA GPU is available here"):
        pick_device("cuda:1")
    with pytest.raises(InputError, match="is not a device name"):
        pick_device("gpu")
    assert pick_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("count,phrase", [(1, r"has 1 CUDA GPU \(cuda:0\)"), (2, r"has 2 CUDA GPUs \(cuda:0 to cuda:1\)")])
def test_a_gpu_index_past_the_last_is_refused(monkeypatch, count, phrase):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    with pytest.raises(InputError, match=rf"^--device cuda:2: this machine {phrase}; choose one of them or auto"):
        pick_device("cuda:2")
    assert pick_device(f"cuda:{count - 1}") == torch.device(f"cuda:{count - 1}")
