"""The run directory: its file names, who may write it (an exclusive lock), what a new run may reuse, its JSONL
logs, and the clean-up of temporaries left by a killed process.

Every writer takes the lock for the whole run, so two `mnistgan train` processes never mix their files; the lock is
an advisory `flock` on `.lock` (the holder's pid inside), which the kernel drops when its process dies, so a lock
left by a `kill -9` is taken over by the next start, with a message.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from mnistgan.errors import UserError
from mnistgan.files import atomic_write_text

try:
    import fcntl
except ImportError:  # Windows: an exclusive-create lock file instead (see RunLock)
    fcntl = None

CONFIG = "config.json"
STATS = "stats.jsonl"
METRICS = "metrics.jsonl"
SNAPSHOT = "generator.safetensors"
RESUME = "resume.pt"
PROGRESS = "progress"
PROGRESS_GIF = "progress.gif"
EVAL = "eval.json"
LOSSES_PNG = "losses.png"  # drawn from stats.jsonl
METRICS_PNG = "metrics.png"  # ... and these two from metrics.jsonl
DIGITS_PNG = "digits.png"
SAMPLES_PNG = "samples_15x15.png"  # the tutorial's 15x15 grid and its single sample
SAMPLE_PNG = "sample.png"
MEMORIZATION_PNG = "memorization.png"  # written by `eval`
MIXTURE_PNG = "mixture.png"  # 2-D datasets: the last scatter frame (samples, real points, D's contour) ...
MIXTURE_GIF = "mixture.gif"  # ... and every frame, in place of the image grids and progress.gif
LOCK = ".lock"
# Every file a run writes; --overwrite removes exactly these (and the progress frames), nothing else.
RUN_FILES = (CONFIG, STATS, METRICS, SNAPSHOT, RESUME, PROGRESS_GIF, EVAL, LOSSES_PNG, METRICS_PNG, DIGITS_PNG)
RUN_FILES += (SAMPLES_PNG, SAMPLE_PNG, MEMORIZATION_PNG, MIXTURE_PNG, MIXTURE_GIF)
_FRAME = re.compile(r"^step_\d+\.png$")
_TEMP = re.compile(r"^.+\.(\d+)\.tmp(\.[^.]*)?$")  # files.temp_path: <stem>.<pid>.tmp<suffix>


def progress_frame(run_dir: Path, step: int) -> Path:
    """The fixed-noise grid saved at `step`."""
    return Path(run_dir) / PROGRESS / f"step_{step:06d}.png"


def progress_frames(run_dir: Path) -> list[Path]:
    """The saved progress grids in step order (not a torn temporary `step_000030.<pid>.tmp.png`)."""
    return sorted(p for p in (Path(run_dir) / PROGRESS).glob("step_*.png") if _FRAME.match(p.name))


def holds_run(run_dir: Path) -> bool:
    """True when run_dir has any file a training run writes."""
    run_dir = Path(run_dir)
    return any((run_dir / name).exists() for name in (CONFIG, STATS, SNAPSHOT, RESUME)) or bool(
        progress_frames(run_dir)
    )


def check_new_run_dir(run_dir: Path, overwrite: bool) -> None:
    """Refuse a path that cannot take a new run: a file, or a folder holding a run (unless overwrite)."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"--out {run_dir} is a file, not a directory: choose another --out")
    if run_dir.is_dir() and holds_run(run_dir) and not overwrite:
        raise UserError(
            f"{run_dir} already holds a run: continue it with --resume {run_dir}, replace it with --overwrite, "
            "or choose another --out"
        )
    for parent in [run_dir, *run_dir.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"--out {run_dir}: {parent} is a file, not a directory")
            break


def clear_run(run_dir: Path) -> None:
    """Remove a previous run's files (RUN_FILES and the progress frames) before a new run writes there."""
    run_dir = Path(run_dir)
    for path in [*(run_dir / name for name in RUN_FILES), *progress_frames(run_dir)]:
        try:
            path.unlink(missing_ok=True)
        except OSError as err:
            raise UserError(f"--overwrite: cannot remove {path}: {err.strerror}") from None


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # another user's process, or a platform that cannot tell: leave its files alone
    return True


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete temporaries (`<stem>.<pid>.tmp<suffix>`) whose writing process is gone; return what was removed."""
    removed = []
    folder = Path(folder)
    for path in [*folder.glob("*.tmp*"), *folder.glob(f"{PROGRESS}/*.tmp*")]:
        match = _TEMP.match(path.name)
        if match and path.is_file() and not _pid_alive(int(match.group(1))):
            try:
                path.unlink()
                removed.append(path)
            except OSError:
                pass
    return removed


class RunLock:
    """Exclusive use of a run directory by one process: `with RunLock(dir) as lock: ...` (lock.note says whether
    a stale lock was taken over). Creating the lock creates the directory."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK
        self.note: str | None = None
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._acquire()
        except OSError as err:
            raise UserError(f"cannot write run directory {self.run_dir}: {err.strerror or err}") from None
        return self

    def _acquire(self) -> None:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | (0 if fcntl else os.O_EXCL), 0o644)
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
                    os.close(fd)
                    raise UserError(
                        f"{self.run_dir} is in use by another mnistgan process (pid {holder}); wait for it to end "
                        "or stop it, then run again"
                    ) from None
                try:
                    same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
                except FileNotFoundError:
                    same = False
                if not same:  # the holder removed the file between our open and our lock: lock the new one
                    os.close(fd)
                    continue
            previous = os.read(fd, 64).decode(errors="replace").strip()
            if previous and previous != str(os.getpid()):
                self.note = f"took over the lock of {self.run_dir} left by pid {previous}, which is no longer running"
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            return

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            try:
                self.path.unlink(missing_ok=True)  # while still locked, so a waiter re-checks the inode
            except OSError:
                pass
            os.close(self._fd)
            self._fd = None


def append_jsonl(path: Path, row: dict) -> None:
    """Append one row to a JSONL log (a resumed run has cut the rows past its checkpoint first)."""
    with open(path, "a") as handle:
        handle.write(json.dumps(row) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSONL log; a missing file is an error naming it; torn or foreign lines (not an object with a
    numeric step) are skipped."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no {path.name} in {path.parent}")
    try:
        text = path.read_text(errors="replace")
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror}") from None
    rows = []
    for line in text.splitlines():
        row = _parse_row(line)
        if row is not None:
            rows.append(row)
    return rows


def _parse_row(line: str) -> dict | None:
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(row, dict) or not isinstance(row.get("step"), (int, float)) or isinstance(row["step"], bool):
        return None
    return row


def truncate_jsonl(path: Path, step: int) -> None:
    """Drop rows logged after `step` (written after the checkpoint a run resumes from) and torn lines, atomically."""
    path = Path(path)
    if not path.exists():
        return
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror}") from None
    kept = [line for line in lines if (row := _parse_row(line)) is not None and row["step"] <= step]
    atomic_write_text(path, "".join(line + "\n" for line in kept))
