"""The shipped evaluator and everything measured through it: accuracy, the SHA-256 pin, batch-size independence,
a collapsed generator's finite numbers, the real-vs-real row within pinned bounds, the reference cache, and the
metrics logged during training."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from mnistgan.data import load_split
from mnistgan.errors import UserError
from mnistgan.evaluate import real_target
from mnistgan.metrics import EVALUATOR_SHA256, METRICS, Reference, embed, evaluate, frechet_distance_features
from mnistgan.metrics.evaluator import file_sha256, load_evaluator, shipped_path
from mnistgan.metrics.reference import cache_path


@pytest.fixture(scope="module")
def evaluator():
    return load_evaluator()


@pytest.fixture(scope="module")
def test_features(evaluator) -> tuple[np.ndarray, np.ndarray]:
    return embed(evaluator, load_split("test")[0])


def test_shipped_weights_are_pinned_small_and_accurate(evaluator, test_features) -> None:
    assert file_sha256(shipped_path()) == EVALUATOR_SHA256
    assert shipped_path().stat().st_size < 4_000_000
    record = json.loads(shipped_path().with_suffix(".json").read_text())
    assert record["sha256"] == EVALUATOR_SHA256
    accuracy = float((test_features[1].argmax(1) == load_split("test")[1]).mean())
    assert accuracy >= 0.993
    assert accuracy == pytest.approx(record["test_accuracy"], abs=1e-4)


def test_changed_weights_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    copy = tmp_path / "evaluator.safetensors"
    shutil.copyfile(shipped_path(), copy)
    load_evaluator(copy)  # an intact copy passes the pin
    data = bytearray(copy.read_bytes())
    data[-1] ^= 1  # flip one bit of the last weight
    copy.write_bytes(bytes(data))
    with pytest.raises(UserError, match=f"but {EVALUATOR_SHA256} is pinned"):
        load_evaluator(copy)


def test_features_and_fd_do_not_depend_on_batch_size(evaluator) -> None:
    images = np.array(load_split("train")[0][:600])
    f1, l1 = embed(evaluator, images, batch_size=7)
    f2, l2 = embed(evaluator, images, batch_size=600)
    np.testing.assert_allclose(f1, f2, atol=1e-4)
    np.testing.assert_allclose(l1, l2, atol=1e-4)
    ref = embed(evaluator, np.array(load_split("test")[0][:600]))[0]
    assert frechet_distance_features(f1, ref) == pytest.approx(frechet_distance_features(f2, ref), rel=1e-5)


@pytest.fixture(scope="module")
def small_reference(evaluator) -> Reference:
    test_images, test_labels = load_split("test")
    train = load_split("train")[0]
    return Reference(evaluator, (test_images[:1000], test_labels[:1000]), train[:3000], valid=train[50_000:50_200])


def test_collapsed_generator_gets_finite_numbers(evaluator, small_reference, tmp_path: Path) -> None:
    # 200 copies of one reference image: inside its own k-NN ball, so it reads as a digit and every value is defined
    images = np.repeat(small_reference.test_images[:1], 200, axis=0)
    result = evaluate(images, None, 0, evaluator, small_reference, figure_dir=tmp_path)
    values = result["metrics"]
    flat = [v for k, v in values.items() if k != "digits_hist"] + values["digits_hist"]
    assert all(math.isfinite(v) for v in flat), values
    assert values["unreadable"] == 0.0 and values["digits_kl"] > 1.0
    assert values["modes"] == 1 and values["score"] == pytest.approx(1.0, abs=1e-6)
    assert values["recall"] <= 0.001 and values["fd"] > 100  # at most the copied image itself is recalled
    assert (tmp_path / "memorization.png").is_file()


# Measured with the shipped evaluator: 1,500 real training images (seed 0) against the first 3,000 test images gave
# fd 1.440, kid 0.0124, score 9.501, modes 10, digits_tv 0.0497, precision 0.861, recall 0.862, density 0.944,
# coverage 0.808. The bounds leave room for floating-point differences across machines, not for a changed protocol.
# The row is further from 0 than the 10,000-image row (fd 0.18): MNIST's first 5,000 test images come from NIST's
# cleaner writers (LeCun et al.'s MNIST page), so test[:3000] is not distributed like the training set.
REAL_BOUNDS = {
    "fd": (1.2, 1.7),
    "kid": (0.008, 0.017),
    "score": (9.3, 9.7),
    "modes": (10, 10),
    "digits_tv": (0.03, 0.07),
    "precision": (0.82, 0.90),
    "recall": (0.82, 0.90),
    "density": (0.88, 1.0),
    "coverage": (0.77, 0.85),
}


def test_real_vs_real_row_lands_within_pinned_bounds(evaluator) -> None:
    test_images, test_labels = load_split("test")
    reference = Reference(evaluator, (test_images[:3000], test_labels[:3000]))
    real = real_target(1500, seed=0)
    values = evaluate(real.images, ["fd", "kid", "score", "digits", "pr"], 0, evaluator, reference)["metrics"]
    for key, (lo, hi) in REAL_BOUNDS.items():
        assert lo <= values[key] <= hi, (key, values[key])


def test_reference_is_cached_under_a_hash_of_its_inputs(evaluator, monkeypatch: pytest.MonkeyPatch) -> None:
    test_images, test_labels = load_split("test")
    first = Reference(evaluator, (test_images[:300], test_labels[:300]))
    mu = first.mu
    files = sorted(p.name for p in cache_path().iterdir())
    assert len(files) == 1 and files[0].startswith("features-")
    with monkeypatch.context() as patch:
        patch.setattr("mnistgan.metrics.reference.embed", lambda *a, **k: pytest.fail("recomputed"))
        np.testing.assert_array_equal(Reference(evaluator, (test_images[:300], test_labels[:300])).mu, mu)
    _ = Reference(evaluator, (test_images[:301], test_labels[:301])).mu  # other data: a new file, not a stale hit
    assert len(list(cache_path().iterdir())) == 2
    assert not [p for p in cache_path().iterdir() if "tmp" in p.name]


def test_training_logs_metrics_and_plots_them(
    tmp_path: Path, tiny_data_dir: Path, small_reference: Reference, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mnistgan.config import preset_config
    from mnistgan.train import train

    monkeypatch.setattr("mnistgan.metrics.training._reference", lambda: small_reference)  # 1,000 test images: fast

    config = preset_config("tutorial", steps=40, batch_size=16, data_dir=str(tiny_data_dir), eval_every=20)
    config.eval_samples = 100
    config.log_every = config.snapshot_every = config.checkpoint_every = 20
    run = train(config, tmp_path / "run", quiet=True)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [20, 40]
    for row in rows:
        assert set(row) >= {"fd", "score", "digits_hist", "modes"} and row["n"] == 100
        assert sum(row["digits_hist"]) == pytest.approx(1.0 - row["unreadable"])
        assert row["unreadable"] >= 0.9  # 40 steps draw blobs, not digits
    assert (run / "metrics.png").is_file() and (run / "digits.png").is_file()
    assert set(METRICS[name].in_training for name in ["fd", "score", "digits"]) == {True}
    # A run killed after its step-40 evaluation but before a checkpoint (a row past it, and a torn line) resumes
    # from step 40 to 60: one row per evaluated step, none twice.
    with open(run / "metrics.jsonl", "a") as handle:
        handle.write(json.dumps({**rows[-1], "step": 60}) + "\n" + '{"step": 8')
    config.steps = 60
    train(config, run, resume=True, quiet=True)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [20, 40, 60]


def test_random_shift_moves_each_image_by_its_own_offset() -> None:
    import torch

    from mnistgan.metrics.evaluator_train import random_shift

    x = torch.zeros(64, 1, 28, 28)
    x[:, 0, 14, 14] = 1.0  # one lit pixel in the middle of every image
    out = random_shift(x, 2, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and torch.equal(out.sum((1, 2, 3)), torch.ones(64))  # moved, never lost
    rows, cols = out[:, 0].nonzero()[:, 1], out[:, 0].nonzero()[:, 2]
    assert rows.min() == 12 and rows.max() == 16 and cols.min() == 12 and cols.max() == 16  # all 5 offsets occur
