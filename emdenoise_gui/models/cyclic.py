"""Asymmetric cycle-consistent adversarial denoiser (Quan et al., ICCVW 2019); spec: docs/models.md section 1.

Three unpaired pools: clean images C, pure noise patterns N and noisy images I, all single-channel
float32 tensors scaled to [-1, 1] (the generators end in tanh). G1 synthesises noise,
cat(C, N) (B,2,H,W) -> I (B,1,H,W); G2 is the denoiser, I (B,1,H,W) -> cat(C, N) (B,2,H,W).
Three 70x70 PatchGANs D_C, D_N, D_I (separate weights) judge clean, noise and noisy images.
With ``clean_output="gated"`` (ours, not the paper's) G2 has a third output channel, a gate w, and its
clean output blends its own clean channel D with its input less its noise output:
C_f = w (I - N_f) + (1 - w) D, w = (1 + g) / 2 in [0, 1]. The skip from input to output lets a slice
without artifacts, or with a smooth shading only, pass through exactly; the paper's G2 draws C_f
itself, which capped the lite generator at 30.9 dB on clean FlyEM slices, while its own channel
still denoises best where there is noise to remove (docs/benchmarks.md, "the cyclic model's clean
output").
This module holds the networks, the losses and the fake-image history pool only; no training loop.
"""

from __future__ import annotations

from itertools import chain
from typing import Dict, Iterator, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emdenoise_gui.models.blocks import init_normal
from emdenoise_gui.models.registry import architectures, family

__all__ = [
    "CLEAN_OUTPUTS", "CONFIGS", "CyclicGAN", "ImagePool", "PatchDiscriminator", "ResnetGenerator", "build",
    "cycle_loss", "discriminator_loss", "gan_loss", "generator_loss",
]

CONFIGS: Dict[str, dict] = architectures("cyclic")  # the sizes live in the family catalogue
#: How G2 gives its clean output: "direct" (the paper: a channel of its own) or "gated" (that channel and the
#: input less the noise output, blended by a third channel).
CLEAN_OUTPUTS: tuple = dict(family("cyclic").options)["clean_output"]


def _norm(channels: int) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class _ResnetBlock(nn.Module):
    """x + [reflect-pad 1, conv 3x3, IN, ReLU, reflect-pad 1, conv 3x3, IN]; (B,C,H,W) -> (B,C,H,W)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=True), _norm(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=True), _norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN ResnetGenerator (reflection padding, InstanceNorm without affine/stats, no dropout).

    Input (B, in_channels, H, W) float32, values in [-1, 1]; H and W divisible by 4.
    Output (B, out_channels, H, W) float32 in [-1, 1] (tanh). Layers: 7x7 stem to ngf, two stride-2
    3x3 downsamplings to 4*ngf, ``n_blocks`` residual blocks, two stride-2 3x3 transposed convs
    (output_padding 1) back to ngf, 7x7 head with bias, tanh. 11.37 M parameters for ngf=64,
    n_blocks=9 with 2->1 or 1->2 channels.
    """

    def __init__(self, in_channels: int, out_channels: int, ngf: int = 64, n_blocks: int = 9):
        super().__init__()
        layers: List[nn.Module] = [
            nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=True), _norm(ngf), nn.ReLU(True),
        ]
        for mult in (1, 2):  # down 1, down 2
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=True),
                       _norm(ngf * mult * 2), nn.ReLU(True)]
        layers += [_ResnetBlock(ngf * 4) for _ in range(n_blocks)]
        for mult in (4, 2):  # up 1, up 2
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1,
                                          output_padding=1, bias=True),
                       _norm(ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7, bias=True), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) in [-1, 1] -> (B, out_channels, H, W) in [-1, 1]."""
        return self.model(x)


class PatchDiscriminator(nn.Module):
    """70x70 PatchGAN (CycleGAN NLayerDiscriminator), all kernels 4x4 with padding 1.

    Input (B, in_channels, H, W) float32 in [-1, 1]. Output (B, 1, H', W') float32 raw (unbounded)
    realness scores, one per 70x70 receptive field: 512^2 -> 62x62, 256^2 -> 30x30.
    Layer 1 has no norm; the others use InstanceNorm (no affine, convs keep bias); LeakyReLU 0.2.
    2.76 M parameters for ndf=64, n_layers=3.
    """

    def __init__(self, in_channels: int = 1, ndf: int = 64, n_layers: int = 3):
        super().__init__()
        layers: List[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1),
                                   nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1, bias=True),
                       _norm(ndf * mult), nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) in [-1, 1] -> (B, 1, H', W') raw scores (logits for "vanilla")."""
        return self.model(x)


