"""Choosing and describing the torch device (CUDA, then Apple MPS, then CPU)."""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from emdenoise_gui.core.errors import InputError


def pick_device(choice: str = "auto") -> torch.device:
    """CUDA, then Apple MPS, then CPU for "auto"; otherwise the named device, checked to exist."""
    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(choice)
    except RuntimeError as exc:
        raise InputError(f"--device '{choice}' is not a device name (auto, cpu, cuda, cuda:N, mps)") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU is available here; use --device cpu or auto")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise InputError("--device mps: Apple Metal is not available here; use --device cpu or auto")
    return device


def device_label(device: torch.device) -> str:
    """'NVIDIA H100 (79.1 GiB)' or 'CPU (2 threads)'."""
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"{props.name} ({props.total_memory / 2**30:.1f} GiB)"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} threads)"


def cpu_name() -> str:
    """The processor's model name ('AMD EPYC ...'), from /proc/cpuinfo where there is one."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
