"""The model card: a versioned JSON record that travels with every model package.

A card says what the model is (family, configuration, architecture keyword
arguments), how its inputs are normalised, what it was trained on and for,
how well it did, and the sha256 of its weights file. :func:`card_from_dict`
validates a card read from disk and says exactly which field is wrong.
"""

from __future__ import annotations

import datetime as _dt
import math
import unicodedata
from dataclasses import asdict, dataclass, field

from emdenoise_gui import __version__
from emdenoise_gui.core.normalise import KINDS as NORMALISATIONS
from emdenoise_gui.models.registry import FAMILIES

CARD_VERSION = 1


#: Characters a model name may not hold: it names the package's folder on every platform.
NAME_FORBIDDEN = '/\\:*?"<>|'


#: Longest model name: it names a folder, and lists must show it.
MAX_NAME = 100
#: ... and at most this many bytes in UTF-8: the package folder and the hidden ``.NAME.checkpoint`` beside it
#: must fit a file system's 255-byte names (a 100-character name of 4-byte letters raised OSError).
MAX_NAME_BYTES = 200


def _invisible(c: str) -> bool:
    """Control and format characters (DEL, a right-to-left override, zero-width ones) and line breaks:
    a name holding one shows as another name."""
    return unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def valid_model_name(name: str, new: bool = True) -> bool:
    """Whether ``name`` can name a model and its package folder: not blank, not hidden (a leading dot), at
    most MAX_NAME characters, none of NAME_FORBIDDEN or control characters; and for a ``new`` model (trained,
    imported, named in the wizard) no space at either end (``"trail "`` would list as ``"trail"``) nor an
    invisible format character (DEL, a right-to-left override). A model already in the zoo (``new`` False)
    keeps the rule it was made under."""
    if new and (name != name.strip() or any(_invisible(c) for c in name) or _windows_device(name)):
        return False
    return (bool(name.strip()) and not name.startswith(".") and len(name) <= MAX_NAME
            and len(name.encode("utf-8", "surrogatepass")) <= MAX_NAME_BYTES
            and not any(c in NAME_FORBIDDEN or ord(c) < 32 for c in name))


#: Names Windows keeps for devices, whatever follows a dot ("con", "nul.txt"): no file or folder there has them.
WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def _windows_device(name: str) -> bool:
    """Whether ``name`` cannot name a folder on Windows (a shipped target): a device name, or one ending in a dot
    (Windows drops it: "run." and "run" would be one folder). Accepted before (wizard audit)."""
    return name.split(".")[0].strip().lower() in WINDOWS_DEVICES or name.endswith(".")


#: The model "name" that asks for the zoo's best fit for a stack (``emdenoise denoise --model auto``): a new
#: model may not take it (an existing package of that name still opens, by its path)
AUTO_MODEL = "auto"
#: Why a new model may not be named ``AUTO_MODEL``, for messages.
AUTO_RESERVED = f"'{AUTO_MODEL}' is reserved (`denoise --model {AUTO_MODEL}` picks the best-fitting model)"

#: The rule of :func:`valid_model_name` in words, for messages.
NAME_RULE = (f"a model name must not be empty, start with a dot or a space, end with a space or a dot, be longer "
             f"than {MAX_NAME} characters ({MAX_NAME_BYTES} bytes), contain / \\ : * ? \" < > | or invisible "
             "characters, or be a Windows device name (con, nul, com1 ...)")


#: Families whose classical rival is not the SURE-tuned Gaussian: the cyclic models are for film shading
#: and charging, which a flat-field correction undoes (quality benchmark, 2026-12-05: 31.33 dB on FlyEM
#: film, above the direct cyclic model's 30.80 and below the shipped gated one's, 33.14 since 2026-12-06).
_BAR_FILTERS = {"cyclic": "flat-field"}


