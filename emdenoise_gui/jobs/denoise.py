"""Denoise with a classical filter or a model package: one slice (preview), a stack, a batch.

This is what the Denoise button and ``emdenoise denoise`` both run. The filter-or-model
choice is made once, in :func:`denoise_stack`. Each job is a generator of ``core.events``
that checks a ``CancelToken``: first its stages (``Stage``: "reading slice", "loading model" for a model
(a preview loads it first), "first tile"; seconds to minutes on a CPU, when there is nothing to count
yet), then ``Progress`` in tiles. Torch is imported only when a model is used, on the thread
that runs the job.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Generator, Iterator

import numpy as np

from emdenoise_gui.core import baselines
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.events import (
    CancelToken,
    Message,
    PartialResult,
    Progress,
    Stage,
    Written,
)
from emdenoise_gui.core.fill import keep_fill_part, mend_window
from emdenoise_gui.core.io import open_stack
from emdenoise_gui.core.memory import (
    check_slice_memory,
    filter_bytes_per_px,
    model_bytes_per_px,
)
from emdenoise_gui.core.pipeline import IntensityScale, SliceCache
from emdenoise_gui.jobs.stack import (
    StackJob,
    check_region,
    check_tiling,
    denoise_filter_job,
    filter_tile_count,
    filter_window,
    stage,
    with_margin,
)


@dataclass(frozen=True)
class Denoiser:
    """A classical filter (``kind`` "filter", ``name`` from baselines.FILTERS) or a model package
    (``kind`` "model", ``path`` its folder, ``sha256`` of its weights)."""

    kind: str
    name: str
    path: str | None = None
    sha256: str | None = None

    @property
    def label(self) -> str:
        """The method's file-safe name (filter key or zoo name): output file names, result records."""
        return self.name

    @property
    def title(self) -> str:
        """The method as the app names it to people (:func:`method_title`): "Median 3x3", a zoo name."""
        return method_title(self.kind, self.name)


def method_title(kind: str, name: str) -> str:
    """How the app names a method everywhere on screen: a filter (``kind`` "filter") by its label in
    the zoo ("Median 3x3" for "median"), a model by its zoo name."""
    known = baselines.FILTERS.get(name) if kind == "filter" else None
    return known.label if known is not None else name


def _predictor(package, device: str, batch_size: int | None = None, precision: str = "auto"):
    """A Predictor for a verified ``zoo.package.Package`` on ``device`` ("auto", "cpu", "cuda:1", ...)."""
    from emdenoise_gui.inference.predictor import Predictor
    from emdenoise_gui.models.device import pick_device

    return Predictor(package, pick_device(device), batch_size, precision)


def model_words(name: str, weights_sha256: str, kind: str = "", where: str = "") -> str:
    """A model as an output's made-by line names it (``jobs.stack.provenance``): 'the model NAME (KIND, weights
    sha256 0123456789ab; on WHERE)', ``kind`` e.g. "nrrn lite" and ``where`` (:func:`running_on`) where known."""
    facts = ", ".join(filter(None, (kind, f"weights sha256 {weights_sha256[:12]}")))
    return f"the model {name} ({facts}{f'; on {where}' if where else ''})"


def running_on(predictor, detail: bool = False) -> str:
    """Where and in what precision ``predictor`` (an ``inference.predictor.Predictor``) computes: 'the CPU in
    float32', 'the GPU (CUDA) in bfloat16' (the made-by line); with ``detail`` the device itself too: 'the CPU,
    2 threads, in float32', 'the GPU (CUDA) cuda:0, NVIDIA H100 (79.1 GiB), in bfloat16' (the line the CLI says
    before a run). The precision is what the network computes in (bfloat16 weights on a CPU included)."""
    import torch

    from emdenoise_gui.models.device import device_label, threads_words

    device = predictor.device
    where = {"cuda": "GPU (CUDA)", "mps": "Apple GPU"}.get(device.type, device.type.upper())
    if detail and device.type == "cuda":
        index = torch.cuda.current_device() if device.index is None else device.index
        where += f" cuda:{index}, {device_label(device)},"
    elif detail and device.type == "cpu":
        where += f", {threads_words(torch.get_num_threads())},"
    return f"the {where} in {_computed_in(predictor)}"


