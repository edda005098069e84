"""The 2-D Gaussian mixtures: samplers, the VEEGAN / PacGAN scorer on hand-made points, PacGAN's networks, a tiny
training run, `eval` dispatching to the mixture scorer, the ablation table with the copied rows, and bad input."""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import run_cli
from mnistgan import ablate, config, scorers
from mnistgan.config import preset_config
from mnistgan.data import DATASETS, Batcher, load_split
from mnistgan.errors import UserError
from mnistgan.mixtures import GRID25, MIXTURES, RING8, mode_scores
from mnistgan.models import build_discriminator, build_generator


def test_ring_and_grid_centres_and_stds_are_pacgans() -> None:
    angles = 2 * np.pi * np.arange(8) / 8
    np.testing.assert_allclose(RING8.means, np.stack([np.cos(angles), np.sin(angles)], 1), atol=1e-12)
    assert RING8.std == 0.01 and GRID25.std == 0.05
    assert sorted(map(tuple, GRID25.means)) == [(i, j) for i in range(-4, 5, 2) for j in range(-4, 5, 2)]
    assert DATASETS["ring8"].shape == (2,) and DATASETS["grid25"].scored_by == "mixture"


@pytest.mark.parametrize("mixture", [RING8, GRID25], ids=lambda m: m.name)
def test_sampler_uses_every_mode_uniformly_with_the_stated_std(mixture) -> None:
    points, modes = load_split("train", mixture.name)
    assert points.shape == (100_000, 2) and points.dtype == np.float32
    k = mixture.n_modes
    counts = np.bincount(modes, minlength=k)
    # Multinomial counts: std sqrt(n p (1 - p)) ~ 110 (ring) or 62 (grid); 5 std of slack.
    assert np.abs(counts - len(points) / k).max() < 5 * math.sqrt(len(points) / k)
    residual = points - mixture.means[modes]
    np.testing.assert_allclose(residual.std(axis=0), mixture.std, rtol=0.02)
    np.testing.assert_allclose(residual.mean(axis=0), 0, atol=mixture.std / 50)
    test, _ = load_split("test", mixture.name)
    assert not np.array_equal(test[:10], points[:10])  # its own seed


def test_scorer_all_modes_exact() -> None:
    rng = np.random.default_rng(0)
    for mixture in MIXTURES.values():
        modes = np.repeat(np.arange(mixture.n_modes), 100)  # balanced
        points = mixture.means[modes] + 0.5 * mixture.std * rng.standard_normal((len(modes), 2))
        s = mode_scores(points, mixture)
        assert s["modes_covered"] == mixture.n_modes and s["hq_share"] == 1.0
        assert abs(s["reverse_kl"]) < 1e-12 and np.allclose(s["mode_hist"], 1 / mixture.n_modes)


def test_real_points_are_high_quality_at_the_rate_of_a_2d_gaussian() -> None:
    # Within 3 std in 2-D distance: P(chi2 with 2 dof < 9) = 1 - exp(-9 / 2) = 98.89% of a mode's own samples.
    for mixture in MIXTURES.values():
        points, _ = load_split("train", mixture.name)
        s = mode_scores(points, mixture)
        assert s["hq_share"] == pytest.approx(1 - math.exp(-4.5), abs=0.002)
        assert s["modes_covered"] == mixture.n_modes and s["reverse_kl"] < 1e-3


def test_scorer_one_mode_and_off_mode_noise() -> None:
    one = np.tile(RING8.means[3], (500, 1))
    s = mode_scores(one, RING8)
    assert s["modes_covered"] == 1 and s["hq_share"] == 1.0
    assert s["reverse_kl"] == pytest.approx(math.log(8))  # KL(point mass || uniform) = log K
    off = np.random.default_rng(1).uniform(-0.5, 0.5, (500, 2))  # inside the ring, >= 50 std from every mode
    s = mode_scores(off, RING8)
    assert s["modes_covered"] == 0 and s["hq_share"] == 0.0 and math.isnan(s["reverse_kl"])
    # The 3-std edge: 2.9 std counts, 3.1 does not; half the points on two modes: KL = log(8 / 2).
    edge = np.array([[1 + 2.9 * 0.01, 0], [1 + 3.1 * 0.01, 0]])
    assert mode_scores(edge, RING8)["hq_share"] == 0.5
    two = np.concatenate([np.tile(RING8.means[0], (10, 1)), np.tile(RING8.means[4], (10, 1))])
    assert mode_scores(two, RING8)["reverse_kl"] == pytest.approx(math.log(4))


def test_published_networks_have_pacgans_parameter_counts() -> None:
    c = preset_config("mixture-gan")
    G, D = build_generator(c), build_discriminator(c)
    # G: 2x400 + 3 x 400x400 (no biases: BatchNorm shifts) + 4 BatchNorms x 800 + 400x2 + 2.
    assert sum(p.numel() for p in G.parameters()) == 800 + 3 * 160_000 + 4 * 800 + 802
    # D: maxout 2 -> 200 x 5 pieces, 2 x (200 -> 200 x 5), then 200 -> 1.
    assert sum(p.numel() for p in D.parameters()) == 3 * 1000 + 2 * 201_000 + 201
    D2 = build_discriminator(preset_config("mixture-pacgan2"))
    assert sum(p.numel() for p in D2.parameters()) == 5 * 1000 + 2 * 201_000 + 201
    assert D2(torch.zeros(200, 2)).shape == (100, 1)  # 200 points judged in pairs


def test_batcher_passes_points_through_unscaled() -> None:
    points, _ = RING8.sample(300, 5)
    b = Batcher(points, 100, 0, torch.device("cpu"))
    idx = b.indices(0)
    assert torch.equal(b.batch(0), torch.from_numpy(points)[idx])


