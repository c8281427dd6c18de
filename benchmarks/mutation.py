"""Mutation testing: plant one small, realistic bug at a time and see whether the tests notice.

mutmut and friends generate thousands of operator swaps and need hours on two cores; the lists
in ``benchmarks/mutants.py`` hold the bugs a person writing this code could plausibly make.
Each mutant is made in a scratch copy of the source (the working tree is never touched), and
only the tests that can see the mutated file run against it (``tests_that_see``): a mutant is
*killed* when they fail, *survives* when they pass, and a *timeout* (the bug made the tests
hang) counts as killed. The score is the share of mutants killed.

Every run is recorded under a label, so a run before new tests and one after sit side by side in
benchmarks/results/mutation.json and .md; ``--resume`` skips the mutants a run of that label
already judged at this commit (a killed run picks up where it stopped).

Run it: ``make mutation`` (``python -m benchmarks.mutation [--set realistic|earlier|tablebase|all]
[--label after] [--resume] [--tests FILE] [NAME ...]``), each mutant's tests with ``nice``.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from functools import cache
from pathlib import Path

from benchmarks.common import RESULTS, markdown_table, write_results
from benchmarks.mutants import EARLIER, REALISTIC, TABLEBASE, Mutant
from minizero.atomic import write_text

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("minizero", "hexapawn", "nnue", "tests")
SETS = {"realistic": REALISTIC, "earlier": EARLIER, "tablebase": TABLEBASE,
        "all": EARLIER + REALISTIC + TABLEBASE}
TIMEOUT_SECONDS = 900  # all of a mutant's tests
TEST_TIMEOUT_SECONDS = 240  # one test: a hang is the bug showing (pytest-timeout)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(path): path for package in SOURCES
            for path in sorted((ROOT / package).rglob("*.py"))}


def _imports(path: Path) -> set[str]:
    """The package modules ``path`` imports, wherever in the file (lazy imports included)."""
    modules = _modules()
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name in modules}


@cache
def _importers() -> dict[str, set[str]]:
    importers: dict[str, set[str]] = {}
    for name, path in _modules().items():
        for imported in _imports(path):
            importers.setdefault(imported, set()).add(name)
    return importers


def tests_that_see(path: str) -> tuple[str, ...]:
    """The test files that import the module at ``path``, directly or through other modules
    (tests that start a program in a subprocess import what it runs, or do not see it). The
    nearest first, and among equals those with fewer slow tests first: pytest -x stops at the
    first failure."""
    distance = {_module_name(ROOT / path): 0}
    frontier = list(distance)
    step = 0
    while frontier:
        step += 1
        frontier = sorted({importer for module in frontier
                           for importer in _importers().get(module, ())
                           if importer not in distance})
        distance.update((module, step) for module in frontier)
    chosen = [(distance[name], file.read_text().count("mark.slow"), str(file.relative_to(ROOT)))
              for name, file in _modules().items()
              if name in distance and file.name.startswith("test_")]
    return tuple(name for *_, name in sorted(chosen))


def scratch_copy(destination: Path) -> None:
    # Compiled caches travel too: numba's cache of the NNUE kernels is keyed by the source's
    # time stamp, which copytree keeps, so untouched kernels are not compiled again.
    for name in (*SOURCES, "benchmarks", "tutorials"):
        shutil.copytree(ROOT / name, destination / name,
                        ignore=shutil.ignore_patterns("results", ".pytest_cache"))
    shutil.copy(ROOT / "pyproject.toml", destination / "pyproject.toml")


def run_mutant(mutant: Mutant, scratch: Path, tests: tuple[str, ...] = ()
               ) -> tuple[str, float, tuple[str, ...]]:
    """('killed' / 'survived' / 'timeout', seconds the tests took, the test files run):
    ``tests``, else the mutant's own, else those that can see its file."""
    target = scratch / mutant.path
    original = target.read_text()
    if original.count(mutant.old) != 1:
        raise ValueError(f"{mutant.name}: the text to mutate is not found once in {mutant.path}")
    tests = tests or mutant.tests or tests_that_see(mutant.path)
    target.write_text(original.replace(mutant.old, mutant.new))
    started = time.perf_counter()
    # Its own process group, so that engines the tests started go too when they hang;
    # -p no:cacheprovider: nothing written into the scratch copy's tests between mutants.
    process = subprocess.Popen(
        ["nice", "-n", "15", sys.executable, "-m", "pytest", "-x", "-q", "-p",
         "no:cacheprovider", f"--timeout={TEST_TIMEOUT_SECONDS}", *tests], cwd=scratch,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(scratch)})
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
        verdict = {0: "survived", 1: "killed"}.get(process.returncode, "error")
        if verdict == "error":  # the tests could not run at all: say why
            print(stdout[-2000:], stderr[-2000:], file=sys.stderr)
    except subprocess.TimeoutExpired:
        verdict = "timeout"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        target.write_text(original)
    return verdict, time.perf_counter() - started, tests


