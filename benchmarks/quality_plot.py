"""Q benchmark figure: PSNR against Poisson dose (log x) per method, drawn with pyqtgraph offscreen.

matplotlib is not a dependency of the app; pyqtgraph is. ``QT_QPA_PLATFORM=offscreen`` is set
before Qt is imported, so this runs without a display.
"""

from __future__ import annotations

import math
from pathlib import Path

from benchmarks.figures import on_white, save_window
from benchmarks.quality_data import CONDITIONS, DOSE_CONDITIONS
from benchmarks.quality_report import value

# Twelve distinct colours, one per classical filter (thin lines: solid for single-image filters,
# dashed for the 3-slice ones); models get thick solid lines in saturated dark colours.
_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf", "#393b79", "#e7ba52"]
_MODEL_COLOURS = ["#b2182b", "#08306b", "#00692e", "#c51b7d", "#7f3b08", "#542788", "#01665e", "#000000"]
_SYMBOLS = ["o", "s", "t", "d", "+", "x", "star", "p", "h", "t1", "t2", "t3"]


@on_white
def plot_dose(payload: dict, path: Path, dataset: str = "flyem") -> Path | None:
    """Draw PSNR (dB) against dose (counts per pixel at the mean, log axis) for every method with a
    poisson-dose result on ``dataset``; write a PNG to ``path``; None if no dose condition was run."""
    doses = [c for c in DOSE_CONDITIONS if c in payload["conditions_run"]]
    if not doses:
        return None
    import pyqtgraph as pg
    from pyqtgraph.Qt import QtCore

    win = pg.GraphicsLayoutWidget()
    win.resize(1400, 760)
    plot = win.addPlot(row=0, col=0)
    plot.setTitle(f"Q benchmark: PSNR against Poisson dose ({payload['datasets'][dataset]['label']})", size="13pt")
    plot.setLabel("bottom", "Poisson dose (counts per pixel at the image mean, log scale)")
    plot.setLabel("left", "PSNR (dB, against the clean reference)")
    plot.showGrid(x=True, y=True, alpha=0.2)
    font = pg.QtGui.QFont()
    font.setPointSize(11)
    for side in ("bottom", "left"):
        plot.getAxis(side).setTickFont(font)
        plot.getAxis(side).label.setFont(font)
    plot.setLogMode(x=True, y=False)
    xs = [CONDITIONS[c].value for c in doses]
    plot.getAxis("bottom").setTicks([[(math.log10(x), f"{x:g}") for x in xs]])
    # The legend sits in its own column, beside the curves rather than over them.
    holder = win.addViewBox(row=0, col=1, enableMouse=False)
    holder.setFixedWidth(390)
    legend = pg.LegendItem(labelTextSize="10pt", verSpacing=-2)
    legend.setParentItem(holder)
    legend.anchor((0, 0), (0, 0), offset=(4, 24))

    n_filter = n_model = 0
    for key, method in payload["methods"].items():
        ys = [value(payload["results"], dataset, key, c) for c in doses]
        points = [(x, y) for x, y in zip(xs, ys) if y is not None]
        if not points:
            continue
        kind = method["kind"]
        if kind == "input":
            pen, symbol = pg.mkPen("k", width=2, style=QtCore.Qt.PenStyle.DotLine), "o"
        elif kind == "filter":
            style = QtCore.Qt.PenStyle.DashLine if method["stack"] else QtCore.Qt.PenStyle.SolidLine
            pen = pg.mkPen(_COLOURS[n_filter % len(_COLOURS)], width=1.8, style=style)
            symbol, n_filter = _SYMBOLS[n_filter % len(_SYMBOLS)], n_filter + 1
        else:  # models and the peer: thick solid lines
            colour = "#555555" if kind == "peer" else _MODEL_COLOURS[n_model % len(_MODEL_COLOURS)]
            pen = pg.mkPen(colour, width=4.5,
                           style=QtCore.Qt.PenStyle.DashDotLine if kind == "peer" else QtCore.Qt.PenStyle.SolidLine)
            symbol, n_model = ("star" if kind == "peer" else "o"), n_model + (kind != "peer")
        curve = plot.plot([p[0] for p in points], [p[1] for p in points], pen=pen, symbol=symbol,
                          symbolSize=11 if kind in ("model", "peer") else 7, symbolPen=pen.color(),
                          symbolBrush=pen.color())
        legend.addItem(curve, method["label"])
    return save_window(win, path, 1450)
