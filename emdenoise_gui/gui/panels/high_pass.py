"""High-pass images for the compare view, computed off the GUI thread and kept per slice.

A 4096 x 4096 slice takes about a second to high-pass (``core.metrics.high_pass``); the view
asks :class:`HighPassCache` for it, shows the plain slice while it is computed and redraws on
``ready``. A result that arrives for a slice (or stack) no longer asked for is dropped.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6 import QtCore

from emdenoise_gui.core import metrics
from emdenoise_gui.gui.panels.background import Background

#: Gaussian sigma (px) of the low-pass the high-pass removes.
SIGMA_PX = 5.0
#: High-passed slices kept (original and result together): 6 x 64 MB for 4096^2 float32.
KEEP = 6


def within(image: np.ndarray, around: np.ndarray | None = None) -> np.ndarray:
    """``core.metrics.high_pass`` of (Y, X) ``image``; its NaN pixels (a region's preview: NaN outside the region)
    taken from ``around`` (the original's slice, same shape) for the low-pass, then NaN again: the low-pass took
    the slice's median there, and a preview equal to the original inside the region showed a frame along its
    edge, 8 grey levels on average (view audit of 2026-12-07)."""
    if around is None or around.shape != image.shape or image.dtype.kind != "f":
        return metrics.high_pass(image, SIGMA_PX)
    missing = np.isnan(image)
    if not missing.any():
        return metrics.high_pass(image, SIGMA_PX)
    passed = metrics.high_pass(np.where(missing, around, image), SIGMA_PX)
    passed[missing] = np.nan
    return passed


class HighPassCache(QtCore.QObject):
    """High-passed (Y, X) float32 slices of the original and the result, by slice index.

    ``get`` returns the cached image or None while it is being computed; ``ready`` is emitted
    when one the view last asked for arrives. ``new_source(which)`` forgets a stack's images
    (a new original or result was set), so a late result for the old stack is dropped too.
    """

    ready = QtCore.Signal()

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.background = Background(self)
        self.background.done.connect(self._on_done)
        self.background.failed.connect(self._on_failed)
        self._images: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._source = {"original": 0, "result": 0}
        self._wanted: dict[str, tuple | None] = {"original": None, "result": None}
        self._failed: dict[tuple, str] = {}  # key -> why, so a failing slice is not retried in a loop
        # one high-pass per image computed at a time, and only the last one asked for waiting: stepping
        # through 8 slices of 4000^2 px queued all 16 and showed the last slice's 20 s later
        self._running: dict[str, tuple | None] = {"original": None, "result": None}
        self._next: dict[str, tuple | None] = {"original": None, "result": None}  # (key, raw)

    def new_source(self, which: str) -> None:
        """``"original"`` or ``"result"`` now shows another stack: forget its images."""
        self._source[which] += 1
        self._wanted[which] = self._next[which] = None
        self._failed.clear()
        for key in [k for k in self._images if k[0] == which]:
            del self._images[key]

    def get(self, which: str, z: int, raw: np.ndarray | None, around: np.ndarray | None = None) -> np.ndarray | None:
        """High-pass of ``raw`` (slice ``z`` of ``which``), or None while it is computed (or ``raw`` is None);
        ``around``: the original's slice, whose pixels stand in for a result's NaN (:func:`within`)."""
        if raw is None:
            self._wanted[which] = None
            return None
        key = (which, self._source[which], int(z))
        self._wanted[which] = key
        if key in self._images:
            self._images.move_to_end(key)
            return self._images[key]
        if key not in self._failed:
            self._submit(key, (raw, around))
        return None

    def _submit(self, key: tuple, raw: tuple) -> None:
        which = key[0]
        if self._running[which] is None:
            self._running[which] = key
            self.background.submit(key, within, *raw)
        elif self._running[which] != key:
            self._next[which] = (key, raw)  # replaces an older one still waiting

    def _finished(self, key: tuple) -> None:
        """``key``'s computation ended: start the one waiting for its image, if it is still wanted."""
        which = key[0]
        if self._running[which] == key:
            self._running[which] = None
        waiting, self._next[which] = self._next[which], None
        if waiting and waiting[0] == self._wanted[which] and waiting[0] not in self._images:
            self._submit(*waiting)

    def pending(self) -> bool:
        """Whether a high-pass the view asked for last is still being computed or waits to be."""
        waiting = {queued[0] for queued in self._next.values() if queued}
        return any(key in self.background.pending or key in waiting for key in self._wanted.values() if key)

    def error(self) -> str:
        """Why a high-pass the view asked for last failed ("" if none did)."""
        return next((self._failed[key] for key in self._wanted.values() if key in self._failed), "")

    def _on_done(self, key: tuple, image: np.ndarray) -> None:
        self._finished(key)
        if self._wanted[key[0]] != key:
            return  # the slice or stack changed meanwhile
        self._images[key] = image
        while len(self._images) > KEEP:
            self._images.popitem(last=False)
        self.ready.emit()

    def _on_failed(self, key: tuple, message: str) -> None:
        self._finished(key)
        self._failed[key] = message
        if self._wanted[key[0]] == key:
            self.ready.emit()
