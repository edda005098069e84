"""The tutorial's networks (the `mlp` architecture): G = Linear(z, 256) -> ReLU -> Linear(256, 784) -> sigmoid and
D = Linear(784, 256) -> ReLU -> Linear(256, 1) (-> sigmoid, applied by the loss), Glorot-normal weights, zero biases.

D carries the remedy options of the MLP experiments (all off by default: then it is exactly the tutorial's D):
``spectral_norm`` (Miyato et al. 2018), ``mbstd`` (Karras et al. 2018), ``minibatch_disc`` (Salimans et al. 2016)
and ``pack`` (PacGAN, Lin et al. 2018: D takes m consecutive samples as one input, so its output has B/m rows).
Both networks declare ``linear_stack()``: the layers of a plain Linear/ReLU stack when that is all they compute,
which is how the fast step engine (step.py) knows it may run them.
"""

from __future__ import annotations

import torch
from torch import nn

from mnistgan.conv import sn
from mnistgan.layers import IMAGE_PIXELS, MinibatchDiscrimination, MinibatchStdDev, pack


def glorot_init(module: nn.Module) -> None:
    """Glorot (Xavier) normal weights, std = sqrt(2 / (fan_in + fan_out)), and zero biases, for every Linear and
    conv layer; spectral norm's parametrized weights are initialised through their `original` tensor."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            weight = layer.parametrizations.weight.original if hasattr(layer, "parametrizations") else layer.weight
            nn.init.xavier_normal_(weight)
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

    def linear_stack(self) -> list[nn.Linear]:
        """Linear -> ReLU -> Linear -> sigmoid: all this network computes."""
        return [self.fc1, self.fc2]


class MLPDiscriminator(nn.Module):
    """images (B, 784) in [0, 1] -> logits (B/pack, 1): the tutorial's D (784*m -> hidden -> ReLU -> 1) with the
    remedy options.

    mbstd appends 1 feature and minibatch discrimination ``md_kernels`` features to the hidden layer, before fc2
    (Salimans et al. put the layer near the end of D).
    """

    def __init__(
        self,
        hidden: int = 256,
        spectral_norm: bool = False,
        mbstd: bool = False,
        minibatch_disc: bool = False,
        pack: int = 1,
        mbstd_group: int = 4,
        md_kernels: int = 100,
        md_dim: int = 5,
        md_group: int = 0,
    ) -> None:
        super().__init__()
        self.pack = pack
        self.fc1 = sn(nn.Linear(IMAGE_PIXELS * pack, hidden), spectral_norm)
        self.mbstd = MinibatchStdDev(mbstd_group) if mbstd else None
        self.md = MinibatchDiscrimination(hidden, md_kernels, md_dim, md_group) if minibatch_disc else None
        self.feature_dim = hidden + int(mbstd) + (md_kernels if minibatch_disc else 0)
        self.fc2 = sn(nn.Linear(self.feature_dim, 1), spectral_norm)

    def forward(
        self, x: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits (B/pack, 1), and with return_features the input of fc2 (B/pack, feature_dim)."""
        h = torch.relu(self.fc1(pack(x.reshape(x.shape[0], IMAGE_PIXELS), self.pack)))  # (B/m, hidden)
        if self.mbstd is not None:
            h = self.mbstd(h)
        if self.md is not None:
            h = self.md(h)
        logits = self.fc2(h)
        return (logits, h) if return_features else logits

    def linear_stack(self) -> list[nn.Linear] | None:
        """Linear -> ReLU -> Linear, when no option is on (then this is the tutorial's D); else None."""
        if self.pack != 1 or self.mbstd is not None or self.md is not None:
            return None
        return [self.fc1, self.fc2]
