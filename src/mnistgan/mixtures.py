"""The 2-D Gaussian mixture benchmarks of the mode-collapse literature, and their scoring protocol (numpy only).

``ring8``: 8 Gaussians with means (cos(2 pi i / 8), sin(2 pi i / 8)), i = 0..7, std 0.01 in each coordinate;
``grid25``: 25 Gaussians with means {-4, -2, 0, 2, 4}^2, std 0.05. Both exactly as PacGAN's released code builds them
(github.com/fjxmlzn/PacGAN, synthetic_data_experiments/2DRing_GAN&PacGAN/config.py and 2DGrid_GAN&PacGAN/config.py:
MEANS, VARIANCES = 0.01**2 and 0.05**2 times the identity, priors None: the modes are equally likely, and
"num_sample": 100000 training points drawn once).

Scoring (VEEGAN, Srivastava et al. 2017, section 5.1, whose protocol PacGAN's Table 1 follows; PacGAN's
pacgan/extensions.py MetricLogger computes it): a generated point is *high quality* when its distance to the nearest
mode mean, in units of that mode's std, is below 3; a mode is *covered* when at least one high-quality point has it
as its nearest mode; the *reverse KL* is KL(p || uniform) of the distribution p of the high-quality points over the
modes against the uniform one, sum_k p_k log(K p_k), which equals log K minus the entropy PacGAN's logger writes
("entropy of coverage"). It is finite without smoothing (the uniform distribution has no zeros; p_k = 0 adds 0), and
it must be this direction: PacGAN's GAN row misses modes (6.3 of 8) yet reports a finite 0.45, while KL(uniform || p)
would be infinite. Both papers score 2,500 samples of the final generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

HQ_STDS = 3.0  # VEEGAN: "within three standard deviations of the nearest mode"; PacGAN's dis_thre=3
PROTOCOL_N = 2_500  # samples scored per trained generator (VEEGAN 5.1; PacGAN's num_log_figure_sample)


@dataclass(frozen=True)
class GaussianMixture:
    """K isotropic 2-D Gaussians of one std, equally likely; a fixed training set of n_train points drawn once."""

    name: str
    centres: tuple[tuple[float, float], ...]
    std: float
    n_train: int = 100_000  # PacGAN config.py: "num_sample": 100000
    n_test: int = 10_000  # held out, for the real-data row of `eval`
    about: str = ""

    @property
    def means(self) -> np.ndarray:
        """Mode centres (K, 2) float64."""
        return np.asarray(self.centres, dtype=np.float64)

    @property
    def n_modes(self) -> int:
        """K."""
        return len(self.centres)

    def sample(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """n points (n, 2) float32 and their mode (n,) int64: a uniform mode, then its Gaussian."""
        rng = np.random.default_rng(seed)
        modes = rng.integers(0, self.n_modes, size=n)
        points = self.means[modes] + self.std * rng.standard_normal((n, 2))
        return points.astype(np.float32), modes.astype(np.int64)

    def loader(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """The fixed train (seed 0) or test (seed 1) split: (points (N, 2) float32, modes (N,) int64)."""
        return self.sample(self.n_train, 0) if split == "train" else self.sample(self.n_test, 1)


RING8 = GaussianMixture(
    "ring8",
    tuple((math.cos(2 * math.pi * i / 8), math.sin(2 * math.pi * i / 8)) for i in range(8)),
    std=0.01,
    about="8 Gaussians on the unit circle, std 0.01 (PacGAN's 2D-ring)",
)
GRID25 = GaussianMixture(
    "grid25",
    tuple((float(i), float(j)) for i in range(-4, 5, 2) for j in range(-4, 5, 2)),
    std=0.05,
    about="25 Gaussians on {-4, -2, 0, 2, 4}^2, std 0.05 (PacGAN's 2D-grid)",
)
MIXTURES: dict[str, GaussianMixture] = {m.name: m for m in (RING8, GRID25)}


def mode_scores(points: np.ndarray, mixture: GaussianMixture) -> dict[str, Any]:
    """The protocol's numbers for generated points (N, 2): modes covered, share of high-quality points, reverse KL
    (nan when no point is high quality: then there is no distribution over modes) and that distribution."""
    x = np.asarray(points, dtype=np.float64)
    d = np.sqrt(((x[:, None, :] - mixture.means[None, :, :]) ** 2).sum(axis=2)) / mixture.std  # (N, K) in stds
    nearest = d.argmin(axis=1)
    good = d[np.arange(len(x)), nearest] < HQ_STDS
    counts = np.bincount(nearest[good], minlength=mixture.n_modes).astype(np.float64)  # (K,)
    total = counts.sum()
    p = counts / total if total else np.zeros_like(counts)
    kl = float(np.sum(p[p > 0] * np.log(p[p > 0] * mixture.n_modes))) if total else math.nan
    return {
        "modes_covered": int((counts > 0).sum()),
        "hq_share": float(good.mean()) if len(x) else 0.0,
        "reverse_kl": kl,
        "mode_hist": p.tolist(),  # share of the high-quality points per mode (uniform: 1/K each)
    }


# Published numbers to print beside ours, copied (not measured here): (method, modes, hq share, reverse KL, source).
# PacGAN Table 1 (Lin et al. 2018; also synthetic_data_experiments/results/Table1.png in their repository): mean ±
# standard error over 10 trials. VEEGAN Table 1 (Srivastava et al. 2017): means over 5 runs, no KL reported.
PACGAN = "Lin et al. 2018, Table 1"
VEEGAN = "Srivastava et al. 2017, Table 1"
# PacGAN's config.py: 400 epochs of 100,000 points in batches of 100; VEEGAN does not state its step count.
PUBLISHED_STEPS = {PACGAN: "400,000"}
PUBLISHED: dict[str, tuple[tuple[str, str, str, str, str], ...]] = {
    "ring8": (
        ("GAN", "6.3 ± 0.5", "98.2 ± 0.2", "0.45 ± 0.09", PACGAN),
        ("PacGAN2", "7.9 ± 0.1", "95.6 ± 2.0", "0.07 ± 0.03", PACGAN),
        ("PacGAN3", "7.8 ± 0.1", "97.7 ± 0.3", "0.10 ± 0.02", PACGAN),
        ("PacGAN4", "7.8 ± 0.1", "95.9 ± 1.4", "0.07 ± 0.02", PACGAN),
        ("GAN", "1", "99.3", "—", VEEGAN),
        ("Unrolled GAN", "7.6", "35.6", "—", VEEGAN),
        ("VEEGAN", "8", "52.9", "—", VEEGAN),
    ),
    "grid25": (
        ("GAN", "17.3 ± 0.8", "94.8 ± 0.7", "0.70 ± 0.07", PACGAN),
        ("PacGAN2", "23.8 ± 0.7", "91.3 ± 0.8", "0.13 ± 0.04", PACGAN),
        ("PacGAN3", "24.6 ± 0.4", "94.2 ± 0.4", "0.06 ± 0.02", PACGAN),
        ("PacGAN4", "24.8 ± 0.2", "93.6 ± 0.6", "0.04 ± 0.01", PACGAN),
        ("GAN", "3.3", "0.5", "—", VEEGAN),
        ("Unrolled GAN", "23.6", "16", "—", VEEGAN),
        ("VEEGAN", "24.6", "40", "—", VEEGAN),
    ),
}
