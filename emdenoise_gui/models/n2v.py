"""Noise2Void / N2V2 self-supervised denoising (spec: docs/models.md section 4, N2V / N2V2).

Pieces: a plain U-Net (``UNet``), blind-spot masking of a batch (``n2v_mask``) and the loss on
the masked pixels only (``n2v_loss``). A training step is::

    masked, mask = n2v_mask(batch, rng)           # batch (B, 1, H, W), rng: np.random.Generator
    loss = n2v_loss(model(masked), batch, mask)   # target = the *unmasked* batch

Tensors are NCHW float32; images are normalised by the caller (any real range works, the
network is linear at the output).

Choices the spec leaves open, and what we picked:

* ``UNet`` is CAREamics-like: per level two ``conv3x3 -> BN -> ReLU``; channels ``base * 2**i``
  at level i and ``base * 2**depth`` at the bottleneck; bilinear x2 upsampling
  (``align_corners=False``) followed by concatenation with the skip and a conv block; a linear
  1x1 head to one channel; no residual connection (N2V uses a plain U-Net).
* ``n2v2=True`` (Hoeck et al. 2022) removes the top-level skip connection (the last decoder block
  sees only the upsampled features) and replaces max-pooling by max-blur-pooling (Zhang 2019):
  a dense 2x2 max (stride 1), then a 3x3 binomial blur ``[1,2,1]^T [1,2,1] / 16`` applied with
  stride 2.
* ``CONFIGS["paper"]`` mirrors CAREamics' default N2V model (UNet depth 2, 32 initial channels,
  ``use_n2v2=True`` for N2V2); ``"lite"`` halves the channel count.
* Masking follows CAREamics' defaults: 0.2 % of the pixels (``fraction=0.002``), stratified on a
  grid, 11x11 neighbourhood without its centre. The grid has ``max(1, round(H * sqrt(fraction)))``
  rows and likewise for columns, i.e. cells of about ``1 / sqrt(fraction)`` pixels (22 for 0.2 %),
  with one uniformly drawn pixel per cell. The neighbourhood is clipped at the image edges. For
  "median" an even-sized neighbourhood uses ``numpy.median``'s mean of the two middle values.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emdenoise_gui.models.blocks import count_parameters
from emdenoise_gui.models.registry import architectures

__all__ = ["CONFIGS", "MaxBlurPool", "UNet", "build", "count_parameters", "n2v_loss", "n2v_mask"]

CONFIGS: dict[str, dict] = architectures("n2v")  # the sizes live in the family catalogue


class ConvBlock(nn.Sequential):
    """``(conv3x3 -> BN -> ReLU) x 2``: ``(B, cin, H, W) -> (B, cout, H, W)``, output >= 0."""

    def __init__(self, cin: int, cout: int):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        )


class MaxBlurPool(nn.Module):
    """Anti-aliased max-pool (N2V2): dense 2x2 max, then 3x3 binomial blur with stride 2.

    ``(B, C, H, W) -> (B, C, H/2, W/2)`` for even H, W; no trainable parameters.
    """

    def __init__(self):
        super().__init__()
        k1 = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("kernel", (k1[:, None] * k1[None, :] / 16.0)[None, None],
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H/2, W/2) in ``x``'s dtype. In training on a CPU it is computed in float32,
        also under autocast: on a 2-core Zen 4 this block and its gradient took 2.6-2.7 ms in float32 against
        4.5-4.8 ms in bf16 (channels-last, 8 x 16 x 64^2, a bf16 conv after it; 1.4 against 3.4 ms at 8 x 32 x 32^2),
        while inference, with no gradient, is as fast or faster in bf16 (the results are the same to the bit
        once the next bf16 convolution has rounded them)."""
        if not self.training or x.device.type != "cpu":  # measured on the CPU only
            return self._pool(x)
        with torch.autocast(x.device.type, enabled=False):
            return self._pool(x.float()).to(x.dtype)

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.pad(x, (0, 1, 0, 1), mode="replicate"), 2, stride=1)
        c = x.shape[1]
        x = F.pad(x, (1, 1, 1, 1), mode="reflect")
        return F.conv2d(x, self.kernel.to(x.dtype).expand(c, 1, 3, 3), stride=2, groups=c)


