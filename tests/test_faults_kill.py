"""Kill tests: a training process SIGKILLed at several points, during a checkpoint write among them (a test hook
slows that write down), leaves files that all load, and `--resume` then ends with weights bit-identical to an
uninterrupted run. SIGINT and SIGTERM stop at the next step with a checkpoint, and resume exactly too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import load_file

from mnistgan.checkpoint import load_resume, load_snapshot
from mnistgan.cli import main
from mnistgan.config import load_config, preset_config
from mnistgan.files import SLOW_WRITE_ENV
from mnistgan.rundir import progress_frames, read_jsonl
from mnistgan.train import train

STEPS = 60
FLAGS = ["--steps", str(STEPS), "--log-every", "5", "--checkpoint-every", "20", "--checkpoint-seconds", "0"]
FLAGS += ["--snapshot-every", "10", "--device", "cpu", "--threads", "1", "--quiet"]


@pytest.fixture(scope="module")
def straight(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The uninterrupted run every interrupted one must end up equal to."""
    config = preset_config("tutorial", steps=STEPS, data_dir=str(tiny_data_dir), log_every=5, checkpoint_every=20)
    config.snapshot_every, config.checkpoint_seconds, config.device, config.threads = 10, 0.0, "cpu", 1
    return train(config, tmp_path_factory.mktemp("kill") / "straight", quiet=True)


def _start(run: Path, data_dir: Path, slow: str) -> subprocess.Popen:
    env = {**os.environ, SLOW_WRITE_ENV: slow}
    argv = [sys.executable, "-m", "mnistgan", "train", "--data-dir", str(data_dir), *FLAGS, "--out", str(run)]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, proc: subprocess.Popen, timeout: float = 60.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"training ended before the kill point: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("kill point not reached")
        time.sleep(0.01)


def _temporaries(run: Path, of: str = "") -> list[Path]:
    """Temporary files in the run (of the file named `of` only, when given)."""
    stem = Path(of).stem + "." if of else ""
    return [p for p in run.rglob("*") if ".tmp" in p.name and p.name.startswith(stem)]


def _check_everything_loads(run: Path) -> int:
    """Every file of the killed run reads back; returns the checkpoint's step (0: none yet)."""
    load_config(run / "config.json")
    for row in read_jsonl(run / "stats.jsonl"):
        assert row["step"] % 5 == 0
    for frame in progress_frames(run):
        Image.open(frame).load()
    if not (run / "resume.pt").exists():
        return 0
    state = load_resume(run / "resume.pt")
    _, _, snapshot_step = load_snapshot(run / "generator.safetensors")
    # The snapshot is written just before the resume state: a kill between them leaves it one checkpoint ahead.
    assert snapshot_step in (state["step"], state["step"] + 20)
    return state["step"]


def _assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = load_file(str(a / "generator.safetensors")), load_file(str(b / "generator.safetensors"))
    assert wa.keys() == wb.keys()
    for key in wa:
        assert np.array_equal(wa[key].numpy(), wb[key].numpy()), key


KILL_POINTS = {
    # name: (slowed file, wait for this before the kill, extra delay, checkpoint step expected after the kill)
    "first checkpoint, mid-write": ("resume.pt", lambda run: bool(_temporaries(run, "resume.pt")), 0.2, 0),
    "first checkpoint, before the rename": ("resume.pt", lambda run: bool(_temporaries(run, "resume.pt")), 1.3, 0),
    "second checkpoint, mid-write": (
        "resume.pt",
        lambda run: (run / "resume.pt").exists() and bool(_temporaries(run, "resume.pt")),
        0.2,
        20,
    ),
    "between checkpoints": ("step_000030.png", lambda run: bool(_temporaries(run, "step_000030.png")), 0.2, 20),
    "final figures": ("losses.png", lambda run: bool(_temporaries(run, "losses.png")), 0.2, STEPS),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_sigkill_then_resume_is_bit_identical(point: str, straight: Path, tiny_data_dir: Path, tmp_path: Path) -> None:
    slowed, ready, delay, expect_step = KILL_POINTS[point]
    run = tmp_path / "run"
    proc = _start(run, tiny_data_dir, f"{slowed}:1.0")
    _wait_for(lambda: ready(run), proc)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _check_everything_loads(run) == expect_step
    # Resume (or, with no checkpoint yet, start again); the killed process's temporaries and lock are cleaned up.
    if expect_step:
        code = main(["train", "--resume", str(run), "--quiet"])
    else:
        code = main(["train", "--out", str(run), "--overwrite", "--data-dir", str(tiny_data_dir), *FLAGS])
    assert code == 0
    assert not _temporaries(run) and not (run / ".lock").exists()
    _assert_same_weights(straight, run)
    assert [r["step"] for r in read_jsonl(run / "stats.jsonl")] == list(range(5, STEPS + 1, 5))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_checkpoints_at_the_step_and_resumes_exactly(
    signum: int, straight: Path, tiny_data_dir: Path, tmp_path: Path, capsys
) -> None:
    run = tmp_path / "run"
    proc = _start(run, tiny_data_dir, "step_000030.png:1.0")
    _wait_for(lambda: bool(_temporaries(run, "step_000030.png")), proc)
    # While it runs, a second process cannot take the run.
    code = main(["train", "--resume", str(run), "--quiet"])
    assert code == 2 and f"is in use by another mnistgan process (pid {proc.pid})" in capsys.readouterr().err
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum
    assert f"interrupted at step 30 of {STEPS}; checkpoint saved: continue with mnistgan train --resume" in err
    assert "Traceback" not in err
    assert _check_everything_loads(run) == 30  # checkpoint_every is 20: this one is the signal's
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    _assert_same_weights(straight, run)
    assert json.loads((run / "config.json").read_text())["steps"] == STEPS
