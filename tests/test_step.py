"""GANStep against a straightforward autograd reference: same weights after a few steps, same statistics."""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mnistgan.adam import make_optimizers
from mnistgan.config import TrainConfig
from mnistgan.errors import UserError
from mnistgan.models import MLPDiscriminator, build_discriminator, build_generator
from mnistgan.objectives import CLOSED_FORM_GRADS, CustomPenalty, Objective, get_objective
from mnistgan.step import GANStep, mlp_layers

STEPS = 5
TOL = 1e-5  # float32 round-off through Adam (which divides by sqrt(v)) over a few steps; updates are ~1e-2


def _setup(config: TrainConfig, device: str = "cpu"):
    torch.manual_seed(config.seed)
    G, D = build_generator(config).to(device), build_discriminator(config).to(device)
    return G, D


def _batches(config: TrainConfig, n: int, device: str = "cpu"):
    gen = torch.Generator().manual_seed(123)
    out = []
    for _ in range(n):
        real = torch.rand(config.batch_size, 784, generator=gen)
        z = torch.rand(config.batch_size, config.z_dim, generator=gen) * 2 - 1
        out.append((real.to(device), z.to(device)))
    return out


def _reference(G: nn.Module, D: nn.Module, config: TrainConfig, batches, simultaneous: bool = True):
    """The tutorial's step written plainly: sigmoid + BCE, a second D pass for G, plain (for-loop) Adam."""
    betas = (config.beta1, config.beta2)
    opt_g = torch.optim.Adam(G.parameters(), config.lr_g, betas, config.adam_eps, foreach=False)
    opt_d = torch.optim.Adam(D.parameters(), config.lr_d, betas, config.adam_eps, foreach=False)
    ones, zeros = torch.ones(config.batch_size, 1), torch.zeros(config.batch_size, 1)
    rows = []
    for real, z in batches:
        fake = G(z)
        d_real, d_fake = torch.sigmoid(D(real)), torch.sigmoid(D(fake.detach()))
        d_loss = F.binary_cross_entropy(d_real, ones) + F.binary_cross_entropy(d_fake, zeros)
        opt_d.zero_grad()
        d_loss.backward()
        if not simultaneous:  # the common (but not the tutorial's) order: G's step sees the updated D
            opt_d.step()
        g_loss = F.binary_cross_entropy(torch.sigmoid(D(fake)), ones)
        opt_g.zero_grad()
        g_loss.backward(inputs=list(G.parameters()))  # G's loss updates G only
        if simultaneous:
            opt_d.step()
        opt_g.step()
        rows.append((d_loss.item(), g_loss.item(), d_real.mean().item(), d_fake.mean().item()))
    return rows


def _run_step(G, D, config, batches, engine, device="cpu", objective=None):  # noqa: ANN001, ANN202
    opt_g, opt_d = make_optimizers(G, D, config, torch.device(device))
    step = GANStep(G, D, opt_g, opt_d, objective or get_objective("nsgan"), engine=engine)
    stats = [step(real, z, stats=True).as_floats() for real, z in batches]
    return step, stats


def _max_diff(a: nn.Module, b: nn.Module) -> float:
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("engine", ["manual", "autograd"])
@pytest.mark.parametrize("sizes", [{}, {"z_dim": 16, "g_hidden": 32, "d_hidden": 48, "batch_size": 8}])
def test_step_matches_reference(engine: str, sizes: dict) -> None:
    config = TrainConfig(lr_g=2e-3, lr_d=1e-3, **sizes)  # larger, unequal rates: updates far above round-off
    G, D = _setup(config)
    G0, D0 = copy.deepcopy(G), copy.deepcopy(D)
    Gr, Dr = copy.deepcopy(G), copy.deepcopy(D)
    batches = _batches(config, STEPS)
    step, stats = _run_step(G, D, config, batches, engine)
    ref = _reference(Gr, Dr, config, batches)

    assert step.engine == engine
    assert _max_diff(G, Gr) < TOL and _max_diff(D, Dr) < TOL
    assert _max_diff(G, G0) > 100 * TOL and _max_diff(D, D0) > 100 * TOL  # the weights really moved
    for row, (d_loss, g_loss, d_real, d_fake) in zip(stats, ref):
        assert row["d_loss"] == pytest.approx(d_loss, abs=1e-5)
        assert row["g_loss"] == pytest.approx(g_loss, abs=1e-5)
        assert row["d_real"] == pytest.approx(d_real, abs=1e-6)
        assert row["d_fake"] == pytest.approx(d_fake, abs=1e-6)


