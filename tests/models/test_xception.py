"""Ede & Beanland Xception/ASPP denoiser of docs/models.md section 3: size, shapes, loss, BN, training."""

import math

import pytest
import torch
from torch import nn

from emdenoise_gui.models import xception
from emdenoise_gui.models.blocks import count_parameters
from emdenoise_gui.models.xception import (
    ADAM_BETAS,
    CONFIGS,
    WEIGHT_DECAY,
    XceptionDenoiser,
    build,
    huberised_mse,
)


@pytest.fixture(scope="module")
def paper():
    torch.manual_seed(0)
    return build("paper")


def test_paper_parameter_count(paper):
    n = count_parameters(paper)
    assert n == pytest.approx(25.4e6, rel=0.02)
    assert n == 25_413_618  # analytic count of the spec's tables with code-variant SepConv BNs
    conv_w = sum(m.weight.numel() for m in paper.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))
    assert conv_w == pytest.approx(25.27e6, rel=0.002)
    assert count_parameters(paper.middle) == pytest.approx(19.3e6, rel=0.01)
    assert len(paper.middle) == 12
    # ASPP: 5 branches of 728 channels concatenated into 3640, projected to 256
    assert paper.aspp.project[0].in_channels == 3640 and paper.aspp.project[0].out_channels == 256


def test_paper_forward_small(paper):
    with torch.no_grad():
        y = paper.eval()(torch.rand(1, 1, 64, 64))
    assert y.shape == (1, 1, 64, 64) and torch.isfinite(y).all()


def test_configs_and_build():
    assert CONFIGS == {"paper": dict(width=1.0, middle_blocks=12),
                       "lite": dict(width=0.125, middle_blocks=2, bn_momentum=0.1),
                       "base": dict(width=0.125, middle_blocks=2, bn_momentum=0.1, full_res=32, input_skip=True)}
    lite = build("lite")
    assert isinstance(lite, XceptionDenoiser) and len(lite.middle) == 2
    assert count_parameters(lite) < 0.02 * 25.4e6
    with pytest.raises(KeyError):
        build("huge")


def test_input_skip_feeds_the_full_resolution_stage():
    base, lite = build("base"), build("lite")
    # the input reaches the last decoder stage directly: 16 half-resolution channels + 16 of the input
    assert base.skip[0].in_channels == 1 and base.skip[0].out_channels == 16
    assert base.dec3.shortcut[0].in_channels == 32 and base.head.in_channels == 32
    assert lite.skip is None and lite.head.in_channels == 8
    # packages written before the option keep their state-dict keys
    assert not any(k.startswith("skip.") for k in lite.state_dict())
    y = base.eval()(torch.rand(2, 1, 48, 48))
    assert y.shape == (2, 1, 48, 48) and torch.isfinite(y).all()
    with pytest.raises(ValueError):
        XceptionDenoiser(width=0.125, full_res=1)


def test_width_scaling_rounds_to_multiples_of_eight():
    assert [xception._scaled(c, 0.125) for c in (64, 128, 256, 728)] == [8, 16, 32, 88]
    assert xception._scaled(64, 0.01) == 8
    assert xception._scaled(728, 1.0) == 728
    for m in build("lite").modules():
        if isinstance(m, nn.Conv2d) and m.groups == 1 and m.out_channels > 1:
            assert m.out_channels % 8 == 0


@pytest.mark.parametrize("shape", [(2, 1, 64, 64), (1, 1, 48, 80)])
def test_lite_forward_shapes(shape):
    model = build("lite")
    y = model(torch.rand(shape))
    assert y.shape == shape and y.dtype == torch.float32
    with torch.no_grad():
        assert model.eval().denoise(torch.rand(shape)).shape == shape


def test_rejects_bad_input():
    model = build("lite")
    with pytest.raises(ValueError):
        model(torch.rand(1, 1, 40, 64))  # 40 not divisible by 16
    with pytest.raises(ValueError):
        model(torch.rand(1, 3, 64, 64))


