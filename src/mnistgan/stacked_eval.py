"""`mnistgan eval` and `mnistgan ablate` on Stacked MNIST: generate (or load) stacks, score them with
metrics/stacked.py, and show them beside real stacks at the same sample count and the published rows.

The real row scores n stacks of MNIST *test* digits (stacked.real_stacks), never used in training here; it is cached
per (evaluator, n, seed, protocol) like the MNIST reference row.
"""

from __future__ import annotations

import json
import math
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from mnistgan.data import cache_dir
from mnistgan.errors import UserError, warn
from mnistgan.files import atomic_write_text, save_figure, unwritable_reason
from mnistgan.metrics.reference import cache_key
from mnistgan.stacked import PUBLISHED, REAL_SEED, real_stacks, setting_of

DEFAULT_N = 26_000  # VEEGAN/PacGAN score 26,000 samples (the unrolled-GAN setting 25,600: pass --n 25600)
PROTOCOL = 2  # bump when scoring changes (metrics/stacked.py): invalidates cached real rows
KEYS = ("modes", "kl", "readable", "modes_all", "kl_all", "kl_floor", "n")  # what a table shows (counts: figures)


@lru_cache(maxsize=1)
def _scorer() -> tuple[Any, Any]:
    from mnistgan.metrics.evaluator import load_evaluator
    from mnistgan.metrics.stacked import calibrate

    evaluator = load_evaluator()
    return evaluator, calibrate(evaluator)


def score(stacks: np.ndarray) -> dict[str, Any]:
    """The Stacked MNIST scores of uint8 stacks (N, 3, 28, 28) under the shipped evaluator."""
    from mnistgan.metrics.stacked import score_stacks

    evaluator, calib = _scorer()
    t0 = time.perf_counter()
    out = score_stacks(stacks, evaluator, calib)
    return {**out, "evaluator_sha256": evaluator.sha256, "eval_seconds": time.perf_counter() - t0}


def real_row(n: int, seed: int = REAL_SEED) -> dict[str, Any]:
    """Scores of n real stacks of test digits, cached on disk."""
    evaluator, _ = _scorer()
    fields = {"row": "stacked-real", "n": n, "seed": seed, "protocol": PROTOCOL, "evaluator": evaluator.sha256}
    path = cache_dir() / "eval" / f"stacked-real-{cache_key(fields)[:24]}.json"
    if path.is_file():
        try:
            return json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            warn(f"cache file {path} is unreadable ({type(err).__name__}); recomputing it")
    row = {**score(real_stacks(n, seed)[0]), "source": f"{n} stacks of MNIST test digits, seed {seed}"}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(row))
    except (OSError, UserError) as err:
        warn(f"could not cache the stacked real row in {path.parent} ({err})")
    return row


def _fmt(value: Any, fmt: str) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else fmt.format(value)


ROWS = (  # (key, label, format, meaning) of the eval table
    ("modes", "modes", "{}", "digit triples seen in readable samples, of 1,000 (higher is better)"),
    ("kl", "KL", "{:.4f}", "KL(p_gen || uniform over 1,000), nats, readable samples (lower is better)"),
    ("readable", "readable", "{:.4f}", "share of samples whose 3 channels all read as digits"),
    ("modes_all", "modes (all)", "{}", "PacGAN's count: every sample, readable or not"),
    ("kl_all", "KL (all)", "{:.4f}", "PacGAN's KL: every sample"),
    ("kl_floor", "KL floor", "{:.4f}", "(1000 - 1) / 2n: the KL a perfect generator shows at this n"),
)


def format_table(model: dict | None, real: dict) -> str:
    """The model's Stacked MNIST scores beside the real stacks', one per line."""
    head = ["metric"] + (["model"] if model else []) + ["real stacks", "meaning"]
    lines = [
        [label] + ([_fmt(model.get(k), f)] if model else []) + [_fmt(real.get(k), f), note]
        for k, label, f, note in ROWS
    ]
    widths = [max(len(r[i]) for r in [head, *lines]) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head, *lines]]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def load_stacks(target: Path, n: int | None, seed: int) -> tuple[np.ndarray, str, Path | None]:
    """Stacks (N, 3, 28, 28) uint8 of a run directory / generator snapshot (n generated) or an .npz/.npy file."""
    from mnistgan.evaluate import load_array_file
    from mnistgan.metrics.stacked import check_stacks
    from mnistgan.rundir import SNAPSHOT

    target = Path(target)
    if target.is_dir() and (target / SNAPSHOT).is_file() or target.suffix == ".safetensors":
        from mnistgan.sample import generate, load_generator

        generator, config, step = load_generator(target)
        stacks = generate(generator, config, DEFAULT_N if n is None else n, seed=seed)
        run_dir = target if target.is_dir() else target.parent
        return check_stacks(stacks, str(target)), f"{target} (step {step}, seed {seed})", run_dir
    if target.suffix in (".npz", ".npy"):
        stacks = check_stacks(load_array_file(target), str(target))
        if n is not None and n > len(stacks):
            raise UserError(f"{target} holds {len(stacks)} samples, fewer than --n {n}")
        return (stacks if n is None else stacks[:n]), str(target), None
    raise UserError(f"{target}: Stacked MNIST scores a run directory, a .safetensors, or an .npz/.npy of samples")


