"""A training step that cannot fit the machine's memory is refused before it starts (it was OOM-killed)."""

import pytest
import torch

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.models.registry import FAMILIES
from emdenoise_gui.training import memory_guard
from emdenoise_gui.training.memory_guard import (
    BYTES_PER_CROP_PX,
    check_fits,
    device_bytes,
    step_bytes,
)


def test_every_configuration_has_a_measured_figure():
    assert set(BYTES_PER_CROP_PX) == {(f, c) for f, info in FAMILIES.items() for c in info.configs}


def test_the_machines_memory_is_known_on_the_cpu():
    have = device_bytes(torch.device("cpu"))
    assert have is not None and have > 2**30


def test_a_batch_that_cannot_fit_is_refused_and_a_normal_one_passes(monkeypatch):
    monkeypatch.setattr(memory_guard, "device_bytes", lambda device: 8 * 2**30)  # an 8 GiB machine
    check_fits("nrrn", "lite", 8, 64, torch.device("cpu"))  # the default: 72 MB
    assert step_bytes("nrrn", "lite", 100_000, 64) > 8 * 2**30
    with pytest.raises(InputError, match=r"100000 crops of 64 px needs at least 836\.2 GiB, more than this "
                                         r"machine's 8\.0 GiB of memory \(RAM\): use a smaller --batch-size"):
        check_fits("nrrn", "lite", 100_000, 64, torch.device("cpu"))


def test_the_cli_refuses_it_in_one_line_before_training(cli, tmp_path, fibsem_crop, monkeypatch):
    monkeypatch.setattr(memory_guard, "device_bytes", lambda device: 8 * 2**30)
    result = cli("train", "nrrn", "--clean", fibsem_crop, "-o", tmp_path / "m", "--steps", "1", "--crop", "32",
                 "--batch-size", "10000000", "--device", "cpu")
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1 and "--batch-size" in result.err
    assert not (tmp_path / "m").exists() and not (tmp_path / "m.checkpoint").exists()
