"""Every shipped model loads, matches its checksum and beats the 3x3 Gaussian on the demo's noise (an
artifact model, on the demo's clean slices with the artifacts its card names)."""

from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch

from emdenoise_gui import paths
from emdenoise_gui.core import metrics, noise
from emdenoise_gui.core.baselines import apply_filter
from emdenoise_gui.core.events import run_to_end
from emdenoise_gui.core.pipeline import neighbour_indices
from emdenoise_gui.inference.predictor import Predictor
from emdenoise_gui.training.trainers.cyclic_paired import stored_artifact
from emdenoise_gui.zoo.package import open_package, sha256_file
from emdenoise_gui.zoo.registry import SHIPPED_DIR

DEMO = paths.demo_dir()
MAKEFILE = Path(__file__).resolve().parents[1] / "Makefile"
PACKAGES = sorted(p for p in SHIPPED_DIR.iterdir() if (p / "card.json").exists())
SLICES = (4, 8, 12)  # of the 16-slice demo
DEMO_MODEL = "flyem-nrrn-base"  # what `make demo` runs: the best shipped model on the quality benchmark
CROP = (slice(0, 160), slice(48, 208))


def test_models_are_shipped():
    assert PACKAGES, f"{SHIPPED_DIR} holds no package"


def _demo_noisy(clean: np.ndarray, artifact: str) -> np.ndarray:
    """The demo's noisy stack, or (``artifact``) its clean slices with that ``core.noise`` artifact drawn on
    each whole slice (seeded), stored as 8-bit; float32 (Z, Y, X) on [0, 1]."""
    if not artifact:
        return tifffile.imread(DEMO / "flyem_fibsem_demo_noisy.tif").astype(np.float32) / 255.0
    return np.stack([stored_artifact(s, artifact, noise.slice_rng(11, z)) for z, s in enumerate(clean)])


def _demo_scores(folder: Path, filters: tuple[str, ...], artifact: str = "") -> tuple[float, dict]:
    """Mean PSNR (dB) of the package and of each filter on the demo crop's SLICES."""
    package = open_package(folder)
    clean = tifffile.imread(DEMO / "flyem_fibsem_demo.tif").astype(np.float32) / 255.0
    noisy = _demo_noisy(clean, artifact)
    torch.set_num_threads(1)
    predictor = Predictor(package, torch.device("cpu"))
    model_psnr, filter_psnr = [], {f: [] for f in filters}
    for z in SLICES:
        window = noisy[neighbour_indices(z, len(noisy), 3)][(slice(None),) + CROP]
        model_in = window if predictor.input_slices == 3 else window[1:2]
        out = run_to_end(predictor.denoise(np.ascontiguousarray(model_in), tile=160, stride=80))
        ref = clean[z][CROP]
        model_psnr.append(metrics.psnr(ref, np.clip(out, 0, 1)))
        for f in filters:
            image = window if f.endswith("-avg") else window[1]
            filter_psnr[f].append(metrics.psnr(ref, np.clip(apply_filter(f, image), 0, 1)))
    return float(np.mean(model_psnr)), {f: float(np.mean(v)) for f, v in filter_psnr.items()}


CASES = [(p, a) for p in PACKAGES for a in (open_package(p).card.training.get("artifacts") or "").split(",")]


@pytest.mark.parametrize("folder, artifact", CASES, ids=[f"{p.name}-{a}" if a else p.name for p, a in CASES])
def test_shipped_model_loads_and_beats_the_gaussian(folder, artifact):
    package = open_package(folder)
    assert sha256_file(package.weights) == package.card.weights_sha256
    model, filters = _demo_scores(folder, ("gaussian",), artifact)
    assert model > filters["gaussian"], (model, filters)


def test_the_demo_model_beats_the_best_filters():
    """What `make demo` shows: the shipped NRRN ahead of the best filters on FlyEM, the SURE-tuned Gaussian on
    the 3-slice mean and BM3D (and the plain Gaussian on it)."""
    makefile = MAKEFILE.read_text()
    assert f"--model {DEMO_MODEL} " in makefile and "--method gaussian-sure-avg " in makefile
    model, filters = _demo_scores(SHIPPED_DIR / DEMO_MODEL, ("gaussian-sure-avg", "gaussian-avg", "bm3d"))
    assert model > max(filters.values()), (model, filters)
