"""Figures drawn from a run's JSONL files only (stats.jsonl, metrics.jsonl), so `mnistgan plot RUN` can redraw them
any time."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure  # the object API: no pyplot, no backend switch, no global figure state

from mnistgan.errors import UserError
from mnistgan.files import save_figure
from mnistgan.rundir import CONFIG, DIGITS_PNG, LOSSES_PNG, METRICS, METRICS_PNG, STATS, read_jsonl


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average that keeps the length (edges average over what exists)."""
    if window <= 1 or len(values) < 2:
        return values
    kernel = np.ones(window)
    num = np.convolve(values, kernel, mode="same")
    den = np.convolve(np.ones_like(values), kernel, mode="same")
    return num / den


def plot_losses(rows: list[dict], path: Path, title: str = "") -> None:
    """The tutorial's loss plot (raw and smoothed G and D losses) with D(x) and D(G(z)) below it, with the values a
    GAN at equilibrium would show (D loss 2 ln 2, D output 0.5) as labelled reference lines."""
    steps = np.array([r["step"] for r in rows])
    fig = Figure(figsize=(9, 6.5))
    ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    window = max(1, len(rows) // 50)
    every = int(np.median(np.diff(steps))) if len(steps) > 1 else 0
    smoothed = f", mean of {window} rows ({window * every:,} steps)" if window > 1 else ""
    for key, label, color in [("g_loss", "Generator loss", "tab:blue"), ("d_loss", "Discriminator loss", "tab:red")]:
        values = np.array([r[key] for r in rows])
        if window > 1:  # raw values faint behind the smoothed curve
            ax1.plot(steps, values, color=color, alpha=0.25, linewidth=0.8)
        ax1.plot(steps, smooth(values, window), color=color, label=label + smoothed)
    ax1.axhline(2 * np.log(2), color="gray", linestyle=":", linewidth=1, label="D loss at equilibrium, 2 ln 2")
    ax1.set_ylabel("loss (natural log)")
    ax1.legend(loc="best", fontsize=8, framealpha=0.6)
    ax1.grid(alpha=0.3)
    for key, label, color in [("d_real", "D(x), real", "tab:green"), ("d_fake", "D(G(z)), generated", "tab:purple")]:
        values = np.array([r[key] for r in rows])
        ax2.plot(steps, smooth(values, window), color=color, label=label)
    ax2.axhline(0.5, color="gray", linestyle=":", linewidth=1, label="D cannot tell, 0.5")
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("mean D output")
    ax2.set_xlabel("step")
    ax2.legend(loc="best", fontsize=8, framealpha=0.6)
    ax2.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def plot_metrics(rows: list[dict], path: Path, title: str = "") -> None:
    """In-training metrics over steps (metrics.jsonl): FD (log scale), classifier score, modes covered."""
    steps = np.array([r["step"] for r in rows])
    fig = Figure(figsize=(9, 7))
    axes = fig.subplots(3, 1, sharex=True)
    panels = [
        ("fd", "FD to test set (lower is better)", "tab:red"),
        ("score", "classifier score (max 10)", "tab:blue"),
        ("modes", "digits drawn readably by >= 1%", "tab:green"),
    ]
    for ax, (key, label, color) in zip(axes, panels):
        ax.plot(steps, [r[key] for r in rows], color=color, marker="o", markersize=2.5, linewidth=1.2)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    axes[1].set_ylim(1, 10)
    axes[2].set_ylim(0, 10.5)
    axes[-1].set_xlabel("step")
    what = f"metrics of {rows[-1].get('n', '?')} samples (fixed noise) during training"
    fig.suptitle(f"{title}: {what}" if title else what, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def plot_digits(rows: list[dict], path: Path, title: str = "") -> None:
    """Share of samples read as each digit, over steps, as stacked areas, with the samples that do not read as a digit
    as a grey band on top: collapse shows as bands that widen while others vanish."""
    steps = np.array([r["step"] for r in rows])
    shares = np.array([r["digits_hist"] for r in rows]).T  # (10, T), each column sums to 1 - unreadable
    rest = np.clip(1.0 - shares.sum(0), 0.0, 1.0)  # (T,) not a digit (rows from before that count: 0)
    fig = Figure(figsize=(9, 4.5))
    ax = fig.subplots()
    colors = [*matplotlib.colormaps["tab10"].colors, (0.85, 0.85, 0.85)]
    labels = [*(str(d) for d in range(10)), "not a digit"]
    ax.stackplot(steps, np.vstack([shares, rest]), labels=labels, colors=colors, alpha=0.9)
    ax.set_ylim(0, 1)
    ax.set_xlim(steps.min(), steps.max() if len(steps) > 1 else steps.min() + 1)
    ax.set_ylabel("share of samples")
    ax.set_xlabel("step")
    what = "what each sample reads as, over training (all digits alike: 10 bands of 0.1)"
    ax.set_title(f"{title}: {what}" if title else what, fontsize=10)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), title="reads as", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


STATS_KEYS = ("g_loss", "d_loss", "d_real", "d_fake")  # what losses.png draws from each stats.jsonl row
METRIC_KEYS = ("fd", "score", "modes", "digits_hist")  # ... and metrics.png and digits.png from metrics.jsonl


def _complete(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    """The rows that carry every key as a number (digits_hist: a list of 10), in step order; others are skipped."""

    def ok(value: object, key: str) -> bool:
        if key == "digits_hist":
            return isinstance(value, list) and len(value) == 10 and all(isinstance(v, (int, float)) for v in value)
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    return sorted((r for r in rows if all(ok(r.get(k), k) for k in keys)), key=lambda r: r["step"])


def plot_run(run_dir: Path) -> list[Path]:
    """Redraw every figure that the run's JSONL files support; return the paths written."""
    run_dir = Path(run_dir)
    rows = _complete(read_jsonl(run_dir / STATS), STATS_KEYS)
    if not rows:
        raise UserError(f"{run_dir / STATS} has no rows to plot (each needs {', '.join(STATS_KEYS)})")
    written = [run_dir / LOSSES_PNG]
    title = run_title(run_dir, rows[-1]["step"])
    plot_losses(rows, written[0], title)
    metric_rows = read_jsonl(run_dir / METRICS) if (run_dir / METRICS).is_file() else []
    metric_rows = _complete(metric_rows, METRIC_KEYS)
    if metric_rows:
        written += [run_dir / METRICS_PNG, run_dir / DIGITS_PNG]
        plot_metrics(metric_rows, written[-2], title)
        plot_digits(metric_rows, written[-1], title)
    return written


def run_title(run_dir: Path, step: int) -> str:
    """'tutorial, step 5,000 of 70,000' from the run's config.json (its folder name if that cannot be read)."""
    try:
        config = json.loads((Path(run_dir) / CONFIG).read_text())
        return f"{config['preset']}, step {step:,} of {config['steps']:,}"
    except (OSError, ValueError, KeyError, TypeError):
        return f"{Path(run_dir).name}, step {step:,}"
