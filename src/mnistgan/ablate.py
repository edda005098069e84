"""`mnistgan ablate`: train every (preset, seed), evaluate each final generator, tabulate mean ± std over seeds.

Layout: ``OUT/<preset>/seed<k>/`` is an ordinary run directory plus ``result.json`` (the metrics of 10,000 samples
of its final generator, the training wall time and the step count), written atomically when the run is finished.
A run whose result.json exists is never retrained (asked for a different number of scored samples, it is only
scored again), and a run killed mid-training resumes from its last checkpoint, so a long table can be built across
several sessions. ``OUT/table.md`` and ``OUT/digits.png`` are redrawn from
the result files at the end of every invocation.

Runs go to worker processes (spawned, ``jobs`` at a time), each with ``max(1, cores // jobs)`` torch threads.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mnistgan.config import PRESETS, preset_config
from mnistgan.errors import NonFiniteError, UserError
from mnistgan.files import atomic_write_text, save_figure
from mnistgan.rundir import RESUME

RESULT = "result.json"
CLAIM = "running.pid"  # present while a process trains or scores the run
EVAL_SEED = 2**31 - 1  # noise seed of the evaluation samples: fixed, and unlike any training seed
METRICS = ["fd", "kid", "score", "digits", "pr"]  # the metric families the table needs


# (result key, column title, format) of the table's columns, in order.
def columns() -> list[tuple[str, str, str]]:
    """The table's (key, title, format) columns: the metrics' own (metrics.registry.table_columns), then time."""
    from mnistgan.metrics.registry import table_columns

    return [(c.key, c.column, c.column_fmt or c.fmt) for c in table_columns()] + [("train_min", "train min", "{:.1f}")]


@dataclass(frozen=True)
class RunSpec:
    """One cell of the ablation: what to train, where, with how many threads, and how many samples to score."""

    preset: str
    seed: int
    steps: int | None  # None: the preset's own step count (--full)
    run_dir: str
    threads: int
    n_eval: int = 10_000


TrainFn = Callable[[RunSpec], None]
EvalFn = Callable[[RunSpec], dict[str, Any]]


def _write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def default_train(spec: RunSpec) -> None:
    """Train spec's preset into spec.run_dir with mnistgan.train.train, resuming a partial run."""
    from mnistgan.train import train

    config = preset_config(spec.preset, seed=spec.seed, steps=spec.steps, threads=spec.threads)
    run_dir = Path(spec.run_dir)
    resume = (run_dir / RESUME).is_file()  # a run killed before its first checkpoint starts again
    train(config, run_dir, resume=resume, overwrite=not resume, quiet=True)


