"""Conditional generator, projection discriminator and the label sampler."""

import numpy as np
import pytest
import torch

from mnistgan.conditional import (
    ConditionalGenerator,
    LabelSampler,
    ProjectionDiscriminator,
    digit_labels,
)
from mnistgan.config import TrainConfig
from mnistgan.conv import ConvDiscriminator, ConvGenerator
from mnistgan.errors import UserError
from mnistgan.mlp import MLPDiscriminator
from mnistgan.models import MLPGenerator
from mnistgan.sample import generate


@pytest.mark.parametrize("body", ["mlp", "conv"])
def test_projection_discriminator_equals_its_formula(body):
    torch.manual_seed(0)
    net = MLPDiscriminator(32) if body == "mlp" else ConvDiscriminator(channels=4)
    D = ProjectionDiscriminator(net)
    x, y = torch.rand(6, 784), torch.tensor([0, 3, 3, 9, 1, 7])
    psi, phi = net(x, return_features=True)
    V = D.embed.weight  # (10, F)
    expect = psi[:, 0] + torch.stack([V[y[i]] @ phi[i] for i in range(6)])
    assert torch.allclose(D(x, y)[:, 0], expect, atol=1e-6)
    with pytest.raises(UserError, match="pack 1"):
        ProjectionDiscriminator(MLPDiscriminator(32, pack=2))


def test_conditional_generator_feeds_the_embedding():
    torch.manual_seed(0)
    for body in (MLPGenerator(100 + 10, 64), ConvGenerator(100 + 10, channels=4).eval()):
        G = ConditionalGenerator(body, z_dim=100)
        z, y = torch.randn(4, 100), torch.tensor([1, 2, 3, 4])
        assert torch.equal(G(z, y), body(torch.cat([z, G.embed(y)], 1)))
        assert not torch.allclose(G(z, y), G(z, torch.tensor([5, 6, 7, 8])))


def test_label_sampler_proportions():
    labels = np.repeat(np.arange(10), [100, 50, 50, 100, 100, 100, 100, 100, 100, 200])  # 1000 labels
    sampler = LabelSampler(labels)
    assert np.allclose(sampler.probs, [0.1, 0.05, 0.05, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2])
    draws = sampler.sample(200_000, torch.Generator().manual_seed(0)).numpy()
    freq = np.bincount(draws, minlength=10) / len(draws)
    # 5 standard errors of a proportion (largest at p = 0.2: sqrt(.16 / 200000) = 0.0009).
    assert np.all(np.abs(freq - sampler.probs) < 5 * np.sqrt(sampler.probs * (1 - sampler.probs) / len(draws)))
    exact = sampler.exact(1003, torch.Generator().manual_seed(0)).numpy()
    counts = np.bincount(exact, minlength=10)
    assert counts.sum() == 1003 and np.all(np.abs(counts - sampler.probs * 1003) < 1)
    assert (exact[:50] != np.sort(exact[:50])).any()  # shuffled
    assert np.array_equal(LabelSampler(np.array([0, 0, 1, 2]), 3).exact(4).sort().values.numpy(), [0, 0, 1, 2])


def test_label_errors():
    assert torch.equal(digit_labels(7, 3), torch.tensor([7, 7, 7]))
    with pytest.raises(UserError, match="0..9"):
        digit_labels(10, 3)
    with pytest.raises(UserError, match="0..9"):
        LabelSampler(np.array([0, 11]))


def test_generate_follows_the_labels():
    torch.manual_seed(0)
    G = ConditionalGenerator(MLPGenerator(110, 32), z_dim=100).eval()
    labels = torch.tensor([3, 3, 5, 3])
    images = generate(G, TrainConfig(conditional=True), 4, seed=1, batch_size=3, labels=labels)
    assert images.shape == (4, 28, 28) and images.dtype == np.uint8
    z = torch.rand(4, 100, generator=torch.Generator().manual_seed(1)) * 2 - 1  # both batches from one stream
    expect = (G(z, labels).clamp(0, 1) * 255).round().to(torch.uint8).reshape(4, 28, 28).numpy()
    assert np.array_equal(images, expect)


def test_generate_truncation_scales_the_noise():
    """truncation psi draws the same noise as psi = 1, times psi (benchmarks/truncation.py relies on it)."""
    torch.manual_seed(0)
    G = ConditionalGenerator(MLPGenerator(110, 32), z_dim=100).eval()
    labels = torch.tensor([1, 4, 4])
    images = generate(G, TrainConfig(conditional=True), 3, seed=2, labels=labels, truncation=0.3)
    z = torch.rand(3, 100, generator=torch.Generator().manual_seed(2)) * 2 - 1
    expect = (G(0.3 * z, labels).clamp(0, 1) * 255).round().to(torch.uint8).reshape(3, 28, 28).numpy()
    assert np.array_equal(images, expect)
    assert not np.array_equal(images, generate(G, TrainConfig(conditional=True), 3, seed=2, labels=labels))
