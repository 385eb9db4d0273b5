"""The training loop shared by every family: events, cancel, checkpoints, resume, export.

``train(spec, cancel)`` and ``resume(checkpoint, cancel)`` are generators of
:mod:`~emdenoise_gui.core.events`. The cancel token is checked before every
step, so a run stops within one step; a cancelled run saves a checkpoint. A paused token
(``CancelToken.pause``) holds the run between steps; paused time does not count as training time.
Step k draws its crops from ``default_rng([seed, k])`` and checkpoints hold
the models, optimisers, schedulers and history pools, so resuming gives the
same losses as an uninterrupted run (on the same device). Each step's data are
drawn one step ahead on a background thread (:class:`SampleAhead`) while the
current step computes; the numbers are those of drawing them in line.

A step's losses stay on the device until they are read (:func:`loss_read_every`): on a GPU
every read waits for the device, so losses are read ten steps at a time (and before every
validation, checkpoint and cancel) and each step's ``StepDone`` comes then; a loss that is no
longer finite stops the run at that read, before anything is saved. On the CPU every step is read.
"""

from __future__ import annotations

import math
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from emdenoise_gui.core import atomic
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.events import (
    CancelToken,
    CheckpointSaved,
    Finished,
    Message,
    Preview,
    RateMeter,
    Stage,
    Started,
    StepDone,
    Validated,
)
from emdenoise_gui.models.device import device_label, pick_device
from emdenoise_gui.training.checkpoint import load_checkpoint, save_checkpoint
from emdenoise_gui.training.curves import Curves
from emdenoise_gui.training.data import data_fingerprint
from emdenoise_gui.training.memory_guard import check_fits
from emdenoise_gui.training.run_lock import training_lock
from emdenoise_gui.training.spec import RunSpec


def loss_read_every(device: torch.device) -> int:
    """Steps whose losses are read back together: 1 on the CPU (reading costs nothing there), 10 on a
    GPU, where each read makes the host wait for the device instead of queueing the next step."""
    return 1 if device.type == "cpu" else 10


def _make_trainer(spec: RunSpec, device: torch.device, resumed_init: dict | None = None):
    from emdenoise_gui.training.trainers import trainer_class

    return trainer_class(spec.family)(spec, device, resumed_init)


def _checkpoint_dir(spec: RunSpec) -> Path:
    if spec.checkpoint_dir:
        return Path(spec.checkpoint_dir)
    out = Path(spec.output)
    return out.with_name(out.name + ".checkpoint")


def _state(spec: RunSpec, trainer, step: int, wall_s: float = 0.0, files: dict | None = None,
           sessions: Sessions | None = None, curves: Curves | None = None) -> dict:
    """A checkpoint's content; ``files``: :func:`data_fingerprint` of the data the run began on; ``sessions``:
    which device trained which of its steps (:meth:`Sessions.upto`); ``curves``: its losses so far."""
    return {"spec": spec.to_dict(), "step": step, "trainer": trainer.state(), "wall_s": wall_s,
            "data_files": files or {}, "devices": sessions.upto(step) if sessions else [],
            "curves": curves.saved() if curves else {}}