def evaluate_images(images: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """The table's metrics of uint8 images (N, 28, 28), flat: the one place ablate calls mnistgan.metrics."""
    from mnistgan.metrics import evaluate

    result = evaluate(images, METRICS, seed=seed)
    return {**result["metrics"], "eval_seconds": result["seconds"], "evaluator_sha256": result["evaluator_sha256"]}


def default_eval(spec: RunSpec) -> dict[str, Any]:
    """Metrics of spec.n_eval samples of the run's final generator (noise seed EVAL_SEED; a conditional generator
    draws its labels in the training set's proportions)."""
    import torch

    from mnistgan.sample import generate, load_generator

    torch.set_num_threads(spec.threads)
    generator, config, _ = load_generator(Path(spec.run_dir))
    return evaluate_images(generate(generator, config, spec.n_eval, seed=EVAL_SEED))


def run_one(spec: RunSpec, train_fn: TrainFn = default_train, eval_fn: EvalFn = default_eval) -> dict[str, Any] | None:
    """Train (or finish training) and evaluate one run; write and return its result.json. Skips a finished run,
    and returns None for a run another live process is working on (see `_claim`)."""
    run_dir = Path(spec.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not _claim(run_dir):
        return None
    try:
        return _run_claimed(spec, train_fn, eval_fn)
    finally:
        (run_dir / CLAIM).unlink(missing_ok=True)


def _claim(run_dir: Path) -> bool:
    """Take run_dir for this process: create CLAIM holding our pid, unless a live process holds it already. Two
    `mnistgan ablate` invocations on one folder (say, a second one started when cores free up) thus share the
    runs instead of training one twice; a claim left by a killed process is taken over."""
    claim = run_dir / CLAIM
    for _ in range(2):
        try:
            with open(claim, "x") as f:
                f.write(str(os.getpid()))
            return True
        except FileExistsError:
            try:
                pid = int(claim.read_text() or 0)
                if pid == os.getpid():
                    return True
                os.kill(pid, 0)  # raises if no such process
                return False
            except (ValueError, ProcessLookupError, FileNotFoundError):
                claim.unlink(missing_ok=True)  # stale: its process is gone
            except PermissionError:  # a live process of another user
                return False
    return False


def _run_claimed(spec: RunSpec, train_fn: TrainFn, eval_fn: EvalFn) -> dict[str, Any]:
    run_dir = Path(spec.run_dir)
    result_path = run_dir / RESULT
    if result_path.is_file():
        old = json.loads(result_path.read_text())
        if _scored(old, spec):
            return old
        return _rescore(spec, old, eval_fn)  # trained already; only the number of scored samples changed
    import torch

    torch.set_num_threads(spec.threads)
    run_dir.mkdir(parents=True, exist_ok=True)
    resumed = (run_dir / RESUME).is_file()
    t0 = time.perf_counter()
    result: dict[str, Any] = {**asdict(spec), "resumed": resumed}
    try:
        train_fn(spec)
    except NonFiniteError as err:  # a diverged run is a result of the ablation, not a reason to retry it
        result |= {"error": str(err), "train_min": (time.perf_counter() - t0) / 60}
        _write_json(result_path, result)
        return result
    result["train_min"] = (time.perf_counter() - t0) / 60  # this invocation's training only (see "resumed")
    t1 = time.perf_counter()
    result |= eval_fn(spec)
    result["eval_s"] = time.perf_counter() - t1
    _write_json(result_path, result)
    return result


def _rescore(spec: RunSpec, old: dict[str, Any], eval_fn: EvalFn) -> dict[str, Any]:
    """Score a finished run again with spec.n_eval samples, keeping its training record (steps, time, threads)."""
    import torch

    torch.set_num_threads(spec.threads)
    t1 = time.perf_counter()
    result = {**old, **eval_fn(spec), "n_eval": spec.n_eval, "rescored_from": old.get("n_eval")}
    result["eval_s"] = time.perf_counter() - t1
    _write_json(Path(spec.run_dir) / RESULT, result)
    return result


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def plan(
    presets: list[str], seeds: int, steps: int | None, out: Path, jobs: int, cores: int, n_eval: int
) -> list[RunSpec]:
    """Every (preset, seed) run, checking the presets exist and that finished runs match the requested steps."""
    unknown = [p for p in presets if p not in PRESETS]
    if unknown:
        raise UserError(f"unknown preset {unknown[0]!r}; valid presets: {', '.join(PRESETS)}")
    threads = max(1, cores // jobs)
    specs = []
    for preset in presets:
        want = steps if steps is not None else preset_config(preset).steps
        for seed in range(seeds):
            spec = RunSpec(preset, seed, steps, str(Path(out) / preset / f"seed{seed}"), threads, n_eval)
            done = Path(spec.run_dir) / RESULT
            if done.is_file():
                old = json.loads(done.read_text())
                old_steps = old["steps"] if old.get("steps") is not None else preset_config(preset).steps
                if old_steps != want:
                    raise UserError(f"{done} is a run of {old_steps} steps, not {want}: use another --out")
            specs.append(spec)
    return specs


def run_ablation(
    presets: list[str],
    seeds: int,
    steps: int | None,
    out: Path,
    jobs: int = 1,
    n_eval: int = 10_000,
    cores: int | None = None,
    train_fn: TrainFn = default_train,
    eval_fn: EvalFn = default_eval,
    log: Callable[[str], None] = print,
) -> tuple[Path, Path]:
    """Run every unfinished (preset, seed) with `jobs` processes, then write table.md and digits.png into out."""
    if seeds < 1 or jobs < 1:
        raise UserError(f"--seeds and --jobs must be positive, got {seeds} and {jobs}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    specs = plan(presets, seeds, steps, out, jobs, cores or os.cpu_count() or 1, n_eval)
    todo = [s for s in specs if not _finished(s)]
    log(f"ablate: {len(specs)} runs, {len(specs) - len(todo)} already finished, {len(todo)} to do, {jobs} at a time")
    if jobs == 1 or len(todo) <= 1:
        for spec in todo:
            _report(run_one(spec, train_fn, eval_fn), log)
    else:
        ctx = multiprocessing.get_context("spawn")  # no fork after torch has started its thread pools
        with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker, initargs=(specs[0].threads,)) as ex:
            futures = [ex.submit(run_one, spec, train_fn, eval_fn) for spec in todo]
            for future in futures:
                _report(future.result(), log)
    results = load_results(out, presets)
    table = out / "table.md"
    table.write_text(markdown_table(results))
    figure = out / "digits.png"
    plot_digits(results, figure)
    return table, figure


def _scored(result: dict[str, Any], spec: RunSpec) -> bool:
    """A result.json that needs no more work: scored with spec.n_eval samples, or a diverged run."""
    return "error" in result or result.get("n_eval") == spec.n_eval


def _finished(spec: RunSpec) -> bool:
    path = Path(spec.run_dir) / RESULT
    return path.is_file() and _scored(json.loads(path.read_text()), spec)


def _report(result: dict[str, Any] | None, log: Callable[[str], None]) -> None:
    if result is None:
        log("  skipped a run another process is working on")
        return
    where = f"{result['preset']} seed {result['seed']}"
    if "error" in result:
        log(f"  {where}: failed: {result['error']}")
    else:
        log(
            f"  {where}: fd {result.get('fd', float('nan')):.2f}, modes {result.get('modes')}, "
            f"{result['train_min']:.1f} min"
        )


def load_results(out: Path, presets: list[str]) -> dict[str, list[dict[str, Any]]]:
    """{preset: [result of each finished seed, by seed]} from OUT/<preset>/seed*/result.json."""
    results = {}
    for preset in presets:
        paths = sorted((Path(out) / preset).glob(f"seed*/{RESULT}"), key=lambda p: int(p.parent.name[4:]))
        results[preset] = [json.loads(p.read_text()) for p in paths]
    return results


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof 1; nan for one value), in float64."""
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else math.nan


def markdown_table(results: dict[str, list[dict[str, Any]]]) -> str:
    """One row per preset: mean ± std over its finished seeds of every column; failed seeds counted apart."""
    cols = columns()
    head = ["preset", "seeds", "steps"] + [title for _, title, _ in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for preset, rows in results.items():
        good = [r for r in rows if "error" not in r]
        failed = len(rows) - len(good)
        steps = sorted({f"{result_steps(r):,}" for r in rows})
        cells = [preset, f"{len(good)}" + (f" (+{failed} diverged)" if failed else ""), "/".join(steps) or "—"]
        for key, _, fmt in cols:
            values = [r[key] for r in good if r.get(key) is not None]
            if not values:
                cells.append("—")
                continue
            mean, std = mean_std(values)
            cells.append(fmt.format(mean) + ("" if math.isnan(std) else " ± " + fmt.format(std)))
        lines.append("| " + " | ".join(cells) + " |")
    resumed = sorted({p for p, rows in results.items() if any(r.get("resumed") for r in rows)})
    note = "\nmean ± sample std over seeds; ↓ lower is better, ↑ higher is better. "
    note += "train min: wall time of the training call"
    note += f" (resumed runs, counting only their last session: {', '.join(resumed)})" if resumed else ""
    return "\n".join(lines) + "\n" + note + ".\n"


def result_steps(result: dict[str, Any]) -> int:
    """A run's step count: its own, or its preset's (a --full run records None)."""
    return result["steps"] if result.get("steps") is not None else preset_config(result["preset"]).steps


def fixed_criteria(
    results: dict[str, list[dict[str, Any]]], candidate: str, kl_max: float = 0.01, minutes_max: float = 15.0
) -> list[tuple[str, str, bool]]:
    """The test of a "fixed" preset (collapse remedied), on ablation results: (criterion, measured, passed) rows.

    All 10 digits and KL <= kl_max in every seed; fd, precision and recall each at least as good as the best mean
    among the *other unconditional* presets in `results`; training at most minutes_max a seed (the largest
    train_min of its seeds). Conditional presets are left out of the comparison: they are given the labels.
    """
    runs = [r for r in results[candidate] if "error" not in r]
    if not runs:
        raise UserError(f"no finished runs of {candidate!r}")
    others = {}  # preset -> its finished runs, for every other unconditional preset that has some
    for label, rows in results.items():  # a label may carry a step count: "tutorial (70,000 steps)"
        good = [r for r in rows if "error" not in r]
        if label != candidate and good and not preset_config(good[0].get("preset", label)).conditional:
            others[label] = good
    modes, kls = [r["modes"] for r in runs], [r["digits_kl"] for r in runs]
    out = [
        ("10 digits in every seed", f"modes {modes}", min(modes) == 10),
        (f"KL <= {kl_max} in every seed", "KL " + ", ".join(f"{k:.4f}" for k in kls), max(kls) <= kl_max),
    ]
    for key, better in (("fd", min), ("precision", max), ("recall", max)):
        mine = float(np.mean([r[key] for r in runs]))
        best_preset = better(others, key=lambda p: np.mean([r[key] for r in others[p]]))
        best = float(np.mean([r[key] for r in others[best_preset]]))
        ok = mine <= best if better is min else mine >= best
        out.append((f"{key} at least as good as the best other", f"{mine:.3f} vs {best:.3f} ({best_preset})", ok))
    minutes = max(r["train_min"] for r in runs)
    out.append((f"at most {minutes_max:g} min a seed", f"{minutes:.1f} min (slowest seed)", minutes <= minutes_max))
    return out


def plot_digits(results: dict[str, list[dict[str, Any]]], path: Path, reference: np.ndarray | None = None) -> Path:
    """Bar chart per preset of the generated-digit shares (mean over seeds, std as error bars, seeds as dots)."""
    from matplotlib.figure import Figure  # the object API: no pyplot, no backend switch

    if reference is None:
        from mnistgan.data import load_split

        labels = load_split("test")[1]
        reference = np.bincount(labels, minlength=10) / len(labels)
    presets = list(results)
    cols = min(4, max(1, len(presets)))
    rows = -(-len(presets) // cols) if presets else 1
    fig = Figure(figsize=(3.2 * cols, 2.6 * rows))
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    for ax in axes.flat[len(presets) :]:
        ax.axis("off")
    digits = np.arange(10)
    for ax, preset in zip(axes.flat, presets):
        hists = np.array([r["digits_hist"] for r in results[preset] if "digits_hist" in r], dtype=np.float64)
        ax.set_title(f"{preset} ({len(hists)} seeds)", fontsize=9)
        ax.step(
            np.arange(11) - 0.5, np.append(reference, reference[-1]), where="post", color="k", lw=1, label="test set"
        )
        if len(hists):
            std = hists.std(axis=0, ddof=1) if len(hists) > 1 else None
            ax.bar(digits, hists.mean(axis=0), yerr=std, color="tab:blue", alpha=0.6, capsize=2, label="mean")
            for i, h in enumerate(hists):
                ax.plot(digits, h, ".", color="tab:red", ms=3, label="seeds" if i == 0 else None)
        ax.set_xticks(digits)
        ax.set_xlabel("predicted digit", fontsize=8)
    axes[0, 0].set_ylabel("share of samples")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    return Path(path)
