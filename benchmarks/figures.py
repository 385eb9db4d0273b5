"""Benchmark figures: pyqtgraph windows drawn offscreen and saved as PNG (pyqtgraph is the app's own
plotting library; matplotlib is no dependency)."""

from __future__ import annotations

from pathlib import Path


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
