"""Helpers shared by the CLI and fault tests (imported as `helpers`: pytest puts tests/ on the path)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mnistgan.cli import main


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `mnistgan ARGV` in this process: (exit code, stdout, stderr); argparse's own exits included."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = int(exit_.code)
    out, err = capsys.readouterr()
    return code, out, err


def copy_run(src: Path, dest: Path) -> Path:
    """A byte-for-byte copy of a run directory (its subfolders too)."""
    for path in sorted(Path(src).rglob("*")):
        if path.is_file():
            target = dest / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    return dest


@contextlib.contextmanager
def serve_folder(root: Path) -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server of `root`: yields (base URL without a trailing slash, paths requested so far)."""
    requested: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # noqa: ANN002 - quiet, and a record of what was asked for
            requested.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested
    finally:
        server.shutdown()
        server.server_close()


def register_fake_mnist(monkeypatch: pytest.MonkeyPatch, folder: Path, mirrors: tuple[str, ...]) -> None:
    """Register dataset "fake-mnist" served by `mirrors`, pinned to the SHA-256 of the four files in `folder`."""
    from mnistgan import data
    from mnistgan.idx import sha256_of

    shas = tuple((stem, sha256_of((folder / f"{stem}.gz").read_bytes())) for stem in data.FILES.values())
    monkeypatch.setitem(data.DATASETS, "fake-mnist", data.DatasetSpec("fake-mnist", mirrors=mirrors, gz_sha256=shas))
