"""Does a sample read as a digit? The per-sample form of precision, in the evaluator's own feature geometry.

The evaluator is a classifier: it gives every input a confident digit, noise included (a 300-step generator's grey
blobs get a mean top probability of 0.9997, above real digits' 0.994). A class probability cannot tell a digit from
something that is not one, so the digit histogram, the mode count and the KL only count the samples that *read as a
digit*: those whose evaluator features fall inside the k-NN ball of at least one real test image (k = 3, the ball
reaching that image's 3rd nearest other test image): the sample-wise form of improved precision (Kynkaanniemi et
al. 2019). The share of samples that do is exactly `precision`; `unreadable` is its complement.

Measured on the shipped evaluator (tests/test_readable.py; `python benchmarks/readable.py` prints the table):
unseen real digits (train[50000:60000]) 86% readable; uniform noise, blank images and Gaussian blobs 0%; a
300-step tutorial generator's blobs 0%; typed letters about 13% (those that fall there are digit-like: q, Z, B, G).
The decision depends only on the sample and the fixed reference, not on how many samples are scored.
"""

from __future__ import annotations

import numpy as np
import torch

from mnistgan.metrics.neighbors import sq_dist_chunks


def readable_mask(features: np.ndarray, real_features: np.ndarray, real_radii: np.ndarray) -> np.ndarray:
    """Bool (N,): whether each feature row lies inside (<=) the ball of squared radius real_radii[j] around some
    real_features[j], the inside test of improved precision."""
    radii = torch.from_numpy(np.asarray(real_radii, np.float64))
    out = np.zeros(len(features), bool)
    for start, d2 in sq_dist_chunks(features, real_features):  # (c, N_real), float64
        out[start : start + len(d2)] = (d2 <= radii[None, :]).any(1).numpy()
    return out


def ball_ratio(features: np.ndarray, real_features: np.ndarray, real_radii: np.ndarray) -> np.ndarray:
    """Float64 (N,): min over real j of squared distance / real_radii[j]; a sample reads as a digit when <= 1.
    How far outside the nearest ball a sample lies, for diagnosis and calibration."""
    radii = torch.from_numpy(np.asarray(real_radii, np.float64))
    out = np.empty(len(features), np.float64)
    for start, d2 in sq_dist_chunks(features, real_features):
        out[start : start + len(d2)] = (d2 / radii[None, :]).min(1).values.numpy()
    return out
