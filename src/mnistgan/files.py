"""Atomic file writes: write a temporary file beside the target, then os.replace it, so a crash or a kill mid-write
never leaves a torn file where a good one was (checkpoints, results, caches, figures).

A write that fails for a reason the user can fix (a full disk, a read-only folder, a folder that does not exist)
becomes one UserError naming the path and the reason; the old file at `path` is left as it was.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from mnistgan.errors import UserError

# Test hook for the kill tests (tests/test_faults_kill.py): "NAME:SECONDS" makes every write of a file called NAME
# pause SECONDS after its first half and again before the rename, so a SIGKILL can land inside a checkpoint write.
SLOW_WRITE_ENV = "MNISTGAN_TEST_SLOW_WRITE"


def temp_path(path: Path) -> Path:
    """The temporary name a write of `path` uses: `<stem>.<pid>.tmp<suffix>` beside it (rundir cleans stale ones)."""
    return path.with_name(f"{path.stem}.{os.getpid()}.tmp{path.suffix}")


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KB' (powers of 1024)."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def write_error(path: Path, err: OSError) -> UserError:
    """A one-line UserError for a failed write of `path`."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        try:
            free = f", {human_bytes(shutil.disk_usage(_existing_parent(path)).free)} free"
        except OSError:
            free = ""
        return UserError(f"no space left on device: cannot write {path}{free}; free some space and run again")
    if err.errno == errno.ENOENT and not path.parent.is_dir():
        return UserError(f"cannot write {path}: folder {path.parent} does not exist")
    return UserError(f"cannot write {path}: {err.strerror or err}")


def _existing_parent(path: Path) -> Path:
    for parent in path.parents:
        if parent.is_dir():
            return parent
    return Path(".")


def _slow_write_seconds(path: Path) -> float:
    name, _, seconds = os.environ.get(SLOW_WRITE_ENV, "").partition(":")
    return float(seconds) if name and name == path.name else 0.0


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call write(tmp) on a temporary path beside `path` (same suffix, pid-unique), then move it over `path`."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:
        raise write_error(path, err) from None
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only folder: nothing was written there either


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write bytes to `path` atomically (and durably: fsync before the rename)."""
    pause = _slow_write_seconds(Path(path))

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            if pause:
                handle.write(data[: len(data) // 2])
                handle.flush()
                time.sleep(pause)
                data_rest = data[len(data) // 2 :]
            else:
                data_rest = data
            handle.write(data_rest)
            handle.flush()
            os.fsync(handle.fileno())
        if pause:
            time.sleep(pause)

    atomic_write(path, write)


def atomic_write_text(path: Path, text: str) -> None:
    """Write text to `path` atomically."""
    atomic_write_bytes(path, text.encode())


def unwritable_reason(folder: Path) -> str | None:
    """Why nothing can be written into `folder` (missing, not a folder, read-only, ...), or None if it can be.
    Tried with a real temporary file: permission bits do not tell for root, and a read-only mount ignores them."""
    import tempfile

    folder = Path(folder)
    if not folder.is_dir():
        return f"folder {folder} does not exist" if not folder.exists() else f"{folder} is not a folder"
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".mnistgan-probe-")
        os.close(fd)
        os.unlink(name)
    except OSError as err:
        return f"cannot write into {folder}: {err.strerror or err}"
    return None


def atomic_write_buffered(path: Path, write: Callable[[io.BytesIO], object]) -> None:
    """Call write(buffer) on an in-memory file, then write its bytes to `path` atomically: a serialiser (torch.save,
    np.savez, PIL, matplotlib) never meets a full disk halfway through its format, so that is one clear error."""
    buffer = io.BytesIO()
    write(buffer)
    atomic_write_bytes(Path(path), buffer.getvalue())


def save_figure(fig: object, path: Path, dpi: int = 110) -> None:
    """Render a matplotlib figure to PNG and write it atomically (never a torn PNG)."""
    atomic_write_buffered(path, lambda buffer: fig.savefig(buffer, format="png", dpi=dpi))
