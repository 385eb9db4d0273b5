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


#: Up to this many channels the instance norm's moments are matrix products (the (C, C) Gram matrix's
#: diagonal): a (1, 16, 816, 816) map 10.5 against 22.8 ms on a 2-core Zen 2; with more channels slower.
GRAM_CHANNELS = 16
#: Worst ratio of a channel's squared mean to its variance for which the one-pass statistics and the fused
#: output are kept (their float32 rounding grows with mean / spread: under 1e-5 of the output here); above
#: it the statistics are computed again in two passes and the output as (x - mean) * scale.
ONE_PASS_CONDITION = 1e4


class ChannelsLastInstanceNorm(nn.Module):
    """Instance norm without affine weights or running statistics (``nn.InstanceNorm2d`` as the cyclic
    generator uses it), for inference on channels-last feature maps.

    (B, C, H, W) float in any memory format -> the same shape and format. PyTorch's own instance norm
    treats a channels-last map as a strided one: on a 2-core Zen 2, float32, a (1, 16, 816, 816) map
    took 62 ms against 23 ms contiguous, and (1, 32, 408, 408) 39 against 7 ms, which is why the
    generator ran contiguous, where its transposed and 7x7 convolutions are 2-5x slower. Here the
    per-channel mean and variance of a channels-last map come from its (B, H*W, C) view (mean of x and
    of x^2; for few channels as matrix products), and the output from one fused multiply-add: 22 and
    7 ms. Where a channel's mean is so large against its spread that this loses precision
    (:data:`ONE_PASS_CONDITION`; a constant channel too), two passes are used instead. A contiguous map
    goes through ``F.instance_norm``.
    """

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.is_contiguous() or not x.is_contiguous(memory_format=torch.channels_last):
            return nn.functional.instance_norm(x, eps=self.eps)
        b, c, h, w = x.shape
        rows = x.permute(0, 2, 3, 1).reshape(b, h * w, c)  # a view: channels-last memory is (B, H, W, C)
        if c <= GRAM_CHANNELS:  # sums and sums of squares as matrix products: no (B, H*W, C) temporary
            mean = torch.bmm(rows.new_ones(b, 1, h * w), rows) / (h * w)
            power = torch.bmm(rows.transpose(1, 2), rows).diagonal(dim1=1, dim2=2).unsqueeze(1) / (h * w)
        else:
            mean = rows.mean(dim=1, keepdim=True)
            power = (rows * rows).mean(dim=1, keepdim=True)
        square = mean * mean
        var = power - square
        if bool((square > ONE_PASS_CONDITION * var.clamp_min(self.eps)).any()):
            var, mean = torch.var_mean(rows, dim=1, keepdim=True, unbiased=False)
            out = (rows - mean) * torch.rsqrt(var + self.eps)
        else:
            scale = torch.rsqrt(var.clamp_min(0) + self.eps)
            out = torch.addcmul(-mean * scale, rows, scale)  # (x - mean) / sqrt(var + eps), one pass
        return out.reshape(b, h, w, c).permute(0, 3, 1, 2)


def channels_last_instance_norms(model: nn.Module) -> int:
    """Put a :class:`ChannelsLastInstanceNorm` in place of every ``nn.InstanceNorm2d`` of ``model`` that
    has no affine weights and no running statistics, in place; returns how many were replaced."""
    replaced = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.InstanceNorm2d) and not child.affine and not child.track_running_stats:
                setattr(parent, name, ChannelsLastInstanceNorm(child.eps))
                replaced += 1
    return replaced


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
