"""The validated description of a training run (what the CLI and the wizard fill in)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from emdenoise_gui.core.errors import InputError

SPEC_VERSION = 1
FAMILY_ROLES = {
    # family: (required data roles, optional roles)
    "cyclic": (("clean", "noise", "noisy"), ()),
    "nrrn": (("noisy",), ()),
    "xception": (("clean",), ()),
    "n2v": (("noisy",), ()),
}
#: Per family and configuration: crop (px), batch, learning rate. "paper" follows models.md;
#: "lite" is ours: small crops and a higher rate so a few hundred CPU steps already help (xception
#: keeps large crops: its dilated ASPP needs the context it will see at inference).
DEFAULTS = {
    ("cyclic", "paper"): (512, 1, 1e-4), ("cyclic", "lite"): (64, 4, 5e-4),
    ("nrrn", "paper"): (256, 16, 1e-4), ("nrrn", "lite"): (64, 8, 1e-3),
    ("xception", "paper"): (512, 1, 1e-3), ("xception", "lite"): (240, 4, 1e-3),
    ("n2v", "paper"): (64, 16, 4e-4), ("n2v", "lite"): (64, 8, 1e-3),
}


@dataclass
class RunSpec:
    """A training run. Data roles map to lists of ``PATH`` or ``PATH@y0:y1,x0:x1`` strings.

    dose: (low, high) counts per pixel of the synthetic Poisson noise (xception).
    crop, batch_size, lr: None picks the family's default for the configuration.
    device: "auto" (CUDA, then MPS, then CPU), "cpu", "cuda", "cuda:1", "mps".
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
    val_fraction: float = 0.1
    validate_every: int = 50
    checkpoint_every: int = 100
    checkpoint_dir: str = ""
    gan_mode: str = "lsgan"
    version: int = SPEC_VERSION

    def validated(self) -> "RunSpec":
        """Fill defaults and check every field; InputError with an actionable message otherwise."""
        if self.family not in FAMILY_ROLES:
            raise InputError(f"unknown model family '{self.family}'; choose one of {', '.join(FAMILY_ROLES)}")
        if (self.family, self.config) not in DEFAULTS:
            raise InputError(f"unknown configuration '{self.config}' for {self.family}; choose paper or lite")
        crop, batch, lr = DEFAULTS[(self.family, self.config)]
        self.crop = crop if self.crop is None else int(self.crop)
        self.batch_size = batch if self.batch_size is None else int(self.batch_size)
        self.lr = lr if self.lr is None else float(self.lr)
        required, optional = FAMILY_ROLES[self.family]
        for role in required:
            if not self.data.get(role):
                flag = f"--{role}"
                raise InputError(f"{self.family} training needs {flag} data ({_ROLE_HELP[role]})")
        extra = [r for r in self.data if self.data[r] and r not in required + optional]
        if extra:
            raise InputError(f"{self.family} does not use --{extra[0]} data; it needs "
                             f"{', '.join('--' + r for r in required)}")
        checks = [
            (self.steps >= 1, "--steps must be at least 1"),
            (self.crop >= 16 and self.crop % 16 == 0, "--crop must be a multiple of 16, at least 16"),
            (self.batch_size >= 1, "--batch-size must be at least 1"),
            (self.lr > 0, "--lr must be positive"),
            (0 < self.dose[0] <= self.dose[1], "--dose must be LOW:HIGH counts per pixel with 0 < LOW <= HIGH"),
            (0 < self.val_fraction < 1, "the validation fraction must be between 0 and 1"),
            (self.gan_mode in ("lsgan", "vanilla"), "--gan-mode must be lsgan or vanilla"),
            (self.validate_every >= 1 and self.checkpoint_every >= 1, "intervals must be at least 1 step"),
        ]
        name = self.name or Path(self.output).name or "model"
        checks.append((bool(name.strip()) and not any(c in name for c in '/\\:*?"<>|'),
                       f"the model name '{name}' may not be empty or contain / \\ : * ? \" < > |; use --name"))
        for ok, message in checks:
            if not ok:
                raise InputError(message)
        self.dose = (float(self.dose[0]), float(self.dose[1]))
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RunSpec":
        if data.get("version") != SPEC_VERSION:
            raise InputError(f"training spec version {data.get('version')} is not supported")
        data = dict(data)
        data["dose"] = tuple(data.get("dose", (25.0, 100.0)))
        return cls(**data)


_ROLE_HELP = {
    "clean": "clean images: stacks or rectangles PATH@y0:y1,x0:x1",
    "noise": "pure noise patterns: blank regions or empty support film, files or PATH@y0:y1,x0:x1",
    "noisy": "the noisy stack to denoise or others like it",
}
