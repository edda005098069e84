"""Stacked MNIST: three MNIST digits drawn independently as the three channels of one (3, 28, 28) sample, so that
there are 10^3 = 1,000 modes (digit triples); a sample's label is 100a + 10b + c for the digits (a, b, c) of its
channels 0, 1, 2. Two published settings, each one dataset here (docs/stacked-mnist.md says where ours differs):

- ``stacked-mnist``: the VEEGAN setting (Srivastava et al. 2017; Lin et al. 2018, PacGAN, Table 2): one
  fixed set of 128,000 stacks, drawn once (seed STACK_SEED) from MNIST's training split. PacGAN's code
  (github.com/fjxmlzn/PacGAN, stacked_MNIST_experiments/VEEGAN_experiment/model.py, load_mnist) draws them from
  train + test; we keep the test split out of training, so that the real row of every table is held out.
- ``stacked-mnist-online``: the unrolled-GAN setting (Metz et al. 2017; PacGAN Table 3): every batch is
  three fresh independent draws per sample (PacGAN's unrolled_GAN_experiment/*/model.py, generate_stacked_mnist).
  Its loader gives the 60,000 training digits as 20,000 stacks (each digit once), and `OnlineStackedBatcher` draws
  each channel of each sample from those 60,000 digits on the fly, as a pure function of (seed, step).

No torch at import (data.py's registry points here lazily); the batcher imports torch when built.
"""

from __future__ import annotations

import numpy as np

from mnistgan.errors import UserError

STACK_SHAPE = (3, 28, 28)  # one sample: three 28x28 digits as channels
N_MODES = 1_000  # digit triples
VEEGAN_SIZE = 128_000  # VEEGAN/PacGAN: "num_training_sample": 128000
STACK_SEED = 20_170_524  # the fixed set's draw (VEEGAN's arXiv date), the same on every machine
REAL_SEED = 7  # the real row's draw (from the test split), unlike any training draw


def triple_labels(digit_labels: np.ndarray) -> np.ndarray:
    """Labels 100a + 10b + c (N,) int64 of the digits (N, 3) of channels 0, 1, 2."""
    d = np.asarray(digit_labels, dtype=np.int64)
    if d.ndim != 2 or d.shape[1] != 3:
        raise UserError(f"stacked labels need digits of shape (N, 3), got {d.shape}")
    return d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2]


def stack_digits(images: np.ndarray, labels: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n stacks (n, 3, 28, 28) uint8 and their triple labels (n,): each channel an independent uniform draw (with
    replacement, as PacGAN's np.random.randint) from the digits images (M, 28, 28) with labels (M,)."""
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise UserError(f"stack_digits takes uint8 digits of shape (M, 28, 28), got {images.dtype} {images.shape}")
    idx = np.random.default_rng(seed).integers(0, len(images), size=(n, 3))  # (n, 3): one digit per channel
    return images[idx], triple_labels(np.asarray(labels)[idx])


def _digits(split: str) -> tuple[np.ndarray, np.ndarray]:
    from mnistgan.data import load_split

    return load_split(split, "mnist")


def veegan_loader(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The VEEGAN setting's fixed set: 128,000 stacks of training digits ("train"), or 26,000 of test digits."""
    n = VEEGAN_SIZE if split == "train" else 26_000
    images, labels = _digits(split)
    return stack_digits(images, labels, n, STACK_SEED + (split == "test"))


def online_loader(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The split's digits, each once, as stacks (M/3, 3, 28, 28) in a seeded order: the pool that
    `OnlineStackedBatcher` draws fresh triples from (and a valid stacked sample set in itself)."""
    images, labels = _digits(split)
    order = np.random.default_rng(STACK_SEED).permutation(len(images))[: len(images) // 3 * 3]
    idx = order.reshape(-1, 3)
    return images[idx], triple_labels(labels[idx])


def real_stacks(n: int, seed: int = REAL_SEED) -> tuple[np.ndarray, np.ndarray]:
    """n real stacks of MNIST *test* digits (held out from every training set here): the tables' real row."""
    images, labels = _digits("test")
    return stack_digits(images, labels, n, seed)


def online_batcher(images, batch_size, seed, device, labels=None):  # noqa: ANN001, ANN201 - Batcher's signature
    """DatasetSpec.batcher of stacked-mnist-online: an `OnlineStackedBatcher` over the digits of `images`."""
    from mnistgan.stacked_batcher import OnlineStackedBatcher

    return OnlineStackedBatcher(images, batch_size, seed, device, labels)


# Published results (copied, not measured here): (method, modes, KL in nats, source). Each table of ours prints the
# rows of its setting beside our own, marked "copied".
PUBLISHED: dict[str, list[tuple[str, float, float, str]]] = {
    "veegan": [
        ("DCGAN", 99.0, 3.40, "VEEGAN (Srivastava et al. 2017), as PacGAN Table 2 reports it"),
        ("ALI", 16.0, 5.40, "VEEGAN (Srivastava et al. 2017), as PacGAN Table 2 reports it"),
        ("Unrolled GAN", 48.7, 4.32, "VEEGAN (Srivastava et al. 2017), as PacGAN Table 2 reports it"),
        ("VEEGAN", 150.0, 2.95, "VEEGAN (Srivastava et al. 2017), as PacGAN Table 2 reports it"),
        ("DCGAN (PacGAN's implementation)", 78.9, 4.50, "Lin et al. 2018 (PacGAN) Table 2, 10 trials"),
        ("PacDCGAN2", 1000.0, 0.06, "PacGAN Table 2, 10 trials"),
        ("PacDCGAN3", 1000.0, 0.06, "PacGAN Table 2, 10 trials"),
        ("PacDCGAN4", 1000.0, 0.07, "PacGAN Table 2, 10 trials"),
        ("R3GAN", 1000.0, 0.029, "Huang et al. 2024 (NeurIPS), as quoted in issue 15: not checked against the paper"),
    ],
    "weak-d4": [
        ("DCGAN", 30.6, 5.99, "Metz et al. 2017 (unrolled GAN), as PacGAN Table 3 reports it"),
        ("Unrolled GAN, 5 steps", 236.4, 4.67, "Metz et al. 2017, as PacGAN Table 3 reports it"),
        ("Unrolled GAN, 10 steps", 327.2, 4.66, "Metz et al. 2017, as PacGAN Table 3 reports it"),
        ("DCGAN (PacGAN's implementation)", 78.5, 5.21, "PacGAN Table 3, 50 trials"),
        ("PacDCGAN2", 484.5, 2.61, "PacGAN Table 3, 50 trials"),
        ("PacDCGAN4", 667.4, 1.81, "PacGAN Table 3, 50 trials"),
    ],
    "weak-d2": [
        ("DCGAN", 628.0, 2.58, "Metz et al. 2017, as PacGAN Table 3 reports it"),
        ("Unrolled GAN, 10 steps", 817.4, 1.43, "Metz et al. 2017, as PacGAN Table 3 reports it"),
        ("DCGAN (PacGAN's implementation)", 487.7, 2.24, "PacGAN Table 3, 50 trials"),
        ("PacDCGAN3", 866.6, 0.90, "PacGAN Table 3, 50 trials"),
    ],
}


def setting_of(arch: str) -> str:
    """Which published table a run of architecture `arch` belongs to."""
    return {"metz-d4": "weak-d4", "metz-d2": "weak-d2"}.get(arch, "veegan")
