"""Peer runner: CAREamics Noise2Void (2-D, N2V2), run inside the benchmark-only venv.

Usage: ``python careamics_n2v.py WORKDIR`` (or ``--check``: import careamics, print
"torch-version cuda-version careamics-version"). Reads ``WORKDIR/job.json``
({"budget_s": float seconds of training wall time, "seed": int, "threads": int}),
``WORKDIR/train.npy`` (Z, Y, X) float32 and ``WORKDIR/test.npy`` (N, Y, X) float32,
both on the [0, 1] scale. Writes ``WORKDIR/pred.npy`` (N, Y, X) float32 on the same
scale and ``WORKDIR/info.json``. Uses only CAREamics' public API
(``create_advanced_n2v_config`` + ``CAREamist``), CAREamics defaults elsewhere.
Runs on the CPU only; exits non-zero with a one-line reason on stderr on failure.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ["CUDA_VISIBLE_DEVICES"] = ""  # CPU only, before torch is imported

import numpy as np  # noqa: E402

PATCH = 64            # CAREamics default 2-D patch (napari plugin / examples)
BATCH = 16            # CAREamics napari plugin's default N2V batch size
MASKED_PCT = 0.2      # % of pixels masked per patch (CAREamics default)
ROI = 11              # N2V replacement neighbourhood (CAREamics default)
VAL_FRACTION = 0.1    # share of training slices held back for validation
EPOCH_CAP = 100_000   # high cap: the wall-clock budget (max_time) ends training
TILE, OVERLAP = 256, 48


def _import_torchvision_without_compiled_ops() -> bool:
    """Let the CUDA-built torchvision wheel import next to CPU-only torch.

    No CPU build of torchvision 0.28 (the release for torch 2.13) can be had here, and the
    CUDA build's compiled ops (``_C.so``) need libtorch_cuda. torchvision then still
    imports except for two modules that register fake/autograd kernels for those compiled
    ops (nms, roi_align, ...); they are skipped. CAREamics N2V never calls those ops; the
    pure-Python parts it imports (``__version__``, ``transforms.functional``) work.
    Does nothing when the compiled ops load. Returns whether they loaded.
    """
    import importlib.util
    import types

    import torch

    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return False  # no torchvision: careamics' own import will say so
    libs = sorted(Path(list(spec.submodule_search_locations)[0]).glob("_C*.so"))
    try:
        if libs:
            torch.ops.load_library(str(libs[0]))
            return True
    except (OSError, RuntimeError):
        pass
    for name in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
        sys.modules.setdefault(name, types.ModuleType(name))
    return False


def _split(train: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Hold back the last ~10 % of the slices (at least 1) for validation; with a single
    slice, return None and let CAREamics take its validation patches from the training data."""
    z = train.shape[0]
    if z < 2:
        return train, None
    n_val = max(1, round(VAL_FRACTION * z))
    return train[: z - n_val], train[z - n_val:]


