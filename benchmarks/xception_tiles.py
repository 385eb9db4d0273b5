"""How much the Xception models' tiles must overlap: PSNR and time per overlap against the papers' tiling.

An Xception model sees each tile min-max scaled on its own and, through its dilated ASPP, the whole
tile, so it infers on tiles of its training crop (``FamilyInfo.tile_is_training_crop``) and the
tiles' overlap cannot come from a receptive-field halo. The papers' tiling (stride half the tile,
Gaussian blending) computes every pixel about four times; band tiles overlapping by ``--overlaps`` px
compute fewer. This measures, for each Xception package given, on the quality benchmark's Poisson
doses (its seeds) and FlyEM test slices 96-127 (every 8th) mirrored into SIDE x SIDE images: tiles,
PSNR against the clean slice (mean over the slices, per dose), the mean difference from the papers'
tiling in 8-bit grey levels, and the wall seconds of the whole run per variant (one process, float32
or the app's precision, all torch threads; ``benchmarks/speed.py`` has the controlled timings).

    .venv/bin/python benchmarks/xception_tiles.py [--models PKG ...] [--side 2048] [--out-dir DIR]

JSON in benchmarks/results/xception_tiles.json and a section of docs/benchmarks.md (``--out-dir``:
JSON there, docs untouched).
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
from benchmarks.cyclic_tiles import GREY, denoise, mirrored  # noqa: E402
from benchmarks.quality_data import CONDITIONS, load_datasets, to_uint8  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("benchmarks/runs/flyem-xception-lite", "benchmarks/runs/flyem-xception-base")
OVERLAPS = (60, 32, 16)
DOSES = ("poisson-dose 25", "poisson-dose 50", "poisson-dose 100")
PAPER = "papers' (stride half the tile)"


def plans(predictor, overlaps) -> dict:
    """Variant name -> TilePlan: the papers' tiling first (the reference), then band tiles per overlap."""
    from emdenoise_gui.core.tiling import TilePlan

    tile = predictor.card.training_crop
    found = {PAPER: TilePlan.paper(tile, tile // 2)}
    found.update({f"band, overlap {overlap}": TilePlan.whole_tile(tile, True, overlap) for overlap in overlaps})
    app = predictor.plan()
    found = {(f"{name} (the app's)" if plan == app else name): plan for name, plan in found.items()}
    return found


def measure_model(package: str, side: int, overlaps) -> dict:
    """One package's rows: {"model", "tile", "rows": [{variant, tiles, psnr {dose: dB}, mean_diff_grey, seconds}]}."""
    from emdenoise_gui.core import metrics
    from emdenoise_gui.core.tiling import TileGrid
    from emdenoise_gui.inference.predictor import Predictor
    from emdenoise_gui.zoo.registry import resolve

    predictor = Predictor(resolve(str(ROOT / package) if (ROOT / package).exists() else package), torch.device("cpu"))
    flyem = load_datasets(step=8, with_sstem=False)[0]
    variants = plans(predictor, overlaps)
    acc = {name: {"psnr": {d: [] for d in DOSES}, "diff": [], "seconds": 0.0} for name in variants}
    for dose in DOSES:
        for z in flyem.slices:
            clean = mirrored(flyem.reference(z), side)
            noisy = to_uint8(CONDITIONS[dose].apply(clean, z, flyem.seed_offset)).astype(np.float32) / GREY
            reference = None
            for name, plan in variants.items():
                began = time.perf_counter()
                out = denoise(predictor, noisy, plan)
                acc[name]["seconds"] += time.perf_counter() - began
                reference = out if reference is None else reference
                acc[name]["psnr"][dose].append(metrics.psnr(clean, np.clip(out, 0, 1)))
                acc[name]["diff"].append(float(np.abs(out - reference).mean() * GREY))
    rows = []
    for name, plan in variants.items():
        grid = TileGrid.build(side, side, plan, predictor.tile_multiple)
        rows.append({"variant": name, "tiles": len(grid), "overlap": plan.overlap,
                     "psnr": {d: float(np.mean(v)) for d, v in acc[name]["psnr"].items()},
                     "mean_diff_grey": float(np.mean(acc[name]["diff"])), "seconds": round(acc[name]["seconds"], 2)})
    return {"model": predictor.card.name, "config": predictor.card.config, "tile": predictor.card.training_crop,
            "precision": str(predictor.compute_dtype).replace("torch.", ""), "slices": flyem.slices, "rows": rows}


def markdown(payload: dict, command: str) -> str:
    lines = ["### Q: the Xception models' tile overlap", "",
             f"Command: `{command}`. Machine: {payload['machine']}. Date: {payload['date']}. Wall time "
             f"{payload['wall_s'] / 60:.1f} min. On the CPU ({payload['torch_threads']} torch threads), FlyEM test "
             f"slices {', '.join(map(str, payload['slices']))} mirrored into {payload['side']} px images, the quality "
             "benchmark's Poisson noise (its seeds), stored as uint8; PSNR dB, mean over the slices; the mean "
             "difference from the papers' tiling in 8-bit grey levels over all doses; seconds: the variant's whole "
             "share of this run (every image, every dose).", "",
             "| model | tiling | tiles | " + " | ".join(d.replace("poisson-", "") for d in DOSES)
             + " | mean diff | seconds |",
             "|---|---|---|" + "---|" * len(DOSES) + "---|---|"]
    for model in payload["models"]:
        for row in model["rows"]:
            psnr = " | ".join(f"{row['psnr'][d]:.2f}" for d in DOSES)
            lines.append(f"| {model['model']} ({model['config']}, {model['tile']} px) | {row['variant']} | {row['tiles']} "
                         f"| {psnr} | {row['mean_diff_grey']:.2f} | {row['seconds']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=list(MODELS), help="Xception packages (default: the two runs)")
    p.add_argument("--side", type=int, default=2048, help="image side in px (default 2048)")
    p.add_argument("--overlaps", type=int, nargs="+", default=list(OVERLAPS), help="band overlaps in px")
    p.add_argument("--out-dir", help="write the JSON here instead of benchmarks/results, docs untouched")
    args = p.parse_args(argv)
    started = time.perf_counter()
    models = [measure_model(m, args.side, args.overlaps) for m in args.models]
    payload = {"benchmark": "xception_tiles", "date": today(), "machine": machine(), "side": args.side,
               "torch_threads": torch.get_num_threads(), "slices": models[0]["slices"], "models": models,
               "wall_s": round(time.perf_counter() - started, 1)}
    command = "python benchmarks/xception_tiles.py" + (f" --side {args.side}" if args.side != 2048 else "")
    publish("xception_tiles", payload, markdown(payload, command), args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
