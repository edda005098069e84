"""mnistgan: the tutorial's MLP GAN on MNIST, reproduced on PyTorch, measured, fixed and made fast.

The notebook API (mnistgan/api.py), imported on first use so that `import mnistgan` and the CLI start without
loading torch:

    import mnistgan
    config = mnistgan.preset_config("tutorial", steps=200)
    run = mnistgan.train(config, "runs/try")
    generator, config, step = mnistgan.load_generator(run)   # or load_generator(pretrained=True)
    images = mnistgan.generate(generator, config, 1000)      # uint8 (1000, 28, 28)
    mnistgan.evaluate(images, "fd,digits")["metrics"]["fd"]

`mnistgan.train` and `mnistgan.evaluate` are these functions even though the package also has modules of those
names: importing a submodule binds it as an attribute of its package, which here is refused for the API's names
(the module stays in sys.modules; `from mnistgan.train import ...` and importlib.import_module reach it).
"""

from __future__ import annotations

import sys
import types

__version__ = (
    "0.1.0"  # the one version string: pyproject.toml reads it (tool.setuptools.dynamic), CITATION.cff repeats it
)

# name -> module that defines it; resolved on first attribute access (PEP 562).
_API = {
    "TrainConfig": "mnistgan.config",
    "preset_config": "mnistgan.config",
    "train": "mnistgan.api",
    "load_generator": "mnistgan.api",
    "generate": "mnistgan.api",
    "evaluate": "mnistgan.api",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> object:
    """The API's names, imported when first asked for."""
    if name not in _API:
        raise AttributeError(f"module 'mnistgan' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_API[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names, the lazy ones included."""
    return sorted({*globals(), *_API})


class _Package(types.ModuleType):
    """The package module, keeping its API names when a submodule of the same name (train, evaluate) is imported."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _API and isinstance(value, types.ModuleType):
            return  # the import system binding mnistgan.train (the module) over mnistgan.train (the function)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