@dataclass(frozen=True)
class Sessions:
    """Which device trained which steps of a run: ``earlier``, the [device, first step, last step] of each
    session before this one (a checkpoint's "devices"; device "" where a checkpoint of a version before they were
    kept did not say), and this session's ``device`` (``str(torch.device)``: "cpu", "cuda:1") from step
    ``first``. A resume on another device (``resume --device``) is a session of its own; the run's spec keeps
    the device it was started with."""

    earlier: tuple
    device: str
    first: int

    @classmethod
    def resumed(cls, state: dict | None, device: torch.device, first: int) -> Sessions:
        """This session's, after those a checkpoint ``state`` recorded (None: a new run)."""
        recorded = (state or {}).get("devices")
        valid = isinstance(recorded, list) and all(
            isinstance(s, list) and len(s) == 3 and isinstance(s[0], str) and all(isinstance(v, int) for v in s[1:])
            for s in recorded)
        earlier = [tuple(s) for s in recorded] if valid and recorded else [("", 0, first)] if first else []
        if device.type == "cuda" and device.index is None:  # "cuda" and "cuda:0" are one GPU: one name on the card
            device = torch.device("cuda", torch.cuda.current_device())
        return cls(tuple(earlier), str(device), first)

    def upto(self, step: int) -> list:
        """[device, first step, last step] of every session up to ``step`` (steps counted from 0, the last
        one done): a checkpoint's "devices"."""
        now = [(self.device, self.first, step)] if step > self.first else []
        return [list(s) for s in (*self.earlier, *now)]

    def words(self, step: int) -> str:
        """The card's ``device`` after ``step`` steps: "cuda:0" for a run on one device; "cuda:0 for steps 1-400,
        cpu for steps 401-800" for several (steps counted from 1), "not recorded" for a device no checkpoint
        kept."""
        merged: list[list] = []
        for device, first, last in self.upto(step):
            if merged and merged[-1][0] == device and merged[-1][2] == first:
                merged[-1][2] = last
            else:
                merged.append([device, first, last])
        if len(merged) == 1 and merged[0][0]:
            return merged[0][0]
        return ", ".join(f"{device or 'not recorded'} for steps {first + 1}-{last}" for device, first, last in merged)


class SampleAhead:
    """Draws ``trainer.sample(k, default_rng([seed, k]))`` for the next step on a background thread.

    ``take(k)`` returns (batch, rng) of step k, the rng ready for ``learn``; then step k + 1 is
    drawn while k computes. ``close()`` drops what is in flight (a resumed run draws it again).
    """

    def __init__(self, trainer, seed: int, last: int):
        self.trainer, self.seed, self.last = trainer, seed, last
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emdenoise-sample")
        self._next: tuple[int, object] | None = None

    def _draw(self, step: int):
        rng = np.random.default_rng([self.seed, step])
        return self.trainer.sample(step, rng), rng

    def take(self, step: int):
        if self._next is not None and self._next[0] == step:
            batch, rng = self._next[1].result()
        else:
            batch, rng = self._draw(step)
        self._next = (step + 1, self._pool.submit(self._draw, step + 1)) if step + 1 < self.last else None
        return batch, rng

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _check_writable(folder: Path, output: Path) -> None:
    """InputError before the first step if nothing can be written in ``folder`` (read-only, no permission)."""
    try:
        atomic.probe_writable(folder)
    except OSError as exc:
        from emdenoise_gui.paths import user_models_dir

        fix = ("make it writable, or point EMDENOISE_HOME at a folder you can write to (the zoo is its models/)"
               if folder.resolve() == user_models_dir().resolve() else "choose another output folder")
        raise InputError(f"cannot be written: the folder {folder} is read-only or not yours ({exc.strerror}); "
                         f"{fix}", output) from None


#: Names -o must not end in: a package is a folder, and one named like a file read as one
FILE_SUFFIXES = (".zip", ".tif", ".tiff", ".mrc", ".map", ".zarr", ".json")
#: The "-800steps" a longer run of a finished one adds to its package's name.
_STEPS_SUFFIX = re.compile(r"-\d+steps$")


def train(spec: RunSpec, cancel: CancelToken | None = None, _resume_state: dict | None = None
          ) -> Iterator[object]:
    """Run ``spec`` (validated here), yielding events; writes the package to ``spec.output``."""
    spec = spec.validated()
    if not spec.output:
        raise InputError("give the output model package with -o PACKAGE")
    output = Path(spec.output)
    if output.suffix.lower() in FILE_SUFFIXES:  # it wrote a folder named m.zip (or .tif) and said so, exit 0
        raise InputError(f"-o names the model package, a folder: leave out {output.suffix} (a zip of it is made "
                         f"by 'emdenoise zoo export')", output)
    continues = (spec.notes or {}).get("continues") if _resume_state is not None else None
    if continues or (output.exists() and _resume_state is not None and _resume_state.get("finished")):
        # a longer run of a finished one: a package of its own, "NAME-800steps", by folder and by card name,
        # named for the total it now trains to; the finished run's name is kept in the checkpoint (and the
        # card, as "continues"), so the run resumes into it after an interruption, with any new --steps
        continues = continues or _STEPS_SUFFIX.sub("", spec.name or output.name)
        output = output.with_name(f"{_STEPS_SUFFIX.sub('', output.name)}-{spec.steps}steps")
        spec.output, spec.name = str(output), f"{continues}-{spec.steps}steps"
        spec.notes = {**(spec.notes or {}), "continues": continues}
        _check_longer_name(spec.name, output)
    if not output.parent.is_dir():
        raise InputError(f"{output.parent} is a file, not a folder: choose another place for the model" if
                         output.parent.exists() else f"the folder {output.parent} does not exist; create it first",
                         output)
    _check_writable(output.parent, output)
    # no other run writes this package, or its checkpoint (two longer runs of one finished run share it)
    with training_lock(output), training_lock(_checkpoint_dir(spec)):
        yield from _locked(spec, output, cancel, _resume_state)


