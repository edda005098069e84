"""Atomic file writes: write a temporary file beside the target, then os.replace it, so a crash or a kill mid-write
never leaves a torn file where a good one was (checkpoints, results, caches, figures)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call write(tmp) on a temporary path beside `path` (same suffix, pid-unique), then move it over `path`."""
    path = Path(path)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    """Write text to `path` atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(text))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write bytes to `path` atomically."""
    atomic_write(path, lambda tmp: tmp.write_bytes(data))
