"""Metrics during training: `fd`, `score` and `digits` of a fixed noise batch (a 2-D dataset: its mode scores,
mixtures.py), one row of metrics.jsonl per call.

The evaluator and the test set's statistics are loaded on the first call and kept for the rest of the process, so
an evaluation every N steps costs one generator pass and one evaluator pass over `eval_samples` images.
FD from 2,000 samples is biased upward against the 10,000-sample protocol of `mnistgan eval` (FD's bias shrinks
like 1/n); the curve is for watching a run, the final number comes from `mnistgan eval`.
"""

from __future__ import annotations

import time
from pathlib import Path

from torch import nn

from mnistgan.config import TrainConfig
from mnistgan.metrics.core import evaluate
from mnistgan.metrics.evaluator import load_evaluator
from mnistgan.metrics.reference import Reference
from mnistgan.metrics.registry import training_metrics
from mnistgan.rundir import METRICS, append_jsonl

EVAL_NOISE_SEED = 2**31 - 2  # the same noise at every evaluation, so the curve shows the generator changing
_REFERENCES: dict[str, Reference] = {}


def _reference() -> Reference:
    evaluator = load_evaluator()  # cached per process after the first load and hash check
    if evaluator.sha256 not in _REFERENCES:
        _REFERENCES[evaluator.sha256] = Reference(evaluator)
    return _REFERENCES[evaluator.sha256]


def log_metrics(generator: nn.Module, config: TrainConfig, out_dir: Path, step: int) -> dict:
    """Score config.eval_samples samples of `generator` and append the row to out_dir/metrics.jsonl."""
    from mnistgan.sample import generate
    from mnistgan.scorers import scorer_for

    t0 = time.perf_counter()
    scorer = scorer_for(config.dataset, config.data_dir)
    if scorer.name != "mnist-evaluator":  # points: scored against their known modes, no evaluator to load
        was_training = generator.training
        samples = generate(generator.eval(), config, config.eval_samples, seed=EVAL_NOISE_SEED)
        generator.train(was_training)
        values = scorer.score(samples, config.dataset)
        row = {"step": step, **values, "n": len(samples), "eval_seconds": time.perf_counter() - t0}
        append_jsonl(Path(out_dir) / METRICS, row)
        return row
    reference = _reference()
    was_training = generator.training
    images = generate(generator.eval(), config, config.eval_samples, seed=EVAL_NOISE_SEED)
    generator.train(was_training)
    result = evaluate(images, training_metrics(), 0, reference.evaluator, reference)
    row = {"step": step, **result["metrics"], "n": len(images), "eval_seconds": time.perf_counter() - t0}
    append_jsonl(Path(out_dir) / METRICS, row)
    return row


def summary(row: dict) -> str:
    """The in-training line of a metrics row: 'fd 12.34, score 8.76, modes 10' or 'modes 8, hq 97.1%, KL 0.012'."""
    if "fd" in row:
        return f"fd {row['fd']:.2f}, score {row['score']:.2f}, modes {row['modes']}"
    return f"modes {row['modes_covered']}, hq {100 * row['hq_share']:.1f}%, KL {row['reverse_kl']:.3f}"
