"""`memorization`: does the generator copy its training images? Pixel-space nearest neighbours in the training set.

For every sample, the L2 distance (pixels in [0, 1], so at most 28) to its nearest training image, read against the
same distance for the held-out test images, which the generator never saw:
- `copies`: share of samples closer to a training image than the threshold, the 1st percentile of the test images'
  distances (COPY_QUANTILE). A held-out real image is that close to the training set 1% of the time; a share well
  above 1% means near-copies of training images.
- `nn_ratio`: median sample distance over median test distance (about 1 for held-out data; well below 1 means
  copying or collapse onto typical training images; above 1, samples unlike any training image).
- a figure of the closest pairs: the samples nearest to a training image, each above its neighbour.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnistgan.files import save_figure
from mnistgan.metrics.neighbors import nearest_sq
from mnistgan.metrics.registry import Show, register_metric
from mnistgan.rundir import MEMORIZATION_PNG

COPY_QUANTILE = 0.01  # near-copy threshold: this quantile of test-to-train nearest distances
PAIRS = 16  # closest pairs drawn in the figure


def nearest_train(
    images: np.ndarray, train: np.ndarray, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """L2 distance (N,) in [0, 1] pixel units and index (N,) of each uint8 image's nearest training image.

    A brute-force float32 search (one matmul per chunk of 1,024 images), then the exact float64 distance to the
    neighbour found. (An exact search pruned by a PCA lower bound was tried: GAN samples sit far from every training
    image, so the bound prunes little and it ran slower than this.)
    """
    q = np.asarray(images, np.float32).reshape(len(images), -1) / 255.0
    bank = np.asarray(train, np.float32).reshape(len(train), -1) / 255.0
    _, idx = nearest_sq(q, bank, exclude)  # float32 search: the argmin is right up to near-ties
    diff = np.asarray(images, np.float64).reshape(len(q), -1) - np.asarray(train[idx], np.float64).reshape(len(q), -1)
    return np.sqrt((diff * diff).sum(1)) / 255.0, idx  # exact float64 distance to the neighbour found


def memorization_stats(sample_dist: np.ndarray, test_dist: np.ndarray) -> dict:
    """Near-copy share and median distance ratio of samples' nearest-train distances against the test set's."""
    threshold = float(np.quantile(test_dist, COPY_QUANTILE))
    return {
        "copies": float((sample_dist < threshold).mean()),
        "copy_threshold": threshold,
        "nn_median": float(np.median(sample_dist)),
        "nn_ratio": float(np.median(sample_dist) / np.median(test_dist)),
    }


def plot_pairs(images: np.ndarray, dist: np.ndarray, idx: np.ndarray, train: np.ndarray, path: Path) -> None:
    """The PAIRS samples nearest to a training image (top row) above those training images (bottom row)."""
    from matplotlib.figure import Figure  # the object API: no pyplot, no backend switch

    order = np.argsort(dist, kind="stable")[:PAIRS]
    fig = Figure(figsize=(1.0 * max(len(order), 4), 2.6))
    axes = fig.subplots(2, len(order), squeeze=False)
    for col, i in enumerate(order):
        for row, (img, title) in enumerate([(images[i], f"{dist[i]:.2f}"), (train[idx[i]], f"#{idx[i]}")]):
            ax = axes[row, col]
            ax.imshow(img, cmap="gray", vmin=0, vmax=255)
            ax.set_title(title, fontsize=7)
            ax.axis("off")
    fig.suptitle("closest samples (top, L2 distance) and their nearest training images (bottom, index)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)


@register_metric(
    "memorization",
    keys=("copies", "copy_threshold", "nn_median", "nn_ratio"),
    min_samples=1,
    why_min="a nearest neighbour needs one sample",
    uses_features=False,
    help="nearest training image (pixel L2): near-copy share, median distance ratio to test images, figure",
    show=(
        Show("copies", "copies", "{:.4f}", "share closer to a training image than 99% of test images"),
        Show("nn_ratio", "nn ratio", "{:.3f}", "median nearest-train distance over the test set's"),
    ),
)
def memorization_metric(ctx) -> dict:  # noqa: ANN001
    """Near-copies and distance ratio; draws the closest pairs when the context names a figure path."""
    dist, idx = nearest_train(ctx.images, ctx.ref.train_images, ctx.exclude_train)
    if ctx.figure_dir is not None:
        plot_pairs(ctx.images, dist, idx, ctx.ref.train_images, Path(ctx.figure_dir) / MEMORIZATION_PNG)
    return memorization_stats(dist, ctx.ref.test_nn_dist)
