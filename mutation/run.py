"""Mutation testing of the core modules with mutmut 3: `make mutation` or `python mutation/run.py GROUP...`.

Each group mutates a few modules and runs only the fast test files that exercise them (mutmut further narrows that,
per mutant, to the tests whose calls reach the mutated function). A group runs in its own scratch copy of the
repository, build/mutation/<group>/ (git-ignored), with a setup.cfg written for it, so groups never share mutmut
state and the checkout itself is never touched. Re-running a group reuses the results of mutants already tested.

The score of a group is killed / (killed + survived + timeout + no tests + suspicious), printed with and without the
surviving mutants that mutation/equivalent.txt lists as equivalent (each with the reason it cannot change behaviour).
A mutant listed there that no longer survives, or no longer exists, is reported so the list stays true.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = Path(sys.executable).with_name("mutmut")

# group: (modules to mutate, fast test files that exercise them)
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "losses": (
        ["losses.py", "objectives.py"],
        [
            "test_objectives.py",
            "test_gaps_objectives.py",
            "test_gaps_options.py",
            "test_mode_seeking.py",
            "test_step.py",
            "test_lsgan.py",
            "test_unrolled.py",
            "test_gaps_unrolled.py",
        ],
    ),
    "step": (["step.py"], ["test_step.py", "test_gaps_stats.py", "test_gaps_unrolled.py", "test_gaps_options.py"]),
    "adam": (["adam.py"], ["test_step.py", "test_checkpoint.py"]),
    "ema": (["ema.py"], ["test_ema.py", "test_gaps_ema.py", "test_gaps_options.py"]),
    "unrolled": (["unrolled.py"], ["test_unrolled.py", "test_gaps_unrolled.py"]),
    "data": (
        ["data.py", "idx.py"],
        [
            "test_data.py",
            "test_idx.py",
            "test_gaps_idx.py",
            "test_idx_bounds.py",
            "test_gaps_batcher.py",
            "test_faults_props.py",
            "test_data_edges.py",
        ],
    ),
    "checkpoint": (
        ["checkpoint.py", "train.py"],
        ["test_checkpoint.py", "test_train.py", "test_gaps_resume.py", "test_gaps_options.py"],
    ),
    "metrics": (
        [f"metrics/{m}.py" for m in ("prdc", "neighbors", "frechet", "kid", "parzen", "memorization", "score")],
        ["test_metrics.py", "test_gaps_prdc.py"],
    ),
}


def _setup_cfg(modules: list[str], tests: list[str]) -> str:
    lines = ["[mutmut]", "source_paths = src/", "only_mutate ="]
    lines += [f"    src/mnistgan/{m}" for m in modules]
    lines += ["pytest_add_cli_args_test_selection ="] + [f"    tests/{t}" for t in tests]
    lines += ["pytest_add_cli_args =", "    -p", "    no:cacheprovider", "    -q"]
    lines += ["process_isolation = forkserver"]  # torch is not fork-safe once its thread pools have started
    return "\n".join(lines) + "\n"


def prepare(group: str) -> Path:
    """The group's scratch copy: src, tests and pyproject.toml as they are now, and the group's setup.cfg."""
    modules, tests = GROUPS[group]
    work = ROOT / "build" / "mutation" / group
    work.mkdir(parents=True, exist_ok=True)
    for name in ("src", "tests"):
        if (work / name).exists():
            shutil.rmtree(work / name)
        shutil.copytree(ROOT / name, work / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")  # pytest's settings; it has no [tool.mutmut]
    (work / "setup.cfg").write_text(_setup_cfg(modules, tests))
    return work


def equivalents() -> dict[str, str]:
    """mutant name -> reason, from mutation/equivalent.txt (`name: reason` lines; # comments)."""
    out = {}
    for line in (ROOT / "mutation" / "equivalent.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.partition(":")
            out[name.strip()] = reason.strip()
    return out


def statuses(work: Path) -> dict[str, str]:
    """mutant name -> mutmut status (killed, survived, timeout, no tests, ...) for every mutant of the group."""
    res = subprocess.run([str(MUTMUT), "results", "--all", "true"], cwd=work, capture_output=True, text=True)
    out = {}
    for line in res.stdout.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep:
            out[name] = status
    return out


def report(group: str, work: Path, known: dict[str, str]) -> dict:
    """Counts and scores of one group; survivors not listed as equivalent are printed with their diffs."""
    found = statuses(work)
    counts: dict[str, int] = {}
    for status in found.values():
        counts[status] = counts.get(status, 0) + 1
    killed = counts.get("killed", 0)
    tested = sum(n for s, n in counts.items() if s not in ("skipped", "not checked"))
    alive = [n for n, s in found.items() if s not in ("killed", "skipped", "not checked")]
    listed = [n for n in alive if n in known]
    stale = [n for n in known if n in found and n not in alive]
    row = {"group": group, "mutants": len(found), "counts": counts, "killed": killed, "tested": tested}
    row["score"] = killed / tested if tested else None
    row["score_without_equivalents"] = killed / (tested - len(listed)) if tested > len(listed) else None
    row["unexplained"] = [n for n in alive if n not in known]
    row["listed_but_killed"] = stale
    for name in row["unexplained"]:
        diff = subprocess.run([str(MUTMUT), "show", name], cwd=work, capture_output=True, text=True).stdout
        print(diff.rstrip())
    return row


def main(argv: list[str] | None = None) -> int:
    """Run the named groups (default: all) and print one JSON line of counts and scores per group."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", help=f"groups to run (default all): {', '.join(GROUPS)}")
    parser.add_argument("--max-children", type=int, default=1, help="mutants tested at once (default 1)")
    parser.add_argument("--report-only", action="store_true", help="print the scores of the last run, run nothing")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="mutant name glob to run (repeatable), e.g. "
        "'mnistgan.losses.*'; the report still counts every mutant tested so far in the group",
    )
    args = parser.parse_args(argv)
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown groups {unknown}; valid: {', '.join(GROUPS)}")
    if not MUTMUT.exists():
        parser.error(f"{MUTMUT} not found: pip install -c constraints.txt -e '.[mutation]'")
    known = equivalents()
    failed = False
    for group in args.groups or list(GROUPS):
        work = ROOT / "build" / "mutation" / group if args.report_only else prepare(group)
        if not args.report_only:
            cmd = [str(MUTMUT), "run", "--max-children", str(args.max_children), *args.only]
            env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
            failed |= subprocess.run(cmd, cwd=work, env=env).returncode != 0
        print(json.dumps(report(group, work, known)))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
