"""Redraw table.md and digits.png of an ablation folder over every preset in it.

`mnistgan ablate` redraws both for the presets of its own invocation; when a folder was filled by several
invocations (different presets, different seed counts), this puts them all in one table, in the order given.

    .venv/bin/python benchmarks/ablation_table.py benchmarks/results/ablation-2026-11-28 tutorial,r3gan,...
"""

from __future__ import annotations

import sys
from pathlib import Path

from mnistgan.ablate import load_results, markdown_table, plot_digits


def main() -> None:
    """Write OUT/table.md and OUT/digits.png for the listed presets (default: every subfolder)."""
    out = Path(sys.argv[1])
    presets = sys.argv[2].split(",") if len(sys.argv) > 2 else sorted(p.name for p in out.iterdir() if p.is_dir())
    results = {p: r for p, r in load_results(out, presets).items() if r}
    (out / "table.md").write_text(markdown_table(results))
    plot_digits(results, out / "digits.png")
    print((out / "table.md").read_text())


if __name__ == "__main__":
    main()
