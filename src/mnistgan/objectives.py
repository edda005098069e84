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
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

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


def mode_seeking_loss(fake: torch.Tensor, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """MSGAN's regulariser (Mao et al. 2019): 1 / (d_img / d_z + 1e-5), to be minimised by G.

    d_img / d_z is the mean L1 distance between paired images over the mean L1 distance between their noise
    vectors: it is small when G maps different z to the same image, which is what a conditional G does when it
    ignores z. Images (B, 784) in [0, 1] are measured on the [-1, 1] scale of the paper's DCGAN, so the paper's
    weight (lambda = 1) keeps its meaning. Pairs are rows with the same label (consecutive rows once sorted by label;
    a row left without a partner of its label is weighted 0), or rows i and i + B/2 when labels is None.
    """
    if labels is None:
        half = fake.shape[0] // 2
        a, b = torch.arange(half, device=fake.device), torch.arange(half, 2 * half, device=fake.device)
        weight = torch.ones(half, device=fake.device, dtype=fake.dtype)
    else:
        order = torch.argsort(labels, stable=True)
        a, b = order[0:-1:2], order[1::2]  # sorted neighbours: same label unless at a class boundary
        weight = (labels[a] == labels[b]).to(fake.dtype)
    d_img = 2 * (fake[a] - fake[b]).abs().mean(dim=1)  # (pairs,), [-1, 1] scale
    d_z = (z[a] - z[b]).abs().mean(dim=1)  # (pairs,)
    ratio = (weight * d_img).sum() / (weight * d_z).sum().clamp_min(1e-12)
    return 1.0 / (ratio + 1e-5)


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


# The objective bundle the training step runs ---------------------------------------------------------------


@dataclass(frozen=True)
class Objective:
    """A GAN loss pair on discriminator logits, plus (optionally) its closed-form gradient for the fast engine.

    d_loss(real_logits, fake_logits) and g_loss(real_logits, fake_logits) return scalars; logits are (B, 1).
    logit_grads(real_logits, fake_logits) -> (dD/dreal, dD/dfake, dG/dfake), each (B, 1): the derivative of the D loss
    with respect to the real and fake logits and of the G loss with respect to the fake logits (the G loss's
    dependence on real logits, as in relativistic losses, reaches only D's parameters, which the G loss never updates).
    None means the loss has no closed form here and the step uses autograd.
    d_penalty(D, real, fake) -> scalar is added to the D loss (weight included: e.g. 10 * gradient_penalty, or
    gamma / 2 * (R1 + R2)); it needs input gradients, so a penalty sends the step to the autograd engine. D there is
    a callable x -> logits (for a conditional D, bound to the batch's labels).
    Two hooks replace G's loss, both autograd only: ``feature_matching`` (Salimans et al. 2016: the squared distance
    between the mean penultimate D features of the real and the fake batch) and ``unroll_steps`` = k > 0 (Metz et
    al. 2017: G's loss against D after k differentiable surrogate Adam steps from D's current weights and moments).
    ``mode_seeking`` = lambda > 0 adds lambda * mode_seeking_loss to G's loss (Mao et al. 2019), autograd only.
    """

    name: str
    d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    logit_grads: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] | None = None
    d_penalty: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    feature_matching: bool = False
    unroll_steps: int = 0
    mode_seeking: float = 0.0


# Closed-form logit gradients; each loss is a mean over the B rows, hence the 1/B. At a kink (hinge) they take the
# one-sided value autograd takes (relu'(0) = 0), so both engines agree exactly there too.
def _nsgan_grads(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # d/dl softplus(-l) = sigmoid(l) - 1 and d/dl softplus(l) = sigmoid(l).
    inv_b = 1.0 / real.shape[0]
    d_fake = torch.sigmoid(fake).mul_(inv_b)
    return torch.sigmoid(real).sub_(1.0).mul_(inv_b), d_fake, d_fake - inv_b


def _hinge_grads(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    inv_b = 1.0 / real.shape[0]
    return (real < 1).to(real.dtype).mul_(-inv_b), (fake > -1).to(fake.dtype).mul_(inv_b), torch.full_like(fake, -inv_b)


def _wgan_grads(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    inv_b = 1.0 / real.shape[0]
    return torch.full_like(real, -inv_b), torch.full_like(fake, inv_b), torch.full_like(fake, -inv_b)


def _rpgan_grads(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # D: softplus(f - r) -> sigmoid(f - r) * (-1, +1); G: softplus(r - f) -> -sigmoid(r - f) for the fake logit.
    inv_b = 1.0 / real.shape[0]
    d_fake = torch.sigmoid(fake - real).mul_(inv_b)
    return -d_fake, d_fake, torch.sigmoid(real - fake).mul_(-inv_b)


CLOSED_FORM_GRADS = {"nsgan": _nsgan_grads, "hinge": _hinge_grads, "wgan": _wgan_grads, "rpgan": _rpgan_grads}


def get_objective(
    name: str,
    d_penalty: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    feature_matching: bool = False,
    unroll_steps: int = 0,
    mode_seeking: float = 0.0,
) -> Objective:
    """The objective `name` from mnistgan.objectives, with its closed-form logit gradients where known."""
    grads = CLOSED_FORM_GRADS.get(name)
    hooks = (feature_matching, unroll_steps, mode_seeking)
    return Objective(name, d_loss_fn(name), g_loss_fn(name), grads, d_penalty, *hooks)


def objective_from_config(config) -> Objective:  # noqa: ANN001 - config: TrainConfig
    """The config's loss with its penalties (weights from the config) and G-loss hooks, as one Objective."""
    terms = []  # (weight, which, fn): the penalty on D inputs of one source at a time, pack-aware
    pack = config.pack
    if config.gp_weight:
        terms.append(lambda D, real, fake: config.gp_weight * gradient_penalty(D, real, fake, pack))
    if config.r1_gamma:
        terms.append(lambda D, real, fake: config.r1_gamma / 2 * r1_penalty(D, real, pack))
    if config.r2_gamma:
        terms.append(lambda D, real, fake: config.r2_gamma / 2 * r2_penalty(D, fake, pack))

    def penalty(D: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return sum(term(D, real, fake) for term in terms)

    hooks = (config.feature_matching, config.unroll_steps, config.mode_seeking)
    return get_objective(config.loss, penalty if terms else None, *hooks)
