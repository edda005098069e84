"""Class-conditional GAN: a generator fed a label embedding beside z, a projection discriminator
(Miyato & Koyama 2018), and a label sampler that draws digits in proportion to the data.

Both wrap any body from this package, so the MLP and the conv networks become conditional the same way:
- ``ConditionalGenerator(body, n_classes, embed_dim)``: G(z, y) = body(cat([z, embed(y)])); the body is built
  with ``z_dim + embed_dim`` inputs.
- ``ProjectionDiscriminator(body, n_classes)``: with phi(x) the body's penultimate features (B, F) and psi its last
  linear layer, logit(x, y) = psi(phi(x)) + <embed(y), phi(x)>, embed: n_classes -> R^F.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mnistgan.errors import UserError


class ConditionalGenerator(nn.Module):
    """(z (B, z_dim), y (B,) int) -> images (B, 784): the body sees cat([z, embed(y)]).

    ``label_probs`` (n_classes,) is a buffer saved with the weights: the training labels' frequencies (digits, or
    cluster ids for a cluster-conditioned GAN), set by training, so a snapshot alone says how to draw its labels.
    """

    def __init__(self, body: nn.Module, z_dim: int, n_classes: int = 10, embed_dim: int = 10) -> None:
        super().__init__()
        self.z_dim, self.n_classes = z_dim, n_classes  # embed_dim 10: as many numbers as there are digits
        self.embed = nn.Embedding(n_classes, embed_dim)
        nn.init.normal_(self.embed.weight, 0.0, 1.0)  # on the scale of z, so neither input drowns the other
        self.body = body
        self.register_buffer("label_probs", torch.full((n_classes,), 1.0 / n_classes))  # uniform until trained

    def set_label_probs(self, labels: np.ndarray) -> None:
        """Record the frequencies of the training labels (N,) int."""
        self.label_probs.copy_(torch.from_numpy(LabelSampler(labels, self.n_classes).probs))

    def default_labels(self, n: int, seed: int = 0) -> torch.Tensor:
        """n labels (n,) in the training labels' exact proportions, shuffled by `seed` (see LabelSampler.exact)."""
        sampler = LabelSampler.from_probs(self.label_probs.double().cpu().numpy())
        return sampler.exact(n, torch.Generator().manual_seed(seed))

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Images (B, 784) in [0, 1] of digits y."""
        return self.body(torch.cat([z, self.embed(y)], dim=1))


class ProjectionDiscriminator(nn.Module):
    """(x, y) -> logits (B, 1) = psi(phi(x)) + <embed(y), phi(x)>; the body must not pack (pack = 1)."""

    def __init__(self, body: nn.Module, n_classes: int = 10) -> None:
        super().__init__()
        if getattr(body, "pack", 1) != 1:
            raise UserError("a projection discriminator scores one labelled image per input: use pack 1")
        self.body = body
        self.n_classes = n_classes
        self.embed = nn.Embedding(n_classes, body.feature_dim)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)  # starts near the unconditional D

    def forward(
        self, x: torch.Tensor, y: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, 1); with return_features also phi(x) (B, feature_dim)."""
        psi, phi = self.body(x, return_features=True)  # (B, 1), (B, F)
        logits = psi + (self.embed(y) * phi).sum(dim=1, keepdim=True)
        return (logits, phi) if return_features else logits


class LabelSampler:
    """Draws digit labels with the class frequencies of a label array (the training set's, by default)."""

    def __init__(self, labels: np.ndarray, n_classes: int = 10) -> None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(labels) == 0:
            raise UserError(f"labels must be a non-empty 1-D array, got shape {labels.shape}")
        if labels.min() < 0 or labels.max() >= n_classes:
            raise UserError(f"labels must lie in 0..{n_classes - 1}, found {labels.min()}..{labels.max()}")
        counts = np.bincount(labels.astype(np.int64), minlength=n_classes).astype(np.float64)
        self.probs = counts / counts.sum()  # (n_classes,) float64
        self._probs_t = torch.from_numpy(self.probs)

    @classmethod
    def from_probs(cls, probs: np.ndarray) -> LabelSampler:
        """A sampler with given class probabilities (n_classes,), e.g. a generator's label_probs."""
        probs = np.asarray(probs, dtype=np.float64)
        if probs.ndim != 1 or not np.all(np.isfinite(probs)) or probs.min() < 0 or probs.sum() <= 0:
            raise UserError(f"label probabilities must be finite, >= 0 and not all 0, got {probs}")
        sampler = cls.__new__(cls)
        sampler.probs = probs / probs.sum()
        sampler._probs_t = torch.from_numpy(sampler.probs)
        return sampler

    def sample(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        """n labels (n,) int64, i.i.d. from the class frequencies (for training batches)."""
        idx = torch.multinomial(self._probs_t, n, replacement=True, generator=generator)
        return idx.to(device)

    def exact(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        """n labels in the exact proportions (largest-remainder rounding), shuffled: for evaluation samples, so
        the label histogram of the request matches the data's up to one image per class."""
        quota = self.probs * n
        counts = np.floor(quota).astype(np.int64)
        order = np.argsort(-(quota - counts), kind="stable")
        counts[order[: n - counts.sum()]] += 1
        labels = torch.from_numpy(np.repeat(np.arange(len(counts)), counts))
        return labels[torch.randperm(n, generator=generator)].to(device)


def digit_labels(digit: int, n: int, n_classes: int = 10, device: torch.device | str = "cpu") -> torch.Tensor:
    """n copies of one digit (for `mnistgan sample --digit D`), with a clear error for a bad digit."""
    if not (0 <= digit < n_classes):
        raise UserError(f"--digit must be in 0..{n_classes - 1}, got {digit}")
    return torch.full((n,), digit, dtype=torch.int64, device=device)
