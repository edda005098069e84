"""Batches of Stacked MNIST drawn on the fly (the unrolled-GAN setting): each channel of each sample an independent
uniform draw from a pool of single digits, so no two batches share a fixed set of stacks.

The draw at step i is a pure function of (seed, i), like `data.Batcher`'s, so a resumed run sees the same batches.
"""

from __future__ import annotations

import numpy as np
import torch

from mnistgan.data import Batcher
from mnistgan.errors import UserError


class OnlineStackedBatcher(Batcher):
    """Batches (B, 3 * 784) in [0, 1] of fresh triples from the digits of `images` (M, 3, 28, 28): the pool is every
    channel of every stack (3M digits), and sample k of step i takes three pool rows drawn with replacement."""

    def __init__(
        self, images: np.ndarray, batch_size: int, seed: int, device: torch.device, labels: np.ndarray | None = None
    ) -> None:
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[1] != 3:
            raise UserError(f"online stacking needs stacks (M, 3, H, W), got {images.shape}")
        digits = images.reshape(-1, *images.shape[2:])  # (3M, 28, 28): the pool of single digits
        super().__init__(digits, batch_size, seed, device)  # self.data: (3M, 784) uint8
        if labels is not None:
            tri = np.asarray(labels, dtype=np.int64)
            pool = np.stack([tri // 100, tri // 10 % 10, tri % 10], axis=1).reshape(-1)  # (3M,) digit of each row
            self.digit_labels = torch.from_numpy(pool).to(device)
        else:
            self.digit_labels = None

    def indices(self, step: int) -> torch.Tensor:
        """Pool rows (B, 3) of the batch at `step`: channel c of sample k is pool row [k, c]."""
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        return torch.randint(0, len(self.data), (self.batch_size, 3), generator=gen).to(self.data.device)

    def _images(self, idx: torch.Tensor) -> torch.Tensor:
        rows = torch.index_select(self.data, 0, idx.reshape(-1))  # (3B, 784)
        return rows.reshape(idx.shape[0], -1).float().div_(255.0)  # (B, 2352): channels 0, 1, 2 in order

    def batch_with_labels(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch at `step` and its triple labels 100a + 10b + c (B,)."""
        if self.digit_labels is None:
            raise UserError("this batcher was built without labels")
        idx = self.indices(step)
        d = self.digit_labels[idx]  # (B, 3)
        return self._images(idx), d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2]
