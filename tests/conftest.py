"""Shared fixtures: a tiny MNIST-format dataset cut from the bundled MNIST, and an isolated cache directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mnistgan.data import load_split
from mnistgan.idx import write_idx

# One thread per test process: on a shared 2-core machine, OpenMP threads of several processes spin against each
# other and slow everything down by orders of magnitude; the tiny test workloads gain nothing from a second thread.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own MNISTGAN_CACHE, so nothing reads or writes the user's cache."""
    monkeypatch.setenv("MNISTGAN_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """512 real training and 256 real test images in an MNIST-format folder (gzipped IDX)."""
    folder = tmp_path_factory.mktemp("tiny_mnist")
    for split, n in (("train", 512), ("test", 256)):
        images, labels = load_split(split)
        prefix = "train" if split == "train" else "t10k"
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", np.asarray(images[:n]))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", np.asarray(labels[:n]))
    return folder
