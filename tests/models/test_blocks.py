"""Shared model pieces: ``blocks.narrow_layers`` (narrow channels-last bf16 batch norms in contiguous memory),
``blocks.fold_batch_norms`` (evaluation batch norms folded into their convolutions) and
``blocks.ChannelsLastInstanceNorm`` (instance norm on channels-last maps)."""

import pytest
import torch
from torch import nn

from emdenoise_gui.models.blocks import (
    ChannelsLastInstanceNorm,
    channels_last_instance_norms,
    fold_batch_norms,
    narrow_layers,
)
from emdenoise_gui.models.registry import family

LAST = torch.channels_last


def _run(x: torch.Tensor, bn: nn.BatchNorm2d, use_helper: bool):
    """(output, input gradient, weight gradient, running mean) of ReLU6(BN(x)) for one upstream gradient."""
    x = x.detach().clone().requires_grad_(True)
    layers = (bn, nn.ReLU6())
    y = narrow_layers(x, layers, bn.training) if use_helper else layers[1](layers[0](x))
    torch.manual_seed(1)
    y.backward(torch.randn(y.shape).to(y.dtype).contiguous(memory_format=LAST))
    return y, x.grad, bn.weight.grad.clone(), bn.running_mean.clone()


@pytest.mark.parametrize("channels", [8, 32])
def test_narrow_layers_equal_the_layers_and_keep_channels_last(channels):
    x = torch.randn(2, channels, 12, 10).to(torch.bfloat16).contiguous(memory_format=LAST)
    plain_bn = nn.BatchNorm2d(channels)
    helper_bn = nn.BatchNorm2d(channels)
    helper_bn.load_state_dict(plain_bn.state_dict())
    y0, g0, w0, m0 = _run(x, plain_bn, use_helper=False)
    y1, g1, w1, m1 = _run(x, helper_bn, use_helper=True)
    assert y1.dtype == y0.dtype and y1.is_contiguous(memory_format=LAST) and g1.is_contiguous(memory_format=LAST)
    torch.testing.assert_close(y1.float(), y0.float(), rtol=0.02, atol=0.02)  # bf16 sums in another order
    torch.testing.assert_close(g1.float(), g0.float(), rtol=0.02, atol=0.02)
    torch.testing.assert_close(w1, w0, rtol=0.02, atol=0.02)
    torch.testing.assert_close(m1, m0)


def test_narrow_layers_copy_only_narrow_low_precision_training_batches(monkeypatch):
    narrow = torch.randn(2, 8, 6, 6).to(torch.bfloat16).contiguous(memory_format=LAST)
    others = ((narrow, False), (narrow.float(), True), (narrow.contiguous(), True),
              (torch.randn(2, 16, 6, 6).to(torch.bfloat16).contiguous(memory_format=LAST), True))
    copies = []
    original = torch.Tensor.contiguous

    def counting(self, *args, **kwargs):
        copies.append(kwargs.get("memory_format", args[0] if args else torch.contiguous_format))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "contiguous", counting)
    narrow_layers(narrow, (nn.BatchNorm2d(8),), training=True)
    assert copies == [torch.contiguous_format, LAST]
    for x, training in others:
        copies.clear()
        bn = nn.BatchNorm2d(x.shape[1]).train(training)
        narrow_layers(x, (bn,), training)
        assert copies == []


@pytest.mark.parametrize("name, config, side, left", [("xception", "lite", 64, 4), ("n2v", "lite", 32, 0)])
def test_folded_batch_norms_give_the_same_output(name, config, side, left):
    """Xception's conv -> BN (-> BN) and N2V's conv -> BN fold; the ASPP's batch norms after an activation stay."""
    torch.manual_seed(0)
    info = family(name)
    model = info.build(**info.configs[config].architecture)
    with torch.no_grad():  # running statistics and affine parameters away from their defaults
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
        model.train()
        for _ in range(3):
            model(torch.rand(2, 1, side, side))
    model.eval()
    x = torch.rand(2, 1, side, side).contiguous(memory_format=LAST)
    with torch.inference_mode():
        before = model(x).clone()
        count = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
        folded = fold_batch_norms(model)
        after = model(x)
    assert folded > 0 and sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == left == count - folded
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-5)


def test_training_batch_norms_are_not_folded():
    layers = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    assert fold_batch_norms(layers) == 0 and isinstance(layers[1], nn.BatchNorm2d)
    layers.eval()
    assert fold_batch_norms(layers) == 1 and isinstance(layers[1], nn.Identity)
    assert layers[0].bias is not None  # the batch norm's shift became the convolution's bias


@pytest.mark.parametrize("channels", [8, 24])  # moments as matrix products (<= GRAM_CHANNELS), and not
def test_channels_last_instance_norm_equals_pytorchs(channels):
    """Random channels, one whose mean dwarfs its spread (the two-pass statistics take over) and a constant
    one (a dead feature): per channel as close to the float64 instance norm as PyTorch's own float32 one
    (1e-5 more at most), in channels-last memory."""
    torch.manual_seed(0)
    x = torch.randn(2, channels, 37, 45)
    x[:, 3] = x[:, 3] * 0.5 + 3000.0  # mean^2 / variance = 3.6e7: the one-pass float32 variance is off
    x[1, 5] = 7.0
    exact = nn.functional.instance_norm(x.double())
    theirs = (nn.functional.instance_norm(x) - exact).abs().amax(dim=(0, 2, 3))
    norm = ChannelsLastInstanceNorm()
    got = norm(x.contiguous(memory_format=LAST))
    assert got.is_contiguous(memory_format=LAST) and got.shape == x.shape
    ours = (got - exact).abs().amax(dim=(0, 2, 3))
    assert bool((ours <= theirs + 1e-5).all()), (ours, theirs)
    assert float(theirs[3]) > 1e-4  # that channel is hard for float32 at all
    torch.testing.assert_close(norm(x), nn.functional.instance_norm(x))  # a contiguous map: PyTorch's own


def test_cyclic_generator_with_channels_last_instance_norms_gives_the_same_output():
    from emdenoise_gui.models.cyclic import ResnetGenerator

    torch.manual_seed(0)
    net = ResnetGenerator(1, 1, ngf=8, n_blocks=2).eval()
    x = torch.rand(1, 1, 96, 80) * 2 - 1
    with torch.inference_mode():
        want = net(x)
        assert channels_last_instance_norms(net) == 1 + 2 + 2 * 2 + 2  # stem, down, blocks, up
        net.to(memory_format=LAST)
        got = net(x.contiguous(memory_format=LAST))
    torch.testing.assert_close(got, want, atol=2e-5, rtol=1e-4)
