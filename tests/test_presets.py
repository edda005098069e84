"""Every preset trains a few steps with finite losses, and its distinctive remedy is really active; the tutorial
preset still takes the fast engine and gives the same weights as the loop it had before remedies were wired in;
the remedy settings are validated with clear errors."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch.nn.utils import parametrize

from mnistgan.adam import make_optimizers
from mnistgan.cli import main
from mnistgan.conditional import ConditionalGenerator, ProjectionDiscriminator
from mnistgan.config import PRESETS, preset_config
from mnistgan.conv import ConvDiscriminator, ConvGenerator
from mnistgan.data import DATASETS, Batcher, load_split
from mnistgan.errors import UserError
from mnistgan.models import MLPDiscriminator, MLPGenerator, build_discriminator, build_generator, sample_noise
from mnistgan.objectives import g_loss_feature_matching, get_objective, objective_from_config, r1_penalty, r2_penalty
from mnistgan.sample import generate, load_generator
from mnistgan.step import GANStep
from mnistgan.train import train
from mnistgan.unrolled import adam_state, unrolled_g_loss

B = 32
# The presets of MNIST-format data run here on the tiny MNIST folder; Stacked MNIST's are tests/test_stacked.py's.
NAMES = [name for name in PRESETS if PRESETS[name].get("dataset", "mnist") == "mnist"]


def _config(name: str, data_dir: Path, **overrides):
    values = dict(steps=10, batch_size=B, data_dir=str(data_dir), device="cpu", log_every=1, print_every=10)
    values.update(snapshot_every=10, checkpoint_every=10)
    if DATASETS[PRESETS[name].get("dataset", "mnist")].kind == "points":  # a 2-D mixture: generated, no folder
        del values["data_dir"]
    return preset_config(name, **(values | overrides))


def _setup(name: str, data_dir: Path):
    """The preset's nets, optimizers and step, and one real batch with labels, as train() builds them."""
    config = _config(name, data_dir)
    torch.manual_seed(0)
    G, D = build_generator(config), build_discriminator(config)
    opt_g, opt_d = make_optimizers(G, D, config, torch.device("cpu"))
    step = GANStep(G, D, opt_g, opt_d, objective_from_config(config))
    images, labels = load_split("train", data_dir=str(data_dir))
    real, y = Batcher(images, B, 0, torch.device("cpu"), labels).batch_with_labels(0)
    z = sample_noise(B, config.z_dim, config.noise, torch.Generator().manual_seed(1), torch.device("cpu"))
    return config, G, D, step, real, y, z


