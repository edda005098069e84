"""k-means clusters of the training images: the labels of a cluster-conditioned ("self-conditioned") GAN.

Liu et al. 2020 (Diverse Image Generation via Self-Conditioned GANs) condition G and D on cluster ids found
without labels, and sample the ids in proportion to the cluster sizes: the generator then cannot drop or over-draw
a cluster, and so cannot drop or over-draw the modes the clusters capture. They cluster D's features and re-cluster
during training; we cluster the pixels once, before training (the same idea, fewer moving parts). The clustering
never sees a digit label, so the GAN stays unconditional: a user samples it without saying which digit.

k-means++ seeding (Arthur & Vassilvitskii 2007), then Lloyd iterations until no image changes cluster.
"""

from __future__ import annotations

import numpy as np
import torch

from mnistgan.errors import UserError


def _sq_dists(x: torch.Tensor, centroids: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """Squared Euclidean distances (N, K) between rows of x (N, D) and centroids (K, D), in float64 sums."""
    c_sq = centroids.square().sum(dim=1)  # (K,)
    out = []
    for start in range(0, x.shape[0], chunk):
        xs = x[start : start + chunk]
        d = xs.square().sum(dim=1, keepdim=True) - 2 * xs @ centroids.T + c_sq
        out.append(d.clamp_min_(0))
    return torch.cat(out)


def kmeans(x: torch.Tensor, k: int, seed: int = 0, max_iter: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """Centroids (k, D) and assignments (N,) int64 of x (N, D) float; deterministic for a seed.

    Stops when no assignment changes (or after max_iter). A cluster that empties is re-seeded with the point
    farthest from its centroid, so every returned cluster has at least one member.
    """
    n = x.shape[0]
    if not (isinstance(k, int) and 1 <= k <= n):
        raise UserError(f"clusters must be between 1 and the number of images ({n}), got {k!r}")
    gen = torch.Generator().manual_seed(seed)
    x = x.to(torch.float32)
    # k-means++: each next centre drawn with probability proportional to its squared distance to the nearest one.
    centroids = [x[torch.randint(n, (1,), generator=gen)].squeeze(0)]
    nearest = _sq_dists(x, centroids[0][None]).squeeze(1)
    for _ in range(1, k):
        weights = nearest.double()
        i = torch.multinomial(weights / weights.sum(), 1, generator=gen) if weights.sum() > 0 else torch.tensor([0])
        centroids.append(x[i].squeeze(0))
        nearest = torch.minimum(nearest, _sq_dists(x, x[i]).squeeze(1))
    centroids_t = torch.stack(centroids)
    assign = torch.full((n,), -1, dtype=torch.int64)
    for _ in range(max_iter):
        dists = _sq_dists(x, centroids_t)
        new = dists.argmin(dim=1)
        if torch.equal(new, assign):
            break
        assign = new
        counts = torch.bincount(assign, minlength=k)
        sums = torch.zeros_like(centroids_t).index_add_(0, assign, x)
        centroids_t = sums / counts.clamp_min(1)[:, None].to(x.dtype)
        for empty in torch.nonzero(counts == 0).flatten().tolist():  # rare: re-seed with the worst-fit point
            far = dists.gather(1, assign[:, None]).squeeze(1).argmax()
            centroids_t[empty] = x[far]
            assign[far] = empty
    return centroids_t, assign


def image_clusters(images: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Cluster ids (N,) int64 for uint8 images (N, 28, 28), k-means on pixels in [0, 1]."""
    x = torch.from_numpy(np.array(images, dtype=np.uint8).reshape(len(images), -1)).float().div_(255)
    _, assign = kmeans(x, k, seed)
    return assign.numpy()
