"""NRRN of docs/models.md section 2: size, branch wiring, 1/2/3-image inference, consensus loss."""

import pytest
import torch
from torch import nn

from emdenoise_gui.models.blocks import count_parameters
from emdenoise_gui.models.nrrn import (
    CONFIGS,
    NRRN,
    NRRNBranch,
    build,
    consensus_loss,
    noise_attention,
)


def _zscore(x):
    return (x - x.mean(dim=(-2, -1), keepdim=True)) / x.std(dim=(-2, -1), keepdim=True)


def _triplet(b=2, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [_zscore(torch.randn(b, 1, size, size, generator=g)) for _ in range(3)]


@pytest.mark.parametrize("units", [1, 2, 3, 4, 5])
def test_parameter_formula(units):
    assert count_parameters(NRRN(64, units)) == 640 + 2 * 36_928 + units * 221_568
    assert count_parameters(NRRNBranch(64, units)) == 640 + 2 * 36_928 + units * 221_568


def test_paper_size():
    n = count_parameters(build("paper"))
    assert n == 960_768
    assert n == pytest.approx(0.96e6, rel=0.02)
    assert CONFIGS == {"paper": dict(channels=64, units=4), "lite": dict(channels=16, units=3),
                       "base": dict(channels=32, units=3)}
    lite = build("lite").branch
    assert (lite.channels, lite.units) == (16, 3)
    assert count_parameters(build("base")) == 185_280 and count_parameters(lite) == 46_560
    with pytest.raises(ValueError):
        build("huge")


def test_gate_init_is_orthogonal_with_gains():
    bu = NRRNBranch(16, 1).bus[0]
    for conv, gain in ((bu.w_u, 1.0), (bu.v_u, 1.0), (bu.w_r, 1.0), (bu.v_r, 1.0),
                       (bu.w_c, 5 / 3), (bu.v_c, 5 / 3)):
        w = conv.weight.detach().reshape(16, -1)  # (C, 9C): orthonormal rows times gain
        assert torch.allclose(w @ w.T, gain ** 2 * torch.eye(16), atol=1e-5)


def test_noise_attention():
    z = torch.randn(2, 5, 4, 4)
    expected = z[:, 0:1] * torch.sigmoid(z.max(dim=1, keepdim=True).values)
    assert torch.allclose(noise_attention(z), expected)
    assert noise_attention(z).shape == (2, 1, 4, 4)
    assert torch.equal(noise_attention(torch.zeros(1, 3, 2, 2)), torch.zeros(1, 1, 2, 2))


def test_inference_with_one_two_three_images():
    model = build("lite").eval()
    prev, centre, nxt = _triplet()
    with torch.no_grad():
        out, x1, x2 = model(prev, centre, nxt)
        f_prev, f_next, f_self = model.branch(prev, centre), model.branch(nxt, centre), model.branch(centre, centre)
        three = model.infer(centre, prev, nxt)
        two_prev = model.infer(centre, prev=prev)
        two_next = model.infer(centre, next=nxt)
        one = model.infer(centre)
        stacked = model.denoise(torch.cat([prev, centre, nxt], dim=1))
    for t in (out, x1, x2, three, two_prev, two_next, one, stacked):
        assert t.shape == (2, 1, 16, 16) and t.dtype == torch.float32
    assert torch.allclose(x1, f_prev) and torch.allclose(x2, f_next)
    assert torch.allclose(out, (f_prev + f_next) / 2)
    assert torch.allclose(three, (f_prev + f_next) / 2)
    assert torch.allclose(stacked, three)
    assert torch.allclose(two_prev, f_prev) and torch.allclose(two_next, f_next)
    assert torch.allclose(one, f_self)
    assert not torch.allclose(f_prev, f_next)  # the neighbour matters
    with pytest.raises(ValueError):
        model.denoise(torch.zeros(1, 2, 8, 8))
    with pytest.raises(ValueError):
        model.branch(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 9))


def _zero_(convs):
    with torch.no_grad():
        for c in convs:
            c.weight.zero_()
            c.bias.zero_()