@pytest.fixture(scope="module")
def runs(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 10-step run of every preset (batch 32)."""
    root = tmp_path_factory.mktemp("presets")
    return {name: train(_config(name, tiny_data_dir), root / name, quiet=True) for name in NAMES}


def _rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("name", NAMES)
def test_preset_trains_with_finite_losses(runs: dict[str, Path], name: str) -> None:
    rows = _rows(runs[name])
    assert [r["step"] for r in rows] == list(range(1, 11))
    assert all(np.isfinite(v) for r in rows for v in r.values())
    assert rows[-1]["d_grad_norm"] > 0
    generator, config, step = load_generator(runs[name])
    assert step == 10 and config.preset == name and not generator.training
    assert all(not m.training for m in generator.modules())  # BatchNorm samples with its running statistics


def test_tutorial_keeps_fast_engine_and_its_previous_weights(tiny_data_dir: Path, tmp_path: Path) -> None:
    config = _config("tutorial", tiny_data_dir, steps=20)
    run = train(config, tmp_path / "run", quiet=True)
    # The loop as it was before the remedies: plain MLPs, the nsgan objective, update both every step.
    torch.manual_seed(config.seed)
    images, _ = load_split("train", data_dir=str(tiny_data_dir))
    batcher = Batcher(images, B, config.seed, torch.device("cpu"))
    G, D = MLPGenerator(), None
    for layer in (G.fc1, G.fc2):  # G is built and initialised before D is built
        torch.nn.init.xavier_normal_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
    D = MLPDiscriminator()
    for layer in (D.fc1, D.fc2):
        torch.nn.init.xavier_normal_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
    opt_g, opt_d = make_optimizers(G, D, config, torch.device("cpu"))
    step = GANStep(G, D, opt_g, opt_d, get_objective("nsgan"))
    assert step.engine == "manual"
    gen = torch.Generator().manual_seed(config.seed)
    for i in range(20):
        step(batcher.batch(i), sample_noise(B, 100, "uniform", gen, torch.device("cpu")))
    saved = load_file(str(run / "generator.safetensors"))
    for key, value in G.state_dict().items():
        assert torch.equal(saved[key], value), key
    _, built_g, built_d, built_step, *_ = _setup("tutorial", tiny_data_dir)
    assert (type(built_g), type(built_d), built_step.engine) == (MLPGenerator, MLPDiscriminator, "manual")


@pytest.mark.parametrize("name", ["sn-hinge", "conv-sn-hinge-mbstd"])
def test_spectral_norm_bounds_every_d_layer(name: str, tiny_data_dir: Path) -> None:
    _, _, D, step, *_ = _setup(name, tiny_data_dir)
    layers = [m for m in D.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers)
    for _ in range(20):  # power iteration converges: the normalised weight's top singular value is 1
        D(torch.rand(4, 784))
    top = torch.linalg.matrix_norm(D.fc1.weight.detach(), ord=2) if name == "sn-hinge" else None
    if top is not None:
        assert abs(top.item() - 1.0) < 0.05
    assert step.engine == "autograd" and step.objective.name == "hinge"


@pytest.mark.parametrize("name", ["pacgan2", "pacgan4", "conv-pacgan2-ema"])
def test_pack_scores_one_input_per_m_samples(name: str, tiny_data_dir: Path) -> None:
    config, _, D, _, real, *_ = _setup(name, tiny_data_dir)
    m = config.pack
    assert D(real).shape == (B // m, 1)
    # A packed input is m consecutive samples of one source: swapping samples across packs changes the logits.
    swapped = real.clone()
    swapped[[0, m]] = real[[m, 0]]
    assert not torch.allclose(D(swapped)[:2], D(real)[:2])


@pytest.mark.parametrize("name", ["mbstd", "conv-sn-hinge-mbstd"])
def test_mbstd_feature_sees_the_batch(name: str, tiny_data_dir: Path) -> None:
    _, _, D, _, real, *_ = _setup(name, tiny_data_dir)
    assert D.mbstd is not None
    # A constant batch has zero std: its feature is sqrt(eps), so the logit differs from a varied batch's.
    _, feats_const = D(real[:1].expand(B, -1).contiguous(), return_features=True)
    assert torch.allclose(feats_const[:, -1], torch.full((B,), 1e-4), atol=1e-6)
    _, feats = D(real, return_features=True)
    assert (feats[:, -1] > 1e-3).all()


def test_minibatch_discrimination_groups_one_source(tiny_data_dir: Path) -> None:
    config, G, D, _, real, _, z = _setup("minibatch-disc", tiny_data_dir)
    assert D.md is not None and D.md.group_size == config.batch_size  # never mixes real and fake of cat([r, f])
    with torch.no_grad():
        fake = G(z)
        both = D(torch.cat([real, fake]))  # (2B, 1), as the step calls it
        # The real rows' logits do not see the fakes: other fakes give the same real logits ...
        other = D(torch.cat([real, fake.flip(0) * 0.5]))
        torch.testing.assert_close(both[:B], other[:B], rtol=0, atol=1e-6)
        assert (both[B:] - other[B:]).abs().max() > 1e-4
        # ... but they do see the other real rows of their group: a changed real image moves every real logit.
        changed = real.clone()
        changed[0] = 1 - changed[0]
        moved = (D(torch.cat([changed, fake]))[1:B] - both[1:B]).abs()
        assert (moved > 1e-6).all()


def test_feature_matching_is_gs_loss(tiny_data_dir: Path) -> None:
    _, G, D, step, real, _, z = _setup("feature-matching", tiny_data_dir)
    with torch.no_grad():
        _, f_real = D(real, return_features=True)
        _, f_fake = D(G(z), return_features=True)
        expected = g_loss_feature_matching(f_real, f_fake)
    stats = step(real, z, stats=True)
    assert step.engine == "autograd"
    assert torch.allclose(stats.g_loss, expected, rtol=1e-5)


def test_unrolled_g_loss_is_against_unrolled_d(tiny_data_dir: Path) -> None:
    config, G, D, step, real, _, z = _setup("unrolled5", tiny_data_dir)
    step(real, z)  # one ordinary step first, so D's Adam has moments to unroll from
    obj = step.objective
    fake = G(z)
    expected = unrolled_g_loss(D, obj.d_loss, obj.g_loss, real, fake, 5, config.lr_d, adam=adam_state(D, step.opt_d))
    plain = obj.g_loss(D(real), D(fake))
    stats = step(real, z, stats=True)
    assert torch.allclose(stats.g_loss, expected.detach(), rtol=1e-4)
    assert abs(stats.g_loss.item() - plain.item()) > 1e-4


@pytest.mark.parametrize("name", ["r3gan", "conv-r3gan"])
def test_r3gan_penalty_is_half_gamma_r1_plus_r2(name: str, tiny_data_dir: Path) -> None:
    config, G, D, step, real, _, z = _setup(name, tiny_data_dir)
    fake = G(z).detach()
    penalty = step.objective.d_penalty(D, real, fake)
    expected = config.r1_gamma / 2 * r1_penalty(D, real) + config.r2_gamma / 2 * r2_penalty(D, fake)
    assert step.objective.name == "rpgan" and penalty.item() > 0
    assert torch.allclose(penalty, expected, rtol=1e-5)


def test_wgan_gp_updates_g_every_fifth_step(runs: dict[str, Path]) -> None:
    rows = _rows(runs["wgan-gp"])
    assert [r["g_grad_norm"] > 0 for r in rows] == [(r["step"] % 5 == 0) for r in rows]


@pytest.mark.parametrize("name", ["ema", "conv-pacgan2-ema"])
def test_ema_snapshot_is_the_average(runs: dict[str, Path], name: str) -> None:
    state = torch.load(runs[name] / "resume.pt", weights_only=True)
    snapshot = load_file(str(runs[name] / "generator.safetensors"))
    assert state["ema"]["num_updates"] == 10
    for key, value in state["ema"]["model"].items():
        assert torch.equal(snapshot[key], value), key
    weights = [k for k in state["G"] if k.endswith("weight") and state["G"][k].dtype.is_floating_point]
    assert any(not torch.equal(snapshot[k], state["G"][k]) for k in weights)  # the raw G moved elsewhere


def test_ema_resume_is_exact(tiny_data_dir: Path, tmp_path: Path) -> None:
    straight = train(_config("ema", tiny_data_dir, steps=12), tmp_path / "a", quiet=True)
    part = train(_config("ema", tiny_data_dir, steps=6, checkpoint_every=6), tmp_path / "b", quiet=True)
    resumed = train(_config("ema", tiny_data_dir, steps=12), part, resume=True, quiet=True)
    a, b = load_file(str(straight / "generator.safetensors")), load_file(str(resumed / "generator.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("name", ["conditional", "conv-conditional"])
def test_conditional_samples_the_requested_digit(runs: dict[str, Path], name: str, tmp_path: Path) -> None:
    generator, config, _ = load_generator(runs[name])
    assert isinstance(generator, ConditionalGenerator)
    _, _, D, *_ = _setup(name, Path(config.data_dir))
    assert isinstance(D, ProjectionDiscriminator)
    noise = torch.rand(8, config.z_dim) * 2 - 1
    sevens = generate(generator, config, 8, labels=torch.full((8,), 7), noise=noise)
    with torch.no_grad():
        direct = (generator(noise, torch.full((8,), 7)) * 255).round().clamp(0, 255).to(torch.uint8)
    assert np.array_equal(sevens.reshape(8, -1), direct.numpy())
    assert not np.array_equal(sevens, generate(generator, config, 8, labels=torch.full((8,), 1), noise=noise))
    out = tmp_path / "s.npz"
    assert main(["sample", str(runs[name]), "--digit", "7", "--n", "8", "--npz", str(out)]) == 0
    assert main(["sample", str(runs[name]), "--digit", "10", "--n", "8", "--npz", str(out)]) == 2


def test_unconditional_run_rejects_digit(runs: dict[str, Path], tmp_path: Path) -> None:
    assert main(["sample", str(runs["tutorial"]), "--digit", "3", "--npz", str(tmp_path / "x.npz")]) == 2


def test_conditional_default_labels_follow_the_data(runs: dict[str, Path]) -> None:
    generator, config, _ = load_generator(runs["conditional"])
    calls = []
    forward = generator.forward
    generator.forward = lambda z, y: (calls.append(y), forward(z, y))[1]
    generate(generator, config, 256, seed=3)
    counts = np.bincount(torch.cat(calls).numpy(), minlength=10)
    _, labels = load_split("train", data_dir=config.data_dir)
    expected = np.bincount(labels, minlength=10) / len(labels) * 256
    assert np.all(np.abs(counts - expected) < 1)  # exact proportions, up to rounding


@pytest.mark.parametrize("name", ["conv", "conv-conditional"])
def test_conv_snapshot_batch_size_independent(runs: dict[str, Path], name: str) -> None:
    generator, config, _ = load_generator(runs[name])
    body = generator.body if name == "conv-conditional" else generator
    assert isinstance(body, ConvGenerator)
    a = generate(generator, config, 16, seed=5, batch_size=16).astype(int)
    b = generate(generator, config, 16, seed=5, batch_size=3).astype(int)
    assert np.abs(a - b).max() <= 1  # eval-mode BatchNorm: a sample does not depend on its batch


def test_conv_discriminator_is_built(tiny_data_dir: Path) -> None:
    _, _, D, step, real, *_ = _setup("conv", tiny_data_dir)
    assert isinstance(D, ConvDiscriminator) and step.engine == "autograd"
    with torch.no_grad():
        logits = D(real)
        # One logit per image from (B, 784) rows, and without mbstd none depends on the rest of the batch.
        assert logits.shape == (B, 1) and logits.std() > 0
        torch.testing.assert_close(D(real[:3]), logits[:3], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"pack": 3}, "pack 3 must divide batch_size 32"),
        ({"mbstd": True, "mbstd_group": 3}, "mbstd_group 3 must divide"),
        ({"minibatch_disc": True, "arch": "conv"}, "MLP discriminator only"),
        ({"conditional": True, "pack": 2}, "conditional and clusters need pack 1"),
        ({"feature_matching": True, "unroll_steps": 2}, "choose one"),
        ({"ema_beta": 1.0}, "ema_beta must be in"),
        ({"n_critic": 0}, "n_critic must be a positive integer"),
        ({"gp_weight": -1.0}, "gp_weight must be a finite number >= 0"),
        ({"loss": "lsgan2"}, "loss must be one of nsgan, hinge, wgan, rpgan, lsgan, got .lsgan2."),
        ({"arch": "vit"}, "arch must be one of mlp, conv, .*got .vit."),
    ],
)
def test_remedy_settings_are_validated(overrides: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        preset_config("tutorial", batch_size=B, **overrides)


def test_train_flags_reach_the_config(capsys: pytest.CaptureFixture) -> None:
    argv = ["train", "--preset", "conv", "--pack", "2", "--mbstd", "--no-spectral-norm", "--ema-beta", "0.99"]
    assert main([*argv, "--dry-run"]) == 0
    values = json.loads(capsys.readouterr().out)
    assert (values["arch"], values["pack"], values["mbstd"], values["spectral_norm"]) == ("conv", 2, True, False)
    assert values["ema_beta"] == 0.99 and values["preset"] == "conv"


def test_pretrained_run_checks_the_hash_and_copies_into_the_cache(runs: dict[str, Path]) -> None:
    from mnistgan.pretrained import Pretrained, pretrained_run

    source = runs["ema"] / "generator.safetensors"
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    run = pretrained_run("x", {"x": Pretrained("g.safetensors", sha, "test")}, source)
    assert (run / "generator.safetensors").read_bytes() == source.read_bytes()
    assert run.is_relative_to(Path(os.environ["MNISTGAN_CACHE"]))  # outputs never land in the package
    with pytest.raises(UserError, match="is pinned"):
        pretrained_run("x", {"x": Pretrained("g.safetensors", "0" * 64, "test")}, source)


@pytest.mark.parametrize(("kind", "preset"), [("unconditional", "conv-clusters"), ("conditional", "conv-conditional")])
def test_shipped_generators_match_their_pins(kind: str, preset: str, tmp_path: Path) -> None:
    from mnistgan.pretrained import pretrained_run

    generator, config, step = load_generator(pretrained_run(kind))
    assert isinstance(generator, ConditionalGenerator) and isinstance(generator.body, ConvGenerator)
    assert (config.preset, config.seed, step) == (preset, 0, preset_config(preset).steps)
    # The label frequencies travel with G: 50 cluster shares, or the 10 digit shares of MNIST's training set.
    probs = generator.label_probs.numpy()
    assert len(probs) == config.n_labels and abs(probs.sum() - 1) < 1e-6 and probs.min() > 0.005
    args = ["sample", "--pretrained", "--n", "4", "--npz", str(tmp_path / "s.npz")]
    assert main(args + (["--digit", "3"] if kind == "conditional" else [])) == 0
    assert np.load(tmp_path / "s.npz")["images"].shape == (4, 28, 28)