def _check_longer_name(name: str, output: Path) -> None:
    """InputError, before any step, when a longer run's package name ``name`` (the finished run's and
    "-NNNsteps") is not a valid model name, or is another model's in the zoo its ``output`` joins: the run
    wrote a package the zoo then listed as unusable, or a second model of one name (zoo audit of 2026-12-07)."""
    from emdenoise_gui.zoo.card import NAME_RULE, valid_model_name
    from emdenoise_gui.zoo.registry import name_taken, user_dir

    if not valid_model_name(name):
        raise InputError(f"the longer run's model would be named '{name}', and {NAME_RULE}: train it anew under a "
                         "shorter --name with --init from the finished model", output)
    in_zoo = output.parent.resolve() == user_dir().resolve()
    taken = name_taken(name) if in_zoo and not output.exists() else ""
    if taken:
        raise InputError(f"the longer run's model would be named '{name}', but {taken}: delete or rename that one "
                         "first, or give another --steps", output)


def _locked(spec: RunSpec, output: Path, cancel: CancelToken | None, _resume_state: dict | None
            ) -> Iterator[object]:
    """:func:`train` once ``output`` is checked and its training lock held."""
    if output.exists():  # checked with the lock held: a run that ended just before this one wrote it
        raise InputError("already exists; " + ("choose another name for the model package" if _resume_state is None
                                               else "move or rename it, then resume again"), output)
    ckpt = _checkpoint_dir(spec)
    if _resume_state is None and os.path.lexists(ckpt):  # a fresh run must not replace it
        raise InputError("already exists (a previous run's checkpoint, or another file): continue that run with "
                         "'emdenoise resume', or move it away first", ckpt)
    cancel = cancel or CancelToken()
    torch.manual_seed(spec.seed)
    # a resume's --device holds for this session only (the spec, saved in every checkpoint, keeps the run's own)
    device = pick_device((_resume_state or {}).get("session_device") or spec.device)
    check_fits(spec.family, spec.config, spec.batch_size, spec.crop, device)  # before any data is drawn
    # a resumed run: the start model's facts it saved ({} when it saved none: an older run)
    resumed_init = None if _resume_state is None else (_resume_state.get("trainer", {}).get("init") or {})
    trainer = _make_trainer(spec, device, resumed_init)
    # what the data was when the run began: a resume refuses files replaced since (resume() compares)
    files = data_fingerprint(spec.data) if _resume_state is None else _resume_state.get("data_files")
    first, wall_before = 0, 0.0
    if _resume_state is not None:
        trainer.load_state(_resume_state["trainer"])
        first = int(_resume_state["step"])
        wall_before = float(_resume_state.get("wall_s", 0.0))
        trainer.rebase_schedule(first, spec.steps)
    yield Started(spec.family, spec.config, device_label(device), trainer.parameter_count(), first, spec.steps)
    meter = RateMeter(spec.steps - first)
    sessions = Sessions.resumed(_resume_state, device, first)
    curves = Curves.resumed(_resume_state)
    if (history := curves.history()) is not None:  # a resumed run's page draws its curves from the first step
        yield history

    def wall_s() -> float:  # training time of the whole run, resumed parts included
        return wall_before + meter.elapsed()

    ahead = SampleAhead(trainer, spec.seed, spec.steps)
    try:
        yield from _steps(spec, trainer, ahead, first, cancel, ckpt, meter, wall_s, output, files, sessions, curves)
    finally:
        ahead.close()


