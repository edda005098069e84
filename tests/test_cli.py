"""The CLI: resolved config on --dry-run, sampling outputs, and one-line errors with exit code 2 for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import run_cli
from mnistgan.config import preset_config
from mnistgan.sample import generate, load_generator
from mnistgan.train import train


@pytest.fixture(scope="module")
def tiny_run(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = preset_config("tutorial", steps=20, data_dir=str(tiny_data_dir), log_every=10, device="cpu")
    return train(config, tmp_path_factory.mktemp("cli") / "run", quiet=True)


def test_dry_run_prints_resolved_config(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["train", "--dry-run", "--steps", "123", "--lr-d", "1e-3", "--seed", "7"], capsys)
    config = json.loads(out)
    assert code == 0
    assert (config["steps"], config["lr_d"], config["seed"], config["lr_g"]) == (123, 1e-3, 7, 2e-4)
    assert (config["batch_size"], config["z_dim"], config["preset"]) == (128, 100, "tutorial")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--steps", "0"], "steps must be a positive integer, got 0"),
        (["train", "--batch-size", "ten"], "--batch-size: expected an integer, got 'ten'"),
        (["train", "--lr-g", "nan"], "lr_g must be a positive finite number, got nan"),
        (["train", "--eval-samples", "0", "--dry-run"], "eval_samples must be a positive integer, got 0"),
        (["train", "--preset", "nope", "--dry-run"], "unknown preset 'nope'; valid presets: tutorial"),
        (["train", "--device", "tpu", "--dry-run"], "device must be one of auto, cpu, cuda, got 'tpu'"),
        (["train", "--beta1", "1.5", "--dry-run"], "beta1 must be in [0, 1), got 1.5"),
    ],
)
def test_bad_flags_exit_2_with_one_line(argv, message, capsys) -> None:
    code, _, err = run_cli(argv, capsys)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()[-1]) > 0 and "Traceback" not in err


def test_corrupt_data_dir_is_one_line_exit_2(tiny_data_dir: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for path in tiny_data_dir.iterdir():
        (bad / path.name).write_bytes(path.read_bytes())
    (bad / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b garbage")
    code, _, err = run_cli(["train", "--data-dir", str(bad), "--steps", "5", "--out", str(tmp_path / "r")], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "train-images-idx3-ubyte.gz: corrupt or truncated gzip" in err
    assert not (tmp_path / "r" / "generator.safetensors").exists()


def test_sample_writes_grid_and_npz_deterministically(tiny_run: Path, tmp_path: Path, capsys) -> None:
    for name in ("a", "b"):
        code, _, _ = run_cli(
            ["sample", str(tiny_run), "--n", "10", "--seed", "3", "--npz", str(tmp_path / f"{name}.npz")], capsys
        )
        assert code == 0
    a, b = np.load(tmp_path / "a.npz")["images"], np.load(tmp_path / "b.npz")["images"]
    assert a.shape == (10, 28, 28) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    code, _, _ = run_cli(
        ["sample", str(tiny_run / "generator.safetensors"), "--n", "9", "--grid", str(tmp_path / "g.png")], capsys
    )
    assert code == 0 and (tmp_path / "g.png").stat().st_size > 0
    # --truncation 1 is the default draw; --truncation 0.5 equals generate(..., truncation=0.5), which differs
    args = ["sample", str(tiny_run), "--n", "10", "--seed", "3", "--npz"]
    code, _, _ = run_cli([*args, str(tmp_path / "t1.npz"), "--truncation", "1"], capsys)
    assert code == 0 and np.array_equal(np.load(tmp_path / "t1.npz")["images"], a)
    code, _, _ = run_cli([*args, str(tmp_path / "t.npz"), "--truncation", "0.5"], capsys)
    generator, config, _ = load_generator(tiny_run)
    expect = generate(generator, config, 10, seed=3, truncation=0.5)
    assert code == 0 and np.array_equal(np.load(tmp_path / "t.npz")["images"], expect) and not np.array_equal(a, expect)
    code, _, err = run_cli([*args, str(tmp_path / "x.npz"), "--truncation", "nan"], capsys)
    assert code == 2 and "positive finite number" in err and not (tmp_path / "x.npz").exists()


def test_sample_and_plot_errors(tiny_run: Path, tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(["sample", str(tiny_run)], capsys)
    assert code == 2 and "give --grid out.png and/or --npz out.npz" in err
    code, _, err = run_cli(["sample", str(tmp_path), "--grid", str(tmp_path / "x.png")], capsys)
    assert code == 2 and "no generator snapshot" in err
    (tmp_path / "broken.safetensors").write_bytes(b"not a safetensors file")
    code, _, err = run_cli(["sample", str(tmp_path / "broken.safetensors"), "--npz", str(tmp_path / "x.npz")], capsys)
    assert code == 2 and "cannot read generator snapshot" in err
    code, _, err = run_cli(["plot", str(tmp_path)], capsys)
    assert code == 2 and "no stats.jsonl" in err
    code, _, err = run_cli(["train", "--resume", str(tmp_path / "absent")], capsys)
    assert code == 2 and "cannot read config" in err


def test_plot_redraws_from_stats(tiny_run: Path, capsys) -> None:
    (tiny_run / "losses.png").unlink()
    code, out, _ = run_cli(["plot", str(tiny_run)], capsys)
    assert code == 0 and (tiny_run / "losses.png").stat().st_size > 10_000 and "losses.png" in out


def test_console_entry_point_exit_code() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mnistgan", "train", "--preset", "nope", "--dry-run"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("mnistgan train: error: unknown preset 'nope'")


def test_every_config_field_is_a_flag_with_its_reason_as_help(capsys) -> None:
    import dataclasses

    from mnistgan.cli import train_fields
    from mnistgan.config import TrainConfig

    docs = {doc.name: doc for doc in train_fields()}
    assert set(docs) == {f.name for f in dataclasses.fields(TrainConfig)} - {"preset", "extra"}
    assert all(doc.help and doc.section for doc in docs.values()), [n for n, d in docs.items() if not d.help]
    assert docs["steps"].help == "tutorial: 70,000 iterations" and docs["steps"].section == "Objective and optimisation"
    assert docs["clusters"].help.endswith("unconditional to its user, no labels used")  # a comment over two lines
    code, out, _ = run_cli(["train", "--adam-eps", "1e-7", "--clusters", "3", "--dry-run"], capsys)
    assert code == 0 and (json.loads(out)["adam_eps"], json.loads(out)["clusters"]) == (1e-7, 3)
    code, out, _ = run_cli(["train", "--help"], capsys)
    assert "Generator remedies:" in out and "--checkpoint-seconds" in out and "(default: 70000)" in out


def test_retired_config_keys_still_load(tmp_path: Path) -> None:
    from mnistgan.config import TrainConfig, load_config

    (tmp_path / "config.json").write_text(json.dumps({**TrainConfig().to_dict(), "simultaneous": True}))
    assert load_config(tmp_path / "config.json") == TrainConfig()


def test_train_help_lists_every_preset_with_a_line_and_its_steps(capsys) -> None:
    from mnistgan.config import PRESET_ABOUT, PRESETS

    assert list(PRESET_ABOUT) == list(PRESETS)
    code, out, _ = run_cli(["train", "--help"], capsys)
    assert code == 0 and "examples:" in out
    lines = {line.split()[0]: line for line in out.split("presets (--preset NAME")[1].splitlines()[1:] if line.strip()}
    for name in PRESETS:
        assert PRESET_ABOUT[name] in " ".join(lines[name].split()), name
    assert lines["conv-clusters"].rstrip().endswith("12,000 steps") and lines["tutorial"].rstrip().endswith(
        "70,000 steps"
    )
