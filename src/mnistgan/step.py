"""One GAN training step: forward, losses, gradients and both optimizer updates, for every preset.

The tutorial's step (its single ``sess.run``): one forward pass of G and D on the same real batch and the same z;
from that one forward, the D loss's gradient for D's parameters and the G loss's gradient for G's parameters; then
each Adam applies its update. ``GANStep`` does that with one of two engines behind the same call:

- ``manual``: a hand-written forward and backward for plain MLP pairs (any widths, any depth of Linear + ReLU layers)
  with a loss whose logit gradients have a closed form. It runs the minimum set of matrix multiplications (12 for the
  tutorial's pair: 4 forward, 8 backward), writes weight gradients straight into ``p.grad`` with ``torch.mm(out=)``,
  and skips autograd's graph bookkeeping, which dominated the eager step's overhead (see benchmarks/train_speed.py).
- ``autograd``: the same step through autograd, for everything the manual engine does not cover (penalties, feature
  matching, conv nets, spectral norm, minibatch layers, ...). A remedy that cannot use the fast engine falls back
  here automatically; both engines give the same weights to float tolerance (tests/test_step.py).

Statistics (losses, mean D(x), mean D(G(z)), gradient norms) are returned as device tensors and only when asked for,
so the training loop never syncs with the host between its logging intervals.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils import parametrize

from mnistgan.adam import FlatAdam, adam_state_ready, plain_fused_adam
from mnistgan.errors import UserError
from mnistgan.objectives import Objective, TermContext

Tensor = torch.Tensor


# Statistics ---------------------------------------------------------------------------------------------------------


@dataclass
class StepStats:
    """Device tensors (0-d) describing one step; read them (``.item()``) only when logging."""

    d_loss: Tensor
    g_loss: Tensor
    d_real: Tensor  # mean D(x) = mean sigmoid(real logits)
    d_fake: Tensor  # mean D(G(z))
    d_grad_norm: Tensor  # global L2 norm of D's gradient (zero when D was not updated)
    g_grad_norm: Tensor

    def as_floats(self) -> dict[str, float]:
        """Host floats for a log row: one sync for all six values."""
        names = ["d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm"]
        values = torch.stack([getattr(self, n).detach().float() for n in names]).tolist()
        return dict(zip(names, values))


def _grad_norm(params: list[nn.Parameter]) -> Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros((), device=params[0].device)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


# Manual engine helpers ----------------------------------------------------------------------------------------------


def mlp_layers(net: nn.Module) -> list[nn.Linear] | None:
    """The Linear layers of a plain MLP (Linear, ReLU, ..., Linear) the manual engine can run, else None.

    A network qualifies by declaring it: ``linear_stack()`` returns its layers when a Linear/ReLU stack (G: ending
    in a sigmoid) is all it computes. A subclass that overrides ``forward`` without declaring again does not
    qualify, nor does a network with parametrizations (spectral norm) or hooks, so a remedy that changes the
    network gets the autograd engine instead of a wrong gradient.
    """
    declared = getattr(type(net), "linear_stack", None)
    if declared is None:
        return None
    owner = next(k for k in type(net).__mro__ if "linear_stack" in vars(k))
    if type(net).forward is not owner.forward:
        return None
    layers = net.linear_stack()
    if not layers or not all(type(m) is nn.Linear for m in layers):
        return None
    for m in (net, *layers):
        if m._forward_hooks or m._forward_pre_hooks or m._backward_hooks or parametrize.is_parametrized(m):
            return None
        if any(p.grad_fn is not None for p in m.parameters(recurse=False)):
            return None
    if any(m.bias is None for m in layers) or len(list(net.parameters())) != 2 * len(layers):
        return None
    return layers


def _backprop_stack(layers: list[nn.Linear], acts: list[Tensor], grad: Tensor) -> None:
    """Write weight and bias gradients of a Linear -> ReLU -> ... -> Linear stack into p.grad, from the gradient at
    its output; acts[i] is layer i's input (B, in_i), grad is (B, out_last)."""
    for i in range(len(layers) - 1, -1, -1):
        layer, a = layers[i], acts[i]
        torch.mm(grad.t(), a, out=_grad_buffer(layer.weight))
        torch.sum(grad, 0, out=_grad_buffer(layer.bias))
        if i > 0:
            grad = torch.ops.aten.threshold_backward(grad @ layer.weight, a, 0)


