"""`parzen`: Parzen-window log-likelihood of the MNIST test set, the protocol of Goodfellow et al. 2014 (Table 1).

A Gaussian kernel of width sigma on each of 10,000 samples (pixels in [0, 1]) defines a density; sigma is chosen
from logspace(-1, 0, 10) by mean log-likelihood of the first 1,000 images of train[50000:60000] (the validation
split of the GAN paper); the result is the mean log-likelihood of the 10,000 test images, in nats, with its standard
error. Theis et al. 2016 ("A note on the evaluation of generative models") show that this estimate is far from the
true log-likelihood in 784 dimensions and can rank models wrongly, so it is reported for comparison with the
literature only: see CAVEAT.

log p(x) = logsumexp_i(-|x - s_i|^2 / (2 sigma^2)) - log N - (D / 2) log(2 pi sigma^2), in chunks of test images:
squared distances by a float32 matmul (about 1e-5 absolute error on pixels in [0, 1], under 0.001 nats at the
smallest sigma, 0.1), the exponent and the sums in float64.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from mnistgan.metrics.neighbors import sq_dist_chunks
from mnistgan.metrics.registry import Show, register_metric

SIGMAS = np.logspace(-1, 0, 10)  # Goodfellow et al. 2014's grid
CAVEAT = "Parzen estimates are unreliable in 784 dimensions and can misrank models (Theis et al. 2016)"


def parzen_log_likelihoods(samples: np.ndarray, x: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """log p(x_j) under the Parzen window on `samples` (N, D), for each sigma: float64 (len(sigmas), M)."""
    n, d = samples.shape
    sig = torch.as_tensor(np.asarray(sigmas, np.float64))[:, None, None]  # (S, 1, 1)
    out = np.empty((len(sigmas), len(x)), np.float64)
    for start, d2 in sq_dist_chunks(x, samples, torch.float32, chunk=256):  # (c, N)
        lse = torch.logsumexp(-d2.double()[None] / (2 * sig**2), dim=2)  # (S, c)
        out[:, start : start + len(d2)] = lse.numpy()
    norm = math.log(n) + d / 2 * np.log(2 * math.pi * np.asarray(sigmas, np.float64) ** 2)
    return out - norm[:, None]


def parzen_protocol(samples: np.ndarray, valid: np.ndarray, test: np.ndarray, sigmas: np.ndarray = SIGMAS) -> dict:
    """Pick sigma on `valid`, return mean log-likelihood of `test` with its standard error (all in [0, 1] pixels)."""
    valid_ll = parzen_log_likelihoods(samples, valid, sigmas).mean(1)
    best = int(np.argmax(valid_ll))
    ll = parzen_log_likelihoods(samples, test, sigmas[best : best + 1])[0]
    return {
        "parzen": float(ll.mean()),
        "parzen_se": float(ll.std(ddof=1) / math.sqrt(len(ll))) if len(ll) > 1 else 0.0,
        "parzen_sigma": float(sigmas[best]),
    }


def to_unit(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28) -> float64 (N, 784) in [0, 1]."""
    return np.asarray(images, np.float64).reshape(len(images), -1) / 255.0


@register_metric(
    "parzen",
    keys=("parzen", "parzen_se", "parzen_sigma"),
    min_samples=1,
    why_min="a Parzen window needs one kernel",
    uses_features=False,
    help="Parzen-window log-likelihood of the test set (Goodfellow et al. 2014 protocol; see Theis et al. 2016)",
    show=(
        Show(
            "parzen", "parzen", "{:.1f}", "log-likelihood of test images, nats; see the caveat below", std="parzen_se"
        ),
        Show("parzen_sigma", "parzen sigma", "{:.3f}", "kernel width, fitted on held-out training images"),
    ),
)
def parzen_metric(ctx) -> dict:  # noqa: ANN001
    """Goodfellow et al.'s protocol on the context's samples."""
    return parzen_protocol(to_unit(ctx.images), to_unit(ctx.ref.valid_images), to_unit(ctx.ref.test_images))
