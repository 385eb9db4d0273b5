"""A side check for the charge and film rows: flat-field correction, which the Q benchmark's filter list lacks.

Film multiplies the image by a smooth pattern and charging adds smooth blobs, so a microscopist
might divide by (film) or subtract (charge) a heavily smoothed copy of the slice, rescaled to its
mean, then smooth the result with the 3x3 Gaussian. This prints that correction's PSNR (dB) on the
quality benchmark's FlyEM test slices and noise (same seeds, stored as 8-bit) for a few smoothing
widths, beside the noisy input's:

    .venv/bin/python benchmarks/flat_field.py [--step 8]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.quality_data import _conditions, load_datasets  # noqa: E402
from emdenoise_gui.core import metrics  # noqa: E402
from emdenoise_gui.core.baselines import apply_filter  # noqa: E402

SIGMAS_PX = (16, 32, 48, 64)


def flat_field(image: np.ndarray, sigma: float, multiplicative: bool) -> np.ndarray:
    """(H, W) float on [0, 1] -> the same with its Gaussian(``sigma`` px) background divided out
    (``multiplicative``) or subtracted, at the image's mean level."""
    background = ndi.gaussian_filter(image.astype(np.float64), sigma, mode="reflect")
    if multiplicative:
        return image * image.mean() / np.maximum(background, 1e-3)
    return image - background + image.mean()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, default=8, help="every STEP-th test slice (default 8, as the table)")
    args = parser.parse_args(argv)
    data = load_datasets(step=args.step, with_sstem=False)[0]
    for name in ("charge", "film"):
        noisy = data.noisy(_conditions()[name]).astype(np.float32) / 255.0
        slices = [(data.reference(z), noisy[z - data.z_range.start]) for z in data.slices]
        line = [f"{name}: input {np.mean([metrics.psnr(c, n) for c, n in slices]):.2f}"]
        for sigma in SIGMAS_PX:
            scores = [metrics.psnr(c, np.clip(apply_filter("gaussian", flat_field(n, sigma, name == "film")
                                                             .astype(np.float32)), 0, 1)) for c, n in slices]
            line.append(f"sigma {sigma}: {np.mean(scores):.2f}")
        print(f"{', '.join(line)} dB (slices {data.slices})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
