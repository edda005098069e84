"""Property-based tests of every reader a user's file reaches: arbitrary bytes and mutated valid files give either
a correct result or the one-line UserError, never another exception and never unbounded memory."""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mnistgan.checkpoint import load_resume, load_snapshot
from mnistgan.config import load_config, preset_config
from mnistgan.errors import UserError
from mnistgan.evaluate import load_array_file, load_png_folder, to_uint8_images
from mnistgan.idx import parse_idx, read_idx, write_idx
from mnistgan.rundir import read_jsonl
from mnistgan.train import train

# derandomize: the same examples on every run, so CI never fails on a case nobody has seen; explore new ones with
# MNISTGAN_HYPOTHESIS_RANDOM=1 (random examples; `--hypothesis-seed=N` to replay),
# or more of them with MNISTGAN_HYPOTHESIS_EXAMPLES=300.
SETTINGS = settings(
    max_examples=int(os.environ.get("MNISTGAN_HYPOTHESIS_EXAMPLES", 120)),
    deadline=None,
    derandomize="MNISTGAN_HYPOTHESIS_RANDOM" not in os.environ,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
VALID = np.arange(2 * 5 * 3, dtype=np.uint8).reshape(2, 5, 3)


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    out = bytearray(data)
    for pos, value in edits:
        if out:
            out[pos % len(out)] = value
    return bytes(out[:cut] if cut is not None else out)


mutations = st.tuples(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4),
                      st.one_of(st.none(), st.integers(0, 200)))  # fmt: skip


def _readable_or_user_error(read, path: Path) -> object:  # noqa: ANN001
    try:
        return read(path)
    except UserError as err:
        assert "\n" not in str(err) and str(err)
        return None


@SETTINGS
@given(data=st.binary(max_size=300), gz=st.booleans())
def test_idx_reader_on_arbitrary_bytes(data: bytes, gz: bool, tmp_path: Path) -> None:
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(gzip.compress(data) if gz else data)
    result = _readable_or_user_error(read_idx, path)
    if result is not None:  # a valid file by chance: it must be exactly what its header says
        assert result.nbytes + 4 + 4 * result.ndim == len(data)


@SETTINGS
@given(mutation=mutations, gz=st.booleans())
def test_idx_reader_on_mutated_valid_files(mutation, gz: bool, tmp_path: Path) -> None:  # noqa: ANN001
    data = _mutate(_idx_bytes(VALID), *mutation)
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(gzip.compress(data) if gz else data)
    result = _readable_or_user_error(read_idx, path)
    if result is not None and data == _idx_bytes(VALID):
        np.testing.assert_array_equal(result, VALID)
    if result is not None:
        assert result.size == int(np.prod(result.shape))


@SETTINGS
@given(shape=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=4))
def test_idx_header_claiming_any_shape_never_allocates_it(shape: list[int], tmp_path: Path) -> None:
    data = bytes([0, 0, 0x08, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape) + bytes(64)
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(data))
    result = _readable_or_user_error(read_idx, path)
    assert result is None or result.size == int(np.prod(shape)) == 64


def test_idx_round_trip(tmp_path: Path) -> None:
    write_idx(tmp_path / "a.gz", VALID)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), VALID)
    np.testing.assert_array_equal(parse_idx(_idx_bytes(VALID)), VALID)


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


IMAGES = (np.arange(3 * 784) % 256).astype(np.uint8).reshape(3, 28, 28)


def _load_images(path: Path) -> np.ndarray:
    return to_uint8_images(load_array_file(path), str(path))


@SETTINGS
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".npz", ".npy"]))
def test_array_loader_on_arbitrary_bytes(data: bytes, suffix: str, tmp_path: Path) -> None:
    path = tmp_path / f"x{suffix}"
    path.write_bytes(data)
    _readable_or_user_error(_load_images, path)


@SETTINGS
@given(mutation=mutations, suffix=st.sampled_from([".npz", ".npy"]))
def test_array_loader_on_mutated_valid_files(mutation, suffix: str, tmp_path: Path) -> None:  # noqa: ANN001
    valid = _npz_bytes(images=IMAGES) if suffix == ".npz" else _npy_bytes(IMAGES)
    data = _mutate(valid, *mutation)
    path = tmp_path / f"x{suffix}"
    path.write_bytes(data)
    result = _readable_or_user_error(_load_images, path)
    if result is not None and data == valid:
        np.testing.assert_array_equal(result, IMAGES)
    if result is not None:
        assert result.dtype == np.uint8 and result.shape[1:] == (28, 28)


