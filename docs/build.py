"""Render the README and the docs pages from their sources, so every measured number has one home.

    python docs/build.py            # write README.md and docs/*.md from docs/src/*.md
    python docs/build.py --check    # exit 1, naming the file, if a rendered page differs from its source's render

Sources live in docs/src/: README.md renders to the repository's README.md, every other page to docs/<page>.md.
Two kinds of placeholder are filled in:
- `{{name}}`: a measured value from benchmarks/results/numbers.json, where each entry records the value, the command
  that measured it, when, and the machine's load: the README and every page read the same entry, so two pages
  cannot give two different times for one thing (benchmarks/front_page_times.py writes the set-up and training
  times);
- `{{include:path}}`: the contents of a results file (a table written by `mnistgan ablate`, say), path relative to the
  repository root, so a table is never copied by hand.
An unknown name or a missing file is an error. Edit the sources, never the rendered pages: `tests/test_docs.py`
fails when the two disagree.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "docs" / "src"
NUMBERS = ROOT / "benchmarks" / "results" / "numbers.json"
PLACEHOLDER = re.compile(r"\{\{\s*(include:)?([^}\s]+)\s*\}\}")
BANNER = "<!-- rendered by docs/build.py from docs/src/{name}: edit that file, then run python docs/build.py -->\n"


def numbers() -> dict[str, dict]:
    """name -> {value, command, measured, load} from numbers.json."""
    return json.loads(NUMBERS.read_text())


def target(source: Path) -> Path:
    """Where a source page renders to."""
    return ROOT / "README.md" if source.name == "README.md" else ROOT / "docs" / source.name


def render(source: Path, values: dict[str, dict]) -> str:
    """The page's text with every placeholder filled; ValueError naming the first one that cannot be."""

    def fill(match: re.Match) -> str:
        include, name = match.group(1), match.group(2)
        if include:
            path = ROOT / name
            if not path.is_file():
                raise ValueError(f"{source.name}: {{{{include:{name}}}}}: no such file")
            return path.read_text().rstrip("\n")
        if name not in values:
            raise ValueError(f"{source.name}: {{{{{name}}}}} is not in {NUMBERS.relative_to(ROOT)}")
        return str(values[name]["value"])

    return BANNER.format(name=source.name) + PLACEHOLDER.sub(fill, source.read_text())


def main(argv: list[str]) -> int:
    check = "--check" in argv
    values = numbers()
    stale = []
    for source in sorted(SOURCES.glob("*.md")):
        text, out = render(source, values), target(source)
        if check:
            if not out.is_file() or out.read_text() != text:
                stale.append(str(out.relative_to(ROOT)))
        else:
            out.write_text(text)
    if stale:
        print(f"out of date (run python docs/build.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
