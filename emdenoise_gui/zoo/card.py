"""The model card: a versioned JSON record that travels with every model package.

A card says what the model is (family, configuration, architecture keyword
arguments), how its inputs are normalised, what it was trained on and for,
how well it did, and the sha256 of its weights file. :func:`card_from_dict`
validates a card read from disk and says exactly which field is wrong.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, field

from emdenoise_gui import __version__
from emdenoise_gui.core.normalise import KINDS as NORMALISATIONS
from emdenoise_gui.models.registry import FAMILIES

CARD_VERSION = 1


#: Characters a model name may not hold: it names the package's folder on every platform.
NAME_FORBIDDEN = '/\\:*?"<>|'


def valid_model_name(name: str) -> bool:
    """Whether ``name`` can name a model and its package folder: not blank, none of NAME_FORBIDDEN."""
    return bool(name.strip()) and not any(c in name for c in NAME_FORBIDDEN)


class CardError(ValueError):
    """A card field is missing or has the wrong type or value."""


@dataclass
class ModelCard:
    """Everything known about a trained model except its weights.

    normalisation: ``{"kind": one of NORMALISATIONS, ...}``; see ``core.normalise``. The
    current kinds are computed from the image content at inference, so they do not
    depend on how a stack is stored; "zscore-dataset" (legacy) needs ``mean`` and ``std``.
    pixel_size_nm: [min, max] pixel sizes (nm) of the training data, or None.
    training_crop: side of the training crops in px (0 if unknown); families whose
    context depends on the input size (xception's dilated ASPP) infer on tiles of this size.
    metrics: e.g. ``{"val_psnr_db": 27.1, "input_psnr_db": 20.3}``.
    dose_range: [low, high] Poisson counts per pixel at the image mean that the model was
    trained over (and claims to handle), or None when it learned from real noisy data.
    training: how it was made: ``recipe`` (e.g. "supervised, synthetic noise",
    "self-supervised"), ``validation`` ("held-back slices" or "the training data itself"),
    ``init_from`` (the package it was fine-tuned from), ``adapted_to`` (the stack a
    self-trained model was made for), ``best_step``, ``wall_s``, ``hardware``.
    """

    name: str
    family: str
    config: str
    architecture: dict
    normalisation: dict
    weights_sha256: str
    parameters: int
    description: str = ""
    training_data: str = ""
    noise_condition: str = ""
    pixel_size_nm: list | None = None
    steps: int = 0
    training_crop: int = 0
    metrics: dict = field(default_factory=dict)
    dose_range: list | None = None
    training: dict = field(default_factory=dict)
    created: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    app_version: str = __version__
    format_version: int = CARD_VERSION

    def to_dict(self) -> dict:
        return asdict(self)


_TYPES = {
    "name": str, "family": str, "config": str, "architecture": dict, "normalisation": dict,
    "weights_sha256": str, "parameters": int, "description": str, "training_data": str,
    "noise_condition": str, "steps": int, "training_crop": int, "metrics": dict, "created": str, "app_version": str,
    "format_version": int, "training": dict,
}
_REQUIRED = ("name", "family", "config", "architecture", "normalisation", "weights_sha256", "parameters",
             "format_version")


def _number_pair(value) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value)


def card_from_dict(data) -> ModelCard:
    """Validate a card read from JSON; CardError naming the bad field otherwise."""
    if not isinstance(data, dict):
        raise CardError("the card is not a JSON object")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise CardError(f"the card lacks the field(s) {', '.join(missing)}")
    unknown = sorted(set(data) - set(_TYPES) - {"pixel_size_nm", "dose_range"})
    if unknown:
        raise CardError(f"the card has unknown field(s) {', '.join(unknown)}")
    if data["format_version"] != CARD_VERSION:
        raise CardError(f"card format {data['format_version']} is not supported (this app reads format "
                        f"{CARD_VERSION}); update EMDenoise")
    for key, kind in _TYPES.items():
        if key in data and not (isinstance(data[key], kind) and not (kind is int and isinstance(data[key], bool))):
            raise CardError(f"card field '{key}' should be {kind.__name__}, not {type(data[key]).__name__}")
    if data["family"] not in FAMILIES:
        raise CardError(f"card family '{data['family']}' is not one of {', '.join(FAMILIES)}")
    kind = data["normalisation"].get("kind")
    if kind not in NORMALISATIONS:
        raise CardError(f"card normalisation kind '{kind}' is not one of {', '.join(NORMALISATIONS)}")
    if kind == "zscore-dataset" and not all(
        isinstance(data["normalisation"].get(k), (int, float)) for k in ("mean", "std")
    ):
        raise CardError("card normalisation 'zscore-dataset' needs numeric 'mean' and 'std'")
    sha = data["weights_sha256"]
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise CardError("card field 'weights_sha256' is not a sha256 hex digest")
    pixel = data.get("pixel_size_nm")
    if pixel is not None and not _number_pair(pixel):
        raise CardError("card field 'pixel_size_nm' should be [min, max] in nm or null")
    doses = data.get("dose_range")
    if doses is not None and not (_number_pair(doses) and 0 < doses[0] <= doses[1]):
        raise CardError("card field 'dose_range' should be [low, high] counts per pixel with 0 < low <= high, or null")
    if not valid_model_name(data["name"]):
        raise CardError(f"card name '{data['name']}' is empty or has characters not allowed in a file name")
    return ModelCard(**data)
