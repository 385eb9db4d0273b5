"""``--smoke-test`` of both executables: is this installation whole, and how fast is it here?

Four steps, each timed and printed as it ends: import torch and find the device; load the default
shipped model; denoise the bundled FIB-SEM demo with it (headless) and check that the result is
really better than the noisy input against the clean crop (a gain of at least
:data:`MIN_GAIN_DB` dB in PSNR); start the desktop app offscreen with the demo project, let it run
its default denoise, and save a picture of the window, checking that it is not blank. Exit 0 only
when every step passed; 1 with the step's one-line reason otherwise.

Nothing of the user's is touched: the steps work in a temporary folder, ``$EMDENOISE_HOME`` included,
removed at the end (keep the window's picture with ``--smoke-test-screenshot FILE``). The window
renders offscreen unless ``QT_QPA_PLATFORM`` says otherwise.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from emdenoise_gui import __version__, paths

#: The model the smoke test loads (the app's default for the demo).
MODEL = "flyem-nrrn-base"
#: The denoised demo must beat the noisy input by this much (dB; the shipped model gains about 9).
MIN_GAIN_DB = 3.0
NOISY, CLEAN = "flyem_fibsem_demo_noisy.tif", "flyem_fibsem_demo.tif"


class SmokeFailure(Exception):
    """A step failed; the message says which and why."""


def _device() -> str:
    import torch

    from emdenoise_gui.cli.doctor import gpu_advice, nvidia_present
    from emdenoise_gui.models.device import device_label, pick_device

    device = pick_device("auto")
    return f"{device_label(device)}; {gpu_advice(torch.version.cuda, torch.cuda.is_available(), nvidia_present())}"


def _load_model() -> str:
    from emdenoise_gui.inference.predictor import Predictor
    from emdenoise_gui.models.device import pick_device
    from emdenoise_gui.zoo.registry import resolve

    package = resolve(MODEL)
    predictor = Predictor(package, pick_device("auto"))
    parameters = sum(p.numel() for p in predictor.model.parameters())
    return f"{package.card.name} ({predictor.card.family}, {parameters:,} parameters) from {package.path.parent}"


def _denoise_demo(work: Path) -> str:
    from emdenoise_gui.core.events import run_to_end
    from emdenoise_gui.jobs.compare import compare_job
    from emdenoise_gui.jobs.denoise import Denoiser, denoise_stack

    demo = paths.demo_dir()
    out = work / "denoised.tif"
    run_to_end(denoise_stack(demo / NOISY, out, Denoiser("model", MODEL, MODEL)))
    noisy, denoised = run_to_end(compare_job(demo / CLEAN, [demo / NOISY, out]))
    gain = denoised.psnr[0] - noisy.psnr[0]
    if gain < MIN_GAIN_DB:
        raise SmokeFailure(f"the denoised demo is only {gain:.2f} dB better than the noisy input "
                           f"(at least {MIN_GAIN_DB} expected): the model or its weights are damaged")
    return f"{denoised.slices} slices, PSNR {noisy.psnr[0]:.2f} -> {denoised.psnr[0]:.2f} dB"


def _render_window(picture: Path) -> str:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from emdenoise_gui.gui import app

    code = app.main(["--demo", "--screenshot", str(picture)], end_process=False)
    if code != 0 or not picture.is_file():
        raise SmokeFailure(f"the app's window could not be rendered or saved to {picture} (exit status {code}; "
                           "the app's message is above)")
    from PySide6 import QtGui

    image = QtGui.QImage(str(picture))
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    if image.width() < 400 or len(colours) < 50:
        raise SmokeFailure(f"the window's picture ({image.width()}x{image.height()} px, "
                           f"{len(colours)} colours) looks blank")
    return f"{image.width()}x{image.height()} px, Qt platform {os.environ['QT_QPA_PLATFORM']}"


def run(screenshot: str | None = None, out: Callable[[str], None] = print) -> int:
    """Run the steps, printing each one's time and result through ``out``; the exit status."""
    started = time.perf_counter()
    out(f"EMDenoise {__version__} smoke test ({'installer bundle' if getattr(sys, 'frozen', False) else 'Python'}: "
        f"{sys.executable})")
    with tempfile.TemporaryDirectory(prefix="emdenoise-smoke-") as tmp:
        work = Path(tmp)
        os.environ[paths.HOME_VARIABLE] = str(work / "home")
        picture = Path(screenshot).resolve() if screenshot else work / "window.png"
        steps = [("device", _device), ("load model", _load_model), ("denoise demo", lambda: _denoise_demo(work)),
                 ("app window", lambda: _render_window(picture))]
        for name, step in steps:
            t0 = time.perf_counter()
            try:
                result = step()
            except SmokeFailure as exc:
                out(f"FAILED {name}: {exc}")
                return 1
            except Exception as exc:  # anything else is a broken installation: say what, in one line
                out(f"FAILED {name}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
                return 1
            out(f"{name:<13} {time.perf_counter() - t0:6.2f} s  {result}")
    out(f"{'passed':<13} {time.perf_counter() - started:6.2f} s in all")
    return 0
