"""`score` and `digits`: what the evaluator's class probabilities p(y|x) say about a sample.

`score` is the classifier score exp(E_x KL(p(y|x) || p(y))), the Inception Score (Salimans et al. 2016) with the
MNIST evaluator in place of Inception, as TF-GAN's `mnist_score`: high when each image is confidently one digit and
all digits are equally common; at most 10. Mean and standard deviation over 10 splits, as the Inception Score is
reported. `digits` reads the same probabilities as a histogram, which shows mode collapse directly.
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


def digit_stats(logits: np.ndarray, reference: np.ndarray) -> dict:
    """Predicted-digit shares, modes covered, KL and total variation to `reference` (10,), mean confidence."""
    p = np.exp(log_softmax(logits))
    hist = np.bincount(p.argmax(1), minlength=10).astype(np.float64) / len(p)
    ref = np.asarray(reference, np.float64)
    nz = hist > 0
    return {
        "digits_hist": hist.tolist(),
        "modes": int((hist >= MODE_SHARE).sum()),
        "digits_kl": float((hist[nz] * np.log(hist[nz] / ref[nz])).sum()),
        "digits_tv": float(0.5 * np.abs(hist - ref).sum()),
        "confidence": float(p.max(1).mean()),
    }


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
            "higher is better, at most 10",
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
    keys=("digits_hist", "modes", "digits_kl", "digits_tv", "confidence"),
    min_samples=1,
    why_min="a histogram needs one sample",
    help="predicted-digit histogram, modes covered (>= 1% of samples), KL and TV to the test labels, confidence",
    in_training=True,
    show=(
        Show("modes", "modes", "{}", "digits with >= 1% of samples, of 10", column="modes ↑", column_fmt="{:.1f}"),
        Show(
            "digits_kl",
            "digits KL",
            "{:.4f}",
            "to the test labels, lower is better",
            column="KL ↓",
            column_fmt="{:.4f}",
        ),
        Show("digits_tv", "digits TV", "{:.4f}", "to the test labels, lower is better"),
        Show("confidence", "confidence", "{:.4f}", "mean top class probability"),
    ),
)
def digits_metric(ctx) -> dict:  # noqa: ANN001
    """Digit histogram and its distances to the test set's label distribution."""
    return digit_stats(ctx.logits, ctx.ref.label_dist)
