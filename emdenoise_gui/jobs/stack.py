"""The core's long jobs, each a generator of Progress events: stats, noise, classical denoise (compare:
``compare.py``).

The CLI drains them into a progress bar; the GUI runs the same generators on
a worker thread. Each job validates everything it can (inputs, output path,
parameters) before it writes a byte.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Generator, Iterator

import numpy as np

from emdenoise_gui import __version__
from emdenoise_gui.core import baselines, noise
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.events import CancelToken, Message, Progress, Stage
from emdenoise_gui.core.fill import fill_mask, keep_fill, mend_window
from emdenoise_gui.core.io import (
    Stack,
    StackWriter,
    check_output,
    mrc,
    omezarr,
    open_stack,
)
from emdenoise_gui.core.io.formats import output_format
from emdenoise_gui.core.io.stack import Placement, float32_loss
from emdenoise_gui.core.io.units import TIME_POINTS
from emdenoise_gui.core.io.writer import CLIP_FRACTION, WIDER
from emdenoise_gui.core.memory import check_slice_memory, filter_bytes_per_px
from emdenoise_gui.core.pipeline import (
    IntensityScale,
    SliceCache,
    bulk_range,
    finite_slice,
    parse_slices,
    sampled_range,
    sampled_values,
    scaled_by_type,
    stream_stack,
)
from emdenoise_gui.core.tiling import TileGrid, TilePlan, blend_tiles

OUTPUT_DTYPES = ("float32", "input", "uint8", "uint16", "int16")
#: Tiling qualities: "fast" band-blends tiles that overlap by the network's receptive field (each
#: pixel computed about once); "paper" is the papers' stride of half a tile, Gaussian-blended (4x the work).
QUALITIES = ("fast", "paper")


def quality_stride(quality: str, tile: int, stride: int | None = None) -> int | None:
    """The tile stride for a quality: None (band blending) for "fast", half a tile for "paper";
    an explicit ``stride`` wins."""
    if quality not in QUALITIES:
        raise InputError(f"--quality '{quality}' is not one of {', '.join(QUALITIES)}")
    if stride is not None:
        return stride
    return tile // 2 if quality == "paper" else None


@dataclass
class StackStats:
    """Intensity statistics over a whole stack (stored values, finite pixels only)."""

    minimum: float = np.inf
    maximum: float = -np.inf
    mean: float = 0.0
    nonfinite: int = 0
    count: int = 0


def stack_stats(stack: Stack, cancel: CancelToken | None = None) -> Generator[Progress, None, StackStats]:
    """Min, max, mean and the count of NaN/Inf pixels, one slice at a time; returns StackStats."""
    stats, total = StackStats(), 0.0
    for z in range(len(stack)):
        if cancel is not None:
            cancel.raise_if_cancelled()
        data = stack[z]
        finite = np.isfinite(data) if data.dtype.kind == "f" else None
        values = data[finite] if finite is not None else data.ravel()
        stats.nonfinite += 0 if finite is None else int(finite.size - values.size)
        if values.size:
            stats.minimum = min(stats.minimum, float(values.min()))
            stats.maximum = max(stats.maximum, float(values.max()))
            total += float(values.sum(dtype=np.float64))
            stats.count += int(values.size)
        yield Progress("statistics", z + 1, len(stack), "slice")
    stats.mean = total / stats.count if stats.count else float("nan")
    return stats


#: Floating-point input written as an integer type must span at least this many grey levels (a stack on
#: [0, 1] stored as uint16 would keep 2).
MIN_LEVELS = 16


def check_levels(stack: Stack, dtype: np.dtype, sampled: tuple | None = None) -> None:
    """InputError, before any work, when the integer ``dtype`` cannot hold ``stack``'s values: more than
    ``CLIP_FRACTION`` of the pixels sampled (as the intensity scale samples them) outside its range (an int16
    MRC with its dark-subtracted background around 0 written as uint16 had 18 % of its pixels clipped to 0,
    exit 0: the writer lets a result's overshoot past the type's range go, within 5 % of its span; dtype
    audit), or floating-point values whose range would round to fewer than MIN_LEVELS grey levels of it; a
    constant stack passes (rounding it loses nothing it had). ``sampled``: the stack's ``sampled_values`` where the
    caller has them."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return
    low, high, values = sampled or sampled_values(stack)
    info = np.iinfo(dtype)
    outside = int(np.count_nonzero((values < info.min - 0.5) | (values > info.max + 0.5)))
    if outside > CLIP_FRACTION * values.size:
        raise InputError(f"holds values from {low:g} to {high:g}, {outside / values.size:.1%} of them beyond "
                         f"{dtype}'s {info.min} to {info.max}: stored as {dtype} they would be clipped; {WIDER}",
                         stack.meta.path)
    if np.dtype(stack.dtype).kind == "f" and 0 < high - low < MIN_LEVELS - 1:
        levels = int(np.rint(high) - np.rint(low)) + 1
        raise InputError(f"holds floating-point values from {low:g} to {high:g}: stored as {dtype} the "
                         f"result would keep {levels} grey level{'s' if levels != 1 else ''}; {WIDER}",
                         stack.meta.path)


