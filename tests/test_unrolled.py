"""Unrolled D: leaves the real D untouched, reduces to the plain loss at k = 0, matches real optimizer steps."""

import copy

import pytest
import torch
from torch import nn

from mnistgan.mlp import MLPDiscriminator
from mnistgan.objectives import d_loss_fn, g_loss_fn
from mnistgan.unrolled import adam_state, unrolled_g_loss

DL, GL = d_loss_fn("nsgan"), g_loss_fn("nsgan")


def _setup(spectral_norm: bool = False):
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 784), nn.Sigmoid())
    D = MLPDiscriminator(16, spectral_norm=spectral_norm)
    return G, D, torch.rand(8, 784), torch.randn(8, 4)


def _g_grad(G, loss):
    return torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(G.parameters()))])


def _state(D):
    return {k: v.clone() for k, v in D.state_dict().items()}


@pytest.mark.parametrize("surrogate", ["adam", "sgd"])
def test_real_d_unchanged_and_g_gradient_differs(surrogate):
    G, D, real, z = _setup(spectral_norm=True)
    before = _state(D)
    fake = G(z)
    plain = _g_grad(G, GL(None, D(fake)))
    before = _state(D)  # after the plain call: each training-mode forward moves spectral norm's u, v
    loss = unrolled_g_loss(D, DL, GL, real, G(z), steps=3, lr=0.05, surrogate=surrogate)
    unrolled = _g_grad(G, loss)
    for k, v in before.items():
        assert torch.equal(D.state_dict()[k], v), k
    assert all(p.grad is None for p in D.parameters())
    assert (unrolled - plain).norm() > 1e-3 * plain.norm()
    # Differentiating the steps (second order) changes G's gradient, never the loss's value: same D_k either way.
    first = unrolled_g_loss(D, DL, GL, real, G(z), 3, lr=0.05, surrogate=surrogate, second_order=False)
    assert first.item() == pytest.approx(loss.item(), rel=1e-6)


def test_zero_steps_is_the_plain_loss():
    G, D, real, z = _setup()
    fake = G(z)
    assert torch.allclose(unrolled_g_loss(D, DL, GL, real, fake, steps=0, lr=0.1), GL(None, D(fake)))


def test_adam_surrogate_matches_torch_adam_from_the_optimizers_state():
    G, D, real, z = _setup()
    opt = torch.optim.Adam(D.parameters(), lr=1e-2, betas=(0.5, 0.99))
    for _ in range(3):  # give the optimizer non-trivial moments and a step count
        opt.zero_grad()
        logits = D(torch.cat([real, G(z).detach()]))
        DL(logits[:8], logits[8:]).backward()
        opt.step()
    fake = G(z)
    state = adam_state(D, opt)
    # Reference: two real Adam steps on a copy of D and of its optimizer (load_state_dict shares the moment
    # tensors, which opt2.step then updates in place: adam_state above took copies).
    D2 = copy.deepcopy(D)
    opt2 = torch.optim.Adam(D2.parameters(), lr=1e-2, betas=(0.5, 0.99))
    opt2.load_state_dict(opt.state_dict())
    for _ in range(2):
        opt2.zero_grad()
        logits = D2(torch.cat([real, fake.detach()]))
        DL(logits[:8], logits[8:]).backward()
        opt2.step()
    expect = GL(None, D2(fake))
    got = unrolled_g_loss(D, DL, GL, real, fake, steps=2, lr=1e-2, betas=(0.5, 0.99), adam=state, second_order=False)
    assert got.item() == pytest.approx(expect.item(), rel=1e-5)


def test_sgd_surrogate_one_step_by_hand():
    G, D, real, z = _setup()
    fake = G(z)
    D2 = copy.deepcopy(D)
    logits = D2(torch.cat([real, fake.detach()]))
    grads = torch.autograd.grad(DL(logits[:8], logits[8:]), list(D2.parameters()))
    with torch.no_grad():
        for p, g in zip(D2.parameters(), grads):
            p -= 0.1 * g
    got = unrolled_g_loss(D, DL, GL, real, fake, steps=1, lr=0.1, surrogate="sgd")
    assert got.item() == pytest.approx(GL(None, D2(fake)).item(), rel=1e-5)


def test_conditional_d_through_forward():
    from torch.func import functional_call

    from mnistgan.conditional import ProjectionDiscriminator

    G, body, real, z = _setup()
    D = ProjectionDiscriminator(body)
    y_real, y_fake = torch.arange(8) % 10, (torch.arange(8) + 3) % 10
    y = torch.cat([y_real, y_fake])  # forward sees cat([real, fake])
    forward = lambda pb, x: functional_call(D, pb, (x, y))  # noqa: E731
    fake = G(z)
    before = _state(D)
    plain = unrolled_g_loss(D, DL, GL, real, fake, steps=0, lr=0.1, forward=forward)
    assert torch.allclose(plain, GL(None, D(fake, y_fake)))
    loss = unrolled_g_loss(D, DL, GL, real, fake, steps=2, lr=0.1, surrogate="sgd", forward=forward)
    # Reference: two SGD steps by hand on a copy of the conditional D, each on the real and fake rows' own labels.
    D2 = copy.deepcopy(D)
    for _ in range(2):
        grads = torch.autograd.grad(DL(D2(real, y_real), D2(fake.detach(), y_fake)), list(D2.parameters()))
        with torch.no_grad():
            for p, g in zip(D2.parameters(), grads):
                p -= 0.1 * g
    expected = GL(None, D2(fake, y_fake)).item()
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert abs(expected - plain.item()) > 1e-3 * abs(plain.item())  # the two steps moved D's verdict
    assert all(torch.equal(D.state_dict()[k], v) for k, v in before.items())