def test_reference_distinguishes_update_order() -> None:
    """Control: updating D before computing G's gradient gives weights far outside TOL, so the test above can fail."""
    config = TrainConfig(lr_g=2e-3, lr_d=1e-3)
    G, D = _setup(config)
    Gs, Ds = copy.deepcopy(G), copy.deepcopy(D)
    batches = _batches(config, STEPS)
    _run_step(G, D, config, batches, "manual")
    _reference(Gs, Ds, config, batches, simultaneous=False)
    assert _max_diff(G, Gs) > 100 * TOL


def test_grad_norms_match_between_engines() -> None:
    config = TrainConfig()
    batches = _batches(config, 2)
    norms = {}
    for engine in ["manual", "autograd"]:
        G, D = _setup(config)
        _, stats = _run_step(G, D, config, batches, engine)
        norms[engine] = [(s["d_grad_norm"], s["g_grad_norm"]) for s in stats]
        assert all(d > 0 and g > 0 for d, g in norms[engine])
    for (dm, gm), (da, ga) in zip(norms["manual"], norms["autograd"]):
        assert dm == pytest.approx(da, rel=1e-5) and gm == pytest.approx(ga, rel=1e-5)


@pytest.mark.parametrize("engine", ["manual", "autograd"])
def test_update_g_false_leaves_generator_and_matches_d_only(engine: str) -> None:
    config = TrainConfig(batch_size=16)
    G, D = _setup(config)
    G0, D0 = copy.deepcopy(G), copy.deepcopy(D)
    D_init = copy.deepcopy(D)
    ((real, z),) = _batches(config, 1)
    opt_g, opt_d = make_optimizers(G, D, config, torch.device("cpu"))
    GANStep(G, D, opt_g, opt_d, get_objective("nsgan"), engine=engine)(real, z, update_g=False)
    assert _max_diff(G, G0) == 0.0
    # D alone, by autograd: its first Adam step moves every weight by about lr (sign of the gradient).
    opt = torch.optim.Adam(D0.parameters(), config.lr_d, foreach=False)
    logits_r, logits_f = D0(real), D0(G0(z).detach())
    (F.softplus(-logits_r).mean() + F.softplus(logits_f).mean()).backward()
    opt.step()
    assert _max_diff(D, D0) < 1e-6 and _max_diff(D, D_init) > 1e-4  # first Adam step moves weights by ~lr


def test_same_seed_same_weights_bitwise() -> None:
    config = TrainConfig(batch_size=32)
    results = []
    for _ in range(2):
        G, D = _setup(config)
        _run_step(G, D, config, _batches(config, 3), "auto")
        results.append(torch.cat([p.flatten() for p in list(G.parameters()) + list(D.parameters())]))
    assert torch.equal(results[0], results[1])


def test_fallback_to_autograd_when_manual_cannot_run() -> None:
    config = TrainConfig(batch_size=16)
    G, D = _setup(config)
    nsgan = get_objective("nsgan")
    assert mlp_layers(G) is not None and mlp_layers(D) is not None
    # A loss without closed-form logit gradients -> autograd, with the same result as nsgan through autograd.
    no_closed_form = Objective("nsgan-autograd", nsgan.d_loss, nsgan.g_loss, logit_grads=None)
    opt_g, opt_d = make_optimizers(G, D, config, torch.device("cpu"))
    assert GANStep(G, D, opt_g, opt_d, no_closed_form).engine == "autograd"
    with pytest.raises(UserError):
        GANStep(G, D, opt_g, opt_d, no_closed_form, engine="manual")
    # A changed network (spectral norm, a subclass, a Sequential) -> autograd.
    sn = copy.deepcopy(D)
    torch.nn.utils.parametrizations.spectral_norm(sn.fc1)
    assert mlp_layers(sn) is None

    class Doubled(MLPDiscriminator):  # computes something else: must not run on the manual engine
        def forward(self, x):  # noqa: ANN001, ANN202
            return 2 * super().forward(x)

    class Renamed(MLPDiscriminator):  # the same computation: the declaration it inherits still holds
        pass

    assert mlp_layers(Doubled()) is None and mlp_layers(Renamed()) is not None
    assert mlp_layers(MLPDiscriminator(mbstd=True)) is None and mlp_layers(MLPDiscriminator(pack=2)) is None
    assert mlp_layers(nn.Sequential(nn.Linear(784, 1))) is None
    opt_sn = torch.optim.Adam(sn.parameters())
    step = GANStep(G, sn, opt_g, opt_sn, nsgan)
    assert step.engine == "autograd"
    ((real, z),) = _batches(config, 1)
    before = sn.fc1.parametrizations.weight.original.detach().clone()
    twin, twin_g = copy.deepcopy(sn), copy.deepcopy(G)  # the same forward (one power iteration) on copies
    with torch.no_grad():
        logits = twin(torch.cat([real, twin_g(z)]))
        expected = nsgan.d_loss(logits[:16], logits[16:])
    assert step(real, z, stats=True).d_loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert not torch.equal(before, sn.fc1.parametrizations.weight.original)


