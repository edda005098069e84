"""train(config, out_dir) -> run directory: checks, then one flat training loop with titled blocks.

The run directory gets config.json, stats.jsonl, checkpoints (generator.safetensors, resume.pt), the fixed-noise
progress grids and GIF, the tutorial's loss plot, a 15x15 sample grid and a single sample.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import torch
from tqdm import tqdm

from mnistgan import plots
from mnistgan.adam import make_optimizers
from mnistgan.checkpoint import load_resume, rng_state, save_resume, save_snapshot, saved_config, set_rng_state
from mnistgan.clusters import image_clusters
from mnistgan.config import TrainConfig, load_config, resume_changes, save_config
from mnistgan.data import Batcher, load_split, spec_of
from mnistgan.ema import EMA
from mnistgan.errors import Interrupted, NonFiniteError, UserError, warn
from mnistgan.memory import check_fits
from mnistgan.metrics.training import log_metrics, summary
from mnistgan.mixture_plots import d_surface, draw_frame, view_limits
from mnistgan.mixtures import MIXTURES, PROTOCOL_N
from mnistgan.models import build_discriminator, build_generator, sample_noise
from mnistgan.objectives import objective_from_config
from mnistgan.rundir import (
    CONFIG,
    METRICS,
    MIXTURE_GIF,
    MIXTURE_PNG,
    PROGRESS,
    PROGRESS_GIF,
    RESUME,
    SAMPLE_PNG,
    SAMPLES_PNG,
    SNAPSHOT,
    STATS,
    RunLock,
    check_new_run_dir,
    clear_run,
    progress_frame,
    progress_frames,
    remove_stale_temporaries,
    truncate_jsonl,
)
from mnistgan.sample import generate, make_grid, save_gif, save_png
from mnistgan.signals import StopSignals
from mnistgan.step import GANStep, physical_cores


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when present, else cpu; 'cuda' without a GPU is a user error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available (use --device cpu or auto)")
    return torch.device(name)


def _all_finite(*modules: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for m in modules for p in m.parameters())


def network_bytes(config: TrainConfig) -> int:
    """Memory the two networks take in training (weights, gradients, two Adam moments, the EMA and snapshot copies),
    counted on the meta device without allocating anything; 0 if the config cannot be built there."""
    try:
        with torch.device("meta"):
            nets = (build_generator(config), build_discriminator(config))
    except Exception:  # noqa: BLE001 - only an estimate: the real build below reports real errors
        return 0
    return 6 * 4 * sum(p.numel() for net in nets for p in net.parameters())


def train(
    config: TrainConfig, out_dir: Path, resume: bool = False, quiet: bool = False, overwrite: bool = False
) -> Path:
    """Train a GAN as `config` says, writing everything into out_dir; with resume, continue out_dir's run (only the
    fields in config.RESUME_MUTABLE may differ from its own); with overwrite, replace the run out_dir holds.

    Nothing is written into out_dir until every check has passed (config, data, networks, the resume state), and
    the whole run holds out_dir's lock, so a failed or concurrent command never touches an existing run.
    """
    out_dir = Path(out_dir).absolute()
    if config.data_dir is not None:  # absolute, so that --resume works from any working directory
        config = dataclasses.replace(config, data_dir=str(Path(config.data_dir).absolute()))
    config.validate()
    changes: dict = {}
    if resume:
        if overwrite:
            raise UserError("--resume continues a run and --overwrite replaces it: give one")
        saved = load_config(out_dir / CONFIG)
        changes = resume_changes(saved, config)  # UserError naming a field that cannot change
        config = dataclasses.replace(config, extra=saved.extra)
        if not (out_dir / RESUME).is_file():
            raise UserError(
                f"{out_dir} has no {RESUME}: it stopped before its first checkpoint; start it again with --overwrite"
            )
        state = load_resume(out_dir / RESUME)
        try:
            resume_changes(saved_config(state, out_dir / RESUME), config)
        except UserError as err:
            raise UserError(f"{out_dir}: {RESUME} and {CONFIG} are from different runs: {err}") from None
        start = state["step"]
        if not isinstance(start, int) or start < 0:
            raise UserError(f"{out_dir / RESUME}: bad step {start!r}")
        if config.steps < start:
            raise UserError(f"--steps {config.steps} is below step {start}, where this run's checkpoint is")
    else:
        check_new_run_dir(out_dir, overwrite)
        start = 0
    spec = spec_of(config.dataset, config.data_dir)
    points = spec.kind == "points"  # a 2-D dataset: scatter frames instead of image grids, its own scorer
    # In-training metrics come from the dataset's scorer (a --data-dir folder: MNIST's evaluator, which counts what is
    # not a digit as such); a dataset whose scorer has no in-training form (none, or Stacked MNIST's) has none.
    evaluating = bool(config.eval_every) and spec.scored_by in ("mnist-evaluator", "mixture")
    if config.eval_every and config.data_dir is None and spec.scored_by is None and not quiet:
        warn(f"no in-training metrics (--eval-every): the MNIST evaluator cannot read {spec.name}'s {spec.modes}")
    smaller = "choose smaller z_dim, g_hidden, d_hidden or conv_channels"
    check_fits(network_bytes(config), "networks of this size", smaller)
    device = resolve_device(config.device)
    torch.set_num_threads(config.threads or physical_cores())  # more threads than cores only thrash

    # Build data, networks, optimizers.
    torch.manual_seed(config.seed)
    images, labels = load_split("train", config.dataset, config.data_dir)  # labels: conditional runs only
    if config.clusters:  # k-means ids stand in for the labels (clusters.py); no digit label is used
        labels = image_clusters(images, config.clusters, config.seed)
    make_batcher = spec.batcher if spec is not None and spec.batcher is not None else Batcher  # online: fresh draws
    batcher = make_batcher(images, config.batch_size, config.seed, device, labels if config.n_labels else None)
    G = build_generator(config).to(device)
    if config.n_labels:
        G.set_label_probs(labels)  # saved with G: how a snapshot draws its labels
    D = build_discriminator(config).to(device)
    opt_g, opt_d = make_optimizers(G, D, config, device)  # fused Adam, each on its own network
    ema = EMA(G, config.ema_beta) if config.ema_beta else None  # the average is what gets sampled and saved
    G_sample = ema.model if ema is not None else G
    noise_gen = torch.Generator(device=device).manual_seed(config.seed)
    grid_labels = torch.arange(64, device=device) % config.n_labels if config.n_labels else None  # in turn
    n_fixed = PROTOCOL_N if points else 64  # a 2-D frame shows as many points as the protocol scores
    fixed_z = sample_noise(n_fixed, config.z_dim, config.noise, torch.Generator(device).manual_seed(12345), device)

    # Resume: load every state, refusing a file that does not fit these networks.
    if resume:
        try:
            G.load_state_dict(state["G"])
            D.load_state_dict(state["D"])
            opt_g.load_state_dict(state["opt_g"])
            opt_d.load_state_dict(state["opt_d"])
            set_rng_state(state["rng"], noise_gen)
            if ema is not None:
                ema.load_state_dict(state["ema"])
        except (RuntimeError, ValueError, KeyError, TypeError, IndexError, AttributeError) as err:
            lines = [line.strip() for line in str(err).splitlines() if line.strip()] or [type(err).__name__]
            telling = [line for line in lines if line.startswith(("size mismatch", "Missing", "Unexpected"))]
            first = (telling or lines)[0][:200]
            raise UserError(f"{out_dir / RESUME} does not fit the networks of its config.json ({first})") from None

    def save_checkpoint(step: int) -> None:
        if not _all_finite(G, D):
            raise NonFiniteError(f"non-finite weights at step {step}; last good checkpoint kept in {out_dir}")
        save_snapshot(out_dir / SNAPSHOT, G_sample, config, step)  # the EMA generator when there is one
        state = {"G": G.state_dict(), "D": D.state_dict(), "opt_g": opt_g.state_dict()}
        if ema is not None:
            state["ema"] = ema.state_dict()
        state |= {"opt_d": opt_d.state_dict(), "step": step, "rng": rng_state(noise_gen)}
        state["config"] = json.dumps(config.to_dict())
        save_resume(out_dir / RESUME, state)

    def save_progress(step: int, path: Path | None = None) -> None:
        was_training = G_sample.training
        G_sample.eval()  # BatchNorm (conv G) samples with its running statistics and leaves them alone
        with torch.no_grad():
            samples = generate(G_sample, config, n_fixed, noise=fixed_z, labels=grid_labels)
        G_sample.train(was_training)
        if points:  # generated over real points, D's output behind them (mixture_plots.py)
            lo, hi = view_limits(MIXTURES[config.dataset])
            surface = d_surface(D, config.pack, lo, hi, chunk=config.batch_size)
            title = f"{run_label}, step {step:,}"
            draw_frame(path or progress_frame(out_dir, step), samples, images[:PROTOCOL_N], MIXTURES[config.dataset],
                       surface, title)  # fmt: skip
        else:
            save_png(make_grid(samples, nrow=8), progress_frame(out_dir, step), scale=2)

    run_label = config.preset if config.dataset in config.preset else f"{config.preset} on {config.dataset}"

    # Take the run directory: from here on this process alone writes it.
    with RunLock(out_dir) as lock, StopSignals() as stop:
        if lock.note:
            warn(lock.note)
        for path in remove_stale_temporaries(out_dir):
            warn(f"removed {path.name}, a temporary file left by a killed process")
        if not resume:
            check_new_run_dir(out_dir, overwrite)  # again under the lock: another process may have started here
            if overwrite:
                clear_run(out_dir)
        (out_dir / PROGRESS).mkdir(exist_ok=True)
        if changes:
            past = config.extra.get("resumes") if isinstance(config.extra.get("resumes"), list) else []
            change = {k: list(v) for k, v in changes.items()}
            config = dataclasses.replace(config, extra={**config.extra, "resumes": [*past, {"step": start, **change}]})
            if not quiet:
                tqdm.write(f"resume: {', '.join(f'{k} {a} -> {b}' for k, (a, b) in changes.items())}")
        save_config(config, out_dir / CONFIG)
        if resume:
            for log in (STATS, METRICS):  # rows written after that checkpoint are written again
                truncate_jsonl(out_dir / log, start)
        if start == 0:
            save_progress(0)
        gan_step = GANStep(G, D, opt_g, opt_d, objective_from_config(config), compile=config.compile)
        if config.compile and not quiet:
            tqdm.write(f"compile: {gan_step.compile_note}")
        bar = tqdm(total=config.steps, initial=start, disable=quiet, dynamic_ncols=True, unit="step")
        t_last, step_last = time.perf_counter(), start
        t_checkpoint = time.monotonic()
        B = config.batch_size
        with open(out_dir / STATS, "a") as stats_file:
            for step in range(start, config.steps):
                # Draw a batch and noise.
                if config.n_labels:
                    real, y = batcher.batch_with_labels(step)  # (B, 784), (B,): fakes are drawn with the same digits
                else:
                    real, y = batcher.batch(step), None  # (B, 784) in [0, 1]
                z = sample_noise(B, config.z_dim, config.noise, noise_gen, device)  # (B, z_dim)

                # Update D and G: one forward of G and D (real and fake together), each loss's gradient for its own
                # network, both computed before either Adam steps, as the tutorial's single sess.run does (step.py).
                # With n_critic > 1, G is updated on every n_critic-th step only (D on every step).
                done = step + 1
                want_stats = done % config.log_every == 0 or done % config.print_every == 0 or done == config.steps
                update_g = done % config.n_critic == 0
                stats = gan_step(real, z, y, update_g=update_g, stats=want_stats)  # device tensors, or None

                # Update EMA: after G's step, the average moves toward the new weights.
                if ema is not None and update_g:
                    ema.update(G)

                # Log: the only host sync, every log_every steps.
                if done % config.log_every == 0 or done == config.steps:
                    now = time.perf_counter()
                    row = {
                        "step": done,
                        **stats.as_floats(),  # d_loss, g_loss, d_real, d_fake, d_grad_norm, g_grad_norm: one sync
                        "steps_per_s": (done - step_last) / max(now - t_last, 1e-9),
                        "time": time.time(),
                    }
                    t_last, step_last = now, done
                    if not all(math.isfinite(v) for v in row.values()):
                        bar.close()
                        raise NonFiniteError(
                            f"non-finite loss or gradient at step {done} ({row}); "
                            f"last good checkpoint kept in {out_dir}"
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
                    g_val, d_val = stats.g_loss.item(), stats.d_loss.item()
                    tqdm.write(f"Step {done}: Generator Loss: {g_val:.4f}, Discriminator Loss: {d_val:.4f}")

                # Evaluate: fd, score and digits of eval_samples images (a 2-D dataset: its modes, high-quality
                # share and KL), one row of metrics.jsonl, every eval_every steps and at the last.
                if evaluating and (done % config.eval_every == 0 or done == config.steps):
                    m = log_metrics(G_sample, config, out_dir, done)
                    if not quiet:
                        tqdm.write(f"Step {done}: {summary(m)}")

                # Save progress grid and checkpoint (every checkpoint_every steps, checkpoint_seconds, at the end, and
                # when a signal asks to stop).
                if done % config.snapshot_every == 0 or done == config.steps:
                    save_progress(done)
                overdue = config.checkpoint_seconds and time.monotonic() - t_checkpoint >= config.checkpoint_seconds
                if done % config.checkpoint_every == 0 or done == config.steps or overdue or stop.signum:
                    save_checkpoint(done)
                    t_checkpoint = time.monotonic()
                if stop.signum and done < config.steps:
                    bar.close()
                    raise Interrupted(
                        f"interrupted at step {done} of {config.steps}; checkpoint saved: continue with "
                        f"mnistgan train --resume {out_dir}",
                        stop.signum,
                    )
        bar.close()

        # Final figures: the tutorial's single sample and 15x15 grid and the progress GIF (a 2-D dataset: the last
        # scatter frame and the GIF of all of them), the loss plot.
        if points:
            save_progress(config.steps, out_dir / MIXTURE_PNG)
            save_gif(progress_frames(out_dir), out_dir / MIXTURE_GIF, ms_per_frame=250, mode="RGB")
        else:
            samples = generate(G_sample.eval(), config, 225, seed=config.seed)
            save_png(make_grid(samples, nrow=15), out_dir / SAMPLES_PNG, scale=2)
            save_png(samples[0], out_dir / SAMPLE_PNG, scale=8)
            save_gif(progress_frames(out_dir), out_dir / PROGRESS_GIF)
        plots.plot_run(out_dir)
    return out_dir
