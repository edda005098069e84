"""The tutorial's networks: shapes, Glorot-normal init statistics, zero biases; losses against their closed forms."""

from __future__ import annotations

import math

import pytest
import torch

from mnistgan.config import preset_config
from mnistgan.losses import d_loss_nsgan, g_loss_nsgan
from mnistgan.models import build_discriminator, build_generator, sample_noise


def test_shapes_and_ranges() -> None:
    config = preset_config("tutorial")
    torch.manual_seed(0)
    G, D = build_generator(config), build_discriminator(config)
    assert [tuple(p.shape) for p in G.parameters()] == [(256, 100), (256,), (784, 256), (784,)]
    assert [tuple(p.shape) for p in D.parameters()] == [(256, 784), (256,), (1, 256), (1,)]
    z = sample_noise(64, 100, "uniform", torch.Generator().manual_seed(0), torch.device("cpu"))
    assert z.min() >= -1 and z.max() <= 1 and z.min() < -0.9 and z.max() > 0.9
    images = G(z)
    assert images.shape == (64, 784) and images.min() >= 0 and images.max() <= 1
    assert D(images).shape == (64, 1)


@pytest.mark.parametrize("net, fan_in, fan_out", [("G1", 100, 256), ("G2", 256, 784), ("D1", 784, 256)])
def test_glorot_normal_std_and_zero_bias(net: str, fan_in: int, fan_out: int) -> None:
    config = preset_config("tutorial")
    torch.manual_seed(1)
    layer = {
        "G1": lambda: build_generator(config).fc1,
        "G2": lambda: build_generator(config).fc2,
        "D1": lambda: build_discriminator(config).fc1,
    }[net]()
    expected = math.sqrt(2.0 / (fan_in + fan_out))
    w = layer.weight.detach().double()
    # The sample std of n normal draws has relative standard error 1/sqrt(2n) (< 0.3% here); allow 3%.
    assert abs(w.std().item() / expected - 1) < 0.03
    assert abs(w.mean().item()) < 4 * expected / math.sqrt(w.numel())
    assert torch.count_nonzero(layer.bias) == 0


def test_losses_match_closed_form() -> None:
    real = torch.tensor([[2.0], [-1.0], [0.0]])
    fake = torch.tensor([[-3.0], [0.5], [4.0]])
    d = lambda t: torch.sigmoid(t)  # noqa: E731
    expected_d = -(torch.log(d(real)).mean() + torch.log(1 - d(fake)).mean())
    expected_g = -torch.log(d(fake)).mean()
    torch.testing.assert_close(d_loss_nsgan(real, fake), expected_d)
    torch.testing.assert_close(g_loss_nsgan(fake), expected_g)
    # At D = 1/2 everywhere the D loss is 2 ln 2 and the G loss ln 2 (the GAN equilibrium values).
    zero = torch.zeros(5, 1)
    assert d_loss_nsgan(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert g_loss_nsgan(zero).item() == pytest.approx(math.log(2))


def test_losses_finite_where_log_sigmoid_is_not() -> None:
    # sigmoid(200) rounds to 1 in float32, so log(1 - D) would be -inf; the logits form stays finite and exact.
    fake = torch.tensor([[200.0]])
    naive = -torch.log(1 - torch.sigmoid(fake))
    assert torch.isinf(naive).all()
    assert d_loss_nsgan(torch.tensor([[0.0]]), fake).item() == pytest.approx(math.log(2) + 200.0)
    assert g_loss_nsgan(torch.tensor([[-200.0]])).item() == pytest.approx(200.0)
