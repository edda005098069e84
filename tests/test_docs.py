"""The README and docs pages: rendered from docs/src/ with the measured numbers (docs/build.py), links that resolve,
and no development history."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("docs_build", ROOT / "docs" / "build.py")
build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build)
PAGES = sorted(build.SOURCES.glob("*.md"))


def test_rendered_pages_match_their_sources() -> None:
    """README.md and docs/*.md are what docs/build.py makes of docs/src/: a hand edit or a changed number fails."""
    assert build.main(["--check"]) == 0


def test_every_number_says_how_it_was_measured() -> None:
    for name, entry in build.numbers().items():
        assert set(entry) >= {"value", "command", "measured", "load"}, name
        assert entry["command"] and re.fullmatch(r"\d{4}-\d\d-\d\d", entry["measured"]), name


def test_every_number_is_used_and_every_placeholder_known() -> None:
    used = {m.group(2) for page in PAGES for m in build.PLACEHOLDER.finditer(page.read_text()) if not m.group(1)}
    assert used == set(build.numbers())


def test_an_unknown_placeholder_is_an_error(tmp_path: Path) -> None:
    page = tmp_path / "x.md"
    page.write_text("takes {{no_such_number}} minutes")
    with pytest.raises(ValueError, match="no_such_number"):
        build.render(page, build.numbers())


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    out = build.target(page)
    for url in re.findall(r"\]\(([^)\s]+)\)", out.read_text()):
        if not url.startswith(("http://", "https://", "#")):
            assert (out.parent / url.split("#")[0]).exists(), f"{out.name}: {url}"


HISTORY = re.compile(r"previous (session|recommendation)|the issue's|this session|earlier session", re.IGNORECASE)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_development_history(page: Path) -> None:
    """The pages describe the product, not how it got here."""
    assert not HISTORY.findall(page.read_text())


def test_readme_is_a_five_minute_read() -> None:
    words = len(build.target(build.SOURCES / "README.md").read_text().split())
    assert words < 1_500, words  # about 250 words a minute, tables and code included


def test_numbers_file_is_valid_json() -> None:
    assert isinstance(json.loads(build.NUMBERS.read_text()), dict)