def _score(records: list[dict]) -> str:
    killed = sum(record["verdict"] in ("killed", "timeout") for record in records)
    return f"{killed}/{len(records)} killed ({killed / max(1, len(records)):.0%})"


def report(runs: dict[str, dict]) -> tuple[str, dict[str, str]]:
    """The markdown table (one verdict column per run) and each run's score."""
    labels = list(runs)
    rows = []
    for mutant in SETS["all"]:
        verdicts = [runs[label]["records"].get(mutant.name, {}).get("verdict", "")
                    for label in labels]
        if any(verdicts):
            rows.append([mutant.name, mutant.path, *verdicts, mutant.equivalent])
    scores = {label: _score(list(run["records"].values())) for label, run in runs.items()}
    table = markdown_table(["mutant", "file", *labels, "why it survives"], rows)
    lines = []
    for label in labels:
        records = runs[label]["records"].values()
        commits = sorted({record["commit"] for record in records})
        lines.append(f"- {label} (commit {', '.join(commits)}): {scores[label]}")
    return table + "\n\n" + "\n".join(lines) + "\n", scores


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mutation")
    parser.add_argument("names", nargs="*", help="run only mutants whose name contains one")
    parser.add_argument("--set", choices=tuple(SETS), default="realistic")
    parser.add_argument("--label", default="latest", help="the run's column in the results")
    parser.add_argument("--tests", action="append", default=[], metavar="FILE",
                        help="run this test file (repeat for more) against the mutants instead")
    parser.add_argument("--resume", action="store_true",
                        help="skip mutants this label already judged at this commit")
    args = parser.parse_args(argv)
    chosen = [m for m in SETS[args.set] if not args.names or any(n in m.name for n in args.names)]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    path = RESULTS / "mutation.json"
    runs = json.loads(path.read_text()).get("runs", {}) if path.exists() else {}
    run = runs.setdefault(args.label, {"records": {}})
    if not (args.resume or args.names):  # a fresh run of the label; NAMEs replace their records
        run["records"] = {}
    with tempfile.TemporaryDirectory(prefix="minizero-mutants-") as directory:
        scratch = Path(directory)
        scratch_copy(scratch)
        for mutant in chosen:
            if args.resume and run["records"].get(mutant.name, {}).get("commit") == commit:
                continue
            verdict, seconds, tests = run_mutant(mutant, scratch, tuple(args.tests))
            print(f"{verdict:8s} {seconds:6.1f} s  {mutant.name}", flush=True)
            run["records"][mutant.name] = {"mutant": mutant.name, "file": mutant.path,
                                           "verdict": verdict, "seconds": round(seconds, 1),
                                           "tests": list(tests), "commit": commit}
            write_text(path, json.dumps({"runs": runs}, indent=2) + "\n")  # resumable
    table, scores = report(runs)
    write_results("mutation", {"scores": scores, "runs": runs}, table)


if __name__ == "__main__":
    main()
