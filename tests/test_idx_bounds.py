"""The IDX reader's memory bounds: the size a header announces, exactly; a refusal naming the file when that would
not fit; a gzip file inflated no further than its header says (plus one byte), whatever it really holds."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import pytest

import mnistgan.idx as idx
from mnistgan.errors import UserError

ITEMSIZE = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


def _header(code: int, shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, code, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)


@pytest.mark.parametrize("code", sorted(ITEMSIZE))
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (2, 1, 3, 2), (256 + 3,), (2**24 + 1, 0)])
def test_announced_size_is_header_plus_data(code: int, shape: tuple[int, ...]) -> None:
    want = 4 + 4 * len(shape) + int(np.prod(shape)) * ITEMSIZE[code]
    assert idx._check_header_fits(_header(code, shape), "x") == want


@pytest.mark.parametrize(
    "data", [b"", b"\x00\x00\x08", b"\x01\x00\x08\x01" + bytes(4), b"\x00\x00\x07\x01" + bytes(4),
             b"\x00\x00\x08\x00", b"\x00\x00\x08\x05" + bytes(20), b"\x00\x00\x08\x02" + bytes(5)],
)  # fmt: skip
def test_a_header_that_cannot_say_announces_only_itself(data: bytes) -> None:
    assert idx._check_header_fits(data, "x") == len(data)


def test_refusal_names_the_file_and_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mnistgan.memory.available_bytes", lambda: 9_000)  # 7,856 bytes > 80% of 9,000
    payload = _header(8, (10, 28, 28)) + bytes(7840)
    for name, data in (("raw-idx3-ubyte", payload), ("gz.gz", gzip.compress(payload))):
        (tmp_path / name).write_bytes(data)
        message = rf"^{tmp_path / name} \(IDX shape \(10, 28, 28\)\) would need about 7.7 KB of memory"
        with pytest.raises(UserError, match=message):
            idx.read_idx(tmp_path / name)
    monkeypatch.setattr("mnistgan.memory.available_bytes", lambda: 10_000)  # 80%: 8,000 bytes, enough
    assert idx.read_idx(tmp_path / "gz.gz").shape == (10, 28, 28)


def _counting_inflate(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the length of everything zlib inflates in the reader."""
    produced: list[int] = []
    real = zlib.decompressobj

    class Counting:
        def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
            self.inner = real(*args, **kwargs)

        def decompress(self, data: bytes, max_length: int = 0) -> bytes:
            out = self.inner.decompress(data, max_length)
            produced.append(len(out))
            return out

        def __getattr__(self, name: str):  # noqa: ANN204 - eof, unconsumed_tail
            return getattr(self.inner, name)

    monkeypatch.setattr(idx.zlib, "decompressobj", Counting)
    return produced


def test_gzip_is_inflated_only_as_far_as_announced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    produced = _counting_inflate(monkeypatch)
    header = _header(8, (2, 28, 28))
    (tmp_path / "bomb.gz").write_bytes(gzip.compress(header + bytes(50_000_000), 9))
    with pytest.raises(UserError, match="trailing bytes: its IDX header announces 1584 bytes, the data holds more"):
        idx.read_idx(tmp_path / "bomb.gz")
    assert sum(produced) == 1584 + 1  # the header, the 1568 pixels and the one byte that proves the trailing data
    produced.clear()
    array = np.arange(2 * 784, dtype=np.uint8).reshape(2, 28, 28)
    (tmp_path / "good.gz").write_bytes(gzip.compress(header + array.tobytes()))
    np.testing.assert_array_equal(idx.read_idx(tmp_path / "good.gz"), array)
    assert sum(produced) == 1584 and produced[0] == idx.HEADER_MAX


def test_gzip_with_trailing_bytes_inside_the_header_read(tmp_path: Path) -> None:
    (tmp_path / "tiny.gz").write_bytes(gzip.compress(_header(8, (1,)) + bytes(30)))  # 9 bytes announced, 38 held
    with pytest.raises(UserError, match="trailing bytes: its IDX header announces 9 bytes, the data holds more"):
        idx.read_idx(tmp_path / "tiny.gz")
    (tmp_path / "exact.gz").write_bytes(gzip.compress(_header(8, (1,)) + b"\x07"))
    assert idx.read_idx(tmp_path / "exact.gz").tolist() == [7]


