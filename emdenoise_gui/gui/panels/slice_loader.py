"""The compare view's slice steps read off the window's thread where a stack is slow to read.

A compressed TIFF or a chunked OME-Zarr store decodes a whole slice on every step (an LZW 4096^2 slice: 0.2-0.4 s),
and the slider, the arrow keys and the window froze for as long on each one. Steps the user makes (the slider,
the slice box, the keys) go through :class:`SliceLoader`: where every shown stack has the slice in its cache or
reads fast (``Slices.ready``), the slice is shown at once; else it is read on a helper thread while the view
keeps the slice it shows (saying "reading slice z…"), then shown. Steps made meanwhile leave only the newest
to read next: one read at a time, never a queue. Programmatic moves (a preview's slice, a saved view) keep
``CompareView.set_slice``, which reads at once.
"""

from __future__ import annotations

from emdenoise_gui.gui.panels.background import run_later


def _read(sources: list, z: int) -> None:
    """Worker thread: slice ``z`` of each of ``sources`` (:class:`~.slices.Slices`) read ahead, beside the slice
    on screen."""
    for source in sources:
        source.read_ahead(z)


class SliceLoader:
    """Steps of ``view`` (a ``CompareView``, giving ``_original``, ``_result``, ``set_slice`` and
    ``show_reading``) to a slice, read in the background where it is slow (see the module docstring)."""

    def __init__(self, view):
        self.view = view
        self.wanted: int | None = None  # the slice to show once read
        self._reading: tuple | None = None  # (sources, z) being read now

    def sources(self) -> list:
        return [s for s in (self.view._original, self.view._result) if s is not None]

    def go(self, z: int) -> None:
        """Show slice ``z`` (a step the user made): at once where it is ready, else once read."""
        z = int(min(max(int(z), 0), max(self.view.depth() - 1, 0)))
        if all(source.ready(z) for source in self.sources()):  # a read still under way is not shown then
            self.wanted = None
            self.view.show_reading(None)
            self.view.set_slice(z)
            return
        self.wanted = z
        self.view.show_reading(z)
        self._next()

    def target(self) -> int:
        """The slice the user asked for last: the one being read, else the one shown."""
        return self.view.current_slice() if self.wanted is None else self.wanted

    def forget(self) -> None:
        """Other stacks are shown now: a slice asked for before is not shown when it arrives."""
        self.wanted = None
        self.view.show_reading(None)

    def _next(self) -> None:
        if self._reading is not None or self.wanted is None:
            return
        sources, z = self.sources(), self.wanted
        self._reading = (sources, z)
        run_later(lambda: _read(sources, z), self._arrived)

    def _arrived(self, _result, _error) -> None:
        """GUI thread: the read ended (a failure is read again by ``set_slice``, which says it in the view)."""
        sources, z = self._reading
        self._reading = None
        if self.wanted == z and sources == self.sources():
            self.wanted = None
            self.view.set_slice(z)
        if self.wanted is None:
            self.view.show_reading(None)
        self._next()  # a newer step, or the same slice of stacks shown since
