"""Samples from a generator (images, or points for a 2-D dataset): sampling from a snapshot, grids, PNGs and the
progress GIF."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from mnistgan.checkpoint import find_snapshot, load_snapshot
from mnistgan.conditional import ConditionalGenerator, LabelSampler
from mnistgan.config import TrainConfig
from mnistgan.errors import UserError
from mnistgan.files import atomic_write_buffered
from mnistgan.models import build_generator, sample_noise


def to_uint8(images: torch.Tensor, shape: tuple[int, ...] = (28, 28)) -> np.ndarray:
    """Float samples in [0, 1], flat (N, prod(shape)) or shaped, to uint8 (N, *shape): MNIST (N, 28, 28), Stacked
    MNIST (N, 3, 28, 28)."""
    pixels = images.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8)
    return pixels.reshape(-1, *shape).cpu().numpy()


def sample_shape(config: TrainConfig) -> tuple[int, ...]:
    """The shape of one sample of the config's dataset ((28, 28) for MNIST-format data, (3, 28, 28) stacked)."""
    from mnistgan.data import DATASETS

    spec = DATASETS.get(config.dataset) if config.data_dir is None else None
    return tuple(spec.shape) if spec is not None else (28, 28)


def make_grid(images: np.ndarray, nrow: int, pad: int = 2, pad_value: int = 255) -> np.ndarray:
    """Tile uint8 images (N, H, W) into one (rows*(H+pad)+pad, nrow*(W+pad)+pad) uint8 picture, row-major; 3-channel
    samples (N, 3, H, W) into an RGB picture (..., 3), each channel's digit in its own colour."""
    if images.ndim == 4:  # (N, C, H, W) -> (N, H, W, C)
        images = images.transpose(0, 2, 3, 1)
    n, h, w = images.shape[:3]
    ncol = nrow
    nrows = -(-n // ncol)
    grid = np.full((nrows * (h + pad) + pad, ncol * (w + pad) + pad, *images.shape[3:]), pad_value, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[top : top + h, left : left + w] = images[i]
    return grid


def save_png(array: np.ndarray, path: Path, scale: int = 1) -> None:
    """Save a uint8 picture, grayscale (H, W) or RGB (H, W, 3) (one sample (3, H, W) is turned RGB), enlarged by an
    integer factor, atomically."""
    if array.ndim == 3 and array.shape[0] == 3:  # one 3-channel sample (3, H, W)
        array = array.transpose(1, 2, 0)
    image = Image.fromarray(np.ascontiguousarray(array), mode="L" if array.ndim == 2 else "RGB")
    if scale > 1:
        image = image.resize((array.shape[1] * scale, array.shape[0] * scale), Image.NEAREST)
    atomic_write_buffered(path, lambda buffer: image.save(buffer, format="PNG"))


def save_gif(frames: list[Path], path: Path, ms_per_frame: int = 150, mode: str | None = None) -> None:
    """An animated GIF of PNG frames (the fixed-noise grids over training; RGB for Stacked MNIST grids and colour
    scatter frames, unless `mode` says); the last frame lingers."""
    opened = [Image.open(f) for f in frames]
    mode = mode or ("RGB" if any(im.mode == "RGB" for im in opened) else "L")
    images = [im.convert(mode) for im in opened]
    if not images:
        return
    durations = [ms_per_frame] * (len(images) - 1) + [1500]
    rest = {"save_all": True, "append_images": images[1:], "duration": durations, "loop": 0}
    atomic_write_buffered(path, lambda buffer: images[0].save(buffer, format="GIF", **rest))


def load_generator(target: Path, device: str | torch.device = "cpu") -> tuple[nn.Module, TrainConfig, int]:
    """The generator (in eval mode: BatchNorm uses its running statistics), its config and its step, from a run
    directory or a snapshot file; any architecture the config can build (MLP, conv, conditional)."""
    tensors, config, step = load_snapshot(find_snapshot(target))
    generator = build_generator(config)
    if isinstance(generator, ConditionalGenerator) and "label_probs" not in tensors:  # digit runs before the buffer
        tensors["label_probs"] = torch.from_numpy(_digit_sampler(config.dataset, config.data_dir).probs).float()
    try:
        generator.load_state_dict(tensors)
    except RuntimeError as err:
        raise UserError(f"snapshot {target} does not match the generator its config builds: {err}") from None
    return generator.to(device).eval(), config, step


@functools.lru_cache(maxsize=4)
def _digit_sampler(dataset: str, data_dir: str | None) -> LabelSampler:
    from mnistgan.data import load_split

    return LabelSampler(load_split("train", dataset, data_dir)[1])


@torch.no_grad()
def generate(
    generator: nn.Module,
    config: TrainConfig,
    n: int,
    seed: int = 0,
    batch_size: int = 1000,
    labels: torch.Tensor | None = None,
    noise: torch.Tensor | None = None,
    truncation: float = 1.0,
) -> np.ndarray:
    """n samples as the dataset stores them: uint8 images (n, *sample_shape(config)), MNIST (n, 28, 28), or float32
    points (n, 2); the noise comes from one generator seeded with `seed` (or is `noise` (n, z_dim)), times
    `truncation` (below 1 trades diversity for fidelity: benchmarks/truncation.py). A conditional generator draws
    `labels` (n,), by default the data's proportions."""
    from mnistgan.data import spec_of

    points = spec_of(config.dataset, config.data_dir).kind == "points"
    device = next(generator.parameters()).device
    conditional = isinstance(generator, ConditionalGenerator)
    if conditional and labels is None:
        labels = generator.default_labels(n, seed)
    if not conditional and labels is not None:
        raise UserError("this generator is unconditional: it cannot draw a chosen digit (train with --conditional)")
    gen = torch.Generator(device=device).manual_seed(seed)
    shape = sample_shape(config)
    convert = (lambda x: x.detach().float().cpu().numpy()) if points else (lambda x: to_uint8(x, shape))
    out = []
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        if noise is not None:
            z = noise[start : start + m].to(device)
        else:
            z = sample_noise(m, config.z_dim, config.noise, gen, device)
        if truncation != 1.0:
            z = z * truncation
        if conditional:
            out.append(convert(generator(z, labels[start : start + m].to(device))))
        else:
            out.append(convert(generator(z)))
    return np.concatenate(out) if out else (np.zeros((0, 2), np.float32) if points else np.zeros((0, *shape), np.uint8))
