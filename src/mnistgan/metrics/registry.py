"""The metric registry: `@register_metric` records each metric once, with how its numbers are shown, and
everything else derives from `METRICS`: the CLI's choices and help, the `eval` table's rows (`table_rows`), the
ablation table's columns (`table_columns`) and the metrics logged during training (`training_metrics`).

A registered metric is a function of a `Context` (the sample and, computed once and shared, its evaluator features,
class probabilities and the cached real-data statistics) that returns a flat dict of numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mnistgan.errors import UserError


@dataclass(frozen=True)
class Show:
    """How one result key is displayed: its label and format in the `eval` table (with its std key, if any, and a
    plain-words note), and its title and format as a column of the ablation table (None: not a column)."""

    key: str
    label: str
    fmt: str
    note: str
    std: str | None = None
    column: str | None = None
    column_fmt: str | None = None


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
    show: tuple[Show, ...] = ()  # the keys shown in tables, in order


METRICS: dict[str, MetricSpec] = {}


def register_metric(
    name: str,
    keys: tuple[str, ...],
    min_samples: int,
    why_min: str,
    help: str,
    in_training: bool = False,
    uses_features: bool = True,
    show: tuple[Show, ...] = (),
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
        if not {sh.key for sh in show} | {sh.std for sh in show if sh.std} <= set(keys):
            raise ValueError(f"metric {name!r} shows keys it does not return")
        spec = MetricSpec(name, fn, tuple(keys), min_samples, why_min, help, in_training, uses_features, tuple(show))
        METRICS[name] = spec
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


def table_rows() -> list[Show]:
    """Every displayed key, metric by metric in registration order: the rows of the `eval` table."""
    return [sh for spec in METRICS.values() for sh in spec.show]


def table_columns() -> list[Show]:
    """The displayed keys that are ablation-table columns, in the same order."""
    return [sh for sh in table_rows() if sh.column is not None]


def training_metrics() -> list[str]:
    """The metrics cheap enough to log during training."""
    return [name for name, spec in METRICS.items() if spec.in_training]
