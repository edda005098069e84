"""The side-by-side picture of docs/mixtures.md: the GAN baseline against the best remedy on both mixtures, seed 0.

Reads the runs of the mixture ablations (benchmarks/results/mixtures-2026-12-01/{ring8,grid25}/PRESET/seed0, made
by the `mnistgan ablate --dataset ...` commands in docs/mixtures.md), draws 2,500 samples of each final generator
with the ablation's evaluation noise (ablate.EVAL_SEED), exactly the samples its table scored, and writes
docs/images/mixtures.png. Run from the repository root:

    python benchmarks/mixtures_figure.py
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mnistgan.ablate import EVAL_SEED
from mnistgan.data import load_split
from mnistgan.mixture_plots import side_by_side
from mnistgan.mixtures import MIXTURES, PROTOCOL_N, mode_scores
from mnistgan.sample import generate, load_generator

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    """Draw the figure from the ablation runs."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks/results/mixtures-2026-12-01")
    parser.add_argument("--presets", default="mixture-gan,mixture-r1-pacgan2", help="baseline,remedy")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/images/mixtures.png")
    args = parser.parse_args()
    panels = []
    for dataset in ("ring8", "grid25"):
        real, _ = load_split("test", dataset)
        for preset in args.presets.split(","):
            run = args.results / dataset / preset / "seed0"
            generator, config, step = load_generator(run)
            points = generate(generator, config, PROTOCOL_N, seed=EVAL_SEED)
            s = mode_scores(points, MIXTURES[dataset])
            title = (
                f"{preset} on {dataset}, {step:,} steps\n{s['modes_covered']}/{MIXTURES[dataset].n_modes} modes, "
                f"{100 * s['hq_share']:.1f}% high quality, KL {s['reverse_kl']:.3f}"
            )
            panels.append((title, points, real[:PROTOCOL_N], MIXTURES[dataset]))
            print(title.replace("\n", ": "))
    side_by_side(args.out, panels, columns=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
