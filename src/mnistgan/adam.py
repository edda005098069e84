"""Adam for the two networks: the optimizers training builds, and their update without Optimizer.step's Python.

``make_optimizers`` gives each network its own Adam (fused kernels on CPU and CUDA), as the tutorial's two
``tf.train.AdamOptimizer``s. ``fused_adam`` applies exactly the update those optimizers' ``step()`` would, in one
``torch._fused_adam_`` call per distinct set of hyperparameters; the manual step engine uses it once
``adam_state_ready`` says the first ``step()`` has created the moments (tests/test_step.py checks bitwise equality).
"""

from __future__ import annotations

import torch
from torch import nn

Tensor = torch.Tensor


def plain_fused_adam(opt: torch.optim.Optimizer) -> bool:
    """A torch Adam with fused kernels, one parameter group, float hyperparameters and no extras (what
    make_optimizers builds): the case `fused_adam` reproduces exactly. Anything else keeps opt.step()."""
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


def fused_adam(opts: list[torch.optim.Optimizer]) -> None:
    """The update Adam(fused=True).step() makes, for several optimizers in as few ``torch._fused_adam_`` calls as
    their hyperparameters allow (one for the tutorial's equal rates), without Optimizer.step's Python: the
    profile in benchmarks/train_speed.py found that Python costing almost as much as the kernel itself."""
    calls: dict[tuple, list[list[Tensor]]] = {}
    for opt in opts:
        g = opt.param_groups[0]
        key = (g["lr"], *g["betas"], g["eps"])
        lists = calls.setdefault(key, [[], [], [], [], []])
        for p in g["params"]:
            state = opt.state[p]
            for i, t in enumerate((p, p.grad, state["exp_avg"], state["exp_avg_sq"], state["step"])):
                lists[i].append(t)
    for (lr, beta1, beta2, eps), (params, grads, exp_avgs, exp_avg_sqs, steps) in calls.items():
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(
            params, grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False, lr=lr, beta1=beta1, beta2=beta2,
            weight_decay=0.0, eps=eps, maximize=False,
        )  # fmt: skip


def make_optimizers(G: nn.Module, D: nn.Module, config, device: torch.device):  # noqa: ANN001 - config: TrainConfig
    """Two Adams, each on its own network's parameters (fused kernels on CPU and CUDA)."""
    fused = device.type in ("cpu", "cuda")
    betas = (config.beta1, config.beta2)
    opt_g = torch.optim.Adam(G.parameters(), config.lr_g, betas, config.adam_eps, fused=fused)
    opt_d = torch.optim.Adam(D.parameters(), config.lr_d, betas, config.adam_eps, fused=fused)
    return opt_g, opt_d
