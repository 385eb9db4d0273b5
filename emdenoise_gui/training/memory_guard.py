"""Refuse a training run whose step cannot fit the machine's memory, before it starts.

A batch of 100,000 crops was accepted and drove the process into the kernel's out-of-memory killer: no
message, no checkpoint, and other programs on the workstation at risk. The step's memory grows with the
crop pixels of a batch (batch x crop^2); :data:`BYTES_PER_CROP_PX` holds what one training step took per
crop pixel, measured as the growth of peak resident memory between two batch sizes (2026-12-06, torch
2.13 on a 2-core AMD EPYC Zen 5, bf16 autocast, scratch probe). A run is refused only when that lower
bound exceeds the whole memory of the device (RAM on the CPU): such a run can never fit, while a tight one
is left to try (float32 steps take more than these bf16 figures). On CUDA, where these CPU figures are
unmeasured (cuDNN's workspaces and kernels differ), only a step of over twice the GPU's memory is refused.
"""

from __future__ import annotations

import os
import sys

from emdenoise_gui.core.errors import InputError

#: (family, config) -> bytes one training step takes per crop pixel of its batch (see the module docstring)
BYTES_PER_CROP_PX = {
    ("n2v", "lite"): 1461, ("n2v", "paper"): 2994,
    ("nrrn", "lite"): 2192, ("nrrn", "base"): 3898, ("nrrn", "paper"): 10186,
    ("xception", "lite"): 1478, ("xception", "base"): 2137, ("xception", "paper"): 9083,
    ("cyclic", "lite"): 2855, ("cyclic", "paper"): 19834,
}


def step_bytes(family: str, config: str, batch: int, crop: int) -> int:
    """At least how many bytes one training step of this run takes (0 when the configuration is unmeasured)."""
    return BYTES_PER_CROP_PX.get((family, config), 0) * int(batch) * int(crop) ** 2


def device_bytes(device) -> int | None:
    """All the memory of ``device`` (a torch.device), in bytes: RAM for the CPU, the card's memory for
    CUDA; None where it cannot be told (MPS, or a platform without the query)."""
    if device.type == "cuda":
        import torch

        return int(torch.cuda.get_device_properties(device).total_memory)
    if device.type != "cpu":
        return None
    if sys.platform == "win32":
        import ctypes

        class _Status(ctypes.Structure):
            _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong), ("total", ctypes.c_ulonglong),
                        ("avail", ctypes.c_ulonglong), ("page_total", ctypes.c_ulonglong),
                        ("page_avail", ctypes.c_ulonglong), ("virtual_total", ctypes.c_ulonglong),
                        ("virtual_avail", ctypes.c_ulonglong), ("extended", ctypes.c_ulonglong)]

        status = _Status(length=ctypes.sizeof(_Status))
        return int(status.total) if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)) else None
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(family: str, config: str, batch: int, crop: int, device) -> None:
    """InputError when a step of ``batch`` crops of ``crop`` px cannot fit in all of ``device``'s memory."""
    need, have = step_bytes(family, config, batch, crop), device_bytes(device)
    if have is None or need <= have * (2 if device.type == "cuda" else 1):
        return
    where = "of GPU memory" if device.type == "cuda" else "of memory (RAM)"
    raise InputError(f"a training step of {batch} crops of {crop} px needs at least {need / 2**30:.1f} GiB, more than "
                     f"this machine's {have / 2**30:.1f} GiB {where}: use a smaller --batch-size or --crop")