def scale_for_output(stack: Stack, dtype: np.dtype) -> IntensityScale:
    """``stack``'s working scale (``IntensityScale.for_stack``), after :func:`check_levels` for the output type
    ``dtype``: an integer output checks the values the scale is sampled from (16 slices read once, not twice)."""
    sampled = sampled_values(stack) if np.dtype(dtype).kind != "f" else None
    check_levels(stack, dtype, sampled)
    return IntensityScale.for_stack(stack, None if sampled is None else bulk_range(*sampled))


#: The words every reader's note uses when it takes the z step as the pixel size (the file gives none), or the
#: y pixel size as the x one
Z_GUESSED, Y_GUESSED = "taken as the pixel size", "taken as the x pixel size"


def resolve_dtype(choice: str, stack: Stack) -> np.dtype:
    """The output dtype for ``--dtype`` ``choice`` ('float32', 'input' or a type name)."""
    if choice not in OUTPUT_DTYPES:
        raise InputError(f"--dtype '{choice}' is not one of {', '.join(OUTPUT_DTYPES)}")
    return np.dtype(stack.dtype if choice == "input" else choice)


#: Image context (px) read around a region to denoise: more than any local network's halo (N2V: 30 px).
REGION_MARGIN = 64


def check_region(region, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """``region`` (y0, y1, x0, x1) px as ints inside a (Y, X) ``shape``; InputError when empty or outside."""
    y0, y1, x0, x1 = (int(v) for v in region)
    height, width = shape
    y0, y1, x0, x1 = max(0, y0), min(height, y1), max(0, x0), min(width, x1)
    if y1 - y0 < 8 or x1 - x0 < 8:
        raise InputError(f"the region y {y0}:{y1}, x {x0}:{x1} is smaller than 8 x 8 px inside the {width} x "
                         f"{height} px slices; draw a larger one")
    return y0, y1, x0, x1


def with_margin(box, shape: tuple[int, int], margin: int = REGION_MARGIN) -> tuple[int, int, int, int]:
    """``box`` (y0, y1, x0, x1) grown by ``margin`` px of context on every side, clipped to (Y, X) ``shape``."""
    y0, y1, x0, x1 = box
    height, width = shape
    return max(0, y0 - margin), min(height, y1 + margin), max(0, x0 - margin), min(width, x1 + margin)


def provenance(made_by: str, source_name: str, slices: range, depth: int, region=None) -> str:
    """The line an output keeps of how it was made: the app and its version, the time, ``made_by``, the input's
    file name and, for part of it, which ``slices`` (of ``depth``) and ``region`` (y0, y1, x0, x1) px."""
    part = ""
    if slices != range(depth):
        step = f" every {slices.step}" if slices.step != 1 else ""
        part = f", its slices {slices.start} to {slices[-1]}{step} (counted from 0)"
    if region is not None:
        y0, y1, x0, x1 = region
        part += f", rows {y0} to {y1 - 1} and columns {x0} to {x1 - 1}"
    when = datetime.now().astimezone().isoformat(timespec="seconds")
    # a name whose bytes are not UTF-8 (Latin-1 from an old share) holds escapes no file format can store: a TIFF's
    # Info failed with an internal error and stopped the batch (paths audit); its bytes are shown as they decode
    name = os.fsencode(source_name).decode("utf-8", "replace")
    return f"Made by EMDenoise {__version__} on {when} with {made_by} from {name}{part}"


@dataclass
class StackJob:
    """What every stack-to-stack job needs: an open input, a checked output, the slices, a writer.

    region: (y0, y1, x0, x1) px to denoise, or None for whole slices; slice jobs read
    :meth:`crop` of each window (the region and REGION_MARGIN px of context) and hand their result to
    :meth:`uncrop`, so the output holds the region only.
    """

    source: Stack
    output: Path
    slices: range
    dtype: np.dtype
    overwrite: bool = False
    region: tuple[int, int, int, int] | None = None
    scale: IntensityScale = field(init=False)
    #: The OME-Zarr version of a .zarr output (None: the default, 0.5).
    ngff: str | None = None
    #: What is missing from the input already (an OME-Zarr store's chunks not stored), said when the job runs.
    input_note: str = ""

    @classmethod
    def prepare(cls, src, out, slices=None, dtype="float32", overwrite=False, region=None) -> "StackJob":
        source = open_stack(src)
        try:
            job = cls(source, check_output(out, [src], overwrite), parse_slices(slices, len(source)),
                      resolve_dtype(dtype, source), overwrite,
                      None if region is None else check_region(region, source.shape[1:]))
            job.scale = scale_for_output(source, job.dtype)
            job.input_note = source.hold_still()  # a chunk file removed or rewritten later fails its slice
        except Exception:
            source.close()
            raise
        return job

    def check_memory(self, bytes_per_px: int, model: bool) -> None:
        """``core.memory.check_slice_memory`` for this job's slices at ``bytes_per_px`` (``model``: with a network
        loaded); its InputError closes the input first."""
        try:
            check_slice_memory(self.source.shape[1:], bytes_per_px, self.source.path, model=model)
        except InputError:
            self.source.close()
            raise

    def context(self) -> tuple[int, int, int, int]:
        """(y0, y1, x0, x1) px of the slice a region job computes: the region with REGION_MARGIN px of context."""
        return with_margin(self.region, self.source.shape[1:])

    def crop(self, window: np.ndarray) -> np.ndarray:
        """The part of a (C, Y, X) window a slice job computes: all of it, or the region with context."""
        if self.region is None:
            return window
        cy0, cy1, cx0, cx1 = self.context()
        return np.ascontiguousarray(window[:, cy0:cy1, cx0:cx1])

    def cut(self, result: np.ndarray) -> np.ndarray:
        """A whole (Y, X) slice's result cut to the region (all of it without one)."""
        if self.region is None:
            return result
        y0, y1, x0, x1 = self.region
        return result[y0:y1, x0:x1]

    def uncrop(self, result: np.ndarray) -> np.ndarray:
        """A slice job's (Y, X) result of :meth:`crop`'s input, cut to the region."""
        if self.region is None:
            return result
        y0, y1, x0, x1 = self.region
        cy0, _, cx0, _ = self.context()
        return result[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]

    def output_notes(self, stored: np.dtype) -> Iterator[Message]:
        """Say what the output cannot keep of the input: data it does not come from (``extra["unread"]``: other
        image series of a TIFF, bytes beyond an MRC header's slices), its pixel type (an input type EMDenoise reads as float32,
        such as int32 or float64, kept as float32; 8-bit pixels an MRC file holds as 16-bit), metadata it drops
        (``extra["not_kept"]``: an MRC extended header; white-is-zero outside TIFF), its position in space (outside MRC and OME-Zarr, or a
        translation EMDenoise cannot read), a z step or y pixel size the input did not give."""
        extra = self.source.meta.extra
        for said in ("unread", "not_kept"):  # data the output does not come from, metadata it drops
            if extra.get(said):
                yield Message(f"{self.source.meta.path.name}: {extra[said]}")
        module = output_format(self.output).module
        if extra.get("white_is_zero") and "white_is_zero" not in getattr(module, "KEEPS", ()):
            yield Message(f"{self.output.name} cannot say that the input is stored white-is-zero (a TIFF's MINISWHITE):"
                          " it keeps the pixel values, so a viewer shows it inverted against the input; write a .tif "
                          "output to keep it")
        if extra.get("imagej_info") and "imagej_info" not in self._keeps():
            yield Message(f"the input's ImageJ Info text (its acquisition notes) is not kept in {self.output.name}: "
                          "write a .tif output to keep it")
        if extra.get("volume_depth") and "volume_depth" not in self._kept():
            if self._images():
                where = "an .mrcs output holds images, not volumes"
            elif "volume_depth" in getattr(module, "KEEPS", ()):
                where = "--slices covers part of a volume"
            else:
                where = "only an .mrc output can say so"
            yield Message(f"{self.output.name} is written as one volume, not as the input's volumes of "
                          f"{extra['volume_depth']} slices: {where}")
        source_type = extra.get("stored_dtype")
        if source_type and self.dtype == np.float32 and self.source.dtype == np.float32:
            yield Message(f"the input stores {source_type} pixels, which EMDenoise reads and writes as float32 "
                          f"({float32_loss(source_type)})")
        keeps = getattr(module, "KEEPS_PLACEMENT", False)
        voxel = self.source.meta.voxel_size_nm
        if module is omezarr:  # an NGFF translation is in the axes' units: it needs the voxel size
            keeps = voxel is not None
        keeping = ".mrc or .zarr" if voxel else ".mrc"  # the outputs that keep a position
        if extra.get("translated") or (extra.get("placement") is not None and not keeps):
            zarr = extra.get("translated") or self.source.meta.format.startswith("OME-Zarr")
            what = "OME-Zarr translation" if zarr else "MRC origin and start indices"
            kept = "; the voxel size is" if voxel else ""
            if extra.get("translated"):
                why = kept
            elif module is omezarr:  # kept there but for the voxel size
                why = (": an NGFF translation needs the voxel size, which the input does not give; write an .mrc "
                       "output to keep it")
            else:  # .zarr keeps it only in nm, with the voxel size
                why = f"{kept}; write an {keeping} output to keep it"
            yield Message(f"the input's {what} (its position in space) is not kept in {self.output.name}{why}")
        elif not keeps and not extra.get("translated") and any(self._crop_start()):
            z, y, x = self._crop_start()  # an .mrc output keeps it as start indices (convert audit)
            why = ("an NGFF translation needs the voxel size, which the input does not give; write an .mrc output to "
                   "keep it") if module is omezarr else f"write an {keeping} output to keep it"
            yield Message(f"where this part begins in the input (slice {z}, row {y}, column {x}) is not kept in "
                          f"{self.output.name}: {why}")  # the README promised this note for a TIFF (docs audit)
        note = str(extra.get("note", ""))
        if voxel and len(self.slices) > 1 and TIME_POINTS in note:
            given = extra.get("z_step_not_taken")
            also = f" (the input's own z step of {given:.4g} nm is not taken for them)" if given else ""
            yield Message(f"{self.output.name} records a z step of {voxel[0]:.4g} nm, the pixel size: the input's "
                          f"slices are time points, not z planes{also}")
        for what, words, index, shown in (("z step", Z_GUESSED, 0, len(self.slices) > 1 and TIME_POINTS not in note),
                                          ("y pixel size", Y_GUESSED, 1, True)):
            if voxel and shown and words in note:
                yield Message(f"{self.output.name} records a {what} of {voxel[index]:.4g} nm, which the input does "
                              f"not give (it was {words}): correct it there if you know the real one")
        if stored != self.dtype:
            yield Message(f"{self.output.name} holds the {self.dtype} pixels as {stored} (the same values): no MRC "
                          "mode for unsigned 8-bit is read alike by every program")

    def _crop_start(self) -> tuple[int, int, int]:
        """(z, y, x) in voxels where the output begins in the input (a ``--slices`` start, a region's corner)."""
        y0, x0 = (0, 0) if self.region is None else (self.region[0], self.region[2])
        return self.slices[0], y0, x0

    def _images(self) -> bool:
        """Whether the output is an MRC stack of images (``mrc.image_stack_name``: written as space group 0)."""
        return mrc.image_stack_name(self.output)

    def _kept(self) -> dict:
        """What of the input the output keeps where its format can (``StackWriter``'s ``kept``): white-is-zero,
        and the volumes of a volume stack when the slices are whole volumes of it."""
        extra, kept = self.source.meta.extra, {}
        if extra.get("white_is_zero"):
            kept["white_is_zero"] = True
        if extra.get("imagej_info"):
            kept["imagej_info"] = extra["imagej_info"]
        depth = extra.get("volume_depth")
        whole = depth and self.slices.step == 1 and self.slices.start % depth == 0 and len(self.slices) % depth == 0
        if whole and not self._images():
            kept["volume_depth"] = depth
        return {key: value for key, value in kept.items() if key in self._keeps()}

    def _keeps(self) -> frozenset:
        """What of an input the output's format module can keep (its ``KEEPS``)."""
        return getattr(output_format(self.output).module, "KEEPS", frozenset())

    def description(self, made_by: str) -> str:
        """One line the output keeps of how it was made (:func:`provenance`), or "" without ``made_by``."""
        if not made_by:
            return ""
        return provenance(made_by, self.source.meta.path.name, self.slices, len(self.source), self.region)

    def run(self, slice_job, stage: str, cancel: CancelToken | None, cache: SliceCache | None = None,
            made_by: str = "") -> Iterator[Progress]:
        """Stream ``slice_job`` over the slices into the output, committing it at the end; ``cache``
        (reading ahead from the source) is closed before the source. ``made_by`` (e.g. "the filter gaussian"):
        what made it, written into the output where its format keeps a description (:meth:`description`)."""
        if self.region is None:
            shape = (len(self.slices), *self.source.shape[1:])
        else:
            y0, y1, x0, x1 = self.region
            shape = (len(self.slices), y1 - y0, x1 - x0)
        meta = self.source.meta
        placement = meta.extra.get("placement")  # an MRC input's; moved to where the output begins
        if placement is None and not meta.extra.get("translated") and any(self._crop_start()):
            placement = Placement()  # a crop of an input at the origin: where it sat in it
        if placement is not None:
            placement = placement.cropped(*self._crop_start(), meta.voxel_size_nm)
        try:
            kept = self._kept()
            if made_by and "description" in self._keeps():
                kept["description"] = self.description(made_by)
            with StackWriter(self.output, shape, self.dtype, meta.voxel_size_nm, self.overwrite, self.ngff,
                             placement, kept) as writer:
                if self.input_note:
                    yield Message(f"{self.source.path}: {self.input_note}")
                yield from self.output_notes(writer.store_dtype)
                if writer.restored:
                    yield Message(f"put back {', '.join(p.name for p in writer.restored)}: an interrupted run had moved "
                                  "it aside to replace it")
                if writer.cleaned:
                    names = ", ".join(p.name for p in writer.cleaned[:3]) + (" …" if len(writer.cleaned) > 3 else "")
                    yield Message(f"removed {len(writer.cleaned)} unfinished output file(s) an interrupted run left "
                                  f"in {self.output.parent}: {names}")
                blank: list[int] = []  # (a region's result may lie in the fill of a slice that is not blank)
                job = slice_job if self.region is not None else _noting_blank(slice_job, blank)
                yield from stream_stack(self.slices, job, writer, stage, cancel)
                writer.commit()
            if blank:
                are = "is" if len(blank) == 1 else "are"
                yield Message(f"{self.source.path}: {_slice_words(blank)} of the input {are} blank (one value), and "
                              "so in the result: a missing section, or a file read while it was still being written? "
                              "If so, run again once it is complete")
        finally:
            if cache is not None:
                cache.close()
            self.source.close()


def _noting_blank(slice_job, blank: list[int]):
    """``slice_job`` that also appends to ``blank`` each slice z whose result is one value (a blank slice passes
    through: a copy still being written read as zeros, and the run said nothing of its 9 blank slices of 16;
    concurrency audit)."""
    def one(z: int):
        result = yield from slice_job(z)
        if result.size and result.min() == result.max():
            blank.append(z)
        return result

    return one


def _slice_words(slices: list[int]) -> str:
    """'slice 4', 'slices 7-15' or 'slices 2, 7-15 and 20' for the sorted slice indices ``slices``."""
    runs, start = [], slices[0]
    for before, z in zip(slices, slices[1:] + [None]):
        if z != before + 1:
            runs.append(f"{start}" if start == before else f"{start}-{before}")
            start = z
    if len(slices) == 1:
        return f"slice {slices[0]}"
    return "slices " + (runs[0] if len(runs) == 1 else ", ".join(runs[:-1]) + " and " + runs[-1])


def convert_job(src, out, slices=None, dtype="input", overwrite=False, ngff: str | None = None,
                cancel: CancelToken | None = None) -> Iterator[Progress]:
    """Copy a stack into another format (TIFF, MRC, OME-Zarr by ``out``'s name), voxel size kept;
    ``dtype`` "input" keeps the pixel type (see :func:`resolve_dtype`). NaN or infinite pixels are refused as
    the input's (``finite_slice``: what to do about them), not blamed on a model by the writer (I/O audit)."""
    job = StackJob.prepare(src, out, slices, dtype, overwrite)
    job.ngff = ngff

    def one(z: int):
        yield 1, 1
        return finite_slice(job.source, z)

    yield from job.run(one, "convert", cancel, made_by="emdenoise convert (a copy, not denoised)")


#: Noise kinds whose numbers count from zero intensity (counts, a multiplicative pattern): :func:`noise_scale`.
FROM_ZERO = ("poisson-dose", "poisson-peak", "film")


def noise_scale(stack: Stack, kind: str) -> IntensityScale:
    """The working scale ``kind`` noise is drawn on. uint8 data: its type's range, as everywhere. Other data,
    for the kinds of :data:`FROM_ZERO`: from zero (or the stack's minimum, when it holds values below zero) to
    its maximum, both read from every slice, so that a dose is counts at the image mean as the help says and no
    pixel lies below the scale's zero (a uint16 ramp of 1000-3000 given dose 100 measured 400 counts, and a
    patch darker than the 16 slices the usual range samples came out flat, noiseless; convert audit). Other
    kinds: the usual scale (:class:`IntensityScale`)."""
    if kind not in FROM_ZERO or (scaled_by_type(stack.dtype) and stack.dtype.kind == "u"):
        return IntensityScale.for_stack(stack)  # int8's type range would count from -128 (review)
    low, high = sampled_range(stack, samples=len(stack))
    low = min(low, 0.0)
    return IntensityScale(low, high if high > low else low + 1.0)


def noise_job(src, out, kind: str, params: dict, seed: int = 0, slices=None, dtype="float32",
              overwrite=False, ngff: str | None = None, cancel: CancelToken | None = None) -> Iterator[Progress]:
    """Add seeded synthetic noise (a kind of :mod:`noise`) to a stack, written to ``out`` (``ngff``: the
    OME-Zarr version of a ``.zarr`` output).

    The stack is put on the [0, 1] working scale (:func:`noise_scale`), noised,
    and written back on its own intensity scale, not clipped (float32 output).
    Slice z always gets the same noise for the same seed (``noise.slice_rng``).
    """
    if kind not in noise.NOISE_KINDS:
        raise InputError(f"unknown noise kind '{kind}'; choose one of {', '.join(noise.NOISE_KINDS)}")
    job = StackJob.prepare(src, out, slices, dtype, overwrite)
    job.ngff = ngff
    params = {**noise.NOISE_KINDS[kind].params, **params}  # every value used, for the made-by line too
    given = dict(params)  # as the user gave them: the made-by line's
    usual = job.scale
    try:
        job.scale = noise_scale(job.source, kind)
    except BaseException:
        job.source.close()
        raise
    if "sigma" in params and job.scale != usual:  # 8-bit levels of the stack's own range, as for every kind
        params["sigma"] *= (usual.hi - usual.lo) / (job.scale.hi - job.scale.lo)  # (film's was of 0..max: noise audit)
    if job.scale.lo < 0 and kind in FROM_ZERO:
        zero = "zero counts" if kind.startswith("poisson") else "zero intensity for the pattern"
        yield Message(f"{job.source.path.name} holds values below zero: its minimum "
                      f"({job.scale.from_unit(np.zeros(1))[0]:g}) is taken as {zero}")

    def one(z: int):
        clean = job.scale.to_unit(finite_slice(job.source, z), strays=True)  # noise keeps a stray pixel
        try:
            noisy = noise.add_noise(clean, kind, noise.slice_rng(seed, z), **params)
        except ValueError as exc:
            raise InputError(f"cannot add {kind} noise to slice {z}: {exc}", job.source.path) from exc
        yield 1, 1
        return job.scale.from_unit(noisy)

    shown = ", ".join(f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}"
                      for key, value in given.items())
    yield from job.run(one, "noise", cancel, made_by=f"synthetic {kind} noise ({shown}{', ' if shown else ''}seed "
                                                      f"{seed})")