def _computed_in(predictor) -> str:
    """The precision ``predictor`` computes in, named as ``models.device.precision_name`` names it."""
    from emdenoise_gui.models.device import precision_name

    return precision_name(predictor.compute_dtype)


def _named(precision: str) -> str:
    """The type a ``--precision`` other than "auto" asks for ("fp32", "bf16", "fp16"), named as
    ``models.device.precision_name`` names it (``autocast_dtype`` maps them alike on every device but MPS)."""
    import torch

    from emdenoise_gui.models.device import autocast_dtype, precision_name

    return precision_name(autocast_dtype(torch.device("cpu"), precision))


def device_line(predictor, precision: str = "auto") -> str:
    """The line a model run says before its first slice (the CLI, on stderr): the model and where it runs, as
    the output's made-by line words them (:func:`model_words`, :func:`running_on` in detail), and the
    ``precision`` asked for where the device computes another."""
    card = predictor.card
    line = "denoising with " + model_words(card.name, card.weights_sha256, f"{card.family} {card.config}",
                                           running_on(predictor, detail=True))
    asked = None if precision == "auto" else _named(precision)
    if asked is not None and asked != _computed_in(predictor):
        line += f"; --precision {precision} asked for {asked}, which this device does not compute"
    return line


def device_message(predictor, tile: int, stride: int | None, precision: str = "auto") -> Message:
    """:func:`device_line` as a Message, once its ``tile`` / ``stride`` tiling is accepted (``Predictor.plan``,
    which for a tiled family runs the network on its device to measure its reach): a model that cannot run on the
    data (NaN) or a tiling it refuses says only its one-line error, not this line before it. A whole-tile family
    (cyclic) runs no network there: a failure on its first tile comes after the line."""
    predictor.plan(tile, stride)
    return Message(device_line(predictor, precision))


def check_batch_size(batch_size: int | None) -> None:
    """InputError for a ``--batch-size`` below 1 (None: chosen automatically)."""
    if batch_size is not None and batch_size < 1:
        raise InputError(f"--batch-size {batch_size}: need at least 1 tile per batch (or leave it out: automatic)")


def check_tile_multiple(family_name: str, tile: int, stride: int | None) -> None:
    """InputError unless ``tile`` (px) is a multiple of the ``family_name`` network's downsampling (at least 16)."""
    from emdenoise_gui.models.registry import family

    multiple = max(16, family(family_name).multiple)
    if tile % multiple:
        given = f"--tile {tile}" + (f" --stride {stride}" if stride is not None else "")
        raise InputError(f"{given}: {family_name} models need a tile that is a "
                         f"multiple of {multiple} px (e.g. {max(multiple, tile // multiple * multiple)})")


