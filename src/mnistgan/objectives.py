"""GAN objectives as data: a loss is one registered ``Loss`` (its D and G losses on logits, and their closed-form
logit gradients where there are any), and every other remedy term (penalties on D, terms that add to or replace
G's loss) is one ``Term`` that declares what it needs. The training step (step.py) loops over the terms it is given
and picks its engine from what they declare; it never asks which remedy it runs.

The mathematics are pure functions: losses of logits (or features), and penalties that take the discriminator as a
callable ``D(x) -> logits`` (for a conditional D, ``lambda x: D(x, y)``) and return the *unweighted* penalty; a term
multiplies by its weight, so every weight lives in the config next to its reason. ``pack`` is the PacGAN pack size
of D: the gradient norm is taken over each packed D input (m consecutive rows), which is what D sees as one point.

Adding a loss: its two functions, its closed-form logit gradients if it has them, and one ``register_loss`` call
below. Adding a term: one ``Term`` subclass and one ``@register_term("config_field")`` builder (CONTRIBUTING.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

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


# Least squares (Mao et al. 2017, the 0-1 coding a = 0, b = c = 1 of their eq. 2): D regresses its raw output to 1
# on real and 0 on fake, G pulls D(G(z)) towards 1. The output is not a probability: no sigmoid anywhere.
def d_loss_lsgan(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """0.5 mean((D(x) - 1)^2) + 0.5 mean(D(G(z))^2)."""
    return 0.5 * (real_logits - 1).square().mean() + 0.5 * fake_logits.square().mean()


def g_loss_lsgan(fake_logits: torch.Tensor) -> torch.Tensor:
    """0.5 mean((D(G(z)) - 1)^2)."""
    return 0.5 * (fake_logits - 1).square().mean()


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


# Losses ----------------------------------------------------------------------------------------------------------

LogitGrads = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class Loss:
    """A GAN loss pair on discriminator logits (B, 1): d_loss and g_loss, both ``(real_logits, fake_logits) ->
    scalar``; logit_grads, where the loss has a closed form, gives (dD/dreal, dD/dfake, dG/dfake) (B, 1) each, which
    is all the fast engine needs (G's dependence on real logits, as in relativistic losses, reaches only D's
    parameters, which G's loss never updates)."""

    name: str
    d_loss: LossFn
    g_loss: LossFn
    logit_grads: LogitGrads | None = None
    source: str = ""  # the paper, for --help and the docs


LOSSES: dict[str, Loss] = {}


def register_loss(loss: Loss) -> Loss:
    """Add a loss to LOSSES (the config's and the CLI's choices come from this dict)."""
    if loss.name in LOSSES:
        raise ValueError(f"loss {loss.name!r} registered twice")
    LOSSES[loss.name] = loss
    return loss


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


register_loss(
    Loss(
        "nsgan",
        losses.d_loss_nsgan,
        lambda real, fake: losses.g_loss_nsgan(fake),
        _nsgan_grads,
        "Goodfellow et al. 2014, non-saturating G (the tutorial's)",
    )
)
register_loss(Loss("hinge", d_loss_hinge, lambda real, fake: g_loss_hinge(fake), _hinge_grads, "Lim & Ye 2017"))
register_loss(Loss("wgan", d_loss_wgan, lambda real, fake: g_loss_wgan(fake), _wgan_grads, "Arjovsky et al. 2017"))
register_loss(Loss("rpgan", d_loss_rpgan, g_loss_rpgan, _rpgan_grads, "Jolicoeur-Martineau 2019; Huang et al. 2024"))


def _lsgan_grads(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # d/dl 0.5 (l - t)^2 = l - t, over B rows.
    inv_b = 1.0 / real.shape[0]
    return (real - 1).mul_(inv_b), fake.mul(inv_b), (fake - 1).mul_(inv_b)


register_loss(Loss("lsgan", d_loss_lsgan, lambda real, fake: g_loss_lsgan(fake), _lsgan_grads, "Mao et al. 2017"))

CLOSED_FORM_GRADS = {name: loss.logit_grads for name, loss in LOSSES.items() if loss.logit_grads is not None}


def get_loss(name: str) -> Loss:
    """The registered loss `name`; an unknown name lists the valid ones."""
    if name not in LOSSES:
        raise UserError(f"unknown loss {name!r}; valid losses: {', '.join(LOSSES)}")
    return LOSSES[name]


def d_loss_fn(name: str) -> LossFn:
    """D's loss ``(real_logits, fake_logits) -> loss`` for a loss name."""
    return get_loss(name).d_loss


def g_loss_fn(name: str) -> LossFn:
    """G's loss ``(real_logits, fake_logits) -> loss`` for a loss name (real_logits unused except by rpgan)."""
    return get_loss(name).g_loss


# Terms ----------------------------------------------------------------------------------------------------------


@dataclass
class TermContext:
    """What a term may read in the autograd step. real and fake (B, ...) are the step's batches (fake with its graph
    to G), z (B, z_dim) its noise, labels (B,) or None; D(x) scores one source's rows (bound to labels);
    features = (real, fake) penultimate D features when a term asked for them; step is the GANStep (D, opt_d, loss)."""

    real: torch.Tensor
    fake: torch.Tensor
    z: torch.Tensor | None  # None where only D terms run (Objective.d_penalty)
    labels: torch.Tensor | None
    D: Callable[[torch.Tensor], torch.Tensor]
    features: tuple[torch.Tensor, torch.Tensor] | None
    step: Any


class Term:
    """One remedy term of the step's losses. ``on``: "D" (added to D's loss, on steps where D moves) or "G" (added to
    G's loss, or replacing it when ``replaces_g_loss``). What it needs is declared, and the step decides from it:
    any term sends the step to the autograd engine; ``double_backward`` (input gradients of D inside the loss)
    rules out torch.compile; ``needs_features`` asks D for its penultimate features; a G term with
    ``when_g_idle`` is computed even on steps where G does not move (for the logged G loss)."""

    on: ClassVar[str] = "D"
    replaces_g_loss: ClassVar[bool] = False
    double_backward: ClassVar[bool] = False
    needs_features: ClassVar[bool] = False
    when_g_idle: ClassVar[bool] = False

    def __call__(self, ctx: TermContext) -> torch.Tensor:
        """The weighted term, a scalar."""
        raise NotImplementedError


@dataclass
class GradientPenalty(Term):
    """WGAN-GP (Gulrajani et al. 2017): weight * gradient_penalty on interpolates of real and fake."""

    weight: float
    pack: int = 1
    double_backward: ClassVar[bool] = True

    def __call__(self, ctx: TermContext) -> torch.Tensor:
        return self.weight * gradient_penalty(ctx.D, ctx.real, ctx.fake, self.pack)


@dataclass
class R1Penalty(Term):
    """R1 (Mescheder et al. 2018): gamma / 2 * mean ||grad D(x)||^2 on real inputs."""

    gamma: float
    pack: int = 1
    double_backward: ClassVar[bool] = True

    def __call__(self, ctx: TermContext) -> torch.Tensor:
        return self.gamma / 2 * r1_penalty(ctx.D, ctx.real, self.pack)


@dataclass
class R2Penalty(Term):
    """R2 (Huang et al. 2024): gamma / 2 * mean ||grad D(G(z))||^2 on generated inputs (detached from G)."""

    gamma: float
    pack: int = 1
    double_backward: ClassVar[bool] = True

    def __call__(self, ctx: TermContext) -> torch.Tensor:
        return self.gamma / 2 * r2_penalty(ctx.D, ctx.fake, self.pack)


@dataclass
class CustomPenalty(Term):
    """Any callable ``(D, real, fake) -> scalar`` as a D term (notebooks, tests): the penalty as it is, weighted."""

    fn: Callable[[Callable[[torch.Tensor], torch.Tensor], torch.Tensor, torch.Tensor], torch.Tensor]
    double_backward: ClassVar[bool] = True

    def __call__(self, ctx: TermContext) -> torch.Tensor:
        return self.fn(ctx.D, ctx.real, ctx.fake)


@dataclass
class FeatureMatching(Term):
    """Salimans et al. 2016: G's loss replaced by the squared distance between the batches' mean D features."""

    on: ClassVar[str] = "G"
    replaces_g_loss: ClassVar[bool] = True
    needs_features: ClassVar[bool] = True
    when_g_idle: ClassVar[bool] = True

    def __call__(self, ctx: TermContext) -> torch.Tensor:
        return g_loss_feature_matching(*ctx.features)


@dataclass
class UnrolledD(Term):
    """Metz et al. 2017: G's loss against D after `steps` differentiable surrogate Adam steps from D's current
    weights and moments (D's own lr, betas and eps); the real D is not changed."""

    steps: int
    on: ClassVar[str] = "G"
    replaces_g_loss: ClassVar[bool] = True
    double_backward: ClassVar[bool] = True

    def __call__(self, ctx: TermContext) -> torch.Tensor:
        from torch.func import functional_call

        from mnistgan.unrolled import adam_state, unrolled_g_loss

        step = ctx.step
        group = step.opt_d.param_groups[0]
        forward = None
        if ctx.labels is not None:
            y2 = torch.cat([ctx.labels, ctx.labels])
            forward = lambda pb, x: functional_call(step.D, pb, (x, y2))  # noqa: E731
        loss = step.objective
        return unrolled_g_loss(  # the surrogate steps are Adam's, second order: unrolled_g_loss's defaults
            step.D,
            loss.d_loss,
            loss.g_loss,
            ctx.real,
            ctx.fake,
            steps=self.steps,
            lr=group["lr"],
            betas=group["betas"],
            eps=group["eps"],
            adam=adam_state(step.D, step.opt_d),
            forward=forward,
        )


@dataclass
class ModeSeeking(Term):
    """MSGAN (Mao et al. 2019): weight * mode_seeking_loss added to G's loss."""

    weight: float
    on: ClassVar[str] = "G"

    def __call__(self, ctx: TermContext) -> torch.Tensor:
        return self.weight * mode_seeking_loss(ctx.fake, ctx.z, ctx.labels)


# Builders: config field -> term, called when the field is set (nonzero / True), in registration order (which is
# the order the terms are summed in).
TERMS: dict[str, Callable[[Any], Term]] = {}


def register_term(field: str) -> Callable[[Callable[[Any], Term]], Callable[[Any], Term]]:
    """Decorator: the builder of the term that config field `field` turns on."""

    def add(build: Callable[[Any], Term]) -> Callable[[Any], Term]:
        if field in TERMS:
            raise ValueError(f"a term is already registered for config field {field!r}")
        TERMS[field] = build
        return build

    return add


register_term("gp_weight")(lambda c: GradientPenalty(c.gp_weight, c.pack))
register_term("r1_gamma")(lambda c: R1Penalty(c.r1_gamma, c.pack))
register_term("r2_gamma")(lambda c: R2Penalty(c.r2_gamma, c.pack))
register_term("feature_matching")(lambda c: FeatureMatching())
register_term("unroll_steps")(lambda c: UnrolledD(c.unroll_steps))
register_term("mode_seeking")(lambda c: ModeSeeking(c.mode_seeking))


# The objective the step runs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Objective:
    """A loss and the terms that go with it: what one training step optimises.

    d_loss / g_loss / logit_grads are the loss's (see Loss); terms are applied in order (Term). With no terms and a
    closed-form loss, plain MLP pairs run on the fast manual engine.
    """

    name: str
    d_loss: LossFn
    g_loss: LossFn
    logit_grads: LogitGrads | None = None
    terms: tuple[Term, ...] = ()

    @property
    def d_terms(self) -> tuple[Term, ...]:
        """Terms added to D's loss."""
        return tuple(t for t in self.terms if t.on == "D")

    @property
    def g_terms(self) -> tuple[Term, ...]:
        """Terms added to, or replacing, G's loss."""
        return tuple(t for t in self.terms if t.on == "G")

    def d_penalty(self, D: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor):  # noqa: ANN201
        """The D terms' sum on one batch (0 when there are none): what the step adds to D's loss."""
        ctx = TermContext(real, fake, None, None, D, None, None)
        return sum(term(ctx) for term in self.d_terms)


def get_objective(name: str, terms: tuple[Term, ...] = ()) -> Objective:
    """The registered loss `name` with its closed-form logit gradients, and the given terms."""
    loss = get_loss(name)
    return Objective(loss.name, loss.d_loss, loss.g_loss, loss.logit_grads, tuple(terms))


def objective_from_config(config) -> Objective:  # noqa: ANN001 - config: TrainConfig
    """The config's loss with the terms its fields turn on (TERMS), weights from the config."""
    terms = tuple(build(config) for field, build in TERMS.items() if getattr(config, field))
    return get_objective(config.loss, terms)
