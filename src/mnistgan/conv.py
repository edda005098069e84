"""A small DCGAN-style generator and discriminator for 28x28 digits (the `conv` architecture).

Every network here speaks the package's image format: G returns (B, 784) in [0, 1] and D accepts (B, 784) or
(B, 1, 28, 28), so a conv pair drops into a loop written for the MLP pair. Discriminators return logits (B/pack, 1)
and, with ``return_features=True``, also the input of their last linear layer (B/pack, feature_dim): the
"penultimate features" that feature matching and the projection discriminator use.

Options (all off by default): ``spectral_norm`` (Miyato et al. 2018) on every conv/linear of D, ``mbstd``
(minibatch standard deviation, Karras et al. 2018), ``pack`` (PacGAN m: D takes m consecutive samples as one
input, so its output has B/m rows).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from mnistgan.layers import IMAGE_PIXELS, MinibatchStdDev, pack


def sn(layer: nn.Module, on: bool) -> nn.Module:
    """The layer with spectral normalisation (Miyato et al. 2018) when `on`."""
    return _spectral_norm(layer) if on else layer


def dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation (Radford et al. 2016): weights N(0, 0.02^2), BN scale N(1, 0.02^2), zero biases."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            weight = layer.parametrizations.weight.original if hasattr(layer, "parametrizations") else layer.weight
            nn.init.normal_(weight, 0.0, 0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(layer.weight, 1.0, 0.02)
            nn.init.zeros_(layer.bias)


class ConvGenerator(nn.Module):
    """z (B, z_dim) -> Linear -> (2c, 7, 7) -> ConvT -> (c, 14, 14) -> ConvT -> (1, 28, 28) -> sigmoid -> (B, 784).

    BatchNorm + ReLU after the first two layers, as in DCGAN. c = ``channels``: 32 (64x7x7 -> 32x14x14) by default,
    because on one CPU core a c=32 step costs 107 ms against 288 ms at c=64 and 52 ms at c=16, and the MLP's 10 ms
    (CPU time, `benchmarks/conv_speed.py --threads 1`).
    """

    def __init__(self, z_dim: int = 100, channels: int = 32) -> None:
        super().__init__()
        self.z_dim, c = z_dim, channels
        self.fc = nn.Linear(z_dim, 2 * c * 7 * 7, bias=False)  # bias is redundant before BatchNorm
        self.bn0 = nn.BatchNorm2d(2 * c)
        self.up1 = nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1, bias=False)  # 7 -> 14
        self.bn1 = nn.BatchNorm2d(c)
        self.up2 = nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1)  # 14 -> 28
        self.to(memory_format=torch.channels_last)  # NHWC kernels: a step 25% cheaper on CPU (conv_speed.py)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images (B, 784) in [0, 1]."""
        h = self.fc(z).reshape(z.shape[0], -1, 7, 7)  # (B, 2c, 7, 7)
        h = torch.relu(self.bn0(h))
        h = torch.relu(self.bn1(self.up1(h)))  # (B, c, 14, 14)
        return torch.sigmoid(self.up2(h)).reshape(z.shape[0], IMAGE_PIXELS)


class ConvDiscriminator(nn.Module):
    """(B, 784) -> (B/m, m, 28, 28) -> Conv s2 -> (c, 14, 14) -> Conv s2 -> (2c, 7, 7) [-> +mbstd] -> Linear -> 1.

    LeakyReLU(0.2) after each conv and no normalisation layer (BatchNorm in D would couple the samples it
    scores, which breaks gradient penalties and the per-group statistics of mbstd).
    """

    def __init__(
        self, channels: int = 32, spectral_norm: bool = False, mbstd: bool = False, pack: int = 1, mbstd_group: int = 4
    ) -> None:
        super().__init__()
        c = channels
        self.pack = pack
        self.conv1 = sn(nn.Conv2d(pack, c, 4, stride=2, padding=1), spectral_norm)  # 28 -> 14
        self.conv2 = sn(nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), spectral_norm)  # 14 -> 7
        self.mbstd = MinibatchStdDev(mbstd_group) if mbstd else None
        self.feature_dim = (2 * c + int(mbstd)) * 7 * 7
        self.fc = sn(nn.Linear(self.feature_dim, 1), spectral_norm)
        self.to(memory_format=torch.channels_last)

    def forward(
        self, x: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits (B/pack, 1), and with return_features the input of the last layer (B/pack, feature_dim)."""
        x = pack(x.reshape(x.shape[0], 1, 28, 28), self.pack)  # (B/m, m, 28, 28): m samples of one source
        h = nn.functional.leaky_relu(self.conv1(x), 0.2)
        h = nn.functional.leaky_relu(self.conv2(h), 0.2)  # (B/m, 2c, 7, 7)
        if self.mbstd is not None:
            h = self.mbstd(h)  # (B/m, 2c + 1, 7, 7)
        features = h.flatten(1)
        logits = self.fc(features)
        return (logits, features) if return_features else logits
