"""A run's loss curves kept in its checkpoints, so that a resumed run's page draws them from its first step.

The training page and the Jobs panel drew a resumed run's curves from the step it resumed at: the steps before
were gone with the session that made them. :class:`Curves` records each step's losses and each validation's
metrics, goes into every checkpoint (``"curves"``), and is handed back on resume as one ``events.History``.
The training steps are kept every ``every`` steps, ``every`` doubling (and every other point kept) whenever they pass
:data:`MAX_POINTS`, so a long run's checkpoint stays small (about 160 bytes a point) and its curve evenly sampled
from its first step to its last; the validations, far fewer, are all kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emdenoise_gui.core.events import History

#: Training-step points kept at most (about 160 bytes each in the checkpoint's JSON).
MAX_POINTS = 4000


def _numbers(values: dict) -> dict:
    """``values`` with its numbers as floats (a tensor's or numpy's too) and everything else left out."""
    kept = {}
    for name, value in values.items():
        try:
            kept[str(name)] = float(value)
        except (TypeError, ValueError):
            continue
    return kept


@dataclass
class Curves:
    """``train``: [step, {loss name: value}] of recorded steps, those a multiple of ``every`` (and the first);
    ``val``: [step, {metric: value}] of validations."""

    train: list = field(default_factory=list)
    val: list = field(default_factory=list)
    every: int = 1

    @classmethod
    def resumed(cls, state: dict | None) -> Curves:
        """The curves a checkpoint ``state`` kept (none: a new run, or one saved before curves were kept); points
        that are not [step, {name: number}] are left out."""
        saved = (state or {}).get("curves")
        saved = saved if isinstance(saved, dict) else {}

        def points(rows) -> list:
            rows = rows if isinstance(rows, list) else []
            return [[int(r[0]), _numbers(r[1])] for r in rows
                    if isinstance(r, list) and len(r) == 2 and isinstance(r[0], int) and isinstance(r[1], dict)]
        every = saved.get("every")
        return cls(points(saved.get("train")), points(saved.get("val")),
                   every if isinstance(every, int) and every >= 1 else 1)

    def step(self, step: int, losses: dict) -> None:
        """Record training step ``step``'s losses (step 1, and every ``every``-th step)."""
        if step % self.every and step != 1:
            return
        self.train.append([int(step), _numbers(losses)])
        if len(self.train) > MAX_POINTS:  # half as many points, evenly spread over the whole run
            self.every *= 2
            self.train = [p for p in self.train if p[0] % self.every == 0 or p[0] == 1]

    def validated(self, step: int, metrics: dict) -> None:
        self.val.append([int(step), _numbers(metrics)])

    def saved(self) -> dict:
        """What a checkpoint keeps (JSON)."""
        return {"train": self.train, "val": self.val, "every": self.every}

    def history(self) -> History | None:
        """The curves as the event a resumed run starts with; None when there are none."""
        if not self.train and not self.val:
            return None
        return History(tuple((s, dict(v)) for s, v in self.train), tuple((s, dict(v)) for s, v in self.val))
