"""GAN objectives beyond the tutorial's: hinge, WGAN with gradient penalty, relativistic pairing (RpGAN) with
R1/R2 penalties, and feature matching.

Losses are pure functions of logits (or features). Penalties take the discriminator as a callable ``D(x) -> logits``
(for a conditional D pass ``lambda x: D(x, y)``) and return the *unweighted* penalty; the caller multiplies by its
weight, so every weight lives in the config next to its reason. ``pack`` is the PacGAN pack size of D: the
gradient norm is taken over each packed D input (m consecutive rows), which is what D sees as one point.

Every loss is also available through ``d_loss_fn(name)`` / ``g_loss_fn(name)``, which return callables with one
signature, ``(real_logits, fake_logits) -> loss``, so a training step can switch on ``config.loss`` in one place.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from mnistgan import losses
from mnistgan.errors import UserError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# Hinge (Lim & Ye 2017; used with spectral normalisation by Miyato et al. 2018).
def d_loss_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def g_loss_hinge(fake_logits: torch.Tensor) -> torch.Tensor:
    """-mean(D(G(z)))."""
    return -fake_logits.mean()


# Wasserstein (Arjovsky et al. 2017), with the gradient penalty of Gulrajani et al. 2017.
def d_loss_wgan(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """mean(D(G(z))) - mean(D(x)): the critic's loss (add lambda * gradient_penalty)."""
    return fake_logits.mean() - real_logits.mean()


def g_loss_wgan(fake_logits: torch.Tensor) -> torch.Tensor:
    """-mean(D(G(z)))."""
    return -fake_logits.mean()


# Relativistic pairing (Jolicoeur-Martineau 2019; Huang et al. 2024, R3GAN): real i is paired with fake i.
def d_loss_rpgan(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """mean(softplus(D(G(z_i)) - D(x_i))) = -mean(log sigmoid(D(x_i) - D(G(z_i))))."""
    return F.softplus(fake_logits - real_logits).mean()


def g_loss_rpgan(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """mean(softplus(D(x_i) - D(G(z_i)))): G's side of the pairing (needs D(x) too; no gradient flows to x)."""
    return F.softplus(real_logits - fake_logits).mean()


# Feature matching (Salimans et al. 2016, section 3.1).
def g_loss_feature_matching(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """||mean f(x) - mean f(G(z))||_2^2 over D's penultimate features (B, F); the real side is detached."""
    diff = real_features.detach().mean(dim=0) - fake_features.mean(dim=0)
    return diff.square().sum()


def _grad_sq_norms(D: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, pack: int) -> torch.Tensor:
    """||d sum D(x) / d input||^2 for each D input (B/pack,), with the graph kept for the backward pass."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return grad.reshape(x.shape[0] // pack, -1).square().sum(dim=1)  # pack consecutive rows form one input


def _check_pack(x: torch.Tensor, pack: int) -> None:
    if pack < 1 or x.shape[0] % pack:
        raise UserError(f"batch of {x.shape[0]} is not divisible by pack size {pack}")


def gradient_penalty(
    D: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    pack: int = 1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP: mean over D inputs of (||grad D(x_hat)||_2 - 1)^2, x_hat = eps x + (1 - eps) G(z).

    eps ~ U(0, 1) is drawn per D input (per sample; per pack of m samples with PacGAN), as Gulrajani et al.'s
    Algorithm 1 draws it per sample. Paper weight: lambda = 10.
    """
    _check_pack(real, pack)
    n = real.shape[0] // pack
    eps = torch.rand(n, device=real.device, dtype=real.dtype, generator=generator).repeat_interleave(pack)
    eps = eps.reshape(-1, *([1] * (real.dim() - 1)))  # (B, 1, ...) broadcast over pixels
    x_hat = eps * real.detach() + (1 - eps) * fake.detach()
    norms = (_grad_sq_norms(D, x_hat, pack) + 1e-12).sqrt()  # tiny floor: d sqrt(0) would be inf
    return (norms - 1).square().mean()


def r1_penalty(D: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, pack: int = 1) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): mean over real D inputs of ||grad_x D(x)||^2; the loss adds (gamma / 2) * R1."""
    _check_pack(real, pack)
    return _grad_sq_norms(D, real, pack).mean()


def r2_penalty(D: Callable[[torch.Tensor], torch.Tensor], fake: torch.Tensor, pack: int = 1) -> torch.Tensor:
    """R2 (R3GAN): R1's penalty on generated samples (detached from G); the loss adds (gamma / 2) * R2."""
    _check_pack(fake, pack)
    return _grad_sq_norms(D, fake, pack).mean()


# One signature for every objective: (real_logits, fake_logits) -> loss.
D_LOSSES: dict[str, LossFn] = {
    "nsgan": losses.d_loss_nsgan,
    "hinge": d_loss_hinge,
    "wgan": d_loss_wgan,
    "rpgan": d_loss_rpgan,
}
G_LOSSES: dict[str, LossFn] = {
    "nsgan": lambda real, fake: losses.g_loss_nsgan(fake),
    "hinge": lambda real, fake: g_loss_hinge(fake),
    "wgan": lambda real, fake: g_loss_wgan(fake),
    "rpgan": g_loss_rpgan,
}


def d_loss_fn(name: str) -> LossFn:
    """D's loss ``(real_logits, fake_logits) -> loss`` for an objective name."""
    if name not in D_LOSSES:
        raise UserError(f"unknown loss {name!r}; valid losses: {', '.join(D_LOSSES)}")
    return D_LOSSES[name]


def g_loss_fn(name: str) -> LossFn:
    """G's loss ``(real_logits, fake_logits) -> loss`` for an objective name (real_logits unused except rpgan)."""
    if name not in G_LOSSES:
        raise UserError(f"unknown loss {name!r}; valid losses: {', '.join(G_LOSSES)}")
    return G_LOSSES[name]
