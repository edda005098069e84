"""Redraw table.md and digits.png of an ablation folder over every preset in it, and test a candidate preset
against the issue's definition of "fixed".

`mnistgan ablate` redraws both for the presets of its own invocation; when a folder was filled by several
invocations (different presets, different seed counts), this puts them all in one table, in the order given.

    .venv/bin/python benchmarks/ablation_table.py benchmarks/results/ablation-2026-11-28 tutorial,r3gan,...
    .venv/bin/python benchmarks/ablation_table.py benchmarks/results/ablation-2026-11-28 tutorial,r3gan,... \\
        --candidate-from benchmarks/results/ablation-full-2026-11-28 --candidate conv-clusters

With --candidate, every preset of --candidate-from (default the same folder; the candidate and, say, an earlier
recommended preset trained at the same step count) is set beside the listed ones in
CANDIDATE_DIR/criteria-CANDIDATE.md: one table, then each criterion of mnistgan.ablation_results.fixed_criteria
with what was measured and whether it holds. The candidate is compared with all of them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mnistgan.ablation_results import fixed_criteria, load_results, markdown_table, plot_digit_shares, result_steps


def _presets_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir())


def main() -> None:
    """Write OUT/table.md and OUT/digits.png for the listed presets (default: every subfolder); criteria.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="ablation folder")
    parser.add_argument("presets", nargs="?", default=None, help="comma-separated presets (default: all)")
    parser.add_argument("--candidate", default=None, help="preset to test against the issue's bar")
    parser.add_argument("--candidate-from", type=Path, default=None, help="folder holding the candidate's runs")
    args = parser.parse_args()
    out = args.out
    presets = args.presets.split(",") if args.presets else _presets_in(out)
    results = {p: r for p, r in load_results(out, presets).items() if r}
    (out / "table.md").write_text(markdown_table(results))
    plot_digit_shares(results, out / "digits.png")
    print((out / "table.md").read_text())
    if args.candidate:
        where = args.candidate_from or out
        both = dict(results)
        for preset, rows in load_results(where, _presets_in(where)).items():
            if not rows:
                continue
            if preset in both and where.resolve() != out.resolve():  # e.g. tutorial at 5,000 and 70,000 steps
                preset = f"{preset} ({result_steps(rows[0]):,} steps)"
            both[preset] = rows
        lines = [f"# {args.candidate} against the other unconditional presets\n", markdown_table(both)]
        lines += ["| criterion | measured | holds |", "|---|---|---|"]
        lines += [f"| {name} | {measured} | {'yes' if ok else '**no**'} |" for name, measured, ok in
                  fixed_criteria(both, args.candidate)]  # fmt: skip
        (where / f"criteria-{args.candidate}.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
