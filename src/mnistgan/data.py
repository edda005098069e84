"""Datasets: the bundled MNIST, any folder of IDX files, downloads of Fashion-MNIST and KMNIST, the 2-D Gaussian
mixtures of the mode-collapse literature (mixtures.py), and batches drawn from one in-memory tensor.

The whole training set is 47 MB as uint8 (MNIST; 0.8 MB of float32 points for a mixture), so it lives on the
training device and a batch is an index into it: no DataLoader, no workers, no per-step host-to-device copy.
"""

from __future__ import annotations

import math
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from mnistgan.errors import UserError
from mnistgan.files import atomic_write_bytes
from mnistgan.idx import read_idx, sha256_of
from mnistgan.mixtures import MIXTURES

FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: where its files come from and how they are checked, the shape of one sample, and what a "mode"
    is for it (what mode collapse is measured over) and what scores the modes of generated samples."""

    name: str
    mirrors: tuple[str, ...] = ()  # base URLs tried in order; empty for the bundled copy
    gz_sha256: tuple[tuple[str, str], ...] = ()  # SHA-256 of each downloaded .gz file, as its mirrors serve it
    raw_sha256: tuple[tuple[str, str], ...] = ()  # SHA-256 of each decompressed file (bundled MNIST)
    shape: tuple[int, ...] = (28, 28)  # one sample as stored (height, width of a grayscale image; (2,) for points)
    modes: str = "the 10 classes"  # what mode collapse is counted over
    n_modes: int = 10
    # What reads the modes of generated samples (scorers.py dispatches on it): "mnist-evaluator" (the shipped
    # classifier), "mixture" (distance to the known mode centres, mixtures.py), or None (none ships).
    scored_by: str | None = None
    # How to make a split when the data is not four IDX files (a synthetic or derived dataset): split -> (samples,
    # labels), samples of `kind` and `shape`; None: read the IDX files (bundled, downloaded or --data-dir).
    loader: Callable[[str], tuple[np.ndarray, np.ndarray]] | None = None
    # "images": uint8 grayscale pixels, which networks see divided by 255, in [0, 1], and which are drawn as grids;
    # "points": float32 coordinates, which networks see as they are, and which are drawn as scatter plots.
    kind: str = "images"
    # How training draws its batches from the split: (images, batch_size, seed, device, labels) -> a Batcher; None:
    # data.Batcher, epochs over the fixed split (stacked-mnist-online draws fresh samples every step instead).
    batcher: Callable[..., Batcher] | None = None

    @property
    def dtype(self) -> np.dtype:
        """How one sample is stored: uint8 pixels or float32 coordinates."""
        return np.dtype(np.uint8 if self.kind == "images" else np.float32)

    @property
    def width(self) -> int:
        """Numbers per sample as networks exchange them, flat (784 for MNIST, 2 for a 2-D mixture)."""
        return math.prod(self.shape)

    def check_samples(self, samples: np.ndarray, where: str) -> None:
        """UserError unless samples are of this dataset's dtype and shape (N, *shape)."""
        if samples.ndim != 1 + len(self.shape) or samples.shape[1:] != self.shape or samples.dtype != self.dtype:
            want = ", ".join(map(str, self.shape)) + ("," if len(self.shape) == 1 else "")
            raise UserError(
                f"{where}: {self.kind} must be {self.dtype} of shape (N, {want}), found {samples.dtype} {samples.shape}"
            )

    check_images = check_samples  # the name older callers use


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        raw_sha256=(
            ("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
            ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
            ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
            ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
        ),
        modes="the 10 digits",
        scored_by="mnist-evaluator",  # the shipped classifier (metrics/evaluator.py) reads each sample's digit
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        gz_sha256=(
            ("train-images-idx3-ubyte", "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc"),
            ("train-labels-idx1-ubyte", "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc"),
            ("t10k-images-idx3-ubyte", "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229"),
            ("t10k-labels-idx1-ubyte", "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf"),
        ),
    ),
    "kmnist": DatasetSpec(
        name="kmnist",
        mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        gz_sha256=(
            ("train-images-idx3-ubyte", "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4"),
            ("train-labels-idx1-ubyte", "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17"),
            ("t10k-images-idx3-ubyte", "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5"),
            ("t10k-labels-idx1-ubyte", "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c"),
        ),
    ),
    **{
        m.name: DatasetSpec(
            name=m.name,
            shape=(2,),
            modes=f"the {m.n_modes} Gaussians",
            n_modes=m.n_modes,
            scored_by="mixture",  # scorers.py: distance to the known centres, the VEEGAN / PacGAN protocol
            loader=m.loader,
            kind="points",
        )
        for m in MIXTURES.values()
    },
}


