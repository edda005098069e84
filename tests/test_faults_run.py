"""Run directories that cannot be lost: resume continues the run's own settings, a run is never overwritten or
mixed by accident, nothing is written before every check has passed, one process at a time, temporaries and locks
of killed processes are cleaned up."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file

from helpers import copy_run, run_cli
from mnistgan.checkpoint import load_resume, save_resume
from mnistgan.cli import main
from mnistgan.config import TrainConfig, load_config, preset_config
from mnistgan.errors import UserError
from mnistgan.rundir import RunLock, truncate_jsonl
from mnistgan.train import train


def _flags(data_dir: Path, steps: int = 20) -> list[str]:
    return ["--data-dir", str(data_dir), "--steps", str(steps), "--log-every", "5", "--checkpoint-every", "10"]


def _snapshot(run: Path) -> dict[str, bytes]:
    """Every file of a run, by relative path, with its bytes."""
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def _weights(run: Path) -> dict:
    return load_file(str(run / "generator.safetensors"))


@pytest.fixture(scope="module")
def run20(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 20-step run made by the CLI (with its config, checkpoint and figures)."""
    run = tmp_path_factory.mktemp("faults") / "run20"
    assert main(["train", *_flags(tiny_data_dir), "--device", "cpu", "--quiet", "--out", str(run)]) == 0
    return run


def test_resume_continues_to_the_runs_own_steps(tiny_data_dir: Path, tmp_path: Path, capsys) -> None:
    # A 20-step run whose checkpoint is at step 10 (as if killed at step 15): --resume without --steps goes to 20,
    # not to the preset's 70,000, and gives the uninterrupted run's weights.
    straight, part = tmp_path / "straight", tmp_path / "part"
    assert run_cli(["train", *_flags(tiny_data_dir), "--quiet", "--out", str(straight)], capsys)[0] == 0
    config = preset_config("tutorial", **{"data_dir": str(tiny_data_dir), "steps": 10, "log_every": 5})
    train(config, part, quiet=True)
    saved = load_config(part / "config.json")
    (part / "config.json").write_text(json.dumps({**saved.to_dict(), "steps": 20, "checkpoint_every": 10}))
    code, out, err = run_cli(["train", "--resume", str(part), "--quiet"], capsys)
    assert code == 0, err
    assert load_config(part / "config.json").steps == 20
    assert load_resume(part / "resume.pt")["step"] == 20
    a, b = _weights(straight), _weights(part)
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)


def test_resume_refuses_flags_that_define_the_run(run20: Path, capsys) -> None:
    before = _snapshot(run20)
    cases = [
        (["--lr-g", "1e-3"], "--lr-g cannot change when resuming (this run has lr_g = 0.0002)"),
        (["--batch-size", "64"], "--batch-size cannot change when resuming (this run has batch_size = 128)"),
        (["--preset", "mbstd"], "--preset cannot change when resuming (this run has preset = 'tutorial')"),
        (["--out", str(run20.parent / "elsewhere")], "--out cannot be used with --resume"),
        (["--overwrite"], "--resume continues a run and --overwrite replaces it"),
        (["--steps", "5"], "--steps 5 is below step 20, where this run's checkpoint is"),
    ]
    for extra, message in cases:
        code, _, err = run_cli(["train", "--resume", str(run20), *extra, "--quiet"], capsys)
        assert code == 2 and message in err and err.count("\n") == 1, (extra, err)
    assert _snapshot(run20) == before  # nothing written by any refused command
    # The run's own value repeated is not a change.
    code, out, err = run_cli(["train", "--resume", str(run20), "--lr-g", "2e-4", "--dry-run"], capsys)
    assert code == 0 and json.loads(out)["lr_g"] == 2e-4


def test_resume_applies_and_records_what_may_change(run20: Path, tmp_path: Path, capsys) -> None:
    run = copy_run(run20, tmp_path / "copy")
    code, _, err = run_cli(["train", "--resume", str(run), "--steps", "30", "--log-every", "10", "--quiet"], capsys)
    assert code == 0, err
    config = load_config(run / "config.json")
    assert (config.steps, config.log_every) == (30, 10)
    assert config.extra["resumes"] == [{"step": 20, "steps": [20, 30], "log_every": [5, 10]}]
    steps = [json.loads(line)["step"] for line in (run / "stats.jsonl").read_text().splitlines()]
    assert steps == [5, 10, 15, 20, 30]
    assert load_resume(run / "resume.pt")["step"] == 30


def test_out_at_an_existing_run_is_refused_and_overwrite_replaces_it(run20: Path, tmp_path: Path, capsys) -> None:
    before = _snapshot(run20)
    code, _, err = run_cli(["train", "--steps", "5", "--out", str(run20), "--quiet"], capsys)
    assert code == 2 and f"{run20} already holds a run: continue it with --resume" in err
    assert _snapshot(run20) == before
    # --overwrite clears the old run's files first: no rows, frames or GIF frames of the old run remain.
    run = copy_run(run20, tmp_path / "over")
    (run / "notes.txt").write_text("mine")  # not a run file: kept
    data_dir = load_config(run20 / "config.json").data_dir
    flags = ["--data-dir", data_dir, "--steps", "4", "--log-every", "2", "--snapshot-every", "4"]
    code, _, err = run_cli(["train", *flags, "--out", str(run), "--overwrite", "--quiet"], capsys)
    assert code == 0, err
    steps = [json.loads(line)["step"] for line in (run / "stats.jsonl").read_text().splitlines()]
    assert steps == [2, 4]
    assert sorted(p.name for p in (run / "progress").iterdir()) == ["step_000000.png", "step_000004.png"]
    assert (run / "notes.txt").read_text() == "mine" and load_config(run / "config.json").steps == 4


