"""Training jobs the CLI's ``train``, ``resume`` and ``denoise --adapt`` and the app start.

:func:`train_job` and :func:`resume_job` run ``training.engine`` for a RunSpec or a
checkpoint and yield its typed events (``core.events``). Self-training on the stack to
denoise is the route for data no shipped model fits: ``adapt_spec`` describes a self-supervised run (NRRN with a blind spot in the centre slice
and its neighbours intact, or Noise2Void) on the input stack itself, optionally starting from a zoo model of
that family, whose package goes to the user's zoo under a name derived from the stack.
"""

from __future__ import annotations

import os
from pathlib import Path

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.events import CancelToken
from emdenoise_gui.jobs.advise import default_name
from emdenoise_gui.models.registry import ADAPT_FAMILIES, FAMILIES
from emdenoise_gui.training.spec import RunSpec
from emdenoise_gui.zoo.fit import stack_fingerprint
from emdenoise_gui.zoo.registry import (
    list_entries,
    run_checkpoint,
    start_config,
    user_dir,
    zoo_folder_error,
)


def train_job(spec: RunSpec):
    """``make(token)``: run the training engine for a RunSpec; yields its typed events."""

    def make(token: CancelToken):
        from emdenoise_gui.training.engine import train

        yield from train(spec, token)

    return make


def resume_job(checkpoint: str | Path, steps: int | None = None, device: str | None = None):
    """``make(token)``: continue the run saved in ``checkpoint`` (to a new total of ``steps``; on ``device``,
    None: the one it was started with)."""
    checkpoint = Path(os.path.abspath(checkpoint))  # `resume .`: the folder needs its own name

    def make(token: CancelToken):
        from emdenoise_gui.training.engine import resume

        yield from resume(checkpoint, token, steps=steps, device=device)

    return make


#: ``init`` value that starts from a fresh network instead of a shipped model.
SCRATCH = "scratch"


def default_init(family: str) -> str:
    """The shipped lite model of ``family`` to start self-training from ("" if none ships).

    Starting from it is what makes ten minutes enough: on the quality benchmark's dose-25
    FIB-SEM stack, 600 blind-spot steps reach 30.53 dB from the shipped NRRN, 21.71 dB from scratch.
    """
    for entry in list_entries():
        card = entry.package.card if entry.package else None
        if entry.shipped and card and card.family == family and card.config == "lite":
            return str(entry.path)
    return ""


def adapt_name(stack: str | Path, family: str) -> str:
    """Zoo name of the model self-trained on ``stack``: '<stem>-<family>-adapted', unique in the zoo."""
    return default_name(stack, family, "adapted")


def adapt_spec(stack: str | Path, family: str, steps: int | None = None, init: str = "",
               device: str = "auto", seed: int = 0) -> RunSpec:
    """The validated RunSpec that self-trains ``family`` on ``stack`` into the user's zoo.

    ``init``: a package to start from; "" picks the shipped model of the family (if any),
    ``SCRATCH`` a fresh network.
    """
    if family not in ADAPT_FAMILIES:
        raise InputError(f"--adapt {family}: self-training works with {' or '.join(ADAPT_FAMILIES)} (they need no "
                         "clean data)")
    stack = Path(stack)
    init = "" if init == SCRATCH else (init or default_init(family))
    name = adapt_name(stack, family)
    folder = user_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # it stopped with an internal error
        raise zoo_folder_error(exc, "self-train into the zoo") from None
    notes = {"adapted_to": f"{stack.name} ({stack_fingerprint(stack)})",
             "note": "self-trained on the stack it denoises (its validation field says on which slices)"}
    steps = FAMILIES[family].adapt_steps if steps is None else steps  # 0 is refused by validated(), not a default
    config = (start_config(init, family) if init else None) or "lite"  # a start model's size
    spec = RunSpec(family=family, config=config, steps=steps, data={"noisy": [str(stack)]},
                   output=str(folder / name), name=name, init=init, device=device, seed=seed, notes=notes,
                   validate_every=100, checkpoint_every=100, checkpoint_dir=str(run_checkpoint(name)),
                   objective="blind-spot", crop=_adapt_crop(stack, family))
    return spec.validated()


def _adapt_crop(stack: Path, family: str) -> int | None:
    """The training crop (px) for self-training on ``stack``: None (the family's lite default) unless the slices
    are smaller, then their shorter side rounded down to a multiple of 16 (``denoise --adapt`` has no --crop to
    choose one); slices under ``MIN_CROP`` are left for the data loader to refuse."""
    from emdenoise_gui.core.io import open_stack
    from emdenoise_gui.training.data import MIN_CROP

    try:
        with open_stack(stack) as opened:
            side = min(opened.shape[1:])
    except InputError:
        return None  # the training job names what is wrong with the file
    default = FAMILIES[family].configs["lite"].crop
    return None if side >= default or side < MIN_CROP else side // 16 * 16
