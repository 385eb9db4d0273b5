"""NRRN with 1, 2 or 3 images, inside a stack and at its ends (issue 7: the 3-image output must win).

For each test slice z of the FlyEM validation volume (96-127, every 4th) with Poisson noise at
the given doses (stored as uint8), the package's network runs on the whole slice as
1 image f(x, x), 2 images f(x_{z-1}, x), 3 images (f(x_{z-1}, x) + f(x_{z+1}, x)) / 2, and as the
app denoises a stack's first slice (the stack reflected: both neighbours the same noisy slice).
PSNR (dB) against the clean slice, mean over the slices; Gaussian 3x3 on the 3-slice mean beside it.

    python benchmarks/nrrn_modes.py [--model emdenoise_gui/resources/models/flyem-nrrn-lite] [--doses 25,100]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import tifffile
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import FLYEM_VAL, machine, save_json, today, write_section  # noqa: E402
from emdenoise_gui.core import metrics, noise  # noqa: E402
from emdenoise_gui.core.baselines import apply_filter  # noqa: E402
from emdenoise_gui.core.normalise import slice_stats  # noqa: E402
from emdenoise_gui.models.registry import family  # noqa: E402
from emdenoise_gui.paths import shipped_models_dir  # noqa: E402
from emdenoise_gui.zoo.package import load_weights, open_package  # noqa: E402

VAL = FLYEM_VAL
MODES = ("1 image f(x,x)", "2 images", "3 images", "stack end (reflected)", "Gaussian 3x3 on 3-slice mean")


def _noisy(clean: np.ndarray, dose: float, seed: int) -> np.ndarray:
    """(Y, X) clean on [0, 1] -> Poisson noisy at ``dose``, rounded to 8 bits, on [0, 1]."""
    out = noise.poisson_dose(clean, dose, noise.slice_rng(seed, 0))
    return np.clip(np.rint(out * 255), 0, 255).astype(np.float32) / 255


def scores(model, clean: np.ndarray, z: int, dose: float) -> list[float]:
    """PSNR of each of MODES for slice ``z`` of ``clean`` (Z, Y, X) at ``dose``."""
    prev, centre, nxt = (_noisy(clean[k], dose, 1000 * int(dose) + k) for k in (z - 1, z, z + 1))
    stats = [slice_stats(s) for s in (prev, centre, nxt)]
    t = [torch.from_numpy(((s - m) / sd)[None, None].astype(np.float32)) for s, (m, sd) in
         zip((prev, centre, nxt), stats)]
    with torch.no_grad():
        outs = [model.infer(t[1]), model.infer(t[1], prev=t[0]), model.infer(t[1], prev=t[0], next=t[2]),
                model.infer(t[1], prev=t[2], next=t[2])]
    m, sd = stats[1]
    results = [metrics.psnr(clean[z], np.clip(o.numpy()[0, 0] * sd + m, 0, 1)) for o in outs]
    gauss = apply_filter("gaussian-avg", np.stack([prev, centre, nxt]))
    return results + [metrics.psnr(clean[z], np.clip(gauss, 0, 1))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(shipped_models_dir() / "flyem-nrrn-lite"))
    parser.add_argument("--doses", default="25,100")
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    package = open_package(args.model)
    info = family(package.card.family)
    model = info.build(**package.card.architecture)
    model.load_state_dict(load_weights(package))
    model.eval()
    clean = tifffile.imread(VAL).astype(np.float32) / 255
    doses = [float(d) for d in args.doses.split(",")]
    table = {}
    for dose in doses:
        rows = np.array([scores(model, clean, z, dose) for z in range(96, 127, 4)])
        table[dose] = rows.mean(axis=0).round(2).tolist()
        print(f"dose {dose:g}: " + ", ".join(f"{m} {v:.2f}" for m, v in zip(MODES, table[dose])), flush=True)
    command = "python benchmarks/nrrn_modes.py " + " ".join(sys.argv[1:] if argv is None else argv)
    save_json("nrrn_modes", {"date": today(), "machine": machine(), "model": package.card.name,
                             "command": command.strip(), "modes": MODES, "psnr_db": table})
    lines = ["| mode | " + " | ".join(f"dose {d:g}" for d in doses) + " |", "|---|" + "---|" * len(doses)]
    lines += [f"| {m} | " + " | ".join(f"{table[d][k]:.2f}" for d in doses) + " |" for k, m in enumerate(MODES)]
    write_section("nrrn_modes", f"""## NRRN with 1, 2 or 3 images ({package.card.name})

Command: `{command.strip()}`. Machine: {machine()}. Date: {today()}. FlyEM validation slices 96-124
(every 4th), Poisson noise stored as 8-bit, whole 520x520 slices through the network; PSNR (dB).

""" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
