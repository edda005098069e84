"""`score` and `digits`: what the evaluator's class probabilities p(y|x) say about a sample.

`score` is the classifier score exp(E_x KL(p(y|x) || p(y))), the Inception Score (Salimans et al. 2016) with the
MNIST evaluator in place of Inception, as TF-GAN's `mnist_score`: high when each image is confidently one digit and
all digits are equally common; at most 10. Mean and standard deviation over 10 splits, as the Inception Score is
reported. `digits` reads the same probabilities as a histogram, which shows mode collapse directly; it counts only
the samples that read as a digit (metrics/readable.py), because the classifier names a digit for noise too.
"""

from __future__ import annotations

import numpy as np

from mnistgan.metrics.registry import Show, register_metric

SPLITS = 10  # Salimans et al.'s protocol
MODE_SHARE = 0.01  # a digit counts as covered when at least 1% of samples are classified as it


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64."""
    z = np.asarray(logits, np.float64)
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def classifier_score(logits: np.ndarray, splits: int = SPLITS) -> tuple[float, float]:
    """Mean and std over `splits` contiguous splits of exp(mean KL(p(y|x) || p(y))), p(y) the split's mean."""
    logp = log_softmax(logits)
    p = np.exp(logp)
    scores = []
    for part_logp, part_p in zip(np.array_split(logp, splits), np.array_split(p, splits)):
        log_py = np.log(np.maximum(part_p.mean(0), np.finfo(np.float64).tiny))
        kl = (part_p * (part_logp - log_py)).sum(1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


def digit_stats(logits: np.ndarray, reference: np.ndarray, readable: np.ndarray | None = None) -> dict:
    """Predicted-digit shares of the samples that read as a digit, modes covered, KL and total variation to
    `reference` (10,), the share that does not read as a digit, and the mean confidence of those that do.

    `readable` (N,) bool marks the samples that read as a digit (metrics/readable.py; None: all of them).
    digits_hist[d] is the share of *all* samples read as digit d, so it sums to 1 - unreadable; a digit is a mode
    when at least MODE_SHARE of all samples read as it. KL and TV compare the readable samples' digit distribution
    with the reference, and are None (as is the confidence) when no sample reads as a digit.
    """
    p = np.exp(log_softmax(logits))
    readable = np.ones(len(p), bool) if readable is None else np.asarray(readable, bool)
    n = max(len(p), 1)
    hist = np.bincount(p.argmax(1)[readable], minlength=10).astype(np.float64) / n
    ref = np.asarray(reference, np.float64)
    out = {
        "digits_hist": hist.tolist(),
        "modes": int((hist >= MODE_SHARE).sum()),
        "unreadable": float(1.0 - readable.sum() / n),
        "digits_kl": None,
        "digits_tv": None,
        "confidence": None,
    }
    if readable.any():
        q = hist / hist.sum()
        nz = q > 0
        out["digits_kl"] = float((q[nz] * np.log(q[nz] / ref[nz])).sum())
        out["digits_tv"] = float(0.5 * np.abs(q - ref).sum())
        out["confidence"] = float(p[readable].max(1).mean())
    return out


@register_metric(
    "score",
    keys=("score", "score_std"),
    min_samples=SPLITS,
    why_min=f"the score is averaged over {SPLITS} splits",
    help="classifier score exp(E KL(p(y|x) || p(y))), mean and std over 10 splits (higher is better, at most 10)",
    in_training=True,
    show=(
        Show(
            "score",
            "score",
            "{:.3f}",
            "confident and varied digits; at most 10",
            std="score_std",
            column="score ↑",
            column_fmt="{:.3f}",
        ),
    ),
)
def score_metric(ctx) -> dict:  # noqa: ANN001
    """{'score': mean, 'score_std': std}."""
    mean, std = classifier_score(ctx.logits)
    return {"score": mean, "score_std": std}


@register_metric(
    "digits",
    keys=("digits_hist", "modes", "unreadable", "digits_kl", "digits_tv", "confidence"),
    min_samples=1,
    why_min="a histogram needs one sample",
    help="share of samples that do not read as a digit; digit histogram, modes (>= 1% of samples), KL and TV to "
    "the test labels, and confidence, of the samples that do",
    in_training=True,
    show=(
        Show(
            "unreadable",
            "not a digit",
            "{:.1%}",
            "share of samples outside every real digit's neighbourhood",
            column="not a digit ↓",
            column_fmt="{:.0%}",
        ),
        Show(
            "modes",
            "modes",
            "{}",
            "digits drawn readably by >= 1% of samples, of 10",
            column="modes ↑",
            column_fmt="{:.1f}",
        ),
        Show(
            "digits_kl",
            "digits KL",
            "{:.4f}",
            "readable samples' digits vs the test labels, lower is better",
            column="KL ↓",
            column_fmt="{:.4f}",
        ),
        Show("digits_tv", "digits TV", "{:.4f}", "the same as total variation, lower is better"),
        Show("confidence", "confidence", "{:.4f}", "readable samples' mean top class probability"),
    ),
)
def digits_metric(ctx) -> dict:  # noqa: ANN001
    """Digit histogram of the readable samples and its distances to the test set's label distribution."""
    return digit_stats(ctx.logits, ctx.ref.label_dist, ctx.readable)
