"""Resume is exact for every preset family: 4 steps, then 4 more resumed, give the bitwise state of 8 straight steps.

The families differ in what the resume state must carry: wgan-gp's penalty draws its interpolation weights from the
*global* torch RNG (a resume that restores only the noise generator ends elsewhere); r3gan's double backward; PacGAN's
packed D; the conditional pair's label embedding; conv-clusters' BatchNorm buffers, EMA, clusters and mode seeking;
unrolled D's Adam moments; spectral norm's power-iteration vectors (D buffers).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from mnistgan.checkpoint import load_resume
from mnistgan.config import preset_config
from mnistgan.train import train

FAMILIES = ["wgan-gp", "r3gan", "pacgan2", "conditional", "conv-clusters", "sn-hinge", "unrolled5", "ema"]


def _config(name: str, data_dir: Path, steps: int):
    values = dict(steps=steps, batch_size=16, data_dir=str(data_dir), device="cpu", log_every=1, print_every=100)
    values.update(snapshot_every=100, checkpoint_every=4)  # the checkpoint lands at the split, step 4
    if name == "conv-clusters":
        values["clusters"] = 4  # k-means over 512 images: 4 clusters are enough to condition on
    if name == "wgan-gp":
        values["n_critic"] = 3  # G steps at 3 and 6: one before the split, one after
    return preset_config(name, **values)


def _assert_same_tensors(a: dict, b: dict, where: str) -> None:
    assert a.keys() == b.keys(), where
    for key in a:
        if isinstance(a[key], dict):
            _assert_same_tensors(a[key], b[key], f"{where}.{key}")
        elif isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), f"{where}.{key}"
        else:
            assert a[key] == b[key], f"{where}.{key}"


@pytest.mark.parametrize("name", FAMILIES)
def test_resume_at_step_4_is_bitwise_the_straight_run(name: str, tiny_data_dir: Path, tmp_path: Path) -> None:
    straight = train(_config(name, tiny_data_dir, 8), tmp_path / "straight", quiet=True)
    part = train(_config(name, tiny_data_dir, 4), tmp_path / "part", quiet=True)
    resumed = train(_config(name, tiny_data_dir, 8), part, resume=True, quiet=True)
    a, b = load_file(str(straight / "generator.safetensors")), load_file(str(resumed / "generator.safetensors"))
    _assert_same_tensors(a, b, "snapshot")
    sa, sb = load_resume(straight / "resume.pt"), load_resume(resumed / "resume.pt")
    assert sa["step"] == sb["step"] == 8
    for part_name in ("G", "D", "opt_g", "opt_d", "rng"):  # the whole state, not only G: D moves every step
        _assert_same_tensors(sa[part_name], sb[part_name], part_name)
    assert ("ema" in sa) == ("ema" in sb)
    if "ema" in sa:
        _assert_same_tensors(sa["ema"], sb["ema"], "ema")


def test_wgan_gp_draws_from_the_global_rng(tiny_data_dir: Path, tmp_path: Path) -> None:
    """Why wgan-gp is in the list: its run depends on the global RNG after seeding, so a resume must restore it."""
    config = _config("wgan-gp", tiny_data_dir, 4)
    a = train(config, tmp_path / "a", quiet=True)
    state = load_resume(a / "resume.pt")
    torch.manual_seed(config.seed)
    untouched = torch.get_rng_state()
    # The saved global state is not the freshly seeded one: the penalties (and the init) drew from it.
    assert not torch.equal(state["rng"]["torch"], untouched)
