"""Stack thumbnails made off the GUI thread: a new stack shows at once, its picture follows.

Reading the middle slice of a large stack (a 4096 x 4096 16-bit slice is 32 MB, seconds from a
network drive) must not freeze the window, so :class:`Thumbnails` reads it on a background pool
(``panels.background.Background``) and hands back a small image; the GUI thread turns that into
a pixmap (``imaging.thumbnail``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore

from emdenoise_gui.gui.panels.background import Background

#: Longest side (px) of the image handed back: twice the 56 px icon, for a smooth downscale.
SIDE = 112


def middle_slice_preview(path: str | Path, side: int = SIDE) -> np.ndarray:
    """The middle slice of the stack at ``path``, subsampled to at most about ``side`` px a side:
    (h, w) float32 grey values. Raises InputError for a file that cannot be read."""
    from emdenoise_gui.core.io import open_stack

    with open_stack(path) as stack:
        image = np.asarray(stack[len(stack) // 2])
    step = max(1, max(image.shape) // side)
    return np.ascontiguousarray(image[::step, ::step], dtype=np.float32)


class Thumbnails(QtCore.QObject):
    """Requests thumbnails by (stack id, path); answers ``ready(stack_id, path, image)`` with a (h, w)
    float32 array, or ``failed(stack_id, path, why)``. A request already running is not repeated."""

    ready = QtCore.Signal(str, str, object)
    failed = QtCore.Signal(str, str, str)

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.background = Background(self)
        self.background.done.connect(lambda key, image: self.ready.emit(key[0], key[1], image))
        self.background.failed.connect(lambda key, why: self.failed.emit(key[0], key[1], why))

    def request(self, stack_id: str, path: str | Path) -> bool:
        """Start making the thumbnail of ``path`` for ``stack_id``; False if it is already being made."""
        return self.background.submit((stack_id, str(path)), middle_slice_preview, str(path))

    def busy(self) -> bool:
        """Whether a thumbnail is being made or waits to be."""
        return bool(self.background.pending)

    def stop(self, timeout_ms: int = 5000) -> bool:
        """Drop the requests not started yet and wait up to ``timeout_ms`` for the running ones."""
        from emdenoise_gui.gui.lifetime import pool_done, wait_drawing

        self.background.pool.clear()
        stopped = wait_drawing(pool_done(self.background.pool), timeout_ms / 1000)
        self.background.pending.clear()  # the dropped ones may be asked for again (a reopened project)
        return stopped
