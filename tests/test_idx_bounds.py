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
