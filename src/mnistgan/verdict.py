"""One line that says what an evaluation means, for a person who does not read metric tables: `eval` prints it
under its table and the notebook under each run.

The rules, in order (the first that applies wins):
1. half the samples or more do not read as a digit (metrics/readable.py): "not digits yet";
2. the readable samples are mostly a few digits: 5 or fewer cover 90% of them (MNIST itself needs 9): "collapsed";
3. a digit is (nearly) missing, below 1% of samples: "partly collapsed";
4. otherwise quality and variety against the real row measured the same way: "close to real data" when precision and
   recall are both at least 80% of real images' own, else what is still short.
"""

from __future__ import annotations

import numpy as np

UNREADABLE_MAX = 0.5  # rule 1
COVER_SHARE, COLLAPSED_K = 0.9, 5  # rule 2: 90% of the readable samples in at most 5 digits
CLOSE = 0.8  # rule 4: precision and recall within 80% of real images'


def digits_covering(hist: list[float], share: float = COVER_SHARE) -> list[int]:
    """The fewest digits, most common first, that hold `share` of the readable samples (hist: shares of all)."""
    h = np.asarray(hist, np.float64)
    if h.sum() <= 0:
        return []
    order = np.argsort(-h, kind="stable")
    cum = np.cumsum(h[order]) / h.sum()
    return [int(d) for d in order[: int(np.searchsorted(cum, share - 1e-12)) + 1]]


def verdict(model: dict, real: dict | None = None) -> str | None:
    """The one-line reading of a model's metrics (and the real row's, measured at the same n); None without the
    `digits` metric, which every rule needs."""
    if "digits_hist" not in model:
        return None
    unreadable = model.get("unreadable", 0.0)
    if unreadable >= UNREADABLE_MAX:
        return f"not digits yet: {unreadable:.0%} of samples do not read as a digit"
    hist = model["digits_hist"]
    note = f"; {unreadable:.0%} of samples are not digits" if unreadable >= 0.1 else ""
    top = digits_covering(hist)
    if len(top) <= COLLAPSED_K:
        what = f"{len(top)} digit{'s' if len(top) > 1 else ''} ({', '.join(map(str, top))})"
        return f"collapsed: {what} make up 90% of the readable samples{note}"
    missing = [d for d, v in enumerate(hist) if v < 0.01]
    if missing:
        what = f"digit{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))}"
        return f"partly collapsed: {what} (nearly) missing{note}"
    real = real or {}
    short = [
        f"{word} {model[key]:.2f} vs {real[key]:.2f} for real images"
        for key, word in (("precision", "quality"), ("recall", "variety"))
        if key in model and key in real and model[key] < CLOSE * real[key]
    ]
    if short:
        return "every digit, short of real data in " + " and ".join(short) + note
    if "precision" in model and "recall" in real:
        return "close to real data: quality and variety within 80% of real images'" + note
    return "every digit drawn" + note
