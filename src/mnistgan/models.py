"""Generators and discriminators. Discriminators return logits; the sigmoid lives inside the loss.

The tutorial's pair: G = Linear(100, 256) -> ReLU -> Linear(256, 784) -> sigmoid and
D = Linear(784, 256) -> ReLU -> Linear(256, 1) (-> sigmoid, applied by the loss), Glorot-normal weights, zero biases.
"""

from __future__ import annotations

import torch
from torch import nn

from mnistgan.config import TrainConfig
from mnistgan.errors import UserError

IMAGE_PIXELS = 28 * 28


def glorot_init(module: nn.Module) -> None:
    """Glorot (Xavier) normal weights, std = sqrt(2 / (fan_in + fan_out)), and zero biases, for every Linear."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_normal_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


class MLPGenerator(nn.Module):
    """z (B, z_dim) -> images (B, 784) in [0, 1]."""

    def __init__(self, z_dim: int = 100, hidden: int = 256) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.fc1 = nn.Linear(z_dim, hidden)
        self.fc2 = nn.Linear(hidden, IMAGE_PIXELS)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images (B, 784) in [0, 1]."""
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(z))))


class MLPDiscriminator(nn.Module):
    """images (B, 784) in [0, 1] -> logits (B, 1)."""

    def __init__(self, hidden: int = 256) -> None:
        super().__init__()
        self.fc1 = nn.Linear(IMAGE_PIXELS, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, 1); D(x) = sigmoid(logits)."""
        return self.fc2(torch.relu(self.fc1(x)))


def build_generator(config: TrainConfig) -> nn.Module:
    """The generator the config names, initialised."""
    if config.arch != "mlp":
        raise UserError(f"unknown arch {config.arch!r}")
    net = MLPGenerator(config.z_dim, config.g_hidden)
    glorot_init(net)
    return net


def build_discriminator(config: TrainConfig) -> nn.Module:
    """The discriminator the config names, initialised."""
    if config.arch != "mlp":
        raise UserError(f"unknown arch {config.arch!r}")
    net = MLPDiscriminator(config.d_hidden)
    glorot_init(net)
    return net


def sample_noise(n: int, z_dim: int, kind: str, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Noise (n, z_dim): Uniform(-1, 1) as in the tutorial, or standard normal."""
    if kind == "uniform":
        return torch.rand(n, z_dim, generator=generator, device=device).mul_(2).sub_(1)
    return torch.randn(n, z_dim, generator=generator, device=device)
