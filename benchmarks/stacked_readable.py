"""What the Stacked MNIST scorer's "reads as a digit" decision accepts: real digits and several kinds of non-digits.

`python benchmarks/stacked_readable.py` calibrates on test[:5000] (as the scorer does on the whole test set) and prints,
per kind of image, the share that `mnistgan.metrics.stacked.reads_as_digit` accepts, beside the share that a plain
confidence threshold (top class probability >= CONFIDENCE) would accept. Results:
benchmarks/results/stacked-2026-12-01/readable.md.
"""

from __future__ import annotations

import numpy as np
import torch

from mnistgan.data import load_split
from mnistgan.metrics.evaluator import embed, load_evaluator
from mnistgan.metrics.reference import Reference
from mnistgan.metrics.score import log_softmax
from mnistgan.metrics.stacked import CONFIDENCE, calibrate, reads_as_digit


def main() -> None:
    """Print one markdown row per kind of image."""
    torch.set_num_threads(1)
    evaluator = load_evaluator()
    test, labels = load_split("test")
    train, _ = load_split("train")
    calib = calibrate(evaluator, Reference(evaluator, test=(test[:5000], labels[:5000])))
    rng = np.random.default_rng(0)
    kinds = {
        "real: test[5000:]": test[5000:],
        "real: train[50000:]": train[50000:],
        "uniform pixel noise 0-255": rng.integers(0, 256, (2000, 28, 28), dtype=np.uint8),
        "sparse noise (20% white)": (rng.random((2000, 28, 28)) < 0.2).astype(np.uint8) * 255,
        "Gaussian noise, mean 30, sd 40": np.clip(rng.normal(30, 40, (2000, 28, 28)), 0, 255).astype(np.uint8),
        "Gaussian noise, mean 0, sd 20": np.clip(rng.normal(0, 20, (2000, 28, 28)), 0, 255).astype(np.uint8),
        "blank": np.zeros((200, 28, 28), np.uint8),
        "mean of two test digits": ((test[:2000].astype(int) + test[2000:4000]) // 2).astype(np.uint8),
    }
    print(f"| images | n | reads as a digit | top probability >= {CONFIDENCE} alone |\n|---|---|---|---|")
    for name, images in kinds.items():
        features, logits = embed(evaluator, images)
        confident = np.exp(log_softmax(logits)).max(1) >= CONFIDENCE
        accepted = reads_as_digit(images, features, logits, calib)
        print(f"| {name} | {len(images):,} | {accepted.mean():.4f} | {confident.mean():.4f} |", flush=True)


if __name__ == "__main__":
    main()
