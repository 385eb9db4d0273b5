"""A stack as the compare view reads it: placed at an original slice index, one slice cached."""

from __future__ import annotations

import threading
import time

import numpy as np

from emdenoise_gui.core.io.stack import FileChanged

#: A slice read slower than this (s) marks its stack slow: the view's steps read it off the window's thread
#: (``slice_loader``). An uncompressed 4096^2 uint16 slice reads in a few ms, an LZW-compressed one in 0.2-0.4 s.
SLOW_READ_S = 0.05


class Slices:
    """A stack_like placed at original slices ``first .. first+len-1``; caches one slice, and one read ahead
    (:meth:`read_ahead`) beside it. :meth:`get` and :meth:`read_ahead` may be called from two threads (the
    window's, and ``slice_loader``'s): a cached slice is handed out without waiting, a read waits for one under
    way."""

    def __init__(self, stack, first: int = 0):
        self.stack, self.first, self.depth = stack, int(first), len(stack)
        self._cached: tuple[int | None, np.ndarray | None] = (None, None)
        self._ahead: tuple[int | None, np.ndarray | None] = (None, None)  # read_ahead's, not yet shown
        self._lock = threading.Lock()
        self.slow = False  # whether its last read took over SLOW_READ_S

    def covers(self, z: int) -> bool:
        return self.first <= z < self.first + self.depth

    def ready(self, z: int) -> bool:
        """Whether :meth:`get` of ``z`` returns without a slow read: cached or read ahead, not held here, or a
        fast stack."""
        return not self.covers(z) or z in (self._cached[0], self._ahead[0]) or not self.slow

    def get(self, z: int) -> np.ndarray | None:
        """Slice at original index ``z`` as (Y, X), or None where this stack has none."""
        if not self.covers(z):
            return None
        for kept in (self._cached, self._ahead):  # one read of each pair: the other thread may replace it
            if kept[0] == z:
                self._cached = kept
                return kept[1]
        with self._lock:
            if self._cached[0] != z:
                self._cached = (z, self._timed_read(z))
            return self._cached[1]

    def read_ahead(self, z: int) -> None:
        """Read slice ``z`` into the second slot (``slice_loader``'s helper thread): the slice on screen stays
        cached, so a redraw meanwhile (the pixel read-out, a blink, a high-pass arriving) reads nothing."""
        if not self.covers(z) or z in (self._cached[0], self._ahead[0]):
            return
        with self._lock:
            if z not in (self._cached[0], self._ahead[0]):
                self._ahead = (z, self._timed_read(z))

    def _timed_read(self, z: int) -> np.ndarray:
        """:meth:`_read`, noting whether it was slow."""
        start = time.perf_counter()
        data = self._read(z)
        self.slow = time.perf_counter() - start > SLOW_READ_S
        return data

    def _read(self, z: int) -> np.ndarray:
        """Slice ``z`` (original index, covered) read from the stack, (Y, X); the stack opened again when its
        file changed since it was opened."""
        try:
            data = np.asarray(self.stack[z - self.first])
        except FileChanged:  # saved over, or only touched, since it was opened: show it as it is now
            reopen = getattr(self.stack, "reopened", None)
            if reopen is None:
                raise
            self.stack = reopen()
            data = np.asarray(self.stack[z - self.first])
        if data.ndim != 2:
            raise ValueError(f"slice {z} has shape {data.shape}, expected a 2-D image")
        return data


def voxel_size(stack) -> tuple[float, float, float] | None:
    """The (z, y, x) voxel size in nm from ``stack.meta.voxel_size_nm``, or None when unknown."""
    size = getattr(getattr(stack, "meta", None), "voxel_size_nm", None)
    return tuple(float(v) for v in size) if size else None


class RegionOf:
    """A lazy view of ``stack`` cut to ``region`` (y0, y1, x0, x1) px in every slice, with its ``meta``:
    the original beside a result that holds only a region."""

    def __init__(self, stack, region):
        self.stack, self.region = stack, tuple(int(v) for v in region)
        self.meta = getattr(stack, "meta", None)

    def __len__(self) -> int:
        return len(self.stack)

    def __getitem__(self, z: int) -> np.ndarray:
        y0, y1, x0, x1 = self.region
        return np.asarray(self.stack[z])[y0:y1, x0:x1]

    def reopened(self) -> "RegionOf":
        """The same region of the stack's file opened again (:meth:`Stack.reopened`)."""
        return RegionOf(self.stack.reopened(), self.region)


def origin_of(stack) -> tuple[int, int]:
    """(y0, x0) px of the stack's file where a shown ``stack``'s pixel (0, 0) lies (a :class:`Slices` of it
    too): a region's corner, else (0, 0); positions read out on a region's result were the region's own (view
    audit of 2026-12-07)."""
    stack = stack.stack if isinstance(stack, Slices) else stack
    return (stack.region[0], stack.region[2]) if isinstance(stack, RegionOf) else (0, 0)


def same_source(a, b) -> bool:
    """Whether two stacks shown are the same data: one object, or one region of one object (a region's
    original is cut anew each time its result is shown)."""
    if a is b:
        return True
    return isinstance(a, RegionOf) and isinstance(b, RegionOf) and a.stack is b.stack and a.region == b.region


def slice_span(first: int, last: int) -> str:
    """Slices ``first`` to ``last`` (both included, 0-based) in words: "slice 0" or "slices 0–15"."""
    return f"slice {first}" if first == last else f"slices {first}–{last}"


def split_image(original: np.ndarray, result: np.ndarray | None, divider: float) -> np.ndarray:
    """Split mode's one (Y, X) image: ``original`` left of column ``divider`` (px, clamped to the image),
    ``result`` right of it (NaN, shown black, without one); the dtype holds both."""
    column = int(min(max(round(divider), 0), original.shape[1]))
    composed = np.empty(original.shape, np.result_type(original.dtype, np.float32 if result is None else result.dtype))
    composed[:, :column] = original[:, :column]
    composed[:, column:] = np.nan if result is None else result[:, column:]
    return composed


def pixel_words(voxel: tuple[float, float, float] | None) -> str:
    """A pane title's pixel size from the (z, y, x) voxel size in nm: "5 nm/px", anisotropic pixels said as
    such ("x 2 × y 4 nm/px"), or "pixel size unknown"."""
    if not voxel:
        return "pixel size unknown"
    return f"{voxel[2]:.4g} nm/px" if voxel[1] == voxel[2] else f"x {voxel[2]:.4g} × y {voxel[1]:.4g} nm/px"
