"""What limits the cyclic model on film: each of G2's outputs, and blends of them, against the filters.

The cyclic generator G2 gives a clean image C_f and the artifact N_f it found. The paper takes C_f, which
G2 draws itself; the input less N_f is the same estimate by a skip from input to output. This scores, for
cyclic packages (default: the shipped ``flyem-cyclic-artifacts`` and, with ``--models``, others), on the
quality benchmark's FlyEM test slices (96-127, every 8th, its seeds and 8-bit storage) under its film and
charge conditions and on the clean slices themselves (what a model does to data without artifacts):

- the model's output (``CyclicGAN.denoise``: C_f for a direct model, the gate's blend for a gated one);
- G2's own clean channel D, the input less the artifact channel (I - N_f), and their even blend;
- the flat-field correction alone (``core.shading.divided``, no smoothing after it) for comparison.

Whole 520 px slices, one tile, float32 on the CPU. PSNR (dB) against the clean slice, printed as a
table; nothing written.

    .venv/bin/python benchmarks/cyclic_output.py [--models PACKAGE ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.quality_data import CONDITIONS, load_datasets  # noqa: E402
from emdenoise_gui.core import metrics, shading  # noqa: E402
from emdenoise_gui.core.normalise import slice_params  # noqa: E402
from emdenoise_gui.models.registry import family  # noqa: E402
from emdenoise_gui.zoo.package import load_weights  # noqa: E402
from emdenoise_gui.zoo.registry import resolve  # noqa: E402

INPUTS = ("film", "charge", "clean")


def load(spec: str):
    """(name, CyclicGAN in eval mode, float32) of a cyclic package (zoo name or path; named by its folder)."""
    package = resolve(spec)
    if package.card.family != "cyclic":
        raise SystemExit(f"{spec}: a {package.card.family} model; this benchmark scores cyclic models")
    model = family("cyclic").build(**package.card.architecture)
    model.load_state_dict({k: v.float() for k, v in load_weights(package).items()})
    return Path(spec).name, model.eval()


def outputs(model, image: np.ndarray) -> dict[str, np.ndarray]:
    """The estimates of one (H, W) float32 slice on [0, 1] (H, W divisible by 4), each (H, W) on [0, 1]."""
    offset, scale = slice_params("robust-slice", image)
    x = torch.from_numpy(((image - offset) / scale)[None, None].astype(np.float32))
    with torch.inference_mode():
        out = model.separate(x)[0].numpy()
        raw = model.g2(x)[0].numpy()
    skip = x[0, 0].numpy() - raw[1]
    rows = {"model output": out[0], "G2's clean channel D": raw[0], "input less artifact (I - N_f)": skip,
            "even blend of the two": (raw[0] + skip) / 2}
    return {name: np.clip(v * scale + offset, 0, 1) for name, v in rows.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["flyem-cyclic-artifacts"])
    args = parser.parse_args(argv)
    data = load_datasets(step=8, with_sstem=False)[0]
    images = {name: data.noisy(CONDITIONS[name]).astype(np.float32) / 255.0 for name in INPUTS[:2]}
    table: dict[str, dict[str, list]] = {}
    for z in data.slices:
        clean = data.reference(z).astype(np.float32)
        for condition in INPUTS:
            image = clean if condition == "clean" else images[condition][z - data.z_range.start]
            table.setdefault("flat-field alone", {}).setdefault(condition, []).append(
                metrics.psnr(clean, np.clip(shading.divided(image), 0, 1)))
    for spec in args.models:
        name, model = load(spec)
        for z in data.slices:
            clean = data.reference(z).astype(np.float32)
            for condition in INPUTS:
                image = clean if condition == "clean" else images[condition][z - data.z_range.start]
                for row, estimate in outputs(model, image).items():
                    scores = table.setdefault(f"{name}: {row}", {}).setdefault(condition, [])
                    scores.append(metrics.psnr(clean, estimate))
    print("| estimate | " + " | ".join(INPUTS) + " |\n|---|" + "---|" * len(INPUTS))
    for row, scores in table.items():
        print(f"| {row} | " + " | ".join(f"{np.mean(scores[c]):.2f}" for c in INPUTS) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
