"""The CUDA path: the same commands train every kind of preset on a GPU, resume there, load on a CPU, and agree
with the CPU's arithmetic. Skipped without a GPU (benchmarks/gpu_check.sh runs them on one)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from mnistgan.config import preset_config
from mnistgan.models import build_discriminator, build_generator
from mnistgan.objectives import objective_from_config
from mnistgan.sample import load_generator
from mnistgan.step import GANStep
from mnistgan.train import train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture(autouse=True)
def exact_float32():
    """No TF32 in matmuls or convolutions, so GPU and CPU float32 results are comparable to ~1e-5."""
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


@pytest.mark.parametrize(
    "preset", ["tutorial", "r3gan", "conv", "conv-r3gan", "conditional", "sn-hinge", "ema", "conv-clusters"]
)
def test_presets_train_and_resume_on_cuda(preset: str, tiny_data_dir: Path, tmp_path: Path) -> None:
    values = dict(steps=40, data_dir=str(tiny_data_dir), log_every=10, snapshot_every=20, checkpoint_every=20)
    config = preset_config(preset, device="cuda", **values)
    run = train(config, tmp_path / "run", quiet=True)
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [10, 20, 30, 40]
    assert all(np.isfinite(v) for r in rows for v in r.values())
    weights = load_file(str(run / "generator.safetensors"))  # a GPU run's weights load on the CPU
    assert all(t.device.type == "cpu" for t in weights.values())
    generator, _, _ = load_generator(run)
    assert next(generator.parameters()).device.type == "cpu"
    for key, value in generator.state_dict().items():  # what loads on the CPU is what the GPU run saved
        assert torch.equal(value, weights[key]), key
    # Resume on the GPU to 60 steps: the log continues where it stopped, and the weights are a straight 60-step
    # GPU run's (to float tolerance: cuDNN's backward may sum in another order from run to run).
    longer = preset_config(preset, device="cuda", **{**values, "steps": 60})
    train(longer, run, resume=True, quiet=True)
    straight = train(longer, tmp_path / "straight", quiet=True)
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [10, 20, 30, 40, 50, 60]
    straight_rows = [json.loads(line) for line in (straight / "stats.jsonl").read_text().splitlines()]
    for row, ref in zip(rows, straight_rows):
        for key in ("d_loss", "g_loss", "d_real", "d_fake"):
            assert row[key] == pytest.approx(ref[key], rel=1e-3, abs=1e-4), (row["step"], key)
    resumed, ref = load_file(str(run / "generator.safetensors")), load_file(str(straight / "generator.safetensors"))
    moved = max((ref[k].float() - weights[k].float()).abs().max().item() for k in ref)
    assert moved > 1e-3  # steps 40 to 60 changed G: the comparison below is not of two copies of one state
    for key in ref:
        torch.testing.assert_close(resumed[key], ref[key], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("preset", ["conv-r3gan", "conditional", "conv-conditional"])
def test_autograd_engine_on_cuda_matches_cpu(preset: str) -> None:
    """Three steps of a conv pair with R1/R2 (double backward through cuDNN), of the conditional pair, and of the
    conv conditional pair with the mode-seeking term (pairs found by a sort of the labels on the device).

    Plain SGD, not Adam: Adam's first steps move every weight by about lr whatever its gradient's size, so a bias
    whose gradient is zero up to round-off (a conv bias before BatchNorm) moves by +-lr on either device at random."""
    config = preset_config(preset, batch_size=32, lr_g=1e-3, lr_d=1e-3)
    torch.manual_seed(0)
    G, D = build_generator(config), build_discriminator(config)
    gen = torch.Generator().manual_seed(1)
    batches = [(torch.rand(32, 784, generator=gen), torch.rand(32, 100, generator=gen) * 2 - 1) for _ in range(3)]
    labels = torch.arange(32) % 10 if config.conditional else None
    moved = {}
    for device in ("cpu", "cuda"):
        g, d = copy.deepcopy(G).to(device), copy.deepcopy(D).to(device)
        opt_g, opt_d = torch.optim.SGD(g.parameters(), lr=0.05), torch.optim.SGD(d.parameters(), lr=0.05)
        step = GANStep(g, d, opt_g, opt_d, objective_from_config(config))
        assert step.engine == "autograd"
        for real, z in batches:
            step(real.to(device), z.to(device), None if labels is None else labels.to(device))
        moved[device] = torch.cat([p.detach().cpu().flatten() for p in [*g.parameters(), *d.parameters()]])
    start = torch.cat([p.detach().flatten() for p in [*G.parameters(), *D.parameters()]])
    assert (moved["cpu"] - start).abs().max() > 1e-3  # the weights did move
    torch.testing.assert_close(moved["cuda"] - start, moved["cpu"] - start, rtol=1e-3, atol=1e-5)


def test_compiled_step_on_cuda_matches_eager() -> None:
    config = preset_config("conv", batch_size=32)
    torch.manual_seed(0)
    G, D = build_generator(config).cuda(), build_discriminator(config).cuda()
    gen = torch.Generator(device="cuda").manual_seed(1)
    batches = [(torch.rand(32, 784, device="cuda", generator=gen), torch.rand(32, 100, device="cuda", generator=gen))]
    batches *= 3
    params = {}
    for compiled in (False, True):
        g, d = copy.deepcopy(G), copy.deepcopy(D)
        opt_g, opt_d = torch.optim.SGD(g.parameters(), lr=0.05), torch.optim.SGD(d.parameters(), lr=0.05)
        step = GANStep(g, d, opt_g, opt_d, objective_from_config(config), compile=compiled)
        for real, z in batches:
            step(real, z)
        params[compiled] = torch.cat([p.detach().flatten() for p in [*g.parameters(), *d.parameters()]])
    torch.testing.assert_close(params[True], params[False], rtol=1e-3, atol=1e-4)
