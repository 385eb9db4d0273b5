"""Slice scrubbing in the compare view: milliseconds from "show slice z" to both panes painted.

The compare view offscreen at 1400 x 900 px (two panes, original beside the result), a stack held in
memory (FlyEM FIB-SEM validation slices tiled to SIDE^2, uint16, so reading costs nothing), the
whole slice in view (the view after opening a stack). Each step shows the next slice and paints both
panes (``repaint``: the paint happens inside the timing); the median over the steps is reported, for
the panes as the app draws them (``gui/panels/screen_image.py``: every k-th pixel when zoomed out) and
drawing the whole slice (the app before 2026-12-06).

    .venv/bin/python benchmarks/scrub.py                 # 2048^2, 4096^2 and 8192^2
    .venv/bin/python benchmarks/scrub.py --sides 2048 --steps 20
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.common import FLYEM_VAL, machine, today  # noqa: E402


def tiled_stack(side: int, depth: int) -> np.ndarray:
    """(depth, side, side) uint16: FlyEM slices tiled, scaled by 257 to the 16-bit range."""
    import tifffile

    slices = tifffile.imread(FLYEM_VAL, key=range(depth))
    reps = -(-side // slices.shape[1]), -(-side // slices.shape[2])
    return (np.tile(slices, (1, *reps))[:, :side, :side].astype(np.uint16) * 257)


def scrub_ms(view, app, depth: int, steps: int) -> float:
    """Median ms per step over ``steps`` slice changes, each painted in both panes."""
    times = []
    for step in range(steps + 2):
        start = time.perf_counter()
        view.set_slice((step + 1) % depth)
        app.processEvents()
        for graphics in view.graphics:
            graphics.viewport().repaint()
        if step >= 2:  # the first two warm caches up
            times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sides", default="2048,4096,8192")
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args(argv)
    from PySide6 import QtWidgets

    from emdenoise_gui.gui.panels.compare_view import CompareView

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    print(f"# scrub benchmark, {today()}, {machine()}")
    print("| slice | image items | ms per step (median) |")
    print("|---|---|---|")
    for side in (int(s) for s in args.sides.split(",")):
        stack = tiled_stack(side, 6)
        view = CompareView()
        view.resize(1400, 900)
        view.show()
        view.set_original(stack, "original")
        view.set_result(stack[::-1].copy(), "result")
        app.processEvents()
        step = view.image_items[0].step
        print(f"| {side}^2 | as the app draws them (every k-th pixel when zoomed out: k = {step}) | "
              f"{scrub_ms(view, app, len(stack), args.steps):.1f} |", flush=True)
        for item in view.image_items:  # the app before 2026-12-06: the whole slice converted at every step
            item.wanted_step = lambda: 1
        print(f"| {side}^2 | the whole slice | {scrub_ms(view, app, len(stack), args.steps):.1f} |", flush=True)
        view.close()
        view.deleteLater()
        app.processEvents()

if __name__ == "__main__":
    main()
