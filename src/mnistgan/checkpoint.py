"""Checkpoints, written atomically (temp file + os.replace), so a crash mid-write never destroys the last good one.

Two kinds, as in stylegan2-ada: a small generator snapshot (`generator.safetensors`, weights plus the config as
metadata) that is all `sample` and `eval` need, and the full resume state (`resume.pt`: both networks, both
optimizers, the step, every RNG state and the config, as one plain dict of tensors, loadable with weights_only).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from torch import nn

from mnistgan.config import TrainConfig
from mnistgan.errors import UserError
from mnistgan.files import atomic_write_buffered, atomic_write_bytes
from mnistgan.memory import check_fits
from mnistgan.rundir import RESUME, SNAPSHOT  # noqa: F401 - the names, re-exported for older imports

RESUME_KEYS = ("G", "D", "opt_g", "opt_d", "step", "rng", "config")  # what every resume state holds


SNAPSHOT_FORMAT = "mnistgan-generator-2"


def save_snapshot(path: Path, generator: nn.Module, config: TrainConfig, step: int) -> None:
    """Write the generator's weights with the config and step as safetensors metadata.

    The metadata is one key holding sorted JSON: safetensors writes several metadata keys in an order that changes
    from run to run, so with one key the same weights and config always give the same bytes (and SHA-256).
    """
    # Own copies: safetensors refuses tensors that share memory, as views of a flat buffer do (adam.FlatAdam).
    own = torch.contiguous_format
    tensors = {k: v.detach().to("cpu").clone(memory_format=own) for k, v in generator.state_dict().items()}
    info = {"format": SNAPSHOT_FORMAT, "step": step, "config": config.to_dict()}
    meta = {"mnistgan": json.dumps(info, sort_keys=True)}
    # Serialised in memory first: a full disk then fails as a plain write (one clear error), never mid-format.
    atomic_write_bytes(Path(path), safetensors_bytes(tensors, metadata=meta))


def load_snapshot(path: Path) -> tuple[dict[str, torch.Tensor], TrainConfig, int]:
    """Weights, config and step of a generator snapshot."""
    path = Path(path)
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
        tensors = load_file(str(path))
    except (OSError, SafetensorError) as err:
        raise UserError(f"cannot read generator snapshot {path}: {err}") from None
    if "mnistgan" not in meta and "config" not in meta:
        raise UserError(f"{path} is not an mnistgan generator snapshot (no config in its metadata)")
    try:
        if "mnistgan" in meta:
            info = json.loads(meta["mnistgan"])
        else:  # mnistgan-generator-1: config, step and format as separate keys
            info = {"config": json.loads(meta["config"]), "step": int(meta.get("step", 0))}
        config, step = info["config"], int(info["step"])
        if not isinstance(config, dict):
            raise TypeError(f"config is a {type(config).__name__}, not an object")
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, RecursionError) as err:
        raise UserError(f"{path} has unreadable mnistgan metadata: {err}") from None
    try:
        return tensors, TrainConfig.from_dict(config).validate(), step
    except UserError as err:
        raise UserError(f"{path}: bad config in its metadata: {err}") from None


def rng_state(noise_gen: torch.Generator) -> dict[str, Any]:
    """Every RNG state that training draws from."""
    state = {"torch": torch.get_rng_state(), "noise": noise_gen.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], noise_gen: torch.Generator) -> None:
    """Restore what rng_state saved."""
    torch.set_rng_state(state["torch"])
    noise_gen.set_state(state["noise"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_resume(path: Path, state: dict[str, Any]) -> None:
    """Write the full resume state (a plain dict of state_dicts, tensors and numbers)."""
    # In memory first: torch.save straight into a full disk fails with a cryptic "unexpected pos".
    atomic_write_buffered(Path(path), lambda buffer: torch.save(state, buffer))


def load_resume(path: Path) -> dict[str, Any]:
    """Read a resume state written by save_resume; anything else (random bytes, a foreign or crafted pickle, a
    truncated file) is one UserError. weights_only=True: a hostile file cannot run code."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise UserError(f"cannot read resume state {path}: {err.strerror}") from None
    check_fits(2 * size, f"loading {path}", "this is not a resume state mnistgan wrote")
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickles on stderr; the error below says it all
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure to parse an untrusted file is the file's fault
        # The error's own text is not shown: for a pickle it advises weights_only=False, unsafe for a foreign file.
        raise UserError(
            f"{path} is not a resume state mnistgan can read ({type(err).__name__}); it cannot be resumed from"
        ) from None
    missing = [k for k in RESUME_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise UserError(f"{path} is not an mnistgan resume state (missing {', '.join(missing)})")
    return state


def saved_config(state: dict[str, Any], path: Path) -> TrainConfig:
    """The config a resume state was saved with."""
    try:
        values = json.loads(state["config"])
        if not isinstance(values, dict):
            raise TypeError("not an object")
    except (json.JSONDecodeError, TypeError, RecursionError) as err:
        raise UserError(f"{path}: unreadable config inside the resume state ({err})") from None
    try:
        return TrainConfig.from_dict(values)
    except UserError as err:
        raise UserError(f"{path}: bad config inside the resume state: {err}") from None


def find_snapshot(target: Path) -> Path:
    """A generator snapshot from a run directory or a snapshot file path."""
    target = Path(target)
    if target.is_dir():
        target = target / SNAPSHOT
    if not target.is_file():
        raise UserError(f"no generator snapshot at {target} (pass a run directory or a .safetensors file)")
    return target
