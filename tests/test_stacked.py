"""Stacked MNIST: stacking, the online batcher, the scorer on hand-made samples, the published networks' sizes, the
eval and ablate wiring, and a tiny training run."""

from __future__ import annotations

import json
import math
from functools import lru_cache

import numpy as np
import pytest
import torch

from helpers import run_cli
from mnistgan import stacked_eval
from mnistgan.config import preset_config
from mnistgan.data import load_split
from mnistgan.errors import UserError
from mnistgan.metrics.evaluator import load_evaluator
from mnistgan.metrics.reference import Reference
from mnistgan.metrics.stacked import calibrate, check_stacks, expected_kl_floor, score_stacks
from mnistgan.models import build_discriminator, build_generator
from mnistgan.stacked import stack_digits, triple_labels
from mnistgan.stacked_batcher import OnlineStackedBatcher
from mnistgan.stacked_nets import SourceBatchNorm2d
from mnistgan.stacked_presets import STACKED_PRESETS


def _one_per_digit() -> tuple[np.ndarray, np.ndarray]:
    """Ten images, image k filled with the value 20k and labelled k: a stack's pixels say its digits."""
    labels = np.arange(10)
    return (labels[:, None, None] * 20 * np.ones((10, 28, 28))).astype(np.uint8), labels


def test_stacking_is_independent_and_uniform_over_triples():
    images, labels = _one_per_digit()
    n = 50_000
    stacks, triples = stack_digits(images, labels, n, seed=1)
    assert stacks.shape == (n, 3, 28, 28) and stacks.dtype == np.uint8
    digits = stacks[:, :, 0, 0].astype(np.int64) // 20  # (n, 3): each channel's digit, read from its pixels
    assert np.array_equal(triples, digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2])  # label = 100a + 10b + c
    counts = np.bincount(triples, minlength=1000)
    chi2 = ((counts - n / 1000) ** 2 / (n / 1000)).sum()  # ~ chi-square with 999 dof: mean 999, std 44.7
    assert abs(chi2 - 999) < 5 * math.sqrt(2 * 999)
    # Independence: channel 0's digit says nothing about channel 1's (a 10x10 contingency table, 81 dof).
    table = np.zeros((10, 10))
    np.add.at(table, (digits[:, 0], digits[:, 1]), 1)
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    assert ((table - expected) ** 2 / expected).sum() < 81 + 5 * math.sqrt(2 * 81)
    assert np.array_equal(triple_labels(np.array([[3, 0, 7]])), [307])


def test_online_batcher_draws_fresh_triples_reproducibly():
    images, labels = _one_per_digit()
    stacks, triples = stack_digits(images, labels, 30, seed=0)  # a pool of 90 digits
    batcher = OnlineStackedBatcher(stacks, 64, seed=3, device=torch.device("cpu"), labels=triples)
    x, y = batcher.batch_with_labels(5)
    assert x.shape == (64, 3 * 784)
    d = torch.round(x.reshape(64, 3, 784)[:, :, 0] * 255 / 20).long()  # (64, 3) digits from the pixels
    assert torch.equal(y, d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2])
    assert torch.equal(batcher.batch(5), x)  # a pure function of (seed, step): resuming sees the same batch
    assert not torch.equal(batcher.batch(6), x)


@lru_cache(maxsize=1)
def _small_scorer():
    """The shipped evaluator with a calibration from 1,000 test digits (the full 10,000 take 7 s to embed)."""
    evaluator = load_evaluator()
    test = load_split("test")
    ref = Reference(evaluator, test=(test[0][:1000], test[1][:1000]))
    return evaluator, calibrate(evaluator, ref)


