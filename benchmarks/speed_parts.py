"""The measurements of benchmarks/speed.py, each run in its own process (``python -m
benchmarks.speed_parts JOB_JSON`` prints ``RESULT {json}``): GEMM peak, one inference
variant, one training rate, GUI start-up."""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from emdenoise_gui.models.device import precision_name

ROOT = Path(__file__).resolve().parents[1]
STRIDE_TODAY = 256  # the papers' and the pre-issue-9 default: 512 px tiles every 256 px

#: Predictor options per inference variant: (batch_size, precision, optimised, stride). "today" is the
#: code before issue 9: float32 on the CPU, autocast ("auto") on CUDA.
VARIANTS = {
    "naive": (1, "fp32", False, STRIDE_TODAY),
    "today": (4, "fp32", False, STRIDE_TODAY),
    "today-cuda": (4, "auto", False, STRIDE_TODAY),
    "fast-fp32": (None, "fp32", True, None),
    "fast-auto": (None, "auto", True, None),
    "fast-bf16": (None, "bf16", True, None),
    "fast-fp16": (None, "fp16", True, None),
    "fast-bf16-host": (None, "bf16", True, None),  # on CUDA: tiles cut and blended on the host, as before
}


def gemm_peak(device: str, max_side: int = 4096) -> dict:
    """GFLOP/s of a square matrix product per dtype on ``device``, the best of 5 timings (2 when one
    product takes over a second): the attainable peak here (the machine's other tenants only ever lower a
    timing). The side grows from 512 to at most 4096 while one product takes under 0.25 s, so a dtype the
    CPU only emulates (bf16 without AVX512-BF16 runs near 1 GFLOP/s: one 4096^3 product takes minutes) is
    measured in seconds, not in an hour. ``max_side``: a smaller cap for a smoke run (1024: a lower figure in a
    second)."""
    dev = torch.device(device)
    out = {}
    dtypes = [torch.float32, torch.bfloat16] + ([torch.float16] if dev.type == "cuda" else [])
    for dtype in dtypes:
        n = 512
        while True:
            a = torch.randn(n, n, device=dev).to(dtype)
            b = torch.randn(n, n, device=dev).to(dtype)
            one = _time_product(a, b, dev, 1)
            if one >= 0.25 or n >= max_side:
                break
            n *= 2
        reps = max(1, min(10, int(0.5 / max(one, 1e-6))))
        best = min(_time_product(a, b, dev, reps) for _ in range(5 if one < 1 else 2))
        out[str(dtype).replace("torch.", "")] = round(2 * n**3 / best / 1e9, 1)
    return out


def _time_product(a: torch.Tensor, b: torch.Tensor, device: torch.device, reps: int) -> float:
    """Seconds per ``a @ b`` on ``device``, the mean of ``reps`` products after the device is idle."""
    _sync(device)
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    _sync(device)
    return (time.perf_counter() - t) / reps


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def random_package(root: Path, family: str, config: str):
    """A package of ``family``/``config`` with seeded random weights (speed does not depend on them),
    made once per run and opened by later variants. ``config`` "NAME+mean" is NRRN's NAME with one
    branch on the neighbours' mean (``neighbours="mean"``, the shipped NRRNs' structure)."""
    from emdenoise_gui.zoo.package import open_package
    from tests.conftest import random_package as make

    name, _, variant = config.partition("+")
    folder = root / f"{family}-{config}"
    options = {"neighbours": variant} if variant else None
    return open_package(folder) if folder.exists() else make(folder, family, name, options=options)


