"""Objectives against closed forms, and penalties against finite differences on a tiny network."""

import math

import pytest
import torch
from torch import nn

from mnistgan import losses
from mnistgan.errors import UserError
from mnistgan.layers import pack
from mnistgan.objectives import (
    d_loss_fn,
    d_loss_hinge,
    d_loss_rpgan,
    d_loss_wgan,
    g_loss_feature_matching,
    g_loss_fn,
    g_loss_hinge,
    g_loss_rpgan,
    gradient_penalty,
    r1_penalty,
    r2_penalty,
)

R = torch.tensor([2.0, 0.5, -1.0])
F_ = torch.tensor([-2.0, 0.0, 1.5])


def test_hinge_wgan_rpgan_closed_forms():
    # relu(1 - r) = [0, .5, 2] mean 2.5/3; relu(1 + f) = [0, 1, 2.5] mean 3.5/3.
    assert d_loss_hinge(R, F_).item() == pytest.approx(6 / 3)
    assert g_loss_hinge(F_).item() == pytest.approx(0.5 / 3)
    assert d_loss_wgan(R, F_).item() == pytest.approx(-0.5 / 3 - 1.5 / 3)
    sp = lambda t: math.log1p(math.exp(t))  # noqa: E731
    assert d_loss_rpgan(R, F_).item() == pytest.approx((sp(-4) + sp(-0.5) + sp(2.5)) / 3, rel=1e-6)
    assert g_loss_rpgan(R, F_).item() == pytest.approx((sp(4) + sp(0.5) + sp(-2.5)) / 3, rel=1e-6)
    assert d_loss_fn("nsgan") is losses.d_loss_nsgan
    assert g_loss_fn("rpgan")(R, F_) == g_loss_rpgan(R, F_)
    assert g_loss_fn("hinge")(R, F_) == g_loss_hinge(F_)
    with pytest.raises(UserError, match="valid losses"):
        d_loss_fn("bogus")


def test_feature_matching_closed_form_and_gradient_only_to_fake():
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)  # mean [2, 3]
    fake = torch.tensor([[0.0, 1.0], [1.0, 0.0]], requires_grad=True)  # mean [.5, .5]
    loss = g_loss_feature_matching(real, fake)
    assert loss.item() == pytest.approx(1.5**2 + 2.5**2)
    loss.backward()
    assert real.grad is None
    assert torch.allclose(fake.grad, torch.tensor([[-1.5, -2.5], [-1.5, -2.5]]))  # -2 (mu_r - mu_f) / B


def _tiny_d() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()


def _fd_grad(fn, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """Central finite-difference gradient of a scalar fn at x."""
    grad = torch.zeros_like(x)
    for idx in range(x.numel()):
        e = torch.zeros_like(x).flatten()
        e[idx] = h
        e = e.reshape(x.shape)
        grad.view(-1)[idx] = (fn(x + e) - fn(x - e)) / (2 * h)
    return grad


@pytest.mark.parametrize("m", [1, 2])
def test_gradient_penalty_matches_finite_differences(m):
    D = _tiny_d()
    critic = lambda x: D(pack(x, m) if m > 1 else x)  # noqa: E731
    if m > 1:
        D = nn.Sequential(nn.Linear(3 * m, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    real, fake = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    gp = gradient_penalty(critic, real, fake, pack=m, generator=torch.Generator().manual_seed(7))
    eps = torch.rand(4 // m, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    eps = eps.repeat_interleave(m)[:, None]
    x_hat = eps * real + (1 - eps) * fake
    expect = 0.0
    with torch.no_grad():
        for k in range(4 // m):
            rows = slice(k * m, (k + 1) * m)
            fn = lambda v, rows=rows: critic(torch.cat([x_hat[: rows.start], v, x_hat[rows.stop :]])).sum()  # noqa: E731
            g = _fd_grad(fn, x_hat[rows].clone())
            expect += (g.norm() - 1) ** 2
    assert gp.item() == pytest.approx(expect.item() / (4 // m), rel=1e-6)
    gp.backward()  # the penalty is differentiable in D's weights (create_graph); the output bias does not enter
    assert D[0].weight.grad is not None and D[0].weight.grad.abs().sum() > 0


def test_gradient_penalty_draws_eps_per_sample():
    D = lambda x: (x**2).sum(1, keepdim=True)  # noqa: E731 - grad 2x, norm 2|x|
    real, fake = torch.ones(64, 1), torch.zeros(64, 1)
    # x_hat = eps: one shared eps would give (2 eps - 1)^2 for all; per-sample eps gives E(2U - 1)^2 = 1/3.
    gp = gradient_penalty(D, real, fake, generator=torch.Generator().manual_seed(0))
    eps = torch.rand(64, generator=torch.Generator().manual_seed(0))
    assert gp.item() == pytest.approx(((2 * eps - 1) ** 2).mean().item(), rel=1e-5)
    assert eps.std() > 0.2


def test_r1_r2_hand_computation():
    w = torch.tensor([[1.0], [-2.0], [2.0]])
    linear = lambda x: x @ w + 0.3  # noqa: E731 - gradient w for every sample: R1 = ||w||^2 = 9
    x = torch.randn(5, 3)
    assert r1_penalty(linear, x).item() == pytest.approx(9.0)
    quad = lambda x: (x**2).sum(1, keepdim=True)  # noqa: E731 - gradient 2x: R1 = mean 4 ||x||^2
    assert r1_penalty(quad, x).item() == pytest.approx((4 * (x**2).sum(1)).mean().item(), rel=1e-6)
    assert r2_penalty(quad, 2 * x).item() == pytest.approx((16 * (x**2).sum(1)).mean().item(), rel=1e-6)
    # Packed D: one input is two rows; the squared norm sums over both, averaged over the 2 inputs.
    w2 = torch.randn(6, 1)
    packed = lambda x: pack(x, 2) @ w2  # noqa: E731
    assert r1_penalty(packed, torch.randn(4, 3), pack=2).item() == pytest.approx((w2**2).sum().item(), rel=1e-6)
    with pytest.raises(UserError, match="not divisible by pack size 2"):
        r1_penalty(packed, torch.randn(3, 3), pack=2)
