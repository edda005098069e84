"""Dataset folders, downloads against a local HTTP server, and the epoch-shuffled batcher."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import register_fake_mnist, serve_folder
from mnistgan import data
from mnistgan.data import DATASETS, Batcher, DatasetSpec, download, load_split
from mnistgan.errors import UserError


@pytest.fixture()
def http_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server serving a temp folder; yields (base URL, folder)."""
    root = tmp_path / "served"
    root.mkdir()
    with serve_folder(root) as (url, _):
        yield url + "/", root


def test_data_dir_loads_any_idx_folder(tiny_data_dir: Path) -> None:
    images, labels = load_split("train", data_dir=tiny_data_dir)
    full, full_labels = load_split("train")
    assert images.shape == (512, 28, 28)
    np.testing.assert_array_equal(images, full[:512])
    np.testing.assert_array_equal(labels, full_labels[:512])


def test_data_dir_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="missing train-images-idx3-ubyte"):
        load_split("train", data_dir=tmp_path)
    with pytest.raises(UserError, match="not a directory"):
        load_split("train", data_dir=tmp_path / "absent")


def test_download_from_local_mirror(http_server, tiny_data_dir, monkeypatch) -> None:
    url, root = http_server
    data.copy_dataset(tiny_data_dir, root)
    register_fake_mnist(monkeypatch, root, ("http://127.0.0.1:9/dead/", url))  # first mirror refuses, second serves
    dest = download("fake-mnist")
    assert dest == data.cache_dir() / "fake-mnist"
    images, _ = load_split("train", dataset="fake-mnist")
    assert images.shape == (512, 28, 28)
    # A second call finds the verified files and does not need the server.
    (root / "train-images-idx3-ubyte.gz").unlink()
    assert download("fake-mnist") == dest


def test_download_rejects_checksum_mismatch(http_server, tiny_data_dir, monkeypatch) -> None:
    url, root = http_server
    data.copy_dataset(tiny_data_dir, root)
    register_fake_mnist(monkeypatch, root, (url,))
    (root / "train-labels-idx1-ubyte.gz").write_bytes(b"tampered")
    with pytest.raises(UserError, match="checksum mismatch"):
        download("fake-mnist")
    assert not (data.cache_dir() / "fake-mnist" / "train-labels-idx1-ubyte.gz").exists()


def test_download_without_network_says_where_to_put_files(tiny_data_dir, monkeypatch) -> None:
    register_fake_mnist(monkeypatch, tiny_data_dir, ("http://127.0.0.1:9/",))
    with pytest.raises(UserError, match=r"copy the four files .* into .*fake-mnist or pass --data-dir"):
        download("fake-mnist", timeout=2)


def test_unknown_dataset() -> None:
    with pytest.raises(UserError, match="valid datasets: mnist, fashion-mnist, kmnist"):
        load_split("train", dataset="cifar")


def test_batcher_is_without_replacement_and_deterministic() -> None:
    images = np.arange(10, dtype=np.uint8).repeat(784).reshape(10, 28, 28)
    batcher = Batcher(images, batch_size=4, seed=3, device=torch.device("cpu"))
    rows = [batcher.indices(step) for step in range(5)]  # 20 indices = two epochs of 10
    stream = torch.cat(rows)
    assert sorted(stream[:10].tolist()) == list(range(10))  # epoch 0 is a permutation
    assert sorted(stream[10:].tolist()) == list(range(10))  # epoch 1 too (batch 2 straddles the boundary)
    again = Batcher(images, batch_size=4, seed=3, device=torch.device("cpu"))
    assert torch.equal(again.indices(4), rows[4])  # a pure function of (seed, step): resumable
    other = Batcher(images, batch_size=4, seed=4, device=torch.device("cpu"))
    assert not torch.equal(torch.cat([other.indices(s) for s in range(5)]), stream)
    batch = batcher.batch(0)
    assert batch.dtype == torch.float32 and batch.shape == (4, 784)
    np.testing.assert_allclose(batch[:, 0].numpy(), rows[0].numpy() / 255.0, rtol=1e-6)


def test_batcher_rejects_batch_larger_than_data() -> None:
    with pytest.raises(UserError, match="larger than the dataset"):
        Batcher(np.zeros((3, 28, 28), np.uint8), batch_size=4, seed=0, device=torch.device("cpu"))


def test_a_dataset_is_one_registry_entry(monkeypatch) -> None:
    def make(split: str) -> tuple[np.ndarray, np.ndarray]:
        n = 300 if split == "train" else 100
        return np.full((n, 28, 28), 7, np.uint8), np.arange(n) % 4

    spec = DatasetSpec("sevens", modes="4 made-up classes", n_modes=4, loader=make)
    monkeypatch.setitem(DATASETS, "sevens", spec)
    images, labels = load_split("test", "sevens")
    assert images.shape == (100, 28, 28) and int(images.max()) == 7 and labels.max() == 3
    monkeypatch.setitem(DATASETS, "bad", DatasetSpec("bad", loader=lambda split: (np.zeros((2, 3)), np.zeros(2))))
    with pytest.raises(UserError, match=r"dataset bad: images must be uint8 of shape \(N, 28, 28\)"):
        load_split("train", "bad")
