"""Real-data statistics every metric compares against, computed once and cached on disk.

The reference is the MNIST test set (10,000 images): its evaluator features, their float64 mean and covariance,
their k-NN radii (pr), its label distribution (digits), and each test image's distance to its nearest training image
(memorization). Each part is cached under `mnistgan.data.cache_dir()/eval/` in a file named by a hash of everything
that affects it (protocol version, evaluator SHA-256, data checksums, sizes, parameters) and written atomically
(temp file + os.replace), so a change to any input makes a new file rather than a stale answer.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import numpy as np

from mnistgan.data import cache_dir, load_split
from mnistgan.errors import UserError, warn
from mnistgan.files import atomic_write_buffered
from mnistgan.metrics.evaluator import Evaluator, embed
from mnistgan.metrics.frechet import gaussian_stats
from mnistgan.metrics.neighbors import kth_nn_sq
from mnistgan.metrics.prdc import K_DC, K_PR

PROTOCOL_VERSION = 3  # bump when the code that computes a cached statistic changes (3: digits count readable samples)
_DIGESTS: dict[int, tuple[np.ndarray, str]] = {}


def array_digest(a: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and bytes, memoised per array object (the dataset arrays are reused)."""
    hit = _DIGESTS.get(id(a))
    if hit is not None and hit[0] is a:  # the object itself is kept, so its id cannot be reused by another array
        return hit[1]
    h = hashlib.sha256(f"{a.dtype}{a.shape}".encode())
    h.update(np.ascontiguousarray(a).tobytes())
    if len(_DIGESTS) >= 16:
        _DIGESTS.pop(next(iter(_DIGESTS)))
    _DIGESTS[id(a)] = (a, h.hexdigest())
    return h.hexdigest()


def cache_key(fields: dict) -> str:
    """Hex SHA-256 of a JSON-sorted dict of everything a cached value depends on."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def cached_arrays(
    part: str, fields: dict, compute: Callable[[], dict[str, np.ndarray]], keys: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """Load `part` (arrays named `keys`) from the cache file named by the hash of `fields`, or compute and write it
    atomically. A cache file that does not load or lacks a key is recomputed, with a warning, and replaced."""
    folder = cache_dir() / "eval"
    path = folder / f"{part}-{cache_key({'part': part, 'protocol': PROTOCOL_VERSION, **fields})[:24]}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in keys}
            return arrays
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as err:
            warn(f"cache file {path} is unreadable ({type(err).__name__}); recomputing it")
    arrays = compute()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_buffered(path, lambda buffer: np.savez(buffer, **arrays))
    except (OSError, UserError) as err:  # a read-only or full cache only costs the next run this computation again
        warn(f"could not cache {part} in {folder} ({err})")
    return arrays


class Reference:
    """The MNIST test set's statistics under one evaluator; each part computed (or loaded) on first use."""

    def __init__(
        self,
        evaluator: Evaluator,
        test: tuple[np.ndarray, np.ndarray] | None = None,
        train: np.ndarray | None = None,
        valid: np.ndarray | None = None,
    ) -> None:
        self.evaluator = evaluator
        self.test_images, self.test_labels = test if test is not None else load_split("test")  # tests pass small sets
        self.train_images = train if train is not None else load_split("train")[0]
        # Parzen's sigma is chosen on the first 1,000 images of train[50000:60000] (Goodfellow et al. 2014).
        self.valid_images = valid if valid is not None else load_split("train")[0][50_000:51_000]
        self._fields = {
            "evaluator": getattr(evaluator, "sha256", "unpinned"),
            "test": array_digest(self.test_images),
            "n": len(self.test_images),
        }

    @cached_property
    def label_dist(self) -> np.ndarray:
        """Share of each digit among the test labels (10,), float64."""
        return np.bincount(self.test_labels, minlength=10).astype(np.float64) / len(self.test_labels)

    @cached_property
    def _features(self) -> dict[str, np.ndarray]:
        def compute() -> dict[str, np.ndarray]:
            feats, _ = embed(self.evaluator, self.test_images)
            mu, sigma = gaussian_stats(feats)
            return {"features": feats, "mu": mu, "sigma": sigma}

        return cached_arrays("features", self._fields, compute, ("features", "mu", "sigma"))

    @cached_property
    def _radii(self) -> dict[str, np.ndarray]:
        def compute() -> dict[str, np.ndarray]:
            return {"r_pr": kth_nn_sq(self.features, K_PR), "r_dc": kth_nn_sq(self.features, K_DC)}

        return cached_arrays("radii", {**self._fields, "k_pr": K_PR, "k_dc": K_DC}, compute, ("r_pr", "r_dc"))

    @property
    def features(self) -> np.ndarray:
        """Evaluator features of the test images (N, 128) float32."""
        return self._features["features"]

    @property
    def mu(self) -> np.ndarray:
        """Float64 mean of the test features."""
        return self._features["mu"]

    @property
    def sigma(self) -> np.ndarray:
        """Float64 covariance of the test features."""
        return self._features["sigma"]

    @property
    def radii_pr(self) -> np.ndarray:
        """Squared distance of each test feature to its K_PR-th nearest other test feature."""
        return self._radii["r_pr"]

    @property
    def radii_dc(self) -> np.ndarray:
        """Squared distance of each test feature to its K_DC-th nearest other test feature."""
        return self._radii["r_dc"]

    @cached_property
    def test_nn_dist(self) -> np.ndarray:
        """Pixel L2 distance (N,) of each test image to its nearest training image."""
        from mnistgan.metrics.memorization import nearest_train

        def compute() -> dict[str, np.ndarray]:
            return {"d": nearest_train(self.test_images, self.train_images)[0]}

        fields = {"test": self._fields["test"], "train": array_digest(self.train_images)}
        return cached_arrays("test_nn", fields, compute, ("d",))["d"]


def cache_path() -> Path:
    """The folder the reference statistics are cached in."""
    return cache_dir() / "eval"
