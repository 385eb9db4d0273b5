"""Small pieces shared by the model families."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from emdenoise_gui.models.registry import family

#: Below this many channels a channels-last, half-precision batch norm trains on a contiguous copy
NARROW_CHANNELS = 16


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


class _Layout(torch.autograd.Function):
    """``x`` in memory format ``to``; its gradient returned in memory format ``back`` (values unchanged)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, to: torch.memory_format, back: torch.memory_format) -> torch.Tensor:
        ctx.back = back
        return x.contiguous(memory_format=to)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad.contiguous(memory_format=ctx.back), None, None


def narrow_layers(x: torch.Tensor, layers, training: bool) -> torch.Tensor:
    """``x`` (B, C, H, W) through ``layers`` (batch norms and activations, in order), in contiguous memory
    when training on a narrow channels-last half-precision batch; the result in ``x``'s memory format.

    PyTorch's CPU batch norm is slow on a channels-last bf16 batch of fewer than 16 channels (it
    vectorises over the channels): on a 2-core Zen 4, forward and backward of a (4, 8, 240, 240) bf16
    batch took 7.9 ms channels-last and 3.0 ms through a contiguous copy (the copy and its gradient's
    included), while 16 channels and more, float32, and evaluation are as fast or faster channels-last.
    So in training a (B, C < 16, H, W) bf16/fp16 channels-last ``x`` goes through ``layers`` as a
    contiguous copy, and both the output and ``x``'s gradient come back channels-last.
    """
    narrow = (training and x.dim() == 4 and x.shape[1] < NARROW_CHANNELS
              and x.dtype in (torch.bfloat16, torch.float16) and not x.is_contiguous()
              and x.is_contiguous(memory_format=torch.channels_last))
    last, first = torch.channels_last, torch.contiguous_format
    if narrow:
        x = _Layout.apply(x, first, last)
    for layer in layers:
        x = layer(x)
    return _Layout.apply(x, last, first) if narrow else x


def fold_batch_norms(model: nn.Module) -> int:
    """Fold each evaluation-mode batch norm that directly follows a convolution in an ``nn.Sequential``
    (``Conv2d`` or ``ConvTranspose2d``, then one or more ``BatchNorm2d``) into that convolution's weights
    and bias, in place, and put an ``nn.Identity`` where the batch norm was; returns how many were folded.

    For inference only (``model`` in eval mode, running statistics used): the output is the same up to
    float32 rounding, while every folded batch norm's pass over the feature map is gone (a quarter of
    Xception lite's CPU inference time). Batch norms after an activation, or in training mode, stay.
    """
    folded = 0
    for sequence in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        conv_at = None
        for i, layer in enumerate(sequence):
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
                conv_at = i
            elif (conv_at is not None and isinstance(layer, nn.BatchNorm2d) and not layer.training
                  and layer.track_running_stats and layer.running_mean is not None):
                conv = sequence[conv_at]
                sequence[conv_at] = fuse_conv_bn_eval(conv, layer, transpose=isinstance(conv, nn.ConvTranspose2d))
                sequence[i] = nn.Identity().eval()
                folded += 1
            elif not isinstance(layer, nn.Identity):  # a folded batch norm keeps the chain: BN, BN
                conv_at = None
    return folded


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
