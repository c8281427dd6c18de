"""The tutorials as pages of the documentation site: each jupytext percent file executed as a
notebook in its quick mode, rendered to Markdown with its output and figures, and written beside
a downloadable notebook and its source. `build_site.py` calls `execute_tutorials`.
"""

from __future__ import annotations

import concurrent.futures
import copy
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIGURE_TAG = "minizero_figure"  # output metadata set by minizero.tutorial.show_file


def relative_to_root(text: str) -> str:
    """A path under the repository, written from its root (a default shown on the site)."""
    return text.replace(str(ROOT) + os.sep, "")


# --------------------------------------------------------------------------- tutorials


def tutorial_title(path: Path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith("# # "):
            return line[4:].strip()
    return path.stem


def execute_tutorial(path: Path, pages: Path, work: Path, repo_url: str) -> dict[str, Any]:
    """Run one tutorial as a notebook (quick mode), write its page, notebook and figures.

    The notebook runs in a folder of its own with no ``MINIZERO_TUTORIAL_OUT``, as a reader
    would run it, so what it prints says ``runs/tutorials/...``, not a path of this machine.
    Every PNG the tutorial saves must appear on its page. Returns the run's record, with
    ``error`` set when the tutorial failed (the others still run).
    """
    import jupytext
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import MarkdownExporter

    run_dir = work / "run" / path.stem
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    figures_out = run_dir / "runs" / "tutorials"
    notebook = jupytext.read(path)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    environment = {key: value for key, value in os.environ.items()
                   if key != "MINIZERO_TUTORIAL_OUT"}
    environment.update(MINIZERO_TUTORIAL_SMALL="1", MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    record: dict[str, Any] = {"tutorial": path.stem, "title": tutorial_title(path),
                              "figures": [], "error": None, "figures_in_cwd": []}
    began = time.perf_counter()
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(run_dir)}})
    try:
        client.execute(env=environment)
    except Exception as error:  # nbclient raises CellExecutionError with the cell's traceback
        record["error"] = f"{path.name} failed while building the docs:\n{error}"
    record["seconds"] = round(time.perf_counter() - began, 1)
    record["figures_in_cwd"] = sorted(p.name for p in run_dir.glob("*.png"))
    if record["error"]:
        return record

    figure_dir = pages / "tutorials" / "figures" / path.stem
    figure_dir.mkdir(parents=True, exist_ok=True)
    for cell in notebook.cells:
        for index, output in enumerate(cell.get("outputs", [])):
            metadata = output.get("metadata", {})
            name = metadata.get(FIGURE_TAG)
            if name:
                shutil.copyfile(metadata.get("minizero_path") or figures_out / name,
                                figure_dir / name)
                cell.outputs[index] = nbformat.v4.new_output(
                    "display_data",
                    data={"text/markdown": f"![{name}](figures/{path.stem}/{name})"})
                record["figures"].append(name)
            elif output.get("output_type") == "stream":
                # a path under the notebook's folder is written as the reader would see it
                output["text"] = output["text"].replace(str(run_dir) + os.sep, "")
    saved = sorted(p.name for p in figures_out.rglob("*.png")) if figures_out.is_dir() else []
    record["saved"] = saved
    unshown = sorted(set(p.name for p in figures_out.glob("*.png")) - set(record["figures"])) \
        if figures_out.is_dir() else []
    if unshown:
        record["error"] = (f"{path.name} saves {', '.join(unshown)} but does not show it on its "
                           "page: save figures with minizero.tutorial.save_figure")
        return record

    body, resources = MarkdownExporter().from_notebook_node(
        notebook, resources={"output_files_dir": f"{path.stem}_files"})
    for name, data in resources.get("outputs", {}).items():
        target = pages / "tutorials" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    # the reader's copies: the executed notebook and the script it was made from
    shutil.copyfile(path, pages / "tutorials" / path.name)
    nbformat.write(downloadable(notebook), pages / "tutorials" / f"{path.stem}.ipynb")
    source = (f" ([in the repository]({repo_url}/blob/main/tutorials/{path.name}))"
              if repo_url else "")
    header = (f"!!! note \"Rendered from `tutorials/{path.name}`\"\n"
              f"    Executed for this page in its quick mode (`MINIZERO_TUTORIAL_SMALL=1`) in "
              f"{record['seconds']:.0f} s; run `python tutorials/{path.name}` for the full "
              f"version. Download [the notebook]({path.stem}.ipynb) (with these outputs) or "
              f"[the script]({path.name}){source}.\n\n")
    body = re.sub(r"^(# .*\n)", lambda match: match.group(1) + "\n" + header, body, count=1)
    (pages / "tutorials" / f"{path.stem}.md").write_text(body)
    return record


def downloadable(notebook: Any) -> Any:
    """The executed notebook without this machine's paths: figures as the plain images they
    are, metadata that names files dropped."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            output.get("metadata", {}).pop("minizero_path", None)
            if output.get("metadata", {}).get(FIGURE_TAG):
                output["metadata"] = {}
    notebook.metadata.pop("papermill", None)
    return notebook


def execute_tutorials(paths: list[Path], pages: Path, work: Path, repo_url: str,
                      jobs: int) -> list[dict[str, Any]]:
    """Every tutorial, ``jobs`` at a time (each in its own kernel), in the order given."""
    def run(path: Path) -> dict[str, Any]:
        print(f"executing {path.name} ...", file=sys.stderr, flush=True)
        return execute_tutorial(path, pages, work, repo_url)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(run, paths))


# --------------------------------------------------------------------------- generated pages