def _steps(spec, trainer, ahead, first, cancel, ckpt, meter, wall_s, output: Path, files: dict,
           sessions: Sessions, curves: Curves) -> Iterator[object]:
    """The loop of :func:`train` from step ``first``: steps, validation, checkpoints (with ``files``, the
    data's fingerprint, ``sessions``, the devices of the steps, and ``curves``, its losses), export to
    ``output``."""
    step, pending, every = first, [], loss_read_every(trainer.device)
    while step < spec.steps:
        if cancel.paused:  # show every finished step while the run waits
            yield from _read_losses(pending, spec, meter, first, curves)
        meter.start += cancel.wait_while_paused()  # paused time is neither training time nor in the rate
        if cancel.cancelled:
            yield from _read_losses(pending, spec, meter, first, curves)
            save_checkpoint(ckpt, _state(spec, trainer, step, wall_s(), files, sessions, curves))
            yield CheckpointSaved(step, str(ckpt))
            yield Finished(step, None, cancelled=True, checkpoint=str(ckpt))
            return
        batch, rng = ahead.take(step)
        losses = trainer.learn(step, batch, rng)
        step += 1
        pending.append((step, losses, trainer.lr()))
        validate = step % spec.validate_every == 0 or step == spec.steps
        checkpoint = step % spec.checkpoint_every == 0 or step == spec.steps
        if len(pending) >= every or validate or checkpoint:
            yield from _read_losses(pending, spec, meter, first, curves)
        if validate:
            scores = trainer.validate()
            _check_converging({k: v for k, v in scores.items() if "loss" in k}, spec, step, "held-back ")
            trainer.observe(step, scores)
            curves.validated(step, scores)
            yield Validated(step, scores)
            noisy, denoised = trainer.preview()
            yield Preview(step, noisy, denoised)
        if checkpoint:  # the last one lets a run go on later
            save_checkpoint(ckpt, _state(spec, trainer, step, wall_s(), files, sessions, curves))
            yield CheckpointSaved(step, str(ckpt))
    if trainer.self_supervised:  # about 70 s for a paper-size NRRN on two CPU cores, said rather than silent
        where = ("held-back slices" if getattr(trainer, "any_held_back", False)
                 else "its training slices (too few to hold any back: only a clear failure counts)")
        yield Stage(f"estimating the error the model leaves on {where}")
    try:
        package = trainer.export(output, steps=step, wall_s=wall_s(), device=sessions.words(step))
    except InputError as exc:  # a full disk, a disk error: the run is done, its last checkpoint holds it
        raise InputError(f"{exc.problem.removesuffix('. Nothing was written')}; the finished training is kept "
                         f"in its checkpoint {ckpt}: resume it to save the model", exc.path) from None
    noisy, denoised = trainer.preview()  # by the weights written (the best validated), not the last step's
    yield Preview(trainer.best["step"] if trainer.best else step, noisy, denoised, kept=True)
    yield Finished(step, str(package.path))


#: the largest loss a working run shows: every family's losses compare normalised intensities (about 1 and
#: below); beyond this the weights have blown up (a learning rate of 1 reached 1e18 in two steps, finite)
DIVERGED_LOSS = 1e6


def _check_converging(losses: dict, spec: RunSpec, step: int, which: str = "") -> None:
    """InputError when a loss of ``losses`` (name -> float) is not finite or beyond :data:`DIVERGED_LOSS`:
    the run diverged, and a model exported from it would be garbage (exit 0 with a broken package)."""
    for value in losses.values():
        if not math.isfinite(value) or abs(value) > DIVERGED_LOSS:
            what = "no longer a finite number" if not math.isfinite(value) else f"{value:.3g}"
            raise InputError(f"training diverged at step {step}: the {which}loss is {what}. No model was "
                             f"written; train again with a lower learning rate (this run used {spec.lr:g})")


