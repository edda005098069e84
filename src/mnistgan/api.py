"""The Python API a notebook needs, re-exported lazily by `import mnistgan`: train, load, generate, evaluate.

Each function is a thin door into the module that does the work (train.py, sample.py, metrics/core.py), with the
same arguments the CLI passes; nothing here computes anything of its own. A round trip:

    import mnistgan
    config = mnistgan.preset_config("tutorial", steps=200)
    run = mnistgan.train(config, "runs/try")                   # run directory, as `mnistgan train --out`
    generator, config, step = mnistgan.load_generator(run)     # or load_generator(pretrained=True)
    images = mnistgan.generate(generator, config, 1000)        # uint8 (1000, 28, 28)
    mnistgan.evaluate(images, "fd,digits")["metrics"]["fd"]   # Frechet distance in the evaluator's features
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mnistgan.config import TrainConfig, preset_config

if TYPE_CHECKING:
    from torch import nn

__all__ = ["TrainConfig", "evaluate", "generate", "load_generator", "preset_config", "train"]


def train(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    quiet: bool = False,
    overwrite: bool = False,
) -> Path:
    """Train a GAN as `config` says into `out_dir` (the same run directory `mnistgan train` writes); return it.

    resume continues out_dir's stopped run; overwrite replaces the run out_dir holds (otherwise it is refused).

    Example:
        >>> run = mnistgan.train(mnistgan.preset_config("tutorial", steps=500), "runs/short", quiet=True)
    """
    from mnistgan.train import train as train_run

    return train_run(config, Path(out_dir), resume=resume, quiet=quiet, overwrite=overwrite)


def load_generator(
    target: str | Path | None = None, *, pretrained: bool | str = False, device: str = "cpu"
) -> tuple[nn.Module, TrainConfig, int]:
    """(generator in eval mode, its TrainConfig, its training step) from a run directory or .safetensors snapshot,
    or with pretrained=True (or "conditional") the generator shipped in the package, SHA-256 checked.

    Example:
        >>> generator, config, step = mnistgan.load_generator(pretrained=True)
    """
    from mnistgan.errors import UserError
    from mnistgan.sample import load_generator as load

    if (target is None) == (not pretrained):
        raise UserError("load_generator: give a target run directory or snapshot, or pretrained=True (not both)")
    if pretrained:
        from mnistgan.pretrained import pretrained_run

        target = pretrained_run("unconditional" if pretrained is True else str(pretrained))
    return load(Path(target), device)


def generate(
    generator: nn.Module,
    config: TrainConfig,
    n: int,
    seed: int = 0,
    *,
    digit: int | None = None,
    truncation: float = 1.0,
) -> np.ndarray:
    """n images as uint8 (n, 28, 28), exactly those `mnistgan sample` draws with the same seed; `digit` (0-9) asks
    a digit-conditional generator for one digit; truncation < 1 scales the noise (cleaner, less varied).

    Example:
        >>> images = mnistgan.generate(generator, config, 64, seed=0)  # images.shape == (64, 28, 28)
    """
    from mnistgan.sample import generate as draw

    labels = None
    if digit is not None:
        from mnistgan.conditional import digit_labels
        from mnistgan.errors import UserError

        if config.clusters:
            raise UserError("digit: this generator is conditioned on k-means clusters, not digits")

        labels = digit_labels(digit, n)
    return draw(generator, config, n, seed=seed, labels=labels, truncation=truncation)


def evaluate(images: Any, metrics: str | list[str] | None = "fd,digits", seed: int = 0) -> dict:
    """Score images (uint8 0-255 or float 0-1; (N, 28, 28), (N, 784) or (N, 1, 28, 28); array or tensor) with the
    named metrics (a comma-separated string, a list, or None for all) against the MNIST test set, in the shipped
    evaluator's features. Returns {'n', 'seed', 'evaluator_sha256', 'metrics': {...}, 'seconds': {...}}.

    Example:
        >>> mnistgan.evaluate(images, "fd,digits")["metrics"]["fd"]  # lower is closer to real digits
    """
    from mnistgan.evaluate import to_uint8_images
    from mnistgan.metrics.core import evaluate as score

    if hasattr(images, "detach"):  # a torch tensor
        images = images.detach().cpu().numpy()
    return score(to_uint8_images(np.asarray(images)), metrics, seed)
