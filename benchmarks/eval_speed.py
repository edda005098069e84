"""How long `mnistgan eval` takes on 10,000 samples with every metric, on this machine's CPU.

Runs the real command (a fresh process each time, as a user would) a few times and reports the median wall time,
the per-metric seconds of the median run, and the load average (other processes on a shared machine slow it).
The first, untimed run fills the real-data cache ($MNISTGAN_CACHE, else ~/.cache/mnistgan), as any first use does.

    .venv/bin/python benchmarks/eval_speed.py [TARGET] [--reps 3] [--n 10000]
TARGET defaults to runs/tutorial when it exists, else a freshly initialised tutorial generator (same cost).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def untrained_run(folder: Path) -> Path:
    """A run directory holding an untrained tutorial generator (sampling and scoring cost the same)."""
    from mnistgan.checkpoint import save_snapshot
    from mnistgan.config import preset_config
    from mnistgan.models import build_generator

    config = preset_config("tutorial")
    folder.mkdir(parents=True, exist_ok=True)
    save_snapshot(folder / "generator.safetensors", build_generator(config), config, 0)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", nargs="?", type=Path, default=None)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    target = args.target or (Path("runs/tutorial") if Path("runs/tutorial/generator.safetensors").is_file() else None)
    target = target or untrained_run(tmp / "untrained")
    cli = [str(Path(sys.executable).with_name("mnistgan")), "eval", str(target), "--n", str(args.n)]
    print(f"warm-up (fills the real-data cache): {' '.join(cli)}", flush=True)
    subprocess.run([*cli, "--json", str(tmp / "warm.json")], check=True, stdout=subprocess.DEVNULL)
    runs = []
    for rep in range(args.reps):
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        subprocess.run([*cli, "--json", str(tmp / f"r{rep}.json")], check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        seconds = json.loads((tmp / f"r{rep}.json").read_text())["model"]["seconds"]
        runs.append((wall, load, seconds))
        print(f"rep {rep + 1}: {wall:.1f} s wall (load average {load:.1f} before)", flush=True)
    runs.sort(key=lambda r: r[0])
    wall, load, seconds = runs[len(runs) // 2]
    print(f"median of {args.reps}: {statistics.median(r[0] for r in runs):.1f} s for {args.n} samples, all metrics")
    print("per part in the median run: " + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()))
    print(f"cpu: {os.cpu_count()} logical cores; load average before that run {load:.1f}")


if __name__ == "__main__":
    main()
