"""Measure the README's set-up times on this machine and record them in benchmarks/results/numbers.json.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benchmarks/front_page_times.py [--skip-train]

Run it on a quiet machine (nothing else training or testing): it clones the repository's HEAD into a temporary
folder and times, there, `.ci/run` (what CI runs: the install of the pinned versions, then `make test`), split into
install and tests by pytest's own duration, and then `make train` (the tutorial's 70,000 steps with the default
thread count and in-training metrics) in the same clone. Each entry records the command, the date and the load
average before it. `python docs/build.py` then puts the numbers into the README and the docs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NUMBERS = ROOT / "benchmarks" / "results" / "numbers.json"


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return time.perf_counter() - t0, out.stdout + out.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-train", action="store_true", help="time only the clone, install and tests")
    args = parser.parse_args()
    numbers = json.loads(NUMBERS.read_text())
    today = date.today().isoformat()

    def record(name: str, value: str, command: str, load: float) -> None:
        numbers[name] = {"value": value, "command": command, "measured": today, "load": f"{load:.2f} before"}
        print(f"{name}: {value}  ({command}; load {load:.2f})")

    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "mnistgan"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        load = os.getloadavg()[0]
        seconds, log = timed([".ci/run"], clone)
        summary = re.findall(r"(\d+) passed(?:, (\d+) skipped)?.* in ([\d.]+)s", log)
        if not summary:
            raise SystemExit(f"no pytest summary in .ci/run's output:\n{log[-2000:]}")
        passed, _, test_s = summary[-1]
        command = "git clone <repo> && cd mnistgan && .ci/run"
        record("fresh_clone_min", f"{seconds / 60:.1f}", command, load)
        record("install_min", f"{(seconds - float(test_s)) / 60:.1f}", command + " (all but pytest)", load)
        record("tests_min", f"{float(test_s) / 60:.1f}", command + " (pytest's own duration)", load)
        record("test_count", passed, command + " (pytest's summary)", load)
        if not args.skip_train:
            load = os.getloadavg()[0]
            seconds, _ = timed(["make", "train"], clone)
            record("train_tutorial_min", f"{seconds / 60:.1f}", "make train (after .ci/run installed .venv)", load)
    NUMBERS.write_text(json.dumps(numbers, indent=2) + "\n")


if __name__ == "__main__":
    main()
