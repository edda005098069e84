"""Option combinations that pass validation but no preset uses: penalties with PacGAN's pack > 1, and an EMA of G
with n_critic > 1 (the average moves only on the steps where G moved)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mnistgan.checkpoint import load_resume
from mnistgan.config import preset_config
from mnistgan.models import build_discriminator
from mnistgan.objectives import gradient_penalty, objective_from_config, r1_penalty, r2_penalty
from mnistgan.train import train

B, PACK = 8, 2


def _packed_d(**overrides):
    config = preset_config("pacgan2", batch_size=B, **overrides)
    torch.manual_seed(0)
    return config, build_discriminator(config)


def _input_grad_sq(D, x: torch.Tensor, pack: int) -> torch.Tensor:
    """By hand: ||d sum D / d input||^2 for each packed D input, the input being `pack` consecutive rows."""
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x)
    return grad.reshape(len(x) // pack, pack * x.shape[1]).square().sum(1)  # (B/pack,)


def test_r1_r2_with_pack_by_hand() -> None:
    config, D = _packed_d(r1_gamma=3.0, r2_gamma=2.0)
    gen = torch.Generator().manual_seed(1)
    real, fake = torch.rand(B, 784, generator=gen), torch.rand(B, 784, generator=gen)
    r1, r2 = _input_grad_sq(D, real, PACK).mean(), _input_grad_sq(D, fake, PACK).mean()
    assert r1_penalty(D, real, PACK).item() == pytest.approx(r1.item(), rel=1e-5)
    assert r2_penalty(D, fake, PACK).item() == pytest.approx(r2.item(), rel=1e-5)
    # The pack matters: per-row norms (pack 1) of the same gradient give another number (sum over the pack vs mean).
    assert abs(_input_grad_sq(D, fake, 1).mean().item() - r2.item()) > 0.2 * r2.item()
    penalty = objective_from_config(config).d_penalty(D, real, fake)
    assert penalty.item() == pytest.approx(3.0 / 2 * r1.item() + 2.0 / 2 * r2.item(), rel=1e-5)
    only_r2 = objective_from_config(preset_config("pacgan2", batch_size=B, r2_gamma=2.0)).d_penalty(D, real, fake)
    assert only_r2.item() == pytest.approx(r2.item(), rel=1e-5)


def test_gradient_penalty_with_pack_by_hand() -> None:
    config, D = _packed_d(gp_weight=10.0, loss="wgan")
    gen = torch.Generator().manual_seed(2)
    real, fake = torch.rand(B, 784, generator=gen), torch.rand(B, 784, generator=gen)
    torch.manual_seed(7)
    eps = torch.rand(B // PACK).repeat_interleave(PACK)[:, None]  # one eps per packed input, from the global RNG
    norms = _input_grad_sq(D, eps * real + (1 - eps) * fake, PACK).sqrt()
    expected = ((norms - 1) ** 2).mean().item()
    torch.manual_seed(7)
    assert gradient_penalty(D, real, fake, PACK).item() == pytest.approx(expected, rel=1e-4)
    torch.manual_seed(7)
    assert objective_from_config(config).d_penalty(D, real, fake).item() == pytest.approx(10 * expected, rel=1e-4)


def _run(data_dir: Path, out: Path, steps: int) -> dict:
    values = dict(steps=steps, batch_size=16, data_dir=str(data_dir), device="cpu", log_every=1, print_every=100)
    values.update(snapshot_every=100, checkpoint_every=100, n_critic=3, ema_beta=0.9)
    return load_resume(train(preset_config("tutorial", **values), out, quiet=True) / "resume.pt")


def test_ema_moves_only_when_g_moved(tiny_data_dir: Path, tmp_path: Path) -> None:
    """n_critic 3: G steps at 3, 6, 9; the average takes exactly those three updates (warm-up betas 1/10, 2/11,
    3/12), never the unchanged G of the steps in between."""
    states = {s: _run(tiny_data_dir, tmp_path / str(s), s) for s in (2, 3, 6, 9)}
    start = states[2]  # G has not moved after 2 steps: the average is still G's initial weights
    assert start["ema"]["num_updates"] == 0
    for key, value in start["ema"]["model"].items():
        assert torch.equal(value, start["G"][key]), key
    assert [states[s]["ema"]["num_updates"] for s in (3, 6, 9)] == [1, 2, 3]
    expected = dict(start["G"])
    for t, s in enumerate((3, 6, 9)):
        beta = (1 + t) / (10 + t)
        expected = {k: beta * v + (1 - beta) * states[s]["G"][k] for k, v in expected.items()}
    for key, value in states[9]["ema"]["model"].items():
        torch.testing.assert_close(value, expected[key], rtol=1e-5, atol=1e-7)
