"""MSGAN's mode-seeking term (Mao et al. 2019): its value against a hand computation, its pairing rule, and that
the step adds lambda times it to G's loss (and takes the autograd engine for it)."""

from __future__ import annotations

from pathlib import Path

import torch

from mnistgan.adam import make_optimizers
from mnistgan.config import preset_config
from mnistgan.data import Batcher, load_split
from mnistgan.models import build_discriminator, build_generator, sample_noise
from mnistgan.objectives import mode_seeking_loss, objective_from_config
from mnistgan.step import GANStep


def _ratio(fa: torch.Tensor, fb: torch.Tensor, za: torch.Tensor, zb: torch.Tensor) -> torch.Tensor:
    return (2 * (fa - fb).abs().mean(dim=-1)).sum() / (za - zb).abs().mean(dim=-1).sum()


def test_pairs_rows_with_the_same_label() -> None:
    gen = torch.Generator().manual_seed(0)
    fake, z = torch.rand(4, 6, generator=gen), torch.rand(4, 3, generator=gen)
    # Labels 1, 0, 1, 0: sorted, the pairs are rows (1, 3) and (0, 2).
    got = mode_seeking_loss(fake, z, torch.tensor([1, 0, 1, 0]))
    ratio = _ratio(fake[[1, 0]], fake[[3, 2]], z[[1, 0]], z[[3, 2]])
    torch.testing.assert_close(got, 1 / (ratio + 1e-5))
    # Labels 0, 1, 2, 2: the pair (0, 1) straddles two labels and counts for nothing; (2, 3) alone remains.
    got = mode_seeking_loss(fake, z, torch.tensor([0, 1, 2, 2]))
    torch.testing.assert_close(got, 1 / (_ratio(fake[2], fake[3], z[2], z[3]) + 1e-5))


def test_unconditional_pairs_the_two_halves() -> None:
    gen = torch.Generator().manual_seed(1)
    fake, z = torch.rand(6, 5, generator=gen), torch.rand(6, 2, generator=gen)
    torch.testing.assert_close(mode_seeking_loss(fake, z), 1 / (_ratio(fake[:3], fake[3:], z[:3], z[3:]) + 1e-5))


def test_collapse_costs_more_than_diversity() -> None:
    z = torch.rand(8, 4, generator=torch.Generator().manual_seed(2))
    same = torch.full((8, 10), 0.5) + 1e-3 * torch.arange(8.0)[:, None]  # one image, barely perturbed
    varied = torch.rand(8, 10, generator=torch.Generator().manual_seed(3))
    assert mode_seeking_loss(same, z) > 50 * mode_seeking_loss(varied, z)


def test_step_adds_lambda_times_the_term(tiny_data_dir: Path) -> None:
    values = dict(steps=5, batch_size=16, data_dir=str(tiny_data_dir), device="cpu", mode_seeking=0.7)
    config = preset_config("conv-conditional", **values)
    torch.manual_seed(0)
    G, D = build_generator(config), build_discriminator(config)
    opt_g, opt_d = make_optimizers(G, D, config, torch.device("cpu"))
    step = GANStep(G, D, opt_g, opt_d, objective_from_config(config))
    images, labels = load_split("train", data_dir=str(tiny_data_dir))
    real, y = Batcher(images, 16, 0, torch.device("cpu"), labels).batch_with_labels(0)
    z = sample_noise(16, config.z_dim, config.noise, torch.Generator().manual_seed(1), torch.device("cpu"))
    # Reference: G's gradient of softplus(-D(G(z, y), y)) + 0.7 * MS, from the same weights (BatchNorm in train mode).
    params = list(G.parameters())
    fake = G(z, y)
    logits = D(fake, y)
    ref_loss = torch.nn.functional.softplus(-logits).mean() + 0.7 * mode_seeking_loss(fake, z, y)
    ref = torch.autograd.grad(ref_loss, params)
    G.load_state_dict(G.state_dict())  # BatchNorm running stats moved; the step recomputes from the same weights
    step.opt_g.step = lambda: None  # keep the weights, look at the gradients
    step.opt_d.step = lambda: None
    assert step.engine == "autograd"
    step(real, z, y)
    for p, g in zip(params, ref):
        torch.testing.assert_close(p.grad, g, rtol=1e-4, atol=1e-6)


def test_mode_seeking_takes_the_autograd_engine(tiny_data_dir: Path) -> None:
    config = preset_config("tutorial", mode_seeking=1.0, batch_size=16, data_dir=str(tiny_data_dir))
    G, D = build_generator(config), build_discriminator(config)
    opt_g, opt_d = make_optimizers(G, D, config, torch.device("cpu"))
    assert GANStep(G, D, opt_g, opt_d, objective_from_config(config)).engine == "autograd"
