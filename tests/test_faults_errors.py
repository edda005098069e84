"""The catalogue of mistakes a user can make: each gives one line on stderr and exit code 2, never a traceback,
and leaves every checkpoint and result as it was."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import copy_run, run_cli
from mnistgan.checkpoint import load_resume, save_resume
from mnistgan.config import preset_config
from mnistgan.data import cache_dir, load_split
from mnistgan.train import train


def _one_line_error(code: int, err: str, message: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1 and ": error: " in err, err
    assert message in err, err


@pytest.fixture(scope="module")
def run10(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = preset_config("tutorial", steps=10, data_dir=str(tiny_data_dir), log_every=5, device="cpu")
    return train(config, tmp_path_factory.mktemp("errors") / "run10", quiet=True)


class _Boom:
    """A pickle that would run a command when unpickled without weights_only."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("kind", ["random", "pickle", "truncated", "not-a-dict"])
def test_broken_resume_state_is_one_line_and_never_advises_unsafe_loading(
    kind: str, run10: Path, tmp_path: Path, capsys
) -> None:
    run = copy_run(run10, tmp_path / "run")
    path, marker = run / "resume.pt", tmp_path / "pwned"
    good = path.read_bytes()
    if kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(5000))
    elif kind == "pickle":
        path.write_bytes(pickle.dumps({"G": _Boom(marker)}))
    elif kind == "truncated":
        path.write_bytes(good[: len(good) // 2])
    else:
        torch.save([1, 2, 3], path)
    code, _, err = run_cli(["train", "--resume", str(run), "--steps", "20", "--quiet"], capsys)
    _one_line_error(code, err, "resume.pt")
    assert "weights_only" not in err and not marker.exists()


def test_resume_state_of_other_networks_is_refused(run10: Path, tiny_data_dir: Path, tmp_path: Path, capsys) -> None:
    run = copy_run(run10, tmp_path / "run")
    config = preset_config("tutorial", steps=2, g_hidden=64, data_dir=str(tiny_data_dir))
    other = train(config, tmp_path / "o", quiet=True)
    state = load_resume(other / "resume.pt")
    state["config"] = load_resume(run / "resume.pt")["config"]  # the config matches; the tensors do not
    save_resume(run / "resume.pt", state)
    code, _, err = run_cli(["train", "--resume", str(run), "--steps", "20", "--quiet"], capsys)
    _one_line_error(code, err, "resume.pt does not fit the networks of its config.json (size mismatch for fc1.weight")


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"steps": "many"}', '{"lr_g": -1}', "\xff\xfe"])
def test_broken_config_json_is_one_line(content: str, run10: Path, tmp_path: Path, capsys) -> None:
    run = copy_run(run10, tmp_path / "run")
    (run / "config.json").write_bytes(content.encode("latin-1"))
    code, _, err = run_cli(["train", "--resume", str(run), "--quiet"], capsys)
    _one_line_error(code, err, "config")


def test_out_paths_that_cannot_hold_a_run(tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("x")
    code, _, err = run_cli(["train", "--steps", "2", "--out", str(tmp_path / "file"), "--quiet"], capsys)
    _one_line_error(code, err, "is a file, not a directory")
    code, _, err = run_cli(["train", "--steps", "2", "--out", str(tmp_path / "file" / "run"), "--quiet"], capsys)
    _one_line_error(code, err, "is a file, not a directory")


def test_sample_into_a_missing_folder_and_too_many_images(run10: Path, tmp_path: Path, capsys) -> None:
    for flag, name in (("--grid", "g.png"), ("--npz", "s.npz")):
        code, _, err = run_cli(["sample", str(run10), flag, str(tmp_path / "no" / name)], capsys)
        _one_line_error(code, err, f"{flag} {tmp_path / 'no' / name}: folder {tmp_path / 'no'} does not exist")
    code, _, err = run_cli(["sample", str(run10), "--n", str(10**12), "--npz", str(tmp_path / "s.npz")], capsys)
    _one_line_error(code, err, "--n 1000000000000 images would need about")
    assert "ask for fewer with --n" in err and not (tmp_path / "s.npz").exists()


def test_eval_of_bad_arrays(run10: Path, tmp_path: Path, capsys) -> None:
    images = np.array(load_split("test")[0][:20])
    np.savez(tmp_path / "good.npz", images=images)
    np.savez(tmp_path / "objects.npz", images=np.array([images[0], "x"], dtype=object))
    (tmp_path / "torn.npz").write_bytes((tmp_path / "good.npz").read_bytes()[:3000])
    np.save(tmp_path / "torn.npy", images)
    (tmp_path / "torn.npy").write_bytes((tmp_path / "torn.npy").read_bytes()[:3000])
    (tmp_path / "random.npy").write_bytes(os.urandom(3000))
    cases = {
        "objects.npz": "holds Python objects (dtype object), not pixel values",
        "torn.npz": "not a complete .npz archive",
        "torn.npy": "truncated: shape (20, 28, 28) needs 15680 bytes",
        "random.npy": "not a valid .npy array header",
    }
    for name, message in cases.items():
        code, _, err = run_cli(["eval", str(tmp_path / name), "--metrics", "digits"], capsys)
        _one_line_error(code, err, message)
    code, _, err = run_cli(["eval", str(run10), "--n", str(10**9), "--metrics", "digits"], capsys)
    _one_line_error(code, err, "evaluating 1000000000 samples would need about")
    code, _, err = run_cli(["eval", str(tmp_path / "good.npz"), "--json", str(tmp_path / "no" / "r.json")], capsys)
    _one_line_error(code, err, "folder")


def test_a_corrupt_real_data_cache_is_recomputed(tmp_path: Path, capsys) -> None:
    np.savez(tmp_path / "imgs.npz", images=np.array(load_split("test")[0][:40]))
    args = ["eval", str(tmp_path / "imgs.npz"), "--metrics", "fd,digits"]
    code, first, err = run_cli(args, capsys)
    assert code == 0, err
    files = sorted((cache_dir() / "eval").iterdir())
    assert {p.name.split("-")[0] for p in files} >= {"features", "real"}
    for path in files:  # truncate every cache entry, as a crash on an old version or disk trouble could
        path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 3)])
    code, again, err = run_cli(args, capsys)
    assert code == 0 and "recomputing it" in err and "Traceback" not in err
    assert again.split("wall time")[0] == first.split("wall time")[0]  # the same table
    code, third, err = run_cli(args, capsys)
    assert code == 0 and err == "" and third.split("wall time")[0] == first.split("wall time")[0]  # repaired