def run(workdir: Path) -> None:
    job = json.loads((workdir / "job.json").read_text())
    budget_s, threads = float(job["budget_s"]), max(1, int(job["threads"]))
    seed = int(job["seed"]) + 1  # CAREamics requires seeds > 0
    train = np.load(workdir / "train.npy").astype(np.float32, copy=False)
    test = np.load(workdir / "test.npy").astype(np.float32, copy=False)

    import torch
    torch.set_num_threads(threads)
    torchvision_ops = _import_torchvision_without_compiled_ops()
    import careamics
    from careamics import CAREamist
    from careamics.config import create_advanced_n2v_config

    fit, val = _split(train)
    config = create_advanced_n2v_config(
        experiment_name="peer_n2v", data_type="array", axes="SYX",
        patch_size=[PATCH, PATCH], batch_size=BATCH, num_epochs=EPOCH_CAP,
        use_n2v2=True, roi_size=ROI, masked_pixel_percentage=MASKED_PCT,
        num_workers=0,  # in-memory arrays; workers would only take CPU from training
        trainer_params={"max_time": {"seconds": budget_s}, "accelerator": "cpu", "devices": 1,
                        "enable_model_summary": False},
        logger="none", seed=seed)
    careamist = CAREamist(config, work_dir=workdir / "careamics", enable_progress_bar=False)

    t0 = time.perf_counter()
    careamist.train(train_data=fit, val_data=val)
    train_seconds = time.perf_counter() - t0
    trainer = careamist.trainer
    steps_per_epoch = int(trainer.num_training_batches)
    final_lr = float(trainer.optimizers[0].param_groups[0]["lr"])
    plateau = trainer.lr_scheduler_configs[0].scheduler if trainer.lr_scheduler_configs else None

    t0 = time.perf_counter()
    outputs, _ = careamist.predict(test, axes="SYX", data_type="array", tile_size=(TILE, TILE),
                                   tile_overlap=(OVERLAP, OVERLAP), num_workers=0)
    predict_seconds = time.perf_counter() - t0
    pred = np.concatenate([np.asarray(o, dtype=np.float32).reshape(-1, *test.shape[1:])
                           for o in outputs])
    if pred.shape != test.shape:
        raise RuntimeError(f"prediction shape {pred.shape} != test shape {test.shape}")
    if not np.isfinite(pred).all():
        raise RuntimeError("prediction has non-finite values")
    np.save(workdir / "pred.npy", pred)

    algo = config.algorithm_config
    norm = careamist.config.data_config.normalization.model_dump()
    info = {
        "careamics_version": careamics.__version__,
        "torch_version": torch.__version__,
        "torchvision_compiled_ops": torchvision_ops,
        "threads": torch.get_num_threads(),
        "epochs": round(trainer.global_step / max(1, steps_per_epoch), 2),  # fractional
        "steps": int(trainer.global_step),
        "steps_per_epoch": steps_per_epoch,
        "train_seconds": round(train_seconds, 2),
        "predict_seconds": round(predict_seconds, 2),
        "stopped_by": "epoch_cap" if trainer.current_epoch >= EPOCH_CAP else "max_time",
        "config": {
            "axes": "SYX", "patch_size": [PATCH, PATCH], "batch_size": BATCH,
            "n2v2": True, "masked_pixel_percentage": MASKED_PCT, "roi_size": ROI,
            "strategy": algo.n2v_config.strategy, "model": algo.model.architecture,
            "depth": algo.model.depth, "num_channels_init": algo.model.num_channels_init,
            "optimizer": algo.optimizer.model_dump(), "lr_scheduler": algo.lr_scheduler.model_dump(),
            "lr_schedule": None if plateau is None else {
                "name": type(plateau).__name__, "factor": getattr(plateau, "factor", None),
                "patience_epochs": getattr(plateau, "patience", None),
                "monitor": trainer.lr_scheduler_configs[0].monitor,
                "initial_lr": float(trainer.optimizers[0].defaults["lr"]), "final_lr": final_lr},
            "max_time_s": budget_s, "epoch_cap": EPOCH_CAP, "seed": seed,
            "train_slices": int(fit.shape[0]), "val_slices": int(0 if val is None else val.shape[0]),
            "tile": [TILE, TILE], "tile_overlap": [OVERLAP, OVERLAP],
            "normalization": norm,
        },
        "scale_check": {"input_mean": float(test.mean()), "input_std": float(test.std()),
                        "pred_mean": float(pred.mean()), "pred_std": float(pred.std()),
                        "train_mean": float(train.mean()), "train_std": float(train.std())},
    }
    (workdir / "info.json").write_text(json.dumps(info, indent=1, default=str) + "\n")


def check() -> None:
    """Import what :func:`run` imports and print the torch, CUDA and careamics versions."""
    import torch
    _import_torchvision_without_compiled_ops()
    import careamics
    from careamics import CAREamist  # noqa: F401
    from careamics.config import create_advanced_n2v_config  # noqa: F401

    print(torch.__version__, torch.version.cuda, careamics.__version__)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: careamics_n2v.py WORKDIR | --check", file=sys.stderr)
        return 2
    try:
        check() if argv[1] == "--check" else run(Path(argv[1]))
    except Exception as err:  # noqa: BLE001 - the caller shows this last line
        import traceback
        traceback.print_exc()
        print(f"{type(err).__name__}: {' '.join(str(err).split())}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
