"""How big the cyclic model's tiles must be: tile side and overlap against the whole slice's result.

The cyclic generator normalises every feature map by its own mean and spread over the tile (instance
norm), so its output depends on the whole tile it is given. This measures, for the shipped
``flyem-cyclic-artifacts`` model in the app's precision, what the tiling costs on the conditions it is
for (the quality benchmark's charge and film, with its seeds): FlyEM test slices 96-127 (every 8th),
each mirrored into a SIDE x SIDE image (the slices are 520 px; EM slices are often 2-4k), denoised
whole (one tile) and with band tiles of each (tile, overlap) variant. Per variant: tiles, megapixels
the network computes per finished megapixel, PSNR against the clean slice (mean and sd), and the mean
and largest difference from the whole-slice result in 8-bit grey levels. Timings are left to
``benchmarks/speed.py``.

    .venv/bin/python benchmarks/cyclic_tiles.py [--side 2048] [--out-dir DIR]

JSON in benchmarks/results/cyclic_tiles.json and a section of docs/benchmarks.md (``--out-dir``: JSON
there, docs untouched).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, publish, today  # noqa: E402
from benchmarks.quality_data import CONDITIONS, load_datasets, to_uint8  # noqa: E402

MODEL = "flyem-cyclic-artifacts"
#: (tile, overlap) px: the app's tiling before 2026-12-04 (512, a quarter), then larger tiles and overlaps
VARIANTS = ((512, 128), (768, 128), (1024, 64), (1024, 128), (1024, 256))
GREY = 255.0
#: The row of the app's own tiling: tiles of at least 1024 px (FamilyInfo.min_tile) overlapping by 128.
APP = "at least 1024 px, overlap 128 (the app's)"


def mirrored(image: np.ndarray, side: int) -> np.ndarray:
    """(H, W) -> (side, side): the image and its mirror images tiled, so no seam is made up."""
    row = np.concatenate([image, image[:, ::-1]] * (side // (2 * image.shape[1]) + 1), axis=1)
    return np.concatenate([row, row[::-1]] * (side // (2 * image.shape[0]) + 1), axis=0)[:side, :side]


def denoise(predictor, noisy: np.ndarray, plan) -> np.ndarray:
    """(H, W) float32 on [0, 1] -> the model's (H, W) result with tiling ``plan`` (a TilePlan)."""
    from emdenoise_gui.core.events import run_to_end

    predictor.plan = lambda tile=0, stride=None: plan  # the tiling under test, whatever the family asks
    return run_to_end(predictor.denoise(noisy[None], plan.tile))


def measure(side: int) -> dict:
    from dataclasses import replace

    from emdenoise_gui.core import metrics
    from emdenoise_gui.core.tiling import TileGrid, TilePlan
    from emdenoise_gui.inference.predictor import Predictor
    from emdenoise_gui.zoo.registry import resolve

    predictor = Predictor(resolve(MODEL), torch.device("cpu"))
    flyem = load_datasets(step=8, with_sstem=False)[0]
    plans = {"whole": TilePlan.whole_tile(side + 16, overlap=0)}
    # each row's tiles at most its side (the plan's default is at least: the side the row names is the probe)
    plans.update({f"{tile} px, overlap {overlap}": replace(TilePlan.whole_tile(tile, overlap=overlap), at_least=False)
                  for tile, overlap in VARIANTS})
    plans[APP] = TilePlan.whole_tile(1024, overlap=128)  # what the predictor plans for the cyclic family
    rows = {name: {"psnr": [], "mean_diff": [], "max_diff": []} for name in plans}
    for cond_name in ("charge", "film"):
        condition = CONDITIONS[cond_name]
        for z in flyem.slices:
            clean = mirrored(flyem.reference(z), side)
            noisy = to_uint8(condition.apply(clean, z, flyem.seed_offset)).astype(np.float32) / GREY
            whole = None
            for name, plan in plans.items():
                out = denoise(predictor, noisy, plan)
                whole = out if whole is None else whole
                row = rows[name]
                row["psnr"].append((cond_name, metrics.psnr(clean, np.clip(out, 0, 1))))
                row["mean_diff"].append(float(np.abs(out - whole).mean() * GREY))
                row["max_diff"].append(float(np.abs(out - whole).max() * GREY))
    table = []
    for name, plan in plans.items():
        grid = TileGrid.build(side, side, plan, predictor.tile_multiple)
        computed = len(grid) * grid.tile[0] * grid.tile[1] / side ** 2
        row = rows[name]
        entry = {"variant": name, "tiles": len(grid), "tile_px": list(grid.tile), "computed_per_finished": computed,
                 "mean_diff_grey": float(np.mean(row["mean_diff"])), "max_diff_grey": float(np.max(row["max_diff"]))}
        for cond_name in ("charge", "film"):
            values = [v for c, v in row["psnr"] if c == cond_name]
            entry[cond_name] = [float(np.mean(values)), float(np.std(values))]
        table.append(entry)
    return {"benchmark": "cyclic_tiles", "date": today(), "machine": machine(), "model": MODEL, "side": side,
            "slices": flyem.slices, "precision": str(predictor.compute_dtype).replace("torch.", ""),
            "torch_threads": torch.get_num_threads(), "rows": table}


def markdown(payload: dict, command: str, seconds: float) -> str:
    lines = ["### Q: the cyclic model's tiles (tile side and overlap)", "",
             f"Command: `{command}`. Machine: {payload['machine']}. Date: {payload['date']}. Wall time "
             f"{seconds / 60:.1f} min. `{payload['model']}` in {payload['precision']} on the CPU, FlyEM test slices "
             f"{', '.join(map(str, payload['slices']))} mirrored into {payload['side']} px images, the quality "
             "benchmark's charge and film noise (its seeds); PSNR dB mean ± sd over the slices; the difference "
             "from the whole-image result in 8-bit grey levels, over both conditions. In the rows named by a side, "
             "band tiles shrink to just cover the image, so a 1024 px tile may run smaller; the app's tiles "
             "(since 2026-12-05) are at least that side, as few as cover the image.", "",
             "| tiling | tiles | tile px | computed / finished px | charge | film | mean diff | max diff |",
             "|---|---|---|---|---|---|---|---|"]
    for row in payload["rows"]:
        lines.append(f"| {row['variant']} | {row['tiles']} | {row['tile_px'][0]} | {row['computed_per_finished']:.2f} | "
                     f"{row['charge'][0]:.2f} ± {row['charge'][1]:.2f} | {row['film'][0]:.2f} ± {row['film'][1]:.2f} | "
                     f"{row['mean_diff_grey']:.2f} | {row['max_diff_grey']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--side", type=int, default=2048, help="image side in px (default 2048)")
    p.add_argument("--out-dir", help="write the JSON here instead of benchmarks/results, docs untouched")
    args = p.parse_args(argv)
    started = time.perf_counter()
    payload = measure(args.side)
    seconds = time.perf_counter() - started
    command = "python benchmarks/cyclic_tiles.py" + (f" --side {args.side}" if args.side != 2048 else "")
    payload["wall_s"] = round(seconds, 1)
    publish("cyclic_tiles", payload, markdown(payload, command, seconds), args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