def test_branch_is_identity_on_centre_when_convs_are_zero():
    """With W1, every gate conv and W_f zeroed: s = tanh(0) = 0, u = r = 1/2, c = tanh(0) = 0,
    so z = 0 and NAtt(z) = 0 * sigmoid(0) = 0 in every BU; the tail gives NAtt(W_f * .) = NAtt(0) = 0.
    Hence y = x_hat = b exactly, whatever the neighbour a and the stem W0."""
    branch = NRRNBranch(8, 3)
    convs = [branch.w1, branch.tail] + [m for bu in branch.bus for m in bu.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 2 + 3 * 6
    _zero_(convs)
    a, b, _ = _triplet(size=12)
    with torch.no_grad():
        assert torch.equal(branch(a, b), b)
        assert torch.equal(branch(b * 3, b), b)


def test_zero_gates_without_zero_w1_still_change_the_image():
    """Zeroing only the 6 gate convs leaves s = tanh(W1 * m) != 0, so z = s/2 and x_hat moves."""
    branch = NRRNBranch(8, 2)
    _zero_([m for bu in branch.bus for m in bu.modules() if isinstance(m, nn.Conv2d)] + [branch.tail])
    a, b, _ = _triplet(size=12)
    with torch.no_grad():
        assert not torch.allclose(branch(a, b), b)


def test_weights_shared_between_branches():
    model = build("lite")
    prev, centre, nxt = _triplet()
    out, x1, x2 = model(prev, centre, nxt)
    x2.sum().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None for g in grads)  # both branches run the same (only) set of weights


def test_consensus_loss_explicit_formula():
    x1, x2, prev, nxt = (torch.randn(3, 1, 9, 9) for _ in range(4))
    expected = (0.5 * (x1 - nxt) ** 2 + 0.5 * (x2 - prev) ** 2 - 0.25 * (x1 - x2) ** 2).mean()
    loss = consensus_loss(x1, x2, prev, nxt)
    assert loss.dim() == 0
    assert torch.allclose(loss, expected, atol=1e-6)
    # x1 = f(prev, centre) is compared with next, not prev: the form is not symmetric in the targets
    assert not torch.allclose(consensus_loss(x1, x2, nxt, prev), expected)


def test_consensus_loss_identity_noise_free():
    """With noise-free targets, 1/2 a^2 + 1/2 b^2 - 1/4 (a - b)^2 = ((a + b)/2)^2 holds per pixel."""
    s, x1, x2 = (torch.randn(2, 1, 16, 16, dtype=torch.float64) for _ in range(3))
    loss = consensus_loss(x1, x2, s, s)
    assert torch.allclose(loss, (((x1 + x2) / 2 - s) ** 2).mean(), atol=1e-12)


def test_consensus_loss_expectation_is_supervised_plus_constant():
    """Targets next = s + n1, prev = s + n2 (independent, zero mean, variance sigma^2), outputs independent of
    that noise: E[L] = mean(((x1 + x2)/2 - s)^2) + sigma^2 (the spec's derivation)."""
    g = torch.Generator().manual_seed(3)
    n, sigma = 2_000_000, 0.7
    s = torch.randn(n, generator=g, dtype=torch.float64)
    x1 = s + 0.3 * torch.randn(n, generator=g, dtype=torch.float64) + 0.1
    x2 = s + 0.5 * torch.randn(n, generator=g, dtype=torch.float64) - 0.2
    nxt = s + sigma * torch.randn(n, generator=g, dtype=torch.float64)
    prev = s + sigma * torch.randn(n, generator=g, dtype=torch.float64)
    loss = float(consensus_loss(x1, x2, prev, nxt))
    supervised = float((((x1 + x2) / 2 - s) ** 2).mean())
    assert loss == pytest.approx(supervised + sigma ** 2, abs=5e-3)