def stage(text: str, cancel: CancelToken | None) -> Stage:
    """The :class:`Stage` event ``text``, after checking ``cancel``: a job cancelled during its previous
    stage (loading a model, reading a slice) stops here, before starting the next."""
    if cancel is not None:
        cancel.raise_if_cancelled()
    return Stage(text)


#: The largest tile side (px): 8192^2 float32 is 256 MB per channel; a filter's quarter-tile overlap is
#: padded around the image, so a tile of 100,000 px asked for gigabytes whatever the image's size.
MAX_TILE = 8192


def check_tiling(tile: int, stride: int | None) -> None:
    """InputError unless 16 <= ``tile`` <= MAX_TILE px and ``stride`` is None (fast) or 1 <= ``stride`` <=
    ``tile``."""
    if not 16 <= tile <= MAX_TILE:
        raise InputError(f"--tile {tile}: need a tile of 16 to {MAX_TILE} px (512 suits most work)")
    if stride is not None and not 1 <= stride <= tile:
        raise InputError(f"--tile {tile} --stride {stride}: need 1 <= stride <= tile")


def filter_window(method: str, window: np.ndarray, tile: int, stride: int | None,
                  cancel: CancelToken | None = None) -> Generator[tuple[int, int], None, np.ndarray]:
    """Run filter ``method`` tile by tile on ``window`` ((slices, Y, X) float32, working scale,
    as many slices as the filter takes); yields (tiles done, total), returns the (Y, X) result.
    A ``Filter.whole_slice`` filter runs on the whole window at once (one "tile"). ``stride`` None
    band-blends (filters that estimate the noise per tile depend on the whole tile:
    ``TilePlan.whole_tile``), a stride Gaussian-blends as the papers did."""

    spec = baselines.FILTERS[method]
    raw, centre = window[0] if spec.slices == 1 else window, window[window.shape[0] // 2]
    if spec.whole_slice:  # its background spans the slice: one piece, not tiles; it leaves out the fill itself
        if cancel is not None:
            cancel.raise_if_cancelled()
        fill = fill_mask(centre)
        kept = None if fill is None else centre[fill]
        result = baselines.apply_filter(method, raw, copy=False)  # the window is this job's alone
        yield 1, 1
        return keep_fill(result, kept, fill)
    mended, fill = mend_window(window)  # an aligned stack's fill out of the work (core.fill)
    kept = None if fill is None else centre[fill]
    image = mended[0] if spec.slices == 1 else mended
    del centre
    one_tile = baselines.tile_filter(method, raw)  # a width tuned to the image: measured on the whole slice

    def tile_fn(batch: np.ndarray) -> np.ndarray:
        return np.stack([one_tile(t) for t in batch])

    plan = TilePlan.whole_tile(tile) if stride is None else TilePlan.paper(tile, stride)
    del window, raw
    return keep_fill((yield from blend_tiles(image, tile_fn, plan, cancel=cancel)), kept, fill)


def filter_tile_count(method: str, shape: tuple[int, int], tile: int, stride: int | None) -> int:
    """Tiles :func:`filter_window` runs for a (Y, X) ``shape`` (1 for a whole-slice filter)."""
    if baselines.FILTERS[method].whole_slice:
        return 1
    plan = TilePlan.whole_tile(tile) if stride is None else TilePlan.paper(tile, stride)
    return len(TileGrid.build(*shape, plan))


def denoise_filter_job(src, out, method: str, slices=None, tile=512, stride=None, dtype="float32",
                       overwrite=False, cancel: CancelToken | None = None, region=None) -> Iterator[Progress | Stage]:
    """Denoise a stack with a classical filter of :mod:`baselines`, tile by tile, to ``out``.

    Filters see tiles on the [0, 1] working scale; "-avg" filters get the slice
    and its two neighbours (reflected at the ends of the stack). Yields Stage "reading slice"
    and "first tile", then Progress in tiles. ``region`` (y0, y1, x0, x1): denoise only that part.
    """
    if method not in baselines.FILTERS:
        raise InputError(f"unknown method '{method}'; choose one of {', '.join(baselines.FILTERS)}")
    check_tiling(tile, stride)
    filt = baselines.FILTERS[method]
    filt.check_available()  # before anything is read or written
    yield stage("reading slice", cancel)
    job = StackJob.prepare(src, out, slices, dtype, overwrite, region)
    job.check_memory(filter_bytes_per_px(filt.slices, filt.whole_slice, job.source.dtype, job.dtype), model=False)
    cache = SliceCache(job.source, size=filt.slices + 1).read_ahead(job.slices, filt.slices)

    def one(z: int):
        window = cache.window(z, filt.slices, job.scale)
        if z == job.slices[0]:
            yield stage("first tile", cancel)
        if filt.whole_slice:  # its background comes from the whole slice, a region's result too
            result = yield from filter_window(method, window, tile, stride, cancel)
            return job.scale.from_unit(job.cut(result), owned=True)
        result = yield from filter_window(method, job.crop(window), tile, stride, cancel)
        return job.scale.from_unit(job.uncrop(result), owned=True)

    yield from job.run(one, f"denoise ({method})", cancel, cache, made_by=f"the filter {method}")
