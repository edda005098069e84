"""Generator snapshots: the same weights and config give the same bytes (so a SHA-256 pin doubles as a
reproduction check), the older multi-key format still loads, and foreign or broken metadata is refused clearly."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from mnistgan.checkpoint import load_snapshot, save_snapshot
from mnistgan.config import preset_config
from mnistgan.errors import UserError
from mnistgan.models import build_generator


def test_same_weights_same_bytes(tmp_path: Path) -> None:
    config = preset_config("conv-clusters", clusters=5)
    torch.manual_seed(0)
    generator = build_generator(config)
    digests = set()
    for i in range(6):  # several metadata keys came out in a different order from one write to the next
        save_snapshot(tmp_path / f"g{i}.safetensors", generator, config, 123)
        digests.add(hashlib.sha256((tmp_path / f"g{i}.safetensors").read_bytes()).hexdigest())
    assert len(digests) == 1
    tensors, loaded, step = load_snapshot(tmp_path / "g0.safetensors")
    assert step == 123 and loaded == config
    assert all(torch.equal(tensors[k], v) for k, v in generator.state_dict().items())


def test_first_format_still_loads(tmp_path: Path) -> None:
    config = preset_config("tutorial")
    generator = build_generator(config)
    tensors = {k: v.contiguous() for k, v in generator.state_dict().items()}
    meta = {"config": json.dumps(config.to_dict()), "step": "77", "format": "mnistgan-generator-1"}
    save_file(tensors, str(tmp_path / "old.safetensors"), metadata=meta)
    _, loaded, step = load_snapshot(tmp_path / "old.safetensors")
    assert step == 77 and loaded == config


@pytest.mark.parametrize(
    ("meta", "message"),
    [({"format": "other"}, "not an mnistgan generator snapshot"), ({"mnistgan": "{not json"}, "unreadable")],
)
def test_foreign_metadata_is_refused(meta: dict, message: str, tmp_path: Path) -> None:
    save_file({"w": torch.zeros(2)}, str(tmp_path / "x.safetensors"), metadata=meta)
    with pytest.raises(UserError, match=message):
        load_snapshot(tmp_path / "x.safetensors")
