"""Reader and writer for IDX files, the format MNIST and its drop-in replacements ship in.

An IDX file is: two zero bytes, a type byte (0x08 = uint8), a byte giving the number of dimensions, one big-endian
uint32 per dimension, then the data in C order. Files may be gzip-compressed. Every check here names the file,
what was expected and what was found, so a user with a broken download knows which file to replace.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import zlib
from pathlib import Path

import numpy as np

from mnistgan.errors import UserError
from mnistgan.files import atomic_write_bytes
from mnistgan.memory import check_fits

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4")}
_DTYPES[0x0E] = np.dtype(">f8")
_GZIP_MAGIC = b"\x1f\x8b"
HEADER_MAX = 4 + 4 * 4  # the longest valid IDX header: magic, then four big-endian uint32 dimensions

# Checksums already verified in this process, keyed by (path, size, mtime): a file is hashed once per process.
_VERIFIED: dict[tuple[str, int, int], str] = {}


def read_raw_bytes(path: Path) -> bytes:
    """The decompressed bytes of an IDX file (gzip detected by its magic number, not the file name).

    A gzip file is inflated only as far as its IDX header says the file holds, plus one byte to detect trailing
    data: first the header (at most HEADER_MAX bytes), then one bounded call for the rest. So a small compressed file
    cannot expand into gigabytes before it is rejected, and a header announcing more than memory holds is refused.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror}") from None
    if data[:2] != _GZIP_MAGIC:
        _check_header_fits(data, str(path))
        return data
    try:
        inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # the gzip container
        head = inflate.decompress(data, HEADER_MAX)
        limit = _check_header_fits(head, str(path))  # header + data bytes it announces
        if len(head) <= limit:  # (else the header read already holds trailing data)
            head += inflate.decompress(inflate.unconsumed_tail, limit + 1 - len(head))  # max_length >= 1
    except zlib.error as err:
        raise UserError(f"{path}: corrupt or truncated gzip data ({err})") from None
    if len(head) > limit:
        raise UserError(f"{path}: trailing bytes: its IDX header announces {limit} bytes, the data holds more")
    if not inflate.eof:
        raise UserError(f"{path}: corrupt or truncated gzip data (the compressed stream ends early)")
    return head


def _valid_magic(data: bytes) -> bool:
    """Two zero bytes, a known type byte and 1 to 4 dimensions."""
    return len(data) >= 4 and data[:2] == b"\x00\x00" and data[2] in _DTYPES and 1 <= data[3] <= 4


def _shape(data: bytes, ndim: int) -> tuple[int, ...]:
    """The big-endian uint32 dimensions after the 4 magic bytes."""
    return tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))


def _check_header_fits(data: bytes, name: str) -> int:
    """The file size an IDX header announces (header plus data bytes); refuse one that would not fit in memory.
    A header too short or malformed to say is left for parse_idx to reject; its size then is len(data)."""
    if not _valid_magic(data) or len(data) < 4 + 4 * data[3]:
        return len(data)
    shape = _shape(data, data[3])
    size = 4 + 4 * data[3] + math.prod(shape) * np.dtype(_DTYPES[data[2]]).itemsize
    check_fits(size, f"{name} (IDX shape {shape})", "this file's header is wrong, or the file is too big here")
    return size


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse decompressed IDX bytes into an array, rejecting a bad magic number, truncation or trailing bytes."""
    if len(data) < 4:
        raise UserError(f"{name}: not an IDX file: expected a 4-byte header, found {len(data)} bytes")
    dtype_code, ndim = data[2], data[3]
    if not _valid_magic(data):
        raise UserError(
            f"{name}: bad IDX magic number: expected 00 00 <type in {sorted(_DTYPES)}> <ndim 1..4>, "
            f"found {data[:4].hex(' ')}"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise UserError(f"{name}: truncated header: expected {header} bytes, found {len(data)}")
    shape = _shape(data, ndim)
    dtype = np.dtype(_DTYPES[dtype_code])
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow for any 32-bit dimensions
    found = len(data) - header
    if found != expected:
        what = "truncated" if found < expected else "trailing bytes"
        raise UserError(f"{name}: {what}: shape {shape} needs {expected} data bytes, found {found}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def sha256_of(data: bytes) -> str:
    """Hex SHA-256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def read_idx(path: Path, sha256: str | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzipped); if sha256 is given, the decompressed bytes must match it."""
    path = Path(path)
    data = read_raw_bytes(path)
    if sha256 is not None:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if _VERIFIED.get(key) != sha256:
            found = sha256_of(data)
            if found != sha256:
                raise UserError(f"{path}: checksum mismatch: expected SHA-256 {sha256}, found {found}")
            _VERIFIED[key] = sha256
    return parse_idx(data, str(path))


def write_idx(path: Path, array: np.ndarray, compress: bool | None = None) -> None:
    """Write a uint8 array as an IDX file (gzipped when the name ends in .gz), atomically."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    payload = header + array.tobytes()
    path = Path(path)
    if compress if compress is not None else path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    atomic_write_bytes(path, payload)
