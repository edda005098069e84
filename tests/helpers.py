"""Helpers shared by the CLI and fault tests (imported as `helpers`: pytest puts tests/ on the path)."""

from __future__ import annotations

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