def test_eval_of_a_read_only_run_prints_the_table(run10: Path, readonly_copy, capsys) -> None:
    run = readonly_copy(run10)
    code, out, err = run_cli(["eval", str(run), "--metrics", "digits", "--n", "50"], capsys)
    assert code == 0 and "modes" in out
    assert "results not saved" in err and "Traceback" not in err and not (run / "eval.json").exists()
    code, _, err = run_cli(["train", "--steps", "2", "--out", str(run.parent / "new"), "--quiet"], capsys)
    _one_line_error(code, err, f"cannot write run directory {run.parent / 'new'}")


@pytest.fixture
def readonly_copy(tmp_path: Path):  # noqa: ANN201
    """A copy of a run inside a read-only folder: a read-only tmpfs as root (permission bits do not stop root),
    a chmod 555 folder otherwise."""
    mount = tmp_path / "ro"
    mount.mkdir()
    mounted = False

    def make(src: Path) -> Path:
        nonlocal mounted
        staging = copy_run(src, tmp_path / "staging" / "run")
        if os.geteuid() == 0:
            ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True)
            if ok.returncode != 0:
                pytest.skip("cannot mount a tmpfs here")
            mounted = True
            copy_run(staging, mount / "run")
            subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        else:
            copy_run(staging, mount / "run")
            os.chmod(mount / "run", 0o555)
            os.chmod(mount, 0o555)
        return mount / "run"

    yield make
    if mounted:
        subprocess.run(["umount", str(mount)], check=False)
    else:
        for path in (mount, mount / "run"):
            if path.exists():
                os.chmod(path, 0o755)


def test_gzip_bomb_is_refused_before_it_inflates(tmp_path: Path, capsys) -> None:
    import gzip

    header = bytes([0, 0, 8, 3]) + (1).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    folder = tmp_path / "bomb"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + bytes(100_000_000), 9))
    assert (folder / "train-images-idx3-ubyte.gz").stat().st_size < 200_000  # 100 MB once inflated
    code, _, err = run_cli(["train", "--data-dir", str(folder), "--out", str(tmp_path / "r"), "--quiet"], capsys)
    _one_line_error(code, err, "trailing bytes: its IDX header announces 800 bytes, the data holds more")
    huge = bytes([0, 0, 8, 3]) + (60000).to_bytes(4, "big") + (100000).to_bytes(4, "big") * 2
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(huge + bytes(1000)))
    code, _, err = run_cli(["train", "--data-dir", str(folder), "--out", str(tmp_path / "r"), "--quiet"], capsys)
    _one_line_error(code, err, "(IDX shape (60000, 100000, 100000)) would need about")


def test_other_commands_check_their_outputs_first(tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("x")
    code, _, err = run_cli(["evaluator", "train", "--out", str(tmp_path / "no" / "e.safetensors")], capsys)
    _one_line_error(code, err, "does not exist")
    code, _, err = run_cli(["ablate", "--presets", "tutorial", "--steps", "2", "--out", str(tmp_path / "file")], capsys)
    _one_line_error(code, err, "file")
    code, _, err = run_cli(["train", "--checkpoint-seconds", "nan", "--dry-run"], capsys)
    _one_line_error(code, err, "checkpoint_seconds must be a finite number >= 0")


def test_snapshot_with_foreign_config_types_is_one_line(run10: Path, tmp_path: Path, capsys) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(run10 / "generator.safetensors"))
    meta = {"mnistgan": json.dumps({"format": "x", "step": 1, "config": {"z_dim": "a hundred"}})}
    save_file(tensors, str(tmp_path / "g.safetensors"), metadata=meta)
    code, _, err = run_cli(["sample", str(tmp_path / "g.safetensors"), "--npz", str(tmp_path / "s.npz")], capsys)
    _one_line_error(code, err, "config key z_dim must be int, got 'a hundred'")


def test_no_traceback_through_the_console_script(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("{}")
    (tmp_path / "run" / "resume.pt").write_bytes(b"\x80\x04garbage")
    result = subprocess.run(
        [sys.executable, "-m", "mnistgan", "train", "--resume", str(tmp_path / "run")], capture_output=True, text=True
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("mnistgan train: error: ")
