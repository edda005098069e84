"""The IDX reader on good, corrupt, truncated and mismatched files, and the bundled MNIST's checksums."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from mnistgan.data import DATASETS, bundled_dir, load_split
from mnistgan.errors import UserError
from mnistgan.idx import parse_idx, read_idx, sha256_of, write_idx


def test_round_trip_raw_and_gzip(tmp_path: Path) -> None:
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a.idx", "a.idx.gz"):
        write_idx(tmp_path / name, array)
        np.testing.assert_array_equal(read_idx(tmp_path / name), array)
    assert (tmp_path / "a.idx.gz").read_bytes()[:2] == b"\x1f\x8b"
    raw = (tmp_path / "a.idx").read_bytes()
    assert raw[:4] == bytes([0, 0, 8, 3]) and len(raw) == 4 + 12 + 24


def test_header_is_big_endian(tmp_path: Path) -> None:
    array = np.zeros((300, 2), dtype=np.uint8)
    write_idx(tmp_path / "b.idx", array)
    assert (tmp_path / "b.idx").read_bytes()[4:8] == (300).to_bytes(4, "big")
    assert read_idx(tmp_path / "b.idx").shape == (300, 2)


def test_bad_magic_names_file_expected_and_found(tmp_path: Path) -> None:
    path = tmp_path / "bad.idx"
    path.write_bytes(b"\x01\x02\x08\x01" + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(UserError, match=r"bad\.idx.*magic.*expected.*found 01 02 08 01"):
        read_idx(path)


def test_truncated_data(tmp_path: Path) -> None:
    write_idx(tmp_path / "t.idx", np.ones((10, 28, 28), np.uint8))
    data = (tmp_path / "t.idx").read_bytes()
    (tmp_path / "t.idx").write_bytes(data[:-5])
    with pytest.raises(UserError, match=r"t\.idx: truncated: shape \(10, 28, 28\) needs 7840 data bytes, found 7835"):
        read_idx(tmp_path / "t.idx")


def test_trailing_bytes_rejected() -> None:
    data = bytes([0, 0, 8, 1]) + (2).to_bytes(4, "big") + b"\x01\x02\x03"
    with pytest.raises(UserError, match="trailing bytes"):
        parse_idx(data, "x")


def test_truncated_gzip(tmp_path: Path) -> None:
    payload = gzip.compress(bytes([0, 0, 8, 1]) + (1000).to_bytes(4, "big") + bytes(1000))
    (tmp_path / "g.gz").write_bytes(payload[: len(payload) // 2])
    with pytest.raises(UserError, match=r"g\.gz: corrupt or truncated gzip"):
        read_idx(tmp_path / "g.gz")


def test_checksum_mismatch_names_both_hashes(tmp_path: Path) -> None:
    write_idx(tmp_path / "c.idx", np.ones((4, 4), np.uint8))
    good = sha256_of((tmp_path / "c.idx").read_bytes())
    assert read_idx(tmp_path / "c.idx", good).sum() == 16
    with pytest.raises(UserError, match=f"checksum mismatch: expected SHA-256 {'0' * 64}, found {good}"):
        read_idx(tmp_path / "c.idx", "0" * 64)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read"):
        read_idx(tmp_path / "nope.idx")


def test_bundled_mnist_matches_published_checksums() -> None:
    for stem, sha in DATASETS["mnist"].raw_sha256:
        data = gzip.decompress((bundled_dir() / f"{stem}.gz").read_bytes())
        assert sha256_of(data) == sha
    images, labels = load_split("train")
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (60000,) and set(np.unique(labels)) == set(range(10))
    test_images, test_labels = load_split("test")
    assert test_images.shape == (10000, 28, 28)
    # Published facts about MNIST: first training label is 5, first test label is 7, pixel max is 255.
    assert labels[0] == 5 and test_labels[0] == 7 and images.max() == 255
    assert np.bincount(test_labels, minlength=10).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
