"""Training end to end on tiny data: losses move, outputs exist, resume is exact, seeds are deterministic,
and a run that blows up stops with a clear error and leaves the last good checkpoint intact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from mnistgan.checkpoint import load_resume
from mnistgan.config import load_config, preset_config
from mnistgan.data import Batcher
from mnistgan.errors import NonFiniteError
from mnistgan.train import train


def _config(data_dir: Path, **overrides):
    values = dict(steps=60, data_dir=str(data_dir), log_every=10, print_every=30, snapshot_every=20)
    values.update(checkpoint_every=20, device="cpu")
    values.update(overrides)
    return preset_config("tutorial", **values)


def _weights(run: Path) -> dict:
    return load_file(str(run / "generator.safetensors"))


def test_smoke_run_writes_everything_and_losses_move(tiny_data_dir: Path, tmp_path: Path) -> None:
    run = train(_config(tiny_data_dir), tmp_path / "run", quiet=True)
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(10, 61, 10))
    for row in rows:
        assert all(np.isfinite(v) for v in row.values())
        assert 0 < row["d_real"] < 1 and 0 < row["d_fake"] < 1 and row["d_grad_norm"] > 0
    # D learns fast on real digits vs noise-like fakes: its loss falls from ~2 ln 2 and D(x) rises above D(G(z)).
    assert rows[-1]["d_loss"] < rows[0]["d_loss"] < 1.6
    assert rows[-1]["d_real"] > rows[-1]["d_fake"]
    assert rows[-1]["g_loss"] > rows[0]["g_loss"]
    for name in ["config.json", "losses.png", "samples_15x15.png", "sample.png", "progress.gif", "resume.pt"]:
        assert (run / name).is_file(), name
    assert sorted(p.name for p in (run / "progress").glob("*.png")) == [f"step_{s:06d}.png" for s in (0, 20, 40, 60)]
    grid = Image.open(run / "samples_15x15.png")
    assert grid.size == (2 * (15 * 30 + 2), 2 * (15 * 30 + 2))
    assert Image.open(run / "progress.gif").n_frames == 4
    assert load_config(run / "config.json") == _config(tiny_data_dir)


def test_resume_gives_identical_weights(tiny_data_dir: Path, tmp_path: Path) -> None:
    straight = train(_config(tiny_data_dir), tmp_path / "straight", quiet=True)
    part = train(_config(tiny_data_dir, steps=30), tmp_path / "part", quiet=True)
    resumed = train(_config(tiny_data_dir, steps=60), part, resume=True, quiet=True)
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key].numpy(), b[key].numpy()), key
    steps = [json.loads(line)["step"] for line in (resumed / "stats.jsonl").read_text().splitlines()]
    assert steps == list(range(10, 61, 10))  # rows after the checkpoint were rewritten, not duplicated


def test_same_seed_same_weights_other_seed_differs(tiny_data_dir: Path, tmp_path: Path) -> None:
    a = _weights(train(_config(tiny_data_dir, steps=20), tmp_path / "a", quiet=True))
    b = _weights(train(_config(tiny_data_dir, steps=20), tmp_path / "b", quiet=True))
    c = _weights(train(_config(tiny_data_dir, steps=20, seed=1), tmp_path / "c", quiet=True))
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
    assert not np.array_equal(a["fc2.weight"].numpy(), c["fc2.weight"].numpy())


def test_divergence_stops_and_keeps_last_good_checkpoint(
    tiny_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = Batcher.batch

    def poisoned(self: Batcher, step: int) -> torch.Tensor:
        batch = good(self, step)
        return batch.fill_(float("nan")) if step >= 25 else batch  # NaN pixels from step 25 on

    monkeypatch.setattr(Batcher, "batch", poisoned)
    run = tmp_path / "run"
    with pytest.raises(NonFiniteError, match="non-finite .* at step 30.*last good checkpoint kept"):
        train(_config(tiny_data_dir), run, quiet=True)
    state = load_resume(run / "resume.pt")
    assert state["step"] == 20  # the checkpoint before the blow-up, not overwritten
    assert all(torch.isfinite(t).all() for t in state["G"].values())
    assert all(torch.isfinite(t).all() for t in _weights(run).values())
    steps = [json.loads(line)["step"] for line in (run / "stats.jsonl").read_text().splitlines()]
    assert steps == [10, 20]  # the non-finite row is not logged
