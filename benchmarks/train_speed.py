"""Training speed of the tutorial preset against its own matrix multiplications and a naive PyTorch rewrite.

    .venv/bin/python benchmarks/train_speed.py [--reps 7] [--steps 200] [--threads N] [--device auto] [--profile]
                                               [--compile]

Variants, timed in interleaved rounds (the order rotates every round) because the machine is shared and its load
drifts; each figure is the median over rounds, and each ratio is the median of the per-round ratios:
- step:      the real training step, exactly as `mnistgan train` runs it (batch drawn from the uint8 tensor, noise,
             GANStep with the engine it picks, adam.FlatAdam per network), tutorial preset, batch 128, float32.
- autograd:  the same GANStep forced onto its autograd engine (the path every non-MLP remedy takes).
- matmul:    only the step's 12 matrix multiplications (same shapes and transposes, same threads), back to back into
             preallocated outputs: 0.42 GFLOP a step; the floor for this model on this machine.
- naive:     a typical PyTorch rewrite written here: nn.Sequential with Sigmoid + BCELoss, D on real and fake
             separately, a second D pass for the G step, foreach Adam.
Targets (issue 5): step time <= 1.5x matmul time; step >= 2.5x naive steps/s.

What the profile showed (torch.profiler; the machine was shared, load average about 8, so shares, not times):
- Eager step (the loop before this change, now GANStep's autograd engine), 2 threads, 200 steps: mm + addmm 44% of
  self CPU time, fused Adam 19%, sum 9% (bias gradients), copy_ 7%, threshold_backward (ReLU) 6%, cat of real and
  fake 5%, sigmoid and its backward 6%, the rest autograd bookkeeping; 2.4x the total CPU time of the manual engine.
- Manual engine, 1 thread, 50 steps (record_shapes, grouped by shape): the 12 matmuls 71% (the two (256,784)x
  (784,256)-sized products of D, forward and weight gradient, 40%), fused Adam 10% plus 8% of Optimizer.step's
  Python around it, copies 2% (real into D's input buffer, bias broadcast of addmm), batch gather 2%, sigmoid and
  sigmoid_backward 2%, ReLU masks 1%.
- So what is left besides matmuls is mostly Adam (memory-bound over 428k parameters and their two moments); the
  tiny (., 1) products of D's last layer cost only their launch.
- With 2 threads on a loaded machine, OpenMP threads that wait for a descheduled partner made every variant 10-100x
  slower in wall time; on such a machine use --threads 1 --clock cpu for stable ratios.
- Acting on the Adam finding: the manual engine called torch._fused_adam_ once for both networks (equal learning
  rates; since replaced by FlatAdam, below) instead of two Optimizer.step() calls, bitwise the same update. One
  thread, CPU clock, 7 interleaved rounds on a loaded machine: 158 against 150 steps/s (+7%); the step went from
  1.38x to 1.29x of its matmuls.
- Quiet machine, 2 threads, 200 steps after that change (torch.profiler, self CPU time per call against 1 thread):
  mm 302 us (432 on 1 thread), addmm 336 us (528): the matmuls get 1.4-1.6x faster with the second thread; but
  _fused_adam_ 719 us (367), sigmoid_ 102 us (57) and uniform_ (the noise) 100 us (58) get about 2x slower. So what
  is left above the matmuls grows with the thread count: 1.29x the matmul time on 1 thread, 1.4-1.8x on 2. Running
  the Adam call on one thread inside a 2-thread step (set_num_threads around it) was 5% slower overall: switching
  OpenMP's team size costs more than it saves. A fix would have to keep Adam's work on one thread without switching
  (a hand-written Adam loop in the manual engine, say), which is the next thing to try here.
- OMP_WAIT_POLICY=PASSIVE (idle OpenMP threads sleep rather than spin, in case a spinning partner slows the
  single-threaded ops): quiet, 2 threads, 5 rounds: every variant slower (step 153 against 178, matmul 245 against
  291 steps/s), step/matmul unchanged (1.61x against 1.60x). Not checked: whether torch's CPU fused Adam kernel
  (which works in cache-line-sized units) parallelises small tensors, i.e. whether passing the parameters in small
  chunks would keep it on one thread.
- Adam in place, by A/B inside one process (quiet, 2 threads, 6 interleaved rounds of 200 steps, 2026-11-28): the
  step with the Adam call removed ran 216 against 175 steps/s, so Adam costs about 1.1 ms of a 5.7 ms step, while
  the same kernel on the same tensors in a loop alone takes 0.12 ms (0.19 ms on one thread). In the step it reads
  and writes 6.8 MB of weights, gradients and moments that the matmuls have pushed out of cache: it is memory-bound,
  and no cheaper Adam exists in float32. What did help: one contiguous buffer per network (adam.FlatAdam: one
  parallel region over 0.2M values instead of one per tensor), 174 against 163 steps/s (+7%). What did not: D's
  update right after D's gradients, while they are still in cache (182 against 184, not adopted).
- The batch gather: advanced indexing of the uint8 images (data[idx]) took 37 us, torch.index_select 5 us (same
  bytes); Batcher now uses index_select.
- torch.compile (--compile; inductor, G and D compiled as modules, the autograd engine): on the H200 (torch 2.11) it
  made the autograd step 0.72x as fast (272 against 375 steps/s) and the conv step 0.64x (19,501 against 30,556
  samples/s): for nets this small the compiled graphs' guards and the graph break at torch.autograd.grad cost more
  than the fused kernels save. On this CPU (2 threads, quiet) it was 0.74x for both (97 against 140 steps/s; conv
  1,434 against 1,931 samples/s), after 9.5 s of compiling. It stays an opt-in flag with an eager fallback, off by
  default.
See the numbers printed by this script for the current machine; the README's speed section records one run.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from mnistgan.adam import make_optimizers
from mnistgan.config import preset_config
from mnistgan.data import Batcher, load_split
from mnistgan.models import build_discriminator, build_generator, sample_noise
from mnistgan.objectives import get_objective
from mnistgan.step import GANStep, physical_cores
from mnistgan.train import resolve_device


def make_train_step(config, images, device, engine: str = "auto", compile: bool = False):  # noqa: ANN001, ANN201
    """A closure running one real training step (data, noise, GANStep), as train.py does."""
    torch.manual_seed(config.seed)
    batcher = Batcher(images, config.batch_size, config.seed, device)
    G, D = build_generator(config).to(device), build_discriminator(config).to(device)
    opt_g, opt_d = make_optimizers(G, D, config, device)
    step = GANStep(G, D, opt_g, opt_d, get_objective(config.loss), engine=engine, compile=compile)
    noise_gen = torch.Generator(device=device).manual_seed(config.seed)
    counter = [0]

    def run() -> None:
        real = batcher.batch(counter[0])
        z = sample_noise(config.batch_size, config.z_dim, config.noise, noise_gen, device)
        step(real, z)
        counter[0] += 1

    return run, step.engine


def make_matmul_only(config, device):  # noqa: ANN001, ANN201
    """The step's matrix multiplications alone (tutorial MLP pair), into preallocated outputs; returns (run, flops)."""
    B, zd, hg, hd, px = config.batch_size, config.z_dim, config.g_hidden, config.d_hidden, 784
    r = lambda *s: torch.randn(*s, device=device)  # noqa: E731
    W1g, W2g, W1d, W2d = r(hg, zd), r(px, hg), r(hd, px), r(1, hd)
    z, hG, x, hD = r(B, zd), r(B, hg), r(2 * B, px), r(2 * B, hd)
    gl, gD, gF, gG = r(2 * B, 1), r(2 * B, hd), r(B, px), r(B, hg)
    outs = {k: torch.empty(*s, device=device) for k, s in {
        "hG": (B, hg), "fake": (B, px), "hD": (2 * B, hd), "logit": (2 * B, 1), "dW2d": (1, hd), "dhD": (2 * B, hd),
        "dW1d": (hd, px), "dhF": (B, hd), "dfake": (B, px), "dW2g": (px, hg), "dhG": (B, hg), "dW1g": (hg, zd),
    }.items()}  # fmt: skip
    calls = [
        (z, W1g.t(), "hG"),
        (hG, W2g.t(), "fake"),
        (x, W1d.t(), "hD"),
        (hD, W2d.t(), "logit"),  # forward
        (gl.t(), hD, "dW2d"),
        (gl, W2d, "dhD"),
        (gD.t(), x, "dW1d"),  # D loss -> D weights
        (gl[B:], W2d, "dhF"),
        (gD[B:], W1d, "dfake"),  # G loss through D to G(z)
        (gF.t(), hG, "dW2g"),
        (gF, W2g, "dhG"),
        (gG.t(), z, "dW1g"),  # through G
    ]
    flops = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b, _ in calls)

    def run() -> None:
        for a, b, name in calls:
            torch.mm(a, b, out=outs[name])

    return run, flops


