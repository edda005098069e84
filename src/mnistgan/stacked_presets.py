"""Stacked MNIST presets: the two published settings (docs/stacked-mnist.md), each with its baselines and remedies.

Step counts are the papers' own (PacGAN's code), so ``mnistgan ablate --full`` runs their lengths; on a laptop CPU
run ``--steps N`` (measured costs and our short schedule: docs/stacked-mnist.md). No torch here (config.py reads it).
"""

from __future__ import annotations

from typing import Any

# VEEGAN setting (Srivastava et al. 2017; PacGAN Table 2; PacGAN's VEEGAN_experiment/config.py): the fixed set of
# 128,000 stacks, DCGAN-tensorflow's networks, batch 64, z ~ U(-1, 1) of 100, Adam 2e-4 with beta1 0.5 (beta2 TF's
# default 0.999), 50 epochs of 128,000 / 64 = 2,000 steps = 100,000 steps.
_VEEGAN: dict[str, Any] = {"dataset": "stacked-mnist", "arch": "veegan-dcgan", "batch_size": 64, "z_dim": 100}
_VEEGAN |= {"noise": "uniform", "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999, "steps": 100_000}

# Unrolled-GAN setting with a weak D (Metz et al. 2017; PacGAN Table 3; PacGAN's unrolled_GAN_experiment config.py):
# fresh triples every batch, batch 128, z ~ N(0, 1) of 256, Adam lr_D 2e-4, lr_G 1e-4, betas (0.5, 0.99), one epoch of
# 500,000 * 128 samples = 500,000 steps.
_METZ: dict[str, Any] = {"dataset": "stacked-mnist-online", "arch": "metz-d4", "batch_size": 128, "z_dim": 256}
_METZ |= {"noise": "normal", "lr_g": 1e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.99, "steps": 500_000}
_METZ_D2 = {**_METZ, "arch": "metz-d2"}

# PacGAN m: D judges m samples on its channels. PacGAN keeps D's batch at 64 (128) *packed inputs*, so G draws 64m
# (128m) samples a step: our batch_size counts samples, hence batch_size * m here.
# The package's remedy (config.py's r3gan with an EMA of G): the relativistic pairing with R1 and R2, gamma 1 on
# [0, 1] pixels (untuned, as for MNIST); the D then has no BatchNorm (stacked_nets.py: a penalty needs per-sample D).
_R3 = {"loss": "rpgan", "r1_gamma": 1.0, "r2_gamma": 1.0, "ema_beta": 0.999}

STACKED_PRESETS: dict[str, dict[str, Any]] = {
    "stacked-dcgan": dict(_VEEGAN),
    "stacked-pacgan2": {**_VEEGAN, "pack": 2, "batch_size": 128},
    "stacked-unrolled5": {**_VEEGAN, "unroll_steps": 5},
    "stacked-r3gan": {**_VEEGAN, **_R3},
    "weakd4-dcgan": dict(_METZ),
    "weakd4-unrolled10": {**_METZ, "unroll_steps": 10},
    "weakd4-pacgan4": {**_METZ, "pack": 4, "batch_size": 512},
    "weakd4-r3gan": {**_METZ, **_R3},
    "weakd2-dcgan": dict(_METZ_D2),
    "weakd2-pacgan3": {**_METZ_D2, "pack": 3, "batch_size": 384},
    "weakd2-r3gan": {**_METZ_D2, **_R3},
}

STACKED_ABOUT: dict[str, str] = {
    "stacked-dcgan": "Stacked MNIST, VEEGAN setting: plain DCGAN (PacGAN Table 2's baseline)",
    "stacked-pacgan2": "Stacked MNIST, VEEGAN setting: PacDCGAN2, D judges pairs",
    "stacked-unrolled5": "Stacked MNIST, VEEGAN setting: G against D unrolled 5 steps",
    "stacked-r3gan": "Stacked MNIST, VEEGAN setting: relativistic loss, R1 + R2, EMA of G",
    "weakd4-dcgan": "Stacked MNIST, weak D (1/4 G): plain DCGAN (PacGAN Table 3)",
    "weakd4-unrolled10": "Stacked MNIST, weak D (1/4 G): G against D unrolled 10 steps (Metz et al. 2017)",
    "weakd4-pacgan4": "Stacked MNIST, weak D (1/4 G): PacDCGAN4",
    "weakd4-r3gan": "Stacked MNIST, weak D (1/4 G): relativistic loss, R1 + R2, EMA of G",
    "weakd2-dcgan": "Stacked MNIST, weak D (1/2 G): plain DCGAN",
    "weakd2-pacgan3": "Stacked MNIST, weak D (1/2 G): PacDCGAN3",
    "weakd2-r3gan": "Stacked MNIST, weak D (1/2 G): relativistic loss, R1 + R2, EMA of G",
}
