"""Stacked MNIST scoring (the scorer ``stacked-mnist-evaluator``): each of a sample's three channels is read by the
shipped MNIST evaluator, and the sample's mode is its digit triple (100a + 10b + c, 1,000 modes).

Reported, as VEEGAN and PacGAN do (PacGAN's model.py, log_metrics): **modes**, the triples seen at least once, and
**KL(p_gen || uniform over 1,000)** in nats, of the generated triple histogram. Beside them the share of samples
whose three channels all *read as digits* (`reads_as_digit`). Modes and KL count readable samples only, so a
generator that draws noise scores no modes at all; PacGAN's own protocol, which counts every sample whatever the
classifier makes of it, is given as `modes_all` and `kl_all`.

The sampling floor: even a perfect generator's histogram of n samples is not exactly uniform; its KL to uniform
is about (1000 - 1) / (2n) nats, 0.019 at n = 26,000 (`expected_kl_floor`), which every table's real row shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnistgan.errors import UserError
from mnistgan.metrics.evaluator import Evaluator, embed
from mnistgan.metrics.score import log_softmax

N_MODES = 1_000
CONFIDENCE = 0.9  # top class probability a channel needs: 98.3% of the test digits have it (mixtures of two digits
# mostly do not), but pixel noise does (the evaluator is confidently wrong on it), hence the two checks below
RADIUS_QUANTILE = 0.999  # a channel's evaluator features must lie within this quantile of the real test digits'
# distances to their class centroid: uniform pixel noise lands far outside (0 of 2,000 within), real digits inside
INK_QUANTILE = 0.001  # ... and it must hold at least this quantile of the real digits' ink (mean pixel): no blanks
PCA_DIM = 100  # ... and its pixels must lie near the 100-dimensional principal subspace of training digits: within
RESIDUAL_QUANTILE = 0.999  # this quantile of the test digits' residuals (low-contrast Gaussian noise, which the
# evaluator reads confidently and near a class centroid, lies outside: 0 of 2,000 within)
PCA_FIT = 20_000  # training digits the subspace is fitted on (a 784 x 784 covariance: a fraction of a second)


@dataclass(frozen=True)
class Calibration:
    """What `reads_as_digit` compares against, from real test digits under one evaluator."""

    centroids: np.ndarray  # (10, 128) mean evaluator features of the test digits predicted as each class
    radius: float  # RADIUS_QUANTILE of the test digits' distance to their predicted class's centroid
    min_ink: float  # INK_QUANTILE of the test digits' mean pixel value (0-255)
    pixel_mean: np.ndarray  # (784,) mean training digit, pixels in [0, 1]
    basis: np.ndarray  # (784, PCA_DIM) its principal directions
    max_residual: float  # RESIDUAL_QUANTILE of the test digits' distance to that subspace


def calibrate(evaluator: Evaluator, reference=None) -> Calibration:  # noqa: ANN001 - a metrics.reference.Reference
    """The calibration from the reference's test digits (their features are cached by the Reference)."""
    import torch

    from mnistgan.metrics.reference import Reference

    ref = reference if reference is not None else Reference(evaluator)
    feats = ref.features.astype(np.float32)  # (N, 128)
    with torch.no_grad():
        pred = evaluator.head(torch.from_numpy(feats)).argmax(1).numpy()
    centroids = np.stack([feats[pred == k].mean(0) if (pred == k).any() else np.zeros(128) for k in range(10)])
    dist = np.linalg.norm(feats - centroids[pred], axis=1)
    ink = ref.test_images.reshape(len(ref.test_images), -1).mean(1)
    radius, min_ink = float(np.quantile(dist, RADIUS_QUANTILE)), float(np.quantile(ink, INK_QUANTILE))
    train = ref.train_images[:PCA_FIT].reshape(-1, 784) / 255.0
    mean = train.mean(0)
    _, vectors = np.linalg.eigh(np.cov(train - mean, rowvar=False))  # ascending eigenvalues
    basis = vectors[:, ::-1][:, :PCA_DIM].copy()
    residual = _residuals(ref.test_images, mean, basis)
    max_residual = float(np.quantile(residual, RESIDUAL_QUANTILE))
    return Calibration(centroids.astype(np.float32), radius, min_ink, mean, basis, max_residual)


