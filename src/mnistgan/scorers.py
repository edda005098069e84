"""What scores a generator's samples, chosen by the dataset (`DatasetSpec.scored_by`): one registry, so `eval`,
`ablate` and the in-training log dispatch on the dataset and never ask what it is.

- ``mnist-evaluator``: the metric registry (metrics/) in the features of the shipped MNIST classifier, for images
  (also the fallback of an image dataset that names no scorer, as before: its numbers read digits, not its modes);
- ``mixture``: the VEEGAN / PacGAN protocol for the 2-D Gaussian mixtures (mixtures.py): modes covered, share of
  high-quality samples, reverse KL over the modes; no network, no reference row to compute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mnistgan.errors import UserError

EVALUATOR_METRICS = ("fd", "kid", "score", "digits", "pr")  # the metric families the ablation table needs


@dataclass(frozen=True)
class Scorer:
    """One way of scoring samples: a function of (samples as the dataset stores them, dataset name) returning flat
    numbers, how many samples its protocol scores, and the ablation table's (key, title, format) columns."""

    name: str
    score: Callable[[np.ndarray, str], dict[str, Any]]
    protocol_n: int
    columns: Callable[[], list[tuple[str, str, str]]]
    about: str


SCORERS: dict[str, Scorer] = {}


def register_scorer(scorer: Scorer) -> Scorer:
    """Add a scorer to SCORERS; a name registered twice is a bug."""
    if scorer.name in SCORERS:
        raise ValueError(f"scorer {scorer.name!r} registered twice")
    SCORERS[scorer.name] = scorer
    return scorer


def scorer_for(dataset: str, data_dir: str | Path | None = None) -> Scorer:
    """The scorer of a run's dataset (a --data-dir folder holds MNIST-format images: the evaluator)."""
    from mnistgan.data import spec_of

    return SCORERS[spec_of(dataset, data_dir).scored_by or "mnist-evaluator"]


def _evaluator_score(images: np.ndarray, dataset: str) -> dict[str, Any]:
    from mnistgan.metrics import evaluate

    result = evaluate(images, list(EVALUATOR_METRICS))
    return {**result["metrics"], "eval_seconds": result["seconds"], "evaluator_sha256": result["evaluator_sha256"]}


def _evaluator_columns() -> list[tuple[str, str, str]]:
    from mnistgan.metrics.registry import table_columns

    return [(c.key, c.column, c.column_fmt or c.fmt) for c in table_columns()]


def check_points(points: np.ndarray, where: str = "samples") -> np.ndarray:
    """Points as float64 (N, 2), or a one-line UserError naming the shape and what would be valid."""
    a = np.asarray(points)
    if a.ndim != 2 or a.shape[1] != 2 or a.dtype.kind not in "fiu" or len(a) == 0:
        raise UserError(f"{where}: a 2-D mixture scores points of shape (N, 2) with N >= 1, got {a.dtype} {a.shape}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise UserError(f"{where}: {int((~np.isfinite(a)).sum())} NaN or infinite coordinates")
    return a


def _mixture_score(points: np.ndarray, dataset: str) -> dict[str, Any]:
    from mnistgan.mixtures import MIXTURES, mode_scores

    if dataset not in MIXTURES:
        raise UserError(f"the mixture scorer knows {', '.join(MIXTURES)}, not {dataset!r}")
    return mode_scores(check_points(points), MIXTURES[dataset])


MIXTURE_COLUMNS = [
    ("modes_covered", "modes ↑", "{:.1f}"),
    ("hq_share", "high quality % ↑", "{:.1%}"),
    ("reverse_kl", "reverse KL ↓", "{:.3f}"),
]

register_scorer(
    Scorer(
        "mnist-evaluator",
        _evaluator_score,
        10_000,
        _evaluator_columns,
        "FD, KID, classifier score, digit shares, precision and recall in the shipped evaluator's features",
    )
)
register_scorer(
    Scorer(
        "mixture",
        _mixture_score,
        2_500,  # mixtures.PROTOCOL_N: VEEGAN and PacGAN score 2,500 samples
        lambda: list(MIXTURE_COLUMNS),
        "modes covered, share within 3 std of the nearest mode, reverse KL over modes (VEEGAN / PacGAN)",
    )
)
