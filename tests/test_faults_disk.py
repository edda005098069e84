"""A full disk during a checkpoint: the previous checkpoint stays intact, the run stops with one line ("no space
left on device") and exit 2, and after space is freed `--resume` continues exactly. Once on a real small tmpfs
(as root), once with a write fault injected (anywhere)."""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file

import mnistgan.files as files
from mnistgan.checkpoint import load_resume
from mnistgan.cli import main
from mnistgan.config import preset_config
from mnistgan.rundir import read_jsonl
from mnistgan.train import train

FLAGS = ["--steps", "30", "--log-every", "5", "--checkpoint-every", "10", "--checkpoint-seconds", "0", "--quiet"]


@pytest.fixture(scope="module")
def straight(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = preset_config("tutorial", steps=30, data_dir=str(tiny_data_dir), log_every=5, checkpoint_every=10)
    config.checkpoint_seconds = 0.0
    return train(config, tmp_path_factory.mktemp("disk") / "straight", quiet=True)


def _same_weights(a: Path, b: Path) -> bool:
    wa, wb = load_file(str(a / "generator.safetensors")), load_file(str(b / "generator.safetensors"))
    return wa.keys() == wb.keys() and all(np.array_equal(wa[k].numpy(), wb[k].numpy()) for k in wa)


def _check_stopped_at_20_with_10_kept(run: Path, code: int, err: str) -> None:
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "error: no space left on device: cannot write" in err and "resume.pt" in err
    assert load_resume(run / "resume.pt")["step"] == 10  # the previous checkpoint, intact
    assert not [p for p in run.iterdir() if ".tmp" in p.name]  # no torn temporary left behind


def test_full_tmpfs_keeps_the_last_checkpoint(straight: Path, tiny_data_dir: Path, tmp_path: Path, capsys) -> None:
    mount = tmp_path / "small"
    mount.mkdir()
    # 9 MB: room for one checkpoint (resume.pt is 5.2 MB, the snapshot 0.9 MB) but not for a second beside it.
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=9m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        run = mount / "run"
        code = main(["train", "--data-dir", str(tiny_data_dir), *FLAGS, "--out", str(run)])
        _check_stopped_at_20_with_10_kept(run, code, capsys.readouterr().err)
        subprocess.run(["mount", "-o", "remount,size=64m", str(mount)], check=True)  # space freed
        assert main(["train", "--resume", str(run), "--quiet"]) == 0
        assert _same_weights(straight, run)
        assert [r["step"] for r in read_jsonl(run / "stats.jsonl")] == list(range(5, 31, 5))
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_injected_enospc_keeps_the_last_checkpoint(
    straight: Path, tiny_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    calls = {"resume": 0}
    real_open = open

    def full_disk_open(path, mode="r", *args, **kwargs):  # noqa: ANN001, ANN202
        handle = real_open(path, mode, *args, **kwargs)
        if "w" in mode and Path(path).name.startswith("resume."):
            calls["resume"] += 1
            if calls["resume"] == 2:  # the second checkpoint: the disk is full halfway through

                class Full:
                    def __enter__(self):  # noqa: ANN204
                        return self

                    def __exit__(self, *exc):  # noqa: ANN002, ANN204
                        handle.close()

                    def write(self, data: bytes) -> int:
                        handle.write(data[: len(data) // 2])
                        raise OSError(errno.ENOSPC, "No space left on device")

                return Full()
        return handle

    run = tmp_path / "run"
    monkeypatch.setattr(files, "open", full_disk_open, raising=False)
    code = main(["train", "--data-dir", str(tiny_data_dir), *FLAGS, "--out", str(run)])
    _check_stopped_at_20_with_10_kept(run, code, capsys.readouterr().err)
    monkeypatch.undo()
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert _same_weights(straight, run)
