"""The app's jobs as plain generator factories (no Qt here): preview, denoise, batch, train.

Each factory returns ``make(cancel_token) -> generator`` for :class:`~emdenoise_gui.gui.workers.Job`.
Heavy imports (torch) happen inside the generators, on the worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emdenoise_gui.core import baselines
from emdenoise_gui.core.io import open_stack
from emdenoise_gui.core.pipeline import IntensityScale, SliceCache
from emdenoise_gui.core.progress import Progress


@dataclass(frozen=True)
class Denoiser:
    """A classical filter (``kind`` "filter", ``name`` from baselines.FILTERS) or a model package."""

    kind: str
    name: str
    path: str | None = None  # model package folder
    sha256: str | None = None

    @property
    def label(self) -> str:
        return self.name


def preview(stack_path: str, z: int, denoiser: Denoiser, tile: int, stride: int, device: str = "auto"):
    """Denoise slice ``z`` only; the generator returns it as (Y, X) float32 on the stack's own scale."""

    def make(token):
        from emdenoise_gui.core.jobs import filter_window

        with open_stack(stack_path) as stack:
            scale = IntensityScale.for_stack(stack)
            if denoiser.kind == "model":
                from emdenoise_gui.inference.predictor import Predictor
                from emdenoise_gui.models.device import pick_device
                from emdenoise_gui.zoo.package import verify_folder

                predictor = Predictor(verify_folder(Path(denoiser.path)), pick_device(device))
                count = predictor.input_slices
            else:
                count = baselines.FILTERS[denoiser.name].slices
            window = SliceCache(stack, count + 1).window(z, count, scale)
        if denoiser.kind == "model":
            gen = predictor.denoise(window, tile, stride, token)
        else:
            gen = filter_window(denoiser.name, window, tile, stride, token)
        while True:
            try:
                done, total = next(gen)
            except StopIteration as stop:
                return scale.from_unit(stop.value)
            yield Progress("preview", done, total, "tile")

    return make


def denoise(stack_path: str, output: Path, denoiser: Denoiser, tile: int, stride: int, dtype: str = "float32",
            device: str = "auto", slices: str | None = None):
    """Denoise a whole stack (or ``slices``) into ``output``; the generator returns ``output``."""

    def make(token):
        if denoiser.kind == "model":
            from emdenoise_gui.inference.jobs import denoise_model_job

            gen = denoise_model_job(stack_path, output, denoiser.path, slices, tile, stride, dtype, False,
                                    device, cancel=token)
        else:
            from emdenoise_gui.core.jobs import denoise_filter_job

            gen = denoise_filter_job(stack_path, output, denoiser.name, slices, tile, stride, dtype, False, token)
        yield from gen
        return Path(output)

    return make


def batch(items: list[tuple[str, Path]], denoiser: Denoiser, tile: int, stride: int, dtype: str = "float32",
          device: str = "auto"):
    """Denoise several stacks one after another; returns the list of outputs written.

    Progress runs over all stacks; a cancel stops at the next tile and keeps the finished outputs.
    """

    def make(token):
        written = []
        for index, (stack_path, output) in enumerate(items):
            for event in denoise(stack_path, output, denoiser, tile, stride, dtype, device)(token):
                if isinstance(event, Progress) and event.total:
                    yield Progress(f"batch {index + 1}/{len(items)}", index * 1000 + int(1000 * event.done / event.total),
                                   1000 * len(items), "‰")
            written.append(output)
        return written

    return make


def train(spec):
    """Run the training engine for a validated ``RunSpec``; yields its typed events."""

    def make(token):
        from emdenoise_gui.training.engine import train as run_training

        yield from run_training(spec, token)

    return make
