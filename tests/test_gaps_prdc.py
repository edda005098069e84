"""PRDC against a direct brute-force computation on data with tied distances and fakes that copy real points.

Integer (and half-integer) coordinates make every squared distance exact in float64, so the boundary cases are real
ties: a fake exactly on a real ball's boundary counts for precision and recall (<=, Kynkaanniemi et al.) and not for
density and coverage (<, Naeem et al.'s code). Gaussian data has no ties, so there `<=` and `<` cannot be told apart;
each test first checks that its data does tell them apart.
"""

from __future__ import annotations

import operator

import numpy as np
import pytest

from mnistgan.metrics.neighbors import kth_nn_sq
from mnistgan.metrics.prdc import prdc


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return ((a[:, None, :].astype(np.float64) - b[None, :, :]) ** 2).sum(-1)  # (len(a), len(b)), exact here


def _knn_sq(x: np.ndarray, k: int) -> np.ndarray:
    d = _sq_dists(x, x)
    np.fill_diagonal(d, np.inf)  # itself excluded; a duplicate of it is another point, at distance 0
    return np.sort(d, axis=1)[:, k - 1]


def brute_prdc(real, fake, k_pr=3, k_dc=5, pr_cmp=operator.le, dc_cmp=operator.lt) -> dict:
    """The four definitions written out over the full distance matrix, one comparison each."""
    d = _sq_dists(fake, real)  # (M, N)
    r_pr, r_dc, f_pr = _knn_sq(real, k_pr), _knn_sq(real, k_dc), _knn_sq(fake, k_pr)
    return {
        "precision": pr_cmp(d, r_pr[None, :]).any(1).mean(),
        "recall": pr_cmp(d, f_pr[:, None]).any(0).mean(),
        "density": dc_cmp(d, r_dc[None, :]).sum() / (k_dc * len(fake)),
        "coverage": dc_cmp(d.min(0), r_dc).mean(),
    }


def _lattice_data() -> tuple[np.ndarray, np.ndarray]:
    """Real: a 6x6 integer grid (most 3rd and 5th neighbours tie). Fakes: copies of the 3x3 corner (one twice) and
    of the 2x2 opposite corner (one twice), half-integer points, and grid points one step outside. The fakes sit in
    tight groups, so their own k-NN balls are small and recall's boundary ties decide which reals count."""
    real = np.array([(i, j) for i in range(6) for j in range(6)], dtype=np.float64)
    corner = np.array([(i, j) for i in range(3) for j in range(3)], dtype=np.float64)
    others = [(0, 0), (1.5, 1.5), (-1, 1), (4, 4), (4, 5), (5, 4), (5, 5), (5, 5), (4.5, 4.5), (6, 5)]
    return real, np.concatenate([corner, np.array(others, dtype=np.float64)])


def _assert_sensitive(real: np.ndarray, fake: np.ndarray) -> dict:
    right = brute_prdc(real, fake)
    strict_pr = brute_prdc(real, fake, pr_cmp=operator.lt)
    loose_dc = brute_prdc(real, fake, dc_cmp=operator.le)
    for key in ("precision", "recall"):
        assert strict_pr[key] != right[key], key  # the data has ties that `<` would miss
    for key in ("density", "coverage"):
        assert loose_dc[key] != right[key], key
    return right


def test_prdc_matches_brute_force_on_tied_lattice() -> None:
    real, fake = _lattice_data()
    expected = _assert_sensitive(real, fake)
    got = prdc(real, fake)
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == pytest.approx(expected[key], abs=1e-12), key


def test_cached_radii_give_the_same_answer() -> None:
    real, fake = _lattice_data()
    radii = (kth_nn_sq(real, 3), kth_nn_sq(real, 5))
    np.testing.assert_array_equal(radii[0], _knn_sq(real, 3))
    np.testing.assert_array_equal(radii[1], _knn_sq(real, 5))
    assert prdc(real, fake, real_radii=radii) == prdc(real, fake)


def test_fakes_that_copy_the_reals() -> None:
    """A generator that memorised the data: precision, recall and coverage are 1; density counts (copy, real ball)
    pairs with the copy strictly inside the ball (k = 5): 160 pairs over 5 * 36 give 8/9 on this grid."""
    real, _ = _lattice_data()
    expected = brute_prdc(real, real.copy())
    got = prdc(real, real.copy())
    assert (got["precision"], got["recall"], got["coverage"]) == (1.0, 1.0, 1.0)
    assert got["density"] == pytest.approx(expected["density"], abs=1e-12) == pytest.approx(8 / 9)


def test_matches_brute_force_over_several_chunks() -> None:
    """More than one 1024-row chunk of fakes and of reals: the chunk offsets must line up with the radii."""
    rng = np.random.default_rng(0)
    real = rng.integers(0, 12, size=(1100, 3)).astype(np.float64)  # 1,728 cells: many duplicates and ties
    # The first chunk of fakes lies far away; only the second (76 copies and near points) reaches the reals, so its
    # radii must be its own: a chunk read against the first chunk's radii gives another recall.
    far = rng.integers(100, 106, size=(1024, 3))
    near = np.concatenate([real[rng.integers(0, 1100, 50)], rng.integers(-2, 14, size=(26, 3))])
    fake = np.concatenate([far, near]).astype(np.float64)
    np.testing.assert_array_equal(kth_nn_sq(real, 3), _knn_sq(real, 3))
    np.testing.assert_array_equal(kth_nn_sq(fake, 5), _knn_sq(fake, 5))
    expected = _assert_sensitive(real, fake)
    got = prdc(real, fake)
    for key in expected:
        assert got[key] == pytest.approx(expected[key], abs=1e-12), key
