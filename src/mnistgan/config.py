"""Typed training configuration: every default carries its reason; named presets; JSON round trip.

No torch here: the CLI builds and prints a config (``--dry-run``) without importing the heavy stack.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnistgan.errors import UserError


@dataclass
class TrainConfig:
    """Everything that determines a training run. The defaults are the tutorial's GAN, unchanged."""

    preset: str = "tutorial"  # name of the preset these values came from (recorded, not read by training)

    # Data.
    dataset: str = "mnist"  # bundled MNIST: trains offline out of the box
    data_dir: str | None = None  # any folder of MNIST-format IDX files overrides `dataset`

    # Models.
    arch: str = "mlp"  # the tutorial's 100 -> 256 -> 784 generator and 784 -> 256 -> 1 discriminator
    z_dim: int = 100  # tutorial: "noise 100"
    g_hidden: int = 256  # tutorial: one hidden layer of 256 units in G
    d_hidden: int = 256  # tutorial: D "as complex as the generator", 256 units
    noise: str = "uniform"  # tutorial: z ~ Uniform(-1, 1)

    # Objective and optimisation.
    loss: str = "nsgan"  # tutorial: D on -log D(x) - log(1 - D(G(z))), G on non-saturating -log D(G(z))
    lr_g: float = 2e-4  # tutorial: Adam, learning rate 2e-4, for both networks
    lr_d: float = 2e-4
    beta1: float = 0.9  # tutorial uses tf.train.AdamOptimizer's defaults: beta1 0.9
    beta2: float = 0.999  # ... beta2 0.999
    adam_eps: float = 1e-8  # ... epsilon 1e-8 (torch's default too)
    batch_size: int = 128  # tutorial: 128 real images and 128 noise vectors a step
    steps: int = 70_000  # tutorial: 70,000 iterations
    simultaneous: bool = True  # tutorial: one sess.run updates D and G from the same batch and z

    # Run control.
    seed: int = 0  # same seed, same device: same weights
    device: str = "auto"  # cuda when present, else cpu
    threads: int = 0  # 0: one thread per physical core (torch's default oversubscribes hyperthreads)

    # Outputs.
    log_every: int = 100  # stats.jsonl row interval; the host syncs only here, never every step
    print_every: int = 2_000  # tutorial prints "Step i: Generator Loss ..." every 2,000 steps
    snapshot_every: int = 2_000  # fixed-noise grid for the progress GIF (35 frames over a full run)
    checkpoint_every: int = 10_000  # full resume state; a few MB, cheap next to 10k steps
    eval_every: int = 0  # 0: no metrics during training (set by the evaluation issue's flag)
    eval_samples: int = 2_000  # samples per in-training evaluation: a few seconds on CPU

    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes carried into config.json

    def validate(self) -> TrainConfig:
        """Raise UserError naming the first bad value; return self for chaining."""
        positive = ["z_dim", "g_hidden", "d_hidden", "batch_size", "steps", "log_every", "print_every"]
        positive += ["snapshot_every", "checkpoint_every", "eval_samples"]
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise UserError(f"{name} must be a positive integer, got {value!r}")
        for name in ["lr_g", "lr_d", "adam_eps"]:
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 < value < float("inf")):
                raise UserError(f"{name} must be a positive finite number, got {value!r}")
        for name in ["beta1", "beta2"]:
            value = getattr(self, name)
            if not (0 <= value < 1):
                raise UserError(f"{name} must be in [0, 1), got {value!r}")
        if self.eval_every < 0 or self.threads < 0:
            raise UserError("eval_every and threads must be >= 0")
        choices = {"device": DEVICES, "noise": NOISES, "arch": ARCHS, "loss": LOSSES}
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise UserError(f"{name} must be one of {', '.join(valid)}, got {getattr(self, name)!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a dict, rejecting unknown keys by name."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UserError(f"unknown config keys {unknown}; valid keys: {sorted(known)}")
        return cls(**values)


DEVICES = ("auto", "cpu", "cuda")
NOISES = ("uniform", "normal")
ARCHS = ("mlp",)
LOSSES = ("nsgan",)

# Presets: overrides on top of the tutorial defaults. Later issues add their remedies here.
PRESETS: dict[str, dict[str, Any]] = {
    "tutorial": {},
}


def preset_config(name: str, **overrides: Any) -> TrainConfig:
    """The named preset with overrides applied (None values are ignored), validated."""
    if name not in PRESETS:
        raise UserError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")
    values = {**PRESETS[name], "preset": name}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig.from_dict(values).validate()


def save_config(config: TrainConfig, path: Path) -> None:
    """Write config.json (indented, sorted keys, so runs diff cleanly)."""
    path.write_text(json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")


def load_config(path: Path) -> TrainConfig:
    """Read config.json written by save_config."""
    try:
        values = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise UserError(f"cannot read config {path}: {err}") from None
    return TrainConfig.from_dict(values)
