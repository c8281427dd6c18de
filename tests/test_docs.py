"""The documentation site builds strictly, and what a reader sees on it holds up: every page the
nav names, every tutorial figure, no path of the build machine, no Markdown table left as raw
pipes, nothing loaded from an outside host, the CLI and API references complete. The site is
built once per session (the ``docs_build`` fixture in conftest.py)."""

from __future__ import annotations

import html
import re
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs"))
import build_site  # noqa: E402

TUTORIALS = sorted((ROOT / "tutorials").glob("[0-9]*.py"))
TEXT_SUFFIXES = {".html", ".json", ".js", ".ipynb", ".xml", ".md", ".py", ".svg"}
SEPARATOR_ROW = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$")


def test_a_missing_dependency_names_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(build_site.REQUIRED, "no_such_module_for_docs", "no-such-package")
    with pytest.raises(SystemExit) as raised:
        build_site.require_dependencies()
    message = str(raised.value)
    assert "no-such-package" in message and "pip install -e '.[docs]'" in message


NEEDS_DOCS = pytest.mark.skipif(
    bool(build_site.missing_dependencies()),
    reason="the docs extra is not installed (make test installs it: pip install -e '.[docs]'); "
           f"missing {', '.join(build_site.missing_dependencies())}")


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


def test_the_nav_expands_generated_sections_and_names_every_written_page() -> None:
    pytest.importorskip("yaml")
    nav = build_site.site_nav([{"Overview": "tutorials/index.md"}, {"One": "tutorials/01.md"}],
                              [{"Overview": "api/index.md"}])
    pages = build_site.nav_pages(nav)
    assert "tutorials/01.md" in pages and "api/index.md" in pages
    written = {str(path.relative_to(ROOT / "docs")) for path in (ROOT / "docs").rglob("*.md")}
    assert written <= set(pages), f"written pages missing from mkdocs.yml's nav: " \
        f"{sorted(written - set(pages))}"


@pytest.fixture(scope="module")
def site(docs_build: dict | None) -> Path:
    if docs_build is None:
        pytest.skip("the docs extra is not installed (make test installs it)")
    assert docs_build["returncode"] == 0, docs_build["stderr"][-4000:]
    return docs_build["site"]


def page(site: Path, markdown_path: str) -> Path:
    return site / re.sub(r"\.md$", ".html", markdown_path)


@pytest.mark.slow
def test_every_page_the_nav_names_is_built(site: Path, docs_build: dict) -> None:
    nav_pages = docs_build["timings"]["nav_pages"]
    for name in ("index.md", "play.md", "results/index.md", "cli.md", "changelog.md",
                 "lab-notebook.md", "architecture.md", "api/index.md"):
        assert name in nav_pages
    assert sum(name.startswith("tutorials/0") for name in nav_pages) == len(TUTORIALS)
    missing = [name for name in nav_pages if not page(site, name).is_file()]
    assert not missing, f"named in the nav but not built: {missing}"


@pytest.mark.slow
def test_every_tutorial_page_shows_its_figures_and_offers_its_notebook(
        site: Path, docs_build: dict) -> None:
    shown = {run["tutorial"]: run["figures"] for run in docs_build["timings"]["tutorials"]}
    for path in TUTORIALS:
        text = (site / "tutorials" / f"{path.stem}.html").read_text()
        figures = shown[path.stem]
        assert figures, f"{path.stem} shows no figure"
        for name in figures:
            assert f'alt="{name}"' in text, f"{path.stem}: {name} missing from its page"
            assert (site / "tutorials" / "figures" / path.stem / name).is_file()
        for download in (f"{path.stem}.ipynb", path.name):
            assert f'href="{download}"' in text and (site / "tutorials" / download).is_file()
        assert "md-footer__link--prev" in text  # previous / next at the page's foot
    tables = (site / "tutorials" / "08_precision.html").read_text()
    assert tables.count("<table>") >= 5  # the precision tables render as tables
    assert list((site / "tutorials").glob("04_*_files/*.svg"))  # the board drawn as SVG


@pytest.mark.slow
def test_no_path_of_the_build_machine_is_shown(site: Path, docs_build: dict) -> None:
    machine = {str(ROOT), str(docs_build["work"]), str(site), sys.prefix,
               str(Path(tempfile.gettempdir()) / "pytest-")}
    found = []
    for path in site.rglob("*"):
        if path.suffix in TEXT_SUFFIXES and path.is_file():
            text = path.read_text(errors="replace").replace("\\/", "/")
            found += [f"{path.relative_to(site)}: {where}" for where in machine if where in text]
    assert not found, found[:10]


@pytest.mark.slow
def test_no_markdown_table_is_left_as_raw_text(site: Path) -> None:
    raw = []
    for path in site.rglob("*.html"):
        text = html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))
        raw += [f"{path.relative_to(site)}: {line.strip()[:60]}" for line in text.splitlines()
                if SEPARATOR_ROW.match(line)]
    assert not raw, raw[:10]


@pytest.mark.slow
def test_nothing_is_loaded_from_an_outside_host(site: Path) -> None:
    outside = []
    for path in site.rglob("*.html"):
        text = path.read_text()
        outside += re.findall(r'<(?:script|img|iframe)[^>]*\bsrc="(?:https?:)?//[^"]*"', text)
        outside += re.findall(r'<link[^>]*\bhref="(?:https?:)?//[^"]*"', text)
        outside += re.findall(r"fonts\.(?:googleapis|gstatic)\.com", text)
    assert not outside, sorted(set(outside))[:10]


@pytest.mark.slow
def test_the_landing_page_is_short_and_points_onward(site: Path) -> None:
    assert len((ROOT / "docs" / "index.md").read_text().splitlines()) <= 80
    home = (site / "index.html").read_text()
    for target in ("play.html", "tutorials/index.html", "results/index.html", "cli.html"):
        assert f'href="{target}"' in home
    assert "Quick starts" not in home  # not the README pasted in


@pytest.mark.slow
def test_the_cli_reference_has_every_script_and_the_engines_uci_options(site: Path) -> None:
    cli = html.unescape(re.sub(r"<[^>]+>", "", (site / "cli.html").read_text()))
    for script in build_site.console_scripts():
        assert f"usage: {script}" in cli, script
    for command in ("hexapawn play", "minizero selfplay", "nnue train", "minizero export-net"):
        assert command in cli
    for engine in build_site.UCI_ENGINES:
        assert f"UCI options of {engine}" in cli
    for option in ("Hash", "NullMove", "EvalFile", "WeightsFile", "LeafBatch", "Precision",
                   "Move Overhead", "MultiPV"):
        assert option in cli
    assert "nnue/nets/king-buckets-256.nnue" in cli  # EvalFile's default, from the repository


@pytest.mark.slow
def test_the_api_pages_cover_every_public_module(site: Path) -> None:
    text = "".join(path.read_text() for path in (site / "api").glob("*.html"))
    missing = [name for name in build_site.public_modules() if f'id="{name}"' not in text]
    assert not missing, missing
