"""The least-squares loss (Mao et al. 2017), added through the loss registry: its values against the paper's
formulas, its closed-form logit gradients against autograd, and the fast engine equal to autograd on it."""

from __future__ import annotations

import torch

from mnistgan.adam import make_optimizers
from mnistgan.config import preset_config
from mnistgan.models import build_discriminator, build_generator
from mnistgan.objectives import LOSSES, get_objective, objective_from_config
from mnistgan.step import GANStep


def test_values_are_the_papers_formulas() -> None:
    real, fake = torch.tensor([[2.0], [0.0], [1.0]]), torch.tensor([[0.5], [-1.0], [3.0]])
    loss = LOSSES["lsgan"]
    # D: 0.5 * mean((r - 1)^2) + 0.5 * mean(f^2) = 0.5 * (1 + 1 + 0) / 3 + 0.5 * (0.25 + 1 + 9) / 3
    assert loss.d_loss(real, fake).item() == torch.tensor(0.5 * 2 / 3 + 0.5 * 10.25 / 3).item()
    # G: 0.5 * mean((f - 1)^2) = 0.5 * (0.25 + 4 + 4) / 3
    assert abs(loss.g_loss(real, fake).item() - 0.5 * 8.25 / 3) < 1e-7


def test_logit_grads_match_autograd() -> None:
    real = torch.randn(16, 1, dtype=torch.float64, requires_grad=True)
    fake = torch.randn(16, 1, dtype=torch.float64, requires_grad=True)
    loss = LOSSES["lsgan"]
    d_real, d_fake = torch.autograd.grad(loss.d_loss(real, fake), (real, fake))
    (g_fake,) = torch.autograd.grad(loss.g_loss(real, fake), fake)
    closed = loss.logit_grads(real.detach(), fake.detach())
    for got, want in zip(closed, (d_real, d_fake, g_fake)):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-15)


def test_preset_runs_the_fast_engine_equal_to_autograd() -> None:
    config = preset_config("lsgan", batch_size=32)
    assert objective_from_config(config).terms == () and config.loss == "lsgan"
    weights = {}
    for engine in ("manual", "autograd"):
        torch.manual_seed(0)
        G, D = build_generator(config), build_discriminator(config)
        opt_g, opt_d = make_optimizers(G, D, config, torch.device("cpu"))
        step = GANStep(G, D, opt_g, opt_d, get_objective("lsgan"), engine=engine)
        gen = torch.Generator().manual_seed(1)
        for _ in range(5):
            step(torch.rand(32, 784, generator=gen), torch.rand(32, 100, generator=gen) * 2 - 1)
        weights[engine] = [p.detach().clone() for p in (*G.parameters(), *D.parameters())]
    moved = [(a - b).abs().max().item() for a, b in zip(weights["manual"], weights["autograd"])]
    assert max(moved) < 1e-5  # the same update from both engines, to float tolerance