def _grad_buffer(p: nn.Parameter) -> Tensor:
    """p.grad, allocated if someone set it to None (zero_grad): the manual engine writes gradients into it."""
    if p.grad is None:
        p.grad = torch.zeros_like(p)
    return p.grad


# The step -----------------------------------------------------------------------------------------------------------


class GANStep:
    """Callable training step: ``step(real, z, stats=False)`` updates D and G and returns StepStats when asked.

    real (B, 784) in [0, 1], z (B, z_dim). ``update_d`` / ``update_g`` let schedules such as n_critic skip one
    network's update; the tutorial updates both every step. ``engine``: "auto" picks "manual" when the models and
    objective allow it, "autograd" otherwise; forcing "manual" where it cannot run is an error.
    """

    def __init__(
        self,
        G: nn.Module,
        D: nn.Module,
        opt_g: torch.optim.Optimizer,
        opt_d: torch.optim.Optimizer,
        objective: Objective,
        engine: str = "auto",
        compile: bool = False,
    ) -> None:
        self.G, self.D, self.opt_g, self.opt_d, self.objective = G, D, opt_g, opt_d, objective
        self.g_params, self.d_params = list(G.parameters()), list(D.parameters())
        g_layers, d_layers = mlp_layers(G), mlp_layers(D)
        # The manual engine runs a bare loss: closed-form logit gradients and no term (every term needs autograd).
        manual_ok = g_layers is not None and d_layers is not None and objective.logit_grads is not None
        manual_ok = manual_ok and not objective.terms
        if engine == "auto":
            engine = "manual" if manual_ok else "autograd"
        if engine == "manual" and not manual_ok:
            raise UserError("the manual step engine needs plain MLP models and a loss with closed-form logit grads")
        if engine not in ("manual", "autograd"):
            raise UserError(f"unknown step engine {engine!r}; valid: auto, manual, autograd")
        self.engine = engine
        self.g_layers, self.d_layers = g_layers or [], d_layers or []
        self._fused = plain_fused_adam(opt_g) and plain_fused_adam(opt_d)  # see FlatAdam
        self._flat_g, self._flat_d = FlatAdam(opt_g), FlatAdam(opt_d)
        # The autograd engine's forward passes; compiled ones where asked and possible (see compile_note).
        self.G_fwd, self.D_fwd, self.compile_note = G, D, "off"
        if compile:
            self.G_fwd, self.D_fwd, self.compile_note = _compiled(G, D, engine, objective)
        if engine == "manual":
            for p in self.g_params + self.d_params:  # gradients are written in place into these buffers
                if p.grad is None:
                    p.grad = torch.zeros_like(p)

    def __call__(
        self,
        real: Tensor,
        z: Tensor,
        labels: Tensor | None = None,
        *,
        update_d: bool = True,
        update_g: bool = True,
        stats: bool = False,
    ):
        """One step; returns StepStats (device tensors) when stats, else None.

        labels (B,) int64, for a conditional pair: the real batch's digits, which the fakes are drawn with too
        (G(z, labels)), so the generated digits follow the data's proportions and D compares like with like.
        """
        if self.engine == "manual":
            if labels is not None:
                raise UserError("the manual step engine has no conditional models: use engine auto")
            with torch.no_grad():
                out = self._manual(real, z, update_d, update_g, stats)
        else:
            out = self._autograd(real, z, labels, update_d, update_g, stats)
        # Update D and G: both gradients exist before either optimizer changes a weight.
        if self.engine == "manual" and self._fused and adam_state_ready(self.opt_d) and adam_state_ready(self.opt_g):
            if update_d:
                self._flat_d.step()  # one kernel call over a flat buffer, no optimizer Python
            if update_g:
                self._flat_g.step()
            return out
        if update_d:
            self.opt_d.step()
        if update_g:
            self.opt_g.step()
        return out

    # Autograd engine: the reference semantics, and the fallback for every remedy.
    def _autograd(self, real: Tensor, z: Tensor, labels: Tensor | None, update_d: bool, update_g: bool, stats: bool):
        obj = self.objective
        if labels is None:
            fake = self.G_fwd(z)  # (B, 784)
            D = self.D  # x -> logits
            D_both = self.D_fwd
        else:
            fake = self.G_fwd(z, labels)  # (B, 784), digits `labels`
            y2 = torch.cat([labels, labels])

            def D(x: Tensor, **kw) -> Tensor:  # noqa: ANN003 - one source's rows, labelled like the real batch
                return self.D(x, labels, **kw)

            def D_both(x: Tensor, **kw) -> Tensor:  # noqa: ANN003
                return self.D_fwd(x, y2, **kw)

        x = torch.cat([real, fake])  # one D pass over real and fake together
        features = None
        if any(t.needs_features for t in obj.terms):
            logits, feats = D_both(x, return_features=True)  # (2B/pack, 1), (2B/pack, F)
            features = (feats[: feats.shape[0] // 2], feats[feats.shape[0] // 2 :])
        else:
            logits = D_both(x)  # (2B/pack, 1): PacGAN scores B/pack inputs per source
        n = logits.shape[0] // 2
        real_logits, fake_logits = logits[:n], logits[n:]
        ctx = TermContext(real, fake, z, labels, D, features, self)
        # D's loss, plus its terms (penalties) on steps where D moves.
        d_loss = obj.d_loss(real_logits, fake_logits)
        if obj.d_terms and update_d:
            d_loss = d_loss + sum(term(ctx) for term in obj.d_terms)
        # G's loss: the loss's, or a term's that replaces it, plus the terms that add to it (on steps where G moves,
        # unless a term is needed for the logged G loss too).
        g_terms = [t for t in obj.g_terms if update_g or t.when_g_idle]
        replacing = [t for t in g_terms if t.replaces_g_loss]
        g_loss = replacing[0](ctx) if replacing else obj.g_loss(real_logits, fake_logits)
        for term in g_terms:
            if not term.replaces_g_loss:
                g_loss = g_loss + term(ctx)
        # Each loss's gradient for its own network only (the tutorial's var_list), both from this one forward.
        if update_d:
            d_grads = torch.autograd.grad(d_loss, self.d_params, retain_graph=update_g)
            for p, g in zip(self.d_params, d_grads):
                p.grad = g
        if update_g:
            g_grads = torch.autograd.grad(g_loss, self.g_params)
            for p, g in zip(self.g_params, g_grads):
                p.grad = g
        if not stats:
            return None
        with torch.no_grad():
            return self._stats(d_loss.detach(), g_loss.detach(), real_logits, fake_logits, update_d, update_g)

    def _stats(self, d_loss, g_loss, real_logits, fake_logits, update_d, update_g) -> StepStats:  # noqa: ANN001
        zero = torch.zeros((), device=real_logits.device)
        return StepStats(
            d_loss=d_loss,
            g_loss=g_loss,
            d_real=torch.sigmoid(real_logits).mean(),
            d_fake=torch.sigmoid(fake_logits).mean(),
            d_grad_norm=_grad_norm(self.d_params) if update_d else zero,
            g_grad_norm=_grad_norm(self.g_params) if update_g else zero,
        )

    # Manual engine: the same mathematics, written out for Linear/ReLU stacks.
    def _manual(self, real: Tensor, z: Tensor, update_d: bool, update_g: bool, stats: bool):
        B = real.shape[0]
        # Forward G: hidden activations kept for the backward pass.
        g_acts = [z]  # inputs of each G layer: z (B, z_dim), then (B, g_hidden) ...
        h = z
        for layer in self.g_layers[:-1]:
            h = torch.addmm(layer.bias, h, layer.weight.t()).relu_()
            g_acts.append(h)
        last = self.g_layers[-1]
        x = torch.empty(2 * B, last.weight.shape[0], dtype=real.dtype, device=real.device)  # (2B, 784)
        x[:B].copy_(real)
        fake = x[B:]
        torch.addmm(last.bias, h, last.weight.t(), out=fake).sigmoid_()  # G(z) written straight into D's input

        # Forward D over real and fake together.
        d_acts = [x]
        h = x
        for layer in self.d_layers[:-1]:
            h = torch.addmm(layer.bias, h, layer.weight.t()).relu_()
            d_acts.append(h)
        logits = torch.addmm(self.d_layers[-1].bias, h, self.d_layers[-1].weight.t())  # (2B, 1)
        real_logits, fake_logits = logits[:B], logits[B:]
        d_real, d_fake, g_fake = self.objective.logit_grads(real_logits, fake_logits)  # (B, 1) each

        # Backward of the D loss into D's weights (not into x: nothing upstream of D's input is trained by it).
        if update_d:
            _backprop_stack(self.d_layers, d_acts, torch.cat([d_real, d_fake]))  # from (2B, 1)

        # Backward of the G loss: through D on the fake rows only (D's weights get nothing), then through G.
        if update_g:
            grad = g_fake  # (B, 1)
            for i in range(len(self.d_layers) - 1, 0, -1):
                grad = torch.ops.aten.threshold_backward(grad @ self.d_layers[i].weight, d_acts[i][B:], 0)
            grad = grad @ self.d_layers[0].weight  # dG_loss / dfake (B, 784)
            _backprop_stack(self.g_layers, g_acts, torch.ops.aten.sigmoid_backward(grad, fake))

        if not stats:
            return None
        d_loss = self.objective.d_loss(real_logits, fake_logits)
        g_loss = self.objective.g_loss(real_logits, fake_logits)
        return self._stats(d_loss, g_loss, real_logits, fake_logits, update_d, update_g)


def _compiled(G: nn.Module, D: nn.Module, engine: str, objective: Objective) -> tuple[Callable, Callable, str]:
    """torch.compile'd G and D forwards for the autograd engine, or the eager modules and why not.

    Not compiled: the manual engine (it runs no module forward), and objectives whose penalty or unrolled loss
    differentiate through D twice (compiled graphs have no double backward). Compilation is lazy: a backend that
    cannot build (no C++ compiler on CPU, no Triton on GPU) fails at the first call, and `_CompiledOrEager` then
    falls back to the eager module for good, with a warning, so a run never dies for want of a compiler.
    """
    if engine == "manual":
        return G, D, "not used: the manual engine runs no module forward"
    if any(term.double_backward for term in objective.terms):
        return G, D, "not used: penalties and unrolled losses need double backward, which compiled graphs lack"
    return _CompiledOrEager(G), _CompiledOrEager(D), "on (torch.compile, inductor; eager if it cannot build)"


class _CompiledOrEager:
    """Calls torch.compile(module); if its first call fails to build, warns once and calls the module itself."""

    def __init__(self, module: nn.Module) -> None:
        self.module, self.compiled, self.proven = module, torch.compile(module), False

    def __call__(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN204 - the module's own signature
        if self.compiled is not None and not self.proven:
            try:
                out = self.compiled(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 - any build failure means: run eagerly
                first = (str(err).strip().splitlines() or [""])[0][:160]
                warnings.warn(f"torch.compile failed, training eagerly: {type(err).__name__}: {first}", stacklevel=2)
                self.compiled = None
            else:
                self.proven = True
                return out
        if self.compiled is not None:
            return self.compiled(*args, **kwargs)
        return self.module(*args, **kwargs)


def physical_cores() -> int:
    """Physical cores this process may run on (hyperthread siblings counted once); torch's default counts both."""
    try:
        allowed = os.sched_getaffinity(0)
    except AttributeError:  # not Linux: no topology to read
        return os.cpu_count() or 1
    cores = set()
    for cpu in allowed:
        try:
            siblings = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list").read_text().strip()
        except OSError:
            siblings = str(cpu)
        cores.add(siblings)
    return max(1, len(cores))
