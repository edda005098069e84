"""The published Stacked MNIST networks (3 x 28 x 28 samples), as PacGAN's code builds them, and their registry
entries (architectures ``veegan-dcgan``, ``metz-d4``, ``metz-d2``).

Every network speaks the package's format for 3-channel samples: G returns (B, 3 * 784) in [0, 1], channel-major
(channel c of sample k is row k's pixels [784c, 784(c+1))); D takes (B, 3 * 784) or (B, 3, 28, 28) and returns
logits (B/pack, 1) (PacGAN: m samples concatenated on channels, (B/m, 3m, 28, 28)).

- ``veegan-dcgan`` (VEEGAN setting; PacGAN stacked_MNIST_experiments/VEEGAN_experiment/model.py, after carpedm20's
  DCGAN-tensorflow): G: z -> linear -> (512, 2, 2) -> four 5x5 stride-2 transposed convs to 256, 128, 64, 3 channels
  at 4, 7, 14, 28 pixels (BatchNorm + ReLU between); D: four 5x5 stride-2 convs to 64, 128, 256, 512 channels at 14,
  7, 4, 2 pixels (LeakyReLU 0.2, BatchNorm after all but the first) -> linear.
- ``metz-d4`` / ``metz-d2`` (unrolled-GAN setting with a weak D; PacGAN unrolled_GAN_experiment/D=0.25G and D=0.5G,
  model.py): G: z -> linear -> (64, 4, 4) -> 3x3 stride-2 transposed convs to 32, 16, 8 channels at 7, 14, 28 pixels
  (BatchNorm + ReLU) -> 3x3 conv to 3 channels -> tanh; D: 3x3 stride-2 convs of (2, 4, 8) or (4, 8, 16) channels at
  14, 7, 4 pixels, each BatchNorm + LeakyReLU 0.3 -> linear. These work on pixels in [-1, 1] as the paper does: G
  maps its tanh to [0, 1] for the package, D maps [0, 1] back to [-1, 1] first.

BatchNorm in D: PacGAN's TensorFlow code calls D once on the real batch and once on the fake one, so each BatchNorm
sees one source. Our step calls D once on cat([real, fake]); `SourceBatchNorm2d` takes its statistics over each
group of ``batch_size // pack`` consecutive D inputs, which is exactly one source, so the arithmetic matches the
separate calls. A gradient penalty (R1, R2, WGAN-GP) needs each D output to depend on its own input only, so with a
penalty D has no BatchNorm (as R3GAN's D has none).
"""

from __future__ import annotations

import torch
from torch import nn

from mnistgan.config import TrainConfig
from mnistgan.conv import sn
from mnistgan.layers import pack
from mnistgan.models import Architecture, register_arch

STACK_SHAPE = (3, 28, 28)
STACK_VALUES = 3 * 28 * 28  # networks exchange 3-channel samples flat: (B, 2352)