class UNet(nn.Module):
    """Plain U-Net for single-image Noise2Void (or N2V2 with ``n2v2=True``).

    Args:
        depth: number of down-sampling steps (levels with a skip connection).
        base: channels of the first level; level i has ``base * 2**i``.
        n2v2: drop the top-level skip connection and use ``MaxBlurPool`` instead of max-pool.

    ``forward``/``denoise``: ``(B, 1, H, W)`` float32, H and W divisible by ``2**depth`` ->
    ``(B, 1, H, W)`` float32, linear (unbounded) output in the input's units.
    """

    def __init__(self, depth: int = 2, base: int = 32, n2v2: bool = False):
        super().__init__()
        if depth < 1 or base < 1:
            raise ValueError("depth and base must be >= 1")
        self.depth, self.base, self.n2v2 = int(depth), int(base), bool(n2v2)
        ch = [base * 2**i for i in range(depth + 1)]
        self.encoders = nn.ModuleList(ConvBlock(1 if i == 0 else ch[i - 1], ch[i]) for i in range(depth))
        self.pools = nn.ModuleList((MaxBlurPool() if n2v2 else nn.MaxPool2d(2)) for _ in range(depth))
        self.bottleneck = ConvBlock(ch[depth - 1], ch[depth])
        # decoders[i] produces level i; with n2v2 level 0 gets no skip.
        self.skip_levels = [i for i in range(depth) if not (n2v2 and i == 0)]
        self.decoders = nn.ModuleList(
            ConvBlock(ch[i + 1] + (ch[i] if i in self.skip_levels else 0), ch[i]) for i in range(depth)
        )
        self.head = nn.Conv2d(ch[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 1:
            raise ValueError(f"expected (B, 1, H, W), got {tuple(x.shape)}")
        m = 2**self.depth
        if x.shape[-2] % m or x.shape[-1] % m:
            raise ValueError(f"H and W must be divisible by {m}, got {tuple(x.shape[-2:])}")
        skips = []
        for enc, pool in zip(self.encoders, self.pools):
            x = enc(x)
            skips.append(x)
            x = pool(x)
        x = self.bottleneck(x)
        for i in reversed(range(self.depth)):
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            if i in self.skip_levels:
                x = torch.cat([x, skips[i]], dim=1)
            x = self.decoders[i](x)
        return self.head(x)

    def denoise(self, x: torch.Tensor) -> torch.Tensor:
        """Alias of ``forward``: N2V predicts the clean image from the unmasked noisy input."""
        return self.forward(x)


def _stratified_coords(n_img: int, h: int, w: int, fraction: float, rng: np.random.Generator):
    """One uniform pixel per grid cell; returns int arrays (img, y, x), each (n_img * cells,)."""
    ny = max(1, int(round(h * math.sqrt(fraction))))
    nx = max(1, int(round(w * math.sqrt(fraction))))
    ey = np.rint(np.linspace(0, h, ny + 1)).astype(np.int64)
    ex = np.rint(np.linspace(0, w, nx + 1)).astype(np.int64)
    y = rng.integers(ey[:-1][None, :, None], ey[1:][None, :, None], size=(n_img, ny, nx))
    x = rng.integers(ex[:-1][None, None, :], ex[1:][None, None, :], size=(n_img, ny, nx))
    return np.repeat(np.arange(n_img), ny * nx), y.ravel(), x.ravel()


def n2v_mask(batch: torch.Tensor, rng: np.random.Generator, fraction: float = 0.002,
             roi: int = 11, strategy: str = "uniform") -> tuple[torch.Tensor, torch.Tensor]:
    """Blind-spot masking of a batch for Noise2Void ("uniform") or N2V2 ("median").

    Args:
        batch: ``(B, C, H, W)`` float tensor (C = 1 for the models here; every channel image is
            masked independently), any value range. Not modified.
        rng: the ``numpy.random.Generator`` that supplies all randomness (deterministic given its
            state).
        fraction: fraction of pixels to mask (0.002 = CAREamics' 0.2 %), in (0, 1].
        roi: odd side of the square neighbourhood (>= 3) from which replacements are derived.
        strategy: "uniform" = value of a uniformly drawn neighbourhood pixel other than the centre;
            "median" = median of the neighbourhood without the centre.

    Returns:
        ``(masked, mask)``: ``masked`` is a copy of ``batch`` (same device; same dtype, float32
        for integer input) with the selected pixels replaced (values taken from the unmasked
        batch); ``mask`` has the same shape and dtype, 1.0 at selected pixels, else 0.0.
        Per image there are ``max(1, round(H*sqrt(f))) * max(1, round(W*sqrt(f)))`` selected
        pixels (about ``fraction * H * W``), one in each cell of a regular grid.
    """
    if strategy not in ("uniform", "median"):
        raise ValueError(f"strategy must be 'uniform' or 'median', got {strategy!r}")
    if not 0.0 < fraction <= 1.0:
        raise ValueError("fraction must lie in (0, 1]")
    if roi < 3 or roi % 2 == 0:
        raise ValueError("roi must be an odd integer >= 3")
    if batch.dim() != 4:
        raise ValueError(f"expected (B, C, H, W), got {tuple(batch.shape)}")
    b, c, h, w = batch.shape
    if h * w < 2:
        raise ValueError("images need at least two pixels")
    src = batch.detach()
    if not src.is_floating_point():
        src = src.float()
    src = src.reshape(b * c, h, w)
    img, y, x = _stratified_coords(b * c, h, w, fraction, rng)
    r = roi // 2
    if strategy == "uniform":
        y0, y1 = np.maximum(y - r, 0), np.minimum(y + r, h - 1)
        x0, x1 = np.maximum(x - r, 0), np.minimum(x + r, w - 1)
        ww = x1 - x0 + 1
        k = rng.integers(0, (y1 - y0 + 1) * ww - 1)  # index among the window minus its centre
        k = k + (k >= (y - y0) * ww + (x - x0))  # skip the centre
        values = src[_t(img, src), _t(y0 + k // ww, src), _t(x0 + k % ww, src)]
    else:
        yy, xx = y[:, None] + np.arange(-r, r + 1), x[:, None] + np.arange(-r, r + 1)  # (n, roi)
        invalid = ~(((yy >= 0) & (yy < h))[:, :, None] & ((xx >= 0) & (xx < w))[:, None, :])
        invalid[:, r, r] = True  # exclude the centre
        win = src[_t(img[:, None, None], src), _t(np.clip(yy, 0, h - 1)[:, :, None], src),
                  _t(np.clip(xx, 0, w - 1)[:, None, :], src)].double().reshape(len(img), -1)
        invalid = _t(invalid.reshape(len(img), -1), src)
        win = torch.sort(win.masked_fill(invalid, float("inf")), dim=1).values  # invalid last
        n_valid = (~invalid).sum(dim=1, keepdim=True)
        values = 0.5 * (win.gather(1, (n_valid - 1) // 2) + win.gather(1, n_valid // 2)).squeeze(1)
    idx = (_t(img, src), _t(y, src), _t(x, src))
    masked = src.clone()
    masked[idx] = values.to(src.dtype)
    mask = torch.zeros_like(src)
    mask[idx] = 1.0
    return masked.reshape(b, c, h, w), mask.reshape(b, c, h, w)


def _t(a: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(a), device=like.device)


def n2v_loss(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked MSE ``sum(mask * (prediction - target)^2) / sum(mask)``, a 0-d tensor >= 0.

    ``prediction`` = model(masked batch), ``target`` = the unmasked batch, ``mask`` from
    ``n2v_mask``; all ``(B, 1, H, W)`` float. Unmasked pixels do not affect the value or gradient.
    """
    num = (mask * (prediction - target) ** 2).sum()
    return num / mask.sum().clamp_min(torch.finfo(num.dtype).tiny)


def neighbour_mean_loss(target: torch.Tensor, mask: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
    """The blind-spot loss (:func:`n2v_loss`) of the simplest filter, a 0-d tensor: each masked pixel of
    ``target`` (B, 1, H, W) predicted by the mean of its 8 neighbours (reflected at the borders) and, where
    ``extra`` (B, K, H, W) is given, of the K pixels at its place there (an NRRN's neighbouring slices). A
    network no better than this on held-back crops has learned nothing a 3x3 mean does not do (a run at a
    learning rate of 1 ended at 594 against about 1, and wrote its model with exit 0: training audit)."""
    kernel = torch.ones(1, 1, 3, 3, dtype=target.dtype, device=target.device)
    kernel[..., 1, 1] = 0
    total, count = F.conv2d(F.pad(target, (1, 1, 1, 1), mode="reflect"), kernel), 8
    if extra is not None:
        total, count = total + extra.sum(dim=1, keepdim=True), count + extra.shape[1]
    return n2v_loss(total / count, target, mask)


def build(config: str = "paper") -> UNet:
    """A freshly initialised ``UNet`` for ``config`` in ``CONFIGS``."""
    if config not in CONFIGS:
        raise KeyError(f"unknown config {config!r}; choose from {sorted(CONFIGS)}")
    return UNet(**CONFIGS[config])
