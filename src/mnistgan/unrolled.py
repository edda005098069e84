"""Unrolled discriminator for the generator's update (Metz et al. 2017).

G's loss is taken against D_k, the discriminator after k differentiable update steps from its current weights:
theta_{i+1} = update(theta_i, grad_theta L_D(theta_i; x, G(z))). With ``second_order=True`` the G gradient flows
through every update (G's samples enter each D loss), which is what lets G anticipate D's response; with False
the D steps are taken on detached weights and only the final D_k is differentiated (cheaper, the paper's
first-order ablation).

Choices, following the authors' code (github.com/poolio/unrolled_gan): the k steps reuse the step's batch of real
images and the same z, and the surrogate update is Adam started from the real D optimizer's current moments and
step count (``surrogate="adam"``, the default; pass the state with ``adam_state``). ``surrogate="sgd"`` takes plain
gradient steps of size lr. The real D is never modified: its parameters are read, never written, and buffers (spectral
norm's power-iteration vectors) are cloned before the functional calls, so D's own step is unaffected.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call

from mnistgan.errors import UserError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def adam_state(D: nn.Module, opt: torch.optim.Optimizer) -> dict[str, tuple[torch.Tensor, torch.Tensor, float]]:
    """{param name: (exp_avg, exp_avg_sq, step)}: a copy of D's Adam state (zeros before its first step)."""
    state = {}
    for name, p in D.named_parameters():
        s = opt.state.get(p, {})
        if "exp_avg" in s:
            # Clones: the real optimizer updates its moments in place, which must not reach this snapshot.
            state[name] = (s["exp_avg"].detach().clone(), s["exp_avg_sq"].detach().clone(), float(s["step"]))
        else:
            state[name] = (torch.zeros_like(p), torch.zeros_like(p), 0.0)
    return state


def unrolled_params(
    D: nn.Module,
    d_loss: LossFn,
    real: torch.Tensor,
    fake: torch.Tensor,
    steps: int,
    lr: float,
    surrogate: str = "adam",
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    adam: dict[str, tuple[torch.Tensor, torch.Tensor, float]] | None = None,
    second_order: bool = True,
    forward: Callable[..., torch.Tensor] | None = None,
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """D's parameters after `steps` surrogate updates on (real, fake), and the cloned buffers to call it with.

    ``forward(params_and_buffers, x)`` evaluates D functionally (default: ``functional_call(D, pb, (x,))``) on
    x = cat([real, fake]); pass one for a conditional D, e.g. ``lambda pb, x: functional_call(D, pb, (x, y))``
    with y = cat([y_real, y_fake]).
    """
    if surrogate not in ("adam", "sgd"):
        raise UserError(f"unrolled surrogate must be adam or sgd, got {surrogate!r}")
    if steps < 0:
        raise UserError(f"unroll steps must be >= 0, got {steps}")
    call = forward or (lambda pb, x: functional_call(D, pb, (x,)))
    names = [n for n, _ in D.named_parameters()]
    params = {n: p for n, p in D.named_parameters()}
    buffers = {n: b.clone() for n, b in D.named_buffers()}  # clones take spectral norm's in-place u, v updates
    state = adam or {n: (torch.zeros_like(p), torch.zeros_like(p), 0.0) for n, p in params.items()}
    m = {n: state[n][0] for n in names}
    v = {n: state[n][1] for n in names}
    t0 = {n: state[n][2] for n in names}
    real = real.detach()
    B = real.shape[0]
    b1, b2 = betas
    for i in range(steps):
        current = params if second_order else {n: p.detach().requires_grad_(True) for n, p in params.items()}
        x = torch.cat([real, fake if second_order else fake.detach()])
        logits = call({**current, **buffers}, x)
        n_real = logits.shape[0] * B // x.shape[0]  # B / pack rows score the real half
        loss = d_loss(logits[:n_real], logits[n_real:])
        grads = torch.autograd.grad(loss, [current[n] for n in names], create_graph=second_order)
        new = {}
        for n, g in zip(names, grads):
            if surrogate == "sgd":
                new[n] = current[n] - lr * g
                continue
            t = t0[n] + i + 1
            m[n] = b1 * m[n] + (1 - b1) * g
            v[n] = b2 * v[n] + (1 - b2) * g * g
            m_hat, v_hat = m[n] / (1 - b1**t), v[n] / (1 - b2**t)
            # torch.optim.Adam's update; sqrt is taken of 1 where v_hat = 0 (and masked), so its derivative stays
            # finite for parameters that got no gradient (inf * 0 would be NaN).
            positive = v_hat > 0
            root = torch.where(positive, torch.where(positive, v_hat, 1.0).sqrt(), 0.0)
            new[n] = current[n] - lr * m_hat / (root + eps)
        params = new
    return params, buffers


def unrolled_g_loss(
    D: nn.Module,
    d_loss: LossFn,
    g_loss: LossFn,
    real: torch.Tensor,
    fake: torch.Tensor,
    steps: int,
    lr: float,
    surrogate: str = "adam",
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    adam: dict[str, tuple[torch.Tensor, torch.Tensor, float]] | None = None,
    second_order: bool = True,
    forward: Callable[..., torch.Tensor] | None = None,
) -> torch.Tensor:
    """G's loss ``g_loss(D_k(real), D_k(fake))`` against D unrolled `steps` updates; backprop it into G only.

    real (B, ...) is the step's real batch, fake = G(z) (B, ...) with its graph to G. With steps = 0 this equals
    the ordinary G loss against D.
    """
    params, buffers = unrolled_params(
        D, d_loss, real, fake, steps, lr, surrogate, betas, eps, adam, second_order, forward
    )
    call = forward or (lambda pb, x: functional_call(D, pb, (x,)))
    x = torch.cat([real.detach(), fake])
    logits = call({**params, **buffers}, x)
    n_real = logits.shape[0] * real.shape[0] // x.shape[0]
    return g_loss(logits[:n_real], logits[n_real:])