@pytest.mark.parametrize("name", sorted(CLOSED_FORM_GRADS))
def test_closed_form_logit_grads_match_autograd(name: str) -> None:
    objective = get_objective(name)
    gen = torch.Generator().manual_seed(0)
    real = (torch.randn(64, 1, generator=gen) * 3).requires_grad_(True)
    fake = (torch.randn(64, 1, generator=gen) * 3).requires_grad_(True)
    d_real, d_fake = torch.autograd.grad(objective.d_loss(real, fake), [real, fake])
    (g_fake,) = torch.autograd.grad(objective.g_loss(real, fake), [fake])
    closed = objective.logit_grads(real.detach(), fake.detach())
    for mine, ref in zip(closed, (d_real, d_fake, g_fake)):
        torch.testing.assert_close(mine, ref, rtol=1e-6, atol=1e-9)
        assert ref.abs().max() > 0


def test_d_penalty_goes_through_autograd_and_adds_its_gradient() -> None:
    """With SGD(lr=1) the weight change is minus the gradient: a penalty k/2 ||W1||^2 must add exactly k * W1."""
    config, k = TrainConfig(batch_size=16), 0.25
    batch = _batches(config, 1)[0]
    moved = {}
    for name, penalty in [("plain", None), ("l2", lambda D, real, fake: 0.5 * k * D.fc1.weight.square().sum())]:
        G, D = _setup(config)
        W0 = D.fc1.weight.detach().clone()
        step = GANStep(
            G,
            D,
            torch.optim.SGD(G.parameters(), 1.0),
            torch.optim.SGD(D.parameters(), 1.0),
            get_objective("nsgan", terms=() if penalty is None else (CustomPenalty(penalty),)),
        )
        assert step.engine == ("manual" if penalty is None else "autograd")
        step(*batch)
        moved[name] = D.fc1.weight.detach() - W0
    torch.testing.assert_close(moved["l2"] - moved["plain"], -k * W0, rtol=1e-4, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_manual_engine_on_cuda_matches_cpu() -> None:
    config = TrainConfig(batch_size=64)
    batches = _batches(config, 3)
    G, D = _setup(config)
    Gc, Dc = copy.deepcopy(G).cuda(), copy.deepcopy(D).cuda()
    _run_step(G, D, config, batches, "manual")
    _run_step(Gc, Dc, config, [(r.cuda(), z.cuda()) for r, z in batches], "manual", device="cuda")
    assert _max_diff(G, Gc.cpu()) < 1e-4 and _max_diff(D, Dc.cpu()) < 1e-4


def _manual_step(config: TrainConfig):  # noqa: ANN202
    """Fresh seeded networks, their optimizers, and a manual-engine GANStep over them."""
    G, D = _setup(config)
    opt_g, opt_d = make_optimizers(G, D, config, torch.device("cpu"))
    return G, D, opt_g, opt_d, GANStep(G, D, opt_g, opt_d, get_objective("nsgan"), engine="manual")


def test_manual_engine_survives_zero_grad_set_to_none() -> None:
    config = TrainConfig(batch_size=16)
    batches = _batches(config, 2)
    weights = []
    for clear in (False, True):
        G, D, opt_g, opt_d, step = _manual_step(config)
        for real, z in batches:
            if clear:
                opt_g.zero_grad(set_to_none=True)
                opt_d.zero_grad(set_to_none=True)
            step(real, z)
        weights.append(torch.cat([p.flatten() for p in list(G.parameters()) + list(D.parameters())]))
    assert torch.equal(weights[0], weights[1])


def test_compiled_autograd_engine_matches_eager() -> None:
    """torch.compile'd G and D give the eager weights after a few steps (the inductor build runs here: ~10-20 s)."""
    config = TrainConfig(lr_g=2e-3, lr_d=1e-3, z_dim=16, g_hidden=32, d_hidden=48, batch_size=8)
    G, D = _setup(config)
    G0, Ge, De = copy.deepcopy(G), copy.deepcopy(G), copy.deepcopy(D)
    batches = _batches(config, 3)
    opt_g, opt_d = make_optimizers(G, D, config, torch.device("cpu"))
    step = GANStep(G, D, opt_g, opt_d, get_objective("nsgan"), engine="autograd", compile=True)
    assert step.compile_note.startswith("on")
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="torch.compile failed")  # a fallback to eager: fail on it
        for real, z in batches:
            step(real, z)
    _run_step(Ge, De, config, batches, "autograd")
    assert _max_diff(G, Ge) < TOL and _max_diff(D, De) < TOL and _max_diff(G, G0) > 100 * TOL