def _check_size(x: torch.Tensor) -> None:
    if x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(f"expected a (B,1,H,W) tensor, got {tuple(x.shape)}")
    if x.shape[-1] % 4 or x.shape[-2] % 4:
        raise ValueError(f"H and W must be divisible by 4, got {tuple(x.shape[-2:])}")


class CyclicGAN(nn.Module):
    """The five networks: g1 (2->1 noise synthesiser), g2 (1->2 denoiser, 1->3 gated), d_c, d_n, d_i (PatchGANs).

    All weights are drawn N(0, 0.02) with zero biases (CycleGAN init). Images are float32 in
    [-1, 1], shape (B, 1, H, W) with H, W divisible by 4.
    """

    def __init__(self, ngf: int = 64, n_blocks: int = 9, ndf: int = 64, clean_output: str = "direct"):
        super().__init__()
        if ngf < 1 or ndf < 1 or n_blocks < 0:  # ngf 0 built, then failed in every convolution
            raise ValueError(f"ngf and ndf must be >= 1 and n_blocks >= 0, got {ngf}, {ndf}, {n_blocks}")
        if clean_output not in CLEAN_OUTPUTS:
            raise ValueError(f"clean_output must be one of {CLEAN_OUTPUTS}, got {clean_output!r}")
        self.gated = clean_output == "gated"
        self.g1 = ResnetGenerator(2, 1, ngf, n_blocks)
        self.g2 = ResnetGenerator(1, 3 if self.gated else 2, ngf, n_blocks)
        self.d_c = PatchDiscriminator(1, ndf)
        self.d_n = PatchDiscriminator(1, ndf)
        self.d_i = PatchDiscriminator(1, ndf)
        init_normal(self, std=0.02)

    def separate(self, noisy: torch.Tensor) -> torch.Tensor:
        """G2: noisy (B,1,H,W) in [-1, 1] -> channel 0 the clean estimate C_f, channel 1 the noise N_f.

        Direct: (B,2,H,W), both as G2 draws them (tanh, in [-1, 1]). Gated: (B,3,H,W) float32, C_f the
        gate's blend (see the module), channel 2 G2's own clean channel D. The network computes in its
        weights' type (``noisy`` is cast to it); the skip takes ``noisy`` as given."""
        out = self.g2(noisy.to(self.g2.model[1].weight.dtype))
        if not self.gated:
            return out
        direct, noise, gate = (out[:, k:k + 1].float() for k in range(3))
        weight = (1.0 + gate) / 2.0
        return torch.cat([weight * (noisy.float() - noise) + (1.0 - weight) * direct, noise, direct], dim=1)

    def head_key(self) -> str:
        """The state-dict key of G2's output convolution's weight (its bias: the same with ``bias``)."""
        return f"g2.model.{len(self.g2.model) - 2}.weight"

    def with_gate_rows(self, state: dict) -> dict:
        """A direct model's state dict made to fit this gated one: G2's output convolution gets a zero
        gate row (weight and bias), so it starts as the even blend of D and I - N_f. Other states as given."""
        key = self.head_key()
        if not self.gated or key not in state or state[key].shape[0] != 2:
            return state
        state = dict(state)
        for name in (key, key[:-len("weight")] + "bias"):
            state[name] = torch.cat([state[name], torch.zeros_like(state[name][:1])])
        return state

    def denoise(self, noisy: torch.Tensor) -> torch.Tensor:
        """Noisy (B,1,H,W) float32 in [-1, 1] -> clean estimate C_f, (B,1,H,W) (``separate``'s channel 0)."""
        _check_size(noisy)
        return self.separate(noisy)[:, 0:1]

    def cycles(self, clean: torch.Tensor, noise: torch.Tensor, noisy: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Both cycles for unpaired crops C, N, I, each (B,1,H,W) float32 in [-1, 1].

        Upward: fake_noisy = g1(cat(C, N)); (rec_clean, rec_noise) = separate(fake_noisy).
        Downward: (fake_clean, fake_noise) = separate(I); rec_noisy = g1(cat(fake_clean, fake_noise)).
        Returns those six (B,1,H,W) tensors (in [-1, 1]; a gated G2's clean outputs, blends with its input
        less its noise output, can leave that range), plus the inputs echoed back under "clean",
        "noise" and "noisy" (same tensors, not copies) so that ``generator_loss`` can form the cycle loss.
        """
        for x in (clean, noise, noisy):
            _check_size(x)
        fake_noisy = self.g1(torch.cat([clean, noise], dim=1))
        rec = self.separate(fake_noisy)
        fake = self.separate(noisy)
        rec_noisy = self.g1(fake[:, :2])  # C_f and N_f (a gated G2's third channel is its own D)
        return {
            "fake_noisy": fake_noisy, "rec_clean": rec[:, 0:1], "rec_noise": rec[:, 1:2],
            "fake_clean": fake[:, 0:1], "fake_noise": fake[:, 1:2], "rec_noisy": rec_noisy,
            "clean": clean, "noise": noise, "noisy": noisy,
        }

    def generator_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of g1 then g2."""
        return chain(self.g1.parameters(), self.g2.parameters())

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of d_c, d_n, then d_i."""
        return chain(self.d_c.parameters(), self.d_n.parameters(), self.d_i.parameters())

    def set_discriminators_trainable(self, flag: bool) -> None:
        """Set requires_grad on every discriminator parameter (False while the generators step)."""
        for p in self.discriminator_parameters():
            p.requires_grad_(flag)


def gan_loss(prediction: torch.Tensor, target_is_real: bool, mode: str = "lsgan") -> torch.Tensor:
    """Adversarial loss of raw PatchGAN scores (B,1,H',W') against an all-1 (real) or all-0 (fake) target.

    mode "lsgan": mean squared error; "vanilla": binary cross-entropy on logits. Mean over all
    patches; returns a scalar float tensor >= 0.
    """
    target = torch.ones_like(prediction) if target_is_real else torch.zeros_like(prediction)
    if mode == "lsgan":
        return F.mse_loss(prediction, target)
    if mode == "vanilla":
        return F.binary_cross_entropy_with_logits(prediction, target)
    raise ValueError(f"unknown GAN mode {mode!r}; use 'lsgan' or 'vanilla'")


def cycle_loss(out: Dict[str, torch.Tensor], clean: torch.Tensor, noise: torch.Tensor,
               noisy: torch.Tensor) -> torch.Tensor:
    """L1(C, rec_clean) + L1(N, rec_noise) + L1(I, rec_noisy), each a mean absolute error.

    ``out`` is the dict of ``CyclicGAN.cycles``; clean, noise, noisy are its (B,1,H,W) inputs in
    [-1, 1]. Returns a scalar float tensor in [0, 6].
    """
    return (F.l1_loss(out["rec_clean"], clean) + F.l1_loss(out["rec_noise"], noise)
            + F.l1_loss(out["rec_noisy"], noisy))


def generator_loss(model: CyclicGAN, out: Dict[str, torch.Tensor], mode: str = "lsgan",
                   lambda_cyc: float = 10.0) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
    """Generator objective: GAN(d_c(fake_clean)) + GAN(d_n(fake_noise)) + GAN(d_i(fake_noisy)) + lambda*L_cyc.

    Each adversarial term targets "real". ``out`` is the dict of ``model.cycles`` (it carries the
    inputs). Freeze the discriminators first (``set_discriminators_trainable(False)``) so that the
    backward pass leaves their gradients alone. Returns (scalar total tensor, dict of detached 0-d tensor
    parts "g_adv_clean", "g_adv_noise", "g_adv_noisy", "cycle" (the unweighted cycle loss), left on the
    device: reading them would make the host wait for it).
    """
    adv_clean = gan_loss(model.d_c(out["fake_clean"]), True, mode)
    adv_noise = gan_loss(model.d_n(out["fake_noise"]), True, mode)
    adv_noisy = gan_loss(model.d_i(out["fake_noisy"]), True, mode)
    cyc = cycle_loss(out, out["clean"], out["noise"], out["noisy"])
    total = adv_clean + adv_noise + adv_noisy + lambda_cyc * cyc
    parts = {"g_adv_clean": adv_clean.detach(), "g_adv_noise": adv_noise.detach(),
             "g_adv_noisy": adv_noisy.detach(), "cycle": cyc.detach()}
    return total, parts


def discriminator_loss(disc: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                       mode: str = "lsgan") -> torch.Tensor:
    """0.5 * (GAN(disc(real), real) + GAN(disc(fake.detach()), fake)); images (B,1,H,W) in [-1, 1].

    ``fake`` is detached, so no gradient reaches the generators. Both batches go through ``disc`` as one
    (the PatchGAN normalises each image by itself, so the scores are those of two passes, in fewer and
    larger operations). Returns a scalar float tensor >= 0.
    """
    scores = disc(torch.cat([real, fake.detach().to(real.dtype)]))
    real_scores, fake_scores = scores.split([real.shape[0], fake.shape[0]])
    return 0.5 * (gan_loss(real_scores, True, mode) + gan_loss(fake_scores, False, mode))


class ImagePool:
    """CycleGAN history of generated images, one pool per discriminator.

    While fewer than ``size`` images are stored, each new image is stored and returned. Once full,
    for each image with probability 0.5 a uniformly chosen stored image is returned and replaced
    by the new one; otherwise the new image is returned. ``size`` 0 disables the pool. Randomness
    comes only from the ``rng`` passed to ``query``, so a run is reproducible and resumable
    (``state``/``load_state`` plus the generator's own state).
    """

    def __init__(self, size: int = 50):
        if size < 0:
            raise ValueError("pool size must be >= 0")
        self.size = int(size)
        self.images: List[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    def query(self, images: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """(B,C,H,W) new fakes (any dtype/range) -> (B,C,H,W) detached images to show the discriminator."""
        if self.size == 0:
            return images.detach()
        chosen = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                chosen.append(image)
            elif rng.random() > 0.5:
                idx = int(rng.integers(0, self.size))
                chosen.append(self.images[idx])
                self.images[idx] = image.clone()
            else:
                chosen.append(image)
        return torch.stack(chosen, dim=0)

    def state(self) -> List[torch.Tensor]:
        """Copies of the stored images, each (C,H,W), in pool order (for checkpoints)."""
        return [im.clone() for im in self.images]

    def load_state(self, images: List[torch.Tensor]) -> None:
        """Replace the stored images with copies of ``images`` (a list from ``state``), each (C,H,W)."""
        if len(images) > self.size:
            raise ValueError(f"{len(images)} images do not fit a pool of size {self.size}")
        self.images = [torch.as_tensor(im).detach().clone() for im in images]


def build(config: str = "paper") -> CyclicGAN:
    """A freshly initialised ``CyclicGAN`` for a named entry of ``CONFIGS`` ("paper" or "lite")."""
    if config not in CONFIGS:
        raise ValueError(f"unknown cyclic config {config!r}; choose from {sorted(CONFIGS)}")
    return CyclicGAN(**CONFIGS[config])
