"""torch.hub entry points: the networks mnistgan ships, SHA-256 checked, as plain nn.Modules in eval mode.

    import torch
    G = torch.hub.load("path/to/mnistgan", "generator", source="local")  # or "<owner>/mnistgan" from GitHub
    z = torch.randn(16, G.z_dim)                       # G.noise says the distribution: "normal" or "uniform"
    images = G(z)                                      # (16, 784) in [0, 1]; G(z, seed=s) picks other clusters
    C = torch.hub.load("path/to/mnistgan", "conditional", source="local")
    images = C(torch.randn(10, C.z_dim), torch.arange(10))  # digits 0-9
    E = torch.hub.load("path/to/mnistgan", "evaluator", source="local")
    logits = E(images.view(-1, 1, 28, 28))             # (B, 10); E.forward_both(...) gives the 128 features too

The code comes from this checkout's src/ (the weights match its code), or from an installed mnistgan when the
checkout has no src/. mnistgan.generate(G, G.config, n, seed) draws the same images as `mnistgan sample`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

dependencies = ["torch", "numpy", "safetensors", "PIL"]  # what loading imports (checked by torch.hub)

_SRC = Path(__file__).resolve().parent / "src"
if (_SRC / "mnistgan" / "__init__.py").is_file() and str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))


class ClusterConditioned(nn.Module):
    """G(z (B, z_dim)) -> images (B, 784) for a generator conditioned on k-means clusters (unconditional to its
    user): the cluster ids are drawn in their training proportions, shuffled by `seed`, as `mnistgan sample` does."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor, clusters: torch.Tensor | None = None, seed: int = 0) -> torch.Tensor:
        """Images (B, 784) in [0, 1]; clusters (B,) int64 picks the clusters instead."""
        if clusters is None:
            clusters = self.net.default_labels(len(z), seed)
        return self.net(z, clusters.to(z.device))


def _shipped(kind: str, pretrained: bool, device: str) -> nn.Module:
    from mnistgan.models import build_generator
    from mnistgan.pretrained import pretrained_run
    from mnistgan.sample import load_generator

    net, config, _ = load_generator(pretrained_run(kind), device)
    if not pretrained:  # the same architecture, freshly initialised
        net = build_generator(config).to(device).eval()
    if config.clusters:
        net = ClusterConditioned(net).eval()
    net.config, net.z_dim, net.noise = config, config.z_dim, config.noise
    return net


def generator(pretrained: bool = True, device: str = "cpu") -> nn.Module:
    """The shipped unconditional generator (conv-clusters preset, seed 0): G(z) with z (B, G.z_dim) drawn as G.noise
    says -> images (B, 1, 28, 28) in [0, 1]. pretrained=False: the same network, untrained."""
    return _shipped("unconditional", pretrained, device)


def conditional(pretrained: bool = True, device: str = "cpu") -> nn.Module:
    """The shipped digit-conditional generator (conv-conditional preset, seed 0): G(z, digits) with z (B, G.z_dim)
    and digits (B,) int64 in 0-9 -> images (B, 784) in [0, 1]. pretrained=False: untrained."""
    return _shipped("conditional", pretrained, device)


def evaluator(pretrained: bool = True, device: str = "cpu") -> nn.Module:
    """The evaluator CNN every mnistgan metric is computed in (99.5% MNIST test accuracy): E(images (B, 1, 28, 28)
    in [0, 1]) -> logits (B, 10); E.forward_both(images) -> (features (B, 128), logits). A copy of its own."""
    import copy

    from mnistgan.metrics.evaluator import Evaluator, load_evaluator

    net = copy.deepcopy(load_evaluator()) if pretrained else Evaluator().eval()
    return net.to(device)
