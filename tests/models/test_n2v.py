"""Noise2Void / N2V2 of docs/models.md section 4: blind-spot masking, masked loss, U-Net variants."""

import numpy as np
import pytest
import torch
from torch import nn

import emdenoise_gui.models.n2v as n2v_module
from emdenoise_gui.models.blocks import count_parameters
from emdenoise_gui.models.n2v import (
    CONFIGS,
    MaxBlurPool,
    UNet,
    build,
    n2v_loss,
    n2v_mask,
)


def _unique(b=3, h=64, w=64):
    """Image batch whose pixel value encodes its own (image, y, x): value = i*h*w + y*w + x."""
    return torch.arange(b * h * w, dtype=torch.float64).reshape(b, 1, h, w)


def _selected(mask):
    return [tuple(int(v) for v in row) for row in torch.nonzero(mask[:, 0])]


def test_uniform_replacement_comes_from_a_neighbour_never_the_centre():
    b, h, w, roi = 4, 64, 48, 11
    batch = _unique(b, h, w)
    for seed in range(5):
        masked, mask = n2v_mask(batch, np.random.default_rng(seed), fraction=0.01, roi=roi)
        assert masked.dtype == batch.dtype and mask.dtype == batch.dtype
        assert set(torch.unique(mask).tolist()) <= {0.0, 1.0}
        changed = masked != batch
        assert torch.equal(changed, mask.bool())  # exactly the selected pixels changed
        for i, y, x in _selected(mask):
            src = int(masked[i, 0, y, x].item())
            si, rest = divmod(src, h * w)
            sy, sx = divmod(rest, w)
            assert si == i  # same image
            assert (sy, sx) != (y, x)
            assert abs(sy - y) <= roi // 2 and abs(sx - x) <= roi // 2
            assert 0 <= sy < h and 0 <= sx < w


def test_uniform_covers_the_whole_clipped_neighbourhood():
    # a 1x1-cell grid on a tiny image: the source offsets should spread over the full roi
    batch = _unique(1, 16, 16)
    offsets = set()
    rng = np.random.default_rng(0)
    for _ in range(1500):
        masked, mask = n2v_mask(batch, rng, fraction=1 / 256, roi=5)
        (i, y, x), = _selected(mask)
        sy, sx = divmod(int(masked[0, 0, y, x].item()), 16)
        if 2 <= y < 14 and 2 <= x < 14:
            offsets.add((sy - y, sx - x))
    assert offsets == {(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)} - {(0, 0)}


