"""Typed events a training run yields; the CLI prints them, the GUI plots them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Started:
    """The run is set up: ``total_steps`` to go from ``first_step``, on ``device``."""

    family: str
    config: str
    device: str
    parameters: int
    first_step: int
    total_steps: int


@dataclass(frozen=True)
class StepDone:
    """One optimiser step: losses by name, learning rate, speed (steps/s) and seconds left."""

    step: int
    total_steps: int
    losses: dict
    lr: float
    steps_per_s: float
    eta_s: float | None


@dataclass(frozen=True)
class Validated:
    """Metrics on the held-back data (e.g. ``val_loss``, ``val_psnr_db``)."""

    step: int
    metrics: dict


@dataclass(frozen=True)
class Preview:
    """A fixed held-back crop: ``noisy`` and ``denoised``, (H, W) float32 on the [0, 1] working scale."""

    step: int
    noisy: np.ndarray = field(repr=False)
    denoised: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class CheckpointSaved:
    step: int
    path: str


@dataclass(frozen=True)
class Finished:
    """Training ended; ``package`` is the written model package (None when cancelled)."""

    step: int
    package: str | None
    cancelled: bool = False
    checkpoint: str | None = None
