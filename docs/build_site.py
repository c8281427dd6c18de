"""Build the documentation site: written pages, executed tutorials, CLI and API references.

The written pages are the Markdown files under ``docs/`` (landing page, guides, one results page
per area, the lab notebook); ``mkdocs.yml``'s ``nav`` lists them. Everything else is generated
from the sources so it cannot drift from them: each tutorial (a jupytext percent file) is
executed as a notebook in its quick mode and rendered with its printed output, tables, boards
and figures, beside its notebook and its source for download; the CLI reference is the
``--help`` of every console script plus the UCI options each engine declares; the API pages are
read from the docstrings of every public module by mkdocstrings; the benchmark page gathers
``benchmarks/results/*.md`` and the changelog page is ``CHANGELOG.md``. mkdocs (Material theme)
then builds the static site in strict mode, so a broken link or a page left out of the nav
fails the build. The site needs no outside host: no web fonts, no scripts from elsewhere.

    make docs                                 # or: python docs/build_site.py
    python docs/build_site.py --site /tmp/site --only 01 03

A new written page: put the Markdown file under ``docs/`` and add it to ``nav`` in mkdocs.yml.
Needs the optional ``docs`` extra (``make docs`` installs it): ``pip install -e '.[docs]'``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tutorial_pages import execute_tutorials, relative_to_root  # docs/, beside this file

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# import name -> distribution to install; all of them come with the `docs` extra
REQUIRED = {"mkdocs": "mkdocs", "material": "mkdocs-material", "mkdocstrings": "mkdocstrings",
            "mkdocstrings_handlers.python": "mkdocstrings-python", "jupytext": "jupytext",
            "nbclient": "nbclient", "nbconvert": "nbconvert", "ipykernel": "ipykernel",
            "matplotlib": "matplotlib", "yaml": "pyyaml"}
PACKAGES = ("minizero", "hexapawn", "nnue")
# The engine each UCI console script serves, built without loading a network, for its options.
UCI_ENGINES = {"minizero-uci": "minizero.chessgame.engine:classical_engine",
               "nnue-uci": "nnue.engine:NnueEngine",
               "zero-uci": "minizero.chessgame.puct_engine:PuctEngine"}
# nav entries that the build fills with generated pages
TUTORIALS_INDEX, API_INDEX = "tutorials/index.md", "api/index.md"


def missing_dependencies() -> list[str]:
    """Distributions of the docs extra that are not importable here."""
    missing = []
    for module, distribution in REQUIRED.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(distribution)
    return missing


def require_dependencies() -> None:
    missing = missing_dependencies()
    if missing:
        raise SystemExit(
            f"the docs build needs {', '.join(missing)} (the optional 'docs' extra); install it "
            f"with: .venv/bin/pip install -e '.[docs]' (make docs does it)")


# --------------------------------------------------------------------------- the code's surface


def console_scripts() -> dict[str, str]:
    """Each console script of the installed distribution -> its ``module:function``."""
    entries = importlib.metadata.distribution("minizero").entry_points
    return {entry.name: entry.value for entry in entries if entry.group == "console_scripts"}


def script_parser(script: str) -> argparse.ArgumentParser:
    """The argparse parser of a console script: ``build_parser()`` beside its ``main``."""
    module = console_scripts()[script].partition(":")[0]
    return importlib.import_module(module).build_parser()


def public_modules() -> list[str]:
    """Every module and package of minizero, hexapawn and nnue whose name has no leading '_'."""
    names = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        names.append(package_name)
        for info in pkgutil.walk_packages(package.__path__, package_name + "."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                names.append(info.name)
    return names


def uci_options_table(script: str) -> list[str]:
    """The UCI options ``script`` announces, from the engine object and the server."""
    from minizero.chessgame.uci import SERVER_OPTIONS

    module_name, _, factory = UCI_ENGINES[script].partition(":")
    engine = getattr(importlib.import_module(module_name), factory)()
    lines = ["| option | type | default | range or values | from |", "|---|---|---|---|---|"]
    for source, options in (("server", SERVER_OPTIONS), ("engine", engine.options())):
        for option in options:
            default = option.default
            if option.type == "check":
                default = "true" if default else "false"
            elif option.type == "string" and default in (None, ""):
                default = "<empty>"
            elif option.type == "button":
                default = "-"
            if option.type == "spin":
                span = f"{option.minimum} to {option.maximum}"
            elif option.type == "combo":
                span = " / ".join(option.choices)
            else:
                span = "-"
            shown = relative_to_root(str(default)).replace("|", "\\|")
            lines.append(f"| `{option.name}` | {option.type} | `{shown}` | {span} | {source} |")
    return lines


def cli_page() -> str:
    """Every console script's --help (each subcommand's too), and the UCI engines' options."""
    lines = ["# Command-line reference", "",
             "Generated from the argparse parser of each console script (its module's "
             "`build_parser()`) and from the UCI options each engine declares, so it is exactly "
             "what `--help` and the `uci` command print. Each command is also `python -m "
             "PACKAGE` (`python -m minizero`, `python -m hexapawn`, `python -m nnue`).", ""]
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        for script in sorted(console_scripts(), key=lambda name: (name in UCI_ENGINES, name)):
            parser = script_parser(script)
            lines += [f"## `{script}`", "", "```text", parser.format_help().rstrip(), "```", ""]
            for action in parser._actions:  # argparse keeps subparsers only here
                if isinstance(action, argparse._SubParsersAction):
                    for name, subparser in action.choices.items():
                        lines += [f"### `{script} {name}`", "", "```text",
                                  relative_to_root(subparser.format_help().rstrip()), "```", ""]
            if script in UCI_ENGINES:
                lines += [f"### UCI options of `{script}`", "",
                          "Set from a GUI, or by hand with `setoption name NAME value VALUE`; "
                          "`server` options belong to the UCI server every engine shares. See "
                          "[Play against the engines](play.md).", "",
                          *uci_options_table(script), ""]
    finally:
        if columns is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = columns
    return "\n".join(lines)


