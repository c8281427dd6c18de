"""The documentation site builds strictly, and every tutorial page shows every figure it saves."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs"))
import build_site  # noqa: E402

TUTORIALS = sorted((ROOT / "tutorials").glob("[0-9]*.py"))


def test_a_missing_dependency_names_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(build_site.REQUIRED, "no_such_module_for_docs", "no-such-package")
    with pytest.raises(SystemExit) as raised:
        build_site.require_dependencies()
    message = str(raised.value)
    assert "no-such-package" in message and "pip install -e '.[docs]'" in message


NEEDS_DOCS = pytest.mark.skipif(
    bool(build_site.missing_dependencies()),
    reason="the docs extra is not installed (pip install -e '.[docs]'); missing "
           f"{', '.join(build_site.missing_dependencies())}")


@NEEDS_DOCS
def test_the_site_config_is_strict_about_broken_links(tmp_path: Path) -> None:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "index.md").write_text("# Home\n\nSee [the tutorial](tutorials/missing.md).\n")
    config = load_config(str(ROOT / "mkdocs.yml"), docs_dir=str(pages),
                         site_dir=str(tmp_path / "site"), nav=[{"Home": "index.md"}])
    with pytest.raises(Abort, match="strict"):
        build(config)


@pytest.mark.slow
@pytest.mark.skipif(bool(build_site.missing_dependencies()),
                    reason="the docs extra is not installed (pip install -e '.[docs]'); "
                           f"missing {', '.join(build_site.missing_dependencies())}")
def test_site_builds_strict_with_every_tutorial_figure(tmp_path: Path) -> None:
    site, work = tmp_path / "site", tmp_path / "work"
    result = subprocess.run([sys.executable, str(ROOT / "docs" / "build_site.py"),
                             "--site", str(site), "--work", str(work)],
                            capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-4000:]
    home = (site / "index.html").read_text()
    assert "Hexapawn" in home and "tutorials/" in home
    shown = {run["tutorial"]: run["figures"]
             for run in json.loads((work / "timings.json").read_text())["tutorials"]}
    for path in TUTORIALS:
        page = (site / "tutorials" / path.stem / "index.html").read_text()
        saved = {p.name for p in (work / "figures" / path.stem).glob("*.png")}
        figures = shown[path.stem]
        assert saved <= set(figures), f"{path.stem}: saved but not shown {saved - set(figures)}"
        for name in figures:
            assert f'alt="{name}"' in page, f"{path.stem}: {name} missing from its page"
            assert (site / "tutorials" / "figures" / path.stem / name).is_file()
        images = re.findall(r"<img [^>]*>", page)
        assert len(images) >= len(figures) >= 1, path.stem
    cli = (site / "cli" / "index.html").read_text()
    for command in ("hexapawn play", "minizero selfplay", "nnue train"):
        assert command in cli
    assert "minizero.nn.blocks" in (site / "api" / "networks-and-training" / "index.html"
                                    ).read_text()
