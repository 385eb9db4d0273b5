"""Denoise a stack with a model package, from disk to disk; a generator of Progress events."""

from __future__ import annotations

from typing import Iterator

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.jobs import StackJob, check_tiling
from emdenoise_gui.core.pipeline import SliceCache
from emdenoise_gui.core.progress import CancelToken, Progress
from emdenoise_gui.inference.predictor import Predictor
from emdenoise_gui.models.device import pick_device
from emdenoise_gui.zoo.registry import resolve


def denoise_model_job(src, out, model: str, slices=None, tile=512, stride=256, dtype="float32",
                      overwrite=False, device="auto", batch_size=4,
                      cancel: CancelToken | None = None) -> Iterator[Progress]:
    """Denoise ``src`` with the package ``model`` (path or zoo name), writing ``out``.

    NRRN gets each slice with its two neighbours (reflected at the stack's ends),
    so a single image is denoised from itself. Tiles as in ``core.tiling``.
    """
    check_tiling(tile, stride)
    package = resolve(model)
    predictor = Predictor(package, pick_device(device), batch_size)
    multiple = max(16, predictor.info.multiple)
    if tile % multiple:
        raise InputError(f"--tile {tile} --stride {stride}: {package.card.family} models need a tile that is a "
                         f"multiple of {multiple} px (e.g. {max(multiple, tile // multiple * multiple)})")
    job = StackJob.prepare(src, out, slices, dtype, overwrite)
    cache = SliceCache(job.source, size=predictor.input_slices + 1)

    def one(z: int):
        window = cache.window(z, predictor.input_slices, job.scale)
        result = yield from predictor.denoise(window, tile, stride, cancel)
        return job.scale.from_unit(result)

    yield from job.run(one, f"denoise ({package.card.name})", cancel)
