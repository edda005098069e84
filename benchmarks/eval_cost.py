"""What in-training metrics (on by default: `--eval-every 5000` and the last step) cost the tutorial's run.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/eval_cost.py [--steps 3000] [--reps 5]

Measures, in one process on a quiet machine: the tutorial preset's training rate with in-training metrics off
(`--eval-every 0`, `--steps` steps, default thread count), the time of one in-training evaluation (fd, score and
digits of 2,000 fixed-noise samples: a generator pass, an evaluator pass, the "reads as a digit" search against the
10,000 test features; median of `--reps`, after a first call that loads the cached real-data statistics), and the
first call's extra cost. It prints the share of a 70,000-step run the 7 evaluations (every 10,000 steps) take,
and writes it to benchmarks/results/numbers.json as `eval_cost_percent`.

Measured on a quiet machine (load 0.6, 2 threads): 249 steps/s, 0.99 s an evaluation, 2.6%; every 5,000 steps
would be 14 evaluations, about 5%, which is why the default is 10,000.

Profile (2,000 samples): the evaluator pass over the samples is most of an evaluation; the k-NN ball test
(2,000 x 10,000 float64 distances) and the Frechet distance's eigendecompositions are the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import torch

from mnistgan.config import preset_config
from mnistgan.metrics.training import log_metrics
from mnistgan.models import build_generator
from mnistgan.rundir import STATS, read_jsonl
from mnistgan.train import train

NUMBERS = Path(__file__).resolve().parent / "results" / "numbers.json"
FULL_STEPS, EVERY = 70_000, 10_000  # the default eval_every


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3_000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        config = preset_config("tutorial", steps=args.steps, eval_every=0)
        t0 = time.perf_counter()
        run = train(config, Path(tmp) / "run", quiet=True)
        # the loop's own rate (stats.jsonl, median over rows): start-up and final figures would make it look slower
        rate = statistics.median(r["steps_per_s"] for r in read_jsonl(run / STATS)[1:])
        generator = build_generator(config)
        t0 = time.perf_counter()
        log_metrics(generator, config, Path(tmp), 0)
        first = time.perf_counter() - t0
        times = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            log_metrics(generator, config, Path(tmp), 0)
            times.append(time.perf_counter() - t0)
    each = statistics.median(times)
    n_evals = FULL_STEPS // EVERY
    train_s = FULL_STEPS / rate
    cost = (n_evals * each + (first - each)) / train_s * 100
    print(f"threads {torch.get_num_threads()}, load average {load:.2f} before")
    print(f"training {rate:.0f} steps/s: 70,000 steps in {train_s:.0f} s")
    reps = ", ".join(f"{t:.2f}" for t in times)
    print(f"one evaluation {each:.2f} s (median of {args.reps}: {reps}); first {first:.2f} s")
    print(f"{n_evals} evaluations: {cost:.1f}% of the run's training time")
    numbers = json.loads(NUMBERS.read_text())
    numbers["eval_cost_percent"] = {
        "value": f"{cost:.1f}",
        "command": "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/eval_cost.py",
        "measured": date.today().isoformat(),
        "load": f"{load:.2f} before",
    }
    NUMBERS.write_text(json.dumps(numbers, indent=2) + "\n")


if __name__ == "__main__":
    main()
