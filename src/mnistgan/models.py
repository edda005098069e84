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


def _init_weights(module: nn.Module, arch: str) -> None:
    """Glorot normal for the MLPs (the tutorial's), DCGAN's N(0, 0.02) for the conv nets; spectral norm's
    parametrized weights are initialised through their `original` tensor."""
    if arch == "conv":
        from mnistgan.conv import dcgan_init

        dcgan_init(module)
        return
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            weight = layer.parametrizations.weight.original if hasattr(layer, "parametrizations") else layer.weight
            nn.init.xavier_normal_(weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def build_generator(config: TrainConfig) -> nn.Module:
    """The generator the config names, initialised: MLP or conv, wrapped in a label embedding when conditional."""
    if config.arch not in ("mlp", "conv"):
        raise UserError(f"unknown arch {config.arch!r}")
    embed_dim = 10 if config.n_labels else 0  # ConditionalGenerator's default: one number per digit
    if config.arch == "conv":
        from mnistgan.conv import ConvGenerator

        net: nn.Module = ConvGenerator(config.z_dim + embed_dim, config.conv_channels)
    else:
        net = MLPGenerator(config.z_dim + embed_dim, config.g_hidden)
    _init_weights(net, config.arch)
    if config.n_labels:
        from mnistgan.conditional import ConditionalGenerator

        net = ConditionalGenerator(net, config.z_dim, config.n_labels, embed_dim)
    return net


def _has_d_options(config: TrainConfig) -> bool:
    d_options = config.spectral_norm or config.mbstd or config.minibatch_disc or config.pack != 1
    return d_options or config.n_labels or config.feature_matching  # the last two need D's features


def build_discriminator(config: TrainConfig) -> nn.Module:
    """The discriminator the config names, initialised, with its remedy options (projection D when conditional).

    The plain MLP (every option off) is this module's MLPDiscriminator, the network the fast step engine runs.
    """
    if config.arch not in ("mlp", "conv"):
        raise UserError(f"unknown arch {config.arch!r}")
    rows = config.batch_size // config.pack  # D inputs per source: groups of the batch layers stay within one
    if config.arch == "conv":
        from mnistgan.conv import ConvDiscriminator

        net: nn.Module = ConvDiscriminator(
            config.conv_channels, config.spectral_norm, config.mbstd, config.pack, config.mbstd_group
        )
    elif _has_d_options(config):
        from mnistgan.conv import MLPDiscriminator as OptionsMLPDiscriminator

        net = OptionsMLPDiscriminator(
            config.d_hidden,
            config.spectral_norm,
            config.mbstd,
            config.minibatch_disc,
            config.pack,
            config.mbstd_group,
            md_group=rows,
        )
    else:
        net = MLPDiscriminator(config.d_hidden)
    _init_weights(net, config.arch)
    if config.n_labels:
        from mnistgan.conditional import ProjectionDiscriminator

        net = ProjectionDiscriminator(net, config.n_labels)
    return net


def sample_noise(n: int, z_dim: int, kind: str, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Noise (n, z_dim): Uniform(-1, 1) as in the tutorial, or standard normal."""
    if kind == "uniform":
        return torch.rand(n, z_dim, generator=generator, device=device).mul_(2).sub_(1)
    return torch.randn(n, z_dim, generator=generator, device=device)
