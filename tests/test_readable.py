"""The "reads as a digit" decision (metrics/readable.py) on things that are not digits and on real digits, and the
digit statistics counting only readable samples."""

from __future__ import annotations

import numpy as np
import pytest

from mnistgan.data import load_split
from mnistgan.metrics import Reference, embed, evaluate, load_evaluator
from mnistgan.metrics.probes import PROBES
from mnistgan.metrics.readable import ball_ratio, readable_mask
from mnistgan.metrics.score import digit_stats


@pytest.fixture(scope="module")
def reference() -> Reference:
    return Reference(load_evaluator())  # the shipped protocol: the 10,000 test images (cached on disk)


def share_readable(images: np.ndarray, ref: Reference) -> float:
    feats, _ = embed(ref.evaluator, images)
    return float(readable_mask(feats, ref.features, ref.radii_pr).mean())


# Measured with the shipped evaluator (500 images each, seed 0): noise 0.000, blank 0.000, blobs 0.000, letters
# 0.128, unseen real digits 0.828 (0.863 over all of train[50000:60000]). The bounds leave room for other CPUs'
# rounding, not for a changed decision.
@pytest.mark.parametrize(("probe", "most"), [("noise", 0.0), ("blank", 0.0), ("blobs", 0.02), ("letters", 0.25)])
def test_things_that_are_not_digits_do_not_read_as_digits(reference: Reference, probe: str, most: float) -> None:
    images = PROBES[probe](500, np.random.default_rng(0))
    assert share_readable(images, reference) <= most


def test_unseen_real_digits_read_as_digits(reference: Reference) -> None:
    held_out = load_split("train")[0][50_000:50_500]  # never in the reference (the test set)
    assert 0.80 <= share_readable(held_out, reference) <= 0.92


def test_a_reference_image_reads_as_a_digit_and_the_mask_matches_the_ratio() -> None:
    rng = np.random.default_rng(1)
    real = rng.normal(size=(50, 4))
    radii = np.full(50, 0.25)
    queries = np.vstack([real[:5], real[:5] + 0.49 / 2, real[:5] + 10.0])  # on a point, inside its ball, far away
    mask = readable_mask(queries, real, radii)
    assert mask[:5].all() and mask[5:10].all() and not mask[10:].any()
    np.testing.assert_array_equal(mask, ball_ratio(queries, real, radii) <= 1.0)


def test_readable_share_is_precision(reference: Reference) -> None:
    images = np.concatenate([load_split("train")[0][50_000:50_300], PROBES["blobs"](100, np.random.default_rng(2))])
    values = evaluate(images, ["pr", "digits"], evaluator=reference.evaluator, reference=reference)["metrics"]
    assert values["unreadable"] == pytest.approx(1.0 - values["precision"], abs=1e-12)
    assert values["unreadable"] >= 0.25  # the 100 blobs at least
    assert sum(values["digits_hist"]) == pytest.approx(1.0 - values["unreadable"], abs=1e-12)


def test_noise_scores_no_modes_and_no_kl(reference: Reference) -> None:
    """The bug this fixes: a 300-step generator's blobs scored "digits 8: 100%, modes 1, confidence 0.9997"."""
    values = evaluate(PROBES["noise"](200, np.random.default_rng(3)), ["digits"], reference=reference)["metrics"]
    assert values["unreadable"] == 1.0 and values["modes"] == 0 and sum(values["digits_hist"]) == 0.0
    assert values["digits_kl"] is None and values["digits_tv"] is None and values["confidence"] is None


def test_digit_stats_count_only_readable_samples_by_hand() -> None:
    logits = np.full((10, 10), -20.0)
    logits[np.arange(10), [0, 0, 0, 1, 1, 2, 2, 2, 2, 2]] = 20.0
    readable = np.array([1, 1, 0, 1, 0, 0, 0, 0, 0, 1], bool)  # 0, 0, 1, 2 read; the rest do not
    ref = np.full(10, 0.1)
    out = digit_stats(logits, ref, readable)
    assert out["digits_hist"][:3] == [0.2, 0.1, 0.1] and sum(out["digits_hist"][3:]) == 0
    assert out["unreadable"] == pytest.approx(0.6) and out["modes"] == 3
    q = np.array([0.5, 0.25, 0.25])  # the readable samples' own distribution
    assert out["digits_kl"] == pytest.approx(float((q * np.log(q / 0.1)).sum()), rel=1e-12)
    assert out["digits_tv"] == pytest.approx(0.5 * (0.4 + 0.15 + 0.15 + 0.7), rel=1e-12)
