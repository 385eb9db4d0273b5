"""Compare: PSNR, SSIM and MSE of results against a clean reference (``emdenoise compare``, the smoke test),
each slice scaled to [0, 1] by the reference's range as ../shared/docs/benchmarks.md protocol Q does."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Generator

import numpy as np

from emdenoise_gui.core import metrics
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.events import CancelToken, Message, Progress
from emdenoise_gui.core.io import Stack, open_stack
from emdenoise_gui.core.io.stack import Placement
from emdenoise_gui.core.pipeline import (
    IntensityScale,
    finite_slice,
    parse_slices,
    range_picks,
    scaled_by_type,
)


@dataclass(frozen=True)
class CompareRow:
    """Metrics of one image against the clean reference: mean and std over slices."""

    name: str
    psnr: tuple[float, float]
    ssim: tuple[float, float]
    mse: tuple[float, float]
    slices: int
    clipped: float = 0.0  # fraction of the image's pixels outside the reference's range (clipped to it)
    #: the values mapped to 0 and 1: an 8-bit reference's type range, else its own min and max
    scaled: tuple[float, float] = (0.0, 1.0)
    #: whether ``scaled`` is the reference's type range (8-bit) rather than its own minimum and maximum
    by_type: bool = False
    #: whether values of the reference beyond its outlier limits (a hot or dead pixel) were left out of
    #: ``scaled`` (``metrics.outlier_limits``)
    outliers: bool = False
    #: the image's values' span (max - min) as a fraction of the reference's, over the slices compared: far
    #: below 1 when the image is on another scale (a [0, 1] float image against 8-bit data)
    span: float = 1.0
    #: slices equal to the reference's (a blank padding slice returned as it is): left out of ``psnr``
    identical: int = 0


def distinct_labels(paths: list[Path]) -> list[str]:
    """A row label per path: its file name, or as many of its last folders as tell it from the others of the
    same name (``A/x.tif``, ``B/x.tif``: two rows both read ``x.tif``, and the best one could not be told)."""
    parts = [Path(p).absolute().parts for p in paths]
    labels = []
    for mine in parts:
        for depth in range(1, len(mine) + 1):
            label = mine[-depth:]
            if sum(1 for other in parts if other[-depth:] == label) == sum(1 for other in parts if other == mine):
                break
        labels.append(str(Path(*label)))
    return labels


def _constant_reference(value: float, path) -> InputError:
    return InputError(f"the clean reference is constant ({value:g} everywhere): there is nothing to measure "
                      "against; give the clean image as the first file", path)


def _reference_range(clean: Stack, picks: range, cancel: CancelToken | None
                     ) -> Generator[Progress, None, tuple[float, float, bool]]:
    """(min, max, whether outliers were left out) of the finite values of the reference's ``picks`` slices
    and of up to RANGE_SAMPLES evenly spaced ones of the whole reference (so that ``--slices 3:5`` scores
    those slices as a run on the whole stack does, exactly for references of up to RANGE_SAMPLES slices: one
    slice of 3x the contrast gave them 18.55 dB alone and about 29.4 in the whole run: metrics audit; a
    sample holding NaN is skipped), with progress: each slice's extremes leaving out lone pixels beyond its
    outlier limits (``metrics.outlier_limits``, ``metrics.lone_outliers``; a bead of several pixels stays).
    One hot pixel of 65535 among values of 1012-1060 set the range, and the noisy input, sharing it, scored
    80.87 dB and "best" above a median that removed it (metrics audit). InputError if they are constant."""
    samples = range_picks(len(clean))
    read = sorted(set(picks) | {int(z) for z in samples})
    low, high, outliers = np.inf, -np.inf, False
    for count, z in enumerate(read):
        if cancel is not None:
            cancel.raise_if_cancelled()
        data = finite_slice(clean, z) if z in picks else clean[z]
        if data.dtype.kind == "f" and not np.isfinite(data).all():  # a sample not compared: skipped
            yield Progress("reading the reference's range", count + 1, len(read), "slice")
            continue
        limits = metrics.outlier_limits(data)
        lone = metrics.lone_outliers(data, limits) if limits is not None else None
        if lone is not None and lone.any():  # the extremes of the other values
            data, outliers = data[~lone], True
        low, high = min(low, float(data.min())), max(high, float(data.max()))
        yield Progress("reading the reference's range", count + 1, len(read), "slice")
    if not high > low:
        raise _constant_reference(low, clean.path)
    return low, high, outliers


def placed_at(clean: Stack, image: Stack) -> int | None:
    """The reference slice ``image``'s first slice sits at, as their headers place them (MRC start indices
    or origin, an OME-Zarr translation: ``Placement.position_nm``), or None when either header says nothing
    (a TIFF reference), a voxel size it needs is unknown, or the two are not placed slice on slice in the
    same plane."""
    placement = image.meta.extra.get("placement")
    if placement is None or not clean.meta.format.startswith(("MRC", "OME-Zarr")):
        return None  # a TIFF reference says nothing of where it sits: a result of a map starting at slice 10
    reference = clean.meta.extra.get("placement") or Placement()  # was compared with slices 10-14 of it
    if not any(placement.origin) and not any(reference.origin):  # start indices alone: in voxels already
        (x, y, z), (x0, y0, z0) = placement.start, reference.start
        return z - z0 if (x, y) == (x0, y0) else None
    voxel, own = clean.meta.voxel_size_nm, image.meta.voxel_size_nm
    if not voxel or not own:
        return None
    at, origin = placement.position_nm(own), reference.position_nm(voxel)
    # a hundredth of a voxel: float32 origins of 10^5 Angstrom hold about that
    if at is None or origin is None or any(abs(a - b) > 1e-2 * v for a, b, v in zip(at[1:], origin[1:], voxel[1:])):
        return None
    offset = (at[0] - origin[0]) / voxel[0]
    return round(offset) if abs(offset - round(offset)) < 1e-2 else None


def _slices_compared(clean: Stack, images: list[Stack], slices: str | None) -> tuple[range, list[str]]:
    """(The reference slices the images' slices are compared with, notes saying why): ``slices``
    (``--slices``), else where the images' headers place them (:func:`placed_at`: a result of ``denoise
    --slices 3:6`` written as MRC says it begins at slice 3), else all of them. A ``slices`` that disagrees
    with such a header is noted (it was compared silently: 10.23 dB and SSIM -0.64 against 30.53 for the
    right slices, exit 0: metrics audit); it is kept, for a header that is wrong."""
    placed = [(image, placed_at(clean, image)) for image in images]
    placed = [(image, at) for image, at in placed if at is not None and 0 <= at < len(clean)]
    if slices is not None:
        picks = parse_slices(slices, len(clean))
        return picks, [_disagreeing(image, at, picks, len(clean)) for image, at in placed if at != picks.start]
    starts = {at for _, at in placed}
    depth = len(images[0]) if images else len(clean)
    if len(starts) == 1 and len(placed) == len(images) and all(len(image) == depth for image in images):
        at = starts.pop()
        if at + depth <= len(clean) and (at or depth < len(clean)):
            return range(at, at + depth), [f"compared with the reference's slices {at}:{at + depth}, where the "
                                           "images' headers place them"]
    return parse_slices(None, len(clean)), []


def _disagreeing(image: Stack, at: int, picks: range, depth: int) -> str:
    """The note for an ``image`` its header places at slice ``at`` of a ``depth``-slice reference, compared
    with the ``picks`` slices --slices gave."""
    said = (f"{image.path.name}: its header places its first slice at slice {at} of the reference, but it is "
            f"compared with slices {picks.start}:{picks.stop} as --slices says")
    if at + len(image) <= depth:
        return f"{said}; if that is not meant, give --slices {at}:{at + len(image)}"
    return f"{said}, and its {len(image)} slices from there would pass the reference's {depth}"


def compare_job(clean_path, image_paths, slices=None, cancel: CancelToken | None = None
                ) -> Generator[Progress, None, list[CompareRow]]:
    """PSNR (dB), SSIM and MSE of each image against ``clean``, per slice, on [0, 1]; the PSNR's mean and std
    over the slices not equal to the reference's (``CompareRow.identical`` counts those; inf when all are).

    Every stack is scaled to [0, 1] by the CLEAN stack's range and clipped to it (benchmarks.md
    protocol, data range 1): an 8-bit reference's type range (0-255), any other's own minimum and
    maximum over the slices compared (all of them: a range sampled from 16 slices clipped the
    reference's brighter slices and called differing images identical) and up to 16 spread over the whole
    reference, outliers such as a hot pixel left out (:func:`_reference_range`). ``slices`` picks the clean slices that the images' slices
    correspond to (for an image denoised with ``--slices``); by default where the images' headers place
    them (:func:`_slices_compared`), else the depths must match.
    """
    with open_stack(clean_path) as clean:
        images = []
        try:
            for path in image_paths:
                images.append(open_stack(path))
            picks, notes = _slices_compared(clean, images, slices)
            for note in notes:
                yield Message(note)
            for image in images:
                path, shape = image.path, image.shape
                if shape[1:] != clean.shape[1:]:  # no --slices helps (it was advised): a region's result, say
                    raise InputError(f"has slices of {shape[1]} x {shape[2]} px but the clean reference "
                                     f"{Path(clean_path).name} has {clean.shape[1]} x {clean.shape[2]}: compare "
                                     "images of the same size (the result of a region cannot be compared)", path)
                if shape != (len(picks), *clean.shape[1:]):
                    raise InputError(
                        f"has shape {shape} but the clean reference {Path(clean_path).name} "
                        f"(slices {picks.start}:{picks.stop}) has {(len(picks), *clean.shape[1:])}; "
                        "pass --slices START:STOP to compare with part of the reference",
                        path,
                    )
            # an 8-bit reference is scaled by its type's range: no pass over it before the comparison
            by_type = scaled_by_type(clean.dtype)
            lo, hi, outliers = (None, None, False) if by_type else (yield from _reference_range(clean, picks, cancel))
            scale = IntensityScale.for_stack(clean, None if by_type else (lo, hi))
            values = np.zeros((len(images), len(picks), 4))
            spans = np.array([[np.inf, -np.inf]] * (len(images) + 1))  # min, max: the reference, then each image
            for index, z in enumerate(picks):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                ref = np.clip(scale.to_unit(finite_slice(clean, z)), 0, 1)
                spans[0] = min(spans[0, 0], ref.min()), max(spans[0, 1], ref.max())
                for k, image in enumerate(images):
                    unit = scale.to_unit(finite_slice(image, index))
                    spans[k + 1] = min(spans[k + 1, 0], unit.min()), max(spans[k + 1, 1], unit.max())
                    test = np.clip(unit, 0, 1)
                    outside = float(np.count_nonzero(unit != test)) / unit.size
                    values[k, index] = (metrics.psnr(ref, test), metrics.ssim(ref, test), metrics.mse(ref, test),
                                        outside)
                yield Progress("compare", index + 1, len(picks), "slice")
            if not spans[0, 1] > spans[0, 0]:
                raise _constant_reference(float(scale.from_unit(spans[0, :1])[0]), clean.path)
        finally:
            for image in images:
                image.close()
    rows = []
    reference_span = max(float(spans[0, 1] - spans[0, 0]), 1e-12)
    labels = distinct_labels([image.path for image in images])
    for k, (image, v) in enumerate(zip(images, values)):
        stat = [(float(v[:, j].mean()), float(v[:, j].std())) for j in range(3)]
        finite = np.isfinite(v[:, 0])  # a slice equal to the reference's is inf dB: every mean with it was inf
        if finite.any():
            stat[0] = (float(v[finite, 0].mean()), float(v[finite, 0].std()))
        rows.append(CompareRow(labels[k], *stat, slices=len(picks), clipped=float(v[:, 3].mean()),
                               identical=int(np.count_nonzero(~finite)),
                               span=float(spans[k + 1, 1] - spans[k + 1, 0]) / reference_span,
                               scaled=(scale.lo, scale.hi), by_type=by_type, outliers=outliers))
    return rows