def test_scorer_on_real_repeated_and_noise_stacks():
    evaluator, calib = _small_scorer()
    images, labels = load_split("test")
    n = 600
    real = score_stacks(stack_digits(images[5000:], labels[5000:], n, seed=2)[0], evaluator, calib)
    # n uniform draws of 1,000 triples cover 1000 (1 - e^-0.6) = 451 on average; KL near the sampling floor.
    assert real["readable"] > 0.9
    assert real["modes"] > 400 and real["kl"] < expected_kl_floor(n) + 0.2
    one = np.repeat(stack_digits(images[:3], labels[:3], 1, seed=0)[0], 300, axis=0)  # one stack, 300 times
    same = score_stacks(one, evaluator, calib)
    assert same["modes"] == 1 and same["kl"] == pytest.approx(math.log(1000), abs=1e-9)
    noise = np.random.default_rng(0).integers(0, 256, (300, 3, 28, 28), dtype=np.uint8)
    scored = score_stacks(noise, evaluator, calib)
    assert scored["readable"] == 0 and scored["modes"] == 0 and scored["kl"] is None
    assert scored["modes_all"] >= 1  # what counting every sample, as PacGAN's protocol does, would credit noise


def test_kl_floor_at_26000_samples_is_about_002():
    rng = np.random.default_rng(0)
    kls = []
    for _ in range(20):
        p = np.bincount(rng.integers(0, 1000, 26_000), minlength=1000) / 26_000
        kls.append(float((p[p > 0] * np.log(p[p > 0] * 1000)).sum()))
    assert np.mean(kls) == pytest.approx(expected_kl_floor(26_000), rel=0.05)
    assert expected_kl_floor(26_000) == pytest.approx(0.0192, abs=1e-4)


