"""G's gradient through the unrolled D, against autograd through unroll steps written out by hand.

The loss value after k surrogate steps is the same whether or not the steps are differentiated; only G's gradient
tells a second-order unroll (Metz et al.: G anticipates D's response) from a first-order one. So these tests compare
gradients, and first check that the two orders give gradients far enough apart to be told apart.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mnistgan.adam import make_optimizers
from mnistgan.config import preset_config
from mnistgan.models import build_discriminator, build_generator
from mnistgan.objectives import d_loss_fn, g_loss_fn, objective_from_config
from mnistgan.step import GANStep
from mnistgan.unrolled import adam_state, unrolled_g_loss

DL, GL = d_loss_fn("nsgan"), g_loss_fn("nsgan")
NAMES = ["0.weight", "0.bias", "2.weight", "2.bias"]


def _nets():
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(3, 6), nn.Sigmoid())
    D = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 1))
    return G, D, torch.rand(8, 6), torch.randn(8, 3)


def _d(theta: dict, x: torch.Tensor) -> torch.Tensor:
    """D written out: Linear -> ReLU -> Linear on explicit weights (B, 6) -> (B, 1)."""
    return F.linear(F.linear(x, theta["0.weight"], theta["0.bias"]).relu(), theta["2.weight"], theta["2.bias"])


def _by_hand(D, G, real, z, steps, lr, surrogate, second_order, betas=(0.5, 0.9), eps=1e-8, state=None):
    """G's gradient after `steps` hand-written D updates, each differentiated (second order) or not."""
    fake = G(z)
    theta = dict(D.named_parameters())
    m = {n: (state[n][0] if state else torch.zeros_like(p)) for n, p in theta.items()}
    v = {n: (state[n][1] if state else torch.zeros_like(p)) for n, p in theta.items()}
    t0 = state[NAMES[0]][2] if state else 0.0
    for i in range(steps):
        cur = theta if second_order else {n: p.detach().requires_grad_(True) for n, p in theta.items()}
        f = fake if second_order else fake.detach()
        loss = DL(_d(cur, real), _d(cur, f))
        grads = torch.autograd.grad(loss, [cur[n] for n in NAMES], create_graph=second_order)
        new = {}
        for n, g in zip(NAMES, grads):
            if surrogate == "sgd":
                new[n] = cur[n] - lr * g
                continue
            t = t0 + i + 1
            m[n] = betas[0] * m[n] + (1 - betas[0]) * g
            v[n] = betas[1] * v[n] + (1 - betas[1]) * g * g
            m_hat, v_hat = m[n] / (1 - betas[0] ** t), v[n] / (1 - betas[1] ** t)
            # sqrt'(0) is inf: where v_hat is 0 (a dead unit's weights) the root is a constant 0, as unrolled.py does
            pos = v_hat > 0
            new[n] = cur[n] - lr * m_hat / (torch.where(pos, torch.where(pos, v_hat, 1.0).sqrt(), 0.0) + eps)
        theta = new
    loss = GL(_d(theta, real), _d(theta, fake))
    return torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(G.parameters()))])


def _unrolled_grad(D, G, real, z, steps, lr, surrogate, second_order, **kw):
    loss = unrolled_g_loss(D, DL, GL, real, G(z), steps, lr, surrogate, second_order=second_order, **kw)
    return torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(G.parameters()))])


def _adam_moments(D, G, real, z):
    """Three real Adam steps of D, so the surrogate starts from non-zero moments and step count 3."""
    opt = torch.optim.Adam(D.parameters(), lr=0.05, betas=(0.5, 0.9))
    for _ in range(3):
        opt.zero_grad()
        DL(D(real), D(G(z).detach())).backward()
        opt.step()
    state = adam_state(D, opt)
    assert state[NAMES[0]][2] == 3.0 and state[NAMES[0]][1].abs().sum() > 0
    return state


@pytest.mark.parametrize("surrogate", ["sgd", "adam"])
def test_g_gradient_is_second_order_through_every_unroll_step(surrogate: str) -> None:
    G, D, real, z = _nets()
    kw = {} if surrogate == "sgd" else {"betas": (0.5, 0.9), "adam": _adam_moments(D, G, real, z)}
    lr = 1.0 if surrogate == "sgd" else 0.1
    first = _by_hand(D, G, real, z, 3, lr, surrogate, False, state=kw.get("adam"))
    second = _by_hand(D, G, real, z, 3, lr, surrogate, True, state=kw.get("adam"))
    assert (second - first).norm() > 0.05 * second.norm()  # the orders differ: this test can tell them apart
    got = _unrolled_grad(D, G, real, z, 3, lr, surrogate, True, **kw)
    torch.testing.assert_close(got, second, rtol=1e-4, atol=1e-7)
    got_first = _unrolled_grad(D, G, real, z, 3, lr, surrogate, False, **kw)
    torch.testing.assert_close(got_first, first, rtol=1e-4, atol=1e-7)


def test_zero_steps_gradient_is_the_plain_gradient() -> None:
    G, D, real, z = _nets()
    plain = torch.autograd.grad(GL(D(real), D(G(z))), list(G.parameters()))
    got = _unrolled_grad(D, G, real, z, 0, 1.0, "sgd", True)
    torch.testing.assert_close(got, torch.cat([g.flatten() for g in plain]))


def test_training_step_uses_the_second_order_gradient() -> None:
    """GANStep with unroll_steps: the gradient it leaves in G's .grad is the second-order one (D's Adam state)."""
    config = preset_config("unrolled5", batch_size=8, g_hidden=16, d_hidden=16, z_dim=4, unroll_steps=2, lr_d=0.05)
    torch.manual_seed(0)
    G, D = build_generator(config), build_discriminator(config)
    opt_g, opt_d = make_optimizers(G, D, config, torch.device("cpu"))
    step = GANStep(G, D, opt_g, opt_d, objective_from_config(config))
    gen = torch.Generator().manual_seed(1)
    real, z = torch.rand(8, 784, generator=gen), torch.rand(8, 4, generator=gen) * 2 - 1
    step(real, z)  # one step, so D's Adam has moments
    G2, D2 = copy.deepcopy(G), copy.deepcopy(D)
    group = opt_d.param_groups[0]
    kw = dict(betas=group["betas"], eps=group["eps"], adam=adam_state(D, opt_d))
    grads = {}
    for order in (True, False):
        loss = unrolled_g_loss(D2, DL, GL, real, G2(z), 2, group["lr"], second_order=order, **kw)
        grads[order] = torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(G2.parameters()))])
    assert (grads[True] - grads[False]).norm() > 1e-3 * grads[True].norm()
    step(real, z)
    got = torch.cat([p.grad.flatten() for p in G.parameters()])
    torch.testing.assert_close(got, grads[True], rtol=1e-4, atol=1e-8)