def spec_of(dataset: str, data_dir: str | Path | None = None) -> DatasetSpec:
    """The spec a run trains on: its dataset's, or MNIST's format for a --data-dir folder (or a name not registered
    here, which load_split reports)."""
    if data_dir is None and dataset in DATASETS:
        return DATASETS[dataset]
    return DATASETS["mnist"]


def _veegan_stacks(split: str) -> tuple[np.ndarray, np.ndarray]:
    from mnistgan.stacked import veegan_loader  # lazy: stacked.py reads MNIST through this module

    return veegan_loader(split)


def _online_stacks(split: str) -> tuple[np.ndarray, np.ndarray]:
    from mnistgan.stacked import online_loader

    return online_loader(split)


def _online_batcher(*args, **kwargs) -> Batcher:  # noqa: ANN002, ANN003 - Batcher's own signature
    from mnistgan.stacked import online_batcher

    return online_batcher(*args, **kwargs)


# Stacked MNIST (stacked.py, docs/stacked-mnist.md): three digits as the channels of one sample, 1,000 modes.
_STACKED = {"shape": (3, 28, 28), "modes": "the 1,000 digit triples", "n_modes": 1_000}
_STACKED["scored_by"] = "stacked-mnist-evaluator"  # each channel read by the MNIST evaluator (metrics/stacked.py)
DATASETS["stacked-mnist"] = DatasetSpec("stacked-mnist", loader=_veegan_stacks, **_STACKED)  # VEEGAN: 128,000 fixed
DATASETS["stacked-mnist-online"] = DatasetSpec(
    "stacked-mnist-online", loader=_online_stacks, batcher=_online_batcher, **_STACKED
)  # the unrolled-GAN setting: fresh triples every batch


def bundled_dir() -> Path:
    """The folder inside the package that holds MNIST's four gzipped IDX files."""
    return Path(str(resources.files("mnistgan") / "datasets" / "mnist"))


def cache_dir() -> Path:
    """Where downloaded datasets live: $MNISTGAN_CACHE, else ~/.cache/mnistgan."""
    return Path(os.environ.get("MNISTGAN_CACHE", Path.home() / ".cache" / "mnistgan"))


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def download(name: str, dest: Path | None = None, timeout: float = 30.0) -> Path:
    """Fetch a registered dataset's four files into dest (default: the cache), verifying SHA-256; return dest."""
    files = [n for n, s in DATASETS.items() if s.loader is None]  # the datasets that are files (not generated)
    if name not in files:
        what = f"dataset {name!r} is generated in memory, not downloaded" if name in DATASETS else "unknown dataset"
        raise UserError(f"{what if name in DATASETS else what + ' ' + repr(name)}; valid datasets: {', '.join(files)}")
    spec = DATASETS[name]
    dest = Path(dest) if dest is not None else cache_dir() / name
    if not spec.mirrors:
        return bundled_dir()
    dest.mkdir(parents=True, exist_ok=True)
    for stem, expected in spec.gz_sha256:
        target = dest / (stem + ".gz")
        if target.is_file() and sha256_of(target.read_bytes()) == expected:
            continue
        errors = []
        for mirror in spec.mirrors:
            url = mirror.rstrip("/") + "/" + stem + ".gz"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    payload = response.read()
            except (urllib.error.URLError, OSError) as err:
                errors.append(f"{url}: {getattr(err, 'reason', err)}")
                continue
            found = sha256_of(payload)
            if found != expected:
                errors.append(f"{url}: checksum mismatch: expected SHA-256 {expected}, found {found}")
                continue
            atomic_write_bytes(target, payload)
            break
        else:
            raise UserError(
                f"could not download {name} file {stem}.gz ({'; '.join(errors)}); with no network, copy the four "
                f"files {', '.join(s + '.gz' for s, _ in spec.gz_sha256)} into {dest} or pass --data-dir"
            )
    return dest


def dataset_dir(dataset: str = "mnist", data_dir: str | Path | None = None) -> Path:
    """The folder to read: data_dir if given, else the bundled MNIST or the (downloaded) cache of `dataset`."""
    if data_dir is not None:
        folder = Path(data_dir)
        if not folder.is_dir():
            raise UserError(f"--data-dir {folder} is not a directory")
        return folder
    if dataset not in DATASETS:
        raise UserError(f"unknown dataset {dataset!r}; valid datasets: {', '.join(DATASETS)}")
    return bundled_dir() if not DATASETS[dataset].mirrors else download(dataset)


