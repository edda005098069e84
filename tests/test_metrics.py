"""Metric functions against reference computations, closed forms and invariants (no evaluator network needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
from scipy.spatial.distance import cdist
from scipy.special import logsumexp

from mnistgan.errors import UserError
from mnistgan.metrics import (
    METRICS,
    FeatureStats,
    classifier_score,
    digit_stats,
    frechet_distance,
    frechet_distance_features,
    kernel_distance,
    memorization_stats,
    mmd2_unbiased,
    nearest_train,
    parse_metrics,
    parzen_log_likelihoods,
    parzen_protocol,
    precision_recall_density_coverage,
    register_metric,
)
from mnistgan.metrics.neighbors import kth_nn_sq
from mnistgan.metrics.registry import check_sample_size


def gaussians(seed: int, n: int = 600, d: int = 8, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d)) / math.sqrt(d)
    return rng.normal(size=(n, d)) @ mix + shift


def scipy_fd(a: np.ndarray, b: np.ndarray) -> float:
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_fd_of_a_set_to_itself_is_zero() -> None:
    a = gaussians(0)
    assert abs(frechet_distance_features(a, a)) < 1e-9


@pytest.mark.parametrize("shift", [0.0, 0.3, 2.0])
def test_fd_matches_scipy_sqrtm(shift: float) -> None:
    a, b = gaussians(1), gaussians(2, n=400, shift=shift)
    ours, ref = frechet_distance_features(a, b), scipy_fd(a, b)
    assert ref > 0.01
    assert ours == pytest.approx(ref, rel=1e-7, abs=1e-9)


def test_fd_closed_form_diagonal_and_singular() -> None:
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    # Diagonal covariances: |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2 = 5 + (1 + 0 + 4).
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(10.0, abs=1e-12)
    # A collapsed sample (zero covariance): |mu1 - mu2|^2 + tr(S2), finite, no epsilon needed.
    assert frechet_distance(mu1, np.zeros((3, 3)), mu2, np.diag(b)) == pytest.approx(5.0 + 9.0, abs=1e-12)


def test_feature_stats_do_not_depend_on_batch_size() -> None:
    a = gaussians(3, n=1000, d=16).astype(np.float32)
    whole, parts = FeatureStats(16), FeatureStats(16)
    whole.update(a)
    for chunk in np.array_split(a, 37):
        parts.update(chunk)
    (m1, s1), (m2, s2) = whole.compute(), parts.compute()
    np.testing.assert_allclose(m1, m2, atol=1e-12)
    np.testing.assert_allclose(s1, s2, atol=1e-10)
    np.testing.assert_allclose(s1, np.cov(a.astype(np.float64), rowvar=False), atol=1e-10)


def test_mmd2_unbiased_matches_double_loop() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 3)) + 0.5
    k = lambda u, v: (u @ v / 3 + 1) ** 3  # noqa: E731
    m = len(x)
    kxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kyy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kxy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    assert mmd2_unbiased(x, y) == pytest.approx(kxx + kyy - 2 * kxy, rel=1e-6)


def test_kid_near_zero_for_one_distribution_and_positive_for_two() -> None:
    both = np.abs(gaussians(5, n=4000, d=16)) + np.random.default_rng(7).random((4000, 16))  # ReLU-like features
    a, b = both[:2000], both[2000:]  # two samples of one distribution
    same, same_std = kernel_distance(a, b, num_subsets=50, subset_size=500)
    diff, _ = kernel_distance(a, b * 1.2, num_subsets=50, subset_size=500)
    assert abs(same) < 3 * same_std and abs(same) < 0.02 * diff
    assert diff > 10 * same_std


def test_classifier_score_closed_forms() -> None:
    confident = np.full((1000, 10), -50.0)
    confident[np.arange(1000), np.arange(1000) % 10] = 50.0  # each image one certain digit, all digits equal
    assert classifier_score(confident)[0] == pytest.approx(10.0, rel=1e-9)
    collapsed = np.zeros((1000, 10))
    collapsed[:, 3] = 50.0  # everything a certain 3
    assert classifier_score(collapsed) == pytest.approx((1.0, 0.0), abs=1e-9)
    assert classifier_score(np.zeros((100, 10)))[0] == pytest.approx(1.0)  # uncertain images score 1


def test_digit_stats_by_hand() -> None:
    logits = np.full((100, 10), -20.0)
    labels = np.array([0] * 50 + [1] * 49 + [2])  # digit 2 has exactly 1%: still a mode
    logits[np.arange(100), labels] = 20.0
    ref = np.full(10, 0.1)
    out = digit_stats(logits, ref)
    assert out["digits_hist"][:3] == [0.5, 0.49, 0.01] and out["modes"] == 3
    expected_kl = 0.5 * math.log(5) + 0.49 * math.log(4.9) + 0.01 * math.log(0.1)
    assert out["digits_kl"] == pytest.approx(expected_kl, rel=1e-12)
    assert out["digits_tv"] == pytest.approx(0.5 * (0.4 + 0.39 + 0.09 + 7 * 0.1), rel=1e-12)
    assert out["confidence"] == pytest.approx(1.0, abs=1e-12)


def direct_prdc(real: np.ndarray, fake: np.ndarray, k_pr: int, k_dc: int) -> dict:
    rr, ff, rf = cdist(real, real), cdist(fake, fake), cdist(real, fake)
    r_pr = np.sort(rr, 1)[:, k_pr]  # column 0 is the point itself
    r_dc = np.sort(rr, 1)[:, k_dc]
    f_pr = np.sort(ff, 1)[:, k_pr]
    precision = np.mean([any(rf[i, j] <= r_pr[i] for i in range(len(real))) for j in range(len(fake))])
    recall = np.mean([any(rf[i, j] <= f_pr[j] for j in range(len(fake))) for i in range(len(real))])
    density = sum(rf[i, j] < r_dc[i] for i in range(len(real)) for j in range(len(fake))) / (k_dc * len(fake))
    coverage = np.mean([rf[i].min() < r_dc[i] for i in range(len(real))])
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


@pytest.mark.parametrize("shift", [0.0, 0.7])
def test_prdc_matches_direct_computation(shift: float) -> None:
    real, fake = gaussians(8, n=80, d=4), gaussians(9, n=60, d=4, shift=shift) * 1.3
    ours = precision_recall_density_coverage(real, fake)
    ref = direct_prdc(real, fake, 3, 5)
    for key in ref:
        assert ours[key] == pytest.approx(ref[key], abs=1e-12), key
    assert 0 < ours["precision"] < 1 and 0 < ours["recall"] < 1


def test_prdc_of_a_collapsed_sample_is_finite() -> None:
    real = gaussians(10, n=50, d=4)
    fake = np.repeat(real[:1], 20, axis=0)  # every sample the same real point
    out = precision_recall_density_coverage(real, fake)
    assert out["precision"] == 1.0 and out["recall"] == pytest.approx(1 / 50)  # only that point is recalled
    assert all(math.isfinite(v) for v in out.values())


def test_kth_nn_excludes_self_but_not_duplicates() -> None:
    x = np.array([[0.0], [0.0], [1.0], [3.0]])
    np.testing.assert_allclose(kth_nn_sq(x, 1), [0.0, 0.0, 1.0, 4.0])
    np.testing.assert_allclose(kth_nn_sq(x, 2), [1.0, 1.0, 1.0, 9.0])


def test_parzen_matches_brute_force() -> None:
    rng = np.random.default_rng(11)
    samples, x = rng.random((30, 5)), rng.random((7, 5))
    sigmas = np.array([0.1, 0.3, 1.0])
    ours = parzen_log_likelihoods(samples, x, sigmas)
    for s_i, sigma in enumerate(sigmas):
        for j in range(len(x)):
            terms = [
                -((x[j] - s) ** 2).sum() / (2 * sigma**2) - 5 / 2 * math.log(2 * math.pi * sigma**2) for s in samples
            ]
            assert ours[s_i, j] == pytest.approx(logsumexp(terms) - math.log(30), abs=1e-3)  # float32 distances


def test_parzen_protocol_picks_sigma_on_validation() -> None:
    rng = np.random.default_rng(12)
    samples, valid, test = rng.random((40, 5)), rng.random((10, 5)), rng.random((9, 5))
    sigmas = np.logspace(-1, 0, 10)
    best = int(np.argmax(parzen_log_likelihoods(samples, valid, sigmas).mean(1)))
    out = parzen_protocol(samples, valid, test, sigmas)
    ll = parzen_log_likelihoods(samples, test, sigmas)[best]
    assert out["parzen_sigma"] == sigmas[best]
    assert out["parzen"] == pytest.approx(ll.mean()) and out["parzen_se"] == pytest.approx(ll.std(ddof=1) / 3)


def test_nearest_train_matches_direct_search_and_exclusion() -> None:
    rng = np.random.default_rng(13)
    train = rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)
    queries = np.concatenate([train[[3, 7]], rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)])
    dist, idx = nearest_train(queries, train)
    ref = cdist(queries.reshape(7, -1) / 255.0, train.reshape(50, -1) / 255.0)
    np.testing.assert_array_equal(idx, ref.argmin(1))
    np.testing.assert_allclose(dist, ref.min(1), rtol=1e-12, atol=1e-12)
    assert dist[0] == 0 and dist[1] == 0
    dist_ex, idx_ex = nearest_train(queries[:2], train, exclude=np.array([3, 7]))  # a real image may not match itself
    ref[0, 3] = ref[1, 7] = np.inf
    np.testing.assert_array_equal(idx_ex, ref[:2].argmin(1))


def test_memorization_stats_threshold_is_the_test_percentile() -> None:
    test_dist = np.arange(1, 101, dtype=np.float64)  # 1st percentile: 1.99
    out = memorization_stats(np.array([0.5, 1.0, 1.5, 50.5, 60.0]), test_dist)
    assert out["copy_threshold"] == pytest.approx(np.quantile(test_dist, 0.01))
    assert out["copies"] == pytest.approx(3 / 5) and out["nn_ratio"] == pytest.approx(1.5 / 50.5)


def test_registry_lists_valid_names_and_minimums() -> None:
    assert list(METRICS) == ["fd", "kid", "score", "digits", "pr", "parzen", "memorization"]
    assert parse_metrics("fd, kid,fd") == ["fd", "kid"]
    with pytest.raises(UserError, match="unknown metric 'fid'; valid metrics: fd, kid, score"):
        parse_metrics("fd,fid")
    with pytest.raises(UserError, match=r"'score' needs at least 10 samples \(the score is averaged over 10 splits"):
        check_sample_size(["fd", "score"], 5)
    with pytest.raises(ValueError, match="registered twice"):
        register_metric("fd", keys=("x",), min_samples=1, why_min="", help="")(lambda ctx: {})
    with pytest.raises(ValueError, match="result keys of its own"):
        register_metric("fd2", keys=("fd",), min_samples=1, why_min="", help="")(lambda ctx: {})