def test_a_few_steps_reduce_the_consensus_loss():
    g = torch.Generator().manual_seed(1)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 24), torch.linspace(0, 1, 24), indexing="ij")
    signal = torch.sin(6 * xx) * torch.cos(4 * yy) + (xx > 0.5).float()
    # three repeat scans of one slice: same signal, independent noise, each z-scored
    frames = [_zscore(signal + 0.5 * torch.randn(4, 1, 24, 24, generator=g)) for _ in range(3)]
    prev, centre, nxt = frames
    model = build("lite")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(20):
        _, x1, x2 = model(prev, centre, nxt)
        loss = consensus_loss(x1, x2, prev, nxt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.9 * losses[0], losses


def _receptive_radius(model: NRRN) -> int:
    """Half-width (px) of the centre pixels that influence one output pixel, measured by gradient."""
    x = torch.zeros(1, 1, 65, 65, requires_grad=True)
    zeros = torch.zeros(1, 1, 65, 65)
    model(zeros, x, zeros)[0][0, 0, 32, 32].backward()
    hit = (x.grad[0, 0].abs() > 0).nonzero()
    return int(32 - hit[:, 0].min())


def test_dilated_units_widen_the_receptive_field_at_the_same_size():
    torch.manual_seed(0)
    plain, dilated = NRRN(8, 3), NRRN(8, 3, dilations=[1, 2, 4])
    assert count_parameters(plain) == count_parameters(dilated)
    assert set(plain.state_dict()) == set(dilated.state_dict())
    assert _receptive_radius(plain) == 5 and _receptive_radius(dilated) == 9
    assert NRRN(8, 3, dilations=[1, 1, 1]).state_dict().keys() == plain.state_dict().keys()
    with pytest.raises(ValueError, match="one dilation"):
        NRRN(8, 3, dilations=[1, 2])


def test_mean_neighbours_run_one_branch_on_the_neighbours_mean():
    """neighbours="mean": out = x1 = x2 = f((prev + next) / 2, centre); the same parameters as the
    paper's pair, so a pair model's weights load into it; one or no neighbour as before."""
    pair = build("lite").eval()
    model = NRRN(**CONFIGS["lite"], neighbours="mean").eval()
    model.load_state_dict(pair.state_dict())
    prev, centre, nxt = _triplet()
    with torch.no_grad():
        out, x1, x2 = model(prev, centre, nxt)
        joint = pair.branch(0.5 * (prev + nxt), centre)
        assert torch.allclose(out, joint) and torch.allclose(x1, joint) and torch.allclose(x2, joint)
        assert torch.allclose(model.infer(centre, prev, nxt), joint)
        assert torch.allclose(model.denoise(torch.cat([prev, centre, nxt], dim=1)), joint)
        assert torch.allclose(model.infer(centre, prev=prev), pair.branch(prev, centre))
        assert torch.allclose(model.infer(centre), pair.branch(centre, centre))
        assert not torch.allclose(out, pair(prev, centre, nxt)[0])  # not the pair's average
    with pytest.raises(ValueError, match="neighbours"):
        NRRN(**CONFIGS["lite"], neighbours="both")


def test_a_building_unit_computes_the_papers_six_convolutions():
    """Its gate convs run stacked (two convs of 3C channels instead of six of C); the result is the paper's
    formula from the six convs the state dict keeps, and every gate still learns."""
    from emdenoise_gui.models.nrrn import _BuildingUnit

    torch.manual_seed(0)
    bu = _BuildingUnit(8, dilation=2)
    h, s = torch.randn(2, 8, 20, 24), torch.tanh(torch.randn(2, 8, 20, 24))
    u = torch.sigmoid(bu.w_u(h) + bu.v_u(s))
    r = torch.sigmoid(bu.w_r(h) + bu.v_r(s))
    c = torch.tanh(bu.w_c(h) + r * bu.v_c(s))
    torch.testing.assert_close(bu(h, s), u * s + (1.0 - u) * c, rtol=1e-5, atol=1e-6)
    assert sorted(bu.state_dict()) == sorted(f"{n}.{p}" for n in ("w_u", "v_u", "w_r", "v_r", "w_c", "v_c")
                                             for p in ("weight", "bias"))
    bu(h, s).square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in bu.parameters())


@pytest.mark.parametrize("neighbours, dilations", [("pair", None), ("mean", None), ("mean", [1, 2])])
def test_inference_in_place_equals_the_autograd_forward(neighbours, dilations):
    """Without autograd the gates and states are computed in place (a 512 px lite tile's peak fell from 0.34
    to 0.15 GB): the result must be the training forward's, up to float32 rounding, in both memory layouts."""
    torch.manual_seed(3)
    units = 2 if dilations else 3
    model = NRRN(channels=8, units=units, dilations=dilations, neighbours=neighbours).eval()
    x = torch.randn(2, 3, 40, 36)
    with torch.enable_grad():
        reference = model.denoise(x).detach()
    for layout in (torch.contiguous_format, torch.channels_last):
        model = model.to(memory_format=layout)
        with torch.inference_mode():
            lean = model.denoise(x.contiguous(memory_format=layout))
        torch.testing.assert_close(lean, reference, rtol=1e-5, atol=1e-5)
    with torch.no_grad():  # validation during training takes the same path
        torch.testing.assert_close(model.denoise(x), reference, rtol=1e-5, atol=1e-5)
