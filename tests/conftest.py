"""Shared fixtures: the real peers, skipped with a reason when absent (CI installs them)."""

from __future__ import annotations

import pytest

from minizero.peers import find_stockfish, find_sunfish


@pytest.fixture(scope="session")
def stockfish_path() -> str:
    try:
        return find_stockfish()
    except FileNotFoundError as error:
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def sunfish_command() -> str:
    try:
        return find_sunfish()
    except FileNotFoundError as error:
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def docs_build(tmp_path_factory: pytest.TempPathFactory) -> dict | None:
    """The documentation site, built once for the whole session (its tutorials executed as
    notebooks, two at a time): the tutorial tests and the site tests read this one build.
    None when the docs extra is missing (pytest run outside make test); the tutorial tests
    then run each tutorial as a script instead."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "docs"))
    import build_site

    if build_site.missing_dependencies():
        return None
    base = tmp_path_factory.mktemp("docs")
    site, work = base / "site", base / "work"
    result = subprocess.run([sys.executable, str(root / "docs" / "build_site.py"), "--site",
                             str(site), "--work", str(work)],
                            capture_output=True, text=True, timeout=1800)
    timings_path = work / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.is_file() else {}
    return {"site": site, "work": work, "returncode": result.returncode,
            "stderr": result.stderr, "timings": timings}
