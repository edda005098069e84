"""The metric registry: `@register_metric` records each metric once, and the CLI's choices come from `METRICS`.

A registered metric is a function of a `Context` (the sample and, computed once and shared, its evaluator features,
class probabilities and the cached real-data statistics) that returns a flat dict of numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mnistgan.errors import UserError


@dataclass(frozen=True)
class MetricSpec:
    """One registered metric: its function, the fewest samples it is defined for, and a line of help."""

    name: str
    fn: Callable[[Any], dict[str, Any]]
    keys: tuple[str, ...]  # the result keys fn returns, exactly (checked on every call)
    min_samples: int
    why_min: str  # why that minimum applies, for the error message
    help: str
    in_training: bool = False  # cheap enough to log during training (fd, score, digits)
    uses_features: bool = True  # reads the evaluator's outputs (parzen and memorization read pixels only)


METRICS: dict[str, MetricSpec] = {}


def register_metric(
    name: str,
    keys: tuple[str, ...],
    min_samples: int,
    why_min: str,
    help: str,
    in_training: bool = False,
    uses_features: bool = True,
) -> Callable:
    """Decorator: register `fn(ctx) -> dict with exactly `keys`` under `name`; a duplicate name is a bug."""

    def wrap(fn: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
        if name in METRICS:
            raise ValueError(f"metric {name!r} registered twice")
        if not name.isidentifier() or name != name.lower():
            raise ValueError(f"metric names are lower-case identifiers, got {name!r}")
        taken = {k for spec in METRICS.values() for k in spec.keys}
        if not keys or taken & set(keys):
            raise ValueError(f"metric {name!r} needs result keys of its own, got {keys} (taken: {sorted(taken)})")
        if min_samples < 1:
            raise ValueError(f"min_samples of {name!r} must be >= 1")
        METRICS[name] = MetricSpec(name, fn, tuple(keys), min_samples, why_min, help, in_training, uses_features)
        return fn

    return wrap


def parse_metrics(text: str | list[str] | None) -> list[str]:
    """Metric names from 'fd,kid' or a list (None or 'all': every metric); an unknown name lists the valid ones."""
    if text is None or text == "all":
        return list(METRICS)
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    if not names:
        raise UserError(f"no metrics given; valid metrics: {', '.join(METRICS)}")
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise UserError(f"unknown metric {unknown[0]!r}; valid metrics: {', '.join(METRICS)}")
    return list(dict.fromkeys(names))


def check_sample_size(names: list[str], n: int) -> None:
    """UserError naming the first metric that `n` samples are too few for, and why its minimum applies."""
    for name in names:
        spec = METRICS[name]
        if n < spec.min_samples:
            raise UserError(f"metric {name!r} needs at least {spec.min_samples} samples ({spec.why_min}); got {n}")