def test_array_loader_refuses_a_header_bigger_than_memory(tmp_path: Path) -> None:
    header = _npy_bytes(np.zeros((1, 28, 28), np.uint8)).replace(
        b"(1, 28, 28)", b"(10**12, 28, 28)"[:0] or b"(999999999999, 28, 28)"
    )
    (tmp_path / "big.npy").write_bytes(header)
    with pytest.raises(UserError, match="would need about"):
        load_array_file(tmp_path / "big.npy")


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(IMAGES[0]).save(buffer, format="PNG")
    return buffer.getvalue()


@SETTINGS
@given(mutation=mutations)
def test_png_folder_on_mutated_files(mutation, tmp_path: Path) -> None:  # noqa: ANN001
    folder = tmp_path / "pngs"
    folder.mkdir(exist_ok=True)
    valid = _png_bytes()
    data = _mutate(valid, *mutation)
    (folder / "0.png").write_bytes(data)
    result = _readable_or_user_error(load_png_folder, folder)
    if result is not None:
        assert result.shape == (1, 28, 28) and result.dtype == np.uint8
    if result is not None and data == valid:
        np.testing.assert_array_equal(result[0], IMAGES[0])


@pytest.fixture(scope="module")
def tiny_run(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = preset_config("tutorial", steps=4, data_dir=str(tiny_data_dir), log_every=2, device="cpu")
    return train(config, tmp_path_factory.mktemp("props") / "run", quiet=True)


@SETTINGS
@given(mutation=mutations, name=st.sampled_from(["config.json", "stats.jsonl", "generator.safetensors"]))
def test_run_directory_readers_on_mutated_files(tiny_run: Path, mutation, name: str, tmp_path: Path) -> None:  # noqa: ANN001
    valid = (tiny_run / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(_mutate(valid, *mutation))
    read = {"config.json": load_config, "stats.jsonl": read_jsonl, "generator.safetensors": load_snapshot}[name]
    result = _readable_or_user_error(read, path)
    if name == "stats.jsonl" and result is not None:
        assert all(isinstance(row, dict) and isinstance(row["step"], (int, float)) for row in result)


@SETTINGS
@given(data=st.binary(max_size=300), name=st.sampled_from(["config.json", "stats.jsonl", "generator.safetensors"]))
def test_run_directory_readers_on_arbitrary_bytes(data: bytes, name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    read = {"config.json": load_config, "stats.jsonl": read_jsonl, "generator.safetensors": load_snapshot}[name]
    _readable_or_user_error(read, path)


@settings(
    max_examples=40,
    deadline=None,
    derandomize="MNISTGAN_HYPOTHESIS_RANDOM" not in os.environ,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(mutation=mutations)
def test_resume_state_reader_on_mutated_files(tiny_run: Path, mutation, tmp_path: Path) -> None:  # noqa: ANN001
    valid = (tiny_run / "resume.pt").read_bytes()
    # Mutations land in the zip's first 1 MB (headers, pickle, the first tensors) and in its last bytes.
    edits, cut = mutation
    data = _mutate(valid, edits, None if cut is None else len(valid) - cut * 100)
    path = tmp_path / "resume.pt"
    path.write_bytes(data)
    result = _readable_or_user_error(load_resume, path)
    if result is not None:
        assert isinstance(result, dict) and "G" in result


@SETTINGS
@given(values=st.dictionaries(st.sampled_from(["steps", "lr_g", "arch", "data_dir", "extra", "ema_beta", "pack"]),
                              st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(), st.text(max_size=5),
                                        st.lists(st.integers(), max_size=2))))  # fmt: skip
def test_config_of_any_json_values_is_loaded_or_refused_by_name(values: dict, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(values))
    try:
        load_config(path).validate()
    except UserError as err:
        assert "\n" not in str(err)
    assert torch.is_tensor(torch.zeros(1))
