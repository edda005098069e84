"""Adam for the two networks: the optimizers training builds, and their update without Optimizer.step's Python.

``make_optimizers`` gives each network its own Adam (fused kernels on CPU and CUDA), as the tutorial's two
``tf.train.AdamOptimizer``s. ``FlatAdam`` applies the update one of those optimizers' ``step()`` would, in one
``torch._fused_adam_`` call over a flat buffer; the manual step engine uses it once ``adam_state_ready`` says the
first ``step()`` has created the moments (tests/test_step.py checks equality with ``step()``).
"""

from __future__ import annotations

import torch
from torch import nn

Tensor = torch.Tensor


def plain_fused_adam(opt: torch.optim.Optimizer) -> bool:
    """A torch Adam with fused kernels, one parameter group, float hyperparameters and no extras (what
    make_optimizers builds): the case `FlatAdam` reproduces exactly. Anything else keeps opt.step()."""
    if type(opt) is not torch.optim.Adam or len(opt.param_groups) != 1 or not hasattr(torch, "_fused_adam_"):
        return False
    g = opt.param_groups[0]
    extras = g["amsgrad"] or g["maximize"] or g["capturable"] or g["differentiable"] or g["weight_decay"]
    extras = extras or g.get("decoupled_weight_decay", False) or opt._optimizer_step_pre_hooks
    extras = extras or opt._optimizer_step_post_hooks
    return bool(g["fused"]) and not extras and all(isinstance(g[k], float) for k in ("lr", "eps"))


def adam_state_ready(opt: torch.optim.Optimizer) -> bool:
    """True once opt.step() has created the moments of every parameter (the first step always goes through it)."""
    return len(opt.state) == len(opt.param_groups[0]["params"])


class FlatAdam:
    """One network's Adam(fused=True).step() as a single ``torch._fused_adam_`` call over one contiguous buffer.

    On first use it moves the parameters, their gradients and both moments into four flat buffers (the tensors the
    model and optimizer hold become views of them), so the kernel runs one parallel region over 0.2M values rather
    than one per tensor, and Optimizer.step's Python is skipped. The update is elementwise, so the values are those
    Adam.step() computes (tests/test_step.py). If anything re-points a tensor (load_state_dict on the optimizer,
    ``p.data = ...``), the next step notices and rebuilds the buffers from the current values.
    Measured in benchmarks/train_speed.py's docstring: +7% steps/s for the tutorial step at 2 threads.
    """

    def __init__(self, opt: torch.optim.Optimizer) -> None:
        self.opt = opt
        self.params: list[nn.Parameter] = list(opt.param_groups[0]["params"])
        self.views: list[tuple[int, Tensor, Tensor, Tensor]] = []
        self.flat: list[Tensor] = []

    def _bound(self) -> bool:
        state = self.opt.state
        return bool(self.views) and all(
            p.data_ptr() == ptr and p.grad is g and state[p]["exp_avg"] is m and state[p]["exp_avg_sq"] is v
            for p, (ptr, g, m, v) in zip(self.params, self.views)
        )

    def _bind(self) -> None:
        n, p0 = sum(p.numel() for p in self.params), self.params[0]
        self.flat = [torch.empty(n, dtype=p0.dtype, device=p0.device) for _ in range(4)]  # param, grad, m, v
        self.views, offset = [], 0
        for p in self.params:
            state, k = self.opt.state[p], p.numel()
            param, grad, m, v = (buf[offset : offset + k].view_as(p) for buf in self.flat)
            for view, value in zip((param, grad, m, v), (p.detach(), p.grad, state["exp_avg"], state["exp_avg_sq"])):
                view.copy_(value)
            p.data, p.grad, state["exp_avg"], state["exp_avg_sq"] = param, grad, m, v
            self.views.append((p.data_ptr(), grad, m, v))
            offset += k

    def step(self) -> None:
        if not self._bound():
            self._bind()
        g = self.opt.param_groups[0]
        steps = [self.opt.state[p]["step"] for p in self.params]
        torch._foreach_add_(steps, 1)  # every parameter keeps its own count, as Adam.step() does
        torch._fused_adam_(
            [self.flat[0]], [self.flat[1]], [self.flat[2]], [self.flat[3]], [], steps[:1], amsgrad=False, lr=g["lr"],
            beta1=g["betas"][0], beta2=g["betas"][1], weight_decay=0.0, eps=g["eps"], maximize=False,
        )  # fmt: skip


def make_optimizers(G: nn.Module, D: nn.Module, config, device: torch.device):  # noqa: ANN001 - config: TrainConfig
    """Two Adams, each on its own network's parameters (fused kernels on CPU and CUDA)."""
    fused = device.type in ("cpu", "cuda")
    betas = (config.beta1, config.beta2)
    opt_g = torch.optim.Adam(G.parameters(), config.lr_g, betas, config.adam_eps, fused=fused)
    opt_d = torch.optim.Adam(D.parameters(), config.lr_d, betas, config.adam_eps, fused=fused)
    return opt_g, opt_d
