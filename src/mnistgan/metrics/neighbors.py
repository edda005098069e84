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


class PrunedNearest:
    """Exact nearest neighbours in a large bank, found by pruning with a cheap lower bound.

    Each vector is split into its projection on the bank's top `dims` principal directions and the residual. For any
    two vectors, |q - b|^2 >= |P q - P b|^2 + (|R q| - |R b|)^2 (Pythagoras, then the triangle inequality on the
    residuals), which is the squared distance between the (dims + 1)-vectors [P x, |R x|]. So: rank the bank by that
    bound with one small matmul, compute exact distances for the best `candidates`, and accept the best exact one
    when the largest bound among the candidates is not below it (no other bank row can then be nearer). Queries
    where that check fails (rare on MNIST) fall back to a full search. Ties aside, the answer equals brute force;
    the work is about 784 / (dims + 1) times smaller.
    """

    DIMS = 128  # on MNIST the median test image has 5 training images with a bound below its nearest distance
    CANDIDATES = 64  # ... and fewer than 1% have more than 64, which fall back to the full search

    def __init__(
        self, bank: np.ndarray, dims: int = DIMS, candidates: int = CANDIDATES, basis: dict | None = None
    ) -> None:
        self.bank = torch.from_numpy(np.ascontiguousarray(bank, np.float32))  # (M, D)
        self.candidates = min(candidates, len(bank))
        self.basis = basis if basis is not None else self.fit(bank, dims)
        self.mean = torch.from_numpy(self.basis["mean"])
        self.dirs = torch.from_numpy(self.basis["dirs"])  # (D, dims)
        self.bank_lift = torch.from_numpy(self.basis["lift"])  # (M, dims + 1)

    @staticmethod
    def fit(bank: np.ndarray, dims: int) -> dict[str, np.ndarray]:
        """Mean, top principal directions and the lifted bank: what a cache may store to skip this step.

        The directions come from every 6th row: the bound holds for any orthonormal basis, a good one only prunes
        more, and a subsample finds it at a sixth of the cost.
        """
        x = torch.from_numpy(np.ascontiguousarray(bank, np.float32))
        mean = x.double().mean(0).float()
        sub = x[::6] - mean
        _, vecs = torch.linalg.eigh((sub.T @ sub).double() / len(sub))
        dirs = vecs[:, -min(dims, x.shape[1]) :].float().contiguous()  # (D, dims), orthonormal
        lift = PrunedNearest._lift_with(x - mean, dirs)
        return {"mean": mean.numpy(), "dirs": dirs.numpy(), "lift": lift.numpy()}

    @staticmethod
    def _lift_with(centred: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
        proj = centred @ dirs  # (N, dims)
        resid2 = ((centred * centred).sum(1) - (proj * proj).sum(1)).clamp_(min=0)
        return torch.cat([proj, resid2.sqrt()[:, None]], 1)  # (N, dims + 1)

    def query(self, queries: np.ndarray, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Squared distance (float64, from float32 arithmetic) and index (N,) of each query's nearest bank row."""
        q = torch.from_numpy(np.ascontiguousarray(queries, np.float32))
        lift = self._lift_with(q - self.mean, self.dirs)
        dist = np.empty(len(q), np.float64)
        index = np.empty(len(q), np.int64)
        unsure = []
        for start, lb in sq_dist_chunks(lift.numpy(), self.bank_lift.numpy(), torch.float32):  # (c, M) bounds
            rows = torch.arange(len(lb))
            if exclude is not None:
                lb[rows, torch.from_numpy(exclude[start : start + len(lb)])] = float("inf")
            bound, cand = lb.topk(self.candidates, dim=1, largest=False)  # (c, K), ascending
            diff = q[start : start + len(lb), None, :] - self.bank[cand]  # (c, K, D)
            exact = (diff * diff).sum(2)
            if exclude is not None:
                exact[torch.from_numpy(exclude[start : start + len(lb)])[:, None] == cand] = float("inf")
            best, pos = exact.min(1)
            dist[start : start + len(lb)] = best.double().numpy()
            index[start : start + len(lb)] = cand[rows, pos].numpy()
            margin = 1e-4 * (1 + best)  # float32 rounding in the bound: never prune on a near-tie
            ok = (bound[:, -1] >= best + margin) | (self.candidates == len(self.bank))
            unsure += (start + torch.nonzero(~ok).flatten()).tolist()
        if unsure:
            idx = np.array(unsure)
            d2, i2 = nearest_sq(queries[idx], self.bank.numpy(), None if exclude is None else exclude[idx])
            dist[idx], index[idx] = d2, i2
        self.last_fallbacks = len(unsure)  # for benchmarks and tests
        return dist, index
