"""Where the IQR box starts: on the flattest region of the slice, about 250 nm square.

The IQR box measures noise, which only means something on a flat region (cytoplasm, resin,
a flat organelle interior), not across membranes. When a stack is first shown, :class:`BoxPlacer`
puts the box there, found by ``core.assess.flattest_region`` on a background thread (about
0.2 s on a 4096 x 4096 slice). Once the user moves the box, or a saved view puts it somewhere,
a late search result is dropped: the box stays where they put it.
"""

from __future__ import annotations

import contextlib

import numpy as np
from PySide6 import QtCore

from emdenoise_gui.core.assess import flattest_region
from emdenoise_gui.gui.panels.background import Background

#: Physical side of the box when the pixel size is known.
BOX_NM = 250.0
#: Smallest side in px (fewer pixels give a noisy IQR), and the largest as a fraction of the short side.
MIN_PX, MAX_FRACTION = 24, 0.2
#: Side as a fraction of the short image side when the pixel size is unknown.
UNKNOWN_FRACTION = 0.1


def box_side_px(shape: tuple[int, int], voxel_nm: tuple[float, float, float] | None) -> int:
    """Side in px of the IQR box on a (Y, X) image of ``shape``, voxel size (z, y, x) in nm or None.

    About :data:`BOX_NM` when the pixel size is known (clamped to :data:`MIN_PX` .. 20 % of
    the short side), else a tenth of the short side (at least :data:`MIN_PX`); never more than
    the short side.
    """
    short = int(min(shape))
    if voxel_nm and voxel_nm[2] > 0:
        wanted = BOX_NM / float(voxel_nm[2])
        side = min(max(wanted, MIN_PX), max(MAX_FRACTION * short, MIN_PX))
    else:
        side = max(UNKNOWN_FRACTION * short, MIN_PX)
    return max(1, min(int(round(side)), short))


class BoxPlacer(QtCore.QObject):
    """Puts a box (a ``MirroredRect``) on the flattest region of an image unless the user moved it.

    ``auto`` is True while the box is where this placer (or a reset) put it. ``placed`` is
    emitted with the half-open (y0, x0, y1, x1) px rectangle when a search result was applied.
    """

    placed = QtCore.Signal(object)

    def __init__(self, box, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.box = box
        self.auto = True
        self._quiet = False
        self._token = 0
        self.background = Background(self)
        self.background.done.connect(self._on_done)
        box.changed.connect(self._on_box_changed)

    @contextlib.contextmanager
    def moving(self):
        """Moves of the box inside this block are the program's, not the user's."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def place(self, image: np.ndarray, voxel_nm, centre_now: bool = True) -> None:
        """Put a box of :func:`box_side_px` on the flattest region of ``image`` (Y, X) soon, and
        (``centre_now``) at its centre until then."""
        side = box_side_px(image.shape, voxel_nm)
        if centre_now:
            y0, x0 = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
            with self.moving():
                self.box.set_rect((y0, x0, y0 + side, x0 + side))
        self.auto = True
        self._token += 1
        self.background.submit(self._token, flattest_region, image, side)

    def cancel(self) -> None:
        """Drop a search still running (a saved view is being restored)."""
        self._token += 1

    def _on_box_changed(self) -> None:
        if not self._quiet:
            self.auto = False

    def _on_done(self, token: int, rect) -> None:
        if token != self._token or not self.auto:
            return  # a newer stack, or the user has placed the box themselves
        with self.moving():
            self.box.set_rect(rect)
        self.placed.emit(tuple(int(v) for v in rect))