def bar_filter(family: str) -> tuple[str, str]:
    """(``core.baselines.FILTERS`` key, its label) of the classical filter a new model of ``family`` is
    measured against on held-back data (training's ``filter_psnr_db`` metric): the flat-field correction
    for cyclic models (:data:`_BAR_FILTERS`), else the SURE-tuned Gaussian for the slices the family
    reads (on the slice and its neighbours for NRRN). Every message about that bar names it so."""
    from emdenoise_gui.core.baselines import FILTERS, sure_filter

    name = _BAR_FILTERS.get(family) or sure_filter(FAMILIES[family].input_slices if family in FAMILIES else 1)
    return name, FILTERS[name].label


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
    self-trained model was made for), ``best_step``, ``wall_s``, ``hardware``, ``precision``
    ("float32" or "bfloat16 autocast": a resumed run can differ from the first on another machine).
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

    def shot_noise(self) -> tuple[float, tuple[float, float] | None]:
        """(share 0-1 of the training examples given synthetic shot noise, its (low, high) counts per pixel or
        None) as the ``training`` record says; (0.0, None) for values that are not so (a card written by hand:
        the app's zoo panel failed on them, zoo audit of 2026-12-07)."""
        try:
            share = float(self.training.get("shot_noise") or 0.0)
            dose = self.training.get("shot_noise_dose")
            low, high = (float(d) for d in dose) if dose else (0.0, 0.0)
        except (TypeError, ValueError):
            return 0.0, None
        share = share if math.isfinite(share) and 0 <= share <= 1 else 0.0
        return share, ((low, high) if 0 < low <= high and math.isfinite(high) else None)


_TYPES = {
    "name": str, "family": str, "config": str, "architecture": dict, "normalisation": dict,
    "weights_sha256": str, "parameters": int, "description": str, "training_data": str,
    "noise_condition": str, "steps": int, "training_crop": int, "metrics": dict, "created": str, "app_version": str,
    "format_version": int, "training": dict,
}
_REQUIRED = ("name", "family", "config", "architecture", "normalisation", "weights_sha256", "parameters",
             "format_version")


def _finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


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
    version = data["format_version"]
    if not isinstance(version, int) or isinstance(version, bool):  # "1" read "card format 1 is not supported"
        raise CardError(f"card field 'format_version' should be int, not {type(version).__name__}")
    if version != CARD_VERSION:
        raise CardError(f"card format {version} is not supported (this app reads format "
                        f"{CARD_VERSION}); update EMDenoise")
    for key, kind in _TYPES.items():
        if key in data and not (isinstance(data[key], kind) and not (kind is int and isinstance(data[key], bool))):
            raise CardError(f"card field '{key}' should be {kind.__name__}, not {type(data[key]).__name__}")
    if data["family"] not in FAMILIES:
        raise CardError(f"card family '{data['family']}' is not one of {', '.join(FAMILIES)}")
    kind = data["normalisation"].get("kind")
    if kind not in NORMALISATIONS:
        raise CardError(f"card normalisation kind '{kind}' is not one of {', '.join(NORMALISATIONS)}")
    if kind == "zscore-dataset" and not (
        all(_finite_number(data["normalisation"].get(k)) for k in ("mean", "std"))
        and data["normalisation"]["std"] > 0
    ):
        raise CardError("card normalisation 'zscore-dataset' needs a finite 'mean' and a finite 'std' above 0")
    sha = data["weights_sha256"]
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise CardError("card field 'weights_sha256' is not a sha256 hex digest")
    pixel = data.get("pixel_size_nm")
    if pixel is not None and not _number_pair(pixel):
        raise CardError("card field 'pixel_size_nm' should be [min, max] in nm or null")
    doses = data.get("dose_range")
    if doses is not None and not (_number_pair(doses) and 0 < doses[0] <= doses[1]):
        raise CardError("card field 'dose_range' should be [low, high] counts per pixel with 0 < low <= high, or null")
    configs = FAMILIES[data["family"]].configs
    if data["config"] not in configs:
        raise CardError(f"card config '{data['config'][:20]}' is not one of {', '.join(configs)} for {data['family']}")
    if not valid_model_name(data["name"], new=False):
        raise CardError(f"card name '{data['name'][:40]}' is not allowed: {NAME_RULE}")
    _check_ranges(data)
    deep = next((key for key, kind in _TYPES.items() if kind is dict and _depth(data.get(key)) > MAX_NESTING), None)
    if deep is not None:  # 900 levels imported, then stopped `zoo show` and the export (RecursionError)
        raise CardError(f"card field '{deep}' is nested more than {MAX_NESTING} levels deep")
    return ModelCard(**data)


