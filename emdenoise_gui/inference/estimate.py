"""How long a denoise job will take: a model's speed measured once on this device, then arithmetic.

:func:`measure_speed` times a :class:`~emdenoise_gui.inference.predictor.Predictor` on a small seeded
random image and returns seconds per megapixel of output; the result is kept in ``speeds.json`` in the
user data folder (``emdenoise_gui.paths``), keyed by (weights sha256, device, tile, and the stride of the
papers' tiling where that is used), so each model is timed once per machine and tiling. :func:`format_estimate` turns it into "about 4 min on the CPU".
Only the device that was timed is ever named: no guesses for the other one.
"""

from __future__ import annotations

import json
import math
import threading
import time

import numpy as np

from emdenoise_gui import paths
from emdenoise_gui.core import atomic
from emdenoise_gui.core.events import CancelToken, format_duration, run_to_end

#: Side (px) of the random image a speed is measured on, and timed runs after one warm-up run.
SIDE, RUNS = 256, 2
CACHE_NAME = "speeds.json"
_LOCK = threading.Lock()  # one measurement at a time (they would slow each other) and one cache writer


def cache_path():
    """The speed cache, ``<user data folder>/speeds.json`` (its folder is created when first written)."""
    return paths.user_data_dir() / CACHE_NAME


def device_words(device) -> str:
    """How a microscopist names a torch device: "the CPU", "the GPU" (CUDA) or "the Apple GPU" (MPS)."""
    kind = getattr(device, "type", str(device).split(":")[0])
    return {"cuda": "the GPU", "mps": "the Apple GPU"}.get(kind, "the CPU")


def _device_key(device) -> str:
    """The device as timed: its name and, for a CPU, the torch threads (speeds change with either)."""
    import torch

    from emdenoise_gui.models.device import cpu_name, device_label

    if device.type == "cpu":
        return f"{cpu_name()} ({torch.get_num_threads()} threads)"
    return device_label(device)


def speed_key(sha256: str, device_key: str, tile: int, stride: int | None = None) -> str:
    """The cache key of a speed: weights sha256, device description, tile size (px) and, for the papers'
    tiling ("quality: paper"), its stride (px)."""
    return f"{sha256}|{device_key}|{int(tile)}" + (f"|stride {int(stride)}" if stride else "")


def _read_cache() -> dict:
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    speeds = data.get("speeds") if isinstance(data, dict) else None
    return {k: float(v) for k, v in speeds.items()
            if isinstance(v, (int, float)) and v > 0} if isinstance(speeds, dict) else {}


def _write_cache(key: str, seconds_per_mp: float) -> None:
    speeds = _read_cache()
    speeds[key] = seconds_per_mp
    path = cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(path, json.dumps({"version": 1, "speeds": speeds}, indent=1, sort_keys=True))
    except OSError:
        pass  # a read-only data folder: the speed is measured again next time


def _time_predictor(package, device, tile: int, side: int, runs: int, cancel: CancelToken | None = None,
                    stride: int | None = None) -> float:
    """Seconds per megapixel of ``package`` on ``device`` with ``tile`` px tiles: the fastest of ``runs``
    timed runs on a (slices, side, side) float32 random image (seed 0, one tile), after one warm-up run
    (allocation, halo, autotuning), times the tiling's overlap cost on a large slice (``TilePlan.cost``:
    the papers' tiling at ``stride`` px computes every pixel (tile / stride)^2 times, 4 at 512 / 256)."""
    from emdenoise_gui.inference.predictor import Predictor

    predictor = Predictor(package, device)
    window = np.random.default_rng(0).random((predictor.input_slices, side, side), dtype=np.float32)
    run_to_end(predictor.denoise(window, tile=tile, cancel=cancel))
    best = math.inf
    for _ in range(max(1, runs)):
        start = time.perf_counter()
        run_to_end(predictor.denoise(window, tile=tile, cancel=cancel))
        best = min(best, time.perf_counter() - start)
    return max(best, 1e-6) / (side * side / 1e6) * predictor.plan(tile, stride).cost


def cached_speed(package, device="auto", tile: int = 512, stride: int | None = None) -> float | None:
    """The seconds per megapixel already measured for ``package`` on ``device`` at ``tile`` px (and
    ``stride``), or None."""
    from emdenoise_gui.models.device import pick_device

    key = speed_key(package.card.weights_sha256, _device_key(pick_device(str(device))), tile, stride)
    return _read_cache().get(key)


def remember_speed(sha256: str, device, tile: int, seconds_per_mp: float, stride: int | None = None,
                   faster_only: bool = False) -> None:
    """Store a speed measured elsewhere (a benchmark run, a finished job) for weights ``sha256`` on
    ``device`` ("cpu", "cuda", ... or a torch.device) at ``tile`` px (and ``stride`` for the papers' tiling),
    as if :func:`measure_speed` had timed it; ``faster_only``: only where it beats the one stored."""
    from emdenoise_gui.models.device import pick_device

    if not seconds_per_mp > 0:
        raise ValueError(f"a speed must be positive seconds per megapixel, got {seconds_per_mp}")
    key = speed_key(sha256, _device_key(pick_device(str(device))), tile, stride)
    with _LOCK:
        known = _read_cache().get(key)
        if not (faster_only and known is not None and known <= seconds_per_mp):
            _write_cache(key, float(seconds_per_mp))


def measure_speed(package, device="auto", tile: int = 512, side: int = SIDE, runs: int = RUNS,
                  cancel: CancelToken | None = None, stride: int | None = None) -> float:
    """Seconds per megapixel of output for ``package`` (a verified zoo Package) on ``device`` ("auto",
    "cpu", "cuda", ... or a torch.device) with ``tile`` px tiles (at ``stride`` px for the papers'
    tiling, None for the fast one): from the cache, else timed now (about
    three runs on a ``side`` px image: under a second for the shipped models on a laptop CPU) and cached.
    Imports torch; call it off the GUI thread. Raises core.errors.Cancelled between tiles once ``cancel``
    is set (the app is closing)."""
    from emdenoise_gui.models.device import pick_device

    device = pick_device(str(device))
    key = speed_key(package.card.weights_sha256, _device_key(device), tile, stride)
    with _LOCK:
        known = _read_cache().get(key)
        if known is not None:
            return known
        seconds_per_mp = _time_predictor(package, device, tile, side, runs, cancel, stride)
        _write_cache(key, seconds_per_mp)
    return seconds_per_mp


def format_estimate(seconds_per_mp: float, megapixels: float, device) -> str:
    """The time for ``megapixels`` of output at ``seconds_per_mp`` measured on ``device`` (a torch.device
    or its name), e.g. "about 4 min on the CPU"; only the measured device is named."""
    return f"{format_duration(seconds_per_mp * megapixels)} on {device_words(device)}"


def estimate(package, megapixels: float, device="auto", tile: int = 512) -> str:
    """"about 4 min on the CPU" for denoising ``megapixels`` with ``package`` on ``device`` (measures the
    speed first if it is not cached: call it off the GUI thread)."""
    from emdenoise_gui.models.device import pick_device

    device = pick_device(str(device))
    return format_estimate(measure_speed(package, device, tile), megapixels, device)
