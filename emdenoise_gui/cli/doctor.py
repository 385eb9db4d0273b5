"""``emdenoise doctor``: what a user pastes into a bug report, and why a GPU is not used.

:func:`system_report` gathers (label, value) rows without importing Qt (the app's Help ▸ System
information adds the Qt platform it runs on): version, install location, Python, torch and CUDA,
devices and their free memory, the GUI toolkit, the user data folder and whether it is writable, and
:func:`gpu_advice`, one line saying why a present GPU is not used and what to do.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import sys
from pathlib import Path

from emdenoise_gui import __version__, paths
from emdenoise_gui.core import atomic


def _package_version(*names: str) -> str:
    """The installed version of the first distribution of ``names`` found (PySide6 ships as several)."""
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "not installed"


def nvidia_present() -> bool:
    """Whether this machine has an NVIDIA GPU with its driver loaded (whatever torch can do with it)."""
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def gpu_advice(torch_cuda: str | None, cuda_available: bool, nvidia: bool) -> str:
    """One line on the GPU: used, absent, or present but unusable and what to do.

    torch_cuda: the CUDA version torch was built for (None for a CPU build); cuda_available: what
    torch.cuda.is_available() said; nvidia: whether an NVIDIA driver is present.
    """
    if cuda_available:
        return "the GPU is used"
    if not nvidia:
        return "no NVIDIA GPU found: EMDenoise runs on the CPU"
    if torch_cuda is None:
        return ("an NVIDIA GPU is present but this is the CPU edition: install the GPU (CUDA) edition of "
                "EMDenoise to use it")
    return (f"an NVIDIA GPU is present but torch (built for CUDA {torch_cuda}) cannot use it: the driver is "
            "probably too old for this CUDA version; update the NVIDIA driver")


def _writable(folder: Path) -> str:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic.probe_writable(folder)
        return "writable"
    except OSError as exc:
        return f"NOT writable ({exc.strerror}): models and settings cannot be saved"


def _torch_rows() -> list[tuple[str, str]]:
    try:
        import torch

        from emdenoise_gui.models.device import cpu_description, threads_words
    except Exception as exc:  # a broken install is exactly what doctor must report
        return [("torch", f"cannot be imported ({type(exc).__name__}: {exc})")]
    cuda = torch.cuda.is_available()
    rows = [("torch", f"{torch.__version__} (built for CUDA {torch.version.cuda})" if torch.version.cuda
             else f"{torch.__version__} (CPU edition)"),
            ("CPU", f"{cpu_description()}, {os.cpu_count()} cores, torch uses {threads_words(torch.get_num_threads())}")]
    if cuda:
        for index in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(index)
            rows.append((f"GPU {index}", f"{torch.cuda.get_device_name(index)}, {free / 2**30:.1f} of "
                                         f"{total / 2**30:.1f} GiB free"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        rows.append(("Apple GPU", "available (MPS)"))
    rows.append(("GPU", gpu_advice(torch.version.cuda, cuda, nvidia_present())))
    return rows


def system_report() -> list[tuple[str, str]]:
    """(label, value) rows describing this installation and machine."""
    frozen = paths.is_installed_program()
    data = paths.user_data_dir()
    rows = [
        ("EMDenoise", __version__),
        ("Installed at", f"{Path(__file__).resolve().parents[1]}" + (" (installer bundle)" if frozen else "")),
        ("Python", f"{platform.python_version()} ({sys.executable})"),
        ("System", f"{platform.system()} {platform.release()} ({platform.machine()})"),
    ]
    rows += _torch_rows()
    rows += [
        ("GUI toolkit", f"PySide6 {_package_version('PySide6', 'PySide6_Essentials')}, pyqtgraph {_package_version('pyqtgraph')}"),
        ("Qt platform", os.environ.get("QT_QPA_PLATFORM") or "the system default"),
        ("User data", f"{data} ({_writable(data)})"),
        ("Shipped models", str(paths.shipped_models_dir())),
    ]
    return rows


def format_report(rows: list[tuple[str, str]]) -> str:
    """The rows as aligned text lines."""
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


def cmd_doctor(_args) -> int:
    print(format_report(system_report()))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("doctor", help="this installation, its devices and why a GPU is (not) used: for bug reports")
    p.set_defaults(func=cmd_doctor)
