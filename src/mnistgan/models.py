"""Architectures: each one module (mlp.py, conv.py, mixture_nets.py) plus one registry entry here, for G and D
together, with the data shape and kind it takes. `build_generator` / `build_discriminator` build what the config
names, initialised, wrapped for labels when the run is conditional. Discriminators return logits; the sigmoid lives
inside the loss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from mnistgan.config import TrainConfig
from mnistgan.conv import ConvDiscriminator, ConvGenerator, dcgan_init
from mnistgan.errors import UserError
from mnistgan.layers import IMAGE_SHAPE
from mnistgan.mixture_nets import PointDiscriminator, PointGenerator, normal_init
from mnistgan.mlp import MLPDiscriminator, MLPGenerator, glorot_init

__all__ = ["ARCHS", "Architecture", "MLPDiscriminator", "MLPGenerator", "build_discriminator", "build_generator"]
__all__ += ["data_width", "glorot_init", "register_arch", "sample_noise"]


@dataclass(frozen=True)
class Architecture:
    """A G and D family: how to build each from the config (G from its input width: z_dim, plus the label
    embedding when conditional), how to initialise them, the data shape (channels, height, width) they take (None:
    flat rows as wide as the dataset's samples, `data_width`) and the dataset kinds (data.DatasetSpec.kind) they fit."""

    name: str
    generator: Callable[[TrainConfig, int], nn.Module]
    discriminator: Callable[[TrainConfig], nn.Module]
    init: Callable[[nn.Module], None]
    data_shape: tuple[int, ...] | None
    about: str
    kinds: tuple[str, ...] = ("images",)


ARCHS: dict[str, Architecture] = {}


def register_arch(arch: Architecture) -> Architecture:
    """Add an architecture to ARCHS (the config's and the CLI's choices come from this dict)."""
    if arch.name in ARCHS:
        raise ValueError(f"architecture {arch.name!r} registered twice")
    ARCHS[arch.name] = arch
    return arch


register_arch(
    Architecture(
        "mlp",
        lambda c, z_in: MLPGenerator(z_in, c.g_hidden),
        lambda c: MLPDiscriminator(
            c.d_hidden,
            c.spectral_norm,
            c.mbstd,
            c.minibatch_disc,
            c.pack,
            c.mbstd_group,
            md_group=c.batch_size // c.pack,
        ),
        glorot_init,  # the tutorial's Glorot normal
        IMAGE_SHAPE,
        "the tutorial's one-hidden-layer MLPs",
    )
)
register_arch(
    Architecture(
        "conv",
        lambda c, z_in: ConvGenerator(z_in, c.conv_channels),
        lambda c: ConvDiscriminator(c.conv_channels, c.spectral_norm, c.mbstd, c.pack, c.mbstd_group),
        dcgan_init,  # DCGAN's N(0, 0.02)
        IMAGE_SHAPE,
        "DCGAN-style: two (transposed) convolutions each way",
    )
)


register_arch(
    Architecture(
        "pacgan-mlp",
        lambda c, z_in: PointGenerator(z_in, c.g_hidden, data_width(c)),
        lambda c: PointDiscriminator(
            data_width(c),
            c.d_hidden,
            c.pack,
            c.spectral_norm,
            c.mbstd,
            c.minibatch_disc,
            c.mbstd_group,
            md_group=c.batch_size // c.pack,
        ),
        normal_init,  # PacGAN's N(0, 0.02)
        None,
        "PacGAN's 2-D networks: G 4 x 400 ReLU + BatchNorm, D 3 x 200 maxout (5 pieces)",
        kinds=("points",),
    )
)


def data_width(config: TrainConfig) -> int:
    """Numbers per sample of the config's dataset (784 for an MNIST-format folder or image dataset, 2 for points)."""
    from mnistgan.data import DATASETS

    spec = DATASETS.get(config.dataset) if config.data_dir is None else None
    return spec.width if spec is not None else 784


def get_arch(name: str) -> Architecture:
    """The registered architecture `name`; an unknown name lists the valid ones."""
    if name not in ARCHS:
        raise UserError(f"unknown arch {name!r}; valid architectures: {', '.join(ARCHS)}")
    return ARCHS[name]


def build_generator(config: TrainConfig) -> nn.Module:
    """The generator the config names, initialised, wrapped in a label embedding when conditional."""
    arch = get_arch(config.arch)
    embed_dim = 10 if config.n_labels else 0  # ConditionalGenerator's default: one number per digit
    net = arch.generator(config, config.z_dim + embed_dim)
    arch.init(net)
    if config.n_labels:
        from mnistgan.conditional import ConditionalGenerator

        net = ConditionalGenerator(net, config.z_dim, config.n_labels, embed_dim)
    return net


def build_discriminator(config: TrainConfig) -> nn.Module:
    """The discriminator the config names, initialised, with its remedy options (projection D when conditional)."""
    arch = get_arch(config.arch)
    net = arch.discriminator(config)
    arch.init(net)
    if config.n_labels:
        from mnistgan.conditional import ProjectionDiscriminator

        net = ProjectionDiscriminator(net, config.n_labels)
    return net


def sample_noise(n: int, z_dim: int, kind: str, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Noise (n, z_dim): Uniform(-1, 1) as in the tutorial, or standard normal."""
    if kind == "uniform":
        return torch.rand(n, z_dim, generator=generator, device=device).mul_(2).sub_(1)
    return torch.randn(n, z_dim, generator=generator, device=device)


# The Stacked MNIST architectures register themselves (they import this module's registry).
from mnistgan import stacked_nets  # noqa: E402, F401
