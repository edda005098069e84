"""IDX round trips over every legal number of dimensions (1 to 4), dimensions that need all four header bytes, and
every data type of the format, with headers built by hand where write_idx (uint8 only) cannot write them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mnistgan.errors import UserError
from mnistgan.idx import parse_idx, read_idx, write_idx


def _header(code: int, shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, code, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (2, 3, 2, 5)])
def test_round_trip_every_ndim(shape: tuple[int, ...], tmp_path: Path) -> None:
    array = (np.arange(int(np.prod(shape))) * 7 % 256).astype(np.uint8).reshape(shape)
    for name in ("a.idx", "a.idx.gz"):
        write_idx(tmp_path / name, array)
        back = read_idx(tmp_path / name)
        assert back.shape == shape and back.dtype == np.uint8
        np.testing.assert_array_equal(back, array)
    assert (tmp_path / "a.idx").read_bytes() == _header(0x08, shape) + array.tobytes()


@pytest.mark.parametrize("ndim", [0, 5, 255])
def test_ndim_outside_1_to_4_is_refused(ndim: int) -> None:
    data = bytes([0, 0, 8, ndim]) + (1).to_bytes(4, "big") * ndim + b"\x00"
    with pytest.raises(UserError, match="ndim 1..4"):
        parse_idx(data, "x")


def test_dimension_needing_all_four_header_bytes(tmp_path: Path) -> None:
    big = (1 << 24) + 3  # 0x01000003: its top byte is not zero
    array = parse_idx(_header(0x08, (big,)) + bytes(range(256)) * (big // 256) + bytes(big % 256), "big")
    assert array.shape == (big,) and array[255] == 255 and array[-1] == 0
    write_idx(tmp_path / "big.idx.gz", array)  # and through a gzipped file, whose header is read before the data
    assert read_idx(tmp_path / "big.idx.gz").shape == (big,)
    # Zero rows of a 2**32 - 1 wide image: the whole width is read from the header, no data bytes needed.
    empty = parse_idx(_header(0x08, (0, 0xFFFFFFFF)), "empty")
    assert empty.shape == (0, 0xFFFFFFFF)
    assert parse_idx(_header(0x08, (0, 0x01020304, 0x0A0B0C0D, 1)), "four").shape == (0, 0x01020304, 0x0A0B0C0D, 1)


def test_large_shapes_round_trip_through_write_idx(tmp_path: Path) -> None:
    array = np.zeros((70_000, 0), np.uint8)  # 70,000 = 0x00011170: three significant bytes
    write_idx(tmp_path / "w.idx", array)
    assert read_idx(tmp_path / "w.idx").shape == (70_000, 0)
    wide = np.arange(300, dtype=np.uint8)[None, :].repeat(2, 0)  # 300 = 0x012C: two bytes, wraps values
    write_idx(tmp_path / "v.idx", wide)
    np.testing.assert_array_equal(read_idx(tmp_path / "v.idx"), wide)


@pytest.mark.parametrize(
    ("code", "dtype"), [(0x09, ">i1"), (0x0B, ">i2"), (0x0C, ">i4"), (0x0D, ">f4"), (0x0E, ">f8"), (0x08, "u1")]
)
def test_every_data_type_big_endian_in_native_out(code: int, dtype: str) -> None:
    values = np.array([[-3, 0, 1], [2, 100, -1]], dtype=np.float64)
    if dtype == "u1":
        values = np.abs(values)
    big_endian = values.astype(dtype)
    array = parse_idx(_header(code, (2, 3)) + big_endian.tobytes(), "typed")
    assert array.dtype == np.dtype(dtype).newbyteorder("=") and array.dtype.isnative
    np.testing.assert_array_equal(array, values)
    with pytest.raises(UserError, match="truncated"):
        parse_idx(_header(code, (2, 3)) + big_endian.tobytes()[:-1], "typed")


def test_truncated_header_names_the_sizes() -> None:
    with pytest.raises(UserError, match=r"truncated header: expected 16 bytes, found 12"):
        parse_idx(bytes([0, 0, 8, 3]) + (1).to_bytes(4, "big") * 2, "h")
    with pytest.raises(UserError, match="expected a 4-byte header, found 3 bytes"):
        parse_idx(b"\x00\x00\x08", "h")
    with pytest.raises(UserError, match="bad IDX magic"):
        parse_idx(bytes([0, 0, 0x0A, 1]) + (1).to_bytes(4, "big") + b"\x00", "h")  # 0x0A is no type
