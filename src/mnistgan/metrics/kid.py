"""`kid`: kernel inception distance in evaluator features (Binkowski et al. 2018, "Demystifying MMD GANs").

The unbiased estimator of the squared maximum mean discrepancy with the cubic polynomial kernel
k(x, y) = (x.y / d + 1)^3, averaged over random subsets of equal size from both sets; mean and standard deviation
over subsets. Unlike FD it is unbiased: its expectation does not depend on the sample size, and it is 0 (up to
noise, so it can be slightly negative) for two samples of one distribution.
"""

from __future__ import annotations

import numpy as np

from mnistgan.metrics.registry import Show, register_metric

NUM_SUBSETS = 100  # as torch-fidelity and Binkowski et al.'s code default
SUBSET_SIZE = 1000  # likewise; capped at the smaller set's size


def polynomial_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """k(a_i, b_j) = (a_i . b_j / d + 1)^3 as float64 (N, M); the dot products in the inputs' precision."""
    k = np.asarray(a @ b.T, np.float64) / a.shape[1] + 1.0
    return k * k * k  # not k ** 3: numpy pow is several times slower


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 of two equal-size sets (m, d) under the cubic kernel; needs m >= 2."""
    m = len(x)
    assert m == len(y) and m >= 2
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    off = m * (m - 1)
    return float((kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off - 2 * kxy.sum() / m**2)


def kernel_distance(
    a: np.ndarray, b: np.ndarray, num_subsets: int = NUM_SUBSETS, subset_size: int = SUBSET_SIZE, seed: int = 0
) -> tuple[float, float]:
    """Mean and standard deviation of unbiased MMD^2 over `num_subsets` random equal-size subsets of a and b.

    Dot products run in float32 (the features' precision; 2x faster), kernel values and sums in float64.
    """
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    m = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    values = np.array(
        [
            mmd2_unbiased(a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)])
            for _ in range(num_subsets)
        ]
    )
    return float(values.mean()), float(values.std())


@register_metric(
    "kid",
    keys=("kid", "kid_std"),
    min_samples=2,
    why_min="the unbiased estimator needs two samples per subset",
    help="kernel distance (unbiased MMD^2, cubic kernel) in evaluator features, mean and std over subsets",
    show=(
        Show(
            "kid",
            "kid",
            "{:.5f}",
            "like fd, unbiased at any n; lower is better",
            std="kid_std",
            column="kid ↓",
            column_fmt="{:.4f}",
        ),
    ),
)
def kid_metric(ctx) -> dict:  # noqa: ANN001
    """{'kid': mean, 'kid_std': std} over subsets against the test set's features."""
    mean, std = kernel_distance(ctx.features, ctx.ref.features, seed=ctx.seed)
    return {"kid": mean, "kid_std": std}