def denoise_model_job(src, out, model: str, slices=None, tile=512, stride=None, dtype="float32",
                      overwrite=False, device="auto", batch_size=None, precision="auto",
                      cancel: CancelToken | None = None, region=None, tell_device: bool = False
                      ) -> Iterator[Progress | Stage | Message]:
    """Denoise ``src`` with the package ``model`` (path or zoo name), writing ``out``.

    NRRN gets each slice with its two neighbours (reflected at the stack's ends),
    so a single image is denoised from itself. Tiles as in ``core.tiling``: ``stride``
    None band-blends tiles overlapping by the network's halo, a stride Gaussian-blends.
    Yields Stage "reading slice", "loading model" (after the input, output and memory checks), (with
    ``tell_device``, the CLI's: a Message, :func:`device_line`), "first tile", then Progress in tiles.
    """
    from emdenoise_gui.zoo.registry import resolve

    check_tiling(tile, stride)
    check_batch_size(batch_size)
    package = resolve(model)
    family = package.card.family
    check_tile_multiple(family, tile, stride)
    yield stage("reading slice", cancel)
    job = StackJob.prepare(src, out, slices, dtype, overwrite, region)
    job.check_memory(model_bytes_per_px(family, job.source.dtype, job.dtype), model=True)  # before the model loads
    try:
        yield stage("loading model", cancel)
        predictor = _predictor(package, device, batch_size, precision)
        if tell_device:  # after the input, output and memory checks: their one-line errors come alone
            yield device_message(predictor, tile, stride, precision)
    except BaseException:
        job.source.close()
        raise
    cache = SliceCache(job.source, size=predictor.input_slices + 1).read_ahead(job.slices, predictor.input_slices)

    def one(z: int):
        window = cache.window(z, predictor.input_slices, job.scale)
        # a region is scaled by the whole slice's numbers, as the preview does: its pixels are the whole slice's
        # (scaled by the region's own, they differed by up to 13 grey levels); so is its fill mended (core.fill)
        if job.region is None:
            tiles = predictor.denoise(window, tile, stride, cancel)
        else:
            tiles = _part_of_mended(predictor, window, job.context(), tile, stride, cancel)
        # the predictor's generator now holds the only reference and drops it once the window is normalised: kept
        # here too, a 4096^2 NRRN window (192 MB) stayed through the whole slice and its peak (1.50 GB measured)
        del window
        if z == job.slices[0]:
            yield stage("first tile", cancel)
        return job.scale.from_unit(job.uncrop((yield from tiles)), owned=True)

    started = time.perf_counter()
    card = predictor.card
    # results of two machines differ by up to 0.6 grey levels: the line says where this one ran
    made_by = model_words(card.name, card.weights_sha256, f"{card.family} {card.config}", running_on(predictor))
    yield from job.run(one, f"denoise ({card.name})", cancel, cache, made_by=made_by)
    if region is None and batch_size is None and precision == "auto":  # the settings measure_speed times
        _remember_job_speed(predictor, job, tile, stride, time.perf_counter() - started)


#: Megapixels of output a finished job needs before its speed replaces the measured one: enough that the
#: first batch's warm-up and the reading of the first slice are a small part of it.
REMEMBER_MP = 4.0


def _remember_job_speed(predictor, job: StackJob, tile: int, stride: int | None, seconds: float) -> None:
    """Keep a finished whole-stack job's speed (seconds per megapixel of output, reading and writing
    included) as the model's speed on this device and tiling (``inference.estimate``) where it beats the one
    stored: that one, timed on a small random image while the app was starting, read up to 3x slow (7.2
    against 2.3 s/MP), and the zoo's time and slow / fast class kept it. A slower job (a stack on a network
    disk, a GPU's first batches, another job beside it) leaves it: the zoo's ranking of the models must not
    follow one stack's disk."""
    from emdenoise_gui.inference.estimate import remember_speed

    megapixels = len(job.slices) * job.source.shape[1] * job.source.shape[2] / 1e6
    if megapixels >= REMEMBER_MP and seconds > 0:  # (a read-only user folder keeps the old one)
        remember_speed(predictor.card.weights_sha256, predictor.device, tile, seconds / megapixels, stride,
                       faster_only=True)


def denoise_stack(src, out, denoiser: Denoiser, slices=None, tile=512, stride=None, dtype="float32",
                  overwrite=False, device="auto", batch_size=None, precision="auto",
                  cancel: CancelToken | None = None, region=None, tell_device: bool = False
                  ) -> Iterator[Progress | Stage | Message]:
    """Denoise a stack (or ``slices`` START:STOP of it; only ``region`` (y0, y1, x0, x1) px of each slice
    when given) into ``out`` with a filter or a model (``tell_device``: :func:`denoise_model_job`'s)."""
    if denoiser.kind == "model":
        return denoise_model_job(src, out, denoiser.path, slices, tile, stride, dtype, overwrite, device,
                                 batch_size, precision, cancel, region, tell_device)
    return denoise_filter_job(src, out, denoiser.name, slices, tile, stride, dtype, overwrite, cancel, region)


