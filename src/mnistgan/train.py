"""train(config, out_dir) -> run directory: one flat training loop with titled blocks.

The run directory gets config.json, stats.jsonl, checkpoints (generator.safetensors, resume.pt), the fixed-noise
progress grids and GIF, the tutorial's loss plot, a 15x15 sample grid and a single sample.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch
from tqdm import tqdm

from mnistgan import losses, plots
from mnistgan.checkpoint import (
    RESUME,
    SNAPSHOT,
    load_resume,
    rng_state,
    save_resume,
    save_snapshot,
    set_rng_state,
)
from mnistgan.config import TrainConfig, load_config, save_config
from mnistgan.data import Batcher, load_split
from mnistgan.errors import NonFiniteError, UserError
from mnistgan.metrics.training import log_metrics
from mnistgan.models import build_discriminator, build_generator, sample_noise
from mnistgan.sample import generate, make_grid, save_gif, save_png, to_uint8


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when present, else cpu; 'cuda' without a GPU is a user error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available (use --device cpu or auto)")
    return torch.device(name)


def _grad_norm(grads: tuple[torch.Tensor, ...]) -> torch.Tensor:
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


def _all_finite(*modules: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for m in modules for p in m.parameters())


def train(config: TrainConfig, out_dir: Path, resume: bool = False, quiet: bool = False) -> Path:
    """Train a GAN as `config` says, writing everything into out_dir; with resume, continue out_dir's run."""
    out_dir = Path(out_dir)
    if resume:
        saved = load_config(out_dir / "config.json")
        if config.steps > saved.steps:
            saved.steps = config.steps  # resuming may extend a run; nothing else may change under it
        config = saved
    config.validate()
    device = resolve_device(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "progress").mkdir(exist_ok=True)
    save_config(config, out_dir / "config.json")

    # Build data, networks, optimizers.
    torch.manual_seed(config.seed)
    images, _ = load_split("train", config.dataset, config.data_dir)  # labels are not used: unsupervised
    batcher = Batcher(images, config.batch_size, config.seed, device)
    G = build_generator(config).to(device)
    D = build_discriminator(config).to(device)
    g_params, d_params = list(G.parameters()), list(D.parameters())
    fused = device.type in ("cpu", "cuda")
    opt_g = torch.optim.Adam(g_params, config.lr_g, (config.beta1, config.beta2), config.adam_eps, fused=fused)
    opt_d = torch.optim.Adam(d_params, config.lr_d, (config.beta1, config.beta2), config.adam_eps, fused=fused)
    noise_gen = torch.Generator(device=device).manual_seed(config.seed)
    fixed_z = sample_noise(64, config.z_dim, config.noise, torch.Generator(device).manual_seed(12345), device)
    start = 0

    # Resume.
    if resume:
        state = load_resume(out_dir / RESUME)
        G.load_state_dict(state["G"])
        D.load_state_dict(state["D"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        set_rng_state(state["rng"], noise_gen)
        start = int(state["step"])
        _truncate_jsonl(out_dir / "stats.jsonl", start)

    def save_checkpoint(step: int) -> None:
        if not _all_finite(G, D):
            raise NonFiniteError(f"non-finite weights at step {step}; last good checkpoint kept in {out_dir}")
        save_snapshot(out_dir / SNAPSHOT, G, config, step)
        state = {"G": G.state_dict(), "D": D.state_dict(), "opt_g": opt_g.state_dict()}
        state |= {"opt_d": opt_d.state_dict(), "step": step, "rng": rng_state(noise_gen)}
        state["config"] = json.dumps(config.to_dict())
        save_resume(out_dir / RESUME, state)

    def save_progress(step: int) -> None:
        with torch.no_grad():
            grid = make_grid(to_uint8(G(fixed_z)), nrow=8)
        save_png(grid, out_dir / "progress" / f"step_{step:06d}.png", scale=2)

    if start == 0:
        save_progress(0)
    stats_file = open(out_dir / "stats.jsonl", "a")
    bar = tqdm(total=config.steps, initial=start, disable=quiet, dynamic_ncols=True, unit="step")
    t_last, step_last = time.perf_counter(), start
    B = config.batch_size
    for step in range(start, config.steps):
        # Draw a batch and noise.
        real = batcher.batch(step)  # (B, 784) in [0, 1]
        z = sample_noise(B, config.z_dim, config.noise, noise_gen, device)  # (B, z_dim)

        # Forward: one generator pass and one discriminator pass over real and fake together.
        fake = G(z)  # (B, 784)
        logits = D(torch.cat([real, fake]))  # (2B, 1)
        real_logits, fake_logits = logits[:B], logits[B:]
        d_loss = losses.d_loss_nsgan(real_logits, fake_logits)
        g_loss = losses.g_loss_nsgan(fake_logits)

        # Gradients: each loss for its own network only (the tutorial's var_list), both from the same forward,
        # as the tutorial's single sess.run computes them before either optimizer applies its update.
        d_grads = torch.autograd.grad(d_loss, d_params, retain_graph=True)
        g_grads = torch.autograd.grad(g_loss, g_params)

        # Update D and G.
        for p, g in zip(d_params, d_grads):
            p.grad = g
        for p, g in zip(g_params, g_grads):
            p.grad = g
        opt_d.step()
        opt_g.step()
        done = step + 1

        # Log: the only host sync, every log_every steps.
        if done % config.log_every == 0 or done == config.steps:
            now = time.perf_counter()
            row = {
                "step": done,
                "d_loss": d_loss.item(),
                "g_loss": g_loss.item(),
                "d_real": torch.sigmoid(real_logits).mean().item(),
                "d_fake": torch.sigmoid(fake_logits).mean().item(),
                "d_grad_norm": _grad_norm(d_grads).item(),
                "g_grad_norm": _grad_norm(g_grads).item(),
                "steps_per_s": (done - step_last) / max(now - t_last, 1e-9),
                "time": time.time(),
            }
            t_last, step_last = now, done
            if not all(math.isfinite(v) for v in row.values()):
                stats_file.close()
                bar.close()
                raise NonFiniteError(
                    f"non-finite loss or gradient at step {done} ({row}); last good checkpoint kept in {out_dir}"
                )
            stats_file.write(json.dumps(row) + "\n")
            stats_file.flush()
            bar.set_postfix(
                d=f"{row['d_loss']:.3f}",
                g=f"{row['g_loss']:.3f}",
                Dx=f"{row['d_real']:.2f}",
                DGz=f"{row['d_fake']:.2f}",
            )
            bar.update(done - bar.n)
        if done % config.print_every == 0 and not quiet:
            tqdm.write(f"Step {done}: Generator Loss: {g_loss.item():.4f}, Discriminator Loss: {d_loss.item():.4f}")

        # Evaluate: fd, score and digits of eval_samples images, one row of metrics.jsonl (evaluator loaded once).
        if config.eval_every and done % config.eval_every == 0:
            m = log_metrics(G, config, out_dir, done)
            if not quiet:
                tqdm.write(f"Step {done}: fd {m['fd']:.2f}, score {m['score']:.2f}, modes {m['modes']}")

        # Save progress grid and checkpoint.
        if done % config.snapshot_every == 0:
            save_progress(done)
        if done % config.checkpoint_every == 0 or done == config.steps:
            save_checkpoint(done)
    bar.close()
    stats_file.close()

    # Final figures: the tutorial's single sample and 15x15 grid, the progress GIF, the loss plot.
    samples = generate(G.eval(), config, 225, seed=config.seed)
    save_png(make_grid(samples, nrow=15), out_dir / "samples_15x15.png", scale=2)
    save_png(samples[0], out_dir / "sample.png", scale=8)
    save_gif(sorted((out_dir / "progress").glob("step_*.png")), out_dir / "progress.gif")
    plots.plot_run(out_dir)
    return out_dir


def _truncate_jsonl(path: Path, step: int) -> None:
    """Drop rows logged after `step` (written after the checkpoint we resume from), atomically."""
    if not path.exists():
        return
    rows = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line)["step"] <= step]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(r + "\n" for r in rows))
    tmp.replace(path)