def test_compile_falls_back_to_eager_when_it_cannot_build(monkeypatch) -> None:
    """No compiler: the first call's failure is a warning, and the step trains eagerly with the same result."""

    def broken_compile(module):  # noqa: ANN001, ANN202 - what torch.compile returns on a machine with no cc
        def run(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            raise RuntimeError("InvalidCxxCompiler: no working C++ compiler found")

        return run

    monkeypatch.setattr(torch, "compile", broken_compile)
    config = TrainConfig(lr_g=2e-3, lr_d=1e-3, z_dim=16, g_hidden=32, d_hidden=48, batch_size=8)
    G, D = _setup(config)
    Ge, De = copy.deepcopy(G), copy.deepcopy(D)
    batches = _batches(config, 3)
    opt_g, opt_d = make_optimizers(G, D, config, torch.device("cpu"))
    step = GANStep(G, D, opt_g, opt_d, get_objective("nsgan"), engine="autograd", compile=True)
    with pytest.warns(UserWarning, match="torch.compile failed, training eagerly: RuntimeError: InvalidCxx"):
        for real, z in batches:
            step(real, z)
    _run_step(Ge, De, config, batches, "autograd")
    assert _max_diff(G, Ge) == 0 and _max_diff(D, De) == 0


def test_compile_is_not_used_where_it_cannot_apply() -> None:
    config = TrainConfig()
    G, D = _setup(config)
    opt_g, opt_d = make_optimizers(G, D, config, torch.device("cpu"))
    manual = GANStep(G, D, opt_g, opt_d, get_objective("nsgan"), compile=True)
    assert manual.engine == "manual" and manual.compile_note.startswith("not used: the manual engine")
    penalised = get_objective("rpgan", terms=(CustomPenalty(lambda D, real, fake: real.sum() * 0),))
    step = GANStep(G, D, opt_g, opt_d, penalised, compile=True)
    assert step.G_fwd is G and "double backward" in step.compile_note


@pytest.mark.parametrize("rates", [(2e-4, 2e-4), (2e-3, 1e-3)])
def test_flat_adam_is_bitwise_the_optimizers_step(rates) -> None:
    """The manual engine's flat torch._fused_adam_ call gives exactly what Adam(fused=True).step() gives, moments
    and step counts included (so checkpoints are the same too), and leaves model and optimizer holding views of
    its buffers."""
    config = TrainConfig(lr_g=rates[0], lr_d=rates[1], batch_size=16)
    batches = _batches(config, 4)
    results = []
    for direct in (True, False):
        G, D, opt_g, opt_d, step = _manual_step(config)
        assert step._fused
        step._fused = direct
        for real, z in batches:
            step(real, z)
        state = [t for opt in (opt_g, opt_d) for s in opt.state.values() for t in s.values()]
        results.append([p.detach().clone() for p in [*G.parameters(), *D.parameters()]] + state)
        assert {s["step"].item() for opt in (opt_g, opt_d) for s in opt.state.values()} == {len(batches)}
        flat = step._flat_g.flat  # the parameters live in the first buffer once the flat path has run
        ptr = flat[0].untyped_storage().data_ptr() if flat else None
        shared = [p.untyped_storage().data_ptr() == ptr for p in G.parameters()]
        assert shared == [direct] * 4
    assert len(results[0]) == 8 + 8 * 3 and all(torch.equal(a, b) for a, b in zip(*results))


def test_flat_adam_rebinds_after_the_optimizer_state_is_replaced() -> None:
    """Loading optimizer and model state (as a resume does) after the buffers exist re-points the tensors; the next
    step must use the loaded values, exactly as a step on a fresh copy of that state does."""
    config = TrainConfig(batch_size=16)
    batches = _batches(config, 6)
    G, D, opt_g, opt_d, step = _manual_step(config)
    for real, z in batches[:3]:
        step(real, z)
    saved = [copy.deepcopy(m.state_dict()) for m in (G, D, opt_g, opt_d)]
    for real, z in batches[3:5]:  # move on, then go back to the saved state
        step(real, z)
    for m, sd in zip((G, D, opt_g, opt_d), saved):
        m.load_state_dict(copy.deepcopy(sd))
    step(*batches[5])
    G2, D2, opt_g2, opt_d2, step2 = _manual_step(config)
    for m, sd in zip((G2, D2, opt_g2, opt_d2), saved):
        m.load_state_dict(copy.deepcopy(sd))
    step2._fused = False
    step2(*batches[5])
    assert _max_diff(G, G2) == 0 and _max_diff(D, D2) == 0
    for a, b in ((opt_g, opt_g2), (opt_d, opt_d2)):
        moments = [[s[k] for s in opt.state.values() for k in ("exp_avg", "exp_avg_sq", "step")] for opt in (a, b)]
        assert all(torch.equal(x, y) for x, y in zip(*moments))
