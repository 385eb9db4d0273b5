"""``denoise --adapt`` on the quality benchmark's test stacks: what it denoises with, and what that scores.

``--adapt`` self-trains a model on the stack, then denoises with it, or with the model it started from where
that one leaves less error on the stack's held-back slices by Stein's estimate (``training.held_back``, no clean
reference); a self-trained model that fails its check gives way to the start model where the stack's facts
make that a fit, else to the SURE-tuned Gaussian with the lower estimate. This runs the command as a user would (its default
steps and start model, a fresh zoo) on the FlyEM test slices (95-128 with their neighbours) and the ISBI
ssTEM stack (30 slices) at Poisson dose 25, the quality benchmark's noise stored as uint8
(``benchmarks.quality_data``), for NRRN and N2V, and scores against the clean slices (PSNR in dB, mean over
the scored slices, values on [0, 1]): the command's result, the self-trained model's own result, the start
model's, the SURE-tuned Gaussians and the 3x3 Gaussian. The estimates on the new card are listed beside.

    .venv/bin/python benchmarks/adapt_choice.py [--out-dir DIR]

JSON in benchmarks/results/adapt_choice.json and a section of docs/benchmarks.md (``--out-dir``: JSON there,
docs untouched).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, publish, today  # noqa: E402
from benchmarks.quality_data import CONDITIONS, load_datasets, write_imagej  # noqa: E402
from emdenoise_gui.core.io import open_stack  # noqa: E402
from emdenoise_gui.core.metrics import psnr  # noqa: E402

FAMILIES = ("nrrn", "n2v")
FILTERS = ("gaussian", "gaussian-sure", "gaussian-sure-avg")
CONDITION = "poisson-dose 25"
EMDENOISE = [sys.executable, "-m", "emdenoise_gui"]


def _run(args: list, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "EMDENOISE_HOME": str(home)}
    done = subprocess.run([*EMDENOISE, *map(str, args)], env=env, capture_output=True, text=True)
    if done.returncode not in (0, 3):
        raise RuntimeError(f"emdenoise {' '.join(map(str, args))} failed ({done.returncode}): {done.stderr[-800:]}")
    return done


def _score(path: Path, clean: np.ndarray, scored: list[int]) -> float:
    """Mean PSNR (dB) of the scored slices of the result at ``path`` (8-bit scale) against ``clean`` (uint8)."""
    with open_stack(path) as stack:
        return float(np.mean([psnr(clean[k].astype(np.float32) / 255.0,
                                   np.clip(np.asarray(stack[k], np.float32) / 255.0, 0.0, 1.0)) for k in scored]))


def _chosen(stderr: str) -> str:
    """What the command denoised with, from its note: "self-trained", "start model" or "filter NAME"."""
    found = re.search(r"denoised with the filter ([\w-]+)", stderr)
    if found:
        return f"filter {found.group(1)}"
    if "denoised with the model it started from" in stderr or "is denoised with it (" in stderr:
        return "start model"
    return "self-trained"


def run(out_dir: str | None) -> dict:
    condition = CONDITIONS[CONDITION]
    rows = []
    with tempfile.TemporaryDirectory(prefix="adapt-choice-") as tmp:
        work = Path(tmp)
        for dataset in load_datasets():
            zs = dataset.z_range
            clean = dataset.clean[zs.start:zs.stop]
            scored = [z - zs.start for z in dataset.slices]
            noisy = write_imagej(work / f"{dataset.key}.tif", dataset.noisy(condition), dataset.voxel_nm)
            scores = {"noisy input": _score(noisy, clean, scored)}
            for method in FILTERS:
                out = work / f"{dataset.key}-{method}.tif"
                _run(["denoise", noisy, "-o", out, "--method", method], work / "home-filters")
                scores[method] = _score(out, clean, scored)
            for family in FAMILIES:
                home = work / f"home-{dataset.key}-{family}"
                out = work / f"{dataset.key}-{family}-adapt.tif"
                start = time.perf_counter()
                done = _run(["denoise", noisy, "-o", out, "--adapt", family, "--device", "cpu"], home)
                wall = time.perf_counter() - start
                package = home / "models" / f"{dataset.key}-{family}-adapted"
                card = json.loads((package / "card.json").read_text())
                own = work / f"{dataset.key}-{family}-own.tif"
                _run(["denoise", noisy, "-o", own, "--model", package, "--device", "cpu"], home)
                row = {"dataset": dataset.label, "family": family, "chosen": _chosen(done.stderr),
                       "command": _score(out, clean, scored), "self-trained": _score(own, clean, scored),
                       "wall_s": round(wall, 1), "steps": card["steps"],
                       "start": card["training"].get("init_from", "scratch"),
                       **{k: card["metrics"].get(k) for k in ("val_risk", "init_risk", "filter_risk")},
                       **scores}
                init = card["training"].get("init_from")
                if init:
                    first = work / f"{dataset.key}-{family}-start.tif"
                    _run(["denoise", noisy, "-o", first, "--model", init.split(" (sha256")[0], "--device", "cpu"],
                         home)
                    row["start model"] = _score(first, clean, scored)
                rows.append(row)
                print(json.dumps(row), flush=True)
    payload = {"machine": machine(), "date": today(), "condition": CONDITION, "rows": rows}
    publish("adapt_choice", payload, _markdown(payload), out_dir)
    return payload


def _markdown(payload: dict) -> str:
    def db(value) -> str:
        return "–" if value is None else f"{value:.2f}"

    def est(value) -> str:
        return "–" if value is None else f"{value:.4f}"

    lines = [
        "## `denoise --adapt`: what it denoises with",
        "",
        f"Command: `.venv/bin/python benchmarks/adapt_choice.py` ({payload['date']}, {payload['machine']}). "
        f"Poisson dose 25 ({payload['condition']}, the quality benchmark's noise, stored as uint8); the command "
        "with its defaults (steps, start model) in a fresh zoo; PSNR (dB) against the clean slices, mean over "
        "the scored slices; the estimates are the new card's (Stein's, on held-back slices, z-scored units, "
        "no clean reference). The command denoises with the self-trained model, or its start model where that "
        "one's estimate is lower; a self-trained model estimated 20 % or more above the better SURE-tuned "
        "Gaussian fails its check and gives way to the start model where the stack's facts make that a fit, "
        "else to that Gaussian.",
        "",
        "| data | family | start | chosen | command's result | self-trained | start model | gaussian-sure "
        "| gaussian-sure-avg | 3x3 Gaussian | input | estimates: self-trained / start / filter | wall |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in payload["rows"]:
        start = r["start"].split(" (sha256")[0]
        lines.append(
            f"| {r['dataset']} | {r['family']} | {start} ({r['steps']} steps) | {r['chosen']} | "
            f"**{db(r['command'])}** | {db(r['self-trained'])} | {db(r.get('start model'))} | "
            f"{db(r['gaussian-sure'])} | {db(r['gaussian-sure-avg'])} | {db(r['gaussian'])} | "
            f"{db(r['noisy input'])} | {est(r['val_risk'])} / {est(r['init_risk'])} / {est(r['filter_risk'])} | "
            f"{r['wall_s']:.0f} s |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", help="write the JSON here and leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    run(args.out_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