#: A preview denoises the part on screen first when it is under this fraction of the slice.
VISIBLE_FIRST_FRACTION = 0.6
#: ... in growing squares of at most these px around the centre of the view, each shown when done (a
#: 4096^2 slice in full view: the centre 512^2, then 1024^2, then the whole slice). The first square
#: is one tile: on two old AVX2 cores (Zen 1) NRRN lite needs about 11 s per megapixel in the app,
#: so 1024^2 alone would keep the user waiting some 15 s for a first look.
FIRST_LOOK_STEPS = (512, 1024)
FIRST_LOOK_PX = FIRST_LOOK_STEPS[-1]
#: Image context (px) around the part on screen: more than any local network's halo (N2V: 30 px).
VISIBLE_MARGIN = 32


def _part_of_mended(predictor, window: np.ndarray, box, tile: int, stride: int | None, cancel: CancelToken | None,
                    norm=None, mended=None) -> Generator[tuple[int, int], None, np.ndarray]:
    """``predictor.denoise`` of the ``box`` (y0, y1, x0, x1) part of the (C, H, W) ``window``, scaled by the whole
    window's numbers (``norm``, computed here when None) and with its fill mended from the whole window
    (``mended``: ``core.fill.mend_window(window)``, computed here when None) and passed through: a part mended on
    its own differed from the whole slice's result near the fill by up to 36 grey levels (review)."""
    mended = mend_window(window) if mended is None else mended
    norm = predictor.normaliser(window, mended) if norm is None else norm
    image, fill = mended
    y0, y1, x0, x1 = box
    result = yield from predictor.denoise(np.ascontiguousarray(image[:, y0:y1, x0:x1]), tile, stride, cancel, norm,
                                          mend=False)
    return keep_fill_part(result, window, fill, box)


