"""Small pieces shared by the model families."""

from __future__ import annotations

from torch import nn

from emdenoise_gui.models.registry import family


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) scalar parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def init_normal(module: nn.Module, std: float = 0.02) -> nn.Module:
    """CycleGAN-style init: conv weights N(0, std), biases 0, norm weights N(1, std); returns ``module``."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module


def parameter_counts(name: str) -> dict[str, dict[str, int]]:
    """{config: {"total": n, and per network for multi-network families (g1, g2, d_c, ...)}}.

    Builds each configuration on the CPU.
    """
    info = family(name)
    counts = {}
    for config, c in info.configs.items():
        model = info.build(**c.architecture)
        parts = {"total": count_parameters(model)}
        if name == "cyclic":
            parts.update({net: count_parameters(getattr(model, net)) for net in ("g1", "g2", "d_c", "d_n", "d_i")})
        counts[config] = parts
    return counts
