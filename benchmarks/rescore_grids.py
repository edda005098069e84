"""Re-score a committed ablation table's digit columns with the "reads as a digit" decision, from the sample grids
the runs kept (their generators were not kept, so they cannot be sampled again).

    .venv/bin/python benchmarks/rescore_grids.py benchmarks/results/ablation-2026-11-28 [...]

Each seed folder keeps `samples_15x15.png`: 225 samples of the final generator, tiled with 2-pixel white padding and
enlarged 2x with nearest-neighbour, so the uint8 images come back exactly. For every preset this reads its seeds'
grids and writes DIR/rescored-readable.md: the table's modes and KL (10,000 samples per seed, every sample counted,
the protocol before the decision existed) beside the same statistics counting only the samples that read as a digit
(225 per seed, so a digit needs 3 readable samples to count as a mode), the share that do not, and whether the row
moved (modes changed by 1 or more, or half the samples or more are not digits).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from mnistgan.ablation_results import mean_std
from mnistgan.metrics import Reference, evaluate, load_evaluator

GRID = "samples_15x15.png"
SIDE, PAD, SCALE = 15, 2, 2


def grid_images(path: Path) -> np.ndarray:
    """The 225 uint8 images (225, 28, 28) of a 15x15 grid written by train.py."""
    pixels = np.asarray(Image.open(path).convert("L"))[::SCALE, ::SCALE]
    step = 28 + PAD
    assert pixels.shape == (SIDE * step + PAD,) * 2, pixels.shape
    return np.stack(
        [
            pixels[PAD + r * step : PAD + r * step + 28, PAD + c * step : PAD + c * step + 28]
            for r in range(SIDE)
            for c in range(SIDE)
        ]
    )


def rescore(folder: Path, reference: Reference) -> str:
    head = "| preset | seeds | modes (before) | modes (readable) | KL (before) | KL (readable) | not a digit | moved |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for preset_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        seeds = sorted(preset_dir.glob(f"seed*/{GRID}"))
        if not seeds:
            continue
        before, after = [], []
        for grid in seeds:
            result = json.loads((grid.parent / "result.json").read_text())
            if "error" in result:
                continue
            before.append(result)
            after.append(evaluate(grid_images(grid), ["digits"], reference=reference)["metrics"])

        def cell(rows: list[dict], key: str, fmt: str) -> str:
            values = [r[key] for r in rows if r.get(key) is not None]
            if not values:
                return "n/a"
            mean, std = mean_std(values)
            return fmt.format(mean) + ("" if np.isnan(std) else " ± " + fmt.format(std))

        modes_b = np.mean([r["modes"] for r in before])
        modes_a = np.mean([r["modes"] for r in after])
        unreadable = np.mean([r["unreadable"] for r in after])
        moved = abs(modes_a - modes_b) >= 1 or unreadable >= 0.5
        lines.append(
            f"| {preset_dir.name} | {len(after)} | {cell(before, 'modes', '{:.1f}')} | {cell(after, 'modes', '{:.1f}')}"
            f" | {cell(before, 'digits_kl', '{:.3f}')} | {cell(after, 'digits_kl', '{:.3f}')}"
            f" | {cell(after, 'unreadable', '{:.0%}')} | {'**yes**' if moved else 'no'} |"
        )
    note = (
        "\nbefore: the table's own numbers (10,000 samples a seed, every sample counted as the digit the evaluator "
        "names). readable: 225 samples a seed from its samples_15x15.png, counting only samples that read as a digit "
        "(mnistgan/metrics/readable.py); a mode needs >= 1% of all samples (3 of 225). KL n/a: no sample of any seed "
        "reads as a digit. Written by `python benchmarks/rescore_grids.py "
        f"{folder}`.\n"
    )
    return "\n".join(lines) + "\n" + note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args()
    reference = Reference(load_evaluator())
    for folder in args.folders:
        text = rescore(folder, reference)
        (folder / "rescored-readable.md").write_text(text)
        print(f"{folder}:\n{text}")


if __name__ == "__main__":
    main()