def preview(stack_path: str, z: int, denoiser: Denoiser, tile: int, stride: int | None, device: str = "auto",
            visible: tuple[int, int, int, int] | None = None, region: tuple[int, int, int, int] | None = None):
    """``make(token)``: denoise slice ``z`` only; the generator returns it as (Y, X) float32 on the
    stack's own intensity scale. It yields its stages ("loading model" for a model, "reading slice",
    "first tile"), then Progress in tiles.

    ``visible`` (y0, y1, x0, x1) px, the part of the slice on screen: its centre, in squares of at most
    each of FIRST_LOOK_STEPS px, when under VISIBLE_FIRST_FRACTION of the slice, is denoised first (with
    VISIBLE_MARGIN px of context), each square yielded as a :class:`PartialResult` (what is done so far,
    NaN elsewhere), then the whole slice follows. ``region`` (y0, y1, x0, x1) px: only that part is denoised (with
    REGION_MARGIN px of context) and returned in a slice-sized image, NaN elsewhere.
    """

    def make(token: CancelToken) -> Generator[Progress | Stage | PartialResult, None, np.ndarray]:
        model = denoiser.kind == "model"
        if model:
            from emdenoise_gui.zoo.package import verify_folder

            yield stage("loading model", token)
            predictor = _predictor(verify_folder(Path(denoiser.path)), device)
            count = predictor.input_slices
        else:
            count = baselines.FILTERS[denoiser.name].slices
        yield stage("reading slice", token)
        with open_stack(stack_path) as stack:
            check_slice_memory(stack.shape[1:], model_bytes_per_px(predictor.card.family, stack.dtype) if model
                               else filter_bytes_per_px(count, baselines.FILTERS[denoiser.name].whole_slice,
                                                        stack.dtype), stack_path, writes=False, model=model)
            scale = IntensityScale.for_stack(stack)
            window = SliceCache(stack, count + 1).window(z, count, scale)
        yield stage("first tile", token)

        # every part is scaled by the whole slice's numbers, and its fill mended from the whole slice, so a part's
        # pixels are the whole slice's
        mended = mend_window(window) if model else None
        norm = predictor.normaliser(window, mended) if model else None

        def run(box, label: str, before: int = 0, total: int | None = None) -> Generator[Progress, None, np.ndarray]:
            cy0, cy1, cx0, cx1 = box
            if model:
                gen = _part_of_mended(predictor, window, box, tile, stride, token, norm, mended)
            else:
                gen = filter_window(denoiser.name, window[:, cy0:cy1, cx0:cx1], tile, stride, token)
            while True:
                try:
                    done, count = next(gen)
                except StopIteration as stop:
                    return stop.value
                yield Progress(label, before + done, total or count, "tile")

        # a filter whose background spans the slice (flat-field) sees the whole slice, not a part of it
        whole = denoiser.kind != "model" and baselines.FILTERS[denoiser.name].whole_slice
        if region is not None:
            y0, y1, x0, x1 = check_region(region, window.shape[-2:])
            cy0, cy1, cx0, cx1 = (0, window.shape[-2], 0, window.shape[-1]) if whole else \
                with_margin((y0, y1, x0, x1), window.shape[-2:])
            part = yield from run((cy0, cy1, cx0, cx1), "preview (region)")
            only = np.full(window.shape[-2:], np.nan, np.float32)
            only[y0:y1, x0:x1] = part[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
            return scale.from_unit(only)
        first = np.full(window.shape[-2:], np.nan, np.float32)
        looks = [] if whole else first_looks(visible, window.shape[-2:])
        rest = looks and model and predictor.is_local(stride) and predictor.halo < VISIBLE_MARGIN
        # the last square is final where the model is local: only the rest of the slice is left to denoise
        whole_slice = (0, window.shape[-2], 0, window.shape[-1])
        pieces = [(box, with_margin(box, window.shape[-2:], VISIBLE_MARGIN))
                  for box in around(looks[-1][0], window.shape[-2:])] if rest else [(None, whole_slice)]
        # one bar over the whole preview (it read 100 %, ETA 0:00, after the part on screen, then 7 %)
        count = (lambda shape: predictor.tile_count(shape, tile, stride)) if model else \
            (lambda shape: filter_tile_count(denoiser.name, shape, tile, stride))
        counts = [count((cy1 - cy0, cx1 - cx0)) for _, (cy0, cy1, cx0, cx1) in [*looks, *pieces]]
        done = lambda k: sum(counts[:k])  # noqa: E731 - tiles of the parts before part k
        total = sum(counts)
        for k, ((y0, y1, x0, x1), (cy0, cy1, cx0, cx1)) in enumerate(looks):
            part = yield from run((cy0, cy1, cx0, cx1), "preview (on screen)", done(k), total)
            first[y0:y1, x0:x1] = part[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
            yield PartialResult(scale.from_unit(first))
        if rest:
            for k, ((y0, y1, x0, x1), (cy0, cy1, cx0, cx1)) in enumerate(pieces, start=len(looks)):
                part = yield from run((cy0, cy1, cx0, cx1), "preview", done(k), total)
                first[y0:y1, x0:x1] = part[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
            return scale.from_unit(first)
        return scale.from_unit((yield from run(whole_slice, "preview", done(len(looks)), total)))

    return make


def first_looks(visible, shape) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The parts of a slice of ``shape`` (Y, X) to denoise and show before the whole, smallest first:
    ``_visible_box`` for each of FIRST_LOOK_STEPS, without repeats (a small view needs one)."""
    boxes = []
    for side in FIRST_LOOK_STEPS:
        box = _visible_box(visible, shape, side)
        if box is not None and (not boxes or box[0] != boxes[-1][0]):
            boxes.append(box)
    return boxes


def around(box, shape) -> list[tuple[int, int, int, int]]:
    """The rest of a (Y, X) ``shape`` around ``box`` (y0, y1, x0, x1): the full-width bands above and below
    it and the parts left and right of it, each (y0, y1, x0, x1), empty ones left out."""
    y0, y1, x0, x1 = box
    height, width = shape
    parts = [(0, y0, 0, width), (y1, height, 0, width), (y0, y1, 0, x0), (y0, y1, x1, width)]
    return [p for p in parts if p[1] > p[0] and p[3] > p[2]]


def _visible_box(visible, shape, side: int = FIRST_LOOK_PX) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """((y0, y1, x0, x1) to show first, the same with VISIBLE_MARGIN px of context) clipped to
    ``shape``: the part on screen, cut to ``side`` px around its centre. None when nothing is
    given, or when that part is most of the slice."""
    if visible is None:
        return None
    height, width = shape
    y0, y1, x0, x1 = (int(v) for v in visible)
    y0, y1, x0, x1 = max(0, y0), min(height, y1), max(0, x0), min(width, x1)
    if y1 <= y0 or x1 <= x0:
        return None
    cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
    half = side // 2
    y0, y1, x0, x1 = max(y0, cy - half), min(y1, cy + half), max(x0, cx - half), min(x1, cx + half)
    if (y1 - y0) * (x1 - x0) >= VISIBLE_FIRST_FRACTION * height * width:
        return None
    return (y0, y1, x0, x1), with_margin((y0, y1, x0, x1), shape, VISIBLE_MARGIN)


def denoise(stack_path: str, output: Path, denoiser: Denoiser, tile: int, stride: int | None, dtype: str = "float32",
            device: str = "auto", slices: str | None = None, region=None):
    """``make(token)``: denoise a whole stack (or ``slices``; only ``region`` (y0, y1, x0, x1) px of each
    slice when given) into ``output``; yields :class:`Written` once it is there; the generator returns
    ``output``."""

    def make(token: CancelToken) -> Generator[Progress | Stage | Written, None, Path]:
        yield from denoise_stack(stack_path, output, denoiser, slices, tile, stride, dtype, False, device,
                                 cancel=token, region=region)
        yield Written(str(output))
        return Path(output)

    return make


def batch(items: list[tuple[str, Path]], denoiser: Denoiser, tile: int, stride: int | None, dtype: str = "float32",
          device: str = "auto"):
    """``make(token)``: denoise several stacks one after another; returns the list of outputs written.

    Progress runs over all stacks (in ‰); each stack's stages come as "stack 2/3: reading slice"; a
    cancel stops at the next tile (or layer) and keeps the finished outputs. A stack that fails (a file moved
    away, a damaged slice) is told as a Message and the others go on; at the end an InputError names those
    that failed (the batch stopped at the first, and the stacks after it were silently not denoised: job
    lifecycle audit of 2026-12-07).
    """

    def make(token: CancelToken) -> Generator[Progress | Stage | Message | Written, None, list]:
        written, failed = [], []
        for index, (stack_path, output) in enumerate(items):
            which = f"stack {index + 1}/{len(items)}"
            try:
                for event in denoise(stack_path, output, denoiser, tile, stride, dtype, device)(token):
                    if isinstance(event, Written):
                        yield event
                    elif isinstance(event, Stage):
                        yield Stage(f"{which}: {event.text}")
                    elif isinstance(event, Message):  # a stack's notes (chunks not stored): they were dropped here
                        yield Message(f"{which}: {event.text}")
                    elif isinstance(event, Progress) and event.total:
                        done = index * 1000 + int(1000 * event.done / event.total)
                        yield Progress(f"batch {index + 1}/{len(items)}", done, 1000 * len(items), "‰")
            except InputError as exc:
                failed.append(f"{Path(stack_path).name}: {exc.problem}")
                yield Message(f"{which} ({Path(stack_path).name}) not denoised: {exc.problem}")
                continue
            written.append(output)
        if failed:
            raise InputError(f"{len(failed)} of {len(items)} stacks could not be denoised (the other "
                             f"{len(items) - len(failed)} were): " + "; ".join(failed))
        return written

    return make
