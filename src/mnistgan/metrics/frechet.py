"""`fd`: Frechet distance between Gaussians fitted to evaluator features (the FID recipe in MNIST-classifier space).

FD = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))   (Heusel et al. 2017; Dowson and Landau 1982).

tr((S1 S2)^(1/2)) equals the sum of square roots of the eigenvalues of S1^(1/2) S2 S1^(1/2), a symmetric PSD matrix,
so it is computed with two symmetric eigendecompositions in float64: no complex parts to discard and no failure on
the singular covariances of a collapsed generator (scipy.linalg.sqrtm, the usual route, needs an epsilon there).
"""

from __future__ import annotations

import numpy as np

from mnistgan.metrics.registry import Show, register_metric


class FeatureStats:
    """Running float64 mean and covariance of feature batches (update / compute / reset), batch-size independent."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.reset()

    def reset(self) -> None:
        """Forget every batch."""
        self.n = 0
        self.sum = np.zeros(self.dim, np.float64)
        self.outer = np.zeros((self.dim, self.dim), np.float64)

    def update(self, feats: np.ndarray) -> None:
        """Add a batch of features (B, dim)."""
        f = np.asarray(feats, np.float64).reshape(-1, self.dim)
        self.n += len(f)
        self.sum += f.sum(0)
        self.outer += f.T @ f

    def compute(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean (dim,) and unbiased covariance (dim, dim); one sample has zero covariance."""
        if self.n == 0:
            raise ValueError("FeatureStats.compute() before any update()")
        mu = self.sum / self.n
        cov = (self.outer - self.n * np.outer(mu, mu)) / max(self.n - 1, 1)
        return mu, (cov + cov.T) / 2


def gaussian_stats(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float64 mean and unbiased covariance of features (N, D)."""
    stats = FeatureStats(feats.shape[1])
    stats.update(feats)
    return stats.compute()


def _psd_sqrt(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64; >= 0 up to rounding."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    root = _psd_sqrt(s1)
    inner = root @ s2 @ root
    tr_cross = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_cross)


def frechet_distance_features(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to feature sets a (N, D) and b (M, D)."""
    return frechet_distance(*gaussian_stats(a), *gaussian_stats(b))


@register_metric(
    "fd",
    keys=("fd",),
    min_samples=2,
    why_min="a covariance needs two samples",
    help="Frechet distance in evaluator features to the MNIST test set (lower is better)",
    in_training=True,
    show=(
        Show(
            "fd",
            "fd",
            "{:.3f}",
            "distance between sample and real feature statistics; lower is better",
            column="fd ↓",
            column_fmt="{:.2f}",
        ),
    ),
)
def fd_metric(ctx) -> dict:  # noqa: ANN001 - ctx: mnistgan.metrics.core.Context
    """{'fd': Frechet distance of the sample's features to the test set's}."""
    mu, sigma = gaussian_stats(ctx.features)
    return {"fd": frechet_distance(mu, sigma, ctx.ref.mu, ctx.ref.sigma)}
