"""The one vocabulary of long jobs: CancelToken, Progress, Message, the training events, RateMeter.

Long jobs are plain Python generators that yield these events and check a
:class:`CancelToken`. The CLI turns the events into a progress bar or printed
lines, the GUI into signals and plots (dispatching on the event's type); nothing
below the GUI ever sees a Qt object.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from emdenoise_gui.core.errors import Cancelled


class CancelToken:
    """A thread-safe flag a job polls between units of work (tiles, slices, steps).

    It also carries a pause: a job that supports pausing (training) calls
    :meth:`wait_while_paused` between steps, which blocks while paused until resumed or cancelled.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._going = threading.Event()
        self._going.set()

    def cancel(self) -> None:
        """Ask the job to stop at its next check; safe to call from any thread."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise :class:`Cancelled` if :meth:`cancel` has been called."""
        if self._event.is_set():
            raise Cancelled("cancelled by the user")

    def pause(self) -> None:
        """Hold the job at its next pause point; safe to call from any thread."""
        self._going.clear()

    def resume(self) -> None:
        """Let a paused job go on."""
        self._going.set()

    @property
    def paused(self) -> bool:
        return not self._going.is_set()

    def wait_while_paused(self, poll_s: float = 0.1) -> float:
        """Block while paused, until resumed or cancelled; the seconds spent waiting."""
        start = time.perf_counter()
        while not self._going.is_set() and not self._event.is_set():
            self._going.wait(poll_s)
        return time.perf_counter() - start


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` units of a stage finished (units: slices, tiles or steps)."""

    stage: str
    done: int
    total: int
    unit: str = "slice"


@dataclass(frozen=True)
class Message:
    """A line of text for the user's log (no progress information)."""

    text: str


@dataclass(frozen=True)
class Written:
    """A job's output file (or OME-Zarr folder) at ``path`` is complete under its final name: what a
    job may record as its result (a file found there later may be another program's)."""

    path: str


@dataclass(frozen=True, eq=False)
class PartialResult:
    """A first look before the whole result: ``image`` (Y, X) float32 on the stack's own scale,
    NaN where it is not computed yet (a preview shows the part on screen first)."""

    image: np.ndarray


# Training: what a run of training.engine yields, besides Message.


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
    """A fixed held-back crop: ``noisy`` and ``denoised``, (H, W) float32 on the [0, 1] working scale.
    ``kept``: denoised by the weights the package holds (the best validated, of ``step``), sent once after
    the package is written; the others come during the run, by the weights of that moment."""

    step: int
    noisy: np.ndarray = field(repr=False)
    denoised: np.ndarray = field(repr=False)
    kept: bool = False


@dataclass(frozen=True)
class History:
    """A resumed run's curves before this session: ``train`` ((step, losses by name), ...) and ``val`` ((step,
    metrics), ...), oldest first; the training steps thinned to at most a few thousand points
    (``training.curves``)."""

    train: tuple
    val: tuple


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


@dataclass
class RateMeter:
    """Measures units per second and the remaining time of a job from wall-clock time: the units done
    since ``start``, when ``base`` of them were done (a meter started at a job's first count leaves out
    the time that loaded its model and read its first slice)."""

    total: int
    start: float = field(default_factory=lambda: time.perf_counter())  # the clock as called (tests set it)
    base: int = 0

    def rate(self, done: int) -> float:
        """Units per second so far (0.0 before a unit beyond ``base``)."""
        elapsed = time.perf_counter() - self.start
        return (done - self.base) / elapsed if done > self.base and elapsed > 0 else 0.0

    def eta(self, done: int) -> float | None:
        """Seconds left, or ``None`` while there is no rate yet."""
        rate = self.rate(done)
        return (self.total - done) / rate if rate > 0 else None

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def run_to_end(gen):
    """Run a job generator to its end, ignoring its progress events; its return value."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def format_seconds(seconds: float | None) -> str:
    """``75.3`` -> ``'1:15'``; ``3725`` -> ``'1:02:05'``; ``None`` -> ``'--:--'``."""
    if seconds is None:
        return "--:--"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_duration(seconds: float) -> str:
    """"about 40 s", "about 4 min", "about 2.5 h" (rounded as a person would say it)."""
    if not math.isfinite(seconds) or seconds < 0:
        return "unknown"
    if seconds < 10:
        return "a few seconds"
    if seconds < 60:
        return f"about {round(seconds / 5) * 5} s"
    if seconds < 90 * 60:
        return f"about {max(1, round(seconds / 60))} min"
    return f"about {seconds / 3600:.1f} h"


@dataclass(frozen=True)
class Stage:
    """What a job is doing while it cannot count yet: ``text`` such as "loading model", "reading
    slice" or "first tile". A denoise job yields its stages before its first :class:`Progress`, so a
    display shows a busy indicator with this text instead of a 0 % that does not move."""

    text: str