def make_naive(config, images, device):  # noqa: ANN001, ANN201
    """A typical PyTorch rewrite: Sequential + Sigmoid + BCELoss, three D passes, foreach Adam."""
    torch.manual_seed(config.seed)
    batcher = Batcher(images, config.batch_size, config.seed, device)
    G = nn.Sequential(nn.Linear(100, 256), nn.ReLU(), nn.Linear(256, 784), nn.Sigmoid()).to(device)
    D = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 1), nn.Sigmoid()).to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, foreach=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, foreach=True)
    bce = nn.BCELoss()
    B = config.batch_size
    ones, zeros = torch.ones(B, 1, device=device), torch.zeros(B, 1, device=device)
    counter = [0]

    def run() -> None:
        real = batcher.batch(counter[0])
        z = torch.rand(B, 100, device=device) * 2 - 1
        fake = G(z)
        d_loss = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = bce(D(fake), ones)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        counter[0] += 1

    return run


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_steps(run, steps: int, device: torch.device, clock=time.perf_counter) -> float:  # noqa: ANN001
    """Steps per second of `steps` calls of run(), by `clock` (wall time, or this process's CPU time)."""
    _sync(device)
    t0 = clock()
    for _ in range(steps):
        run()
    _sync(device)
    return steps / (clock() - t0)


