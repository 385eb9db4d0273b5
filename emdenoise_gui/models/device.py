"""Choosing and describing the torch device (CUDA, then Apple MPS, then CPU)."""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.models.registry import PRECISIONS


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
        raise InputError(f"--device {choice}: no CUDA GPU is available here; use --device cpu or auto")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise InputError(f"--device {choice}: this machine has {count} CUDA GPU{'s' if count > 1 else ''} "
                         f"(cuda:0{f' to cuda:{count - 1}' if count > 1 else ''}); choose one of them or auto")
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
    return f"CPU ({threads_words(torch.get_num_threads())})"


def threads_words(count: int) -> str:
    """'1 thread', '2 threads'."""
    return f"{count} thread" if count == 1 else f"{count} threads"


def cpu_name() -> str:
    """The processor's model name ('AMD EPYC ...'), from /proc/cpuinfo where there is one."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_features() -> str:
    """' (family F model M, widest vector ISA)' from /proc/cpuinfo, '' where it cannot be read.

    Machines sold under one name differ a lot: an AMD EPYC of family 23 (Zen 1) has AVX2 only, one
    of family 25 (Zen 4) AVX-512 with native bf16, several times faster for these networks.
    """
    try:
        info = Path("/proc/cpuinfo").read_text().split("\n\n")[0]
    except OSError:
        return ""
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    flags = set(fields.get("flags", "").split())
    isa = next((name for flag, name in (("amx_bf16", "AMX-BF16"), ("avx512_bf16", "AVX-512 BF16"),
                                        ("avx512f", "AVX-512"), ("avx2", "AVX2")) if flag in flags), "no AVX2")
    return f" (family {fields.get('cpu family', '?')} model {fields.get('model', '?')}, {isa})"


def cpu_description() -> str:
    """'AMD EPYC (family 23 model 1, AVX2)': the model name and what tells such machines apart."""
    return cpu_name() + cpu_features()


def native_bf16_cpu() -> bool:
    """True when this CPU computes bfloat16 natively (AVX512-BF16 or AMX): only then is bf16 faster
    there than float32 (emulated bf16 is slower)."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private torch.cpu helpers; absent -> False
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def precision_name(amp_dtype: torch.dtype | None) -> str:
    """'float32' for no autocast (None), else the autocast dtype's name: 'bfloat16', 'float16'."""
    return "float32" if amp_dtype is None else str(amp_dtype).removeprefix("torch.")


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The autocast dtype for inference on ``device``, or None for float32.

    "auto": bf16 on a CUDA GPU that supports it (else fp16), bf16 on a CPU with native bf16,
    float32 elsewhere (MPS, older CPUs). "bf16"/"fp16" force that type, "fp32" float32.
    """
    if precision not in PRECISIONS:
        raise InputError(f"--precision '{precision}' is not one of {', '.join(PRECISIONS)}")
    if precision == "fp32" or device.type == "mps":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if native_bf16_cpu() else None