def benchmarks_page() -> str:
    lines = ["# Benchmark tables", "",
             "The latest figures written by `make bench` (`benchmarks/results/*.md`; the JSON "
             "beside each file has every raw number). The [results pages](results/index.md) "
             "say what each measures, on what machine and under what load.", ""]
    for path in sorted((ROOT / "benchmarks" / "results").glob("*.md")):
        lines += [f"## {path.stem}", "", f"`make bench BENCH={path.stem}`", "",
                  path.read_text().strip(), ""]
    return "\n".join(lines)


def changelog_page() -> str:
    """CHANGELOG.md, its links into docs/ made relative to the site's root."""
    return (ROOT / "CHANGELOG.md").read_text().replace("](docs/", "](")


def api_pages(pages: Path) -> list[dict[str, str]]:
    """One page per package: every public module in it, from its docstrings."""
    (pages / "api").mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[str]] = {}
    for name in public_modules():
        is_package = importlib.util.find_spec(name).submodule_search_locations is not None
        groups.setdefault(name if is_package else name.rpartition(".")[0], []).append(name)
    index = ["# API", "", "Every public module of the three packages, read from its docstrings "
             "(one page per package). Each module opens with its idea, its reference and the "
             "command that exercises it.", ""]
    nav = [{"Overview": API_INDEX}]
    for package, modules in groups.items():
        slug = package.replace(".", "-")
        body = [f"# `{package}`", ""]
        for module in modules:
            body += [f"::: {module}", "    options:", "      show_submodules: false", ""]
        (pages / "api" / f"{slug}.md").write_text("\n".join(body))
        index.append(f"- [`{package}`]({slug}.md): " + ", ".join(
            f"`{m.rpartition('.')[2]}`" for m in modules if m != package))
        nav.append({package: f"api/{slug}.md"})
    (pages / "api" / "index.md").write_text("\n".join(index) + "\n")
    return nav


def written_pages(pages: Path) -> None:
    """docs/**/*.md as they are, and the benchmark plots (PNG, SVG) the results pages show."""
    for source in DOCS.rglob("*.md"):
        target = pages / source.relative_to(DOCS)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    figures = pages / "results" / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    results = ROOT / "benchmarks" / "results"
    for plot in [*results.glob("*.png"), *results.glob("*.svg")]:
        shutil.copyfile(plot, figures / plot.name)


def site_nav(tutorial_nav: list[dict[str, str]], api_nav: list[dict[str, str]]) -> list[Any]:
    """mkdocs.yml's nav with the tutorials and API entries expanded into their pages."""
    import yaml

    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]

    def expand(entries: list[Any]) -> list[Any]:
        result = []
        for entry in entries:
            (title, target), = entry.items()
            if target == TUTORIALS_INDEX:
                target = tutorial_nav
            elif target == API_INDEX:
                target = api_nav
            elif isinstance(target, list):
                target = expand(target)
            result.append({title: target})
        return result

    return expand(nav)