def profile(variants: dict, steps: int, device: torch.device) -> None:
    """Print torch.profiler's top operators for each variant."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as tprofile

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    for name, run in variants.items():
        with tprofile(activities=acts) as prof:
            for _ in range(steps):
                run()
            _sync(device)
        print(f"\n=== profile: {name} ({steps} steps) ===")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=14, max_name_column_width=36))


def main() -> None:
    """Parse flags, time the variants in interleaved rounds, print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7, help="interleaved rounds; medians are over these")
    parser.add_argument("--steps", type=int, default=200, help="steps timed per variant per round")
    parser.add_argument("--threads", type=int, default=0, help="0: one per physical core, as training uses")
    parser.add_argument("--device", default="auto", help="auto|cpu|cuda: the same command runs on a GPU")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall: elapsed time (the user's view); cpu: this process's CPU time, which other jobs on a shared "
        "machine barely disturb (use with --threads 1: with more threads it also counts OpenMP spin-waiting)",
    )
    parser.add_argument("--profile", action="store_true", help="also print torch.profiler tables")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile'd autograd and conv steps")
    args = parser.parse_args()

    threads = args.threads or physical_cores()
    torch.set_num_threads(threads)
    device = resolve_device(args.device)
    config = preset_config("tutorial", device=device.type)
    images, _ = load_split("train", config.dataset, config.data_dir)
    step_run, engine = make_train_step(config, images, device)
    matmul_run, flops = make_matmul_only(config, device)
    variants = {
        "step": step_run,
        "autograd": make_train_step(config, images, device, engine="autograd")[0],
        "matmul": matmul_run,
        "naive": make_naive(config, images, device),
    }
    if args.compile:  # the autograd engine with torch.compile'd G and D (compiled during the warm-up)
        t0 = time.perf_counter()
        variants["compiled"] = make_train_step(config, images, device, engine="autograd", compile=True)[0]
        time_steps(variants["compiled"], 3, device)
        print(f"compiled variant: first steps (compilation) took {time.perf_counter() - t0:.1f} s")
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    print(f"clock {args.clock}, device {device}, threads {threads}, torch {torch.__version__}, ", end="")
    print(f"batch {config.batch_size}, float32")
    print(f"step engine: {engine}; matmul-only work: {flops / 1e9:.3f} GFLOP/step")
    for run in variants.values():  # warm-up: allocator, kernels, lazy Adam state
        time_steps(run, 20, device)
    if args.profile:
        profile(variants, args.steps, device)

    rates: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for rep in range(args.reps):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for name in order:
            rates[name].append(time_steps(variants[name], args.steps, device, clock))
        print(f"round {rep + 1}: " + ", ".join(f"{n} {rates[n][-1]:.0f}" for n in names) + " steps/s", flush=True)

    med = {name: statistics.median(r) for name, r in rates.items()}
    ratio = lambda a, b: statistics.median(x / y for x, y in zip(rates[a], rates[b]))  # noqa: E731
    print("\nmedian steps/s: " + ", ".join(f"{n} {med[n]:.0f}" for n in names))
    print(f"matmul-only throughput: {med['matmul'] * flops / 1e9:.0f} GFLOP/s")
    print(f"step time / matmul-only time: {ratio('matmul', 'step'):.2f}x  (target <= 1.5x)")
    print(f"step speed / naive speed:     {ratio('step', 'naive'):.2f}x  (target >= 2.5x)")
    print(f"step speed / autograd engine: {ratio('step', 'autograd'):.2f}x")
    if args.compile:
        print(f"compiled autograd / autograd: {ratio('compiled', 'autograd'):.2f}x")
    print(f"70,000 tutorial steps at the median rate: {70_000 / med['step'] / 60:.1f} min")
    # Conv architecture (mnistgan.conv, DCGAN-style, c=32) through the same GANStep (its autograd engine).
    conv_steps = max(5, args.steps // 20)
    for compiled in [False, True] if args.compile else [False]:
        conv_run = make_conv_step(config, images, device, compile=compiled)
        time_steps(conv_run, 3, device)
        conv = statistics.median(time_steps(conv_run, conv_steps, device, clock) for _ in range(args.reps))
        label = "compiled" if compiled else "eager"
        print(f"conv architecture (GANStep, {label}, {conv_steps} steps x {args.reps}): ", end="")
        print(f"{conv * config.batch_size:.0f} samples/s")
    # Evaluator (mnistgan.metrics): images/s of embed() on test images; weights do not change its speed.
    if device.type == "cpu":
        from mnistgan.metrics.evaluator import Evaluator, embed

        test_images, _ = load_split("test", config.dataset, config.data_dir)
        net, batch = Evaluator(), test_images[:2000]
        embed(net, batch[:500])
        rate = statistics.median(len(batch) * time_steps(lambda: embed(net, batch), 1, device, clock) for _ in range(3))
        print(f"evaluator: {rate:.0f} images/s (embed, 2,000 images x 3)")


def make_conv_step(config, images, device, compile: bool = False):  # noqa: ANN001, ANN201
    """One training step of the DCGAN-style pair from mnistgan.conv through GANStep."""
    from mnistgan.conv import ConvDiscriminator, ConvGenerator

    torch.manual_seed(config.seed)
    batcher = Batcher(images, config.batch_size, config.seed, device)
    G, D = ConvGenerator(config.z_dim).to(device), ConvDiscriminator().to(device)
    opt_g, opt_d = make_optimizers(G, D, config, device)
    step = GANStep(G, D, opt_g, opt_d, get_objective(config.loss), compile=compile)
    noise_gen = torch.Generator(device=device).manual_seed(config.seed)
    counter = [0]

    def run() -> None:
        z = sample_noise(config.batch_size, config.z_dim, config.noise, noise_gen, device)
        step(batcher.batch(counter[0]), z)
        counter[0] += 1

    return run


if __name__ == "__main__":
    main()