#: Deepest nesting of lists and objects in a card's free-form fields (what this app writes has 3).
MAX_NESTING = 16


def _depth(value, level: int = 0) -> int:
    """Levels of lists and objects in ``value`` (0 for a plain value), looked at to ``MAX_NESTING + 1``."""
    if level > MAX_NESTING or not isinstance(value, (dict, list)):
        return level
    items = value.values() if isinstance(value, dict) else value
    return max((_depth(item, level + 1) for item in items), default=level + 1)


#: Largest counts a card may claim (beyond any network EMDenoise builds).
MAX_PARAMETERS, MAX_STEPS, MAX_CROP = 10**10, 10**9, 8192
#: An architecture value may be at most this many times the largest shipped configuration's.
ARCHITECTURE_HEADROOM = 4


def _check_ranges(data: dict) -> None:
    """Numbers within what a real model has: counts, crop, architecture, metrics, pixel size, doses."""
    info = FAMILIES[data["family"]]
    checks = [
        (0 <= data["parameters"] <= MAX_PARAMETERS, f"'parameters' must be between 0 and {MAX_PARAMETERS:.0e}"),
        (0 <= data.get("steps", 0) <= MAX_STEPS, f"'steps' must be between 0 and {MAX_STEPS:.0e}"),
        (data.get("training_crop", 0) == 0 or (16 <= data["training_crop"] <= MAX_CROP
                                               and data["training_crop"] % max(16, info.multiple) == 0),
         f"'training_crop' must be 0 (unknown) or a multiple of {max(16, info.multiple)} from 16 to {MAX_CROP} px"),
        (all(_finite_number(v) for v in data.get("metrics", {}).values()), "'metrics' must hold finite numbers"),
        (data.get("pixel_size_nm") is None or all(_finite_number(v) and v > 0 for v in data["pixel_size_nm"]),
         "'pixel_size_nm' must be positive finite numbers"),
        (data.get("dose_range") is None or all(_finite_number(v) for v in data["dose_range"]),
         "'dose_range' must be finite numbers"),
    ]
    for ok, message in checks:
        if not ok:
            raise CardError(f"card field {message}")
    _check_architecture(info, data["architecture"])


def _check_architecture(info, architecture: dict) -> None:
    """Keys the family's network takes, each of the configurations' type, within ARCHITECTURE_HEADROOM
    times the largest configured value (a card cannot make the app build a network for hours), or one
    of the values the family's ``options`` allow."""
    known: dict[str, list] = {}
    for config in info.configs.values():
        for key, value in config.architecture.items():
            known.setdefault(key, []).append(value)
    options = dict(info.options)
    for key, value in architecture.items():
        if key in options:
            items = value if isinstance(value, list) and 0 < len(value) <= 64 else [value]
            if not all(type(item) is type(options[key][0]) and item in options[key] for item in items):
                raise CardError(f"card architecture setting '{key}' = {str(value)[:20]} is not one of "
                                f"{', '.join(map(str, options[key]))} for {info.name}")
            continue
        if key not in known:
            raise CardError(f"card architecture has an unknown setting '{key}' for {info.name}; it takes "
                            f"{', '.join(sorted([*known, *options]))}")
        examples = known[key]
        if isinstance(examples[0], bool):
            ok = isinstance(value, bool)
        else:
            largest = max(examples) * ARCHITECTURE_HEADROOM
            ok = _finite_number(value) and 0 <= value <= largest and (isinstance(value, int) or
                                                                      not isinstance(examples[0], int))
        if not ok:
            raise CardError(f"card architecture setting '{key}' = {str(value)[:20]} is out of range for {info.name}")