def nav_pages(nav: list[Any]) -> list[str]:
    """Every Markdown page a nav names, in order."""
    found = []
    for entry in nav:
        for target in entry.values():
            found += nav_pages(target) if isinstance(target, list) else [target]
    return found


def repository_url() -> str:
    """mkdocs.yml's repo_url, else the https form of this clone's ``origin``, else ''."""
    import yaml

    configured = yaml.safe_load((ROOT / "mkdocs.yml").read_text()).get("repo_url") or ""
    if configured:
        return configured.rstrip("/")
    try:
        origin = subprocess.run(["git", "-C", str(ROOT), "remote", "get-url", "origin"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    origin = re.sub(r"^git@([^:]+):", r"https://\1/", origin)
    return origin.removesuffix(".git") if origin.startswith("https://") else ""


# --------------------------------------------------------------------------- the build


def build(site: Path, work: Path, only: list[str] | None = None,
          jobs: int = 2) -> dict[str, Any]:
    """Generate the pages into ``work``/pages, build the site into ``site``; return timings.

    The record (``work``/timings.json) lists every tutorial run, failed ones included, and the
    nav's pages; SystemExit after writing it if a tutorial failed or mkdocs refused the site.
    """
    require_dependencies()
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    began = time.perf_counter()
    pages = work / "pages"
    shutil.rmtree(pages, ignore_errors=True)
    (pages / "tutorials").mkdir(parents=True)
    written_pages(pages)
    repo_url = repository_url()
    tutorials = sorted((ROOT / "tutorials").glob("[0-9]*.py"))
    if only:
        tutorials = [t for t in tutorials if any(t.stem.startswith(prefix) for prefix in only)]
    runs = execute_tutorials(tutorials, pages, work, repo_url, jobs)
    tutorial_nav = [{"Overview": TUTORIALS_INDEX}]
    listing = ["# Tutorials", "", "Nine chapters, each a script in `tutorials/` that also "
               "opens as a notebook (jupytext). The pages show them run in their quick mode; "
               "each offers its notebook and its script for download.", ""]
    for run in runs:
        if not run["error"]:
            listing.append(f"- [{run['title']}]({run['tutorial']}.md)")
            tutorial_nav.append({run["title"]: f"tutorials/{run['tutorial']}.md"})
    (pages / "tutorials" / "index.md").write_text("\n".join(listing) + "\n")
    (pages / "cli.md").write_text(cli_page())
    (pages / "benchmarks.md").write_text(benchmarks_page())
    (pages / "changelog.md").write_text(changelog_page())
    nav = site_nav(tutorial_nav, api_pages(pages))
    generated = time.perf_counter() - began
    timings: dict[str, Any] = {"tutorials": runs, "nav_pages": nav_pages(nav),
                               "generate_seconds": round(generated, 1)}
    failed = [run["error"] for run in runs if run["error"]]

    if not failed:
        handler = logging.StreamHandler(sys.stderr)  # mkdocs' warnings: what strict mode counts
        handler.setLevel(logging.WARNING)
        logging.getLogger("mkdocs").addHandler(handler)
        config = load_config(str(ROOT / "mkdocs.yml"), docs_dir=str(pages), site_dir=str(site),
                             strict=True, nav=nav, repo_url=repo_url or None)
        try:
            mkdocs_build(config)
        except Abort as error:
            failed.append(f"docs build failed: {error}")
        finally:
            logging.getLogger("mkdocs").removeHandler(handler)
    timings["total_seconds"] = round(time.perf_counter() - began, 1)
    timings["errors"] = failed
    work.mkdir(parents=True, exist_ok=True)
    (work / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    if failed:
        raise SystemExit("\n\n".join(failed))
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "build" / "site",
                        help="output folder of the static site (default build/site)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "docs",
                        help="folder for the generated pages and tutorial runs")
    parser.add_argument("--only", nargs="*", help="tutorial number prefixes to include")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="tutorials executed at once (default: 2, or 1 on one core)")
    args = parser.parse_args(argv)
    timings = build(args.site.resolve(), args.work.resolve(), args.only, args.jobs)
    runs = ", ".join(f"{run['tutorial']} {run['seconds']:.0f} s" for run in timings["tutorials"])
    print(f"site built in {args.site} in {timings['total_seconds']:.0f} s (tutorials: {runs}); "
          f"open {args.site / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
