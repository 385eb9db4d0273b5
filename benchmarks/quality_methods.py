"""Q benchmark methods: the noisy input, the classical filters, the model packages and the peer.

Every ``run`` takes a :class:`~benchmarks.quality_data.Dataset` and a condition, reads the stored
uint8 noisy stack, and returns ``(pred, seconds)``: float32 (N, Y, X) on [0, 1] (not clipped) for
the dataset's N scored slices, and the wall time in s of producing them. Model packages run through
the app's real path, as ``emdenoise denoise --model`` does: a temporary ImageJ TIFF, then
``jobs.denoise.denoise_model_job``, then the output TIFF read back.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tifffile

from benchmarks.quality_data import Condition, Dataset, write_imagej
from emdenoise_gui.core.baselines import FILTERS, apply_filter
from emdenoise_gui.core.pipeline import neighbour_indices

STACK_FAMILIES = ("nrrn",)  # model families that read a slice together with its neighbours


@dataclass
class Method:
    """One row of the tables.

    kind: "input", "filter", "model" or "peer"; stack: reads slices z-1, z, z+1 (n/a on ssTEM);
    target: the filter name or the package folder; card: the package's card.json (models).
    """

    key: str
    label: str
    kind: str
    stack: bool = False
    target: str = ""
    card: dict = field(default_factory=dict)
    shipped: bool = False

    def describe(self) -> dict:
        out = {"label": self.label, "kind": self.kind, "stack": self.stack}
        if self.kind == "filter":
            out["description"] = FILTERS[self.target].description
        if self.kind == "model":
            keys = ("family", "config", "parameters", "steps", "training_data", "noise_condition",
                    "training_crop", "metrics", "dose_range", "created", "training")
            out.update(path=self.target, shipped=self.shipped, **{k: self.card.get(k) for k in keys})
        return out

    def applies_to(self, dataset: Dataset) -> bool:
        return dataset.stack_ok or not self.stack

    def run(self, dataset: Dataset, condition: Condition, workdir: Path, tile: int = 512,
            stride: int | None = None, device: str = "cpu") -> tuple[np.ndarray, float]:
        """``(pred, seconds)``; ``tile`` and ``stride`` (px) are the models' tiling and ``device`` where they
        run, as the CLI's options (filters run on the CPU)."""
        if self.kind == "input":
            return _input(dataset, condition)
        if self.kind == "filter":
            return _filter(self.target, dataset, condition)
        if self.kind == "model":
            return _model(self.target, dataset, condition, workdir, tile, stride, device)
        raise ValueError(f"{self.key}: the peer runs separately (see quality.run_peer)")


def input_method() -> Method:
    return Method("input", "noisy input", "input")


def filter_methods() -> list[Method]:
    """All classical filters of ``baselines.FILTERS``, in registry order."""
    return [Method(name, f.label, "filter", f.slices == 3, name) for name, f in FILTERS.items()]


def model_method(folder: Path, shipped: bool = False) -> Method:
    """A row for the package in ``folder``, named and labelled from its card.json."""
    card = json.loads((Path(folder) / "card.json").read_text())
    label = f"{card['name']} ({card['family']} {card.get('config', '')})".replace(" )", ")")
    return Method(card["name"], label, "model", card["family"] in STACK_FAMILIES, str(Path(folder).resolve()),
                  card, shipped)


def shipped_models() -> tuple[list[Method], list[str]]:
    """Rows for the zoo's shipped packages (emdenoise_gui/resources/models/), and the problems of broken ones."""
    from emdenoise_gui.zoo.registry import list_entries

    methods, problems = [], []
    for entry in list_entries():
        if not entry.shipped:
            continue
        if entry.package is None:
            problems.append(f"{entry.path}: {entry.problem}")
        else:
            methods.append(model_method(entry.path, shipped=True))
    return methods, problems


def _input(dataset: Dataset, condition: Condition) -> tuple[np.ndarray, float]:
    noisy, first = dataset.noisy(condition), dataset.z_range.start
    return np.stack([noisy[z - first] for z in dataset.slices]).astype(np.float32) / 255.0, 0.0


def _filter(name: str, dataset: Dataset, condition: Condition) -> tuple[np.ndarray, float]:
    """Filter every scored slice (single-image filters: (Y, X); stack filters: (3, Y, X) of z-1, z, z+1,
    reflected at the volume's ends as ``pipeline.neighbour_indices`` does)."""
    noisy, first, depth = dataset.noisy(condition), dataset.z_range.start, len(dataset.clean)
    stack = FILTERS[name].slices == 3
    out, seconds = [], 0.0
    for z in dataset.slices:
        picks = [k - first for k in neighbour_indices(z, depth, 3)] if stack else z - first
        image = noisy[picks].astype(np.float32) / 255.0
        started = time.perf_counter()
        out.append(apply_filter(name, image))
        seconds += time.perf_counter() - started
    return np.stack(out), seconds


def contiguous_runs(indices: list[int]) -> list[tuple[int, int]]:
    """Sorted indices -> [(start, stop)] half-open runs of consecutive values: [1,2,3,7] -> [(1,4),(7,8)]."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][1]:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1])
    return [(a, b) for a, b in runs]


def _model(package: str, dataset: Dataset, condition: Condition, workdir: Path, tile: int = 512,
           stride: int | None = None, device: str = "cpu") -> tuple[np.ndarray, float]:
    """Denoise the stored noisy stack (the whole z_range, so NRRN sees the neighbours) with the package,
    one ``denoise_model_job`` per run of consecutive scored slices, exactly as the CLI calls it.

    ``seconds`` is the wall time of those calls in all: each loads the package, opens the TIFF,
    denoises and writes its output (xception models tile with their training crop, not ``tile``).
    """
    from emdenoise_gui.jobs.denoise import denoise_model_job

    first = dataset.z_range.start
    src = Path(workdir) / f"{dataset.key}_{condition.seed}_noisy.tif"  # one file per (dataset, condition)
    if not src.exists():
        write_imagej(src, dataset.noisy(condition), dataset.voxel_nm)
    out_dir = Path(tempfile.mkdtemp(dir=workdir))
    preds, seconds = [], 0.0
    for start, stop in contiguous_runs([z - first for z in dataset.slices]):
        out = out_dir / f"denoised_{start}_{stop}.tif"
        started = time.perf_counter()
        for _ in denoise_model_job(src, out, model=package, slices=f"{start}:{stop}", tile=tile,
                                   stride=stride, dtype="float32", overwrite=True, device=device):
            pass
        seconds += time.perf_counter() - started
        result = tifffile.imread(out)
        preds.append(result.reshape(stop - start, *result.shape[-2:]))
    return np.concatenate(preds).astype(np.float32) / 255.0, seconds


def load_peer():
    """The ``benchmarks.peer_careamics`` module, or raise ImportError with the reason."""
    from benchmarks import peer_careamics

    return peer_careamics
