"""k-means (clusters.py) against what k-means must satisfy, and the cluster-conditioned preset end to end: labels
from the clusters, their frequencies saved with G, and sampling that draws them in those proportions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mnistgan.cli import main
from mnistgan.clusters import image_clusters, kmeans
from mnistgan.conditional import ConditionalGenerator
from mnistgan.config import preset_config
from mnistgan.data import load_split
from mnistgan.errors import UserError
from mnistgan.sample import generate, load_generator
from mnistgan.train import train


def test_kmeans_recovers_separated_blobs() -> None:
    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    truth = torch.arange(3).repeat_interleave(50)
    x = centres[truth] + 0.5 * torch.randn(150, 2, generator=gen)
    centroids, assign = kmeans(x, 3, seed=1)
    # Same partition up to renaming: each found cluster is exactly one true blob.
    pairs = {(int(a), int(t)) for a, t in zip(assign, truth)}
    assert len(pairs) == 3 and len({a for a, _ in pairs}) == 3
    for c in range(3):
        assert torch.allclose(centroids[c], x[assign == c].mean(dim=0), atol=1e-5)


def test_kmeans_fixed_point_on_digits() -> None:
    images, _ = load_split("train")
    x = torch.from_numpy(np.array(images[:2000]).reshape(2000, -1)).float() / 255
    centroids, assign = kmeans(x, 12, seed=3)
    # Lloyd's fixed point: every image is with its nearest centroid, every centroid is its members' mean.
    dists = torch.cdist(x.double(), centroids.double())
    assert torch.equal(dists.argmin(dim=1), assign)
    for c in range(12):
        assert torch.allclose(centroids[c], x[assign == c].mean(dim=0), atol=1e-5)
    assert torch.bincount(assign, minlength=12).min() > 0
    again = kmeans(x, 12, seed=3)[1]
    assert torch.equal(assign, again)  # deterministic for a seed


def test_kmeans_rejects_bad_k() -> None:
    with pytest.raises(UserError, match="clusters must be between 1 and the number of images"):
        kmeans(torch.zeros(5, 2), 6)


def test_digit_clusters_are_purer_than_chance() -> None:
    images, labels = load_split("train")
    assign = image_clusters(images[:3000], 20, seed=0)
    purity = sum(np.bincount(labels[:3000][assign == c], minlength=10).max() for c in range(20)) / 3000
    assert purity > 0.6  # pixels alone group digits (a single-digit guess would be 0.11)


@pytest.fixture(scope="module")
def clusters_run(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    values = dict(steps=6, batch_size=32, data_dir=str(tiny_data_dir), device="cpu", log_every=1, print_every=6)
    config = preset_config("conv-clusters", clusters=8, snapshot_every=6, checkpoint_every=6, **values)
    return train(config, tmp_path_factory.mktemp("clusters") / "run", quiet=True)


def test_cluster_run_saves_the_cluster_frequencies(clusters_run: Path) -> None:
    generator, config, _ = load_generator(clusters_run)
    assert isinstance(generator, ConditionalGenerator) and generator.n_classes == 8
    images, _ = load_split("train", data_dir=config.data_dir)
    expected = np.bincount(image_clusters(images, 8, config.seed), minlength=8) / len(images)
    assert np.allclose(generator.label_probs.numpy(), expected, atol=1e-7)
    # Unconditional to its user: sampling draws the clusters in those proportions, with no label given.
    calls = []
    forward = generator.forward
    generator.forward = lambda z, y: (calls.append(y), forward(z, y))[1]
    generate(generator, config, 200, seed=1)
    counts = np.bincount(torch.cat(calls).numpy(), minlength=8)
    assert np.all(np.abs(counts - expected * 200) < 1)


def test_cluster_run_has_no_digits_to_ask_for(clusters_run: Path, tmp_path: Path) -> None:
    assert main(["sample", str(clusters_run), "--digit", "3", "--npz", str(tmp_path / "x.npz")]) == 2
    assert main(["sample", str(clusters_run), "--n", "5", "--npz", str(tmp_path / "y.npz")]) == 0
    assert np.load(tmp_path / "y.npz")["images"].shape == (5, 28, 28)


def test_old_conditional_snapshot_without_label_probs_loads(tiny_data_dir: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    values = dict(steps=2, batch_size=32, data_dir=str(tiny_data_dir), device="cpu", log_every=1, print_every=2)
    config = preset_config("conditional", snapshot_every=2, checkpoint_every=2, **values)
    run = train(config, tmp_path / "r", quiet=True)
    path = run / "generator.safetensors"
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        metadata = f.metadata()
    tensors = {k: v for k, v in load_file(str(path)).items() if k != "label_probs"}
    save_file(tensors, str(path), metadata=metadata)  # as written before the buffer existed
    generator, config, _ = load_generator(run)
    _, labels = load_split("train", data_dir=config.data_dir)
    assert np.allclose(generator.label_probs.numpy(), np.bincount(labels, minlength=10) / len(labels), atol=1e-7)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"clusters": -1}, "clusters must be an integer >= 0"),
        ({"clusters": 5, "conditional": True}, "not both"),
        ({"clusters": 5, "pack": 2}, "need pack 1"),
    ],
)
def test_cluster_settings_are_validated(overrides: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        preset_config("conv", batch_size=32, **overrides)
