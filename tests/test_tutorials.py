"""Every tutorial runs top to bottom in its quick mode (MINIZERO_TUTORIAL_SMALL=1), and the
headline claims it states as assertions hold; its figures land in its figures folder, not in
the directory it runs in. The tutorials run once per session: executed as notebooks by the
documentation build (the ``docs_build`` fixture), or as scripts where the docs extra is
missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parent.parent / "tutorials").glob("[0-9]*.py"))


def run_as_script(path: Path, tmp_path: Path) -> None:
    figures = tmp_path / "figures"
    env = dict(os.environ, MINIZERO_TUTORIAL_SMALL="1", MPLBACKEND="Agg",
               MINIZERO_TUTORIAL_OUT=str(figures))
    result = subprocess.run(
        [sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert list(figures.rglob("*.png")), "the tutorial saved no figure"
    assert not list(tmp_path.glob("*.png")), "figures belong in the figures folder, not the cwd"


@pytest.mark.slow
@pytest.mark.parametrize("path", TUTORIALS, ids=[path.stem for path in TUTORIALS])
def test_tutorial_runs(path: Path, tmp_path: Path, docs_build: dict | None) -> None:
    if docs_build is None:
        run_as_script(path, tmp_path)
        return
    runs = {run["tutorial"]: run for run in docs_build["timings"].get("tutorials", [])}
    assert path.stem in runs, f"the docs build did not run {path.name}: " \
        f"{docs_build['stderr'][-4000:]}"
    run = runs[path.stem]
    assert run["error"] is None, run["error"][-4000:]
    assert run["saved"], "the tutorial saved no figure"
    assert not run["figures_in_cwd"], "figures belong in the figures folder, not the cwd"
