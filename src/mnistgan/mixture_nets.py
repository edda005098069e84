"""The networks of PacGAN's 2-D experiments (the `pacgan-mlp` architecture), as their released code builds them
(github.com/fjxmlzn/PacGAN, synthetic_data_experiments/2DRing_GAN&PacGAN/pacgan_task.py and config.py):

- G: z (2-D standard normal) -> 4 x [Linear(400, no bias) -> BatchNorm -> ReLU] -> Linear(400, 2) with a bias,
  no output squashing (points are coordinates, not pixels);
- D: 3 x LinearMaxout(200 units, 5 pieces) -> Linear(200, 1), on `pack` samples at once (input width 2 * pack);
- every weight drawn from N(0, 0.02^2), biases zero; BatchNorm starts at scale 1, shift 0.

The data width comes from the dataset (2 for the mixtures); widths and depth are the config's g_hidden and d_hidden.
D carries the MLP discriminator's remedy options (spectral norm, minibatch std, minibatch discrimination) before its
last layer, as mlp.py places them.
"""

from __future__ import annotations

import torch
from torch import nn

from mnistgan.conv import sn
from mnistgan.layers import MinibatchDiscrimination, MinibatchStdDev, pack

G_LAYERS = 4  # PacGAN: four hidden layers in the generator ("decoder_h1" .. "decoder_h4")
D_LAYERS = 3  # ... and three maxout layers in the discriminator
MAXOUT_PIECES = 5  # config.py: "disc_maxout_pieces": 5
BN_MOMENTUM = 0.05  # pacgan_task.py: population statistics move by m * 0.05 + p * 0.95 per step
BN_EPS = 1e-4  # Blocks' BatchNormalization default epsilon


def normal_init(module: nn.Module, std: float = 0.02) -> None:
    """PacGAN's init: IsotropicGaussian(0.02) weights and Constant(0) biases for every Linear layer; BatchNorm keeps
    torch's scale 1, shift 0 (Blocks' defaults too); spectral norm's weights through their `original` tensor."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            weight = layer.parametrizations.weight.original if hasattr(layer, "parametrizations") else layer.weight
            nn.init.normal_(weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


class PointGenerator(nn.Module):
    """z (B, z_dim) -> points (B, width): PacGAN's 2-D generator."""

    def __init__(self, z_dim: int = 2, hidden: int = 400, width: int = 2, layers: int = G_LAYERS) -> None:
        super().__init__()
        self.z_dim = z_dim
        blocks: list[nn.Module] = []
        for i in range(layers):
            blocks += [
                nn.Linear(z_dim if i == 0 else hidden, hidden, bias=False),  # BatchNorm's shift is the bias
                nn.BatchNorm1d(hidden, eps=BN_EPS, momentum=BN_MOMENTUM),
                nn.ReLU(),
            ]
        self.body = nn.Sequential(*blocks)
        self.out = nn.Linear(hidden, width)  # "decoder.linear_transformations[-1].use_bias = True"

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Points (B, width)."""
        return self.out(self.body(z))


class Maxout(nn.Module):
    """Linear(in, out * pieces), then the max over each unit's `pieces` consecutive outputs (Goodfellow et al. 2013;
    Blocks' LinearMaxout)."""

    def __init__(
        self, in_features: int, out_features: int, pieces: int = MAXOUT_PIECES, spectral: bool = False
    ) -> None:
        super().__init__()
        self.pieces = pieces
        self.linear = sn(nn.Linear(in_features, out_features * pieces), spectral)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in) -> (B, out)."""
        y = self.linear(x)
        return y.reshape(x.shape[0], -1, self.pieces).amax(dim=2)


class PointDiscriminator(nn.Module):
    """points (B, width) -> logits (B/pack, 1): PacGAN's maxout discriminator, with the MLP D's remedy options."""

    def __init__(
        self,
        width: int = 2,
        hidden: int = 200,
        pack: int = 1,
        spectral_norm: bool = False,
        mbstd: bool = False,
        minibatch_disc: bool = False,
        mbstd_group: int = 4,
        md_group: int = 0,
        layers: int = D_LAYERS,
    ) -> None:
        super().__init__()
        self.pack, self.width = pack, width
        self.body = nn.Sequential(
            *(Maxout(width * pack if i == 0 else hidden, hidden, spectral=spectral_norm) for i in range(layers))
        )
        self.mbstd = MinibatchStdDev(mbstd_group) if mbstd else None
        self.md = MinibatchDiscrimination(hidden, 100, 5, md_group) if minibatch_disc else None
        self.feature_dim = hidden + int(mbstd) + (100 if minibatch_disc else 0)
        self.out = sn(nn.Linear(self.feature_dim, 1), spectral_norm)

    def forward(
        self, x: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits (B/pack, 1), and with return_features the input of the last layer (B/pack, feature_dim)."""
        h = self.body(pack(x.reshape(x.shape[0], self.width), self.pack))  # (B/m, hidden)
        if self.mbstd is not None:
            h = self.mbstd(h)
        if self.md is not None:
            h = self.md(h)
        logits = self.out(h)
        return (logits, h) if return_features else logits