def _count(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_published_networks_parameter_counts():
    # Weak-D setting (PacGAN unrolled_GAN_experiment/model.py), counted by hand from the layer list:
    # G: linear 256 -> 4*4*64 (+bias), BN(64); deconvs 3x3 64->32, 32->16, 16->8 (+bias), BN each; conv 3x3 8->3.
    g = 256 * 1024 + 1024 + 2 * 64 + (64 * 32 * 9 + 32) + 2 * 32 + (32 * 16 * 9 + 16) + 2 * 16
    g += (16 * 8 * 9 + 8) + 2 * 8 + (8 * 3 * 9 + 3)
    assert g == 287_875
    assert _count(build_generator(preset_config("weakd4-dcgan"))) == g
    # D = 1/4 G: convs 3x3 3->2, 2->4, 4->8 (+bias), BN (scale and shift) after each, linear 4*4*8 -> 1.
    d4 = (3 * 2 * 9 + 2) + 4 + (2 * 4 * 9 + 4) + 8 + (4 * 8 * 9 + 8) + 16 + (128 + 1)
    assert _count(build_discriminator(preset_config("weakd4-dcgan"))) == d4 == 585
    d2 = (3 * 4 * 9 + 4) + 8 + (4 * 8 * 9 + 8) + 16 + (8 * 16 * 9 + 16) + 32 + (256 + 1)
    assert _count(build_discriminator(preset_config("weakd2-dcgan"))) == d2 == 1889
    # PacGAN m = 4: the first conv sees 12 channels.
    assert _count(build_discriminator(preset_config("weakd4-pacgan4"))) == d4 + 9 * 2 * 9
    # VEEGAN setting (DCGAN-tensorflow at 28x28x3): G linear 100 -> 2*2*512, deconvs 5x5 512-256-128-64-3.
    vg = 100 * 2048 + 2048 + 1024 + (512 * 256 * 25 + 256) + 512 + (256 * 128 * 25 + 128) + 256
    vg += (128 * 64 * 25 + 64) + 128 + (64 * 3 * 25 + 3)
    assert _count(build_generator(preset_config("stacked-dcgan"))) == vg == 4_514_819
    vd = (3 * 64 * 25 + 64) + (64 * 128 * 25 + 128) + 256 + (128 * 256 * 25 + 256) + 512
    vd += (256 * 512 * 25 + 512) + 1024 + (2048 + 1)
    assert _count(build_discriminator(preset_config("stacked-dcgan"))) == vd == 4_310_401


def test_source_batchnorm_matches_separate_calls():
    torch.manual_seed(0)
    D = build_discriminator(preset_config("weakd4-pacgan4", batch_size=16))  # 4 packed inputs per source
    real, fake = torch.rand(16, 2352), torch.rand(16, 2352)
    both = D(torch.cat([real, fake]))
    assert both.shape == (8, 1)
    assert torch.allclose(both, torch.cat([D(real), D(fake)]), atol=1e-6)
    assert not any(
        isinstance(m, SourceBatchNorm2d) for m in build_discriminator(preset_config("weakd4-r3gan")).modules()
    )


def test_wrong_shapes_are_one_line_user_errors(tmp_path, capsys):
    with pytest.raises(UserError, match="arch conv takes samples of shape"):
        preset_config("conv", dataset="stacked-mnist")
    with pytest.raises(UserError, match=r"\(N, 3, 28, 28\)"):
        check_stacks(np.zeros((5, 28, 28), np.uint8))
    np.save(tmp_path / "digits.npy", np.zeros((5, 28, 28), np.uint8))
    code, _, err = run_cli(["eval", str(tmp_path / "digits.npy"), "--dataset", "stacked-mnist"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "(N, 3, 28, 28)" in err


def test_tiny_training_run_eval_and_table(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(stacked_eval, "_scorer", _small_scorer)
    out = tmp_path / "run"
    code, _, err = run_cli(
        ["train", "--preset", "weakd4-dcgan", "--steps", "10", "--log-every", "5", "--out", str(out), "--quiet"],
        capsys,
    )
    assert code == 0, err
    rows = [json.loads(line) for line in (out / "stats.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(math.isfinite(r["d_loss"]) for r in rows)
    assert 0.2 < rows[0]["d_loss"] < 2.5  # both D terms near ln 2 at the start: the weak D has not won yet
    from PIL import Image

    with Image.open(out / "samples_15x15.png") as grid:
        assert grid.mode == "RGB" and grid.size == (2 * (15 * 30 + 2),) * 2  # each channel a digit, in colour
    code, text, err = run_cli(["eval", str(out), "--n", "200", "--json", str(tmp_path / "e.json")], capsys)
    assert code == 0, err
    record = json.loads((tmp_path / "e.json").read_text())
    assert record["model"]["n"] == 200 and record["real"]["n"] == 200
    assert record["real"]["modes"] > 150  # 200 real stacks: about 1000 (1 - e^-0.2) = 181 distinct triples
    assert record["model"]["modes"] <= record["model"]["modes_all"]  # 10 steps draw blobs: few, if any, read
    assert "real stacks" in text and "KL floor" in text
    table = stacked_eval.markdown_table({"weakd4-dcgan": [{**record["model"], "train_min": 0.1, "steps": 10}]}, 200)
    assert "copied: PacGAN Table 3" in table and "667.4" in table and "real stacks" in table


@pytest.mark.parametrize("name", list(STACKED_PRESETS))
def test_every_stacked_preset_steps_with_finite_losses(name):
    from mnistgan.adam import make_optimizers
    from mnistgan.objectives import objective_from_config
    from mnistgan.step import GANStep

    config = preset_config(name)
    config = preset_config(name, batch_size=4 * config.pack, device="cpu")  # 4 D inputs a source: BatchNorm works
    torch.manual_seed(0)
    G, D = build_generator(config), build_discriminator(config)
    opt_g, opt_d = make_optimizers(G, D, config, torch.device("cpu"))
    step = GANStep(G, D, opt_g, opt_d, objective_from_config(config))
    before = [p.detach().clone() for p in G.parameters()]
    stats = step(torch.rand(config.batch_size, 2352), torch.randn(config.batch_size, config.z_dim), stats=True)
    assert all(math.isfinite(v) for v in stats.as_floats().values())
    assert any(not torch.equal(a, b) for a, b in zip(before, G.parameters()))