def test_a_failing_command_writes_nothing(run20: Path, tmp_path: Path, capsys) -> None:
    # Bad data for a new run in a fresh folder: no folder is even created.
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03junk")
    code, _, err = run_cli(["train", "--data-dir", str(bad), "--out", str(tmp_path / "new"), "--quiet"], capsys)
    assert code == 2 and not (tmp_path / "new").exists()
    # A resume whose data has gone: the run is untouched and still resumable.
    config = json.loads((run20 / "config.json").read_text())
    broken = copy_run(run20, tmp_path / "run")
    (broken / "config.json").write_text(json.dumps({**config, "data_dir": str(tmp_path / "gone"), "steps": 40}))
    again = _snapshot(broken)
    code, _, err = run_cli(["train", "--resume", str(broken), "--quiet"], capsys)
    assert code == 2 and "is not a directory" in err
    assert _snapshot(broken) == again


def test_relative_data_dir_is_stored_absolute(tiny_data_dir: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tiny_data_dir.parent)
    run = tmp_path / "rel"
    code, _, err = run_cli(["train", *_flags(Path(tiny_data_dir.name), 5), "--out", str(run), "--quiet"], capsys)
    assert code == 0, err
    assert load_config(run / "config.json").data_dir == str(tiny_data_dir)
    monkeypatch.chdir(tmp_path)  # resume from elsewhere finds the data
    code, _, err = run_cli(["train", "--resume", str(run), "--steps", "8", "--quiet"], capsys)
    assert code == 0, err


def test_one_process_per_run_and_stale_locks_are_taken_over(run20: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "locked"
    with RunLock(run):  # another process (here: another open file description) holds the run
        code, _, err = run_cli(["train", *_flags(Path(load_config(run20 / "config.json").data_dir), 5),
                             "--out", str(run), "--quiet"], capsys)  # fmt: skip
        assert code == 2 and f"{run} is in use by another mnistgan process (pid {os.getpid()})" in err
    assert not (run / "config.json").exists()
    # A lock file left by a killed process (a dead pid, no flock held) is taken over, with a message.
    (run / ".lock").write_text("999999999\n")
    code, _, err = run_cli(["train", *_flags(Path(load_config(run20 / "config.json").data_dir), 5),
                         "--out", str(run), "--quiet"], capsys)  # fmt: skip
    assert code == 0 and "took over the lock" in err and "pid 999999999" in err
    assert not (run / ".lock").exists()  # released at the end


def test_resume_state_and_config_from_different_runs_are_refused(run20: Path, tmp_path: Path, capsys) -> None:
    run = copy_run(run20, tmp_path / "mixed")
    state = load_resume(run / "resume.pt")
    state["config"] = json.dumps({**json.loads(state["config"]), "lr_g": 1e-3})
    save_resume(run / "resume.pt", state)
    code, _, err = run_cli(["train", "--resume", str(run), "--steps", "30", "--quiet"], capsys)
    assert code == 2 and "resume.pt and config.json are from different runs: cannot change lr_g" in err


def test_time_bounds_the_checkpoint_interval(tiny_data_dir: Path, tmp_path: Path, monkeypatch) -> None:
    # Every preset checkpoints at least every checkpoint_seconds (60 by default), whatever its step interval.
    assert TrainConfig().checkpoint_seconds == 60 and all(
        preset_config(p).checkpoint_seconds == 60 for p in ("tutorial", "conv-clusters", "wgan-gp")
    )
    saves = []
    train_module = importlib.import_module("mnistgan.train")  # `import mnistgan.train as` gives the API function

    original = train_module.save_resume
    monkeypatch.setattr(train_module, "save_resume", lambda path, state: (saves.append(state["step"]),
                                                                        original(path, state)))  # fmt: skip
    clock = iter(float(t) for t in range(0, 10_000, 7))  # each call 7 "seconds" later
    monkeypatch.setattr(train_module.time, "monotonic", lambda: next(clock))
    config = preset_config("tutorial", steps=6, data_dir=str(tiny_data_dir), checkpoint_seconds=10.0)
    train(config, tmp_path / "timed", quiet=True)
    assert saves == [2, 4, 6]  # every second step (14 s >= 10 s), though checkpoint_every is 10,000


def test_stale_temporaries_of_dead_processes_are_removed(run20: Path, tmp_path: Path, capsys) -> None:
    run = copy_run(run20, tmp_path / "torn")
    dead, live = run / "resume.999999999.tmp.pt", run / f"eval.{os.getppid()}.tmp.json"
    dead.write_bytes(b"torn" * 1000)
    live.write_text("{")  # a live process's write in progress is left alone
    code, _, err = run_cli(["train", "--resume", str(run), "--steps", "25", "--quiet"], capsys)
    assert code == 0, err
    assert not dead.exists() and live.exists() and "removed resume.999999999.tmp.pt" in err


def test_truncate_keeps_rows_up_to_the_checkpoint_and_drops_torn_lines(tmp_path: Path) -> None:
    log = tmp_path / "stats.jsonl"
    log.write_text('{"step": 5}\n{"step": 10}\n[1, 2]\n{"step": 15}\n{"step": 2')
    truncate_jsonl(log, 10)
    assert log.read_text() == '{"step": 5}\n{"step": 10}\n'


def test_library_refuses_an_existing_run_too(run20: Path) -> None:
    with pytest.raises(UserError, match="already holds a run"):
        train(load_config(run20 / "config.json"), run20, quiet=True)
