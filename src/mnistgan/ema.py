"""Exponential moving average of the generator's weights (Yazici et al. 2019; Karras et al. 2018), for sampling.

After every G update: p_ema <- beta_t * p_ema + (1 - beta_t) * p for every parameter, and every buffer (BatchNorm's
running statistics) is copied as it is, so the average network normalises like the trained one.

Warm-up: beta_t = min(beta, (1 + t) / (10 + t)), t = number of updates done before this one (TensorFlow's
``ExponentialMovingAverage(num_updates=t)`` rule). At t = 0 the average takes 90% of the new weights, so the random
initialisation is forgotten within tens of steps, and beta_t reaches beta = 0.999 after about 9,000 updates.
A half-life h in G updates gives beta = 0.5 ** (1 / h) (StyleGAN2-ADA states its EMA as a half-life in images).

Use: ``ema = EMA(G, beta=0.999)``; after ``opt_g.step()`` call ``ema.update(G)``; sample from ``ema.model``; save
``ema.model`` as the generator snapshot and ``ema.state_dict()`` in the resume state.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from mnistgan.errors import UserError


def beta_from_half_life(half_life: float) -> float:
    """beta such that a weight's contribution halves after `half_life` updates: 0.5 ** (1 / half_life)."""
    if not half_life > 0:
        raise UserError(f"EMA half-life must be positive, got {half_life}")
    return 0.5 ** (1.0 / half_life)


class EMA:
    """A frozen copy of a model whose parameters track an exponential moving average of the model's."""

    def __init__(self, model: nn.Module, beta: float = 0.999, warmup: bool = True) -> None:
        if not 0.0 <= beta < 1.0:
            raise UserError(f"EMA beta must be in [0, 1), got {beta}")
        self.beta, self.warmup = beta, warmup
        self.num_updates = 0
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    def current_beta(self) -> float:
        """The beta the next update uses: min(beta, (1 + t) / (10 + t)) with warm-up, else beta."""
        t = self.num_updates
        return min(self.beta, (1.0 + t) / (10.0 + t)) if self.warmup else self.beta

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average toward `model`'s parameters; copy its buffers."""
        beta = self.current_beta()
        ema_params = list(self.model.parameters())
        params = [p.detach() for p in model.parameters()]
        if len(ema_params) != len(params):
            raise ValueError("EMA: the model's parameter list changed since the average was made")
        torch._foreach_lerp_(ema_params, params, 1.0 - beta)  # p_ema + (1 - beta) (p - p_ema)
        for b_ema, b in zip(self.model.buffers(), model.buffers()):
            b_ema.copy_(b)
        self.num_updates += 1

    def state_dict(self) -> dict[str, Any]:
        """The average's weights and the update count, for the resume state."""
        return {"model": self.model.state_dict(), "num_updates": self.num_updates, "beta": self.beta}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what state_dict saved."""
        self.model.load_state_dict(state["model"])
        self.num_updates = int(state["num_updates"])
