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
