"""The asymmetric cyclic GAN of docs/models.md section 1: sizes, shapes, cycles, losses, image pool."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from emdenoise_gui.models import cyclic
from emdenoise_gui.models.blocks import count_parameters
from emdenoise_gui.models.cyclic import (
    CONFIGS,
    CyclicGAN,
    ImagePool,
    PatchDiscriminator,
    ResnetGenerator,
    build,
    cycle_loss,
    discriminator_loss,
    gan_loss,
    generator_loss,
)


def _tiny():
    return CyclicGAN(ngf=8, n_blocks=1, ndf=8)


def _images(b=1, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(b, 1, size, size, generator=g) * 2 - 1 for _ in range(3)]


def test_paper_parameter_counts():
    g1, g2 = ResnetGenerator(2, 1), ResnetGenerator(1, 2)
    d = PatchDiscriminator()
    counts = {"g1": count_parameters(g1), "g2": count_parameters(g2), "d": count_parameters(d)}
    assert counts["g1"] == pytest.approx(11.37e6, rel=0.02)
    assert counts["g2"] == pytest.approx(11.37e6, rel=0.02)
    assert counts["d"] == pytest.approx(2.76e6, rel=0.02)
    # analytic counts of the spec tables
    assert counts["g1"] == 11_368_769 and counts["g2"] == 11_368_770 and counts["d"] == 2_762_689
    model = build("paper")
    assert count_parameters(model) == 2 * 11_368_769 + 1 + 3 * 2_762_689
    assert sum(p.numel() for p in model.generator_parameters()) == 2 * 11_368_769 + 1
    assert sum(p.numel() for p in model.discriminator_parameters()) == 3 * 2_762_689


def test_instance_norm_has_no_affine_or_stats():
    g = ResnetGenerator(1, 2, ngf=8, n_blocks=1)
    norms = [m for m in g.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert norms and all(not n.affine and not n.track_running_stats for n in norms)
    convs = [m for m in g.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert all(c.bias is not None for c in convs)
    assert any(isinstance(m, nn.ReflectionPad2d) for m in g.modules())


@pytest.mark.parametrize("cin,cout", [(2, 1), (1, 2)])
def test_paper_generator_shapes_and_range(cin, cout):
    g = ResnetGenerator(cin, cout)
    with torch.no_grad():
        y = g(torch.rand(2, cin, 64, 64) * 2 - 1)
    assert y.shape == (2, cout, 64, 64) and y.dtype == torch.float32
    assert y.min() >= -1 and y.max() <= 1


def test_patch_discriminator_shapes():
    with torch.no_grad():
        assert PatchDiscriminator(ndf=16)(torch.zeros(1, 1, 256, 256)).shape == (1, 1, 30, 30)
        assert PatchDiscriminator(ndf=8)(torch.zeros(1, 1, 512, 512)).shape == (1, 1, 62, 62)
        assert PatchDiscriminator()(torch.randn(1, 1, 256, 256)).shape == (1, 1, 30, 30)
    d = PatchDiscriminator(ndf=8)
    first = d.model[1]
    assert isinstance(first, nn.LeakyReLU) and first.negative_slope == 0.2
    assert isinstance(d.model[-1], nn.Conv2d)  # raw score, no activation
    assert all(m.kernel_size == (4, 4) and m.padding == (1, 1) for m in d.modules() if isinstance(m, nn.Conv2d))


def test_init_is_normal_002():
    model = build("lite")
    convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    w = torch.cat([m.weight.detach().flatten() for m in convs])
    assert abs(float(w.std()) - 0.02) < 0.002 and abs(float(w.mean())) < 0.002
    assert all(float(m.bias.detach().abs().max()) == 0 for m in model.modules() if isinstance(m, nn.Conv2d))


def test_cycles_outputs_and_denoise():
    model = _tiny()
    clean, noise, noisy = _images(2)
    out = model.cycles(clean, noise, noisy)
    for key in ("fake_noisy", "rec_clean", "rec_noise", "fake_clean", "fake_noise", "rec_noisy"):
        assert out[key].shape == (2, 1, 32, 32), key
    with torch.no_grad():
        assert torch.allclose(model.denoise(noisy), model.g2(noisy)[:, 0:1])
        assert torch.allclose(out["fake_clean"], model.g2(noisy)[:, 0:1])
        assert torch.allclose(out["rec_noisy"], model.g1(model.g2(noisy)))
        assert torch.allclose(out["fake_noisy"], model.g1(torch.cat([clean, noise], 1)))
    with pytest.raises(ValueError):
        model.denoise(torch.zeros(1, 1, 30, 32))


def test_cycle_loss_reaches_both_generators():
    model = _tiny()
    clean, noise, noisy = _images()
    out = model.cycles(clean, noise, noisy)
    loss = cycle_loss(out, clean, noise, noisy)
    expected = ((out["rec_clean"] - clean).abs().mean() + (out["rec_noise"] - noise).abs().mean()
                + (out["rec_noisy"] - noisy).abs().mean())
    assert torch.allclose(loss, expected)
    loss.backward()
    for g in (model.g1, model.g2):
        assert all(p.grad is not None for p in g.parameters())
        assert sum(float(p.grad.abs().sum()) for p in g.parameters()) > 0
    assert all(p.grad is None for p in model.discriminator_parameters())


@pytest.mark.parametrize("mode", ["lsgan", "vanilla"])
def test_generator_loss_leaves_frozen_discriminators_alone(mode):
    model = _tiny()
    clean, noise, noisy = _images()
    d_before = [p.detach().clone() for p in model.discriminator_parameters()]
    model.set_discriminators_trainable(False)
    opt = torch.optim.Adam(model.generator_parameters(), lr=1e-3)
    out = model.cycles(clean, noise, noisy)
    total, parts = generator_loss(model, out, mode)
    assert set(parts) == {"g_adv_clean", "g_adv_noise", "g_adv_noisy", "cycle"}
    assert all(isinstance(v, torch.Tensor) and v.dim() == 0 and not v.requires_grad for v in parts.values())
    values = {name: float(v) for name, v in parts.items()}
    assert float(total.detach()) == pytest.approx(values["g_adv_clean"] + values["g_adv_noise"] + values["g_adv_noisy"]
                                         + 10.0 * values["cycle"], rel=1e-5)
    total.backward()
    opt.step()
    assert all(p.grad is None for p in model.discriminator_parameters())
    assert all(torch.equal(a, b) for a, b in zip(d_before, model.discriminator_parameters()))
    assert all(p.grad is not None for p in model.generator_parameters())
    model.set_discriminators_trainable(True)
    assert all(p.requires_grad for p in model.discriminator_parameters())


def test_gan_loss_closed_forms():
    ones = torch.ones(2, 1, 5, 5)
    assert float(gan_loss(ones, True, "lsgan")) == 0.0
    assert float(gan_loss(ones, False, "lsgan")) == 1.0
    assert float(gan_loss(torch.full((1, 1, 3, 3), 3.0), False, "lsgan")) == pytest.approx(9.0)
    p = torch.randn(3, 1, 7, 7)
    assert torch.allclose(gan_loss(p, True, "vanilla"), F.binary_cross_entropy_with_logits(p, torch.ones_like(p)))
    assert torch.allclose(gan_loss(p, False, "vanilla"), F.binary_cross_entropy_with_logits(p, torch.zeros_like(p)))
    assert torch.allclose(gan_loss(p, True, "vanilla"), -F.logsigmoid(p).mean(), atol=1e-6)
    assert torch.allclose(gan_loss(p, True, "lsgan"), ((p - 1) ** 2).mean())
    with pytest.raises(ValueError):
        gan_loss(p, True, "wgan")


class _ConstDisc(nn.Module):
    """Outputs the constant k everywhere on a 3x3 patch grid."""

    def __init__(self, k):
        super().__init__()
        self.k = nn.Parameter(torch.tensor(float(k)))

    def forward(self, x):
        return self.k * torch.ones(x.shape[0], 1, 3, 3)


def test_discriminator_loss_values():
    x = torch.rand(2, 1, 8, 8)
    for k in (0.0, 1.0, 0.3):
        loss = discriminator_loss(_ConstDisc(k), x, x, "lsgan")
        assert float(loss.detach()) == pytest.approx(0.5 * ((k - 1) ** 2 + k ** 2))
    ident = nn.Identity()
    expected = 0.5 * (((x - 1) ** 2).mean() + (x ** 2).mean())
    assert torch.allclose(discriminator_loss(ident, x, x, "lsgan"), expected)
    expected_v = 0.5 * (-F.logsigmoid(x).mean() - F.logsigmoid(-x).mean())
    assert torch.allclose(discriminator_loss(ident, x, x, "vanilla"), expected_v, atol=1e-6)
    # the fake is detached: no gradient flows back into whatever produced it
    disc = nn.Conv2d(1, 1, 1)
    src = torch.rand(1, 1, 8, 8, requires_grad=True)
    discriminator_loss(disc, x, src * 2, "lsgan").backward()
    assert src.grad is None and disc.weight.grad is not None


def _tagged(values):
    """(B,1,2,2) images whose constant value identifies them."""
    return torch.tensor(values, dtype=torch.float32).view(-1, 1, 1, 1).expand(-1, 1, 2, 2).clone()


def test_image_pool_fills_then_mixes():
    rng = np.random.default_rng(0)
    pool = ImagePool(5)
    first = pool.query(_tagged([0, 1, 2]), rng)
    assert torch.equal(first, _tagged([0, 1, 2])) and len(pool) == 3
    second = pool.query(_tagged([3, 4]), rng)
    assert torch.equal(second, _tagged([3, 4])) and len(pool) == 5
    n, from_pool = 4000, 0
    for i in range(n):
        new = 100.0 + i
        out = pool.query(_tagged([new]), rng)
        value = float(out[0, 0, 0, 0])
        if value != new:
            from_pool += 1
            assert new in [float(im[0, 0, 0]) for im in pool.state()]  # it took the returned one's place
            assert value not in [float(im[0, 0, 0]) for im in pool.state()]
        assert len(pool) == 5
    assert 0.46 < from_pool / n < 0.54


def test_image_pool_zero_size_and_detach():
    x = torch.rand(2, 1, 4, 4, requires_grad=True)
    out = ImagePool(0).query(x * 1, np.random.default_rng(0))
    assert torch.equal(out, x.detach()) and not out.requires_grad
    out = ImagePool(3).query(x * 1, np.random.default_rng(0))
    assert not out.requires_grad


def test_image_pool_state_roundtrip():
    rng = np.random.default_rng(1)
    pool = ImagePool(4)
    for i in range(10):
        pool.query(_tagged([i, i + 0.5]), rng)
    saved = pool.state()
    restored = ImagePool(4)
    restored.load_state(saved)
    saved[0].fill_(-7)  # state() hands out copies
    assert all(torch.equal(a, b) for a, b in zip(pool.state(), restored.state()))
    rng_a, rng_b = np.random.default_rng(42), np.random.default_rng(42)
    for i in range(20):
        batch = _tagged([50 + i, 80 + i])
        assert torch.equal(pool.query(batch, rng_a), restored.query(batch, rng_b))
    with pytest.raises(ValueError):
        ImagePool(2).load_state(pool.state())


def test_configs_and_build():
    assert CONFIGS["paper"] == dict(ngf=64, n_blocks=9, ndf=64)
    assert CONFIGS["lite"] == dict(ngf=16, n_blocks=3, ndf=16)
    model = build("lite")
    assert isinstance(model, CyclicGAN)
    assert model.g1.model[1].out_channels == 16
    assert sum(isinstance(m, cyclic._ResnetBlock) for m in model.g2.modules()) == 3
    with pytest.raises(ValueError):
        build("huge")


def test_the_gated_clean_output_blends_the_generators_clean_channel_with_the_input_less_its_noise():
    torch.manual_seed(0)
    model = cyclic.CyclicGAN(ngf=8, n_blocks=1, ndf=8, clean_output="gated").eval()
    assert model.g2.model[-2].out_channels == 3
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        raw = model.g2(x)
        out = model.separate(x)
        weight = (1 + raw[:, 2:3]) / 2
        torch.testing.assert_close(out[:, 0:1], weight * (x - raw[:, 1:2]) + (1 - weight) * raw[:, 0:1])
        torch.testing.assert_close(out[:, 1:], raw[:, [1, 0]])  # the noise, then G2's own clean channel
        torch.testing.assert_close(model.denoise(x), out[:, 0:1])
        head = model.g2.model[-2]  # gate fully open, no noise found: the input passes through exactly
        head.weight[1:].zero_()
        head.bias[1], head.bias[2] = 0.0, 50.0
        assert torch.equal(model.denoise(x), x)
    with pytest.raises(ValueError, match="clean_output"):
        cyclic.CyclicGAN(ngf=8, n_blocks=1, ndf=8, clean_output="residual")


def test_a_gated_generator_runs_both_cycles():
    torch.manual_seed(0)
    model = cyclic.CyclicGAN(ngf=8, n_blocks=1, ndf=8, clean_output="gated")
    images = [torch.rand(1, 1, 32, 32) * 2 - 1 for _ in range(3)]
    out = model.cycles(*images)
    separated = model.separate(images[2])
    torch.testing.assert_close(out["fake_clean"], separated[:, 0:1])
    torch.testing.assert_close(out["rec_noisy"], model.g1(separated[:, :2]))
    cyclic.generator_loss(model, out)[0].backward()  # the GAN's losses take a gated G2 as they take the paper's
