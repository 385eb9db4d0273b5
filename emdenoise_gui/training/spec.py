"""The validated description of a training run (what the CLI and the wizard fill in)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.models.registry import FAMILIES, ROLES
from emdenoise_gui.training.synthetic import (
    ARTIFACT_BATCH,
    ARTIFACT_CROP,
    ARTIFACT_KINDS,
    DOSE_DISTRIBUTIONS,
)
from emdenoise_gui.zoo.card import (
    AUTO_MODEL,
    AUTO_RESERVED,
    NAME_RULE,
    valid_model_name,
)

SPEC_VERSION = 1
#: Synthetic doses a run may ask for (counts per pixel at the image mean): below 0.01 an image is
#: almost all zeros, above a million the noise is below a grey level.
MIN_DOSE, MAX_DOSE = 0.01, 1e6
#: the largest --lr taken: Adam already diverges far below it (every family and configuration defaults to 1e-4 to 1e-3);
#: above it its step size overflowed float32 (an internal error, not a message)
MAX_LR = 1.0


@dataclass
class RunSpec:
    """A training run. Data roles map to lists of ``PATH`` or ``PATH@y0:y1,x0:x1`` strings.

    dose: (low, high) counts per pixel at the image mean of the synthetic Poisson noise
    (xception, and nrrn on clean data), sampled log-uniformly.
    dose_dist: how synthetic doses are drawn (``training.synthetic.DOSE_DISTRIBUTIONS``); "" picks
    Ede & Beanland's "ede-low" for the paper xception and "log-uniform" (over ``dose``) otherwise.
    sigma, gaussian_fraction: with that probability a synthetic sample gets additive Gaussian
    noise of sigma (low, high) 8-bit grey levels instead (nrrn on clean data).
    crop, batch_size, lr: None picks the family's default for the configuration (and, when
    fine-tuning from ``init``, a rate a third of it).
    init: a package (path or zoo name) of the same family to start from (fine-tuning).
    objective: nrrn on noisy data: "consensus" (the paper's Noise2Noise between neighbouring
    slices) or "blind-spot" (Noise2Void-style masking of the centre slice only, neighbours intact);
    "" picks consensus for the paper's two-branch network, blind-spot for neighbours "mean".
    neighbours: nrrn only, how the network takes the two neighbours (``models.nrrn.NEIGHBOUR_MODES``:
        "pair", the paper's two branches, or "mean", one branch on their mean); "" keeps the
        ``init`` package's, else picks "mean" on clean data and the configuration's ("pair") on noisy data.
    artifacts: cyclic only, "film", "charge" or "film,charge": train the denoiser on ``clean`` data
        with those synthetic artifacts (``training.trainers.cyclic_paired``) instead of the paper's
        three unpaired pools.
    shot_noise: cyclic ``artifacts`` runs only, the share of samples (0-1) that also get shot noise after
        the artifact, at a level drawn as ``dose`` / ``dose_dist`` (and ``sigma`` / ``gaussian_fraction``) say.
    clean_output: cyclic only, how G2 gives its clean image (``models.cyclic.CLEAN_OUTPUTS``): "direct",
        the paper's own output channel, or "gated", that channel blended by a learned gate with the input
        less its noise output (``models.cyclic``); "" keeps the
        ``init`` package's, else picks "gated" for ``artifacts`` runs and "direct" for the paper's GAN.
    notes: extra facts for the card's ``training`` record (e.g. what a self-trained model is for).
    device: "auto" (CUDA, then MPS, then CPU), "cpu", "cuda", "cuda:1", "mps": the device the run was started
        with, kept by its checkpoints (a resume on another device is that session's only: ``engine.Sessions``).
    """

    family: str
    config: str = "lite"
    steps: int = 300
    data: dict = field(default_factory=dict)
    output: str = ""
    name: str = ""
    crop: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    dose: tuple = (25.0, 100.0)
    sigma: tuple = (5.0, 80.0)
    gaussian_fraction: float = 0.0
    dose_dist: str = ""
    init: str = ""
    notes: dict = field(default_factory=dict)
    objective: str = ""
    neighbours: str = ""
    artifacts: str = ""
    clean_output: str = ""
    shot_noise: float = 0.0
    val_fraction: float = 0.1
    validate_every: int = 50
    checkpoint_every: int = 100
    checkpoint_dir: str = ""
    gan_mode: str = "lsgan"
    version: int = SPEC_VERSION

    def validated(self) -> "RunSpec":
        """Fill defaults and check every field; InputError with an actionable message otherwise."""
        if self.family not in FAMILIES:
            raise InputError(f"unknown model family '{self.family}'; choose one of {', '.join(FAMILIES)}")
        info = FAMILIES[self.family]
        if self.config not in info.configs:
            raise InputError(f"unknown configuration '{self.config}' for {self.family}; choose "
                             f"{' or '.join(info.configs)}")
        lr = info.configs[self.config].lr
        crop, batch = default_crop_batch(self.family, self.config, bool(self.artifacts.strip()))
        self.crop = crop if self.crop is None else int(self.crop)
        self.batch_size = batch if self.batch_size is None else int(self.batch_size)
        self.lr = (lr / 3.0 if self.init else lr) if self.lr is None else float(self.lr)
        required, allowed = info.roles, []
        artifacts = [k.strip() for k in self.artifacts.split(",") if k.strip()]
        if artifacts:
            if self.family != "cyclic":
                raise InputError("--artifacts is a cyclic option (a synthetic film or charge artifact on clean data)")
            unknown = [k for k in artifacts if k not in ARTIFACT_KINDS]
            if unknown:
                raise InputError(f"unknown artifact '{unknown[0]}'; choose {' and/or '.join(ARTIFACT_KINDS)}, "
                                 "comma-separated")
            required = ("clean",)
            self.artifacts = ",".join(dict.fromkeys(artifacts))
        for role in required:
            choices = role.split("|")
            allowed += choices
            given = [c for c in choices if self.data.get(c)]
            if not given:
                flags = " or ".join(f"--{c}" for c in choices)
                raise InputError(f"{self.family} training needs {flags} data "
                                 f"({'; '.join(ROLES[c] for c in choices)})")
            if len(given) > 1:
                raise InputError(f"{self.family} trains from {' or '.join('--' + c for c in choices)} data, "
                                 "not both; choose one")
        seen: dict[str, str] = {}  # a whole file in two roles: clean data taken as noise, or as the noisy images
        for role in allowed:
            for item in self.data.get(role) or []:
                whole = str(item) if "@" not in str(item) else ""  # a rectangle of a file may serve another role
                if whole and seen.setdefault(whole, role) != role:
                    raise InputError(f"{Path(whole).name} is given as both --{seen[whole]} and --{role} data; "
                                     f"give each role its own images")
        extra = [r for r in self.data if self.data[r] and r not in allowed]
        if extra:
            raise InputError(f"{self.family} does not use --{extra[0]} data; it needs "
                             f"{', '.join('--' + r.replace('|', ' or --') for r in required)}")
        checks = [
            (self.steps >= 1, "--steps must be at least 1"),
            (isinstance(self.seed, int) and 0 <= self.seed < 2**63, "--seed must be a whole number from 0 to 2^63 - 1"),
            (self.crop >= 16 and self.crop % 16 == 0, "--crop must be a multiple of 16, at least 16"),
            (self.family != "cyclic" or bool(artifacts) or self.crop >= 32,
             "the cyclic GAN trains on crops of at least 32 px (its discriminators shrink a crop 8-fold): "
             "use --crop 32 or more, on images at least that large"),
            (self.batch_size >= 1, "--batch-size must be at least 1"),
            (0 < self.lr <= MAX_LR, f"--lr must be above 0 and at most {MAX_LR:g} (Adam diverges far below "
                                    "that: the families' defaults are 1e-4 to 1e-3; leave --lr out to use them)"),
            (all(map(math.isfinite, self.dose)) and MIN_DOSE <= self.dose[0] <= self.dose[1] <= MAX_DOSE,
             f"--dose must be LOW:HIGH counts per pixel with {MIN_DOSE:g} <= LOW <= HIGH <= {MAX_DOSE:g}"),
            (all(map(math.isfinite, self.sigma)) and 0 < self.sigma[0] <= self.sigma[1] <= 255,
             "the Gaussian sigma range must be LOW:HIGH grey levels with 0 < LOW <= HIGH <= 255"),
            (0 <= self.gaussian_fraction <= 1, "the Gaussian fraction must be between 0 and 1"),
            (self.dose_dist in ("", *DOSE_DISTRIBUTIONS),
             f"--dose-dist must be one of {', '.join(DOSE_DISTRIBUTIONS)}"),
            (math.isfinite(self.lr), "--lr must be a finite number"),
            (0 < self.val_fraction < 1, "the validation fraction must be between 0 and 1"),
            (self.gan_mode in ("lsgan", "vanilla"), "--gan-mode must be lsgan or vanilla"),
            (self.objective in ("", "consensus", "blind-spot"), "--objective must be consensus or blind-spot"),
            (self.neighbours in ("", "pair", "mean"), "--neighbours must be pair or mean"),
            (not self.neighbours or self.family == "nrrn", "--neighbours is an NRRN option"),
            (math.isfinite(self.shot_noise) and 0 <= self.shot_noise <= 1, "--shot-noise must be between 0 and 1"),
            (not self.shot_noise or bool(artifacts), "--shot-noise is a cyclic --artifacts option"),
            (self.clean_output in ("", *dict(info.options).get("clean_output", ())),
             "--clean-output is a cyclic option: direct or gated"),
            (self.validate_every >= 1, "--validate-every must be at least 1 step"),
            (self.checkpoint_every >= 1, "--checkpoint-every must be at least 1 step"),
        ]
        name = self.name or Path(self.output).name or "model"
        checks.append((valid_model_name(name),
                       f"'{name[:40]}': {NAME_RULE}; use --name"))
        checks.append((name != AUTO_MODEL, f"{AUTO_RESERVED}; use --name"))
        for ok, message in checks:
            if not ok:
                raise InputError(message)
        self.dose = (float(self.dose[0]), float(self.dose[1]))
        self.sigma = (float(self.sigma[0]), float(self.sigma[1]))
        if not self.dose_dist:
            self.dose_dist = "ede-low" if (self.family, self.config) == ("xception", "paper") else "log-uniform"
        if self.family == "nrrn" and not self.neighbours and not self.init and self.data.get("clean"):
            # one branch on the neighbours' mean learned as much per step as the paper's two at half the
            # compute (lite from scratch, 800 steps: validation 31.19 against 31.15 dB, 77 against 139 s;
            # docs/benchmarks.md); recorded here, so a checkpoint keeps it. Noisy data keep the pair, which
            # the consensus loss needs; an init package keeps its own.
            self.neighbours = "mean"
        if self.family == "cyclic" and self.artifacts and not self.clean_output and not self.init:
            # the skip from input to output lifts film from 30.8 to 34 dB (docs/benchmarks.md, "the cyclic
            # model's clean output"); an init package keeps its own unless asked
            self.clean_output = "gated"
        return self

    def nrrn_objective(self, neighbours: str) -> str:
        """The loss an NRRN run on noisy data learns with, its network taking the neighbours as ``neighbours``
        ("pair" or "mean"): the spec's, else the paper's consensus loss for the two-branch network and the
        blind spot for one branch on the neighbours' mean (the consensus loss cannot train it)."""
        return self.objective or ("blind-spot" if neighbours == "mean" else "consensus")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RunSpec":
        """The spec a checkpoint recorded; InputError naming the field if the record is not one."""
        if not isinstance(data, dict) or data.get("version") != SPEC_VERSION:
            version = data.get("version") if isinstance(data, dict) else None
            raise InputError(f"training record version {version} is not supported by this EMDenoise")
        data = dict(data)
        data.setdefault("dose_dist", "log-uniform")  # what runs saved before the choice existed used
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise InputError(f"the training record has an unknown field '{unknown[0]}': it was written by a "
                             "newer EMDenoise or is damaged")
        for name, value in list(data.items()):
            data[name] = _checked_field(name, known[name].type, value)
        return cls(**data)


#: the Python types a training record's scalar fields may hold, by annotation (bool is not a number here)
_FIELD_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "dict": (dict,)}


def default_crop_batch(family: str, config: str, artifacts: bool = False) -> tuple[int, int]:
    """(training crop px, crops per step) a run gets unless it names them: the configuration's, or for
    a lite run on synthetic ``artifacts`` (cyclic) the shipped recipe's ARTIFACT_CROP x ARTIFACT_BATCH."""
    if artifacts and config == "lite":
        return ARTIFACT_CROP, ARTIFACT_BATCH
    defaults = FAMILIES[family].configs[config]
    return defaults.crop, defaults.batch


def _checked_field(name: str, kind: str, value):
    """``value`` as the field's type (annotations are strings here); InputError if it is not one."""
    base = kind.split(" |")[0]
    if value is None and "None" in kind:
        return None
    if base == "tuple":
        items = value if isinstance(value, (list, tuple)) and len(value) == 2 else [None]
        ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in items)
    else:
        ok = isinstance(value, _FIELD_TYPES[base]) and (base == "bool" or not isinstance(value, bool))
    if not ok:
        raise InputError(f"the training record's field '{name}' holds {value!r}, not a {kind}; the "
                         "checkpoint is damaged")
    return tuple(float(v) for v in value) if base == "tuple" else value
