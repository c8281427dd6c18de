"""How easy the code is to change: names defined in several modules, long functions, long files.

Counted with the standard library's ``ast`` over the three packages (hexapawn, minizero,
nnue; tests, benchmarks and tutorials left out):

* **shared names**: top-level names (classes, functions, constants) defined in two or more
  modules, each a name a reader can confuse (``__all__``, ``main`` and private names left out);
* **long functions**: functions and methods over 60 lines;
* **long files**: modules over 400 lines.

Run: ``make bench BENCH=structure`` (a second, no model is loaded).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from benchmarks.common import markdown_table, write_results

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hexapawn", "minizero", "nnue")
LONG_FUNCTION = 60
LONG_FILE = 400
IGNORED = {"main", "__all__"}


def modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def top_level_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {name for name in names if not name.startswith("_") and name not in IGNORED}


def measure() -> dict[str, object]:
    defined: dict[str, list[str]] = defaultdict(list)
    long_functions, long_files = [], []
    for path in modules():
        text = path.read_text()
        where = str(path.relative_to(ROOT))
        tree = ast.parse(text)
        for name in top_level_names(tree):
            defined[name].append(where)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > LONG_FUNCTION:
                    long_functions.append({"function": f"{where}:{node.name}", "lines": lines})
        if (lines := len(text.splitlines())) > LONG_FILE:
            long_files.append({"file": where, "lines": lines})
    shared = {name: sorted(places) for name, places in sorted(defined.items())
              if len(places) > 1}
    return {"modules": len(modules()), "shared_names": shared,
            "long_functions": sorted(long_functions, key=lambda row: -row["lines"]),
            "long_files": sorted(long_files, key=lambda row: -row["lines"])}


def main() -> None:
    payload = measure()
    text = markdown_table(
        ["modules", "names defined in 2+ modules", f"functions over {LONG_FUNCTION} lines",
         f"files over {LONG_FILE} lines"],
        [[payload["modules"], len(payload["shared_names"]), len(payload["long_functions"]),
          len(payload["long_files"])]])
    text += "\n\n" + markdown_table(
        ["name", "defined in"],
        [[name, ", ".join(places)] for name, places in payload["shared_names"].items()])
    text += "\n\n" + markdown_table(
        ["long function", "lines"], [[row["function"], row["lines"]]
                                     for row in payload["long_functions"]])
    text += "\n\n" + markdown_table(
        ["long file", "lines"], [[row["file"], row["lines"]] for row in payload["long_files"]])
    write_results("structure", payload, text)


if __name__ == "__main__":
    main()
