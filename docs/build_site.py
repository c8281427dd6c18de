"""Build the documentation site: README, tutorials with their outputs, CLI, benchmarks, API.

The pages are generated from the sources so they cannot drift from them: the home page is the
README; each tutorial (jupytext percent file) is executed as a notebook in its quick mode and
rendered with its printed output and the figures it saved; the CLI reference is the ``--help``
of every command's argparse parser; the benchmark page gathers ``benchmarks/results/*.md``; the
API pages are read from the docstrings by mkdocstrings. mkdocs (Material theme) then builds the
static site in strict mode, so a broken link or a missing page fails the build.

    make docs                                 # or: python docs/build_site.py
    python docs/build_site.py --site /tmp/site --only 01 03

Needs the optional ``docs`` extra: ``pip install -e '.[docs]'``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# import name -> distribution to install; all of them come with the `docs` extra
REQUIRED = {"mkdocs": "mkdocs", "material": "mkdocs-material", "mkdocstrings": "mkdocstrings",
            "mkdocstrings_handlers.python": "mkdocstrings-python", "jupytext": "jupytext",
            "nbclient": "nbclient", "nbconvert": "nbconvert", "ipykernel": "ipykernel",
            "matplotlib": "matplotlib"}
CLI_MODULES = {"hexapawn": "hexapawn.cli", "minizero": "minizero.cli", "nnue": "nnue.cli"}
# the modules whose docstrings make the API pages: (page title, modules)
API_PAGES = {
    "Games and search": ["minizero.game", "minizero.search.minimax", "minizero.search.alphabeta",
                         "minizero.search.mcts", "minizero.search.puct"],
    "Networks and training": ["minizero.nn.blocks", "minizero.nn.network", "minizero.train",
                              "minizero.selfplay", "minizero.replay", "minizero.checkpoint"],
    "Hexapawn": ["hexapawn.game", "hexapawn.solve", "hexapawn.agents", "hexapawn.experiment"],
    "Chess engine": ["minizero.chessgame.evaluator", "minizero.chessgame.classical",
                     "minizero.chessgame.protocol", "minizero.chessgame.engine",
                     "minizero.chessgame.search", "minizero.chessgame.uci",
                     "minizero.chessgame.match", "minizero.elo"],
    "NNUE": ["nnue.features", "nnue.model", "nnue.quantize", "nnue.evaluator", "nnue.train"],
}
FIGURE_TAG = "minizero_figure"  # output metadata set by minizero.tutorial.show_file


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
            f"with: .venv/bin/pip install -e '.[docs]'")


def home_page() -> str:
    """The README, with a pointer to the rest of the site after its first paragraph."""
    text = (ROOT / "README.md").read_text()
    note = ("\n!!! tip \"On this site\"\n    Every [tutorial](tutorials/index.md) with its output "
            "and figures, the [command-line reference](cli.md), the latest "
            "[benchmark tables](benchmarks.md) and the [API](api/index.md) from the docstrings.\n")
    first_break = text.find("\n\n", text.find("\n\n") + 2)
    return text[:first_break] + "\n" + note + text[first_break:]


def tutorial_title(path: Path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith("# # "):
            return line[4:].strip()
    return path.stem


def execute_tutorial(path: Path, pages: Path, work: Path) -> dict[str, Any]:
    """Run one tutorial as a notebook (quick mode) and write its page and figures.

    Every PNG the tutorial saves must appear on its page: the build fails otherwise.
    """
    import jupytext
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import MarkdownExporter

    figures_out = work / "figures" / path.stem
    run_dir = work / "run" / path.stem
    for folder in (figures_out, run_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    notebook = jupytext.read(path)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    os.environ.update(MINIZERO_TUTORIAL_SMALL="1", MINIZERO_TUTORIAL_OUT=str(figures_out),
                      MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join(
                          [str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    began = time.perf_counter()
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(run_dir)}})
    try:
        client.execute()
    except Exception as error:  # nbclient raises CellExecutionError with the cell's traceback
        raise SystemExit(f"{path.name} failed while building the docs:\n{error}") from None
    seconds = time.perf_counter() - began

    figure_dir = pages / "tutorials" / "figures" / path.stem
    figure_dir.mkdir(parents=True, exist_ok=True)
    shown = []
    for cell in notebook.cells:
        for index, output in enumerate(cell.get("outputs", [])):
            metadata = output.get("metadata", {})
            name = metadata.get(FIGURE_TAG)
            if not name:
                continue
            shutil.copyfile(metadata.get("minizero_path") or figures_out / name, figure_dir / name)
            cell.outputs[index] = nbformat.v4.new_output(
                "display_data",
                data={"text/markdown": f"![{name}](figures/{path.stem}/{name})"})
            shown.append(name)
    saved = sorted(p.name for p in figures_out.glob("*.png"))
    unshown = sorted(set(saved) - set(shown))
    if unshown:
        raise SystemExit(f"{path.name} saves {', '.join(unshown)} but does not show it on its "
                         "page: save figures with minizero.tutorial.save_figure")

    body, resources = MarkdownExporter().from_notebook_node(
        notebook, resources={"output_files_dir": f"{path.stem}_files"})
    for name, data in resources.get("outputs", {}).items():
        target = pages / "tutorials" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    header = (f"!!! note \"Rendered from `tutorials/{path.name}`\"\n    Executed for this page "
              f"in its quick mode (`MINIZERO_TUTORIAL_SMALL=1`) in {seconds:.0f} s; run "
              f"`python tutorials/{path.name}` for the full version.\n\n")
    body = re.sub(r"^(# .*\n)", lambda match: match.group(1) + "\n" + header, body, count=1)
    (pages / "tutorials" / f"{path.stem}.md").write_text(body)
    return {"tutorial": path.stem, "seconds": round(seconds, 1), "figures": shown}


def cli_page() -> str:
    """Every command's and subcommand's --help, straight from the argparse parsers."""
    lines = ["# Command-line reference", "",
             "Generated from the argparse parsers (`build_parser()` of each CLI module), so it is "
             "exactly what `--help` prints.", ""]
    os.environ["COLUMNS"] = "100"
    for command, module_name in CLI_MODULES.items():
        parser = importlib.import_module(module_name).build_parser()
        lines += [f"## `{command}`", "", "```text", parser.format_help().rstrip(), "```", ""]
        for action in parser._actions:  # argparse keeps subparsers only here
            if isinstance(action, argparse._SubParsersAction):
                for name, subparser in action.choices.items():
                    lines += [f"### `{command} {name}`", "", "```text",
                              subparser.format_help().rstrip(), "```", ""]
    lines += ["## UCI engines", "",
              "`minizero-uci` takes no arguments: it speaks UCI on stdin/stdout (see the "
              "[chess engine section](index.md#chess-engine) and tutorial 7).", ""]
    return "\n".join(lines)


def benchmarks_page() -> str:
    lines = ["# Benchmark tables", "",
             "The latest figures written by `make bench` (`benchmarks/results/*.md`; the JSON "
             "beside each file has every raw number). The README says on what machine and with "
             "what load each was measured.", ""]
    for path in sorted((ROOT / "benchmarks" / "results").glob("*.md")):
        lines += [f"## {path.stem}", "", f"`make bench BENCH={path.stem}`", "",
                  path.read_text().strip(), ""]
    return "\n".join(lines)


def api_pages(pages: Path) -> list[dict[str, str]]:
    (pages / "api").mkdir(parents=True, exist_ok=True)
    index = ["# API", "", "Read from the docstrings of the main modules.", ""]
    nav = [{"Overview": "api/index.md"}]
    for title, modules in API_PAGES.items():
        slug = re.sub(r"[^a-z]+", "-", title.lower()).strip("-")
        body = [f"# {title}", ""]
        for module in modules:
            body += [f"::: {module}", "    options:", "      show_submodules: false", ""]
        (pages / "api" / f"{slug}.md").write_text("\n".join(body))
        index.append(f"- [{title}]({slug}.md): " + ", ".join(f"`{m}`" for m in modules))
        nav.append({title: f"api/{slug}.md"})
    (pages / "api" / "index.md").write_text("\n".join(index) + "\n")
    return nav


def build(site: Path, work: Path, only: list[str] | None = None) -> dict[str, Any]:
    """Generate the pages into ``work``/pages, build the site into ``site``; return timings."""
    require_dependencies()
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    began = time.perf_counter()
    pages = work / "pages"
    shutil.rmtree(pages, ignore_errors=True)
    (pages / "tutorials").mkdir(parents=True)
    (pages / "index.md").write_text(home_page())
    tutorials = sorted((ROOT / "tutorials").glob("[0-9]*.py"))
    if only:
        tutorials = [t for t in tutorials if any(t.stem.startswith(prefix) for prefix in only)]
    runs, tutorial_nav = [], [{"Overview": "tutorials/index.md"}]
    listing = ["# Tutorials", "", "Each chapter is a script in `tutorials/` that also opens as a "
               "notebook (jupytext). The pages show them run in their quick mode.", ""]
    for path in tutorials:
        print(f"executing {path.name} ...", file=sys.stderr, flush=True)
        runs.append(execute_tutorial(path, pages, work))
        title = tutorial_title(path)
        listing.append(f"- [{title}]({path.stem}.md)")
        tutorial_nav.append({title: f"tutorials/{path.stem}.md"})
    (pages / "tutorials" / "index.md").write_text("\n".join(listing) + "\n")
    (pages / "cli.md").write_text(cli_page())
    (pages / "benchmarks.md").write_text(benchmarks_page())
    api_nav = api_pages(pages)
    nav = [{"Home": "index.md"}, {"Tutorials": tutorial_nav}, {"Command line": "cli.md"},
           {"Benchmarks": "benchmarks.md"}, {"API": api_nav}]
    generated = time.perf_counter() - began

    from mkdocs.exceptions import Abort

    handler = logging.StreamHandler(sys.stderr)  # mkdocs' warnings are what strict mode counts
    handler.setLevel(logging.WARNING)
    logging.getLogger("mkdocs").addHandler(handler)
    config = load_config(str(ROOT / "mkdocs.yml"), docs_dir=str(pages), site_dir=str(site),
                         strict=True, nav=nav)
    try:
        mkdocs_build(config)
    except Abort as error:
        raise SystemExit(f"docs build failed: {error}") from None
    timings = {"tutorials": runs, "generate_seconds": round(generated, 1),
               "total_seconds": round(time.perf_counter() - began, 1)}
    (work / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "build" / "site",
                        help="output folder of the static site (default build/site)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "docs",
                        help="folder for the generated pages and tutorial runs")
    parser.add_argument("--only", nargs="*", help="tutorial number prefixes to include")
    args = parser.parse_args(argv)
    timings = build(args.site.resolve(), args.work.resolve(), args.only)
    runs = ", ".join(f"{run['tutorial']} {run['seconds']:.0f} s" for run in timings["tutorials"])
    print(f"site built in {args.site} in {timings['total_seconds']:.0f} s (tutorials: {runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
