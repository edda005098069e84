"""Generators shipped inside the package (src/mnistgan/weights/), pinned by SHA-256, for `--pretrained`.

A shipped snapshot is an ordinary `generator.safetensors` (weights plus its config). `pretrained_run(kind)` checks
its hash and copies it into a run directory under the cache ($MNISTGAN_CACHE/pretrained/<kind>/), so `sample` and
`eval` treat it like any run and write their outputs (eval.json, memorization.png) there, never into the package.
Replacing a shipped file is a deliberate event: change its SHA-256 here and say so in the README.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mnistgan.checkpoint import SNAPSHOT
from mnistgan.data import cache_dir
from mnistgan.errors import UserError
from mnistgan.files import atomic_write


@dataclass(frozen=True)
class Pretrained:
    """One shipped generator: its file in mnistgan/weights, its pinned SHA-256, and how it was made."""

    file: str
    sha256: str
    made_by: str


# Seed 0 of the recommended preset, conv-clusters (README, "Mode collapse"; the seed-0 run of its 5-seed ablation,
# `mnistgan ablate --presets conv-clusters --seeds 5 --full --jobs 1 --threads 2`), and of the conditional
# conv-conditional. The commands reproduce the files bit for bit with the same torch build and thread count.
PRETRAINED: dict[str, Pretrained] = {
    "unconditional": Pretrained(
        "generator-conv-clusters.safetensors",
        "003f68331d83406e232e81dcd00335351dab24a848d24ff666b78d9777bcd430",
        "mnistgan train --preset conv-clusters --seed 0 --threads 2 --out runs/conv-clusters",
    ),
    "conditional": Pretrained(
        "generator-conditional.safetensors",
        "c3ecf33802ed8f3ea5e6f710be9ad0fbab85e23b4a42d8c078282c76de4085bd",
        "mnistgan train --preset conv-conditional --seed 0 --threads 1 --out runs/conv-conditional",
    ),
}


def shipped_file(kind: str) -> Path:
    """Path of the shipped snapshot of `kind` inside the installed package."""
    if kind not in PRETRAINED:
        raise UserError(f"unknown pretrained generator {kind!r}; valid: {', '.join(PRETRAINED)}")
    return Path(str(resources.files("mnistgan") / "weights" / PRETRAINED[kind].file))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pretrained_run(kind: str, registry: dict[str, Pretrained] | None = None, source: Path | None = None) -> Path:
    """A run directory holding the shipped `kind` generator, hash-checked (registry/source: for tests)."""
    entry = (registry or PRETRAINED).get(kind)
    if entry is None:
        raise UserError(f"unknown pretrained generator {kind!r}; valid: {', '.join(registry or PRETRAINED)}")
    src = source or shipped_file(kind)
    if not src.is_file():
        raise UserError(f"the package ships no {kind} generator at {src} (reinstall mnistgan)")
    found = _sha256(src)
    if found != entry.sha256:
        raise UserError(f"{src} has SHA-256 {found}, but {entry.sha256} is pinned (mnistgan/pretrained.py)")
    run = cache_dir() / "pretrained" / kind
    run.mkdir(parents=True, exist_ok=True)
    target = run / SNAPSHOT
    if not target.is_file() or _sha256(target) != found:
        atomic_write(target, lambda tmp: shutil.copyfile(src, tmp))
    return run