def load_split(
    split: str = "train", dataset: str = "mnist", data_dir: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Samples (N, *shape) uint8 (MNIST: (N, 28, 28)) and labels (N,) of a split ("train" or "test")."""
    spec = DATASETS.get(dataset)
    if data_dir is None and spec is not None and spec.loader is not None:
        if split not in ("train", "test"):
            raise UserError(f"split must be 'train' or 'test', got {split!r}")
        samples, labels = spec.loader(split)
        spec.check_samples(samples, f"dataset {dataset}")
        return samples, labels
    folder = dataset_dir(dataset, data_dir)
    return _load_cached(str(folder.resolve()), split, dataset if data_dir is None else None)


@lru_cache(maxsize=8)
def _load_cached(folder_str: str, split: str, dataset: str | None) -> tuple[np.ndarray, np.ndarray]:
    if split not in ("train", "test"):
        raise UserError(f"split must be 'train' or 'test', got {split!r}")
    folder = Path(folder_str)
    spec = DATASETS[dataset] if dataset else DATASETS["mnist"]  # a --data-dir folder holds MNIST-format files
    checks = dict(spec.raw_sha256) if dataset else {}
    arrays = []
    for kind in ("images", "labels"):
        stem = FILES[(split, kind)]
        path = _find(folder, stem)
        if path is None:
            raise UserError(f"{folder}: missing {stem} (or {stem}.gz); an MNIST-format folder holds the four files")
        arrays.append(read_idx(path, checks.get(stem)))
    images, labels = arrays
    spec.check_images(images, str(folder))
    if labels.ndim != 1 or len(labels) != len(images):
        raise UserError(f"{folder}: {len(images)} images but labels of shape {labels.shape}")
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def copy_dataset(src: Path, dest: Path) -> None:
    """Copy the four IDX files of an MNIST-format folder (used by tests and the notebook)."""
    dest.mkdir(parents=True, exist_ok=True)
    for stem in FILES.values():
        path = _find(Path(src), stem)
        if path is None:
            raise UserError(f"{src}: missing {stem}")
        shutil.copyfile(path, dest / path.name)


class Batcher:
    """Epoch-shuffled batches (sampling without replacement, like the tutorial's `next_batch`) from a uint8 tensor
    of images (a batch is divided by 255) or a float32 tensor of points (a batch is used as it is).

    The batch at step i is a pure function of (seed, i): the epoch's permutation comes from a generator seeded by
    (seed, epoch), so resuming at step i needs no saved data-loader state.
    """

    def __init__(
        self, images: np.ndarray, batch_size: int, seed: int, device: torch.device, labels: np.ndarray | None = None
    ) -> None:
        if len(images) < batch_size:
            raise UserError(f"batch size {batch_size} is larger than the dataset ({len(images)} images)")
        self.pixels = np.asarray(images).dtype.kind in "biu"  # integer images in 0-255; float32 points as they are
        dtype = np.uint8 if self.pixels else np.float32
        self.data = (
            torch.from_numpy(np.array(images, dtype=dtype, copy=True)).reshape(len(images), -1).to(device)
        )  # (N, 784) or (N, 2)
        if labels is not None and len(labels) != len(images):
            raise UserError(f"{len(labels)} labels for {len(images)} images")
        self.labels = None if labels is None else torch.from_numpy(np.asarray(labels, dtype=np.int64)).to(device)
        self.batch_size = batch_size
        self.seed = seed
        self._perms: dict[int, torch.Tensor] = {}

    def _perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._perms:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perms = {k: v for k, v in self._perms.items() if k >= epoch - 1}
            self._perms[epoch] = torch.randperm(len(self.data), generator=gen).to(self.data.device)
        return self._perms[epoch]

    def indices(self, step: int) -> torch.Tensor:
        """Row indices of the batch at `step` (B,)."""
        n, b = len(self.data), self.batch_size
        start = step * b
        epoch, offset = divmod(start, n)
        if offset + b <= n:
            return self._perm(epoch)[offset : offset + b]
        return torch.cat([self._perm(epoch)[offset:], self._perm(epoch + 1)[: offset + b - n]])

    def _images(self, idx: torch.Tensor) -> torch.Tensor:
        rows = torch.index_select(self.data, 0, idx)  # index_select: 7x faster than data[idx]
        return rows.float().div_(255.0) if self.pixels else rows

    def batch(self, step: int) -> torch.Tensor:
        """Float images in [0, 1] of the batch at `step` (B, 784)."""
        return self._images(self.indices(step))

    def batch_with_labels(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch at `step` (B, 784) and the labels of the same rows (B,) int64 (for conditional GANs)."""
        if self.labels is None:
            raise UserError("this batcher was built without labels")
        idx = self.indices(step)
        return self._images(idx), self.labels[idx]
