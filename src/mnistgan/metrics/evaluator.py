"""The evaluator: a small CNN MNIST classifier whose logits and penultimate features every metric is computed in.

Inception features mean nothing on 28x28 grayscale digits, so, as TF-GAN's `mnist_score` and
`mnist_frechet_distance` do, the feature network is a classifier trained on MNIST itself. Its weights ship inside
the package and are pinned by SHA-256 below, so a number measured here is comparable with one measured anywhere
else. Retraining it (`mnistgan evaluator train`) changes every metric: update the pin deliberately, and say so.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from mnistgan.errors import UserError

# SHA-256 of src/mnistgan/weights/evaluator.safetensors; written by `mnistgan evaluator train` (see evaluator.json).
EVALUATOR_SHA256 = "34c9e47b66a092608e2c003fc9fbedf95650846ab00c8a9cf42cf7d453ebc950"
FEATURE_DIM = 128  # width of the penultimate layer, the space fd, kid and pr measure in
MEAN, STD = 0.1307, 0.3081  # MNIST training-set pixel mean and std, for input standardisation


class Evaluator(nn.Module):
    """images (B, 1, 28, 28) in [0, 1] -> logits (B, 10); `features` gives the penultimate layer (B, 128)."""

    def __init__(self) -> None:
        super().__init__()

        def block(c_in: int, c_out: int, k: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.conv = nn.Sequential(
            *block(1, 32, 5), nn.MaxPool2d(2),  # (B, 32, 14, 14)
            *block(32, 32, 3), nn.MaxPool2d(2),  # (B, 32, 7, 7)
            *block(32, 64, 3),  # (B, 64, 7, 7)
            nn.Flatten(),  # (B, 3136)
        )  # fmt: skip
        self.fc = nn.Sequential(nn.Linear(64 * 7 * 7, FEATURE_DIM, bias=False), nn.BatchNorm1d(FEATURE_DIM), nn.ReLU())
        self.drop = nn.Dropout(0.3)  # training only: keeps the 128 features from co-adapting
        self.head = nn.Linear(FEATURE_DIM, 10)

    def forward_both(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(features (B, 128), logits (B, 10)) of images (B, 1, 28, 28) in [0, 1]."""
        h = self.fc(self.conv((x - MEAN) / STD))
        return h, self.head(self.drop(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, 10)."""
        return self.forward_both(x)[1]


def shipped_path() -> Path:
    """Where the package's evaluator weights live."""
    return Path(str(resources.files("mnistgan") / "weights" / "evaluator.safetensors"))


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


_LOADED: dict[str, Evaluator] = {}  # by SHA-256: one network per distinct weights file


def load_evaluator(path: Path | None = None, expected_sha256: str | None = EVALUATOR_SHA256) -> Evaluator:
    """The evaluator in eval mode on CPU, its file checked against the pinned SHA-256 (None skips the check)."""
    path = Path(path) if path is not None else shipped_path()
    if not path.is_file():
        raise UserError(f"no evaluator weights at {path} (train them with `mnistgan evaluator train`)")
    found = file_sha256(path)  # 1.7 MB: hashed on every call, so a changed file is never served from memory
    if found in _LOADED and expected_sha256 in (None, found):
        return _LOADED[found]
    if expected_sha256 is not None and found != expected_sha256:
        raise UserError(
            f"evaluator weights {path} have SHA-256 {found}, but {expected_sha256} is pinned "
            "(mnistgan/metrics/evaluator.py: EVALUATOR_SHA256); metrics from other weights are not comparable: "
            "reinstall the package, or update the pin if you retrained the evaluator on purpose"
        )
    try:
        tensors = load_file(str(path))
    except (OSError, SafetensorError) as err:
        raise UserError(f"cannot read evaluator weights {path}: {err}") from None
    net = Evaluator()
    net.load_state_dict(tensors)
    net.eval()
    net.sha256 = found  # type: ignore[attr-defined]  # recorded in every result and cache key
    _LOADED[found] = net
    return net


@torch.no_grad()
def embed(net: Evaluator, images: np.ndarray, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Features (N, 128) float32 and logits (N, 10) float32 of uint8 images (N, 28, 28), in eval mode.

    Eval mode makes each image's outputs independent of the others in its batch, so `batch_size` only trades
    memory for speed.
    """
    assert images.dtype == np.uint8 and images.ndim == 3 and images.shape[1:] == (28, 28), images.shape
    net.eval()
    feats, logits = [], []
    for start in range(0, len(images), batch_size):
        x = torch.from_numpy(np.array(images[start : start + batch_size]))  # a writable copy
        f, lg = net.forward_both(x.float().div_(255.0).unsqueeze(1))
        feats.append(f.numpy())
        logits.append(lg.numpy())
    if not feats:
        return np.zeros((0, FEATURE_DIM), np.float32), np.zeros((0, 10), np.float32)
    return np.concatenate(feats), np.concatenate(logits)
