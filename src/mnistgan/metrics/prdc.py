"""`pr`: improved precision and recall (Kynkaanniemi et al. 2019, k = 3) and density and coverage (Naeem et al.
2020, k = 5), in evaluator features.

Each real (or generated) point gets a ball reaching its k-th nearest real (generated) neighbour.
precision: share of generated points inside at least one real ball (quality);
recall: share of real points inside at least one generated ball (diversity);
density: generated points counted once per real ball they fall in, over k times their number (about 1 when the
  two distributions match; unlike precision it does not saturate on outliers);
coverage: share of real balls (k = 5) holding at least one generated point.
Precision and recall count the ball's boundary as inside (<=, as the paper defines them); density and coverage do
not (<, as Naeem et al.'s reference code). All distances are compared squared, in float64.
"""

from __future__ import annotations

import numpy as np
import torch

from mnistgan.metrics.neighbors import kth_nn_sq, sq_dist_chunks
from mnistgan.metrics.registry import Show, register_metric

K_PR = 3  # Kynkaanniemi et al. 2019
K_DC = 5  # Naeem et al. 2020


def prdc(
    real: np.ndarray,
    fake: np.ndarray,
    k_pr: int = K_PR,
    k_dc: int = K_DC,
    real_radii: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict:
    """Precision, recall, density, coverage of fake (M, D) against real (N, D); real_radii: cached k-NN radii."""
    r_pr, r_dc = real_radii if real_radii is not None else (kth_nn_sq(real, k_pr), kth_nn_sq(real, k_dc))
    f_pr = kth_nn_sq(fake, k_pr)
    t_pr, t_dc, t_fpr = (torch.from_numpy(np.asarray(r, np.float64)) for r in (r_pr, r_dc, f_pr))
    precise = 0
    density = 0.0
    recalled = torch.zeros(len(real), dtype=torch.bool)
    nearest_fake = torch.full((len(real),), float("inf"), dtype=torch.float64)
    for start, d2 in sq_dist_chunks(fake, real):  # (c, N): chunk of fake rows against every real point
        precise += int((d2 <= t_pr[None, :]).any(1).sum())
        density += float((d2 < t_dc[None, :]).sum())
        recalled |= (d2 <= t_fpr[start : start + len(d2), None]).any(0)
        nearest_fake = torch.minimum(nearest_fake, d2.min(0).values)
    return {
        "precision": precise / len(fake),
        "recall": float(recalled.double().mean()),
        "density": density / (k_dc * len(fake)),
        "coverage": float((nearest_fake < t_dc).double().mean()),
    }


@register_metric(
    "pr",
    keys=("precision", "recall", "density", "coverage"),
    min_samples=K_PR + 1,
    why_min=f"each generated point needs its {K_PR}rd nearest other generated point, for recall",
    help="improved precision/recall (k=3) and density/coverage (k=5) in evaluator features",
    show=(
        Show(
            "precision",
            "precision",
            "{:.4f}",
            "quality: share of samples near a real image",
            column="precision ↑",
            column_fmt="{:.3f}",
        ),
        Show(
            "recall",
            "recall",
            "{:.4f}",
            "variety: share of real images near a sample",
            column="recall ↑",
            column_fmt="{:.3f}",
        ),
        Show("density", "density", "{:.4f}", "how crowded samples are around real images; about 1 for real"),
        Show(
            "coverage",
            "coverage",
            "{:.4f}",
            "share of real images with a sample close by",
            column="coverage ↑",
            column_fmt="{:.3f}",
        ),
    ),
)
def pr_metric(ctx) -> dict:  # noqa: ANN001
    """Precision, recall, density and coverage against the test set."""
    return prdc(ctx.ref.features, ctx.features, real_radii=(ctx.ref.radii_pr, ctx.ref.radii_dc))
