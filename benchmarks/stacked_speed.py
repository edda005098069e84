"""Per-step cost of every Stacked MNIST preset on this CPU: `python benchmarks/stacked_speed.py [--threads 1]`.

Each preset's training step (data, G and D forward, both updates) is timed over --steps steps after 3 warm-up steps,
through mnistgan.train.train on a throw-away run directory (so the number includes everything a real run pays except
the final figures). Results: benchmarks/results/stacked-2026-12-01/speed.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

from mnistgan.config import preset_config
from mnistgan.stacked_presets import STACKED_PRESETS
from mnistgan.train import train


def main() -> None:
    """Time each preset and print one markdown row per preset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--presets", default=",".join(STACKED_PRESETS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| preset | steps/s | s/step | full steps | full run (h) |\n|---|---|---|---|---|")
    for name in args.presets.split(","):
        full = preset_config(name).steps
        with tempfile.TemporaryDirectory() as tmp:
            config = preset_config(
                name, steps=args.steps, threads=args.threads, device="cpu", log_every=args.steps // 2
            )
            config.checkpoint_seconds = 0
            train(config, Path(tmp) / "run", quiet=True)
            rows = [json.loads(line) for line in (Path(tmp) / "run" / "stats.jsonl").read_text().splitlines()]
        rate = rows[-1]["steps_per_s"]  # the second half of the steps: no warm-up, no first checkpoint
        print(f"| {name} | {rate:.2f} | {1 / rate:.3f} | {full:,} | {full / rate / 3600:.1f} |", flush=True)


if __name__ == "__main__":
    main()
