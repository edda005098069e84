"""Speed of one GAN step of the conv pair (src/mnistgan/conv.py) against the tutorial's MLP pair, on CPU.

One step = G forward, D forward/backward on cat([real, fake]) (2B images), D Adam step, D forward/backward on the
fakes for G's loss, G backward and Adam step: the work of one training step at batch B.

    .venv/bin/python benchmarks/conv_speed.py [--threads 2] [--batch 128] [--channels 16,32,64]

Prints steps/s and samples/s (B per step) per network, with the load average: the machine is shared, so compare
rows from one invocation only. CPU-ms per step (process time, all threads) is less sensitive to other load than
wall time; with --threads 1 it is the single-core cost of a step.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
import torch.nn.functional as F

from mnistgan.conv import ConvDiscriminator, ConvGenerator, dcgan_init
from mnistgan.models import MLPDiscriminator, MLPGenerator


def step_time(G: torch.nn.Module, D: torch.nn.Module, batch: int, reps: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (all threads) of one G+D training step at this batch size."""
    opt_g, opt_d = torch.optim.Adam(G.parameters(), 2e-4), torch.optim.Adam(D.parameters(), 2e-4)
    real = torch.rand(batch, 784)

    def step() -> None:
        fake = G(torch.randn(batch, 100))
        logits = D(torch.cat([real, fake.detach()]))
        opt_d.zero_grad()
        (F.softplus(-logits[:batch]).mean() + F.softplus(logits[batch:]).mean()).backward()
        opt_d.step()
        opt_g.zero_grad()
        F.softplus(-D(fake)).mean().backward()
        opt_g.step()

    for _ in range(3):
        step()
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return sorted(wall)[reps // 2], sorted(cpu)[reps // 2]


def main() -> None:
    """Print one row per network."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--channels", default="16,32,64")
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    nets = {"mlp (tutorial)": (MLPGenerator(), MLPDiscriminator())}
    for c in (int(s) for s in args.channels.split(",")):
        G, D = ConvGenerator(channels=c), ConvDiscriminator(channels=c)
        dcgan_init(G)
        dcgan_init(D)
        nets[f"conv c={c}"] = (G, D)
    print(f"threads {args.threads}, batch {args.batch}, load average {os.getloadavg()[0]:.1f}")
    for name, (G, D) in nets.items():
        params = sum(p.numel() for p in G.parameters()) + sum(p.numel() for p in D.parameters())
        wall, cpu = step_time(G, D, args.batch, args.reps)
        print(
            f"{name:15s} params {params:8d}  {1 / wall:7.1f} steps/s  {args.batch / wall:7.0f} samples/s"
            f"  ({cpu * 1000:6.1f} CPU-ms per step)"
        )


if __name__ == "__main__":
    main()
