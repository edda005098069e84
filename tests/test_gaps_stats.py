"""The step's logged statistics are the numbers they name, on both engines: not `0 < d_real < 1` (true of any mean of
sigmoids) but mean sigmoid(D(x)), mean sigmoid(D(G(z))), both losses and both gradient norms, computed directly."""

from __future__ import annotations

import copy

import pytest
import torch

from mnistgan.adam import make_optimizers
from mnistgan.config import TrainConfig
from mnistgan.models import build_discriminator, build_generator
from mnistgan.objectives import get_objective
from mnistgan.step import GANStep

B = 16


def _direct(G, D, real, z, loss: str) -> dict[str, float]:
    obj = get_objective(loss)
    logits = D(torch.cat([real, G(z)]))
    r, f = logits[:B], logits[B:]
    d_loss, g_loss = obj.d_loss(r, f), obj.g_loss(r, f)
    d_grads = torch.autograd.grad(d_loss, list(D.parameters()), retain_graph=True)
    g_grads = torch.autograd.grad(g_loss, list(G.parameters()))
    norm = lambda gs: torch.cat([g.flatten() for g in gs]).norm().item()  # noqa: E731
    return {
        "d_loss": d_loss.item(),
        "g_loss": g_loss.item(),
        "d_real": torch.sigmoid(r).mean().item(),
        "d_fake": torch.sigmoid(f).mean().item(),
        "d_grad_norm": norm(d_grads),
        "g_grad_norm": norm(g_grads),
    }


@pytest.mark.parametrize(("engine", "loss"), [("manual", "nsgan"), ("autograd", "nsgan"), ("autograd", "hinge")])
def test_stats_are_the_direct_numbers(engine: str, loss: str) -> None:
    config = TrainConfig(batch_size=B, g_hidden=32, d_hidden=32, loss=loss)
    torch.manual_seed(0)
    G, D = build_generator(config), build_discriminator(config)
    gen = torch.Generator().manual_seed(1)
    real, z = torch.rand(B, 784, generator=gen), torch.rand(B, 100, generator=gen) * 2 - 1
    expected = _direct(copy.deepcopy(G), copy.deepcopy(D), real, z, loss)
    assert abs(expected["d_real"] - expected["d_fake"]) > 1e-3  # a swap of real and fake rows would show
    opt_g, opt_d = make_optimizers(G, D, config, torch.device("cpu"))
    step = GANStep(G, D, opt_g, opt_d, get_objective(loss), engine=engine)
    got = step(real, z, stats=True).as_floats()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-4, abs=1e-7), key


def test_skipped_updates_report_zero_gradient_norms() -> None:
    config = TrainConfig(batch_size=B, g_hidden=32, d_hidden=32)
    torch.manual_seed(0)
    G, D = build_generator(config), build_discriminator(config)
    opt_g, opt_d = make_optimizers(G, D, config, torch.device("cpu"))
    real, z = torch.rand(B, 784), torch.rand(B, 100) * 2 - 1
    for engine in ("manual", "autograd"):
        step = GANStep(G, D, opt_g, opt_d, get_objective("nsgan"), engine=engine)
        d_only = step(real, z, update_g=False, stats=True).as_floats()
        assert d_only["g_grad_norm"] == 0.0 and d_only["d_grad_norm"] > 0
        g_only = step(real, z, update_d=False, stats=True).as_floats()
        assert g_only["d_grad_norm"] == 0.0 and g_only["g_grad_norm"] > 0
