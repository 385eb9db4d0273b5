"""Which model fits a stack: the stack's measured facts against each model card, best fit first.

* :func:`measure_facts` reads a few slices of a stack (bounded time whatever its size) into a
  :class:`StackFacts` record.
* :func:`assess_fit` grades one card against the facts: a :class:`Fit` ("good", "possible" or
  "poor") with one line saying why, in a microscopist's words.
* :func:`rank` orders zoo entries by fit, then by a speed reasonable for the stack on this device;
  :func:`pick` takes the first of them that does not fit poorly and that it may choose for the user
  (:func:`not_picked`) (the app's preselection, ``--model auto``).

The rules, each giving a grade; a card's grade is the worst of them and its reason that rule's:

* slices: families that read neighbouring slices (NRRN) need them alike: adjacent-slice
  similarity >= ``ALIKE`` is good, >= ``PARTLY_ALIKE`` possible, less poor; fewer slices than
  the family reads is poor, except a single image, which the model reads as its own neighbours
  (possible).
* pixel size: within the card's [min, max] (``MATCH`` tolerance) good; less than ``FAR`` times
  outside possible; further poor; unknown on either side possible.
* dose: an estimated dose below the card's range is possible, below half of it poor; above it
  (cleaner data) is fine. Unknown dose, or a card trained on real noise, says nothing.
* noise: a stack with almost no noise (sigma < ``QUIET`` of its grey range) is possible for any model.
* artifacts: a model made for named artifacts (its card's ``training.artifacts``, e.g. film and
  charging) is at best possible: the facts cannot see those artifacts, the microscopist can.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emdenoise_gui.core import assess
from emdenoise_gui.core.baselines import sure_filter
from emdenoise_gui.core.noise import NOISE_KINDS
from emdenoise_gui.models.registry import FAMILIES
from emdenoise_gui.zoo.package import weights_digest

GRADES = ("good", "possible", "poor")
#: Adjacent-slice similarity (-1..1) at or above which neighbouring slices count as alike / partly alike.
ALIKE, PARTLY_ALIKE = assess.ALIKE, 0.45
#: Pixel sizes within this factor of the card's range match it; this factor or more outside is far off.
MATCH, FAR = 1.25, 2.0
#: Noise sigma as a fraction of the grey range below which there is little left to remove.
QUIET = 0.004
#: A whole-stack job at most this long (s) on this device counts as a reasonable speed when ranking.
REASONABLE_JOB_S = 15 * 60
#: Side (px) of the centre crop the dose and grey range are measured on: bounded time on 4096^2 slices.
DOSE_CROP = 1024


@dataclass(frozen=True)
class StackFacts:
    """What a stack is like, for choosing a model.

    pixel_size_nm: the in-plane (x) pixel size in nm, or None when unknown.
    dtype: the stored dtype's name ("uint8", "uint16", "float32", ...).
    depth: slices (Z).
    megapixels: pixels of the whole stack (Z * Y * X) / 1e6, the work a denoise job does.
    similarity: median correlation (-1..1) of neighbouring slices' structure, None for one slice.
    noise: the noise sigma as a fraction of the grey range (0.5th to 99.5th percentile) of the middle
        slice; NaN when it cannot be measured.
    dose: estimated shot-noise counts per pixel at the mean of the middle slice, or None.
    name: the stack's file name ("" if none): a model self-trained on this stack names it.
    path: the stack's file or folder ("" if none): the data itself tells it from another of the same name.
    """

    pixel_size_nm: float | None
    dtype: str
    depth: int
    megapixels: float
    similarity: float | None
    noise: float
    dose: float | None
    name: str = ""
    path: str = ""


@dataclass(frozen=True)
class Fit:
    """How well a model suits a stack: ``grade`` one of GRADES, ``reason`` one line saying why."""

    grade: str
    reason: str

    @property
    def rank(self) -> int:
        """0 for good, 1 possible, 2 poor: lower is better."""
        return GRADES.index(self.grade)


def measure_facts(stack, voxel_size_nm=None, name: str = "", path: str | os.PathLike = "") -> StackFacts:
    """The facts of a (Z, Y, X) ``stack`` (a core.io Stack or anything with ``len``, ``shape`` and ``[z]``).

    ``voxel_size_nm``: (z, y, x) in nm, or None. Reads at most 11 slices: up to 5 neighbouring pairs
    (centre crops, ``core.assess.adjacent_similarity``) and the middle slice (a ``DOSE_CROP`` px
    centre crop for noise and dose), so the time does not grow with the stack's size.
    """
    depth = len(stack)
    shape = tuple(getattr(stack, "shape", ()))
    height, width = shape[-2:] if len(shape) >= 2 else np.asarray(stack[0]).shape
    middle = assess.centre_crop(stack[depth // 2], DOSE_CROP)
    low, high = np.percentile(middle, [0.5, 99.5]) if middle.size else (0.0, 0.0)
    sigma = assess.noise_sigma(middle)
    noise = float(sigma / (high - low)) if high > low and math.isfinite(sigma) else math.nan
    pixel = None
    if voxel_size_nm is not None and float(voxel_size_nm[-1]) > 0:
        pixel = float(voxel_size_nm[-1])
    dtype = np.dtype(getattr(stack, "dtype", middle.dtype)).name
    return StackFacts(pixel, dtype, depth, depth * height * width / 1e6, assess.adjacent_similarity(stack),
                      noise, assess.estimate_dose(middle), name, os.fspath(path))


def slices_fit(input_slices: int, facts: StackFacts, model: bool = True) -> Fit:
    """Whether a denoiser reading ``input_slices`` neighbouring slices (a zoo model, or with ``model``
    False a classical filter) suits the stack's slices.

    A single image is its own neighbours (``core.pipeline.neighbour_indices``): for a filter of the
    3-slice mean that is the plain filter (poor: pick that one), while an NRRN model, fed the image
    three times, beat BM3D and every other single-image filter on FlyEM slices at doses 25-300
    (docs/benchmarks.md, "single images"): possible."""
    if input_slices <= 1:
        return Fit("good", "works slice by slice")
    what = "this model" if model else "this filter"
    if facts.depth == 1 and model:
        return Fit("possible", "a single image: this model reads it as its own neighbours (a stack of alike "
                               "slices gives it more to go on)")
    if facts.depth < input_slices:
        have = "a single image" if facts.depth == 1 else f"only {facts.depth} slices"
        return Fit("poor", f"{have}: {what} reads {input_slices} neighbouring slices, it needs a FIB-SEM-like stack")
    similarity = facts.similarity
    if similarity is None or similarity < PARTLY_ALIKE:
        shown = "unknown" if similarity is None else f"{similarity:.2f}"
        return Fit("poor", f"neighbouring slices differ (similarity {shown}): {what} needs a FIB-SEM-like stack")
    if similarity < ALIKE:
        return Fit("possible", f"neighbouring slices only partly alike (similarity {similarity:.2f}): "
                               "detail that changes between slices may blur")
    return Fit("good", f"neighbouring slices alike (similarity {similarity:.2f})")


def _nm(value: float) -> str:
    """``"10 nm"``, ``"2.6 µm"`` (a Zeiss SEM's 2,615 nm pixels read "2.62e+03 nm")."""
    return f"{value / 1000:.2g} µm" if value >= 1000 else f"{value:.3g} nm"


def _pixel_fit(card, facts: StackFacts) -> Fit:
    trained = card.pixel_size_nm
    if trained is None:
        return Fit("possible", "its training pixel size was not recorded")
    low, high = float(min(trained)), float(max(trained))
    span = _nm(low) if low == high else f"{low:.3g}–{high:.3g} nm"
    if facts.pixel_size_nm is None:
        return Fit("possible", f"the stack's pixel size is unknown (the model learned {span} pixels)")
    pixel = facts.pixel_size_nm
    if low / MATCH <= pixel <= high * MATCH:
        return Fit("good", f"{_nm(pixel)} pixels as in its training")
    finer = pixel < low
    factor = low / pixel if finer else pixel / high
    words = "finer" if finer else "coarser"
    if factor >= FAR:
        return Fit("poor", f"{_nm(pixel)} pixels, {factor:.1f}x {words} than the {span} it learned: "
                           "membranes and vesicles look a different size to it")
    return Fit("possible", f"{_nm(pixel)} pixels, somewhat {words} than the {span} it learned")


def _dose_fit(card, facts: StackFacts) -> Fit | None:
    if card.dose_range is None or facts.dose is None:
        return None
    low, high = card.dose_range
    dose = facts.dose
    about = f"about {dose:.3g} counts per pixel; it learned {low:g}–{high:g}"
    if dose < low / 2:
        return Fit("poor", f"far noisier than it was trained for ({about})")
    if dose < low:
        return Fit("possible", f"noisier than it was trained for ({about})")
    if dose > high:
        return Fit("good", "cleaner than its training data: it will denoise gently")
    return Fit("good", f"noise within its training range ({about})")


def _noise_fit(facts: StackFacts) -> Fit | None:
    if math.isfinite(facts.noise) and facts.noise < QUIET:
        return Fit("possible", f"almost no noise to remove (σ {100 * facts.noise:.1f} % of the grey range)")
    return None


#: Why ``pick`` chose nothing from a zoo that holds only models made for named artifacts.
ONLY_ARTIFACT_MODELS = ("the zoo's only models are made for named artifacts (film, charging): pick one by hand "
                        "when the stack shows them")


def is_artifact_model(card) -> bool:
    """Whether the card's model was made for named artifacts (film, charging): chosen by the user only."""
    return bool(str(card.training.get("artifacts", "") or ""))


def _artifact_fit(card) -> Fit | None:
    artifacts = str(card.training.get("artifacts", "") or "")
    if not artifacts:
        return None
    names = " and ".join(NOISE_KINDS[a].label if a in NOISE_KINDS else a for a in artifacts.split(","))
    return Fit("possible", f"made for {names} artifacts: pick it when the stack shows them")


def failed_validation(card) -> Fit | None:
    """A poor fit for any stack: a model whose own held-back data showed it of no use (card metrics): no better
    than the noisy input or the classical filter it must beat (``val_psnr_db`` against ``input_psnr_db`` and
    ``filter_psnr_db``, runs with a clean reference), or, self-supervised, no better at predicting hidden pixels
    than the mean of their neighbours (``val_loss`` against ``filter_val_loss``), or leaving clearly more error
    than the SURE-tuned Gaussian by Stein's estimate (``val_risk`` against ``filter_risk``: :data:`CLEARLY_WORSE`).
    --model auto picked a 5-step
    model self-trained on the stack (16.9 dB, the input 20.6) over the shipped one (29.5 dB), and the zoo graded
    models the wizard had called "do not use" good (training and wizard audits)."""
    failure = validation_failure(card.metrics)
    return None if failure is None else Fit("poor", f"on held-back data it {failure_words(failure)}")


def validation_failure(metrics: dict) -> tuple[str, float, float] | None:
    """The first bar a model's held-back ``metrics`` (a card's, or a run's last validation) do not clear, as
    (which, the model's value, the bar), or None: "input" and "filter", PSNR (dB) no higher than the noisy
    input's or the classical filter's (``val_psnr_db`` against ``input_psnr_db``, ``filter_psnr_db``), then
    "neighbours", a blind-spot loss no lower than that of the mean of each hidden pixel's neighbours
    (``val_loss`` against ``filter_val_loss``), then "estimate", an estimated squared error (Stein's, no clean
    reference: ``training.held_back``) :data:`CLEARLY_WORSE` times the better SURE-tuned Gaussian's or more
    (``val_risk`` against ``filter_risk``). The zoo's grading and the wizard's verdict both read it."""
    for which, (value, bar) in _checks(metrics):
        if (value <= bar) if which in ("input", "filter") else (value >= _MARGINS.get(which, 1.0) * bar):
            return which, value, bar
    return None


#: Each held-back check of :func:`validation_failure`, in order: (which, the model's metric, the bar's metric).
CHECKS = (("input", "val_psnr_db", "input_psnr_db"), ("filter", "val_psnr_db", "filter_psnr_db"),
          ("neighbours", "val_loss", "filter_val_loss"), ("estimate", "val_risk", "filter_risk"))


def _checks(metrics: dict):
    """(which, (the model's value, the bar)) of each of :data:`CHECKS` whose two metrics ``metrics`` holds."""
    for which, value, bar in CHECKS:
        if metrics.get(value) is not None and metrics.get(bar) is not None:
            yield which, (metrics[value], metrics[bar])


def was_checked(metrics: dict) -> bool:
    """Whether a model's held-back ``metrics`` hold any check :func:`validation_failure` makes (an unpaired cyclic
    GAN's hold none: no clean counterpart to its noisy data)."""
    return any(True for _ in _checks(metrics))


#: How far above the SURE-tuned Gaussian's a network's estimated error (Stein's, ``training.held_back``) must
#: be to count against it: on white noise the estimates are within about 5-10 % of the truth (the FlyEM NRRN
#: self-trained at dose 25 read 4 % above the filter, 3 % below it in truth), and noise a little correlated
#: between pixels (blurred by 0.4 px, still taken for white) read the shipped NRRN 17 % above the filter where
#: it was 36 % below. The models that prompted the estimate read 30-44 % above (36-39 % in truth;
#: benchmarks/adapt_choice.py).
CLEARLY_WORSE = 1.2
#: How far above its bar a loss or error check's value fails (the PSNR checks fail at their bar).
_MARGINS = {"estimate": CLEARLY_WORSE}


def failure_words(failure: tuple[str, float, float], filter_named: str = "") -> str:
    """What a :func:`validation_failure` says, as the zoo, the wizard and ``train`` word it after "this model":
    "makes the images worse than the noisy input (14.06 against 15.00 dB)"; ``filter_named`` (the filter's
    label in the caller's quotes) names the classical filter."""
    which, value, bar = failure
    if which == "estimate":
        return f"leaves more error than the SURE-tuned Gaussian filter ({estimate_words(value, bar)})"
    if which == "neighbours":
        return (f"predicts hidden pixels no better than the mean of their neighbours (validation loss {value:.4g} "
                f"against {bar:.4g})")
    if which == "input":
        return f"makes the images worse than the noisy input ({value:.2f} against {bar:.2f} dB)"
    named = f" {filter_named}" if filter_named else " it must beat"
    return f"does no better than the classical filter{named} ({value:.2f} against {bar:.2f} dB)"


def estimate_words(value: float, bar: float) -> str:
    """How an estimated error ``value`` compares with ``bar`` (``val_risk``, ``filter_risk``): "estimated 28 %
    more, without a clean reference" (the two numbers themselves where ``bar`` is not above zero)."""
    if not bar > 0:
        side = "more" if value >= bar else "less"
        return f"estimated {value:.3g} against {bar:.3g}: {side}, without a clean reference"
    change = 100.0 * (value / bar - 1.0)
    side = "more" if change >= 0 else "less"
    return f"estimated {abs(change):.0f} % {side}, without a clean reference"


def stack_fingerprint(stack: Path) -> str:
    """What identifies the data a model adapted to, for its card: "sha256 0123456789ab" of a file; of an
    OME-Zarr store (a folder of many chunks, perhaps gigabytes), the sha256 of its file names, sizes and
    metadata files ("listing sha256 ...")."""
    if not stack.is_dir():  # hashed once per version of the file in a run (--adapt asks twice)
        return f"sha256 {weights_digest(stack)[:12]}"
    digest = hashlib.sha256()
    for item in sorted(p for p in stack.rglob("*") if p.is_file()):
        rel = item.relative_to(stack).as_posix()
        digest.update(f"{rel}\0{item.stat().st_size}\0".encode())
        if item.name in ("zarr.json", ".zattrs", ".zarray", ".zgroup"):
            digest.update(item.read_bytes())
    return f"listing sha256 {digest.hexdigest()[:12]}"


def _adapted_here(card, facts: StackFacts) -> bool:
    """Whether the card's model was self-trained on this very stack: its file name, and where the facts know
    the stack's path, its content (another crop saved under the same name was told "self-trained on this very
    stack" and ranked first: training audit). The content is read only for a model that names this stack."""
    adapted = str(card.training.get("adapted_to", ""))
    name, _, fingerprint = adapted.rpartition(" (")  # the last: "crop (1).tif (sha256 ...)"
    if not fingerprint.endswith(")"):  # a card of no fingerprint: its name alone
        name, fingerprint = adapted, ""
    if not facts.name or name != facts.name:
        return False
    if not facts.path or not fingerprint:
        return True
    try:
        return stack_fingerprint(Path(facts.path)) == fingerprint[:-1]
    except OSError:  # gone or unreadable since it was measured: not shown to be the same
        return False


def assess_fit(card, facts: StackFacts) -> Fit:
    """How well the model of ``card`` (a zoo.card.ModelCard) suits a stack with ``facts``.

    The grade is the worst of the rules (module docstring); the reason is the first worst rule's,
    or for a good fit the two main reasons it is good.
    """
    info = FAMILIES[card.family]
    failed = failed_validation(card)
    if failed is not None:
        return failed
    fits = [slices_fit(info.input_slices, facts), _pixel_fit(card, facts), _dose_fit(card, facts),
            _noise_fit(facts), _artifact_fit(card)]
    fits = [f for f in fits if f is not None]
    pixel = fits[1]
    if (info.input_slices > 1 and facts.depth == 1 and facts.pixel_size_nm is not None
            and card.pixel_size_nm is not None and pixel.grade != "good" and not _adapted_here(card, facts)):
        # two doubts that compound: fed a single image at another scale as its own neighbours, NRRN lite lost
        # to the SURE-tuned Gaussian on a 5.8 nm SEM image and on FlyEM slices scaled to 5.8 nm (doses 25-300;
        # a stack at that scale and a single 10 nm image both won)
        return Fit("poor", f"a single image of {pixel.reason.split(',')[0]}: read as its own neighbours at another "
                           "scale than this model learned, it lost to the SURE-tuned Gaussian (measured at 5.8 nm)")
    worst = max(fits, key=lambda f: f.rank)
    artifact = fits[-1] if is_artifact_model(card) else None
    if artifact is not None and worst is not artifact and worst.grade == "possible":  # both reasons said
        return Fit("possible", f"{worst.reason}; {artifact.reason}")
    if worst.grade != "good":
        return worst
    if _adapted_here(card, facts):
        return Fit("good", "self-trained on this very stack")
    reasons = [f.reason for f in fits if not (info.input_slices <= 1 and f.reason == "works slice by slice")]
    said = reasons[:2] + [r for r in reasons[2:] if r.startswith("cleaner")]  # a dose above its range is said
    return Fit("good", "; ".join(said) or "suits this stack")


def _distance(card, facts: StackFacts) -> int:
    """How far a good fit's stack is from the data its model learned, among equal grades: one for a dose above
    its range, one for pixels only within the match factor of its pixel sizes. Among 87 good fits the first by
    name was picked, one trained for 1-20 counts for a stack of 46 (zoo audit of 2026-12-06)."""
    far = 0
    if card.dose_range is not None and facts.dose is not None and facts.dose > card.dose_range[1]:
        far += 1
    if card.pixel_size_nm is not None and facts.pixel_size_nm is not None and not (
            min(card.pixel_size_nm) <= facts.pixel_size_nm <= max(card.pixel_size_nm)):
        far += 1
    return far


def _seconds_per_mp(entry, speeds: Mapping[str, float] | None) -> float | None:
    value = (speeds or {}).get(entry.package.card.weights_sha256)
    return float(value) if value is not None and math.isfinite(value) and value > 0 else None


def rank(entries: Iterable, facts: StackFacts, speeds: Mapping[str, float] | None = None) -> list[tuple]:
    """Usable zoo entries (``zoo.registry.ZooEntry``) as (entry, Fit), best first.

    ``speeds``: weights sha256 -> seconds per megapixel measured on this device (``inference.estimate``);
    missing ones are unknown. Within a grade, a model self-trained on this stack comes first, then those
    whose training data is nearest the stack (:func:`_distance`); then models whose whole-stack job takes at most REASONABLE_JOB_S here, by family preference (NRRN
    first), then fewest parameters; then models of unknown speed, likewise; then slow ones, fastest first.
    So the slowest model is never the default. Within a family fewer parameters run faster; the measured
    speed, which the app times while it starts and draws, only sorts the slow ones: two timings of one
    model differed 5x (11.6 and 2.4 s/MP), and the app preselected NRRN base, then NRRN lite once the
    result was shown. Last, shipped models before the user's, then by name.
    """
    def key(pair):
        entry, fit = pair
        card = entry.package.card
        per_mp = _seconds_per_mp(entry, speeds)
        if per_mp is None:
            speed_class, cost = 1, float(card.parameters)
        elif per_mp * facts.megapixels <= REASONABLE_JOB_S:
            speed_class, cost = 0, float(card.parameters)
        else:
            speed_class, cost = 2, per_mp
        preference = FAMILIES[card.family].preference if speed_class < 2 else 0
        return (fit.rank, not _adapted_here(card, facts), _distance(card, facts), speed_class, preference, cost,
                not getattr(entry, "shipped", False), card.name)

    pairs = [(entry, assess_fit(entry.package.card, facts)) for entry in entries if entry.package is not None]
    return sorted(pairs, key=key)


def fallback_filter(facts: StackFacts | None) -> str:
    """The classical filter (a ``core.baselines.FILTERS`` key) for a stack no model fits: the SURE-tuned
    Gaussian on the slice and its neighbours where neighbouring slices are alike (the best filter on
    FIB-SEM stacks in the quality benchmark), else the SURE-tuned Gaussian of each slice
    (``core.baselines.sure_filter``)."""
    alike = facts is not None and facts.depth >= 3 and (facts.similarity or 0.0) >= ALIKE
    return sure_filter(3 if alike else 1)


def not_picked(card, facts: StackFacts) -> str:
    """Why :func:`pick` leaves the model of ``card`` to the user for a stack with ``facts``, "" when it may pick
    it: a model made for named artifacts (the facts cannot see film or charging; it was preselected for a
    stack of unknown pixel size); a model reading neighbouring slices, given a single image; one whose
    known training pixel size the stack's known one only nearly matches. Measured (2026-12-07, doses 25 and
    100, Gaussian sigma 25): NRRN lite on a single 12.3 nm SEM frame scored 31.5 / 34.0 / 32.0 dB against
    the SURE-tuned Gaussian's 35.5 / 38.7 / 36.1 (on single 10 nm FlyEM slices it won by 0.2 dB at best);
    on FlyEM scaled to 15 nm it lost 0.3 dB to the SURE-tuned Gaussian on 3 slices. A model self-trained on
    the stack is always a candidate."""
    if is_artifact_model(card):
        return ONLY_ARTIFACT_MODELS
    if _adapted_here(card, facts):
        return ""
    if FAMILIES[card.family].input_slices > 1 and facts.depth == 1:
        return ("a single image: a model that reads neighbouring slices is not picked for one (on a single SEM "
                "frame NRRN lost 4 dB to the SURE-tuned Gaussian); pick it by hand to try it")
    pixel = _pixel_fit(card, facts)
    if pixel.grade == "possible" and facts.pixel_size_nm is not None and card.pixel_size_nm is not None:
        return f"{pixel.reason}: not picked at another scale; pick it by hand to try it"
    return ""


def choosable(ranked: list[tuple], facts: StackFacts) -> list[tuple]:
    """The (entry, Fit) pairs of ``ranked`` that :func:`pick` may choose for the user (:func:`not_picked`)."""
    return [(entry, fit) for entry, fit in ranked if not not_picked(entry.package.card, facts)]


def pick(entries: Iterable, facts: StackFacts, speeds: Mapping[str, float] | None = None) -> tuple:
    """(entry, Fit) of the best-ranked zoo entry (``rank``) for a stack with ``facts`` that it may choose
    (:func:`not_picked`), or (None, a Fit saying why not, or None for an empty zoo) when every model fits
    it poorly or is left to the user: then the app denoises with a classical filter instead
    (``fallback_filter``)."""
    ranked = rank(entries, facts, speeds)
    if not ranked:
        return None, None
    chosen = choosable(ranked, facts)
    if not chosen:  # the best of the others, and why it is not picked (its grade: "poor" only if it fits poorly)
        others = [(e, f) for e, f in ranked if not is_artifact_model(e.package.card)]
        if not others:
            return None, Fit("poor", ONLY_ARTIFACT_MODELS)
        entry, fit = others[0]
        return None, fit if fit.grade == "poor" else Fit(fit.grade, not_picked(entry.package.card, facts))
    entry, fit = chosen[0]
    return (entry, fit) if fit.grade != "poor" else (None, fit)
