"""Objective edges the mutation run of losses.py and objectives.py found untested: error messages, the hinge's kinks,
the gradient penalty's floor at a zero gradient, MSGAN's floor at a collapsed batch, and what an objective carries."""

from __future__ import annotations

import pytest
import torch

from mnistgan.config import preset_config
from mnistgan.errors import UserError
from mnistgan.objectives import (
    CustomPenalty,
    Loss,
    d_loss_fn,
    g_loss_fn,
    get_objective,
    gradient_penalty,
    mode_seeking_loss,
    objective_from_config,
    r1_penalty,
)


@pytest.mark.parametrize("fn", [d_loss_fn, g_loss_fn])
def test_unknown_loss_names_the_valid_ones(fn) -> None:  # noqa: ANN001
    with pytest.raises(UserError, match=r"^unknown loss 'bogus'; valid losses: nsgan, hinge, wgan, rpgan, lsgan$"):
        fn("bogus")


def test_pack_that_does_not_divide_the_batch() -> None:
    with pytest.raises(UserError, match=r"^batch of 8 is not divisible by pack size 3$"):
        r1_penalty(lambda x: x.sum(1, keepdim=True), torch.rand(8, 784), pack=3)


def test_hinge_closed_form_grads_at_the_kinks() -> None:
    """At D(x) = 1 and D(G(z)) = -1 exactly the hinge is at its kink: relu'(0) = 0, as autograd takes it."""
    objective = get_objective("hinge")
    real = torch.tensor([[1.0], [0.5]], requires_grad=True)
    fake = torch.tensor([[-1.0], [-0.5]], requires_grad=True)
    d_real, d_fake = torch.autograd.grad(objective.d_loss(real, fake), [real, fake])
    closed = objective.logit_grads(real.detach(), fake.detach())
    assert d_real.flatten().tolist() == [0.0, -0.5] and d_fake.flatten().tolist() == [0.0, 0.5]
    torch.testing.assert_close(closed[0], d_real)
    torch.testing.assert_close(closed[1], d_fake)


def test_gradient_penalty_is_finite_where_d_is_flat() -> None:
    """A D with zero input gradient: the norm's floor keeps sqrt away from 0, so the penalty is (1e-6 - 1)^2."""
    weight = torch.zeros(784, requires_grad=True)
    penalty = gradient_penalty(lambda x: (x * weight).sum(1, keepdim=True), torch.rand(4, 784), torch.rand(4, 784))
    assert penalty.item() == pytest.approx((1e-6 - 1) ** 2, rel=1e-6)  # NaN without the floor
    (grad,) = torch.autograd.grad(penalty, weight)
    assert torch.isfinite(grad).all()


def test_mode_seeking_of_a_collapsed_batch_is_its_cap() -> None:
    fake = torch.rand(1, 784).expand(8, -1)  # every image the same: d_img = 0, the loss is 1 / 1e-5
    assert mode_seeking_loss(fake, torch.randn(8, 4)).item() == pytest.approx(1e5, rel=1e-6)
    labels = torch.tensor([0, 1, 0, 1, 2, 2, 3, 3])
    assert mode_seeking_loss(fake, torch.randn(8, 4), labels).item() == pytest.approx(1e5, rel=1e-6)


def test_objective_carries_its_name_and_no_penalty_unless_asked() -> None:
    assert get_objective("hinge").name == "hinge"
    plain = objective_from_config(preset_config("tutorial"))
    assert plain.name == "nsgan" and plain.terms == ()  # no term: the fast engine may run
    r3gan = objective_from_config(preset_config("r3gan"))
    assert [type(t).__name__ for t in r3gan.terms] == ["R1Penalty", "R2Penalty"] and r3gan.d_terms == r3gan.terms


def test_registries_refuse_a_second_entry_and_keep_the_first() -> None:
    from mnistgan.objectives import LOSSES, TERMS, register_loss, register_term

    nsgan = LOSSES["nsgan"]
    with pytest.raises(ValueError, match="^loss 'nsgan' registered twice$"):
        register_loss(nsgan)
    assert LOSSES["nsgan"] is nsgan and list(LOSSES)[:5] == ["nsgan", "hinge", "wgan", "rpgan", "lsgan"]
    build = TERMS["gp_weight"]
    with pytest.raises(ValueError, match="^a term is already registered for config field 'gp_weight'$"):
        register_term("gp_weight")(lambda c: None)
    assert TERMS["gp_weight"] is build
    try:  # a new loss is registered as the object given, and returned
        loss = register_loss(Loss("test-only", LOSSES["wgan"].d_loss, LOSSES["wgan"].g_loss))
        assert LOSSES["test-only"] is loss and get_objective("test-only").logit_grads is None
    finally:
        LOSSES.pop("test-only", None)


def test_custom_penalty_sees_the_batches_it_is_given() -> None:
    seen = {}

    def penalty(D, real, fake):  # noqa: ANN001, ANN202
        seen.update(real=real, fake=fake)
        return (real - fake).sum()

    obj = get_objective("nsgan", terms=(CustomPenalty(penalty),))
    real, fake = torch.ones(3, 2), torch.zeros(3, 2)
    assert obj.d_penalty(lambda x: x, real, fake).item() == 6.0
    assert seen["real"] is real and seen["fake"] is fake


def test_a_new_term_is_registered_as_its_builder() -> None:
    from mnistgan.objectives import TERMS, register_term

    def build(config):  # noqa: ANN001, ANN202
        return CustomPenalty(lambda D, real, fake: real.sum() * 0)

    try:
        assert register_term("test_only_field")(build) is build and TERMS["test_only_field"] is build
    finally:
        TERMS.pop("test_only_field", None)


def test_conditional_unrolled_term_differentiates_through_the_labelled_d() -> None:
    """GANStep's G gradient with an unrolled conditional D equals unrolled_g_loss called directly with D bound to the
    batch's labels (the forward the term builds)."""
    import copy

    from torch.func import functional_call

    from mnistgan.adam import make_optimizers
    from mnistgan.models import build_discriminator, build_generator
    from mnistgan.step import GANStep
    from mnistgan.unrolled import adam_state, unrolled_g_loss

    config = preset_config("conditional", batch_size=8, unroll_steps=2, g_hidden=16, d_hidden=16, beta1=0.5, beta2=0.9)
    config.adam_eps = 1e-3  # not the defaults: the term must pass D's own betas and eps
    torch.manual_seed(0)
    G, D = build_generator(config), build_discriminator(config)
    opt_g, opt_d = make_optimizers(G, D, config, torch.device("cpu"))
    gen = torch.Generator().manual_seed(3)
    real, z = torch.rand(8, 784, generator=gen), torch.rand(8, 100, generator=gen) * 2 - 1
    labels = torch.arange(8) % 10
    Gr, Dr = copy.deepcopy(G), copy.deepcopy(D)
    y2 = torch.cat([labels, labels])
    loss = objective_from_config(config)
    want = unrolled_g_loss(
        Dr, loss.d_loss, loss.g_loss, real, Gr(z, labels), steps=2, lr=config.lr_d, betas=(config.beta1, config.beta2),
        eps=config.adam_eps, adam=adam_state(Dr, opt_d), forward=lambda pb, x: functional_call(Dr, pb, (x, y2)),
    )  # fmt: skip
    want_grads = torch.autograd.grad(want, list(Gr.parameters()))
    GANStep(G, D, opt_g, opt_d, loss)(real, z, labels)
    for p, g in zip(G.parameters(), want_grads):
        torch.testing.assert_close(p.grad, g, rtol=1e-5, atol=1e-7)
    assert max(g.abs().max().item() for g in want_grads) > 0
