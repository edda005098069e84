"""`evaluate(images, metrics)`: run registered metrics on one sample, sharing the evaluator pass between them."""

from __future__ import annotations

import time
from functools import cached_property
from pathlib import Path

import numpy as np

from mnistgan.errors import UserError
from mnistgan.metrics.evaluator import Evaluator, embed, load_evaluator
from mnistgan.metrics.readable import readable_mask
from mnistgan.metrics.reference import Reference
from mnistgan.metrics.registry import METRICS, check_sample_size, parse_metrics


class Context:
    """One sample under evaluation: uint8 images (N, 28, 28), their evaluator outputs (computed once), the reference."""

    def __init__(
        self,
        images: np.ndarray,
        evaluator: Evaluator,
        ref: Reference,
        seed: int = 0,
        exclude_train: np.ndarray | None = None,
        figure_dir: Path | None = None,
        batch_size: int = 500,
    ) -> None:
        self.images = images
        self.evaluator = evaluator
        self.ref = ref
        self.seed = seed
        self.exclude_train = exclude_train  # per image, a training index it may not match (itself, for --real)
        self.figure_dir = figure_dir
        self.batch_size = batch_size

    @cached_property
    def _embedded(self) -> tuple[np.ndarray, np.ndarray]:
        return embed(self.evaluator, self.images, self.batch_size)

    @property
    def features(self) -> np.ndarray:
        """Evaluator penultimate features (N, 128) float32."""
        return self._embedded[0]

    @property
    def logits(self) -> np.ndarray:
        """Evaluator logits (N, 10) float32."""
        return self._embedded[1]

    @cached_property
    def readable(self) -> np.ndarray:
        """Bool (N,): which samples read as a digit (inside some real test image's k-NN ball, metrics/readable.py)."""
        return readable_mask(self.features, self.ref.features, self.ref.radii_pr)


def check_images(images: np.ndarray) -> np.ndarray:
    """The images as uint8 (N, 28, 28), or a UserError saying what is wrong."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise UserError(
            f"evaluate() takes uint8 images of shape (N, 28, 28), got {images.dtype} {images.shape} "
            "(mnistgan.evaluate.to_uint8_images converts floats in [0, 1] and flat or channel layouts)"
        )
    return images


def evaluate(
    images: np.ndarray,
    metrics: list[str] | str | None = None,
    seed: int = 0,
    evaluator: Evaluator | None = None,
    reference: Reference | None = None,
    exclude_train: np.ndarray | None = None,
    figure_dir: Path | None = None,
    batch_size: int = 500,
) -> dict:
    """Score uint8 images (N, 28, 28) with the named metrics (default all); return values and seconds per metric.

    The result is {'n', 'seed', 'evaluator_sha256', 'metrics': {name: value, ...}, 'seconds': {...}}; the values of
    all metrics are merged into one flat dict (`fd`, `kid`, `kid_std`, `score`, ..., see each metric's module).
    """
    images = check_images(images)
    names = parse_metrics(metrics)
    check_sample_size(names, len(images))
    evaluator = evaluator if evaluator is not None else load_evaluator()
    reference = reference if reference is not None else Reference(evaluator)
    ctx = Context(images, evaluator, reference, seed, exclude_train, figure_dir, batch_size)
    values: dict = {}
    seconds: dict[str, float] = {}
    if any(METRICS[n].uses_features for n in names):
        t0 = time.perf_counter()
        ctx._embedded  # noqa: B018 - one evaluator pass, shared by every metric; timed on its own
        seconds["features"] = time.perf_counter() - t0
    for name in names:
        t0 = time.perf_counter()
        out = METRICS[name].fn(ctx)
        assert tuple(out) == METRICS[name].keys, (name, tuple(out))
        values.update(out)
        seconds[name] = time.perf_counter() - t0
    return {
        "n": len(images),
        "seed": seed,
        "evaluator_sha256": getattr(evaluator, "sha256", None),
        "metrics": values,
        "seconds": seconds,
    }
