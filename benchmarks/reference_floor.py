"""How much of the quality benchmark's error no denoiser can remove: the clean reference's own noise.

The Q protocol's "clean" FlyEM slices are real FIB-SEM images with noise of their own. At a low
synthetic dose that noise is buried in the shot noise, so no method can reproduce it, and it
stays in every method's MSE. This script estimates it and restates the issue-7 target (the
best model's MSE 30 % below the best filter's) in terms of the error a method can remove:

* sigma_r: the reference's noise, the median over the test slices of scikit-image's wavelet
  estimate (the MAD of the finest diagonal coefficients; assumes white Gaussian noise, so it is
  an estimate, and it reads some fine structure as noise);
* floor(dose) = mean over pixels of sigma_r^2 * v / (sigma_r^2 + v), v = x / s the Poisson
  variance at the clean value x (s = dose / mean counts per unit): the least error of estimating
  a white component of variance sigma_r^2 under independent noise of variance v even when
  everything else is known;
* removable = MSE - floor, for the best filter and the best model of ``benchmarks/results/quality.json``.

    .venv/bin/python benchmarks/reference_floor.py    # prints; writes its docs/benchmarks.md section and JSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import tifffile
from skimage.restoration import estimate_sigma

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import FLYEM_VAL, ROOT, machine, save_json, today, write_section  # noqa: E402

FLYEM = FLYEM_VAL
QUALITY = ROOT / "benchmarks" / "results" / "quality.json"
#: The quality benchmark's FlyEM test slices (validation slices 96-127, every 8th).
TEST_SLICES = range(96, 128, 8)
DOSES = (25, 50, 100, 300)
TARGET = 0.30  # the issue's: the best model's MSE at least 30 % below the best filter's


def floor_mse(clean: np.ndarray, sigma_r: float, dose: float) -> float:
    """Least MSE (units of [0, 1]^2) of recovering a white component of variance sigma_r^2 of
    ``clean`` (float64 in [0, 1]) under Poisson noise at ``dose`` counts per pixel at its mean."""
    v = np.maximum(clean, 1e-6) * clean.mean() / dose
    return float(np.mean(sigma_r**2 * v / (sigma_r**2 + v)))


def main() -> int:
    clean = tifffile.imread(FLYEM, key=list(TEST_SLICES)).astype(np.float64) / 255.0
    sigmas = [float(estimate_sigma(s)) for s in clean]
    sigma_r = float(np.median(sigmas))
    quality = json.loads(QUALITY.read_text())
    flyem = quality["results"]["flyem"]
    kinds = {name: info.get("kind") for name, info in quality["methods"].items()}
    rows = []
    for dose in DOSES:
        condition = f"poisson-dose {dose}"
        scored = {m: r[condition]["mse"][0] for m, r in flyem.items()
                  if isinstance(r.get(condition), dict) and r[condition].get("mse") and m != "input"}
        best_filter = min((m for m in scored if kinds.get(m) == "filter"), key=scored.get)
        best_model = min((m for m in scored if quality["methods"].get(m, {}).get("shipped")), key=scored.get)
        floor = floor_mse(clean, sigma_r, dose)
        f_mse, m_mse = scored[best_filter], scored[best_model]
        rows.append(dict(dose=dose, floor=floor, best_filter=best_filter, filter_mse=f_mse, best_model=best_model,
                         model_mse=m_mse, total_cut=1 - m_mse / f_mse,
                         removable_cut=1 - (m_mse - floor) / (f_mse - floor),
                         needed_removable_cut=1 - ((1 - TARGET) * f_mse - floor) / (f_mse - floor)))
    lines = [
        "### Q: the clean reference's own noise (the floor under every method's MSE)",
        "",
        f"Command: `python benchmarks/reference_floor.py` (its docstring has the method). Machine: {machine()}. "
        f"Date: {today()}. MSEs from `benchmarks/results/quality.json` ({quality.get('date', '?')}).",
        "",
        f"The FlyEM test slices' own noise: sigma_r = {sigma_r * 255:.2f} grey levels "
        f"(slices {', '.join(f'{s * 255:.2f}' for s in sigmas)}), variance {sigma_r**2 * 1e3:.3f}e-3.",
        "",
        "| dose | floor (x1e-3) | best filter | its MSE (x1e-3) | best model | its MSE (x1e-3) | model below filter: total | "
        "removable | the 30 % target needs, removable |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['dose']} | {r['floor'] * 1e3:.3f} | {r['best_filter']} | {r['filter_mse'] * 1e3:.3f} | "
                     f"{r['best_model']} | {r['model_mse'] * 1e3:.3f} | {r['total_cut']:.1%} | "
                     f"{r['removable_cut']:.1%} | {r['needed_removable_cut']:.1%} |")
    text = "\n".join(lines)
    print(text)
    save_json("reference_floor", {"date": today(), "machine": machine(), "sigma_r": sigma_r, "sigmas": sigmas,
                                  "rows": rows})
    write_section("reference_floor", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
