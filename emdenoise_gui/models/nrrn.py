"""NRRN, the Noise Reconstruction and Removal Network (ICLR 2022 submission; code OHSU vEMden).

Spec: docs/models.md section 2. A branch f(a, b) refines the centre image b using a neighbour a
(an adjacent slice or a repeat scan) through L GRU-like building units (BUs) with noise attention.
The two-branch model shares one branch: x1 = f(prev, centre), x2 = f(next, centre), output the
mean. It is trained self-supervised with the consensus Noise2Noise loss. Our variant
``neighbours="mean"`` runs the branch once, on the mean of the two neighbours: f((prev + next) / 2,
centre) sees both neighbours jointly, at half the cost (benchmarks/z_context.py: for the best
linear filter, the two-branch structure costs 0.3 dB against one that sees the three slices at once).

All images are float32 (B,1,H,W), each z-scored (zero mean, unit standard deviation per image),
so values are unbounded (typically within a few units of 0). Any H, W >= 1 work (3x3 convs, pad 1).
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from emdenoise_gui.models.registry import architectures

__all__ = ["CONFIGS", "NEIGHBOUR_MODES", "NRRN", "NRRNBranch", "build", "consensus_loss", "noise_attention"]

CONFIGS: Dict[str, dict] = architectures("nrrn")  # the sizes live in the family catalogue

_TANH_GAIN = 5.0 / 3.0


def _conv(cin: int, cout: int, dilation: int = 1) -> nn.Conv2d:
    """3x3 conv with bias; ``dilation`` d spreads its taps d px apart (padding d keeps the size)."""
    return nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation, bias=True)


def noise_attention(z: torch.Tensor) -> torch.Tensor:
    """NAtt(z) = z[:, 0:1] * sigmoid(max over channels of z); (B,C,H,W) float -> (B,1,H,W) float.

    Values: |NAtt(z)| <= |z[:, 0]|; NAtt(0) = 0.
    """
    return z[:, 0:1] * torch.sigmoid(z.amax(dim=1, keepdim=True))


class _BuildingUnit(nn.Module):
    """The six C->C gate convs of one BU (W_u, V_u, W_r, V_r, W_c, V_c); 6*(9C^2 + C) parameters."""

    def __init__(self, channels: int, dilation: int = 1):
        super().__init__()
        c, d = channels, dilation
        self.w_u, self.v_u = _conv(c, c, d), _conv(c, c, d)
        self.w_r, self.v_r = _conv(c, c, d), _conv(c, c, d)
        self.w_c, self.v_c = _conv(c, c, d), _conv(c, c, d)
        for conv in (self.w_u, self.v_u, self.w_r, self.v_r):  # sigmoid gates
            nn.init.orthogonal_(conv.weight, gain=1.0)
        for conv in (self.w_c, self.v_c):  # tanh candidate
            nn.init.orthogonal_(conv.weight, gain=_TANH_GAIN)
        self.h_gates = _StackedConv((self.w_u, self.w_r, self.w_c))
        self.s_gates = _StackedConv((self.v_u, self.v_r, self.v_c))

    def forward(self, h: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """h (B,C,H,W) centre state and s (B,C,H,W) in (-1, 1) neighbour features -> z (B,C,H,W) in (-1, 1).

        u = sigmoid(W_u*h + V_u*s), r = sigmoid(W_r*h + V_r*s), c = tanh(W_c*h + r * V_c*s),
        z = u*s + (1-u)*c. The three convs of h run as one C->3C conv, and so do those of s: the same
        sums from the same weights (the state dict keeps the six convs), in larger matrix products
        (8 % faster CPU training steps for lite; on a GPU, a third of the kernel launches).
        """
        hu, hr, hc = self.h_gates(h)
        su, sr, sc = self.s_gates(s)
        if not torch.is_grad_enabled():  # inference: the same sums in place in the gate convs' outputs
            return _lean_gates(hu, hr, hc, su, sr, sc, s)
        u = torch.sigmoid(hu + su)
        r = torch.sigmoid(hr + sr)
        c = torch.tanh(hc + r * sc)
        return u * s + (1.0 - u) * c


def _lean_gates(hu, hr, hc, su, sr, sc, s: torch.Tensor) -> torch.Tensor:
    """:meth:`_BuildingUnit.forward`'s gates without autograd, computed in the gate convs' outputs (views that
    nothing else holds): z = c + u * (s - c), equal to u*s + (1-u)*c up to rounding. A 512 px NRRN lite tile
    held 14 C-channel maps at once this way and 7 now (its peak was 0.4 GB of a 1.5 GB stack job)."""
    u = hu.add_(su).sigmoid_()
    r = hr.add_(sr).sigmoid_()
    c = hc.addcmul_(r, sc).tanh_()
    z = torch.sub(s, c)
    return z.mul_(u).add_(c)


class _StackedConv(nn.Module):
    """Alike convs (C_in -> C_out each, the same padding and dilation) applied to one input as one conv with
    their weights stacked: (B,C_in,H,W) -> a tuple of (B,C_out,H,W) views, in the order given. It holds no
    parameters (the convs stay where the state dict has them); being a module, the predictor's cancel check
    runs before it."""

    def __init__(self, convs: Sequence[nn.Conv2d]):
        super().__init__()
        self._convs = tuple(convs)  # a tuple, not registered: the state dict keeps the convs' own keys

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        first = self._convs[0]
        weight = torch.cat([conv.weight for conv in self._convs])
        bias = torch.cat([conv.bias for conv in self._convs])
        out = F.conv2d(x, weight, bias, padding=first.padding, dilation=first.dilation)
        return out.split(first.out_channels, dim=1)


class NRRNBranch(nn.Module):
    """One NRRN branch y = f(a, b): neighbour a and centre b, each (B,1,H,W) z-scored float32.

    Stem: m = ReLU(W0*a), h = ReLU(W0*b) (W0 shared, 1->C); x_hat = b. Each of the ``units`` BUs:
    s = tanh(W1*m) (one W1 shared by all BUs), gates u, r, candidate c, z = u*s + (1-u)*c,
    x_hat += NAtt(z), h = z with channel 0 replaced by tanh(x_hat), m = s.
    Tail: y = x_hat + NAtt(W_f * ReLU(h)). Output (B,1,H,W) float32, same scale as b (unbounded).
    Parameters: 10C (W0) + 2(9C^2 + C) (W1, W_f) + units * 6(9C^2 + C) (gate convs); for C=64 that
    is 640 + 2*36,928 + units*221,568 (0.96 M at units=4).
    Init: the BU gate convs are orthogonal (gain 1 for the sigmoid gates, 5/3 for the tanh
    candidate); W0, W1, W_f and all biases keep PyTorch's defaults.
    """

    def __init__(self, channels: int = 64, units: int = 4, dilations: Optional[Sequence[int]] = None):
        super().__init__()
        if channels < 1 or units < 1:
            raise ValueError("channels and units must be >= 1")
        dilations = list(dilations) if dilations is not None else [1] * units
        if len(dilations) != units or any(int(d) < 1 for d in dilations):
            raise ValueError(f"need one dilation >= 1 per unit, got {dilations} for {units} units")
        self.channels, self.units = channels, units
        self.stem = nn.Conv2d(1, channels, 3, padding=1, bias=True)  # W0
        self.w1 = _conv(channels, channels)  # shared by every BU
        self.bus = nn.ModuleList(_BuildingUnit(channels, int(d)) for d in dilations)
        self.tail = _conv(channels, channels)  # W_f

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """a = neighbour, b = centre, each (B,1,H,W) z-scored float32 -> (B,1,H,W) estimate of clean b."""
        if a.shape != b.shape or a.dim() != 4 or a.shape[1] != 1:
            raise ValueError(f"expected two (B,1,H,W) tensors, got {tuple(a.shape)} and {tuple(b.shape)}")
        m = F.relu(self.stem(a))
        h = F.relu(self.stem(b))
        x_hat = b
        lean = not torch.is_grad_enabled()  # inference: maps nothing else holds are overwritten in place
        for bu in self.bus:
            s = self.w1(m).tanh_() if lean else torch.tanh(self.w1(m))
            m = s  # the previous m is not needed again: let it go before the unit's maps are made
            z = bu(h, s)
            x_hat = x_hat + noise_attention(z)
            if lean:
                z[:, :1] = torch.tanh(x_hat)
                h = z
            else:
                h = torch.cat([torch.tanh(x_hat), z[:, 1:]], dim=1)
        return x_hat + noise_attention(self.tail(h.relu_() if lean else F.relu(h)))


#: How the two neighbours reach the branch: "pair" (the paper: one branch per neighbour, outputs
#: averaged) or "mean" (one branch on the neighbours' mean).
NEIGHBOUR_MODES = ("pair", "mean")


class NRRN(nn.Module):
    """Two-branch NRRN with weights shared between the branches (one ``NRRNBranch``).

    All images are (B,1,H,W) float32, each z-scored (zero mean, unit std); outputs are on that
    z-scored scale (unbounded). ``neighbours`` (NEIGHBOUR_MODES): "pair" is the paper's network,
    "mean" gives the branch the mean of the two neighbours (same parameters, half the compute).
    """

    def __init__(self, channels: int = 64, units: int = 4, dilations: Optional[Sequence[int]] = None,
                 neighbours: str = "pair"):
        super().__init__()
        if neighbours not in NEIGHBOUR_MODES:
            raise ValueError(f"neighbours must be one of {NEIGHBOUR_MODES}, got {neighbours!r}")
        self.neighbours = neighbours
        self.branch = NRRNBranch(channels, units, dilations)

    def forward(self, prev: torch.Tensor, centre: torch.Tensor,
                next: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training pass on a triplet, each (B,1,H,W) z-scored.

        Returns (out, x1, x2), each (B,1,H,W): x1 = f(prev, centre), x2 = f(next, centre),
        out = (x1 + x2) / 2; with ``neighbours="mean"`` out = x1 = x2 = f((prev + next) / 2, centre).
        """
        if self.neighbours == "mean":
            out = self.branch(0.5 * (prev + next), centre)
            return out, out, out
        x1 = self.branch(prev, centre)
        x2 = self.branch(next, centre)
        return 0.5 * (x1 + x2), x1, x2

    def infer(self, centre: torch.Tensor, prev: Optional[torch.Tensor] = None,
              next: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Denoise ``centre`` (B,1,H,W, z-scored) with whatever neighbours exist -> (B,1,H,W).

        Both neighbours: mean of f(prev, centre) and f(next, centre) (``neighbours="mean"``:
        f((prev + next) / 2, centre)). One neighbour nb: f(nb, centre). None: f(centre, centre).
        """
        if prev is not None and next is not None:
            return self.forward(prev, centre, next)[0]
        neighbour = prev if prev is not None else next
        return self.branch(centre if neighbour is None else neighbour, centre)

    def denoise(self, stack3: torch.Tensor) -> torch.Tensor:
        """(B,3,H,W) z-scored channels [prev, centre, next] -> (B,1,H,W) denoised centre (3-image inference)."""
        if stack3.dim() != 4 or stack3.shape[1] != 3:
            raise ValueError(f"expected a (B,3,H,W) stack [prev, centre, next], got {tuple(stack3.shape)}")
        return self.infer(stack3[:, 1:2], stack3[:, 0:1], stack3[:, 2:3])


def consensus_loss(x1: torch.Tensor, x2: torch.Tensor, prev: torch.Tensor,
                   next: torch.Tensor) -> torch.Tensor:
    """NRRN consensus Noise2Noise loss (Wu et al. 2019), all inputs (B,1,H,W) z-scored float32.

    x1 = f(prev, centre) is compared with ``next``, x2 = f(next, centre) with ``prev`` (the "pair"
    network only: with one branch on the neighbours' mean both would have seen their target):
    mean[0.5 (x1 - next)^2] + mean[0.5 (x2 - prev)^2] - mean[0.25 (x1 - x2)^2]. With independent
    zero-mean noise its expectation is mean(((x1 + x2)/2 - signal)^2) plus the noise variance.
    Returns a scalar float tensor (can be negative for individual samples).
    """
    return (0.5 * F.mse_loss(x1, next) + 0.5 * F.mse_loss(x2, prev)
            - 0.25 * F.mse_loss(x1, x2))


def build(config: str = "paper") -> NRRN:
    """A freshly initialised ``NRRN`` for a named entry of ``CONFIGS`` ("paper", "base" or "lite")."""
    if config not in CONFIGS:
        raise ValueError(f"unknown NRRN config {config!r}; choose from {sorted(CONFIGS)}")
    return NRRN(**CONFIGS[config])
