"""`mnistgan ablate`: train every (preset, seed) in worker processes and evaluate each final generator; the table
and figure of the results are ablation_results.py's.

Layout: ``OUT/<preset>/seed<k>/`` is an ordinary run directory plus ``result.json`` (the metrics of 10,000 samples
of its final generator, the training wall time and the step count), written atomically when the run is finished.
A run whose result.json exists is never retrained (asked for a different number of scored samples, it is only
scored again), and a run killed mid-training resumes from its last checkpoint, so a long table can be built across
several sessions. ``OUT/table.md`` and ``OUT/digits.png`` (a 2-D mixture: ``OUT/modes.png``) are redrawn from
the result files at the end of every invocation. Runs are scored by their dataset's scorer (scorers.py): the MNIST
evaluator's metrics, or a mixture's modes, high-quality share and reverse KL, with the papers' rows beside ours.

Runs go to worker processes (spawned, ``jobs`` at a time), each with ``max(1, cores // jobs)`` torch threads.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mnistgan.ablation_results import RESULT, columns, load_results, markdown_table, plot_digit_shares, published_rows
from mnistgan.config import PRESETS, preset_config
from mnistgan.errors import NonFiniteError, UserError
from mnistgan.files import atomic_write_text
from mnistgan.rundir import RESUME
from mnistgan.scorers import EVALUATOR_METRICS, scorer_for

CLAIM = "running.pid"  # present while a process trains or scores the run
EVAL_SEED = 2**31 - 1  # noise seed of the evaluation samples: fixed, and unlike any training seed
METRICS = list(EVALUATOR_METRICS)  # the metric families the MNIST table needs


# (result key, column title, format) of the table's columns, in order.
@dataclass(frozen=True)
class RunSpec:
    """One cell of the ablation: what to train, where, with how many threads, and how many samples to score."""

    preset: str
    seed: int
    steps: int | None  # None: the preset's own step count (--full)
    run_dir: str
    threads: int
    n_eval: int = 10_000
    dataset: str | None = None  # None: the preset's own dataset


TrainFn = Callable[[RunSpec], None]
EvalFn = Callable[[RunSpec], dict[str, Any]]


def _write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def default_train(spec: RunSpec) -> None:
    """Train spec's preset into spec.run_dir with mnistgan.train.train, resuming a partial run."""
    from mnistgan.train import train

    config = preset_config(spec.preset, seed=spec.seed, steps=spec.steps, threads=spec.threads, dataset=spec.dataset)
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
    draws its labels in the training set's proportions), by its dataset's scorer."""
    import torch

    from mnistgan.sample import generate, load_generator

    torch.set_num_threads(spec.threads)
    generator, config, _ = load_generator(Path(spec.run_dir))
    samples = generate(generator, config, spec.n_eval, seed=EVAL_SEED)
    if _stacked(config.dataset):  # Stacked MNIST's own scorer (DatasetSpec.scored_by)
        from mnistgan.stacked_eval import score

        return score(samples)
    scorer = scorer_for(config.dataset, config.data_dir)
    if scorer.name == "mnist-evaluator":
        return evaluate_images(samples)  # the name benchmarks and tests patch
    return scorer.score(samples, config.dataset)


def _stacked(dataset: str) -> bool:
    from mnistgan.data import DATASETS

    return dataset in DATASETS and DATASETS[dataset].scored_by == "stacked-mnist-evaluator"


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
    presets: list[str],
    seeds: int,
    steps: int | None,
    out: Path,
    jobs: int,
    cores: int,
    n_eval: int | None,
    dataset: str | None = None,
) -> list[RunSpec]:
    """Every (preset, seed) run, checking the presets exist (and fit `dataset`, when given) and that finished runs
    match the requested steps; n_eval None: the number of samples the dataset's scoring protocol asks for."""
    unknown = [p for p in presets if p not in PRESETS]
    if unknown:
        raise UserError(f"unknown preset {unknown[0]!r}; valid presets: {', '.join(PRESETS)}")
    threads = max(1, cores // jobs)
    specs = []
    for preset in presets:
        config = preset_config(preset, dataset=dataset)  # UserError when the preset's arch cannot take the data
        want = steps if steps is not None else config.steps
        n = n_eval if n_eval is not None else scorer_for(config.dataset, config.data_dir).protocol_n
        for seed in range(seeds):
            spec = RunSpec(preset, seed, steps, str(Path(out) / preset / f"seed{seed}"), threads, n, dataset)
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
    n_eval: int | None = 10_000,
    cores: int | None = None,
    train_fn: TrainFn = default_train,
    eval_fn: EvalFn = default_eval,
    log: Callable[[str], None] = print,
    dataset: str | None = None,
) -> tuple[Path, Path]:
    """Run every unfinished (preset, seed) with `jobs` processes (on `dataset` instead of each preset's own, when
    given), then write table.md and the shares figure into out: digits.png; modes.png for a mixture; for Stacked
    MNIST its own table, with the real stacks and the published rows, and triples.png. n_eval None: the dataset's
    protocol (10,000 samples; 2,500 for a mixture; 26,000 for Stacked MNIST)."""
    if seeds < 1 or jobs < 1:
        raise UserError(f"--seeds and --jobs must be positive, got {seeds} and {jobs}")
    unknown = [p for p in presets if p not in PRESETS]
    if unknown:
        raise UserError(f"unknown preset {unknown[0]!r}; valid presets: {', '.join(PRESETS)}")
    stacked = [_stacked(preset_config(p, dataset=dataset).dataset) for p in presets]
    if any(stacked) and not all(stacked):
        raise UserError("one ablation table is either Stacked MNIST presets or others: run them into two --out folders")
    if n_eval is None and all(stacked):  # otherwise plan() takes each dataset's scorer's protocol
        from mnistgan.stacked_eval import DEFAULT_N

        n_eval = DEFAULT_N
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    specs = plan(presets, seeds, steps, out, jobs, cores or os.cpu_count() or 1, n_eval, dataset)
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
    if all(stacked):
        from mnistgan.stacked_eval import markdown_table as stacked_table
        from mnistgan.stacked_eval import plot_triples

        table.write_text(stacked_table(results, n_eval))
        return table, plot_triples(results, out / "triples.png")
    first = preset_config(presets[0], dataset=dataset)
    scorer = scorer_for(first.dataset, first.data_dir)
    if scorer.name == "mixture":
        from mnistgan.mixtures import MIXTURES

        k = MIXTURES[first.dataset].n_modes
        table.write_text(markdown_table(results, columns(scorer.name), published_rows(first.dataset)))
        figure = out / "modes.png"
        plot_digit_shares(results, figure, np.full(k, 1 / k), "mode_hist", f"mode (of {k})", "uniform")
        return table, figure
    table.write_text(markdown_table(results))
    figure = out / "digits.png"
    plot_digit_shares(results, figure)
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
    elif "fd" not in result and "kl" in result:  # a Stacked MNIST run (stacked_eval.score)
        kl = "—" if result["kl"] is None else f"{result['kl']:.3f}"
        readable, minutes = result["readable"], result["train_min"]
        log(f"  {where}: modes {result['modes']}, KL {kl}, readable {readable:.3f}, {minutes:.1f} min")
    elif "hq_share" in result:
        log(
            f"  {where}: modes {result['modes_covered']}, hq {100 * result['hq_share']:.1f}%, "
            f"KL {result['reverse_kl']:.3f}, {result['train_min']:.1f} min"
        )
    else:
        log(
            f"  {where}: fd {result.get('fd', float('nan')):.2f}, modes {result.get('modes')}, "
            f"{result['train_min']:.1f} min"
        )
