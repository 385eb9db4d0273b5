"""THE family catalogue: what each model family is, needs, how it is built, normalised and trained.

Every other room reads families from here: the network modules take their
configurations, ``training.spec`` its defaults and data roles, ``training.trainers``
the trainer, ``zoo.card`` the valid names, ``inference`` the tiling rules, the CLI
and the GUI their texts. Importing this module imports no torch: networks and
trainers are named as ``"module:Class"`` and imported by :meth:`FamilyInfo.build`
and ``training.trainers.trainer_class`` only when needed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from emdenoise_gui.core.errors import InputError

#: Data roles a family trains on, and what each may be (files, or rectangles PATH@y0:y1,x0:x1).
ROLES = {
    "clean": "clean images: stacks or rectangles PATH@y0:y1,x0:x1; noise is synthesised on them",
    "noise": "pure noise patterns: blank regions or empty support film, files or PATH@y0:y1,x0:x1",
    "noisy": "the noisy stack to denoise or others like it",
}


@dataclass(frozen=True)
class Config:
    """A network size: its architecture keyword arguments and its training defaults.

    crop: training crop side (px); batch: crops per step; lr: Adam learning rate.
    """

    architecture: dict
    crop: int
    batch: int
    lr: float
    note: str = ""


@dataclass(frozen=True)
class FamilyInfo:
    """A model family.

    needs: ((role, what that data must be), ...); a role written "noisy|clean" takes either.
    input_slices: adjacent slices the denoiser takes (NRRN: 3, others 1).
    multiple: tile sides must be divisible by this (the network's total downsampling).
    normalisation: the card normalisation kind (``core.normalise``) its inputs use.
    tile_is_training_crop: infer on tiles the size of the training crops (the dilated ASPP of
        xception sees zero padding instead of image on smaller inputs, so its context must match).
    context: "local" when an output pixel depends on a bounded neighbourhood (its halo is measured,
        ``inference.halo``, and tiles overlap by about two halos), "tile" when it depends on the
        whole tile (instance norm, per-tile normalisation): tiles then overlap by ``tile_overlap`` px.
    min_tile, tile_overlap: a "tile" context's tiles in "quality: fast": at least ``min_tile`` px a side
        (0: the tile size asked for), overlapping by ``tile_overlap`` px (0: a quarter tile). The
        cyclic generator's instance norm takes its statistics from the tile: 1024 px tiles come near the
        whole slice's result where 512 px tiles lose 1.5 dB on charging artifacts, and a 128 px overlap
        does as well as a quarter tile with fewer pixels computed (docs/benchmarks.md, "the cyclic
        model's tiles"). Xception's 240 px tiles overlapping by 32 px score as a quarter tile (60 px)
        does, in 100 tiles of a 2048 px slice instead of 144 ("the Xception models' tile overlap").
    bf16_weights: on a CPU that computes bf16 natively, inference casts the weights to bf16 once instead
        of autocast casting them at every layer of every tile: for networks whose every layer already runs
        in bf16 under CPU autocast, so that the output is the same to the bit (the cyclic generator:
        convolutions and instance norm; tests/inference/test_bf16_weights.py); the network casts its float32
        input to its weights' type itself (``CyclicGAN.separate``). Not NRRN, N2V or Xception:
        their float32 residual sums, batch norms or upsampling would round differently.
    channels_last: inference keeps feature maps channels-last (oneDNN's faster layout for NRRN, N2V and
        Xception on the CPU); the cyclic generator (reflection pads, instance norm, transposed convs) runs
        7-9 % faster contiguous (2026-12-04, 2-core Zen 4, bf16, 2048^2 slice, interleaved passes).
    channels_last_float32: inference on a CPU that computes in float32 (no native bf16) runs channels-last
        anyway, its instance norms computed by ``models.blocks.ChannelsLastInstanceNorm``: the cyclic
        generator's transposed and 7x7 convolutions are 2-5x faster channels-last, and the whole lite
        generator 1.6x (an 816 px tile 369 against 590 ms; 2026-12-05, 2-core Zen 2, float32). Not in
        bf16 (unmeasured with this instance norm) nor on a GPU.
    train_channels_last: CPU training keeps weights and feature maps channels-last: N2V and Xception, whose
        full-resolution convolutions have few channels, learn 1.2-1.5x faster per step that way (oneDNN
        reorders every NCHW tensor of those layers), NRRN 1.2x slower, cyclic alike (2026-12-04, 2-core Zen 4,
        bf16 and float32; docs/benchmarks.md). Not on a GPU: unmeasured there.
    adapt_steps: steps of self-training on the user's own stack (``denoise --adapt``), or 0 when
        the family cannot learn from the noisy stack alone.
    preference: rank when the app picks a default model (0 first: NRRN suits FIB-SEM stacks).
    options: architecture settings no configuration sets, each with the values a card may give it, or
        that each item of a list may take (NRRN's ``neighbours``: "pair", the paper's, or "mean"; its
        ``dilations``: one per unit, 1 to 8; the cyclic G2's ``clean_output``: "direct", the paper's, or
        "gated", its own clean output blended with the input less its noise output, ``models.cyclic``).
    """

    name: str
    title: str
    purpose: str
    needs: tuple[tuple[str, str], ...]
    configs: dict[str, Config]
    network: str
    trainer: str
    input_slices: int
    multiple: int
    normalisation: str
    tile_is_training_crop: bool = False
    context: str = "local"
    min_tile: int = 0
    tile_overlap: int = 0
    bf16_weights: bool = False
    channels_last: bool = True
    channels_last_float32: bool = False
    train_channels_last: bool = False
    adapt_steps: int = 0
    preference: int = 9
    options: tuple[tuple[str, tuple], ...] = ()

    @property
    def roles(self) -> tuple[str, ...]:
        """Required data roles, e.g. ("clean", "noise", "noisy") or ("noisy|clean",)."""
        return tuple(role for role, _ in self.needs)

    def needs_text(self, flags: bool = False) -> str:
        """What the family trains on: ``--clean (clean micrographs) ...`` for the CLI (``flags``),
        or ``clean micrographs; ...`` in words for the app."""
        if flags:
            return " ".join(" or ".join(f"--{r}" for r in role.split("|")) + f" ({words})" for role, words in self.needs)
        return "; ".join(words for _, words in self.needs)

    def architecture(self, config: str) -> dict:
        return dict(self.configs[config].architecture)

    def network_class(self) -> type:
        """The network's nn.Module class (imports torch)."""
        module, _, name = self.network.partition(":")
        return getattr(importlib.import_module(module), name)

    def build(self, **architecture):
        """A fresh network from a card's architecture keyword arguments (imports torch)."""
        return self.network_class()(**architecture)


def _configs(**table) -> dict[str, Config]:
    return {name: Config(*row) for name, row in table.items()}


# Training defaults: "paper" follows ../shared/docs/models.md; "lite" is ours: small crops and a
# higher rate so a few hundred CPU steps already help (xception keeps large crops: its dilated
# ASPP needs the context it will see at inference).
FAMILIES: dict[str, FamilyInfo] = {
    "cyclic": FamilyInfo(
        "cyclic", "Asymmetric cyclic GAN (Quan et al. 2019)",
        "artifacts no formula describes (film, charging) learned from unpaired examples",
        (("clean", "clean images"), ("noise", "blank-region noise patches"), ("noisy", "noisy images, unpaired")),
        _configs(paper=(dict(ngf=64, n_blocks=9, ndf=64), 512, 1, 1e-4),
                 lite=(dict(ngf=16, n_blocks=3, ndf=16), 64, 4, 5e-4)),
        "emdenoise_gui.models.cyclic:CyclicGAN", "emdenoise_gui.training.trainers.cyclic:CyclicTrainer",
        1, 4, "robust-slice", context="tile", min_tile=1024, tile_overlap=128,
        bf16_weights=True, channels_last=False, channels_last_float32=True,
        preference=3, options=(("clean_output", ("direct", "gated")),)),
    "nrrn": FamilyInfo(
        "nrrn", "NRRN, Noise2Noise from adjacent slices",
        "FIB-SEM stacks or repeat scans: needs no clean data",
        (("noisy|clean", "a stack whose adjacent slices are nearly alike, or repeat scans; or clean stacks "
                         "with a synthetic dose"),),
        _configs(paper=(dict(channels=64, units=4), 256, 16, 1e-4),
                 # 47 k parameters: about 0.2 s per 8x64x64 step on one CPU core
                 lite=(dict(channels=16, units=3), 64, 8, 1e-3),
                 # 185 k parameters: about 0.6 s per step there; the shipped FIB-SEM model
                 base=(dict(channels=32, units=3), 64, 8, 1e-3)),
        "emdenoise_gui.models.nrrn:NRRN", "emdenoise_gui.training.trainers.nrrn:NRRNTrainer",
        3, 1, "zscore-slice", adapt_steps=600, preference=0,
        options=(("neighbours", ("pair", "mean")), ("dilations", tuple(range(1, 9))))),
    "xception": FamilyInfo(
        "xception", "Xception/ASPP encoder-decoder (Ede & Beanland 2019)",
        "low-dose shot noise: trained on clean micrographs with synthetic Poisson noise",
        (("clean", "clean micrographs, noised at a dose LOW:HIGH counts per pixel"),),
        _configs(paper=(dict(width=1.0, middle_blocks=12), 512, 1, 1e-3),
                 # lite trains for hundreds, not 200,000, steps: BN running statistics must follow within them
                 lite=(dict(width=0.125, middle_blocks=2, bn_momentum=0.1), 240, 4, 1e-3),
                 # lite plus a full-resolution input skip and a 32-channel full-resolution stage
                 base=(dict(width=0.125, middle_blocks=2, bn_momentum=0.1, full_res=32, input_skip=True),
                       240, 4, 1e-3)),
        "emdenoise_gui.models.xception:XceptionDenoiser", "emdenoise_gui.training.trainers.xception:XceptionTrainer",
        1, 16, "minmax-tile", tile_is_training_crop=True, context="tile", tile_overlap=32, train_channels_last=True,
        preference=2),
    "n2v": FamilyInfo(
        "n2v", "Noise2Void / N2V2 U-Net",
        "a single noisy image or stack with pixel-independent noise",
        (("noisy", "the noisy images themselves"),),
        _configs(paper=(dict(depth=2, base=32, n2v2=True), 64, 16, 4e-4),
                 lite=(dict(depth=2, base=16, n2v2=True), 64, 8, 1e-3)),
        "emdenoise_gui.models.n2v:UNet", "emdenoise_gui.training.trainers.n2v:N2VTrainer",
        1, 4, "zscore-slice", train_channels_last=True, adapt_steps=1500, preference=1),
}
#: Inference precisions: "auto" picks per device (``models.device.autocast_dtype``), "fp32" never autocasts.
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
#: Every configuration name some family has, smallest first.
CONFIG_NAMES = ("lite", "base", "paper")
#: Families that can self-train on the stack being denoised (``denoise --adapt``).
ADAPT_FAMILIES = tuple(name for name, info in FAMILIES.items() if info.adapt_steps)


def family(name: str) -> FamilyInfo:
    """The catalogue entry of ``name``; InputError naming the choices for an unknown one."""
    if name not in FAMILIES:
        raise InputError(f"unknown model family '{name}'; choose one of {', '.join(FAMILIES)}")
    return FAMILIES[name]


def by_preference() -> list[str]:
    """Family names in the order the app prefers them as a default."""
    return sorted(FAMILIES, key=lambda name: FAMILIES[name].preference)


def architectures(name: str) -> dict[str, dict]:
    """{config: architecture keyword arguments} of a family (the network modules' CONFIGS)."""
    return {config: c.architecture for config, c in FAMILIES[name].configs.items()}
