"""Benchmark figures: pyqtgraph windows drawn offscreen and saved as PNG (pyqtgraph is the app's own
plotting library; matplotlib is no dependency)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

#: pyqtgraph options of a figure on white; set only while one is drawn.
FIGURE_OPTIONS = {"antialias": True, "background": "w", "foreground": "k"}


def on_white(draw):
    """Decorator: ``draw`` runs offscreen with :data:`FIGURE_OPTIONS`, pyqtgraph's previous options
    restored after, so the app's own plots drawn later in the same process (the tests) keep theirs."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        import pyqtgraph as pg

        pg.mkQApp()
        before = {key: pg.getConfigOption(key) for key in FIGURE_OPTIONS}
        pg.setConfigOptions(**FIGURE_OPTIONS)
        try:
            return draw(*args, **kwargs)
        finally:
            pg.setConfigOptions(**before)

    return wrapper


def save_window(win, path: Path, width: int) -> Path:
    """Show ``win`` (a pyqtgraph GraphicsLayoutWidget) offscreen, export its scene to ``path`` as a
    ``width`` px wide PNG, close it; returns ``path``."""
    import pyqtgraph as pg
    from pyqtgraph.exporters import ImageExporter

    win.show()
    pg.mkQApp().processEvents()
    path.parent.mkdir(parents=True, exist_ok=True)
    exporter = ImageExporter(win.scene())
    exporter.parameters()["width"] = width
    exporter.export(str(path))
    win.close()
    return path