def test_median_strategy_is_neighbourhood_median_without_centre():
    batch = torch.rand(3, 1, 40, 56, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    batch[0, 0, :8, :8] = 0.5  # ties
    masked, mask = n2v_mask(batch, np.random.default_rng(7), fraction=0.02, roi=11, strategy="median")
    sel = _selected(mask)
    assert len(sel) > 10
    a = batch.numpy()
    edge_seen = False
    for i, y, x in sel:
        y0, y1, x0, x1 = max(y - 5, 0), min(y + 6, 40), max(x - 5, 0), min(x + 6, 56)
        edge_seen |= (y1 - y0) * (x1 - x0) < 121
        win = a[i, 0, y0:y1, x0:x1].copy()
        win[y - y0, x - x0] = np.nan
        assert masked[i, 0, y, x].item() == pytest.approx(float(np.nanmedian(win)), abs=1e-12)
    assert edge_seen  # clipped windows at the image border were exercised
    unmasked = mask == 0
    assert torch.equal(masked[unmasked], batch[unmasked])


def test_median_ignores_an_outlier_centre():
    batch = torch.zeros(1, 1, 16, 16)
    batch[0, 0, 8, 8] = 100.0
    rng = np.random.default_rng(0)
    for _ in range(300):  # 4x4 grid of 4x4 cells: (8, 8) is drawn with probability 1/16
        masked, mask = n2v_mask(batch, rng, fraction=1 / 16, strategy="median")
        if mask[0, 0, 8, 8] == 1:
            assert masked[0, 0, 8, 8] == 0.0
            return
    pytest.fail("pixel (8, 8) was never selected")


@pytest.mark.parametrize("h,w,fraction", [(64, 64, 0.002), (128, 96, 0.002), (256, 256, 0.002),
                                          (64, 64, 0.01), (8, 8, 0.002)])
def test_count_and_stratification(h, w, fraction):
    b = 5
    _, mask = n2v_mask(torch.rand(b, 1, h, w), np.random.default_rng(0), fraction=fraction)
    ny = max(1, round(h * np.sqrt(fraction)))
    nx = max(1, round(w * np.sqrt(fraction)))
    per_image = mask.sum(dim=(1, 2, 3))
    assert torch.all(per_image == ny * nx) and torch.all(per_image >= 1)
    if fraction * h * w >= 4:
        assert ny * nx == pytest.approx(fraction * h * w, rel=0.35)
    ey = np.rint(np.linspace(0, h, ny + 1)).astype(int)
    ex = np.rint(np.linspace(0, w, nx + 1)).astype(int)
    m = mask[:, 0].numpy()
    for i in range(b):
        for cy in range(ny):
            for cx in range(nx):
                assert m[i, ey[cy]:ey[cy + 1], ex[cx]:ex[cx + 1]].sum() == 1  # one per cell


def test_selection_is_random_and_deterministic():
    batch = torch.rand(2, 1, 64, 64)
    original = batch.clone()
    a = n2v_mask(batch, np.random.default_rng(42))
    b = n2v_mask(batch, np.random.default_rng(42))
    c = n2v_mask(batch, np.random.default_rng(43))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])
    # successive calls on one generator differ (the state advances)
    rng = np.random.default_rng(42)
    assert not torch.equal(n2v_mask(batch, rng)[1], n2v_mask(batch, rng)[1])
    # batch is not modified and images within a batch get different positions
    assert torch.equal(batch, original) and not torch.equal(a[1][0], a[1][1])


def test_mask_rejects_bad_arguments():
    rng = np.random.default_rng(0)
    x = torch.rand(1, 1, 16, 16)
    for kwargs in (dict(strategy="mean"), dict(roi=4), dict(roi=1), dict(fraction=0.0)):
        with pytest.raises(ValueError):
            n2v_mask(x, rng, **kwargs)


def test_loss_only_sees_masked_pixels():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 1, 32, 32, generator=g)
    pred = torch.rand(2, 1, 32, 32, generator=g).requires_grad_()
    _, mask = n2v_mask(target, np.random.default_rng(0), fraction=0.01)
    loss = n2v_loss(pred, target, mask)
    sel = mask.bool()
    expected = ((pred.detach() - target)[sel] ** 2).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    changed = torch.where(sel, pred.detach(), pred.detach() + 10.0 * torch.rand(pred.shape, generator=g))
    assert n2v_loss(changed, target, mask).item() == pytest.approx(loss.item(), rel=1e-6)
    loss.backward()
    assert torch.all(pred.grad[~sel] == 0) and torch.all(pred.grad[sel] != 0)


@pytest.mark.parametrize("n2v2", [False, True])
@pytest.mark.parametrize("shape", [(2, 1, 64, 64), (1, 1, 32, 48)])
def test_unet_shapes(n2v2, shape):
    model = UNet(depth=2, base=8, n2v2=n2v2)
    y = model(torch.rand(shape))
    assert y.shape == shape and y.dtype == torch.float32
    with torch.no_grad():
        assert model.eval().denoise(torch.rand(shape)).shape == shape
    with pytest.raises(ValueError):
        model(torch.rand(1, 1, 30, 32))