def flops_per_tile(model: torch.nn.Module, channels: int, tile: tuple[int, int], device) -> float:
    """FLOPs (2 per multiply-add) of ``model.denoise`` on one (1, channels, *tile) input."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model.denoise(torch.zeros(1, channels, *tile, device=device, dtype=next(model.parameters()).dtype))
    return float(counter.get_total_flops())


def _counted_once(scratch: Path, key: tuple, count) -> float:
    """``count()`` (FLOPs per tile) the first time ``key`` (family, config, channels, tile) is met in this
    run's ``scratch`` folder, then its stored value: counting runs the network under a dispatch mode,
    5 s a row for the smallest network, and every variant of a network tiles alike."""
    store = scratch / "flops.json"
    known = json.loads(store.read_text()) if store.exists() else {}
    name = ":".join(map(str, key))
    if name not in known:
        known[name] = count()
        store.write_text(json.dumps(known))
    return float(known[name])


#: the longest a variant's warm-up may take (s): on CUDA a whole slice, so that the first full batch and the
#: last partial one are both autotuned before the timed pass (Xception fast-fp32's first batch took 8 s)
WARM_CAP_S = 30.0


def warm_input(image: np.ndarray, tile: tuple[int, int], device_type: str) -> np.ndarray:
    """What a variant denoises before it is timed: (C, H, W) float32 ``image`` -> one ``tile`` from its
    corner on the CPU, the whole slice on CUDA (for up to WARM_CAP_S). There cuDNN autotunes each batch
    shape it meets first (the full batch, the last partial one); the 2026-12-04 H200 run, warmed with one
    tile, timed those first batches (Xception fast-fp32: 8 s for its first 6 tiles, most likely that search)."""
    warm = image if device_type == "cuda" else image[:, :tile[0], :tile[1]]
    return np.ascontiguousarray(warm)


def infer_one(job: dict) -> dict:
    """Denoise one size x size slice with one variant; times, FLOPs and memory."""
    from emdenoise_gui.core.tiling import TileGrid
    from emdenoise_gui.inference.predictor import Predictor

    device = torch.device(job["device"])
    cuda_today = job["variant"] == "today" and device.type == "cuda"
    batch, precision, optimised, stride = VARIANTS["today-cuda" if cuda_today else job["variant"]]
    package = random_package(Path(job["scratch"]), job["family"], job["config"])
    device_tiles = False if job["variant"].endswith("-host") else None  # None: the Predictor's default
    predictor = Predictor(package, device, batch, precision, optimised, device_tiles)
    size, channels = job["size"], predictor.input_slices
    image = np.random.default_rng(0).random((channels, size, size), dtype=np.float32)
    plan = predictor.plan(512, stride)
    grid = TileGrid.build(size, size, plan, max(16, predictor.info.multiple))
    warm_start = time.perf_counter()
    for _ in predictor.denoise(warm_input(image, grid.tile, device.type), 512, stride):
        if time.perf_counter() - warm_start > WARM_CAP_S:  # a pass that slow is timed by extrapolation anyway
            break
    _sync(device)  # a warm-up stopped at its cap leaves queued device work, which must not be timed
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    gen = predictor.denoise(image, 512, stride)
    done, total, started = 0, len(grid), time.perf_counter()
    for done, total in gen:
        if time.perf_counter() - started > job["budget"] and done < total:
            break
    _sync(device)  # the device path queues work: a stopped pass's tiles must be finished
    elapsed = time.perf_counter() - started
    seconds = elapsed * total / done
    flops = _counted_once(Path(job["scratch"]), (job["family"], job["config"], channels, *grid.tile),
                          lambda: flops_per_tile(predictor.model, channels, grid.tile, device))
    peak = precision_name(predictor.compute_dtype)
    mp = size * size / 1e6
    return {**{k: job[k] for k in ("family", "config", "variant", "device", "size")},
            "precision": peak, "batch": predictor.batch_size, "plan": plan.__dict__, "tile_px": grid.tile[0],
            "device_tiles": predictor.device_tiles, "tiles": total, "tiles_timed": done, "extrapolated": done < total,
            "seconds": round(seconds, 2),
            "s_per_mp": round(seconds / mp, 3), "mp_per_s": round(mp / seconds, 3),
            "tiles_per_s": round(total / seconds, 3), "gflop_per_tile": round(flops / 1e9, 2),
            "gflop_per_mp": round(flops * total / 1e9 / mp, 1), "gflops": round(flops * total / seconds / 1e9, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "device_mb": round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if device.type == "cuda" else None,
            "threads": torch.get_num_threads()}


def train_rate(job: dict) -> dict:
    """Optimizer steps/s of one family's trainer at its configuration's crop and batch."""
    import tifffile
    from torch.utils.flop_counter import FlopCounterMode

    from emdenoise_gui.models.registry import FAMILIES
    from emdenoise_gui.training.engine import SampleAhead, loss_read_every
    from emdenoise_gui.training.spec import RunSpec
    from emdenoise_gui.training.trainers import trainer_class
    from tests.conftest import synthetic_em_stack

    family, config = job["family"], job["config"]
    defaults = FAMILIES[family].configs[config]
    scratch = Path(job["scratch"])
    side = max(256, defaults.crop * 2)
    # nrrn: the shipped models' recipe (clean slices, synthetic noise); the others their only one. Each role its
    # own volume: one file as both --clean and --noise is refused (the cyclic rows failed from 2026-12-06 on)
    roles = {}
    for seed, role in enumerate(dict.fromkeys("clean" if family == "nrrn" else role.split("|")[0]
                                              for role in FAMILIES[family].roles), start=3):
        volume = scratch / f"train-{side}-{role}.tif"
        if not volume.exists():
            tifffile.imwrite(volume, synthetic_em_stack(12, side, side, seed=seed), imagej=True,
                             metadata={"axes": "ZYX"})
        roles[role] = [str(volume)]
    # on the CPU the paper sizes train at batch 1 (NRRN's paper batch of 16 x 256^2 needs 16 GB and minutes a step)
    batch = 1 if config == "paper" and job["device"] == "cpu" else None
    # before: the paper's two-branch NRRN, as every NRRN then trained; now: the default on clean data, one
    # branch on the neighbours' mean (as good per step: docs/benchmarks.md)
    neighbours = job.get("neighbours") or ("pair" if family == "nrrn" and job["variant"] == "before" else "")
    spec = RunSpec(family, config, steps=10_000, data=roles, output=str(scratch / f"out-{family}"),
                   device=job["device"], amp=job["variant"] == "now", batch_size=batch,
                   neighbours=neighbours, validate_every=10**9, checkpoint_every=10**9).validated()
    device = torch.device(job["device"])
    if job["variant"] == "before":  # contiguous memory, as every family trained before issue 9 (this process only)
        FAMILIES[family] = dataclasses.replace(FAMILIES[family], train_channels_last=False)
    trainer = trainer_class(family)(spec, device)
    counter = FlopCounterMode(display=False)
    with counter:  # the warm-up step; its FLOPs, forward and backward
        trainer.train_step(1, np.random.default_rng(1))
    flops = float(counter.get_total_flops())
    _sync(device)  # the warm-up step is not timed
    ahead = SampleAhead(trainer, 0, 10**9) if job["variant"] == "now" else None  # the engine's loop
    # before: each step's losses read at once (a wait for a GPU); now: as the engine reads them
    every, unread = 1 if ahead is None else loss_read_every(device), []
    started, steps = time.perf_counter(), 0
    while steps < 200 and (steps < 2 or time.perf_counter() - started < job["budget"]):
        k = 3 + steps
        if ahead is None:  # before: draw the data, then learn, one after the other
            unread.append(trainer.train_step(k, np.random.default_rng([0, k])))
        else:
            unread.append(trainer.learn(k, *ahead.take(k)))
        if len(unread) >= every:
            for losses in unread:  # read back, as the engine does: on a GPU this waits for the device
                for value in losses.values():
                    float(value)
            unread.clear()
        steps += 1
    if ahead is not None:
        ahead.close()
    _sync(device)
    seconds = time.perf_counter() - started
    return {**{k: job[k] for k in ("family", "config", "variant", "device")}, "crop": spec.crop,
            "batch": spec.batch_size, "steps": steps, "steps_per_s": round(steps / seconds, 3),
            "gflop_per_step": round(flops / 1e9, 2), "gflops": round(flops * steps / seconds / 1e9, 1),
            "precision": precision_name(trainer.amp_dtype), "threads": torch.get_num_threads(),
            "neighbours": trainer.architecture.get("neighbours") if family == "nrrn" else None}


STARTUP = """
import sys, time
from PySide6 import QtWidgets
from emdenoise_gui.gui.main_window import MainWindow
app = QtWidgets.QApplication(sys.argv[:1])
window = MainWindow()
window.show()
app.processEvents()
print("SHOWN", flush=True)
"""


def startup_seconds(repeats: int = 3) -> float:
    """Median seconds from launching Python to the main window shown (offscreen Qt, fresh settings)."""
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "EMDENOISE_HOME": home}
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", STARTUP], capture_output=True, text=True, env=env, cwd=ROOT)
            if "SHOWN" not in proc.stdout:
                return float("nan")
            times.append(time.perf_counter() - started)
    return round(float(np.median(times)), 2)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    work = json.loads(sys.argv[1])
    result = infer_one(work) if work["what"] == "infer" else train_rate(work)
    print("RESULT " + json.dumps(result), flush=True)
