"""The package as users get it: the wheel and sdist that `python -m build` makes, installed into a fresh virtual
environment (no editable install, no source tree on sys.path, cwd a temporary folder), train, sample and eval
there; the Python API (`import mnistgan`); the torch.hub entry points; the version in CITATION.cff.

The wheel test needs PyPI or pip's cache for the dependencies (torch from the local wheel): MNISTGAN_OFFLINE=1
skips it. It builds with --no-isolation (the dev venv's pinned setuptools), so building needs no network.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import mnistgan
from helpers import run_cli
from mnistgan.errors import UserError
from mnistgan.metrics.evaluator import EVALUATOR_SHA256, load_evaluator
from mnistgan.models import sample_noise
from mnistgan.pretrained import PRETRAINED

ROOT = Path(__file__).resolve().parent.parent
OFFLINE = os.environ.get("MNISTGAN_OFFLINE") == "1"
API = ["TrainConfig", "evaluate", "generate", "load_generator", "preset_config", "train"]


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; its stdout, or a failure showing both streams."""
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{argv} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that would put the source tree or the dev venv on sys.path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return env | {"OMP_NUM_THREADS": "1", **extra}


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One MNISTGAN_CACHE for this file's tests: the real-data reference is computed once, not per test."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def shared_cache(module_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point MNISTGAN_CACHE at the module's cache (after conftest's per-test one)."""
    monkeypatch.setenv("MNISTGAN_CACHE", str(module_cache))
    return module_cache


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel and sdist `python -m build` makes from this checkout (sdist first, then the wheel from it)."""
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)], cwd=out)
    return out


@pytest.mark.package
@pytest.mark.skipif(OFFLINE, reason="MNISTGAN_OFFLINE=1: installing the wheel's dependencies needs PyPI or pip's cache")
def test_wheel_installs_and_runs_outside_the_repo(dist: Path, tmp_path: Path) -> None:
    t0 = time.perf_counter()
    (wheel,) = dist.glob("mnistgan-*.whl")
    (sdist,) = dist.glob("mnistgan-*.tar.gz")
    assert wheel.name == f"mnistgan-{mnistgan.__version__}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = [f"mnistgan/weights/{f}" for f in ("evaluator.safetensors", "evaluator.json")]
    shipped += [f"mnistgan/weights/{p.file}" for p in PRETRAINED.values()]
    shipped += [f"mnistgan/datasets/mnist/{p.name}" for p in (ROOT / "src/mnistgan/datasets/mnist").glob("*.gz")]
    assert len(shipped) == 8 and not set(shipped) - names, set(shipped) - names
    assert f"mnistgan-{mnistgan.__version__}.dist-info/licenses/LICENSE" in names
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]
    for name in shipped:  # byte for byte the files in the repository
        assert zipfile.ZipFile(wheel).read(name) == (ROOT / "src" / name).read_bytes(), name
    print(f"\nwheel {wheel.stat().st_size / 2**20:.1f} MiB, sdist {sdist.stat().st_size / 2**20:.1f} MiB")

    # A fresh venv, the wheel and its pinned dependencies only; run from an empty folder.
    venv, work = tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    _run([sys.executable, "-m", "venv", str(venv)], cwd=work)
    py, exe = venv / "bin" / "python", venv / "bin" / "mnistgan"
    env = _clean_env(MNISTGAN_CACHE=str(tmp_path / "cache"))
    pip = [str(py), "-m", "pip", "install", "-q", "--no-compile"]  # no .pyc of torch: most of the install here
    _run([*pip, "-c", str(ROOT / "constraints.txt"), str(wheel)], cwd=work, env=env)
    t_install = time.perf_counter() - t0
    where = _run([str(py), "-c", "import mnistgan, sys; print(mnistgan.__file__); print(sys.path)"], work, env)
    assert where.splitlines()[0].startswith(str(venv)) and str(ROOT) not in where

    assert _run([str(exe), "--version"], work, env).strip() == f"mnistgan {mnistgan.__version__}"
    out = _run([str(exe), "train", "--steps", "50", "--eval-every", "0", "--quiet", "--out", "run"], work, env)
    assert (work / "run" / "generator.safetensors").is_file() and "run directory" in out
    assert _run([str(exe), "sample", "--pretrained", "--n", "16", "--grid", "g.png"], work, env)
    with Image.open(work / "g.png") as grid:  # 4x4 tiles of 28 px and 2 px padding, doubled
        assert grid.size == (2 * (4 * 30 + 2), 2 * (4 * 30 + 2)) and grid.mode == "L"
    argv = [str(exe), "eval", "--pretrained", "--n", "2000", "--metrics", "fd,digits", "--json", "e.json"]
    out = _run(argv, work, env)
    record = json.loads((work / "e.json").read_text())
    evaluator = (ROOT / "src/mnistgan/weights/evaluator.safetensors").read_bytes()
    assert record["evaluator_sha256"] == hashlib.sha256(evaluator).hexdigest()  # the shipped file's pin passed
    fd, real_fd = record["model"]["metrics"]["fd"], record["real"]["metrics"]["fd"]
    assert np.isfinite(fd) and 0 < fd < 15 and real_fd < fd, (fd, real_fd)  # conv-clusters: fd ~ 4 at n 10,000
    assert record["model"]["metrics"]["modes"] == 10, record["model"]["metrics"]
    print(f"install {t_install:.0f} s, all {time.perf_counter() - t0:.0f} s; fd {fd:.2f} (real {real_fd:.2f})")


def test_sdist_holds_what_the_wheel_is_built_from(dist: Path) -> None:
    import tarfile

    (sdist,) = dist.glob("mnistgan-*.tar.gz")
    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    for path in ("LICENSE", "README.md", "pyproject.toml", "CHANGELOG.md", "CITATION.cff", "hubconf.py"):
        assert path in names, path
    for path in ("src/mnistgan/weights/evaluator.safetensors", "src/mnistgan/datasets/mnist/t10k-images-idx3-ubyte.gz"):
        assert path in names, path


def test_api_names_are_lazy_and_documented() -> None:
    assert sorted(set(mnistgan.__all__) - {"__version__"}) == API
    code = "import sys, mnistgan; print('torch' in sys.modules); print(mnistgan.__version__)"
    out = _run([sys.executable, "-c", code], cwd=ROOT, env=_clean_env()).split()
    assert out == ["False", mnistgan.__version__]  # `import mnistgan` loads no torch
    code = "import sys; from mnistgan.cli import main; main(['--version']); print('torch' in sys.modules)"
    out = _run([sys.executable, "-c", code], cwd=ROOT, env=_clean_env()).split()
    assert out == ["mnistgan", mnistgan.__version__, "False"]  # nor does `mnistgan --version`
    for name in API:
        value = getattr(mnistgan, name)
        assert value.__doc__ and ">>> " in value.__doc__ and f"mnistgan.{name}(" in value.__doc__, name
    importlib.import_module("mnistgan.train")  # binding the submodule does not replace the function
    importlib.import_module("mnistgan.evaluate")
    assert callable(mnistgan.train) and mnistgan.train.__module__ == "mnistgan.api"
    assert mnistgan.evaluate.__module__ == "mnistgan.api" and "train" in dir(mnistgan)
    from mnistgan import evaluate, train

    assert (train, evaluate) == (mnistgan.train, mnistgan.evaluate)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mnistgan.nope  # noqa: B018


def test_api_round_trip(tiny_data_dir: Path, tmp_path: Path, shared_cache: Path) -> None:
    config = mnistgan.preset_config("tutorial", steps=20, data_dir=str(tiny_data_dir), eval_every=0)
    assert isinstance(config, mnistgan.TrainConfig)
    run = mnistgan.train(config, tmp_path / "run", quiet=True)
    generator, loaded, step = mnistgan.load_generator(run)
    assert step == 20 and loaded == config  # tiny_data_dir is absolute already, as train() saves it
    images = mnistgan.generate(generator, loaded, 600, seed=1)
    assert images.shape == (600, 28, 28) and images.dtype == np.uint8
    assert np.array_equal(images, mnistgan.generate(generator, loaded, 600, seed=1))
    result = mnistgan.evaluate(images, "fd,digits")
    assert result["n"] == 600 and np.isfinite(result["metrics"]["fd"]) and result["metrics"]["fd"] > 0
    floats = torch.from_numpy(images).float().div(255).reshape(600, 784)  # a float tensor scores the same
    assert mnistgan.evaluate(floats, ["fd"])["metrics"]["fd"] == pytest.approx(result["metrics"]["fd"])


def test_api_pretrained_and_digits(shared_cache: Path) -> None:
    generator, config, _ = mnistgan.load_generator(pretrained="conditional")
    sevens = mnistgan.generate(generator, config, 200, digit=7)
    shares = mnistgan.evaluate(sevens, "digits")["metrics"]
    assert shares["digits_hist"][7] > 0.8 * (1 - shares["unreadable"]), shares  # of those that read as a digit
    with pytest.raises(UserError, match="not both"):
        mnistgan.load_generator("runs/x", pretrained=True)


def test_torch_hub_returns_the_shipped_networks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], shared_cache: Path
) -> None:
    hub = {name: torch.hub.load(str(ROOT), name, source="local") for name in ("generator", "conditional", "evaluator")}
    g, c, e = hub["generator"], hub["conditional"], hub["evaluator"]
    assert not (g.training or c.training or e.training)
    code, _, err = run_cli(
        ["sample", "--pretrained", "--n", "16", "--seed", "3", "--npz", str(tmp_path / "s.npz")], capsys
    )
    assert code == 0, err
    z = sample_noise(16, g.z_dim, g.noise, torch.Generator().manual_seed(3), "cpu")
    with torch.no_grad():
        images = g(z, seed=3)
        assert images.shape == (16, 784) and 0 <= images.min() and images.max() <= 1
        drawn = images.mul(255).round().to(torch.uint8).reshape(16, 28, 28).numpy()
        assert np.array_equal(drawn, np.load(tmp_path / "s.npz")["images"])  # what `mnistgan sample` draws
        digits = c(torch.randn(10, c.z_dim), torch.arange(10))
        assert digits.shape == (10, 784)
        logits = e(digits.reshape(10, 1, 28, 28))
        assert logits.shape == (10, 10) and (logits.argmax(1) == torch.arange(10)).float().mean() >= 0.8
        assert e.forward_both(digits.reshape(10, 1, 28, 28))[0].shape == (10, 128)
    assert e is not load_evaluator()  # a copy of its own
    fresh = torch.hub.load(str(ROOT), "generator", source="local", pretrained=False)
    assert not torch.equal(next(fresh.parameters()), next(g.parameters()))


def test_citation_and_changelog_name_this_version() -> None:
    cff = (ROOT / "CITATION.cff").read_text()
    assert re.search(r"^cff-version: 1\.2\.0$", cff, re.M)
    assert re.search(rf'^version: "{re.escape(mnistgan.__version__)}"$', cff, re.M)
    assert re.search(r"^license: MIT$", cff, re.M) and "MIT License" in (ROOT / "LICENSE").read_text()
    for key in ("message", "title", "authors"):  # the keys CFF 1.2.0 requires
        assert re.search(rf"^{key}:", cff, re.M), key
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{mnistgan.__version__}] - " in changelog and "## [Unreleased]" in changelog
    pins = [EVALUATOR_SHA256]
    pins += [p.sha256 for p in PRETRAINED.values()]
    for pin in pins:  # every shipped file users get now is an event they can find
        assert pin[:12] in changelog, pin
