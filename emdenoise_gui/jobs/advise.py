"""What the training wizard advises, Qt-free: which family for which data, where to start, how long.

The wizard (``gui/wizard``) asks "what data do you have?" in a microscopist's words and turns
the answer, the stack's measured adjacent-slice similarity (``core.assess``), the estimated
dose of the user's noisy data and a time budget into a validated :class:`RunSpec`. The same
functions are plain Python so the advice is tested without a display.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from emdenoise_gui.core import assess
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.models.registry import CONFIG_NAMES, FAMILIES
from emdenoise_gui.paths import file_name_part
from emdenoise_gui.training.spec import RunSpec
from emdenoise_gui.zoo.registry import (
    list_entries,
    run_checkpoint,
    start_config,
    user_dir,
)

#: Adjacent-slice similarity (``core.assess.adjacent_similarity``) from which NRRN can learn:
#: the FlyEM FIB-SEM volumes give 0.97, ssTEM sections 50 nm apart 0.2-0.33.
SIMILAR_ENOUGH = assess.ALIKE


@dataclass(frozen=True)
class DataKind:
    """An answer to "what data do you have?": the family it leads to and why, in one sentence."""

    key: str
    family: str
    label: str
    why: str
    #: cyclic only: train on clean images with these synthetic artifacts (``RunSpec.artifacts``)
    artifacts: str = ""


DATA_KINDS = (
    DataKind("alike-slices", "nrrn",
             "A stack whose neighbouring slices look alike (FIB-SEM, serial block-face), or repeat scans",
             "NRRN learns what is noise from the differences between neighbouring slices, so it needs no "
             "clean images."),
    DataKind("single-noisy", "n2v",
             "Only noisy images: single images, or a stack whose slices differ (ssTEM sections)",
             "Noise2Void learns from the noisy images alone; it removes pixel noise, not streaks or charging."),
    DataKind("clean-micrographs", "xception",
             "Clean high-dose micrographs of the same kind of sample",
             "Xception learns shot noise: it adds realistic Poisson noise at your dose to your clean images."),
    DataKind("clean-and-blank", "cyclic",
             "Clean reference images, plus noisy images that have blank regions (resin, empty film)",
             "The cyclic GAN learns artifacts no formula describes (film grain, charging) from examples of "
             "the noise alone, taken from the blank regions."),
    DataKind("clean-artifacts", "cyclic",
             "Clean reference images, and noisy images that show uneven shading (film) or charging blobs",
             "The cyclic model learns to remove film shading and charging from your clean images with these "
             "artifacts drawn on them; it needs no noisy images and no blank regions.", artifacts="film,charge"),
)
KINDS = {kind.key: kind for kind in DATA_KINDS}

#: A new artifacts run's shot noise (``RunSpec.shot_noise``, the share of samples) and its doses (counts per
#: pixel at the slice mean): the shipped ``flyem-cyclic-artifacts`` recipe's last step, since real film and
#: charging come with shot noise (docs/benchmarks.md, "the cyclic model's clean output"; on half the samples
#: film without noise lost 1.8 dB, 35 % kept most of it: "the share of shot noise").
ARTIFACT_SHOT_NOISE = 0.35
ARTIFACT_SHOT_DOSE = (15.0, 300.0)

#: Time budgets the wizard offers: label -> seconds of training.
BUDGETS = {"a few minutes": 5 * 60, "about an hour": 60 * 60, "overnight (8 hours)": 8 * 60 * 60}
#: Bounds on the number of steps a budget may ask for.
MIN_STEPS, MAX_STEPS = 20, 500_000


def suggest_kind(similarity: float | None) -> str:
    """The data-kind key to preselect for a stack: alike neighbours -> NRRN, otherwise Noise2Void."""
    return "alike-slices" if similarity is not None and similarity >= SIMILAR_ENOUGH else "single-noisy"


def similarity_text(similarity: float | None, family: str, depth: int = 1) -> tuple[str, bool]:
    """(one line about the stack's neighbouring slices, whether it is a warning for ``family``); ``depth``:
    the stack's slices (a similarity of None with more than one could not be measured)."""
    if similarity is None and depth > 1:
        return ("Neighbouring slices could not be compared (they are flat, or hold NaN or infinite pixels).",
                family == "nrrn")
    if similarity is None:
        return "The stack has a single slice.", family == "nrrn"
    alike = similarity >= SIMILAR_ENOUGH
    text = (f"Neighbouring slices are {'alike' if alike else 'different'} "
            f"(similarity {similarity:.2f}; FIB-SEM about 0.95, ssTEM about 0.2-0.3).")
    if family == "nrrn" and not alike:
        return text + " NRRN would blur real structure on this stack: choose Noise2Void.", True
    return text, False


def starting_points(family: str, artifacts: bool = False) -> list[tuple[str, str]]:
    """(label, package path) of zoo models of ``family`` to fine-tune, the recommended one first.

    Recommended: the largest shipped configuration (the shipped models are the ones measured on the
    quality benchmark), then the other shipped ones, then the user's own. ``artifacts``: only models
    trained on synthetic artifacts (their card's ``training.artifacts``), else only the others. Models whose
    own held-back data showed them of no use (``zoo.fit.failed_validation``) are left out: the wizard offered
    one it had called "do not use" first (wizard audit).
    """
    from emdenoise_gui.zoo.fit import failed_validation

    rank = {name: i for i, name in enumerate(CONFIG_NAMES)}
    found = []
    for entry in list_entries():
        card = entry.package.card if entry.package else None
        if card is None or card.family != family or bool(card.training.get("artifacts")) != artifacts:
            continue
        if failed_validation(card) is not None:
            continue
        order = (0 if entry.shipped else 1, -rank.get(card.config, 0), card.name)
        origin = "shipped" if entry.shipped else "yours"
        found.append((order, f"{card.name} ({card.config}, {origin})", str(entry.path)))
    return [(label, path) for _, label, path in sorted(found)]


def dose_range(dose: float | None) -> tuple[float, float]:
    """Synthetic dose range (counts per pixel) around an estimated dose: half to twice it."""
    if dose is None or not math.isfinite(dose) or dose <= 0:
        return 25.0, 100.0
    return max(0.5, round(dose / 2, 1)), round(dose * 2, 1)


#: From this many steps on, a wizard run validates every 100 steps and saves every 200 (below, about ten and
#: five times in all).
STEADY = 1000


def validate_every(steps: int) -> int:
    """How often a wizard run of ``steps`` validates: about ten times, at most every 100 steps."""
    return max(1, min(100, int(steps) // 10))


def checkpoint_every(steps: int) -> int:
    """How often a wizard run of ``steps`` saves its checkpoint: about five times, at most every 200 steps."""
    return max(1, min(200, int(steps) // 5))


def run_seconds(steps: int, steps_per_s: float, validation_s: float = 0.0, checkpoint_s: float = 0.0,
                setup_s: float = 0.0) -> float:
    """Seconds a wizard run of ``steps`` takes: its set-up, the steps at ``steps_per_s``, and each validation
    and checkpoint the run makes (:func:`validate_every`, :func:`checkpoint_every`; both also at the end)."""
    validations = math.ceil(steps / validate_every(steps))
    checkpoints = math.ceil(steps / checkpoint_every(steps))
    return setup_s + steps / steps_per_s + validations * validation_s + checkpoints * checkpoint_s


def steps_for(budget_s: float, steps_per_s: float, validation_s: float = 0.0, checkpoint_s: float = 0.0,
              setup_s: float = 0.0) -> int:
    """Optimiser steps whose run (:func:`run_seconds`: the steps at the measured ``steps_per_s``, with the
    validations, checkpoints and set-up the run makes) fits ``budget_s`` seconds, rounded down to a readable
    number and bounded to [MIN_STEPS, MAX_STEPS]."""
    if not (steps_per_s > 0 and budget_s > 0):
        return MIN_STEPS
    fits = lambda n: run_seconds(n, steps_per_s, validation_s, checkpoint_s, setup_s) <= budget_s  # noqa: E731
    # the largest n that fits. Below STEADY steps the validations and checkpoints come every n // 10 and
    # n // 5 steps, so their count jumps as n grows (19 steps validate 19 times, 20 steps 10 times): every
    # n is tried there; from STEADY on they come every 100 and 200 steps and the time grows with n
    low = max((n for n in range(min(STEADY, MAX_STEPS + 1)) if fits(n)), default=0)
    if fits(STEADY):
        low, high = STEADY, MAX_STEPS
        while low < high:
            mid = (low + high + 1) // 2
            low, high = (mid, high) if fits(mid) else (low, mid - 1)
    digits = 10 ** max(0, int(math.log10(max(low, 1))) - 1)
    return int(min(MAX_STEPS, max(MIN_STEPS, low // digits * digits)))


def _name_part(text: str) -> str:
    """``text`` with letters and digits of any script, ``_`` and ``-`` kept (composed), the rest as ``-``:
    an ASCII-only rule named the model of 中文.tif 'stack-nrrn', as every other non-Latin stack."""
    return file_name_part(text.replace(".", "-"), "-").strip("-")


def unique_name(base: str) -> str:
    """``base`` made safe for a model name and unique in the user's zoo (``-2``, ``-3`` ... appended): no model,
    paused run or run training now has it (a second wizard proposed the name of a run still training, and
    failed only when that run ended: wizard audit)."""
    from emdenoise_gui.training.run_lock import training_now

    safe = _name_part(base)[:60] or "model"
    name, k = safe, 2
    folder = user_dir()
    while (folder / name).exists() or run_checkpoint(name).exists() or training_now(folder / name):
        name, k = f"{safe}-{k}", k + 1
    return name


def default_name(stack: str | Path, family: str, suffix: str = "") -> str:
    """Zoo name for a model trained on ``stack``: '<stem>-<family>[-suffix]', unique in the zoo."""
    stem = _name_part(Path(str(stack).split("@")[0]).name.split(".")[0])
    return unique_name(f"{stem or 'stack'}-{family}" + (f"-{suffix}" if suffix else ""))


#: Command-line flags in the shared validation messages, in the wizard's words.
_GUI_WORDS = {"--steps": "the number of steps", "--crop": "the crop size", "--batch-size": "the batch size",
              "--lr": "the learning rate", "--dose": "the dose range", "--name": "the model name",
              "--noisy": "noisy images", "--clean": "clean images", "--noise": "blank-region boxes",
              "use --crop with a smaller size": "choose a smaller crop size under Advanced",
              "train again with a lower learning rate": "click “Change the settings” and set a lower learning rate "
                                                        "under Advanced settings",
              "`denoise --model auto` picks the best-fitting model": "the app's automatic model choice uses it",
              "choose another name for the model package": "click “Change the settings” and choose another name",
              "train: -o / --name; denoise --adapt takes a free name when run again": "the model name",
              # the wizard resumes a run to its own total: "give a the number of steps above 200" (wizard audit)
              "give a --steps above": "start a fine-tune from its model (Process ▸ Train or Fine-tune Model), or "
                                      "resume it from the command line with a total of steps above"}


def in_gui_words(message: str) -> str:
    """A validation message with command-line flags replaced by what the wizard calls them."""
    for flag, words in sorted(_GUI_WORDS.items(), key=lambda kv: -len(kv[0])):
        message = message.replace(flag, words)
    return message


def shot_noise_defaults(init: str = "") -> tuple[float, tuple[float, float]]:
    """The wizard's shot noise for an artifacts run: (share of samples 0-1, (low, high) counts per pixel).

    A fresh run gets :data:`ARTIFACT_SHOT_NOISE` at :data:`ARTIFACT_SHOT_DOSE`; fine-tuning ``init`` (a
    package path) keeps what its card says it was trained with (share 0 when none, the doses then the
    fresh run's, for when the user ticks it on).
    """
    if not init:
        return ARTIFACT_SHOT_NOISE, ARTIFACT_SHOT_DOSE
    from emdenoise_gui.zoo.registry import resolve

    share, doses = resolve(init).card.shot_noise()
    return share, (doses if share and doses else ARTIFACT_SHOT_DOSE)


def wizard_spec(family: str, data: dict, name: str, steps: int, config: str = "lite", init: str = "",
                dose: tuple[float, float] | None = None, crop: int | None = None,
                batch_size: int | None = None, device: str = "auto", artifacts: str = "",
                shot_noise: float | None = None, lr: float | None = None) -> RunSpec:
    """The validated RunSpec of a wizard run into the user's zoo; InputError in the wizard's words.

    data: role -> list of ``PATH`` or ``PATH@y0:y1,x0:x1``; init: a package path to fine-tune
    (its configuration is used) or "" for a fresh network; dose: (low, high) counts per pixel;
    artifacts: cyclic on clean data only, "film", "charge" or "film,charge" (``RunSpec.artifacts``);
    shot_noise: artifacts runs only, the share of samples that also get shot noise (0 for none), at
    ``dose`` or else the doses of :func:`shot_noise_defaults`; None takes that function's share (a model
    fine-tuned keeps the noise its card says it learned to remove, a fresh one gets the shipped recipe's);
    lr: the learning rate, None for the configuration's.
    """
    if family not in FAMILIES:
        raise InputError(f"unknown model family '{family}'")
    if artifacts:
        default_share, default_dose = shot_noise_defaults(init)
        shot_noise = default_share if shot_noise is None else float(shot_noise)
        if shot_noise:
            dose = dose or default_dose
    else:
        shot_noise = 0.0 if shot_noise is None else float(shot_noise)  # RunSpec.validated refuses a share here
    if init:
        config = start_config(init, family) or config
    folder = user_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / name).exists():
        raise InputError(f"a model named {name} already exists in the zoo; choose another name")
    notes = {"note": "trained with the wizard"}
    spec = RunSpec(family=family, config=config, steps=int(steps), data=data, output=str(folder / name), name=name,
                   init=init, crop=crop, batch_size=batch_size, device=device, notes=notes, artifacts=artifacts,
                   shot_noise=shot_noise, lr=lr,
                   dose=dose or (25.0, 100.0), validate_every=validate_every(steps),
                   checkpoint_every=checkpoint_every(steps),
                   checkpoint_dir=str(run_checkpoint(name)))
    try:
        return spec.validated()
    except InputError as exc:
        raise InputError(in_gui_words(str(exc))) from None
