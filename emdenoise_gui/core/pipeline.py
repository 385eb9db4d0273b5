"""Stream a stack from disk to disk, slice by slice, through a slice function.

Memory stays at a few slices whatever the depth: slices are read lazily
(:mod:`emdenoise_gui.core.io`), processed, and written at once by a
:class:`~emdenoise_gui.core.io.StackWriter`. Jobs are generators that
yield :class:`~emdenoise_gui.core.events.Progress` events and stop at the
next tile when their :class:`~emdenoise_gui.core.events.CancelToken` is set.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Generator, Iterator

import numpy as np

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.events import CancelToken, Progress
from emdenoise_gui.core.io import Stack, StackWriter
from emdenoise_gui.core.prefetch import ReadAhead, WriteBehind

#: Slices sampled to find a stack's intensity range.
RANGE_SAMPLES = 16
#: px of each sampled slice (a regular grid) whose values tell a stack's bulk from a few stray pixels, the
#: percentiles (%) that bound the bulk, and how many times wider than it the full range must be to be set aside
BULK_SAMPLES, BULK_PERCENTILES, BULK_RATIO = 256 * 256, (0.01, 99.99), 1e4
#: Beyond this magnitude the scale's arithmetic runs in float64 (float32 tops out at 3.4e38).
EXTREME = 1e30
#: The farthest a floating-point stack's stray pixel lies from [0, 1] on the working scale (it is clipped
#: there): as far as :func:`bulk_range` lets a range stretch before it calls its ends stray, and finite in
#: float32 arithmetic, squared too (a filter's local variance). A pixel near float32's limit overflowed to
#: inf, and every filter stopped with an internal error (filters audit).
STRAY_LIMIT = BULK_RATIO


def range_picks(depth: int, samples: int = RANGE_SAMPLES) -> np.ndarray:
    """Up to ``samples`` evenly spaced slice indices of a stack of ``depth`` slices, first and last included,
    ascending, each once: the slices an intensity range is read from."""
    return np.unique(np.linspace(0, depth - 1, min(samples, depth)).round().astype(int))


def sampled_range(stack: Stack, samples: int = RANGE_SAMPLES) -> tuple[float, float]:
    """(min, max) of the finite values of up to ``samples`` evenly spaced slices of ``stack``
    (:func:`range_picks`; ``len(stack)``: every slice).

    NaN or infinite pixels are left out (a damaged slice the user does not denoise must not stop
    the others: ``--slices`` was refused for a NaN outside it); the slices denoised are checked
    on their own as they are read. InputError if the sampled slices hold no finite value at all."""
    return sampled_values(stack, samples)[:2]


def sampled_values(stack: Stack, samples: int = RANGE_SAMPLES) -> tuple[float, float, np.ndarray]:
    """(:func:`sampled_range`, the finite values of a grid of about :data:`BULK_SAMPLES` px of each slice
    read, float32)."""
    picks = range_picks(len(stack), samples)
    lo, hi, grids = np.inf, -np.inf, []
    for z in picks:
        data = stack[int(z)]
        step = max(1, int(np.sqrt(data.size / BULK_SAMPLES)))
        grid = np.asarray(data[::step, ::step], np.float32).ravel()
        if data.dtype.kind == "f" and not np.isfinite(data).all():
            data, grid = data[np.isfinite(data)], grid[np.isfinite(grid)]
            if not data.size:
                continue
        lo, hi = min(lo, float(data.min())), max(hi, float(data.max()))
        grids.append(grid)
    if lo > hi:
        raise InputError(f"every pixel of the {len(picks)} slices sampled for the intensity range is NaN or "
                         f"infinite{_non_finite_advice(stack)}",
                         stack.path)
    return lo, hi, np.concatenate(grids)


def bulk_range(lo: float, hi: float, values: np.ndarray) -> tuple[float, float]:
    """(``lo``, ``hi``), a stack's full range, unless the bulk of its ``values`` (their :data:`BULK_PERCENTILES`)
    spans under 1 / :data:`BULK_RATIO` of it: then that bulk, widened by a tenth of its span each way. One stray
    pixel of 1e6 in float data of 0-0.52 put the data in 5e-7 of the working scale, where the networks' floors
    on a scale (1e-6) took every slice for flat: every slice of the result one value, exit 0 (dtype audit)."""
    if values.size == 0 or not hi > lo:
        return lo, hi
    bulk_lo, bulk_hi = (float(v) for v in np.percentile(values, BULK_PERCENTILES))
    span = bulk_hi - bulk_lo
    if not span > 0 or (hi - lo) < BULK_RATIO * span:
        return lo, hi
    return max(lo, bulk_lo - span / 10), min(hi, bulk_hi + span / 10)


def _non_finite_advice(stack: Stack) -> str:
    """What to do about NaN or infinite pixels, after the words saying there are some; for a stack of a wider
    float type read as float32, that its values beyond float32's range read as infinite: float64 data around
    1e300, which holds neither, was told to remove NaNs (convert audit)."""
    stored = stack.meta.extra.get("stored_dtype", "")
    if stored.startswith("float") and np.dtype(stored).itemsize > 4:  # not float16 (review)
        return (f" as float32 ({stored} values beyond ±3.4e38 are infinite in float32): rescale the data into "
                "float32's range, or replace its NaN, first")
    return "; replace them first (Fiji: Process > Math > Remove NaNs)"


def scaled_by_type(dtype: np.dtype) -> bool:
    """Whether a stack of ``dtype`` is scaled by its type's range (8-bit: the papers' convention), not by
    its own minimum and maximum (:class:`IntensityScale`)."""
    return dtype.itemsize == 1 and dtype.kind in "ui"


@dataclass(frozen=True)
class IntensityScale:
    """Maps stored intensities to the [0, 1] working scale: ``unit = (value - lo) / (hi - lo)``.

    8-bit stacks use the full type range (0-255, the papers' convention, so a
    Gaussian sigma "on the 8-bit scale" means what it says); other stacks use
    the minimum and maximum of up to 16 evenly spaced slices, or the bulk of their values where a few stray
    pixels stretch that range over 10,000 times (:func:`bulk_range`; the strays then lie outside [0, 1]).
    """

    lo: float
    hi: float

    @classmethod
    def for_stack(cls, stack: Stack, sampled: tuple[float, float] | None = None) -> "IntensityScale":
        """The scale of ``stack``; ``sampled``: the (lo, hi) to take instead of sampling it (a job passes the
        :func:`bulk_range` of the :func:`sampled_values` it has read already, which is what it would compute)."""
        dtype = stack.dtype
        if scaled_by_type(dtype):
            info = np.iinfo(dtype)
            return cls(float(info.min), float(info.max))
        lo, hi = sampled or bulk_range(*sampled_values(stack))
        return cls(lo, hi if hi > lo else lo + 1.0)

    @property
    def extreme(self) -> bool:
        """Whether the range is too wide for float32 arithmetic (values near +-3.4e38: the span overflows)."""
        return max(abs(self.lo), abs(self.hi)) > EXTREME

    def to_unit(self, data: np.ndarray, strays: bool = False) -> np.ndarray:
        """Stored values -> float32 on the [0, 1] working scale, not clipped but for floating-point values beyond
        :data:`STRAY_LIMIT` of it (``strays``: those too, where nothing is computed from them but themselves);
        float64 arithmetic for an extreme range."""
        if self.extreme:
            return ((data.astype(np.float64) - self.lo) / (self.hi - self.lo)).astype(np.float32)
        unit = ((data.astype(np.float32) - self.lo) / (self.hi - self.lo)).astype(np.float32)
        if data.dtype.kind == "f" and not strays:
            np.clip(unit, -STRAY_LIMIT, STRAY_LIMIT, out=unit)
        return unit

    def from_unit(self, data: np.ndarray, owned: bool = False) -> np.ndarray:
        """Working-scale values -> float32 on the stored scale (clipped to float32's range for an extreme
        range, where float64 arithmetic is used). ``owned``: ``data`` is the caller's to give up (a job's
        fresh result), scaled in place when it is float32 (a slice-sized copy less at the peak)."""
        if self.extreme:
            limit = float(np.finfo(np.float32).max)
            return np.clip(data.astype(np.float64) * (self.hi - self.lo) + self.lo, -limit, limit).astype(np.float32)
        out = data.astype(np.float32, copy=not owned)  # unless owned, a copy: the caller's array is left alone
        out *= np.float32(self.hi - self.lo)
        out += np.float32(self.lo)
        return out


def finite_slice(stack: Stack, z: int) -> np.ndarray:
    """Slice ``z`` of ``stack``; InputError if it holds NaN or infinite pixels."""
    data = stack[z]
    if data.dtype.kind == "f":
        bad = int(np.count_nonzero(~np.isfinite(data)))
        if bad:
            raise InputError(
                f"slice {z} has {bad:,} NaN or infinite pixels{_non_finite_advice(stack)}",
                stack.path,
            )
    return data


class SliceCache:
    """The last few slices read from a stack, so neighbour windows read each slice once.

    After :meth:`read_ahead` the slices come from a background reader (``core.prefetch``)
    that reads them in the order the windows will need them; :meth:`close` stops it.
    """

    def __init__(self, stack: Stack, size: int = 4):
        self.stack, self.size, self._cache = stack, size, OrderedDict()
        self._ahead: ReadAhead | None = None

    def _misses(self, picks_per_window) -> list[int]:
        """The slices this cache reads, in order, for windows of the given slice indices."""
        held, order = OrderedDict(), []
        for picks in picks_per_window:
            for z in picks:
                if z not in held:
                    order.append(z)
                    held[z] = None
                    while len(held) > self.size:
                        held.popitem(last=False)
        return order

    def read_ahead(self, slices: range, count: int, depth: int = 1) -> "SliceCache":
        """Read the slices that ``window(z, count)`` for z in ``slices`` will need on a background
        thread, ``depth`` slices ahead; windows must then be asked for in that order."""
        order = self._misses(self._neighbours(z, count) for z in slices)
        self._ahead = ReadAhead(lambda z: finite_slice(self.stack, z), order, depth)
        return self

    def _neighbours(self, z: int, count: int) -> list[int]:
        """:func:`neighbour_indices` of this stack, inside the volume of a volume stack (``extra["volume_depth"]``)."""
        meta = getattr(self.stack, "meta", None)
        return neighbour_indices(z, len(self.stack), count, meta.extra.get("volume_depth") if meta else None)

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead.close()

    def __getitem__(self, z: int) -> np.ndarray:
        if z not in self._cache:
            self._cache[z] = self._ahead.next(z) if self._ahead is not None else finite_slice(self.stack, z)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return self._cache[z]

    def window(self, z: int, count: int, scale: "IntensityScale") -> np.ndarray:
        """(count, Y, X) float32 on the working scale: slice ``z`` and its neighbours (see
        :func:`neighbour_indices`), as filters and models take them; read-only for a single-slice stack (its
        one slice repeated without copies)."""
        picks = self._neighbours(z, count)
        if count > 1 and len(set(picks)) == 1:  # a single image: one slice, seen ``count`` times (read-only), not
            return np.broadcast_to(scale.to_unit(self[z]), (count, *self.stack.shape[1:]))  # count float32 copies
        slices = []
        for k in picks:
            try:
                slices.append(scale.to_unit(self[k]))
            except InputError as exc:
                if k == z:
                    raise
                raise InputError(f"{exc.problem} (read as a neighbour of slice {z}: this filter or model uses the "
                                 "slices beside each one)", exc.path) from None
        return np.stack(slices)


def neighbour_indices(z: int, depth: int, count: int, volume: int | None = None) -> list[int]:
    """Indices of ``count`` (odd) slices centred on ``z``, reflected at the stack's ends, or at the ends of
    its volume for a stack of ``depth`` slices holding volumes of ``volume`` slices each (an MRC volume stack).

    ``neighbour_indices(0, 10, 3) == [1, 0, 1]``; a single-slice stack repeats slice 0;
    ``neighbour_indices(5, 10, 3, volume=5) == [6, 5, 6]``.
    """
    if volume and 0 < volume < depth:
        first = z // volume * volume
        return [first + k for k in neighbour_indices(z - first, min(volume, depth - first), count)]
    half = count // 2
    out = []
    for k in range(z - half, z + half + 1):
        if depth == 1:
            k = 0
        while not 0 <= k < depth:
            k = -k if k < 0 else 2 * (depth - 1) - k
        out.append(k)
    return out


def parse_slices(spec: str | None, depth: int) -> range:
    """A ``start:stop`` (Python-style, either end optional) or single-index spec -> range.

    InputError for malformed or empty selections, and for a STOP past the stack's end (the run would
    have fewer slices than asked for, and a microscopist might not notice).
    """
    if spec is None:
        return range(depth)
    if not spec.strip():  # an unset shell variable ("$RANGE"): not "every slice" without a word (CLI audit)
        raise InputError("--slices is empty: give START:STOP (e.g. 0:10), or leave --slices out for every slice")
    try:
        if ":" in spec:
            start, stop = (int(p) if p.strip() else None for p in spec.split(":", 1))
            selected = range(depth)[slice(start, stop)]
            if start is not None and start < -depth:  # Python would quietly start at 0
                raise InputError(f"--slices '{spec}' starts before the stack's first slice ({depth} slices, "
                                 f"0..{depth - 1}; -{depth} counts from the end to the first)")
            if stop is not None and stop > depth and len(selected):
                raise InputError(f"--slices '{spec}' reaches past the stack's last slice ({depth} slices, "
                                 f"0..{depth - 1}); give {selected.start}:{depth}, or {selected.start}: for the rest")
        else:
            index = int(spec)
            selected = range(index % depth, index % depth + 1) if -depth <= index < depth else range(0)
    except ValueError:
        raise InputError(f"--slices '{spec}' is not of the form START:STOP (e.g. 0:10)") from None
    if len(selected) == 0:
        raise InputError(f"--slices '{spec}' selects no slice of a stack with {depth} slices (0..{depth - 1})")
    return selected


#: ``job(z)``: a generator of (units done, units per slice) tuples (or events to pass on, e.g. a
#: ``core.events.Stage``) that returns the (Y, X) result of slice z.
SliceJob = Callable[[int], Generator[object, None, np.ndarray]]


def stream_stack(
    slices: range,
    job: SliceJob,
    writer: StackWriter,
    stage: str = "denoise",
    cancel: CancelToken | None = None,
) -> Iterator[object]:
    """Run ``job(z)`` for every z in ``slices``, writing its result as slice ``z - slices.start``.

    ``job(z)`` is a generator yielding (units done, units per slice) and returning
    the (Y, X) result; anything else it yields (a ``Stage``) is passed on as it is. Yields
    :class:`Progress` in units (tiles) over the whole job. Results are written on a background
    thread (``core.prefetch.WriteBehind``) while the next slice is computed; all are written
    when the last event comes. The caller commits the writer after that.
    """
    total = None
    behind = WriteBehind(writer.write)
    try:
        for index, z in enumerate(slices):
            if cancel is not None:
                cancel.raise_if_cancelled()
            gen = job(z)
            while True:
                try:
                    item = next(gen)
                except StopIteration as stop:
                    result = stop.value
                    break
                if not isinstance(item, tuple):
                    yield item
                    continue
                done, per_slice = item
                total = per_slice * len(slices)
                yield Progress(stage, index * per_slice + done, total, "tile")
            behind.put(index, result)
        behind.finish()
    except BaseException:
        behind.abort()
        raise
    yield Progress(stage, total or len(slices), total or len(slices), "tile")
