"""Probes behind docs/benchmarks.md "Q: the flat-field filters": what the app's shading correction
(``core.shading``) gives before a network, and on shading with shot noise, on the quality benchmark's
FlyEM test slices (every 8th, as the table). PSNR dB, printed; nothing written.

    .venv/bin/python benchmarks/shading_probes.py            # both probes (about 3 min on 2 cores)
    .venv/bin/python benchmarks/shading_probes.py --only film-charge

- ``film-charge``: the benchmark's film and charge conditions; the flat-field correction (divided for
  film, subtracted for charge) of each of the three slices, then NRRN base, beside the filters.
- ``with-noise``: the film pattern and then Poisson noise at doses 25 and 100, stored as 8-bit (not a
  benchmark condition); the filters, NRRN base with and without the correction first, the cyclic model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.quality_data import CONDITIONS, load_datasets, to_uint8  # noqa: E402
from emdenoise_gui.core import metrics, noise, shading  # noqa: E402
from emdenoise_gui.core.baselines import apply_filter  # noqa: E402
from emdenoise_gui.core.events import run_to_end  # noqa: E402
from emdenoise_gui.core.pipeline import neighbour_indices  # noqa: E402
from emdenoise_gui.zoo.registry import SHIPPED_DIR  # noqa: E402


def predictor(name: str):
    import torch

    from emdenoise_gui.inference.predictor import Predictor
    from emdenoise_gui.zoo.package import open_package

    return Predictor(open_package(SHIPPED_DIR / name), torch.device("cpu"))


def scores(data, stacks: dict, divide: bool, cyclic=None) -> dict:
    """Mean PSNR per method over the scored slices; ``stacks`` z -> noisy (Y, X) float32 on [0, 1]."""
    nrrn = predictor("flyem-nrrn-base")
    rows: dict[str, list] = {}
    correct = shading.divided if divide else shading.subtracted
    for z in data.slices:
        clean = data.reference(z)
        window = np.stack([stacks[k] for k in neighbour_indices(z, len(data.clean), 3)]).astype(np.float32)
        corrected = np.stack([correct(w) for w in window])
        methods = {"input": window[1], "gaussian-sure-avg": apply_filter("gaussian-sure-avg", window),
                   "flat-field" if divide else "background-subtract": apply_filter("gaussian-sure", corrected[1]),
                   "corrected, then gaussian-sure-avg": apply_filter("gaussian-sure-avg", corrected),
                   "flyem-nrrn-base": run_to_end(nrrn.denoise(window)),
                   "corrected, then flyem-nrrn-base": run_to_end(nrrn.denoise(corrected))}
        if cyclic is not None:
            methods["flyem-cyclic-artifacts"] = run_to_end(cyclic.denoise(np.ascontiguousarray(window[1:2]), tile=1024))
        for name, image in methods.items():
            rows.setdefault(name, []).append(metrics.psnr(clean, np.clip(image, 0, 1)))
    return {name: round(float(np.mean(values)), 2) for name, values in rows.items()}


def film_charge(data) -> None:
    for name in ("film", "charge"):
        stored = data.noisy(CONDITIONS[name]).astype(np.float32) / 255.0
        stacks = {z: stored[z - data.z_range.start] for z in data.z_range}
        print(name, scores(data, stacks, divide=name == "film"), flush=True)


def with_noise(data) -> None:
    cyclic = predictor("flyem-cyclic-artifacts")
    for dose in (25.0, 100.0):
        stacks = {}
        for z in data.z_range:
            shaded = noise.add_noise(data.reference(z), "film", np.random.default_rng(1000 + z))
            noisy = noise.add_noise(np.clip(shaded, 0, 1), "poisson-dose", np.random.default_rng(2000 + z), dose=dose)
            stacks[z] = to_uint8(noisy).astype(np.float32) / 255.0
        print(f"film + dose {dose:g}", scores(data, stacks, divide=True, cyclic=cyclic), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("film-charge", "with-noise"))
    args = parser.parse_args(argv)
    data = load_datasets(step=8, with_sstem=False)[0]
    if args.only != "with-noise":
        film_charge(data)
    if args.only != "film-charge":
        with_noise(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