def _read_losses(pending: list, spec: RunSpec, meter: RateMeter, first: int, curves: Curves
                 ) -> Iterator[StepDone]:
    """Read the (step, losses, lr) of ``pending`` steps back from the device (losses: name -> 0-d tensor
    or float), record them in ``curves``, yield a StepDone for each and empty the list. InputError at the first
    loss that shows the run diverged (:func:`_check_converging`).
    The rate and time left are the group's (its last step's): earlier steps of a group finished no sooner."""
    if not pending:
        return
    last = pending[-1][0]
    rate, eta = meter.rate(last - first), meter.eta(last - first)
    for step, losses, lr in pending:
        values = {name: float(value) for name, value in losses.items()}
        _check_converging(values, spec, step)
        curves.step(step, values)
        yield StepDone(step, spec.steps, values, lr, rate, eta)
    pending.clear()


def resume(checkpoint: str | Path, cancel: CancelToken | None = None, steps: int | None = None,
           device: str | None = None) -> Iterator[object]:
    """Continue the run saved in ``checkpoint`` (optionally to a new total of ``steps``, on ``device``: "auto",
    "cpu", "cuda", ...; None: the device it was started with. A run stopped on a GPU goes on on a laptop's CPU,
    and the app's device setting holds for a resume as for a new run). ``device`` holds for this session only:
    the run keeps the device it was started with for a later resume without one (a resume on the CPU made
    every later one of a GPU run go on on the CPU)."""
    notes: list[str] = []
    state = load_checkpoint(Path(checkpoint), notes)
    for note in notes:
        yield Message(note)
    spec = RunSpec.from_dict(state["spec"])
    state["session_device"] = device  # read by train(), not saved
    if device is None:  # "--device cuda:1: no CUDA GPU" named a flag the user never typed (device audit)
        from emdenoise_gui.models.device import pick_device

        try:
            pick_device(spec.device)
        except InputError:
            raise InputError(f"this run was started on '{spec.device}', which this computer cannot use: resume it "
                             "with --device cpu or --device auto (the app resumes it on Settings ▸ Device)") from None
    _check_same_data(state.get("data_files") or {})
    if spec.family == "nrrn" and not spec.neighbours and not spec.init:
        spec.neighbours = "pair"  # saved before runs recorded their choice: every fresh NRRN then had two branches
    if spec.family == "cyclic" and not spec.clean_output and not spec.init:
        spec.clean_output = "direct"  # saved before runs recorded it: every cyclic G2 was the paper's then
    done = int(state["step"]) >= spec.steps
    if done and not Path(spec.output).exists() and steps in (None, spec.steps):
        # it trained to the end, then writing its model failed (a full disk): write it from the checkpoint
        yield Message(f"this run finished its {spec.steps:,} steps but its model was not written: writing it now")
        state["finished"] = False
        spec.checkpoint_dir = str(checkpoint)
        yield from train(spec, cancel, _resume_state=state)
        return
    state["finished"] = done  # its package was written; a longer run gets a new name
    spec.checkpoint_dir = str(checkpoint)
    if steps is not None:
        spec.steps = steps
    if int(state["step"]) >= spec.steps:
        how = "already finished" if state["finished"] else "stopped"
        raise InputError(f"this run {how} at step {state['step']}; give a --steps above {state['step']} to train on",
                         checkpoint)
    yield from train(spec, cancel, _resume_state=state)


def _check_same_data(recorded: dict) -> None:
    """InputError when a file the run began on (``recorded``: its :func:`data_fingerprint`; empty for a run
    saved before they were kept) is now another stack or holds other values: resuming would go on learning
    from other data than the card will name."""
    if not recorded:
        return
    now = data_fingerprint({"data": [p for p in recorded if os.path.exists(p)]})

    def shape_and_type(fingerprint: str) -> str:  # "4x64x64 uint16 <digest>" -> "4 x 64 x 64 uint16"
        shape, dtype = fingerprint.split()[:2]
        return f"{shape.replace('x', ' x ')} {dtype}"

    for path, was in recorded.items():
        if path in now and now[path] != was:
            raise InputError(f"has changed since this run began on it ({shape_and_type(was)} then, "
                             f"{shape_and_type(now[path])} now, or other values): put the original back to "
                             "resume, or start a new run (emdenoise train) on it", path)


