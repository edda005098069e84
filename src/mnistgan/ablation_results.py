"""Ablation results: reading each run's result.json, the mean ± std table over seeds, its columns (from the metric
registry), the test of a "fixed" preset, and the figure of digit shares per preset."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from mnistgan.config import preset_config
from mnistgan.errors import UserError
from mnistgan.files import save_figure

RESULT = "result.json"  # beside each ablation run directory's own files


def columns(scorer: str = "mnist-evaluator") -> list[tuple[str, str, str]]:
    """The table's (key, title, format) columns: the scorer's own (scorers.py; the evaluator's come from
    metrics.registry.table_columns), then time."""
    from mnistgan.scorers import SCORERS

    return SCORERS[scorer].columns() + [("train_min", "train min", "{:.1f}")]


def published_rows(dataset: str) -> list[tuple[str, dict[str, str]]]:
    """Published numbers for a dataset (mixtures.PUBLISHED), as (row label, {column key: text}): copied from the
    papers, not measured here, and labelled so."""
    from mnistgan.mixtures import PUBLISHED, PUBLISHED_STEPS

    return [
        (
            f"{method} (copied: {source})",
            {"steps": PUBLISHED_STEPS.get(source, "—"), "modes_covered": modes, "hq_share": f"{hq}%", "reverse_kl": kl},
        )
        for method, modes, hq, kl, source in PUBLISHED.get(dataset, ())
    ]


def load_results(out: Path, presets: list[str]) -> dict[str, list[dict[str, Any]]]:
    """{preset: [result of each finished seed, by seed]} from OUT/<preset>/seed*/result.json."""
    results = {}
    for preset in presets:
        paths = sorted((Path(out) / preset).glob(f"seed*/{RESULT}"), key=lambda p: int(p.parent.name[4:]))
        results[preset] = [json.loads(p.read_text()) for p in paths]
    return results


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof 1; nan for one value), in float64."""
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else math.nan


