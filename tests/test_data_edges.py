"""data.py's edges the mutation run found untested: the cache folder's default, download's destination, mirror
URLs, skip logic and error texts, load_split's arguments and messages, copy_dataset, and Batcher's input handling."""

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
def served(tmp_path: Path, tiny_data_dir: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """A loopback server of the tiny dataset's four files; yields (base URL, folder, paths requested)."""
    root = tmp_path / "served"
    data.copy_dataset(tiny_data_dir, root)
    with serve_folder(root) as (url, requested):
        yield url, root, requested


def test_cache_dir_default_is_under_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MNISTGAN_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data.cache_dir() == tmp_path / ".cache" / "mnistgan"
    monkeypatch.setenv("MNISTGAN_CACHE", str(tmp_path / "c"))
    assert data.cache_dir() == tmp_path / "c"


def test_download_into_a_new_nested_folder_requests_each_file_once(served, monkeypatch, tmp_path: Path) -> None:
    url, root, requested = served
    register_fake_mnist(monkeypatch, root, (url + "//",))  # trailing slashes are trimmed
    dest = tmp_path / "a" / "b"
    assert download("fake-mnist", dest) == dest
    assert sorted(p.name for p in dest.iterdir()) == sorted(f"{stem}.gz" for stem in data.FILES.values())
    assert sorted(requested) == sorted(f"/{stem}.gz" for stem in data.FILES.values())
    # One file lost: only it is fetched again, the three verified ones are skipped.
    (dest / "t10k-labels-idx1-ubyte.gz").unlink()
    requested.clear()
    download("fake-mnist", dest)
    assert requested == ["/t10k-labels-idx1-ubyte.gz"]


def test_download_error_lists_every_mirror_and_file(monkeypatch, tiny_data_dir: Path, tmp_path: Path) -> None:
    register_fake_mnist(monkeypatch, tiny_data_dir, ("http://127.0.0.1:9/a/", "http://127.0.0.1:9/b"))
    with pytest.raises(UserError) as err:
        download("fake-mnist", tmp_path / "d", timeout=2)
    text = str(err.value)
    stem = next(iter(data.FILES.values()))
    assert text.startswith(f"could not download fake-mnist file {stem}.gz (http://127.0.0.1:9/a/{stem}.gz: ")
    assert f"; http://127.0.0.1:9/b/{stem}.gz: " in text and "Connection refused" in text
    files = ", ".join(s + ".gz" for s in data.FILES.values())
    assert text.endswith(f"with no network, copy the four files {files} into {tmp_path / 'd'} or pass --data-dir")


def test_download_of_unknown_and_bundled_datasets(tmp_path: Path) -> None:
    # only the datasets that are files can be downloaded; the generated ones (mixtures, Stacked MNIST) say so
    with pytest.raises(UserError, match=r"^unknown dataset 'cifar'; valid datasets: mnist, fashion-mnist, kmnist$"):
        download("cifar")
    with pytest.raises(UserError, match=r"^dataset 'stacked-mnist' is generated in memory, not downloaded; valid"):
        download("stacked-mnist")
    assert download("mnist", tmp_path / "x") == data.bundled_dir() and not (tmp_path / "x").exists()


def test_download_passes_its_timeout(monkeypatch, tiny_data_dir: Path, tmp_path: Path) -> None:
    seen = []

    def fake_urlopen(url, timeout=None):  # noqa: ANN001, ANN202
        seen.append(timeout)
        raise data.urllib.error.URLError("no network here")

    register_fake_mnist(monkeypatch, tiny_data_dir, ("http://mirror/",))
    monkeypatch.setattr(data.urllib.request, "urlopen", fake_urlopen)
    with pytest.raises(UserError, match=r"\(http://mirror/train-images-idx3-ubyte.gz: no network here\)"):
        download("fake-mnist", tmp_path, timeout=7.5)
    assert seen == [7.5]


def test_dataset_dir_and_load_split_messages(tmp_path: Path, tiny_data_dir: Path) -> None:
    with pytest.raises(UserError, match=rf"^--data-dir {tmp_path / 'none'} is not a directory$"):
        data.dataset_dir("mnist", tmp_path / "none")
    assert data.dataset_dir("mnist") == data.bundled_dir()
    with pytest.raises(UserError, match=r"^split must be 'train' or 'test', got 'valid'$"):
        load_split("valid", data_dir=tiny_data_dir)
    images, labels = load_split(data_dir=tiny_data_dir)  # the default split is train
    assert images.shape == (512, 28, 28) and not images.flags.writeable


def test_loader_gets_its_split_and_refuses_others(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = []
    spec = DatasetSpec(
        "made", loader=lambda split: (asked.append(split), np.zeros((5, 28, 28), np.uint8))[1:] + (np.zeros(5),)
    )
    monkeypatch.setitem(DATASETS, "made", spec)
    load_split("test", "made")
    assert asked == ["test"]
    with pytest.raises(UserError, match=r"^split must be 'train' or 'test', got 'dev'$"):
        load_split("dev", "made")


def test_check_images_wants_shape_and_dtype() -> None:
    spec = DatasetSpec("s")
    spec.check_images(np.zeros((2, 28, 28), np.uint8), "w")
    for bad in (np.zeros((2, 28, 27), np.uint8), np.zeros((2, 28, 28), np.float32), np.zeros((2, 784), np.uint8)):
        with pytest.raises(UserError, match=r"^w: images must be uint8 of shape \(N, 28, 28\), found "):
            spec.check_images(bad, "w")


def test_copy_dataset_into_a_nested_folder(tiny_data_dir: Path, tmp_path: Path) -> None:
    data.copy_dataset(tiny_data_dir, tmp_path / "a" / "b")
    assert len(list((tmp_path / "a" / "b").iterdir())) == 4
    (tmp_path / "partial").mkdir()
    with pytest.raises(UserError, match=rf"^{tmp_path / 'partial'}: missing train-images-idx3-ubyte$"):
        data.copy_dataset(tmp_path / "partial", tmp_path / "c")


def test_batcher_takes_any_integer_images_and_owns_a_copy() -> None:
    images = np.arange(4 * 784).reshape(4, 28, 28) % 256  # int64, values 0-255
    batcher = Batcher(images, batch_size=4, seed=0, device=torch.device("cpu"))  # batch == dataset size is fine
    assert batcher.data.dtype == torch.uint8 and batcher.data.device.type == "cpu"
    images[:] = 0  # the caller's array changes: the batcher's copy does not
    assert int(batcher.data.max()) == 255
    rows = batcher.indices(0)
    torch.testing.assert_close(
        batcher.batch(0), torch.from_numpy((np.arange(4 * 784).reshape(4, 784) % 256)[rows.numpy()] / 255.0).float()
    )
    with pytest.raises(UserError, match=r"^this batcher was built without labels$"):
        batcher.batch_with_labels(0)
    with pytest.raises(UserError, match=r"^3 labels for 4 images$"):
        Batcher(np.zeros((4, 28, 28), np.uint8), 2, 0, torch.device("cpu"), labels=np.zeros(3))


def test_batcher_keeps_only_the_permutations_it_needs() -> None:
    batcher = Batcher(np.zeros((8, 28, 28), np.uint8), batch_size=4, seed=1, device=torch.device("cpu"))
    for step in range(12):  # 6 epochs
        batcher.indices(step)
    assert sorted(batcher._perms) == [4, 5]  # the current epoch and the one before
    labels = np.arange(8) % 3
    labelled = Batcher(np.arange(8)[:, None, None].repeat(784, 1).reshape(8, 28, 28).astype(np.uint8), 4, 1,
                       torch.device("cpu"), labels=labels)  # fmt: skip
    images, y = labelled.batch_with_labels(1)
    assert y.dtype == torch.int64 and torch.equal(y, torch.from_numpy(labels)[labelled.indices(1)])
    assert torch.equal((images[:, 0] * 255).round().long(), labelled.indices(1))
