"""Measure what a student's run of the tutorial notebook should reproduce: its short run, over several seeds.

Trains the `tutorial` preset exactly as the notebook does (SHORT_STEPS steps, log_every 50, in-training digit shares
every 500 steps on 2,000 samples), scores each final generator on 10,000 samples (`digits`, `score`, `fd`, as the
notebook's section 9), and writes one JSON with each seed's numbers and their range. The teacher's edition of the
notebook quotes these ranges as the results students should reproduce.

    nice -n 19 .venv/bin/python benchmarks/notebook_targets.py --seeds 0,1,2,3,4 \\
        --out benchmarks/results/notebook-targets-2026-11-28/targets.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from mnistgan.config import preset_config
from mnistgan.evaluate import run_eval
from mnistgan.rundir import METRICS, STATS, read_jsonl
from mnistgan.train import train


def one_seed(seed: int, steps: int, work: Path) -> dict:
    """Train one seed like the notebook's short run and return its numbers."""
    run = work / f"seed{seed}"
    config = preset_config(
        "tutorial", steps=steps, seed=seed, device="cpu", log_every=50, eval_every=500,
        snapshot_every=max(steps // 10, 1), checkpoint_every=steps,
    )  # fmt: skip
    t0 = time.perf_counter()
    train(config, run, quiet=True)
    train_s = time.perf_counter() - t0
    stats = read_jsonl(run / STATS)
    tail = stats[-max(len(stats) // 10, 1) :]
    record = run_eval(run, n=10_000, metrics=["digits", "score", "fd"], seed=0)["model"]["metrics"]
    in_training = read_jsonl(run / METRICS)
    return {
        "seed": seed,
        "train_s": train_s,
        "d_loss_tail": float(np.mean([r["d_loss"] for r in tail], dtype=np.float64)),
        "g_loss_tail": float(np.mean([r["g_loss"] for r in tail], dtype=np.float64)),
        "d_real_tail": float(np.mean([r["d_real"] for r in tail], dtype=np.float64)),
        "d_fake_tail": float(np.mean([r["d_fake"] for r in tail], dtype=np.float64)),
        "top_share": float(max(record["digits_hist"])),
        "modes": int(record["modes"]),
        "fd": float(record["fd"]),
        "score": float(record["score"]),
        "digits_hist": record["digits_hist"],
        "in_training_top_share": [float(max(r["digits_hist"])) for r in in_training],
        "in_training_modes": [int(r["modes"]) for r in in_training],
        "in_training_steps": [int(r["step"]) for r in in_training],
    }


def main() -> None:
    """Train the seeds, write per-seed numbers and their min/max to --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds")
    parser.add_argument("--steps", type=int, default=5_000, help="the notebook's SHORT_STEPS")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory(prefix="notebook_targets_") as work:
        rows = []
        for seed in seeds:
            rows.append(one_seed(seed, args.steps, Path(work)))
            print(json.dumps({k: v for k, v in rows[-1].items() if not isinstance(v, list)}), flush=True)
    keys = ("d_loss_tail", "g_loss_tail", "d_real_tail", "d_fake_tail", "top_share", "modes", "fd", "score")
    ranges = {k: [min(r[k] for r in rows), max(r[k] for r in rows)] for k in keys}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"steps": args.steps, "seeds": seeds, "range": ranges, "runs": rows}, indent=1))
    print(json.dumps(ranges, indent=1))


if __name__ == "__main__":
    main()
