"""Single images: what each shipped model and the classical filters give on one noisy slice, no stack.

A microscopist with one micrograph has no neighbouring slices. The app then feeds an NRRN model the
image as its own neighbours (``core.pipeline.neighbour_indices`` of a one-slice stack) and grades
the fit "possible" (``zoo.fit.slices_fit``); the cyclic model reads one slice anyway. This scores,
with the quality benchmark's noise and seeds (``benchmarks.quality_data``), each test slice of the
FlyEM and ISBI ssTEM sets (every 8th) denoised alone: the noisy input, the single-image filters
(3x3 Gaussian, 3x3 median, wavelet, BM3D) and every shipped model through the app's predictor
("quality: fast" tiling, the app's precision), and names the model ``--model auto`` picks for such
an image (``zoo.fit.pick`` on the facts of the first noisy slice, saved as a one-slice stack with
the dataset's pixel size). PSNR in dB against the clean slice, mean over the slices.

    .venv/bin/python benchmarks/single_image.py [--step 8] [--out-dir DIR]

JSON in benchmarks/results/single_image.json and a section of docs/benchmarks.md (``--out-dir``:
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
from benchmarks.quality_data import CONDITIONS, load_datasets, to_uint8  # noqa: E402

FILTERS = ("gaussian", "gaussian-sure", "median", "wavelet", "bm3d")
SCORED = ("poisson-dose 25", "poisson-dose 100", "poisson-dose 300", "gaussian 25")


def _alone(predictor, noisy: np.ndarray) -> np.ndarray:
    """(H, W) float32 on [0, 1] -> the model's (H, W) result for a one-slice stack of it."""
    from emdenoise_gui.core.events import run_to_end
    from emdenoise_gui.core.pipeline import neighbour_indices

    window = noisy[None][neighbour_indices(0, 1, predictor.input_slices)]
    return run_to_end(predictor.denoise(np.ascontiguousarray(window), 512)).reshape(noisy.shape)


def _auto_pick(entries, noisy: np.ndarray, voxel_nm) -> str:
    """The name of the model ``--model auto`` picks for the one-slice stack ``noisy``, or of the filter it
    falls back to (``zoo.fit.fallback_filter``) when every model fits poorly or is left to the user
    (``zoo.fit.not_picked``)."""
    from emdenoise_gui.zoo import fit

    facts = fit.measure_facts(to_uint8(noisy)[None], voxel_nm, "single.tif")
    entry, verdict = fit.pick(entries, facts)
    why = "no model fits" if verdict is None or verdict.grade == "poor" else "models left to the user"
    return entry.name if entry is not None else f"{fit.fallback_filter(facts)} ({why})"


def measure(step: int) -> dict:
    from emdenoise_gui.core import baselines, metrics
    from emdenoise_gui.inference.predictor import Predictor
    from emdenoise_gui.zoo.registry import list_entries

    entries = [e for e in list_entries() if e.shipped and e.package is not None]
    predictors = {e.name: Predictor(e.package, torch.device("cpu")) for e in entries}
    sets = []
    for dataset in load_datasets(step=step):
        scores: dict[str, dict[str, list[float]]] = {}
        picks = {}
        for name in SCORED:
            for z in dataset.slices:
                clean = dataset.reference(z)
                noisy = to_uint8(CONDITIONS[name].apply(clean, z, dataset.seed_offset)).astype(np.float32) / 255.0
                if z == dataset.slices[0]:
                    picks[name] = _auto_pick(entries, noisy, dataset.voxel_nm)
                outputs = {"input": noisy, **{f: baselines.apply_filter(f, noisy) for f in FILTERS},
                           **{m: _alone(p, noisy) for m, p in predictors.items()}}
                for method, out in outputs.items():
                    psnr = metrics.psnr(clean, np.clip(out, 0.0, 1.0))
                    scores.setdefault(method, {}).setdefault(name, []).append(psnr)
        sets.append({"dataset": dataset.key, "title": dataset.label, "slices": dataset.slices,
                     "voxel_nm": list(dataset.voxel_nm), "auto_pick": picks,
                     "psnr": {m: {c: float(np.mean(v)) for c, v in by.items()} for m, by in scores.items()}})
    return {"benchmark": "single_image", "date": today(), "machine": machine(), "torch_threads": torch.get_num_threads(),
            "models": {m: str(p.compute_dtype).replace("torch.", "") for m, p in predictors.items()}, "datasets": sets}


def markdown(payload: dict, command: str) -> str:
    lines = ["### Q: single images (no neighbouring slices)", "",
             f"Command: `{command}`. Machine: {payload['machine']}. Date: {payload['date']}. Wall time "
             f"{payload['wall_s'] / 60:.1f} min. Each test slice denoised alone, stored as uint8 with the quality "
             "benchmark's noise; shipped models through the app's predictor on the CPU "
             f"({', '.join(f'{m} {d}' for m, d in payload['models'].items())}), an NRRN model fed the image as its own "
             "neighbours; PSNR dB, mean over the slices; **bold**: the best row; auto: what `--model auto` picks "
             "for such an image."]
    for data in payload["datasets"]:
        conditions = list(next(iter(data["psnr"].values())))
        best = {c: max(v[c] for m, v in data["psnr"].items() if m != "input") for c in conditions}
        lines += ["", f"{data['title']}, slices {', '.join(map(str, data['slices']))}:", "",
                  "| method | " + " | ".join(conditions) + " |", "|---|" + "---|" * len(conditions)]
        for method, values in data["psnr"].items():
            cells = [f"**{values[c]:.2f}**" if values[c] == best[c] else f"{values[c]:.2f}" for c in conditions]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("| auto picks | " + " | ".join(data["auto_pick"][c] for c in conditions) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--step", type=int, default=8, help="score every STEP-th test slice (default 8)")
    p.add_argument("--out-dir", help="write the JSON here instead of benchmarks/results, docs untouched")
    args = p.parse_args(argv)
    started = time.perf_counter()
    payload = measure(args.step)
    payload["wall_s"] = round(time.perf_counter() - started, 1)
    command = "python benchmarks/single_image.py" + (f" --step {args.step}" if args.step != 8 else "")
    publish("single_image", payload, markdown(payload, command), args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
