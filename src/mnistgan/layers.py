"""Discriminator layers that let D see a whole minibatch, plus PacGAN packing.

Every layer here groups *consecutive* rows of the batch. So a discriminator called once on ``cat([real, fake])``
gives the same outputs as two calls, one on ``real`` and one on ``fake``, whenever the group size divides the real
batch: no group ever mixes real and fake images, and the statistic D sees stays a statistic of one source.

- ``minibatch_stddev`` / ``MinibatchStdDev``: Karras et al. 2018 (ProGAN), section 3: the standard deviation of
  each feature over a group of samples, averaged into one number per group and appended as an extra channel.
- ``MinibatchDiscrimination``: Salimans et al. 2016, section 3.2: a learned tensor T projects each sample to
  ``num_kernels`` rows of ``kernel_dim`` numbers; o(x_i)_b = sum_{j != i} exp(-||M_i,b - M_j,b||_1).
- ``pack`` / ``unpack`` / ``Pack``: Lin et al. 2018 (PacGAN): m samples of one source form one D input.
"""

from __future__ import annotations

import torch
from torch import nn

from mnistgan.errors import UserError

IMAGE_SHAPE = (1, 28, 28)  # (channels, height, width) of the images every network here takes and makes
IMAGE_PIXELS = 28 * 28  # networks exchange images flat: (B, 784)


def _group_size(batch: int, group_size: int) -> int:
    """The largest divisor of `batch` that is at most `group_size` (ProGAN uses min(group, batch))."""
    g = max(1, min(group_size, batch))
    while batch % g:
        g -= 1
    return g


def minibatch_stddev(x: torch.Tensor, group_size: int = 4, eps: float = 1e-8) -> torch.Tensor:
    """Append the mean over features of the per-feature std within groups of consecutive samples.

    x (B, C, H, W) -> (B, C + 1, H, W); x (B, F) -> (B, F + 1). The std is the biased one, sqrt(var + eps), as in
    ProGAN (eps keeps the gradient finite when a group is constant, where the appended value is sqrt(eps)).
    A group size that does not divide B is lowered to the largest divisor of B below it.
    """
    B = x.shape[0]
    g = _group_size(B, group_size)
    y = x.reshape(B // g, g, *x.shape[1:]).float()  # (B/g, g, ...): rows [k*g, (k+1)*g) form group k
    y = y - y.mean(dim=1, keepdim=True)
    std = (y.square().mean(dim=1) + eps).sqrt()  # (B/g, ...) per-feature std over the group
    stat = std.flatten(1).mean(dim=1).to(x.dtype)  # (B/g,) one number per group
    stat = stat.repeat_interleave(g)  # (B,) back to one per sample
    if x.dim() == 2:
        return torch.cat([x, stat[:, None]], dim=1)
    shape = (B, 1, *x.shape[2:])
    return torch.cat([x, stat.reshape(B, *([1] * (x.dim() - 1))).expand(shape)], dim=1)


class MinibatchStdDev(nn.Module):
    """Module form of ``minibatch_stddev``: adds one channel (images) or one feature (vectors)."""

    def __init__(self, group_size: int = 4, eps: float = 1e-8) -> None:
        super().__init__()
        self.group_size = group_size  # ProGAN: 4
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C + 1, H, W) or (B, F) -> (B, F + 1)."""
        return minibatch_stddev(x, self.group_size, self.eps)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}"


class MinibatchDiscrimination(nn.Module):
    """Salimans et al. 2016 minibatch discrimination: (B, in_features) -> (B, in_features + num_kernels).

    M = x @ T reshaped to (B, num_kernels, kernel_dim); c_b(i, j) = exp(-||M_i,b - M_j,b||_1);
    o(x_i)_b = sum over j != i in x_i's group of c_b(i, j). The group is ``group_size`` consecutive rows
    (0: the whole batch, as in the paper); set it to the real batch size when D sees cat([real, fake]).
    """

    def __init__(self, in_features: int, num_kernels: int = 100, kernel_dim: int = 5, group_size: int = 0) -> None:
        super().__init__()
        # Salimans et al.'s released code (improved-gan, MinibatchLayer): 100 kernels of 5 dimensions, T ~ N(0, 0.05^2).
        self.num_kernels, self.kernel_dim, self.group_size = num_kernels, kernel_dim, group_size
        self.T = nn.Parameter(torch.randn(in_features, num_kernels * kernel_dim) * 0.05)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, A) -> cat([x, o(x)]) (B, A + num_kernels)."""
        B = x.shape[0]
        g = self.group_size or B
        if B % g:
            raise UserError(f"minibatch discrimination: batch of {B} is not a multiple of its group size {g}")
        K, C = self.num_kernels, self.kernel_dim
        M = (x @ self.T).reshape(B // g, g, K, C).transpose(1, 2).reshape(B // g * K, g, C)  # (B/g * K, g, C)
        # L1 distance of every pair in a group, per kernel: cdist is 5x faster than broadcasting (g, g, K, C).
        c = torch.exp(-torch.cdist(M, M, p=1))  # (B/g * K, g, g)
        not_self = 1.0 - torch.eye(g, device=x.device, dtype=x.dtype)  # drop j == i
        o = (c * not_self).sum(dim=2)  # (B/g * K, g)
        o = o.reshape(B // g, K, g).transpose(1, 2).reshape(B, K)  # (B, K), row i of the batch
        return torch.cat([x, o], dim=1)

    def extra_repr(self) -> str:
        return f"num_kernels={self.num_kernels}, kernel_dim={self.kernel_dim}, group_size={self.group_size}"


def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """Pack m consecutive samples into one D input: (B, F) -> (B/m, m*F); (B, C, H, W) -> (B/m, m*C, H, W)."""
    if m < 1:
        raise UserError(f"pack must be a positive integer, got {m}")
    B = x.shape[0]
    if B % m:
        raise UserError(f"PacGAN: batch of {B} samples is not divisible by pack size {m} (use a multiple of {m})")
    if x.dim() == 2:
        return x.reshape(B // m, m * x.shape[1])
    return x.reshape(B // m, m * x.shape[1], *x.shape[2:])


def unpack(x: torch.Tensor, m: int) -> torch.Tensor:
    """Inverse of ``pack``: (B/m, m*F) -> (B, F); (B/m, m*C, H, W) -> (B, C, H, W)."""
    if x.dim() == 2:
        return x.reshape(x.shape[0] * m, x.shape[1] // m)
    return x.reshape(x.shape[0] * m, x.shape[1] // m, *x.shape[2:])


class Pack(nn.Module):
    """``pack`` as a module, for the front of a discriminator: m samples in, one input out."""

    def __init__(self, m: int) -> None:
        super().__init__()
        self.m = m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, ...) -> (B/m, m*...)."""
        return pack(x, self.m)

    def extra_repr(self) -> str:
        return f"m={self.m}"