def mean_std_cell(values: list[Any], fmt: str) -> str:
    """'mean ± std' of the finite numbers among values (one: just the mean; none: '—'), each formatted with fmt."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return "—"
    mean, std = mean_std(finite)
    return fmt.format(mean) + ("" if math.isnan(std) else " ± " + fmt.format(std))


def markdown_table(
    results: dict[str, list[dict[str, Any]]],
    cols: list[tuple[str, str, str]] | None = None,
    published: list[tuple[str, dict[str, str]]] = (),
) -> str:
    """One row per preset: mean ± std over its finished seeds of every column (default: the MNIST evaluator's);
    failed seeds counted apart; then any published rows, copied, with "copied" in their label."""
    cols = cols if cols is not None else columns()
    head = ["preset", "seeds", "steps"] + [title for _, title, _ in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for preset, rows in results.items():
        good = [r for r in rows if "error" not in r]
        failed = len(rows) - len(good)
        steps = sorted({f"{result_steps(r):,}" for r in rows})
        cells = [preset, f"{len(good)}" + (f" (+{failed} diverged)" if failed else ""), "/".join(steps) or "—"]
        for key, _, fmt in cols:
            cells.append(mean_std_cell([r.get(key) for r in good], fmt))
        lines.append("| " + " | ".join(cells) + " |")
    for label, texts in published:
        cells = [label, "published", texts.get("steps", "—")] + [texts.get(k, "—") for k, _, _ in cols]
        lines.append("| " + " | ".join(cells) + " |")
    resumed = sorted({p for p, rows in results.items() if any(r.get("resumed") for r in rows)})
    note = "\nmean ± sample std over seeds; ↓ lower is better, ↑ higher is better. "
    note += "train min: wall time of the training call"
    note += f" (resumed runs, counting only their last session: {', '.join(resumed)})" if resumed else ""
    if published:
        note += ". Rows marked copied are the papers' numbers (PacGAN: mean ± standard error over 10 trials; VEEGAN:"
        note += " means of 5 runs), not runs of this package"
    return "\n".join(lines) + "\n" + note + ".\n"


def result_steps(result: dict[str, Any]) -> int:
    """A run's step count: its own, or its preset's (a --full run records None)."""
    return result["steps"] if result.get("steps") is not None else preset_config(result["preset"]).steps


def fixed_criteria(
    results: dict[str, list[dict[str, Any]]], candidate: str, kl_max: float = 0.01, minutes_max: float = 15.0
) -> list[tuple[str, str, bool]]:
    """The test of a "fixed" preset (collapse remedied), on ablation results: (criterion, measured, passed) rows.

    All 10 digits and KL <= kl_max in every seed; fd, precision and recall each at least as good as the best mean
    among the *other unconditional* presets in `results`; training at most minutes_max a seed (the largest
    train_min of its seeds). Conditional presets are left out of the comparison: they are given the labels.
    """
    runs = [r for r in results[candidate] if "error" not in r]
    if not runs:
        raise UserError(f"no finished runs of {candidate!r}")
    others = {}  # preset -> its finished runs, for every other unconditional preset that has some
    for label, rows in results.items():  # a label may carry a step count: "tutorial (70,000 steps)"
        good = [r for r in rows if "error" not in r]
        if label != candidate and good and not preset_config(good[0].get("preset", label)).conditional:
            others[label] = good
    modes, kls = [r["modes"] for r in runs], [r["digits_kl"] for r in runs]
    out = [
        ("10 digits in every seed", f"modes {modes}", min(modes) == 10),
        (f"KL <= {kl_max} in every seed", "KL " + ", ".join(f"{k:.4f}" for k in kls), max(kls) <= kl_max),
    ]
    for key, better in (("fd", min), ("precision", max), ("recall", max)):
        mine = float(np.mean([r[key] for r in runs]))
        best_preset = better(others, key=lambda p: np.mean([r[key] for r in others[p]]))
        best = float(np.mean([r[key] for r in others[best_preset]]))
        ok = mine <= best if better is min else mine >= best
        out.append((f"{key} at least as good as the best other", f"{mine:.3f} vs {best:.3f} ({best_preset})", ok))
    minutes = max(r["train_min"] for r in runs)
    out.append((f"at most {minutes_max:g} min a seed", f"{minutes:.1f} min (slowest seed)", minutes <= minutes_max))
    return out


def plot_digit_shares(
    results: dict[str, list[dict[str, Any]]],
    path: Path,
    reference: np.ndarray | None = None,
    key: str = "digits_hist",
    xlabel: str = "predicted digit",
    reference_label: str = "test set",
) -> Path:
    """Bar chart per preset of the generated-digit shares (mean over seeds, std as error bars, seeds as dots), and,
    grey, of the samples that are not digits; with key "mode_hist" and a uniform reference, the shares of a mixture's
    modes."""
    from matplotlib.figure import Figure  # the object API: no pyplot, no backend switch

    if reference is None:
        from mnistgan.data import load_split

        labels = load_split("test")[1]
        reference = np.bincount(labels, minlength=10) / len(labels)
    presets = list(results)
    cols = min(4, max(1, len(presets)))
    rows = -(-len(presets) // cols) if presets else 1
    fig = Figure(figsize=(3.2 * cols, 2.6 * rows))
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    for ax in axes.flat[len(presets) :]:
        ax.axis("off")
    digits = np.arange(len(reference))
    for ax, preset in zip(axes.flat, presets):
        hists = np.array([r[key] for r in results[preset] if key in r], dtype=np.float64)
        ax.set_title(f"{preset} ({len(hists)} seeds)", fontsize=9)
        ax.step(
            np.arange(len(reference) + 1) - 0.5,
            np.append(reference, reference[-1]),
            where="post",
            color="k",
            lw=1,
            label=reference_label,
        )
        digit_shares = key == "digits_hist"
        bins, colors = digits, ["tab:blue"] * len(digits)
        if len(hists):
            if digit_shares:  # (seeds, 11): the samples that read as no digit as an eleventh, grey bar
                hists = np.hstack([hists, np.clip(1 - hists.sum(1, keepdims=True), 0, 1)])
                bins, colors = np.arange(11), colors + ["tab:gray"]
            std = hists.std(axis=0, ddof=1) if len(hists) > 1 else None
            ax.bar(bins, hists.mean(axis=0), yerr=std, color=colors, alpha=0.6, capsize=2, label="mean")
            for i, h in enumerate(hists):
                ax.plot(bins, h, ".", color="tab:red", ms=3, label="seeds" if i == 0 else None)
        if digit_shares:
            ax.set_xticks(np.arange(11), [*map(str, digits), "?"])
            ax.set_xlabel("reads as digit (?: not a digit)", fontsize=8)
        else:
            ax.set_xticks(digits if len(digits) <= 10 else digits[::4])
            ax.set_xlabel(xlabel, fontsize=8)
    axes[0, 0].set_ylabel("share of samples")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    return Path(path)