def run_stacked_eval(target: Path | None, real: bool, n: int | None, seed: int, json_out: Path | None) -> dict:
    """`mnistgan eval` for Stacked MNIST: the record (model, real, table) and eval.json where it can be written."""
    from mnistgan.rundir import EVAL

    t0 = time.perf_counter()
    if target is None and not real:
        raise UserError("give a TARGET (run directory, checkpoint, .npz/.npy) or --real")
    model = None
    run_dir = None
    if target is not None:
        stacks, source, run_dir = load_stacks(target, n, seed)
        model = {**score(stacks), "target": source, "kind": "stacked"}
    count = len(stacks) if target is not None else DEFAULT_N if n is None else n
    ref = real_row(count)
    record = {
        "protocol": f"Stacked MNIST: {count} samples, each channel read by the MNIST evaluator (metrics/stacked.py)",
        "evaluator_sha256": ref["evaluator_sha256"],
        "model": model,
        "real": ref,
        "table": format_table(model, ref),
        "wall_seconds": round(time.perf_counter() - t0, 2),
        "written": [],
        "not_written": [],
    }
    for path in [json_out] + ([run_dir / EVAL] if run_dir is not None else []):
        if path is None:
            continue
        reason = unwritable_reason(Path(path).absolute().parent)
        if reason:
            record["not_written"].append(f"{path}: {reason}")
            continue
        atomic_write_text(Path(path), json.dumps(record, indent=2, sort_keys=True) + "\n")
        record["written"].append(str(path))
    return record


def markdown_table(results: dict[str, list[dict[str, Any]]], n_eval: int) -> str:
    """The ablation table: our presets (mean ± std over seeds), the real stacks at the same n, and the published rows
    of each setting that appears, marked copied."""
    from mnistgan.ablation_results import mean_std_cell, result_steps
    from mnistgan.config import preset_config

    cols = (
        ("modes", "{:.1f}"),
        ("kl", "{:.3f}"),
        ("readable", "{:.3f}"),
        ("modes_all", "{:.1f}"),
        ("kl_all", "{:.3f}"),
    )
    head = "| preset | seeds | steps | modes ↑ | KL ↓ | readable | modes (all) | KL (all) | train min | source |"
    lines = [head, "|" + "---|" * 10]
    settings = []
    for preset, rows in results.items():
        good = [r for r in rows if "error" not in r]
        setting = setting_of(preset_config(preset).arch)
        settings += [setting] if setting not in settings else []
        cells = [preset, str(len(good)) + (f" (+{len(rows) - len(good)} diverged)" if len(rows) > len(good) else "")]
        cells.append("/".join(sorted({f"{result_steps(r):,}" for r in rows})) or "—")
        for key, fmt in (*cols, ("train_min", "{:.1f}")):
            cells.append(mean_std_cell([r.get(key) for r in good], fmt))
        lines.append("| " + " | ".join(cells) + " | measured |")
    real = real_row(n_eval)
    cells = ["real stacks (test digits)", "—", "—"] + [fmt.format(real[k]) for k, fmt in cols] + ["—"]
    lines.append("| " + " | ".join(cells) + f" | measured, n = {n_eval:,} |")
    for setting in settings:
        for method, modes, kl, source in PUBLISHED[setting]:
            lines.append(
                f"| {method} [{setting}] | — | — | {modes:.1f} | {kl:.2f} | — | — | — | — | copied: {source} |"
            )
    note = (
        f"\nmean ± sample std over seeds, {n_eval:,} samples scored per run; modes and KL count samples whose three "
        f"channels read as digits (metrics/stacked.py), 'all' columns count every sample (PacGAN's protocol). "
        f"KL floor at this n: {real['kl_floor']:.4f} nats. Copied rows are the papers' numbers (their own "
        "classifier, their step counts), not measured here.\n"
    )
    return "\n".join(lines) + "\n" + note


def plot_triples(results: dict[str, list[dict[str, Any]]], path: Path) -> Path:
    """Per preset, each seed's triple counts sorted from most to least common (a flat line at n/1000 is uniform)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    for preset, rows in results.items():
        for i, r in enumerate(r for r in rows if "counts" in r):
            counts = np.sort(np.asarray(r["counts"]))[::-1]
            ax.plot(np.arange(1, 1001), counts / max(counts.sum(), 1), lw=1, label=preset if i == 0 else None)
    ax.axhline(1 / 1000, color="k", ls=":", lw=1, label="uniform")
    ax.set_xlabel("digit triples, most to least common")
    ax.set_ylabel("share of readable samples")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    return Path(path)