def _tiny_run(tmp_path: Path, **kw) -> Path:
    from mnistgan.train import train

    values = dict(g_hidden=32, d_hidden=32, steps=200, lr_g=1e-3, lr_d=1e-3, snapshot_every=100, threads=1) | kw
    return train(preset_config("mixture-gan", **values), tmp_path / "run", quiet=True)


def test_tiny_training_run_spreads_toward_the_ring_and_draws_scatter_frames(tmp_path: Path) -> None:
    from mnistgan.sample import generate, load_generator

    run = _tiny_run(tmp_path)
    G, c, step = load_generator(run)
    points = generate(G, c, 1000, seed=0)
    assert step == 200 and points.shape == (1000, 2) and points.dtype == np.float32
    # N(0, 0.02) weights start G's points within a few hundredths of the origin; 200 steps move them out toward
    # the unit circle.
    assert np.linalg.norm(points, axis=1).mean() > 0.3
    for name in ("mixture.png", "mixture.gif", "losses.png"):
        assert (run / name).stat().st_size > 1000
    assert not (run / "samples_15x15.png").exists()
    assert len(list((run / "progress").glob("step_*.png"))) == 3


def test_eval_of_a_2d_run_uses_the_mixture_scorer_never_the_evaluator(tmp_path, capsys, monkeypatch) -> None:
    run = _tiny_run(tmp_path, steps=20, snapshot_every=20)

    def no_evaluator(*a, **k):  # noqa: ANN002, ANN003
        raise AssertionError("the MNIST evaluator was loaded for a 2-D run")

    # the module, not `mnistgan.evaluate` (the package's API function of that name)
    monkeypatch.setattr(importlib.import_module("mnistgan.evaluate"), "load_evaluator", no_evaluator)
    monkeypatch.setattr("mnistgan.metrics.evaluator.load_evaluator", no_evaluator)
    code, out, err = run_cli(["eval", str(run)], capsys)
    assert code == 0, err
    assert "modes covered" in out and "high quality" in out and "reverse KL" in out
    record = json.loads((run / "eval.json").read_text())
    assert record["scorer"] == "mixture" and record["model"]["n"] == 2500
    assert record["real"]["metrics"]["modes_covered"] == 8 and record["real"]["metrics"]["hq_share"] > 0.975
    from mnistgan.sample import generate, load_generator

    G, c, _ = load_generator(run)
    argv = ["sample", str(run), "--n", "500", "--grid", str(tmp_path / "s.png"), "--npz", str(tmp_path / "s.npz")]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    assert (tmp_path / "s.png").stat().st_size > 1000 and np.load(tmp_path / "s.npz")["points"].shape == (500, 2)
    again = mode_scores(generate(G, c, 2500, seed=0), RING8)  # the same numbers (NaN KL too, when no hq point)
    assert json.dumps(record["model"]["metrics"], sort_keys=True) == json.dumps(again, sort_keys=True)


def test_ablate_table_puts_the_copied_rows_beside_ours(tmp_path: Path) -> None:
    def fake_eval(spec: ablate.RunSpec) -> dict:
        hist = np.full(25, 1 / 25).tolist()
        return {"modes_covered": 24 + spec.seed % 2, "hq_share": 0.9, "reverse_kl": 0.01, "mode_hist": hist}

    kw = dict(train_fn=lambda spec: None, eval_fn=fake_eval, log=lambda s: None, cores=1, n_eval=None)
    table, figure = ablate.run_ablation(["mixture-gan"], 2, 5, tmp_path, dataset="grid25", **kw)
    text = table.read_text()
    assert "| mixture-gan | 2 | 5 | 24.5 ± 0.7 | 90.0% ± 0.0% | 0.010 ± 0.000 |" in text
    assert (
        "| PacGAN4 (copied: Lin et al. 2018, Table 1) | published | 400,000 | 24.8 ± 0.2 | 93.6 ± 0.6% | 0.04 ± 0.01 |"
        in text
    )
    assert figure.name == "modes.png" and figure.stat().st_size > 1000
    result = json.loads((tmp_path / "mixture-gan/seed0/result.json").read_text())
    assert result["dataset"] == "grid25" and result["n_eval"] == 2500


def test_bad_input_is_one_line(tmp_path, capsys) -> None:
    code, _, err = run_cli(["train", "--preset", "mixture-gan", "--arch", "mlp", "--dry-run"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "arch mlp takes images, but dataset ring8 holds points; use arch pacgan-mlp" in err
    code, _, err = run_cli(["train", "--dataset", "grid25", "--dry-run"], capsys)  # the tutorial's MLP
    assert code == 2 and "holds points" in err
    with pytest.raises(UserError, match=r"^samples: a 2-D mixture scores points of shape \(N, 2\)"):
        scorers.scorer_for("ring8").score(np.zeros((5, 3)), "ring8")
    with pytest.raises(UserError, match=r"points must be float32 of shape \(N, 2,\), found uint8"):
        DATASETS["ring8"].check_samples(np.zeros((4, 2), np.uint8), "w")
    np.save(tmp_path / "points.npy", np.zeros((10, 2), np.float32))
    code, _, err = run_cli(["eval", str(tmp_path / "points.npy")], capsys)
    assert code == 2 and err.count("\n") == 1 and "must have shape" in err


def test_mixture_presets_are_documented() -> None:
    for name in config.PRESETS:
        if name.startswith("mixture-"):
            assert preset_config(name).dataset == "ring8" and name in config.PRESET_ABOUT
