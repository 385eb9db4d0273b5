"""The zoo panel's details box in words: a model card's summary (metrics, dose, pixel size as a
microscopist reads them) and what a paused training run is."""

from __future__ import annotations

import html
import re

#: Names of the benchmark's datasets in a card's "q_<dataset>_<condition>_psnr_db" metrics.
DATASET_NAMES = {"flyem": "FlyEM FIB-SEM", "sstem": "ssTEM"}
#: A card's own metric keys in words.
METRIC_NAMES = {"val_loss": "validation loss", "val_psnr_db": "validation", "input_psnr_db": "noisy input",
                "filter_psnr_db": "classical filter", "filter_val_loss": "validation loss of a neighbour mean"}
#: The estimated errors on a self-trained model's card (``training.held_back``), in the order and words of the
#: details box's one "Estimated error" row; ``filter_risk`` (the lower of the two filters') is left out there.
ESTIMATE_NAMES = {"val_risk": "this model", "init_risk": "the model it started from",
                  "sure_risk": "gaussian-sure", "sure_avg_risk": "gaussian-sure-avg"}


def metric_words(key: str, value: float) -> str:
    """One card metric in words: ``q_flyem_dose25_psnr_db`` 30.73 -> "benchmark, FlyEM FIB-SEM dose 25: 30.73 dB"."""
    unit = f"{value:.2f} dB" if key.endswith("_psnr_db") else f"{value:.4g}"
    if key.startswith("q_") and key.endswith("_psnr_db"):
        dataset, _, condition = key[2:-len("_psnr_db")].partition("_")
        condition = re.sub(r"([a-z]+)(\d+)", r"\1 \2", condition).replace("_", " ")
        return f"benchmark, {DATASET_NAMES.get(dataset, dataset)} {condition}: {unit}"
    return f"{METRIC_NAMES.get(key, key.replace('_', ' '))}: {unit}"


#: the families as the zoo's Kind column and its details box name them (their keys are code names)
FAMILY_NAMES = {"cyclic": "cyclic", "nrrn": "NRRN", "xception": "Xception", "n2v": "N2V"}


def family_name(family: str) -> str:
    """A model family as the zoo shows it: "nrrn" -> "NRRN"."""
    return FAMILY_NAMES.get(family, family)


def _readable(text: str) -> str:
    """A card's free text for the details box: a shape "(250x250x250, ..." as "(250×250×250, ..." (file names
    kept as they are), a range "5-400 counts per pixel" as "5–400 electrons per pixel" (the app's word for a
    dose), a unit kept on its number's line."""
    text = re.sub(r"\((\d+(?:x\d+)+)", lambda m: "(" + m.group(1).replace("x", "×"), text)
    text = re.sub(r"(?<=[ (])(\d+)-(\d+)(?= )", r"\1–\2", text)  # a range of numbers: "5-400 counts" -> "5–400"
    return (text.replace(" nm/px", "\u00a0nm/px").replace(" nm)", "\u00a0nm)")
            .replace("counts per pixel", "electrons per pixel"))


def _dose_words(card) -> str:
    if card.dose_range:
        return f"{card.dose_range[0]:g}–{card.dose_range[1]:g} electrons per pixel"
    if card.training.get("artifacts"):  # synthetic artifacts, not real noisy data
        share, shot = card.shot_noise()
        return (f"synthetic artifacts, with shot noise of {shot[0]:g}–{shot[1]:g} electrons per pixel on {share:.0%} of "
                "its examples" if shot and share else "synthetic artifacts, no shot noise")
    return "learned from real noisy data"


def estimate_row(metrics: dict) -> str:
    """A card's estimated errors (``training.held_back``) in one line: "this model 0.0276, the model it started
    from 0.0235, gaussian-sure 0.0288, gaussian-sure-avg 0.0266 (squared error on held-back slices, z-scored;
    Stein's estimate, no clean reference)"; "" where the card has none."""
    known = [f"{words} {metrics[key]:.3g}" for key, words in ESTIMATE_NAMES.items() if key in metrics]
    if not known:
        return ""
    return ", ".join(known) + " (squared error on held-back slices, z-scored; Stein's estimate, no clean reference)"


def card_html(card, shipped: bool) -> str:
    """A readable summary of a model card."""
    metrics = "; ".join(metric_words(k, v) for k, v in card.metrics.items()
                        if k not in ESTIMATE_NAMES and k != "filter_risk") or "none recorded"
    estimate = estimate_row(card.metrics)
    low, high = card.pixel_size_nm or (None, None)
    pixel = "unknown" if low is None else f"{low:.4g} nm" if low == high else f"{low:.4g}–{high:.4g} nm"
    rows = [
        ("Family", f"{family_name(card.family)} ({card.config})"), ("Suits", card.description),
        ("Trained on", _readable(card.training_data) if card.training_data else "not recorded"),
        ("Noise", _readable(card.noise_condition) if card.noise_condition else "not recorded"),
        ("Dose range", _dose_words(card)),
        ("How", card.training.get("recipe", "not recorded")),
        ("Validated on", card.training.get("validation", "not recorded")),
        ("Pixel size", pixel), ("Parameters", f"{card.parameters / 1e6:.3f} M"), ("Steps", f"{card.steps:,}"),
        ("Metrics", metrics), *([("Estimated error", estimate)] if estimate else []),
        ("Created", f"{card.created} (EMDenoise {card.app_version})"),
        ("Weights", f"sha256 {card.weights_sha256[:16]}…"), ("Source", "ships with EMDenoise" if shipped else "your model"),
    ]
    rows += [(label, card.training[key]) for key, label in (("init_from", "Fine-tuned from"),
                                                            ("adapted_to", "Self-trained on")) if key in card.training]
    body = "".join(f"<tr><td><b>{k}</b></td><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<h3>{html.escape(card.name)}</h3><table cellspacing=4>{body}</table>"


def paused_html(run) -> str:
    """What a paused training run (``zoo.registry.PausedRun``) is and what Resume does."""
    return (f"<h3>Paused training: {html.escape(run.name)}</h3>"
            f"<p>Stopped at step {run.step:,} of {run.steps:,}. It is not a model yet: <b>Resume</b> trains "
            f"it to the end, and the finished model appears under “Your models”.</p>"
            f"<p>Checkpoint: {html.escape(str(run.path))}</p>")


PUBLISHED_TIP = ("A paper's baseline with its published settings, which ignore how noisy the image is: kept to "
                 "reproduce that paper's comparison. On most data a filter above does better; on lightly noisy "
                 "images this one can come out worse than the input.")


def filter_html(spec, caution_style: str) -> str:
    """The details box of a classical filter ``spec`` (a ``core.baselines.Filter``); a paper's baseline with
    its published settings gets :data:`PUBLISHED_TIP` in ``caution_style`` (a CSS style)."""
    caution = f"<p style='{caution_style}'>{PUBLISHED_TIP}</p>" if spec.as_published else ""
    return (f"<h3>{html.escape(spec.label)}</h3><p>{html.escape(spec.description)}</p>"
            f"<p>Uses {spec.slices} slice(s) per output slice.</p>{caution}")


def unusable_html(entry) -> str:
    """The details box of a zoo entry that cannot be used (its ``name`` and ``problem``)."""
    return f"<h3>{html.escape(entry.name)}</h3><p>Cannot be used: {html.escape(entry.problem)}</p>"