def test_n2v2_drops_top_skip_and_uses_blur_pool():
    plain, n2v2 = UNet(2, 16, n2v2=False), UNet(2, 16, n2v2=True)
    # top decoder block: upsampled 32 channels (+16 skip channels without N2V2)
    assert plain.decoders[0][0].in_channels == 32 + 16
    assert n2v2.decoders[0][0].in_channels == 32
    assert plain.decoders[1][0].in_channels == n2v2.decoders[1][0].in_channels == 64 + 32
    assert all(isinstance(p, nn.MaxPool2d) for p in plain.pools)
    assert all(isinstance(p, MaxBlurPool) for p in n2v2.pools)
    # at run time the top decoder block receives only the upsampled features under N2V2
    seen = {}
    for name, model in (("plain", plain), ("n2v2", n2v2)):
        def hook(module, inputs, output, name=name):
            seen[name] = inputs[0].shape[1]

        model.decoders[0].register_forward_hook(hook)
        model(torch.rand(1, 1, 32, 32))
    assert seen == {"plain": 48, "n2v2": 32}


def test_max_blur_pool():
    pool = MaxBlurPool()
    assert count_parameters(pool) == 0 and "kernel" not in pool.state_dict()
    x = torch.rand(2, 3, 16, 12)
    assert pool(x).shape == (2, 3, 8, 6)
    assert torch.allclose(pool(torch.full((1, 2, 8, 8), 3.0)), torch.full((1, 2, 4, 4), 3.0))


def test_max_blur_pool_trains_in_float32_under_autocast(monkeypatch):
    """In training the blur runs in float32 (faster than bf16 with its gradient on a CPU); its result comes
    back in the input's dtype, the float32 result rounded; in evaluation it autocasts as before."""
    x = torch.rand(2, 4, 16, 12, generator=torch.Generator().manual_seed(3)).to(torch.bfloat16)
    pool = MaxBlurPool()
    exact = pool(x.float())
    leaf = x.clone().requires_grad_(True)
    blurred = []  # the dtype each blur convolution computed in

    class Recording:  # torch.nn.functional, with each conv2d's output dtype noted
        def __getattr__(self, name):
            return getattr(torch.nn.functional, name)

        def conv2d(self, *args, **kwargs):
            out = torch.nn.functional.conv2d(*args, **kwargs)
            blurred.append(out.dtype)
            return out

    monkeypatch.setattr(n2v_module, "F", Recording())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        trained = pool.train()(leaf)
        evaluated = pool.eval()(x)
    assert blurred == [torch.float32, torch.bfloat16]
    assert trained.dtype == torch.bfloat16 and torch.equal(trained, exact.to(torch.bfloat16))
    trained.float().sum().backward()
    assert leaf.grad is not None and leaf.grad.dtype == torch.bfloat16 and leaf.grad.abs().sum() > 0
    assert evaluated.dtype == torch.bfloat16
    torch.testing.assert_close(evaluated.float(), exact, atol=0.02, rtol=0.02)


def test_configs_and_parameter_counts():
    assert CONFIGS["paper"] == dict(depth=2, base=32, n2v2=True)
    assert CONFIGS["lite"] == dict(depth=2, base=16, n2v2=True)
    counts = {name: count_parameters(build(name)) for name in CONFIGS}
    print("N2V parameter counts:", counts)
    assert counts == {"paper": 463_041, "lite": 116_321}
    assert count_parameters(UNet(2, 32, n2v2=False)) == 472_257  # + 32*9*32 skip weights
    with pytest.raises(KeyError):
        build("big")


def test_lite_training_steps_reduce_masked_loss():
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 32), indexing="ij")
    clean = (0.5 + 0.4 * torch.sin(6 * xx) * torch.cos(4 * yy)).expand(8, 1, 32, 32)
    noisy = clean + 0.1 * torch.randn(clean.shape, generator=g)
    model = build("lite")
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(30):
        masked, mask = n2v_mask(noisy, rng, fraction=0.05)
        opt.zero_grad()
        loss = n2v_loss(model(masked), noisy, mask)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
