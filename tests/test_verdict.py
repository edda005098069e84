"""The one-line verdict under `eval`'s table: each rule on hand-made metrics, in order."""

from __future__ import annotations

import pytest

from mnistgan.verdict import digits_covering, verdict

REAL = {"precision": 0.86, "recall": 0.86}
UNIFORM = [0.1] * 10


def test_noise_is_not_digits_yet() -> None:
    assert verdict({"digits_hist": [0.0] * 10, "unreadable": 0.98}) == (
        "not digits yet: 98% of samples do not read as a digit"
    )


def test_three_digits_are_collapse() -> None:
    hist = [0.0, 0.5, 0.0, 0.0, 0.2, 0.0, 0.0, 0.2, 0.0, 0.1]  # 1, 4, 7 hold 90%
    assert digits_covering(hist) == [1, 4, 7]
    assert verdict({"digits_hist": hist, "unreadable": 0.0}) == (
        "collapsed: 3 digits (1, 4, 7) make up 90% of the readable samples"
    )


def test_covering_is_of_the_readable_samples() -> None:
    hist = [0.27, 0.27, 0.06] + [0.0] * 7  # 60% readable: 0 and 1 are 90% of them
    assert digits_covering(hist) == [0, 1]
    assert verdict({"digits_hist": hist, "unreadable": 0.4}).endswith("; 40% of samples are not digits")


def test_a_missing_digit_is_partial_collapse() -> None:
    hist = [0.111] * 9 + [0.001]
    assert verdict({"digits_hist": hist, "unreadable": 0.0}) == "partly collapsed: digit 9 (nearly) missing"


@pytest.mark.parametrize(
    ("precision", "recall", "expected"),
    [
        (0.80, 0.75, "close to real data: quality and variety within 80% of real images'"),
        (0.80, 0.40, "every digit, short of real data in variety 0.40 vs 0.86 for real images"),
        (0.50, 0.40, "every digit, short of real data in quality 0.50 vs 0.86 for real images and variety 0.40"),
    ],
)
def test_all_digits_compared_with_real_images(precision: float, recall: float, expected: str) -> None:
    model = {"digits_hist": UNIFORM, "unreadable": 0.0, "precision": precision, "recall": recall}
    assert verdict(model, REAL).startswith(expected)


def test_no_verdict_without_the_digits_metric() -> None:
    assert verdict({"fd": 3.0}, REAL) is None
