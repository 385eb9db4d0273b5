"""What each model family is, what it needs, and how to build it from a card's architecture."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from emdenoise_gui.models import cyclic, n2v, nrrn, xception
from emdenoise_gui.models.blocks import count_parameters


@dataclass(frozen=True)
class FamilyInfo:
    """A model family.

    input_slices: adjacent slices the denoiser takes (NRRN: 3, others 1).
    multiple: tile sides must be divisible by this (the network's total downsampling).
    normalisation: the card normalisation kind its inputs use.
    tile_is_training_crop: infer on tiles the size of the training crops (the dilated ASPP of
        xception sees zero padding instead of image on smaller inputs, so its context must match).
    """

    name: str
    title: str
    purpose: str
    needs: str
    configs: dict
    factory: Callable[..., nn.Module]
    input_slices: int
    multiple: int
    normalisation: str
    tile_is_training_crop: bool = False

    def build(self, **architecture) -> nn.Module:
        return self.factory(**architecture)


FAMILIES: dict[str, FamilyInfo] = {
    "cyclic": FamilyInfo(
        "cyclic", "Asymmetric cyclic GAN (Quan et al. 2019)",
        "artifacts no formula describes (film, charging) learned from unpaired examples",
        "--clean (clean images) --noise (blank-region noise patches) --noisy (noisy images), unpaired",
        cyclic.CONFIGS, cyclic.CyclicGAN, 1, 4, "robust-slice"),
    "nrrn": FamilyInfo(
        "nrrn", "NRRN, Noise2Noise from adjacent slices",
        "FIB-SEM stacks or repeat scans: needs no clean data",
        "--noisy (a stack whose adjacent slices are nearly alike, or repeat scans), or --clean stacks with --dose",
        nrrn.CONFIGS, nrrn.NRRN, 3, 1, "zscore-slice"),
    "xception": FamilyInfo(
        "xception", "Xception/ASPP encoder-decoder (Ede & Beanland 2019)",
        "low-dose shot noise: trained on clean micrographs with synthetic Poisson noise",
        "--clean (clean micrographs) and --dose LOW:HIGH counts per pixel",
        xception.CONFIGS, xception.XceptionDenoiser, 1, 16, "minmax-tile", tile_is_training_crop=True),
    "n2v": FamilyInfo(
        "n2v", "Noise2Void / N2V2 U-Net",
        "a single noisy image or stack with pixel-independent noise",
        "--noisy (the noisy images themselves)",
        n2v.CONFIGS, n2v.UNet, 1, 4, "zscore-slice"),
}


def family(name: str) -> FamilyInfo:
    from emdenoise_gui.core.errors import InputError

    if name not in FAMILIES:
        raise InputError(f"unknown model family '{name}'; choose one of {', '.join(FAMILIES)}")
    return FAMILIES[name]


def parameter_counts(name: str) -> dict[str, dict[str, int]]:
    """{config: {"total": n, and per network for multi-network families (g1, g2, d_c, ...)}}.

    Builds each configuration on the CPU.
    """
    info = family(name)
    counts = {}
    for config, arch in info.configs.items():
        model = info.build(**arch)
        parts = {"total": count_parameters(model)}
        if name == "cyclic":
            parts.update({net: count_parameters(getattr(model, net)) for net in ("g1", "g2", "d_c", "d_n", "d_i")})
        counts[config] = parts
    return counts