def _residuals(images: np.ndarray, mean: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """L2 distance (M,) of each image's pixels in [0, 1] to the affine principal subspace."""
    x = images.reshape(len(images), -1) / 255.0 - mean
    return np.linalg.norm(x - (x @ basis) @ basis.T, axis=1)


def reads_as_digit(images: np.ndarray, features: np.ndarray, logits: np.ndarray, calib: Calibration) -> np.ndarray:
    """Whether each digit image (M, 28, 28) reads as a digit (M,) bool: confident, near its class in the evaluator's
    feature space, not blank, and near the training digits' pixel subspace. The one place this decision is made:
    when the MNIST evaluator gains its own per-sample "reads as a digit" decision, this function calls it instead."""
    p = np.exp(log_softmax(logits))
    confident = p.max(1) >= CONFIDENCE
    near = np.linalg.norm(features - calib.centroids[p.argmax(1)], axis=1) <= calib.radius
    inked = images.reshape(len(images), -1).mean(1) >= calib.min_ink
    fits = _residuals(images, calib.pixel_mean, calib.basis) <= calib.max_residual
    return confident & near & inked & fits


def check_stacks(stacks: np.ndarray, where: str = "stacked samples") -> np.ndarray:
    """The stacks as uint8 (N, 3, 28, 28), or a one-line UserError naming the shape found."""
    a = np.asarray(stacks)
    if a.ndim == 2 and a.shape[1] == 3 * 784:
        a = a.reshape(len(a), 3, 28, 28)
    if a.ndim != 4 or a.shape[1:] != (3, 28, 28) or len(a) == 0:
        raise UserError(f"{where}: Stacked MNIST samples are (N, 3, 28, 28) or (N, 2352), got shape {a.shape}")
    if a.dtype == np.uint8:
        return a
    if a.dtype.kind == "f" and np.isfinite(a).all() and a.min() >= 0 and a.max() <= 1:
        return np.round(a * 255).astype(np.uint8)
    raise UserError(f"{where}: samples must be uint8 (0-255) or float in [0, 1], got {a.dtype}")


def kl_to_uniform(counts: np.ndarray) -> float | None:
    """KL(p || uniform over len(counts)) in nats of a histogram; None when it is empty."""
    total = counts.sum()
    if total == 0:
        return None
    p = counts[counts > 0] / total
    return float((p * np.log(p * len(counts))).sum())


def expected_kl_floor(n: int, k: int = N_MODES) -> float:
    """The KL to uniform that n samples of a perfect generator show on average: (k - 1) / (2n) nats (the chi-square
    approximation; the real rows verify it)."""
    return (k - 1) / (2 * n)


def score_stacks(stacks: np.ndarray, evaluator: Evaluator, calib: Calibration, batch_size: int = 1500) -> dict:
    """Modes, KL and readable share of Stacked MNIST samples (N, 3, 28, 28) uint8 (see the module docstring)."""
    stacks = check_stacks(stacks)
    n = len(stacks)
    channels = np.ascontiguousarray(stacks.reshape(n * 3, 28, 28))  # sample k's channels are rows 3k, 3k+1, 3k+2
    feats, logits = embed(evaluator, channels, batch_size)
    digits = logits.argmax(1).reshape(n, 3)
    readable = reads_as_digit(channels, feats, logits, calib).reshape(n, 3).all(1)  # (n,)
    triples = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
    counts = np.bincount(triples[readable], minlength=N_MODES)
    counts_all = np.bincount(triples, minlength=N_MODES)
    return {
        "n": n,
        "modes": int((counts > 0).sum()),
        "kl": kl_to_uniform(counts),
        "readable": float(readable.mean()),
        "modes_all": int((counts_all > 0).sum()),
        "kl_all": kl_to_uniform(counts_all),
        "kl_floor": expected_kl_floor(n),
        "counts": counts.tolist(),
    }