#: A cost measurement times steps for at least this long (s; two steps of NRRN lite, 0.8 s, read its rate
#: 20 % low) ...
PROBE_MIN_S = 2.0
#: ... and at most this many steps.
PROBE_MAX_STEPS = 50


@dataclass(frozen=True)
class Costs:
    """What a run of a spec costs on its device, measured (s; steps in steps per second): the wizard turns a
    time budget into steps with all of it (steps alone planned 5 min runs that took 6.8)."""

    steps_per_s: float
    setup_s: float  # the data read and the network built, before the first step
    validation_s: float  # one validation on the held-back data, with its preview
    checkpoint_s: float  # one checkpoint written


def measure_rate(spec: RunSpec, steps: int = 3, cancel: CancelToken | None = None) -> float:
    """Optimiser steps per second of ``spec`` on its device (its data loaded, one warm-up step, then
    ``steps`` timed steps of drawing and learning); nothing is written. NaN if cancelled."""
    trainer, _ = _probe_trainer(spec)
    return _timed_steps(trainer, spec, steps, cancel or CancelToken())


def measure_costs(spec: RunSpec, steps: int = 3, cancel: CancelToken | None = None,
                  min_s: float = PROBE_MIN_S) -> Costs | None:
    """:class:`Costs` of ``spec``: as :func:`measure_rate`, timing at least ``steps`` steps and ``min_s``
    seconds of them, then one validation with its preview and one checkpoint (written to a temporary folder,
    removed). None if cancelled."""
    cancel = cancel or CancelToken()
    start = time.perf_counter()
    trainer, spec = _probe_trainer(spec)
    setup_s = time.perf_counter() - start
    rate = _timed_steps(trainer, spec, steps, cancel, min_s)
    if math.isnan(rate) or cancel.cancelled:
        return None
    start = time.perf_counter()
    trainer.validate()
    trainer.preview()
    validation_s = time.perf_counter() - start
    return Costs(rate, setup_s, validation_s, _checkpoint_seconds(spec, trainer, steps))


def _checkpoint_seconds(spec: RunSpec, trainer, step: int) -> float:
    """Seconds to write one checkpoint of ``trainer`` into a temporary folder that is removed (not beside the
    run's own: a probe a crash left there would sit in the user's zoo); 0.0 where it cannot be written (a full
    temporary disk): the measurement must not stop a training whose own disk may have room."""
    import tempfile

    try:
        with tempfile.TemporaryDirectory(prefix="emdenoise-probe-") as folder:
            start = time.perf_counter()
            save_checkpoint(Path(folder) / "run.checkpoint", _state(spec, trainer, step, 0.0, {}))
            return time.perf_counter() - start
    except (OSError, InputError):
        return 0.0


def _probe_trainer(spec: RunSpec):
    """(the trainer of ``spec`` on its device, the validated spec), for a measurement."""
    spec = RunSpec.from_dict(spec.to_dict()).validated()
    torch.manual_seed(spec.seed)
    device = pick_device(spec.device)
    check_fits(spec.family, spec.config, spec.batch_size, spec.crop, device)
    return _make_trainer(spec, device), spec


def _timed_steps(trainer, spec: RunSpec, steps: int, cancel: CancelToken, min_s: float = 0.0) -> float:
    """Steps per second of ``trainer``: one warm-up step, then at least ``steps`` timed ones and on until
    ``min_s`` seconds have passed (at most :data:`PROBE_MAX_STEPS`); NaN if cancelled."""
    start, step = None, 0
    while True:
        if cancel.cancelled:
            return float("nan")
        rng = np.random.default_rng([spec.seed, step])
        losses = trainer.learn(step, trainer.sample(step, rng), rng)
        _ = [float(v) for v in losses.values()]  # reading a loss waits for the device: the step is done, not queued
        if step == 0:
            start = time.perf_counter()
        elapsed = time.perf_counter() - start
        if step >= steps and (elapsed >= min_s or step >= PROBE_MAX_STEPS):
            return step / max(elapsed, 1e-9)
        step += 1
