"""Ede & Beanland (arXiv 1807.11234) Xception/ASPP denoiser (spec: docs/models.md section 3).

Tensors are NCHW float32. The network maps a noisy micrograph crop ``(B, 1, H, W)`` in
[0, 1] (H and W divisible by 16; the paper trains on 512x512 crops) to a denoised estimate of
the same shape. The output is unclipped during training; clip it to [0, 1] only at inference.

Choices the spec leaves open, and what we picked:

* **SepConv BN placement:** the code's variant, ``depthwise -> pointwise -> BN -> BN -> ReLU6``
  (the "extra BN" after the whole separable conv, then the ordinary BN). It is what the
  published, trained scripts do, and with it the paper-size model has ~25.4 M trainable
  parameters as quoted.
* **ASPP image-pooling branch:** the code's version: resizing the 1/16-scale map to its own size
  is an identity, followed by BN + ReLU6 (the figure's 2x2 avg-pool + bilinear x2 is not used).
* **Output head:** plain ``Conv 3x3 64->1`` with bias and *no* BN/ReLU6. The code adds BN +
  ReLU6 there; ReLU6 zeroes the gradient of every negative pre-activation (dark pixels) and a
  1-channel BN renormalises the output per batch, so we keep the head linear; it can reach the
  whole [0, 1] target range (and slightly beyond, which the inference-time clip removes).
* **Upsampling:** bilinear x4 with ``align_corners=False``; 3x3 convs use symmetric padding
  (``padding=dilation``), so stride-2 outputs sample even positions, like the 1x1 shortcuts.
* **Weight decay:** the paper's ``5e-5 * sum(||w||^2 / 2)`` over all trainable variables is coupled
  L2, i.e. ``torch.optim.Adam(..., weight_decay=WEIGHT_DECAY, betas=ADAM_BETAS)`` (not AdamW).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from emdenoise_gui.models.blocks import count_parameters, narrow_layers
from emdenoise_gui.models.registry import architectures

__all__ = [
    "ADAM_BETAS",
    "BN_EPS",
    "BN_MOMENTUM",
    "CONFIGS",
    "WEIGHT_DECAY",
    "Conv",
    "ConvT",
    "SepConv",
    "XceptionDenoiser",
    "build",
    "count_parameters",
    "huberised_mse",
]

BN_MOMENTUM = 0.001  # TF decay 0.999
BN_EPS = 1e-3
WEIGHT_DECAY = 5e-5  # coupled L2: Adam(weight_decay=WEIGHT_DECAY), equals 5e-5 * sum ||w||^2 / 2
ADAM_BETAS = (0.5, 0.999)
DOWNSAMPLE = 16  # total stride of the encoder; H and W must be multiples of it

CONFIGS: dict[str, dict] = architectures("xception")  # the sizes live in the family catalogue


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


def _scaled(channels: int, width: float) -> int:
    """``channels * width`` rounded to a multiple of 8, at least 8 (identity for width 1)."""
    if width == 1.0:
        return channels
    return max(8, int(round(channels * width / 8.0)) * 8)


class _ConvLayers(nn.Sequential):
    """``convs`` leading convolutions, then batch norms and activations (``blocks.narrow_layers``: on a
    narrow channels-last bf16 training batch those run in contiguous memory, where they are faster)."""

    convs = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layers = tuple(self)
        for conv in layers[:self.convs]:
            x = conv(x)
        # the batch norm's own mode: Xception paper freezes its batch norms (eval) while the block trains
        return narrow_layers(x, layers[self.convs:], layers[self.convs].training)


class SepConv(_ConvLayers):
    """Separable conv: depthwise 3x3 (stride/dilation) -> pointwise 1x1 (no bias) -> BN -> BN -> ReLU6.

    ``(B, cin, H, W) -> (B, cout, H/stride, W/stride)``; output in [0, 6].
    """

    convs = 2

    def __init__(self, cin: int, cout: int, stride: int = 1, dilation: int = 1):
        super().__init__(
            nn.Conv2d(cin, cin, 3, stride=stride, padding=dilation, dilation=dilation,
                      groups=cin, bias=False),
            nn.Conv2d(cin, cout, 1, bias=False),
            _bn(cout),
            _bn(cout),
            nn.ReLU6(inplace=True),
        )


class Conv(_ConvLayers):
    """Ordinary conv with bias -> BN -> ReLU6. ``(B, cin, H, W) -> (B, cout, H/stride, W/stride)``."""

    def __init__(self, cin: int, cout: int, kernel_size: int = 1, stride: int = 1):
        super().__init__(
            nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=kernel_size // 2, bias=True),
            _bn(cout),
            nn.ReLU6(inplace=True),
        )


class ConvT(_ConvLayers):
    """Transposed conv 3x3 stride 2 (padding 1, output_padding 1) with bias -> BN -> ReLU6.

    ``(B, cin, H, W) -> (B, cout, 2H, 2W)``.
    """

    def __init__(self, cin: int, cout: int):
        super().__init__(
            nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1, bias=True),
            _bn(cout),
            nn.ReLU6(inplace=True),
        )


class _Residual(nn.Module):
    """``main(x) + shortcut(x)``; the shortcut is the identity when ``shortcut`` is None."""

    def __init__(self, main: nn.Module, shortcut: nn.Module | None = None):
        super().__init__()
        self.main = main
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = x if self.shortcut is None else self.shortcut(x)
        return self.main(x) + skip


def _entry_block(cin: int, cout: int) -> _Residual:
    """SepConv cout x2, SepConv cout stride 2, plus a 1x1 stride-2 Conv shortcut; halves H, W."""
    main = nn.Sequential(SepConv(cin, cout), SepConv(cout, cout), SepConv(cout, cout, stride=2))
    return _Residual(main, Conv(cin, cout, 1, stride=2))


class _ASPP(nn.Module):
    """Five parallel branches on the 1/16-scale map, concatenated, then Conv 1x1 to ``cout``.

    ``(B, c, h, w) -> (B, cout, h, w)``.
    """

    def __init__(self, c: int, cout: int, rates: tuple[int, ...] = (6, 12, 18)):
        super().__init__()
        self.conv1 = Conv(c, c, 1)
        self.atrous = nn.ModuleList(
            nn.Sequential(SepConv(c, c, dilation=r), _bn(c), nn.ReLU6(inplace=True)) for r in rates
        )
        # Image-pooling branch, code version: resize to own size (identity) then BN + ReLU6.
        self.pool = nn.Sequential(_bn(c), nn.ReLU6())
        self.project = Conv(c * (len(rates) + 2), cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.conv1(x)] + [b(x) for b in self.atrous] + [self.pool(x)]
        return self.project(torch.cat(branches, dim=1))


class XceptionDenoiser(nn.Module):
    """Ede & Beanland encoder (Xception entry + middle flow), ASPP and skip decoder.

    Args:
        width: channel multiplier applied to every channel count (64, 128, 256, 728, ASPP 256
            and the decoder), each rounded to a multiple of 8 and at least 8. 1.0 = paper.
        middle_blocks: number of middle-flow blocks (3x SepConv + identity); paper 12.
        bn_momentum: PyTorch BatchNorm momentum; paper 0.001 (TF decay 0.999).
        full_res: channels of the last (full-resolution) decoder stage; None = the paper's 64
            times ``width``.
        input_skip: our addition, off in the paper: a 3x3 Conv of the input (``full_res / 2``
            channels) concatenated into the last decoder stage, so full-resolution detail does
            not have to pass through the half-resolution features. At width 0.125 the paper's
            decoder rebuilds full resolution from 16 half-resolution channels and loses fine
            detail the input still shows at high dose.

    ``forward``: ``(B, 1, H, W)`` float32 in [0, 1], H and W divisible by 16 ->
    ``(B, 1, H, W)`` float32, unclipped (approximately [0, 1] once trained).
    """

    def __init__(self, width: float = 1.0, middle_blocks: int = 12, bn_momentum: float = BN_MOMENTUM,
                 full_res: int | None = None, input_skip: bool = False):
        super().__init__()
        if width <= 0 or middle_blocks < 0 or (full_res is not None and full_res < 2):
            raise ValueError("width must be > 0, middle_blocks >= 0 and full_res >= 2")
        self.width = float(width)
        self.middle_blocks = int(middle_blocks)
        c64, c128, c256, c728 = (_scaled(c, width) for c in (64, 128, 256, 728))
        c_full = c64 if full_res is None else int(full_res)
        c_aspp = _scaled(256, width)

        # Entry flow (E0 has its own first two SepConvs at 64 channels).
        self.e0 = _Residual(
            nn.Sequential(SepConv(1, c64), SepConv(c64, c64), SepConv(c64, c128, stride=2)),
            Conv(1, c128, 1, stride=2),
        )  # -> L0, 1/2
        self.e1 = _entry_block(c128, c128)  # -> L1, 1/4
        self.e2 = _entry_block(c128, c256)  # 1/8
        self.e3 = _entry_block(c256, c728)  # 1/16
        self.middle = nn.Sequential(*(
            _Residual(nn.Sequential(SepConv(c728, c728), SepConv(c728, c728), SepConv(c728, c728)))
            for _ in range(middle_blocks)
        ))
        self.aspp = _ASPP(c728, c_aspp)

        # Decoder steps 2, 4, 5 (step 1 is the bilinear x4 + concat in forward).
        cat1 = c_aspp + c128
        self.dec1 = _Residual(nn.Sequential(SepConv(cat1, c256), SepConv(c256, c256)),
                              Conv(cat1, c256, 1))
        self.up1 = ConvT(c256, c256)
        cat2 = c256 + c128
        self.dec2 = _Residual(nn.Sequential(SepConv(cat2, c128), SepConv(c128, c128)),
                              Conv(cat2, c128, 1))
        self.up2 = ConvT(c128, c128)
        self.skip = Conv(1, c_full // 2, 3) if input_skip else None
        cat3 = c128 + (c_full // 2 if input_skip else 0)
        self.dec3 = _Residual(nn.Sequential(SepConv(cat3, c_full), SepConv(c_full, c_full)),
                              Conv(cat3, c_full, 1))
        self.head = nn.Conv2d(c_full, 1, 3, padding=1, bias=True)  # linear output, see module doc
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = bn_momentum
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot-uniform conv weights, zero biases; BN to (gamma 1, beta 0) and fresh stats."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                m.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 1:
            raise ValueError(f"expected (B, 1, H, W), got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if h % DOWNSAMPLE or w % DOWNSAMPLE:
            raise ValueError(f"H and W must be divisible by {DOWNSAMPLE}, got {h}x{w}")
        low0 = self.e0(x)
        low1 = self.e1(low0)
        y = self.middle(self.e3(self.e2(low1)))
        y = self.aspp(y)
        y = F.interpolate(y, size=low1.shape[-2:], mode="bilinear", align_corners=False)
        y = self.dec1(torch.cat([y, low1], dim=1))
        y = self.dec2(torch.cat([self.up1(y), low0], dim=1))
        y = self.up2(y)
        if self.skip is not None:
            y = torch.cat([y, self.skip(x)], dim=1)
        return self.head(self.dec3(y))

    def denoise(self, x: torch.Tensor) -> torch.Tensor:
        """Alias of ``forward`` (no clipping; clip to [0, 1] at inference)."""
        return self.forward(x)


def huberised_mse(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Ede's "Huberised" scaled MSE over the whole batch, a 0-d float tensor >= 0.

    With ``s = 1000 * mean((output - target)^2)`` (one mean over the batch):
    ``L = s`` if ``s < 1`` else ``sqrt(s)``; continuous (value 1) at ``s = 1``.
    ``output`` and ``target`` are same-shape float tensors, e.g. ``(B, 1, H, W)`` in [0, 1].
    """
    s = 1000.0 * F.mse_loss(output, target)
    # clamp inside sqrt so the unused branch never yields inf/NaN gradients at s = 0
    return torch.where(s < 1.0, s, torch.sqrt(torch.clamp(s, min=1.0)))


def build(config: str = "paper") -> XceptionDenoiser:
    """A freshly initialised ``XceptionDenoiser`` for ``config`` in ``CONFIGS``."""
    if config not in CONFIGS:
        raise KeyError(f"unknown config {config!r}; choose from {sorted(CONFIGS)}")
    return XceptionDenoiser(**CONFIGS[config])
