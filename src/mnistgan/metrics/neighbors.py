"""Chunked nearest-neighbour distances by matrix multiplication: |a - b|^2 = |a|^2 + |b|^2 - 2 a.b.

The k-NN parts of `pr` (10,000 x 10,000 features) and `memorization` (10,000 x 60,000 pixel vectors) dominate the
evaluation's cost; one matmul per chunk of rows keeps them fast and memory-bounded. Squared distances are clamped
at 0 (rounding can make them slightly negative).
"""

from __future__ import annotations

import numpy as np
import torch

CHUNK = 1024  # query rows per matmul: a 1024 x 60,000 float32 block is 245 MB


def _t(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).to(dtype)


def sq_dist_chunks(a: np.ndarray, b: np.ndarray, dtype: torch.dtype = torch.float64, chunk: int = CHUNK):
    """Yield (start, squared distances (c, M)) for consecutive chunks of a's rows against all of b."""
    ta, tb = _t(a, dtype), _t(b, dtype)
    nb = (tb * tb).sum(1)  # (M,)
    for start in range(0, len(ta), chunk):
        x = ta[start : start + chunk]
        d2 = (x * x).sum(1, keepdim=True) + nb[None, :] - 2 * (x @ tb.T)
        yield start, d2.clamp_(min=0)


def kth_nn_sq(x: np.ndarray, k: int, dtype: torch.dtype = torch.float64) -> np.ndarray:
    """Squared distance (N,) from each row of x to its k-th nearest other row (itself excluded)."""
    assert 1 <= k < len(x), (k, len(x))
    out = np.empty(len(x), np.float64)
    for start, d2 in sq_dist_chunks(x, x, dtype):
        rows = torch.arange(len(d2))
        d2[rows, rows + start] = float("inf")  # exclude self, not merely the first zero
        out[start : start + len(d2)] = d2.topk(k, dim=1, largest=False).values[:, -1].double().numpy()
    return out


def nearest_sq(
    queries: np.ndarray, bank: np.ndarray, exclude: np.ndarray | None = None, dtype: torch.dtype = torch.float32
) -> tuple[np.ndarray, np.ndarray]:
    """Squared distance and index (N,) of each query's nearest bank row; exclude[i] is a bank row query i skips."""
    dist = np.empty(len(queries), np.float64)
    index = np.empty(len(queries), np.int64)
    for start, d2 in sq_dist_chunks(queries, bank, dtype):
        if exclude is not None:
            rows = torch.arange(len(d2))
            d2[rows, torch.from_numpy(exclude[start : start + len(d2)])] = float("inf")
        values, idx = d2.min(1)
        dist[start : start + len(d2)] = values.double().numpy()
        index[start : start + len(d2)] = idx.numpy()
    return dist, index
