"""Learning-rate schedules: a multiplier of the base rate for every optimiser step.

A schedule is a small serialisable record so that a checkpoint resumes it exactly,
and so that resuming with a new total number of steps continues from the current
multiplier instead of jumping back up (:meth:`Schedule.rebase`).

Kinds:

* ``cosine``: linear warm-up over the first ``warmup`` fraction of the steps, then a
  cosine decay to ``floor`` at the last step (our default for every family).
* ``linear``: linear decay from 1 at step 0 to 0 after the last step (the cyclic GAN:
  "decreasing monotonically" from the start, models.md section 1).
* ``steps``: piecewise constant, ``levels[i]`` from fraction ``bounds[i]`` of the run on
  (Ede & Beanland: 1e-3, then 2.5e-4, then 1e-4 as multipliers 1, 0.25, 0.1).
* ``constant``: always 1.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

KINDS = ("cosine", "linear", "steps", "constant")
#: The multiplier a finished run's decayed rate is warmed back up to when it is trained on (a fine-tune's rate:
#: a third of the recipe's; ``Schedule.rebase``).
RESTART_FACTOR = 1 / 3
#: Ede & Beanland's low-dose run: 134,108 batches at 1e-3, 17,713 at 2.5e-4, 46,690 at 1e-4.
EDE_BOUNDS = (0.0, 134108 / 198511, (134108 + 17713) / 198511)
EDE_LEVELS = (1.0, 0.25, 0.1)


def _cosine(start: float, end: float, progress: float) -> float:
    """Half a cosine from ``start`` (progress 0) to ``end`` (progress >= 1)."""
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


@dataclass
class Schedule:
    """Multiplier of the base learning rate at each step of a run of ``total`` steps.

    warmup: fraction of the run spent warming up (cosine only). floor: final multiplier
    (cosine). bounds/levels: the ``steps`` kind. anchor_step/anchor_factor/ramp_end/ramp_start: set by
    :meth:`rebase`; from ``anchor_step`` on, the schedule rises from ``ramp_start`` to ``anchor_factor``
    until ``ramp_end`` (a warm-up a resume cut short) and decays from there; a ``steps`` schedule keeps
    its drops at the same fractions of the new total, never above ``anchor_factor``.
    """

    kind: str
    total: int
    warmup: float = 0.05
    floor: float = 0.02
    bounds: tuple = EDE_BOUNDS
    levels: tuple = EDE_LEVELS
    anchor_step: int = 0
    anchor_factor: float = 1.0
    ramp_end: int = 0
    ramp_start: float = 1.0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown schedule {self.kind!r}; choose one of {', '.join(KINDS)}")
        self.total = max(1, int(self.total))
        self.bounds, self.levels = tuple(self.bounds), tuple(self.levels)

    def _warm_steps(self) -> int:
        """Steps of an un-rebased cosine run's warm-up."""
        return max(1, int(round(self.warmup * self.total)))

    def _base(self, step: int) -> float:
        """The multiplier of an un-rebased run at ``step``."""
        t = min(max(step, 0), self.total) / self.total
        if self.kind == "constant":
            return 1.0
        if self.kind == "linear":
            return max(0.0, 1.0 - step / (self.total + 1.0))
        if self.kind == "steps":
            level = self.levels[0]
            for bound, value in zip(self.bounds, self.levels):
                if t >= bound:
                    level = value
            return level
        warm = self._warm_steps()
        if step < warm:
            return (step + 1) / warm
        return _cosine(1.0, self.floor, (step - warm) / max(1, self.total - warm))

    def factor(self, step: int) -> float:
        """The multiplier at ``step`` (0-based optimiser step)."""
        if self.anchor_step <= 0:
            return self._base(step)
        if self.kind == "steps":  # the drops at the same fractions of the new total, never back up
            return min(self.anchor_factor, self._base(step))
        if step < self.anchor_step:
            return self.anchor_factor
        if step < self.ramp_end:
            progress = (step - self.anchor_step) / (self.ramp_end - self.anchor_step)
            return self.ramp_start + (self.anchor_factor - self.ramp_start) * progress
        start = max(self.anchor_step, self.ramp_end)
        progress = min(1.0, (step - start) / max(1, self.total - start))
        end = 0.0 if self.kind == "linear" else self.floor if self.kind == "cosine" else self.anchor_factor
        end = min(end, self.anchor_factor)
        if self.kind == "linear":
            return self.anchor_factor + (end - self.anchor_factor) * progress
        return _cosine(self.anchor_factor, end, progress)

    def rebase(self, step: int, new_total: int) -> None:
        """Continue from ``step`` towards a new total: the multiplier carries on from where it is, never jumping
        back up (a finished run trained on warms up again to :data:`RESTART_FACTOR`, then decays anew). A warm-up
        the run had not finished goes on to its peak first (over what was left of it, at most the warm-up
        fraction of the steps to come): a run stopped at step 15 of a 100-step warm-up and resumed with another
        total stayed at 16 % of its rate for good."""
        if new_total == self.total:
            return
        current = self.factor(step)
        if step >= self.total and self.kind in ("cosine", "linear") and new_total > step:
            # a finished run trained on: its rate had decayed to the floor, and every extra step ran at 2 % of it
            # (training audit of 2026-12-07); warmed back up to a fine-tune's rate, then decayed anew
            self.anchor_step, self.total = max(1, step), int(new_total)
            left = max(1, int(round(max(self.warmup, 0.05) * (self.total - self.anchor_step))))
            self.ramp_start, self.anchor_factor = current, max(current, RESTART_FACTOR)
            self.ramp_end = self.anchor_step + left
            return
        anchored = self.anchor_step > 0
        warm_end = (self.ramp_end if anchored else self._warm_steps()) if self.kind == "cosine" else 0
        peak = self.anchor_factor if anchored else 1.0
        self.anchor_step = max(1, step)
        self.total = max(int(new_total), self.anchor_step + 1)
        if step < warm_end and current < peak:
            left = min(warm_end - step, max(1, int(round(self.warmup * (self.total - self.anchor_step)))))
            self.ramp_start, self.anchor_factor, self.ramp_end = current, peak, self.anchor_step + left
        else:
            self.anchor_factor, self.ramp_end = current, 0

    def freeze_step(self) -> int | None:
        """The step where a ``steps`` schedule first drops (Ede: BatchNorm is frozen there)."""
        if self.kind != "steps" or len(self.bounds) < 2:
            return None
        return int(round(self.bounds[1] * self.total))

    def to_dict(self) -> dict:
        """The fields (a ramp's only while one is set: a checkpoint without stays readable by versions before
        them, whose Schedule(**data) refuses a field it does not know)."""
        data = asdict(self)
        if not self.ramp_end:
            del data["ramp_end"], data["ramp_start"]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Schedule":
        return cls(**data)
