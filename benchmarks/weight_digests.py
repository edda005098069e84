"""Weight digests of every preset after a few steps: the check that a refactor changed no arithmetic.

`python benchmarks/weight_digests.py --out digests.json` trains each preset for a few steps on the bundled MNIST
(CPU, one thread, seed 0; the tutorial for 300 steps) and writes the SHA-256 of G's and D's final tensors;
`--check digests.json` compares against a file written earlier, on the same machine (float results may differ on a
CPU with other vector units, so the reference file belongs to the machine that wrote it).

Results: benchmarks/results/weight-digests.json, written on this project's 2-core AMD EPYC (Zen 5) build machine
before the extension-points refactor; the refactored tree reproduces every digest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import torch

from mnistgan.checkpoint import load_resume
from mnistgan.config import PRESETS, preset_config
from mnistgan.train import train


def digest(run: Path) -> str:
    """SHA-256 over G's and D's tensors (sorted by name) of a run's resume state."""
    state = load_resume(run / "resume.pt")
    h = hashlib.sha256()
    for net in ("G", "D"):
        for name in sorted(state[net]):
            h.update(f"{net}.{name}".encode())
            h.update(state[net][name].contiguous().numpy().tobytes())
    return h.hexdigest()


def main() -> int:
    """Train every preset briefly and write or check the digests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the digests here")
    parser.add_argument("--check", type=Path, help="compare with digests written earlier")
    parser.add_argument("--presets", default=",".join(PRESETS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    digests = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.presets.split(","):
            steps = 300 if name == "tutorial" else 12
            config = preset_config(name, steps=steps, seed=0, threads=1, device="cpu", log_every=4)
            digests[name] = digest(train(config, Path(tmp) / name, quiet=True))
            print(f"{name:22s} {steps:4d} steps  {digests[name][:16]}", flush=True)
    if args.out:
        args.out.write_text(json.dumps(digests, indent=2) + "\n")
    if args.check:
        want = json.loads(args.check.read_text())
        bad = [n for n in digests if n in want and want[n] != digests[n]]
        new = [n for n in digests if n not in want]
        print(
            ("all digests match" if not bad else f"changed: {', '.join(bad)}")
            + (f"; new: {', '.join(new)}" * bool(new))
        )
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