class SourceBatchNorm2d(nn.Module):
    """BatchNorm2d in training mode whose statistics come from each group of `group` consecutive inputs (one source
    of the step's cat([real, fake])); a batch that `group` does not divide is normalised as one group. No running
    statistics: D is only ever run on training batches, as in PacGAN's code (is_training=True)."""

    def __init__(self, channels: int, group: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.group, self.eps = group, eps  # TF batch_norm's epsilon 1e-5
        self.weight = nn.Parameter(torch.ones(channels))  # scale=True in PacGAN's ops.batch_norm
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        B = x.shape[0]
        g = self.group if B % self.group == 0 else B
        y = x.reshape(B // g, g, *x.shape[1:])  # (groups, g, C, H, W)
        mean = y.mean(dim=(1, 3, 4), keepdim=True)
        var = y.var(dim=(1, 3, 4), unbiased=False, keepdim=True)
        y = ((y - mean) * torch.rsqrt(var + self.eps)).reshape_as(x)
        return y * self.weight[:, None, None] + self.bias[:, None, None]

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, group={self.group}"


def _norm(channels: int, group: int, on: bool) -> nn.Module:
    return SourceBatchNorm2d(channels, group) if on else nn.Identity()


def pacgan_init(module: nn.Module) -> None:
    """PacGAN's (DCGAN-tensorflow's) initialisation: weights N(0, 0.02^2), zero biases, BatchNorm scale 1, shift 0."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            weight = layer.parametrizations.weight.original if hasattr(layer, "parametrizations") else layer.weight
            nn.init.normal_(weight, 0.0, 0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, (nn.BatchNorm2d, SourceBatchNorm2d)):
            nn.init.ones_(layer.weight)
            nn.init.zeros_(layer.bias)


class VeeganGenerator(nn.Module):
    """z (B, z_dim) -> (512, 2, 2) -> (256, 4, 4) -> (128, 7, 7) -> (64, 14, 14) -> (3, 28, 28) -> sigmoid -> (B, 2352).

    5x5 kernels, stride 2, padding 2 (TF's 'SAME' gives the same sizes, its padding sits one pixel lower-right);
    output_padding picks 4, 7, 14, 28. Sigmoid, not PacGAN's tanh: their real pixels are in [0, 1] (X / 255), so a
    tanh G spends half its range on values no real pixel has.
    """

    def __init__(self, z_dim: int = 100, gf: int = 64) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.fc = nn.Linear(z_dim, 8 * gf * 2 * 2)
        self.bn0 = nn.BatchNorm2d(8 * gf, momentum=0.1)  # TF decay 0.9
        ups, bns = [], []
        for c_in, c_out, out_pad in ((8 * gf, 4 * gf, 1), (4 * gf, 2 * gf, 0), (2 * gf, gf, 1), (gf, 3, 1)):
            ups.append(nn.ConvTranspose2d(c_in, c_out, 5, stride=2, padding=2, output_padding=out_pad))
            bns.append(nn.BatchNorm2d(c_out) if c_out != 3 else nn.Identity())
        self.ups, self.bns = nn.ModuleList(ups), nn.ModuleList(bns)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Samples (B, 2352) in [0, 1]."""
        h = torch.relu(self.bn0(self.fc(z).reshape(z.shape[0], -1, 2, 2)))  # (B, 512, 2, 2)
        for i, (up, bn) in enumerate(zip(self.ups, self.bns)):
            h = bn(up(h))  # (B, 256, 4, 4), (B, 128, 7, 7), (B, 64, 14, 14), (B, 3, 28, 28)
            h = torch.relu(h) if i < 3 else h
        return torch.sigmoid(h).reshape(z.shape[0], STACK_VALUES)


class VeeganDiscriminator(nn.Module):
    """(B, 2352) -> (B/m, 3m, 28, 28) -> convs to (64, 14, 14), (128, 7, 7), (256, 4, 4), (512, 2, 2) -> linear -> 1."""

    def __init__(self, df: int = 64, pack: int = 1, group: int = 64, norm: bool = True, spectral: bool = False) -> None:
        super().__init__()
        self.pack = pack
        widths = (3 * pack, df, 2 * df, 4 * df, 8 * df)
        self.convs = nn.ModuleList(
            sn(nn.Conv2d(widths[i], widths[i + 1], 5, stride=2, padding=2), spectral) for i in range(4)
        )
        self.norms = nn.ModuleList([nn.Identity()] + [_norm(widths[i + 1], group, norm) for i in range(1, 4)])
        self.feature_dim = 8 * df * 2 * 2
        self.fc = sn(nn.Linear(self.feature_dim, 1), spectral)

    def forward(
        self, x: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits (B/pack, 1), and with return_features the input of the last layer (B/pack, 2048)."""
        h = pack(x.reshape(x.shape[0], *STACK_SHAPE), self.pack)  # (B/m, 3m, 28, 28)
        for conv, norm in zip(self.convs, self.norms):
            h = nn.functional.leaky_relu(norm(conv(h)), 0.2)
        features = h.flatten(1)
        logits = self.fc(features)
        return (logits, features) if return_features else logits


class MetzGenerator(nn.Module):
    """z (B, z_dim) -> (64, 4, 4) -> (32, 7, 7) -> (16, 14, 14) -> (8, 28, 28) -> conv -> (3, 28, 28) -> tanh,
    returned as (tanh + 1) / 2: (B, 2352) in [0, 1]. 3x3 kernels, stride 2, padding 1 (sizes as TF's 'SAME')."""

    def __init__(self, z_dim: int = 256) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.fc = nn.Linear(z_dim, 64 * 4 * 4)
        self.bn0 = nn.BatchNorm2d(64)
        ups, bns = [], []
        for c_in, c_out, out_pad in ((64, 32, 0), (32, 16, 1), (16, 8, 1)):
            ups.append(nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=out_pad))
            bns.append(nn.BatchNorm2d(c_out))
        self.ups, self.bns = nn.ModuleList(ups), nn.ModuleList(bns)
        self.out = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Samples (B, 2352) in [0, 1]."""
        h = torch.relu(self.bn0(self.fc(z).reshape(z.shape[0], 64, 4, 4)))
        for up, bn in zip(self.ups, self.bns):
            h = torch.relu(bn(up(h)))  # (B, 32, 7, 7), (B, 16, 14, 14), (B, 8, 28, 28)
        return torch.tanh(self.out(h)).add(1).mul(0.5).reshape(z.shape[0], STACK_VALUES)


class MetzDiscriminator(nn.Module):
    """(B, 2352) in [0, 1] -> 2x - 1 -> (B/m, 3m, 28, 28) -> 3x3 stride-2 convs of `widths` channels at 14, 7, 4
    pixels (BatchNorm, LeakyReLU 0.3) -> linear -> 1."""

    def __init__(
        self, widths: tuple[int, int, int], pack: int = 1, group: int = 128, norm: bool = True, spectral: bool = False
    ) -> None:
        super().__init__()
        self.pack = pack
        chans = (3 * pack, *widths)
        self.convs = nn.ModuleList(
            sn(nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1), spectral) for i in range(3)
        )
        self.norms = nn.ModuleList(_norm(chans[i + 1], group, norm) for i in range(3))
        self.feature_dim = widths[-1] * 4 * 4
        self.fc = sn(nn.Linear(self.feature_dim, 1), spectral)

    def forward(
        self, x: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits (B/pack, 1), and with return_features the input of the last layer (B/pack, 16 * widths[-1])."""
        h = pack(x.reshape(x.shape[0], *STACK_SHAPE) * 2 - 1, self.pack)  # (B/m, 3m, 28, 28) in [-1, 1]
        for conv, norm in zip(self.convs, self.norms):
            h = nn.functional.leaky_relu(norm(conv(h)), 0.3)
        features = h.flatten(1)
        logits = self.fc(features)
        return (logits, features) if return_features else logits


def _d_options(c: TrainConfig) -> dict:
    """What every Stacked MNIST D takes from the config: pack, its BatchNorm group (the D inputs of one source) and
    whether it has BatchNorm at all (not under a gradient penalty)."""
    penalised = bool(c.r1_gamma or c.r2_gamma or c.gp_weight)
    return {"pack": c.pack, "group": c.batch_size // c.pack, "norm": not penalised, "spectral": c.spectral_norm}


register_arch(
    Architecture(
        "veegan-dcgan",
        lambda c, z_in: VeeganGenerator(z_in),
        lambda c: VeeganDiscriminator(**_d_options(c)),
        pacgan_init,
        STACK_SHAPE,
        "Stacked MNIST, VEEGAN/PacGAN setting: DCGAN-tensorflow's 5x5 G and D at 28x28x3",
    )
)
register_arch(
    Architecture(
        "metz-d4",
        lambda c, z_in: MetzGenerator(z_in),
        lambda c: MetzDiscriminator((2, 4, 8), **_d_options(c)),
        pacgan_init,
        STACK_SHAPE,
        "Stacked MNIST, unrolled-GAN setting: Metz et al.'s G with a D of 1/4 its width (2, 4, 8 channels)",
    )
)
register_arch(
    Architecture(
        "metz-d2",
        lambda c, z_in: MetzGenerator(z_in),
        lambda c: MetzDiscriminator((4, 8, 16), **_d_options(c)),
        pacgan_init,
        STACK_SHAPE,
        "Stacked MNIST, unrolled-GAN setting: Metz et al.'s G with a D of 1/2 its width (4, 8, 16 channels)",
    )
)
