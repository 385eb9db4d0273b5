"""The host side of denoising a slice: what `Predictor.denoise` costs with the network taken out.

On a GPU the network's share of a slice can shrink to milliseconds; on the host path (the naive loop's, and
the CPU's) what stays is the host's work around it (normalisation, cutting tiles, per-tile scaling,
blending, the inverse scaling), which no GPU makes faster; the CUDA fast path does all of it but the
normalisation's statistics on the GPU (``inference.device_tiles``). This measures both on the CPU it runs on: each family's paper-size package (random weights)
denoises one SIZE x SIZE float32 slice with ``Predictor._run`` (the copy to the device, the network and
the copy back) replaced by identity, in "quality: fast" (band tiles) and "quality: paper" (stride 256)
modes, four times each: the first pass pays for touching fresh memory, the best of the other three is a
stack's steady state; and the statistics alone (``Predictor.normaliser``), best of three.

    python benchmarks/host_floor.py [--size 4096] [--families n2v nrrn cyclic xception] [--out-dir DIR]

JSON in benchmarks/results/host_floor.json and a section of docs/benchmarks.md (``--out-dir``: JSON there,
docs untouched), with the GPU run's total s/MP beside it where benchmarks/results/speed-cuda.json has one.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, machine, save_json, today, write_section  # noqa: E402
from benchmarks.speed_parts import random_package  # noqa: E402

MODES = {"fast": None, "paper": 256}  # the stride of each quality mode


def _identity(batch: np.ndarray) -> np.ndarray:
    """(B, [C,] h, w) -> (B, h, w) float32: the last input slice, as the network's stand-in."""
    batch = np.asarray(batch, np.float32)
    return np.ascontiguousarray(batch.reshape(len(batch), -1, *batch.shape[-2:])[:, -1])


def time_pass(predictor, image: np.ndarray, stride: int | None) -> float:
    """Seconds for one whole ``denoise`` of (C, H, W) ``image``."""
    from emdenoise_gui.core.events import run_to_end

    return _seconds(lambda: run_to_end(predictor.denoise(image, 512, stride)))


def _seconds(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def measure(family: str, size: int, scratch: Path) -> list[dict]:
    """One family's rows: for each mode, first and second pass in s per megapixel."""
    from emdenoise_gui.inference.predictor import Predictor

    predictor = Predictor(random_package(scratch, family, "paper"), torch.device("cpu"), 64, "fp32", True)
    predictor.halo  # noqa: B018 - measured once with the real network (cached), not part of the passes
    predictor._run = _identity
    image = np.random.default_rng(0).random((predictor.input_slices, size, size), dtype=np.float32)
    mp = size * size / 1e6
    stats = min(_seconds(predictor.normaliser, image) for _ in range(3)) / mp
    rows = []
    for mode, stride in MODES.items():
        first = time_pass(predictor, image, stride)
        second = min(time_pass(predictor, image, stride) for _ in range(3))
        rows.append({"family": family, "config": "paper", "mode": mode, "tiles": predictor.tile_count(
            (size, size), 512, stride), "first_s_per_mp": round(first / mp, 4),
            "steady_s_per_mp": round(second / mp, 4), "statistics_s_per_mp": round(stats, 4)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def gpu_totals(path: Path = RESULTS / "speed-cuda.json") -> dict:
    """(family, mode) -> the GPU run's fastest total for that tiling (fast-* rows: fast; naive and today:
    paper) as text, s/MP with a leading ``~`` where that row was extrapolated, from speed.py's CUDA JSON;
    empty without one."""
    if not path.exists():
        return {}
    best: dict = {}
    for row in json.loads(path.read_text())["inference"]:
        if "error" in row or row["config"] != "paper":
            continue
        key = (row["family"], "fast" if row["variant"].startswith("fast") else "paper")
        if key not in best or row["s_per_mp"] < best[key]["s_per_mp"]:
            best[key] = row
    return {key: ("~" if row.get("extrapolated") else "") + f"{row['s_per_mp']:.3f}" for key, row in best.items()}


def report(payload: dict) -> None:
    gpu = gpu_totals()
    lines = ["| model | mode | tiles | host, first pass (s/MP) | host, steady (s/MP) | of which statistics (s/MP) | "
             "H200 run, fastest total (s/MP) |", "|---|---|---|---|---|---|---|"]
    for row in payload["rows"]:
        total = gpu.get((row["family"], row["mode"]))
        stats = row.get("statistics_s_per_mp")
        lines.append(f"| {row['family']} {row['config']} | {row['mode']} | {row['tiles']} | "
                     f"{row['first_s_per_mp']:.3f} | {row['steady_s_per_mp']:.3f} | "
                     f"{'-' if stats is None else f'{stats:.3f}'} | {total or '-'} |")
    write_section("host_floor", f"""## S: the host's share of a slice (the host path's floor on a GPU)

Command: `{payload['command']}`. Machine: {payload['machine']}, torch threads {payload['threads']}. Date:
{payload['date']}. One {payload['size']} x {payload['size']} float32 slice through `Predictor.denoise` with the
copy to the device, the network and the copy back replaced by identity: normalisation, tiles, per-tile
scaling (Xception), blending and the inverse scaling are what is left. Four passes in a row; the first
pays for touching fresh memory, steady = the best of the other three. The last column is the fastest total
of the same tiling in the H200 run (benchmarks/results/speed-cuda.json, whose host was a 16-core Xeon), for
scale (`~`: extrapolated from part of the slice; see that section's note on cuDNN's first search).
Statistics: the normalisation's numbers of the window (each slice's mean and standard deviation, or its robust
range), the part of this work that the CUDA fast path (`inference.device_tiles`, since 2026-12-04) still does
on the host; the rest it does on the GPU. The naive and today rows of the speed benchmark keep the host path.

{chr(10).join(lines)}""")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=4096, help="slice side in px (default 4096, as on CUDA)")
    p.add_argument("--families", nargs="*", default=["n2v", "nrrn", "cyclic", "xception"])
    p.add_argument("--out-dir", help="write host_floor.json here; docs untouched")
    args = p.parse_args(argv)
    payload = {"benchmark": "host_floor", "date": today(), "machine": machine(), "threads": torch.get_num_threads(),
               "size": args.size, "command": " ".join(["python benchmarks/host_floor.py", *(argv or sys.argv[1:])]),
               "rows": []}
    with tempfile.TemporaryDirectory() as scratch:
        for family in args.families:
            payload["rows"] += measure(family, args.size, Path(scratch))
    if args.out_dir:
        Path(args.out_dir).mkdir(parents=True, exist_ok=True)
        (Path(args.out_dir) / "host_floor.json").write_text(json.dumps(payload, indent=2) + "\n")
    else:
        save_json("host_floor", payload)
        report(payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