def test_torn_and_corrupt_gzip(tmp_path: Path) -> None:
    good = gzip.compress(_header(8, (100, 28, 28)) + np.random.default_rng(0).bytes(78_400))
    (tmp_path / "torn.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(
        UserError, match=r"torn.gz: corrupt or truncated gzip data \(the compressed stream ends early\)"
    ):
        idx.read_idx(tmp_path / "torn.gz")
    (tmp_path / "bad.gz").write_bytes(good[:10] + bytes(50) + good[60:])
    with pytest.raises(UserError, match=r"bad.gz: corrupt or truncated gzip data \(Error -3"):
        idx.read_idx(tmp_path / "bad.gz")


def test_header_checks_that_depend_on_every_byte(tmp_path: Path) -> None:
    # A second dimension that needs all four bytes, and a five-dimensional header (invalid: parse_idx says so,
    # however much it would announce).
    assert idx._check_header_fits(_header(8, (1, 2**24 + 1)), "x") == 12 + 2**24 + 1
    five = _header(8, (2**20, 2**20, 2**20, 2**20, 2**20))
    assert idx._check_header_fits(five, "x") == len(five)
    with pytest.raises(UserError, match=r"^x: bad IDX magic number: expected 00 00 <type in \[8, 9, 11, 12, 13, 14\]> "
                                        r"<ndim 1..4>, found 00 00 08 05$"):  # fmt: skip
        idx.parse_idx(five, "x")
    with pytest.raises(UserError, match=r"^x: truncated header: expected 8 bytes, found 4$"):
        idx.parse_idx(b"\x00\x00\x08\x01", "x")
    with pytest.raises(UserError, match=r"^x: not an IDX file: expected a 4-byte header, found 3 bytes$"):
        idx.parse_idx(b"\x00\x00\x08", "x")
    with pytest.raises(UserError, match=r"^x: trailing bytes: shape \(2,\) needs 2 data bytes, found 3$"):
        idx.parse_idx(_header(8, (2,)) + b"abc", "x")


def test_memory_refusal_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mnistgan.memory.available_bytes", lambda: 1000)
    with pytest.raises(UserError, match="; this file's header is wrong, or the file is too big here$"):
        idx._check_header_fits(_header(8, (10, 28, 28)), "x")


def test_checksum_is_computed_once_per_file_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import os

    calls = []
    monkeypatch.setattr(idx, "sha256_of", lambda data: (calls.append(1), hashlib.sha256(data).hexdigest())[1])
    monkeypatch.setattr(idx, "_VERIFIED", {})
    a, b = tmp_path / "a-idx1-ubyte", tmp_path / "b-idx1-ubyte"
    a.write_bytes(_header(8, (3,)) + b"abc")
    b.write_bytes(_header(8, (3,)) + b"xyz")  # same size
    os.utime(b, ns=(a.stat().st_atime_ns, a.stat().st_mtime_ns))  # and the same mtime: only the path differs
    good = hashlib.sha256(a.read_bytes()).hexdigest()
    idx.read_idx(a, good)
    idx.read_idx(a, good)
    assert len(calls) == 1  # verified once, then remembered for this (path, size, mtime)
    with pytest.raises(UserError, match="checksum mismatch"):
        idx.read_idx(b, good)


def test_write_idx_stores_uint8_and_honours_compress(tmp_path: Path) -> None:
    values = np.array([[0, 7, 255]], dtype=np.int64)
    idx.write_idx(tmp_path / "a.gz", values)
    raw = (tmp_path / "a.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b" and raw[4:8] == bytes(4)  # gzip, with mtime 0: the same bytes every time
    assert idx.read_idx(tmp_path / "a.gz").dtype == np.uint8 and idx.read_idx(tmp_path / "a.gz").tolist() == [
        [0, 7, 255]
    ]
    idx.write_idx(tmp_path / "b.gz", values, compress=False)
    assert (tmp_path / "b.gz").read_bytes() == _header(8, (1, 3)) + bytes([0, 7, 255])
    idx.write_idx(tmp_path / "c", values, compress=True)
    assert (tmp_path / "c").read_bytes()[:2] == b"\x1f\x8b"


def test_bytes_without_a_name_are_called_bytes() -> None:
    with pytest.raises(UserError, match=r"^<bytes>: not an IDX file"):
        idx.parse_idx(b"")