def test_output_head_is_linear():
    model = build("lite")
    assert isinstance(model.head, nn.Conv2d) and model.head.kernel_size == (3, 3)
    assert model.head.in_channels == 8 and model.head.out_channels == 1
    with torch.no_grad():
        model.head.bias.fill_(-5.0)
        assert (model(torch.rand(1, 1, 32, 32)) < 0).any()  # no ReLU6 clamps the output


def test_huberised_mse_branches_and_continuity():
    t = torch.zeros(2, 1, 4, 4)
    small = torch.full_like(t, 0.01)  # MSE 1e-4 -> 1000*MSE = 0.1 < 1
    assert huberised_mse(small, t).item() == pytest.approx(0.1, rel=1e-5)
    big = torch.full_like(t, 0.1)  # MSE 1e-2 -> 1000*MSE = 10 -> sqrt
    assert huberised_mse(big, t).item() == pytest.approx(math.sqrt(10.0), rel=1e-5)
    # switch at MSE = 1e-3, i.e. a constant error of sqrt(1e-3)
    d = math.sqrt(1e-3)
    lo = huberised_mse(torch.full_like(t, d * (1 - 1e-4)), t).item()
    hi = huberised_mse(torch.full_like(t, d * (1 + 1e-4)), t).item()
    assert lo == pytest.approx(1.0, abs=1e-3) and hi == pytest.approx(1.0, abs=1e-3)
    # scalar, per batch (one mean over everything), finite gradient at zero error
    out = torch.zeros(2, 1, 4, 4, requires_grad=True)
    loss = huberised_mse(out, t)
    loss.backward()
    assert loss.dim() == 0 and torch.isfinite(out.grad).all()


def test_bn_settings_and_init():
    paper_bns = [m for m in XceptionDenoiser(width=0.125, middle_blocks=1).modules() if isinstance(m, nn.BatchNorm2d)]
    assert paper_bns and all(m.momentum == pytest.approx(0.001) and m.eps == pytest.approx(1e-3) for m in paper_bns)
    model = build("lite")  # lite follows its running statistics within a short run
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(m.momentum == pytest.approx(0.1) and m.eps == pytest.approx(1e-3) for m in bns)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(m.weight)
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            assert m.weight.abs().max() <= limit + 1e-6
            if m.bias is not None:
                assert torch.all(m.bias == 0)
    # SepConvs have no conv bias; Conv and ConvT have one
    sep = model.e1.main[0]
    assert sep[0].bias is None and sep[1].bias is None and sep[0].groups == sep[0].in_channels


def test_weight_decay_is_coupled_l2():
    assert WEIGHT_DECAY == 5e-5 and ADAM_BETAS == (0.5, 0.999)
    w0 = torch.randn(5)
    a = w0.clone().requires_grad_()
    b = w0.clone().requires_grad_()
    opt_a = torch.optim.Adam([a], lr=1e-2, betas=ADAM_BETAS, weight_decay=WEIGHT_DECAY)
    opt_b = torch.optim.Adam([b], lr=1e-2, betas=ADAM_BETAS)
    for _ in range(3):
        opt_a.zero_grad()
        opt_b.zero_grad()
        (a**3).sum().backward()
        ((b**3).sum() + WEIGHT_DECAY * 0.5 * (b**2).sum()).backward()
        opt_a.step()
        opt_b.step()
    torch.testing.assert_close(a, b)


def test_lite_training_steps_reduce_loss():
    g = torch.Generator().manual_seed(1)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 32), indexing="ij")
    clean = (0.5 + 0.4 * torch.sin(6 * xx) * torch.cos(4 * yy)).expand(4, 1, 32, 32).contiguous()
    noisy = (clean + 0.1 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    model = build("lite")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=ADAM_BETAS, weight_decay=WEIGHT_DECAY)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = huberised_mse(model(noisy), clean)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses)
    assert min(losses[-3:]) < 0.7 * losses[0]
